#!/usr/bin/env bash
# phial-mail against lettre by hand: messages per second through one pooled SMTP connection,
# to an in-process SMTP sink (the client's own cost) and to the aiosmtpd test server (a real
# server), interleaved rounds, medians. Writes results/mail.md.
#
# Usage: bench/mail.sh     Environment: BENCH_ROUNDS (7), BENCH_MESSAGES (2000 per round),
#                          PHIAL_TEST_PYTHON (a Python with aiosmtpd and trustme).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
out="${BENCH_OUT:-$here/results/mail.md}"
python="${PHIAL_TEST_PYTHON:-$HOME/.cache/phial-venv/bin/python}"
"$python" -c 'import aiosmtpd' 2>/dev/null || { log "error: $python has no aiosmtpd (run .ci/run or set PHIAL_TEST_PYTHON)"; exit 1; }

log "building the mail bench (release)…"
(cd "$ROOT" && cargo build --release -p phial-bench --bin mail -j "${BENCH_JOBS:-1}" >&2)

state="$(mktemp -d)"
ready="$state/ready"
# The SMTP server on one core, the client (and its sink) on the other.
"${CLIENT_CPU[@]}" "$python" "$ROOT/ext-mail/tests/smtp_server.py" --state-dir "$state" >"$ready" 2>/dev/null &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$state"' EXIT
for _ in $(seq 1 100); do grep -q READY "$ready" && break; sleep 0.1; done
port="$(awk '/READY/ {print $2}' "$ready")"
[ -n "$port" ] || { log "error: the SMTP server did not start"; exit 1; }

# The binary waits for a quiet machine before each timed run (BENCH_QUIET_WAIT_MAX seconds at
# most) and reruns a run that overlapped a compiler.
report="$("${SERVER_CPU[@]}" "$CARGO_TARGET_DIR/release/mail" --smtp-port "$port" \
    --rounds "${BENCH_ROUNDS:-7}" --messages "${BENCH_MESSAGES:-2000}")"
{
    printf '# phial-mail vs lettre by hand: messages per second — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf -- '- machine: %s-core VM; release build; `bench/mail.sh` (client pinned to CPU 0, aiosmtpd to CPU 1 when taskset exists)\n\n' "$(nproc)"
    printf '%s\n' "$report"
} >"$out"
cat "$out"
