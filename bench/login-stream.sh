#!/usr/bin/env bash
# Does a stream of logins (argon2id checks, ~20 ms of CPU each) slow the cheap routes down?
# Starts the phial-login server on all cores, then per round measures GET /text's p99 alone and
# again while a second wrk keeps BENCH_LOGIN_CONNECTIONS logins in flight on GET /verify. The
# issue's target: p99 under logins within 2x of the idle p99. Reports ratios only.
#
# Usage: bench/login-stream.sh
# Environment: BENCH_ROUNDS [5], BENCH_SECONDS [5], BENCH_CONNECTIONS [8] (the /text load),
#   BENCH_LOGIN_CONNECTIONS [4], BENCH_OUT [results/login-stream.md], BENCH_NO_BUILD=1
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need wrk "apt-get install -y wrk"
ROUNDS="${BENCH_ROUNDS:-5}"
CONNECTIONS="${BENCH_CONNECTIONS:-8}"
LOGINS="${BENCH_LOGIN_CONNECTIONS:-4}"
OUT="${BENCH_OUT:-$BENCH_DIR/results/login-stream.md}"
PORT="${BENCH_PORT:-18091}"
# The server may use every core: the hashing pool is bounded to leave one to the async workers.
SERVER_CPU=()
CLIENT_CPU=()

[ "${BENCH_NO_BUILD:-}" = 1 ] || bench_build
work="$(mktemp -d)"
trap 'stop_servers; rm -rf "$work"' EXIT
start_server "$PORT" phial-login
curl -sf "http://127.0.0.1:$PORT/verify" | grep -q '^match$' || { log "error: /verify does not match"; exit 1; }

p99() { awk '{ print $2 }'; }
idle=() loaded=() ratios=() verified=()
for round in $(seq 1 "$ROUNDS"); do
    wait_quiet
    i="$(wrk_once "$SECONDS_PER_RUN" "http://127.0.0.1:$PORT/text" | p99)"
    CONNECTIONS="$LOGINS" wrk_once "$((SECONDS_PER_RUN + 2))" "http://127.0.0.1:$PORT/verify" >"$work/logins" &
    logins_pid=$!
    sleep 1
    l="$(wrk_once "$SECONDS_PER_RUN" "http://127.0.0.1:$PORT/text" | p99)"
    wait "$logins_pid"
    v="$(awk '{ print $1 }' "$work/logins")"
    r="$(awk -v l="$l" -v i="$i" 'BEGIN { printf "%.2f", l / i }')"
    log "   round $round: /text p99 idle $i ms, during logins $l ms (ratio $r); logins $v/s"
    idle+=("$i") loaded+=("$l") ratios+=("$r") verified+=("$v")
done
med() { printf '%s\n' "$@" | median; }
report="$(
    printf '# p99 of a cheap route under a stream of logins — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf -- '- machine: %s; commit %s\n' "$(machine_line)" "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    printf -- '- /text: wrk -c%s, %s s per run; logins: wrk -c%s on /verify (argon2id, default parameters); %s rounds\n\n' \
        "$CONNECTIONS" "$SECONDS_PER_RUN" "$LOGINS" "$ROUNDS"
    printf '| /text p99 idle (ms) | /text p99 during logins (ms) | ratio (median of rounds) | range | logins/s |\n|---:|---:|---:|---|---:|\n'
    printf '| %s | %s | **%s** | %s–%s | %s |\n' "$(med "${idle[@]}")" "$(med "${loaded[@]}")" "$(med "${ratios[@]}")" \
        "$(printf '%s\n' "${ratios[@]}" | sort -g | head -1)" "$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)" "$(med "${verified[@]}")"
)"
mkdir -p "$(dirname "$OUT")"
printf '%s\n' "$report" | tee "$OUT"
