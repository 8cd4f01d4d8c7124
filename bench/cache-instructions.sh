#!/usr/bin/env bash
# Instructions per request (callgrind, user space of the server only) of bench/src/bin/cache.rs's
# servers: a cached route's hit on memory, two-level and Redis against bare axum serving the
# same bytes. Unlike wrk's req/s these counts do not move with the load of a shared machine.
# Each server gets 200 warm-up requests, then callgrind's counters are zeroed and BENCH_REQUESTS
# requests are sent on one keep-alive connection; the count between the two dumps is divided
# by the number of requests. Writes results/cache-instructions.md.
#
# Usage: bench/cache-instructions.sh     Needs valgrind and python3; REDIS_URL for Redis modes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/phial-target}"
bin="$CARGO_TARGET_DIR/release/cache"
requests="${BENCH_REQUESTS:-2000}"
port="${BENCH_PORT:-18131}"
out="${BENCH_OUT:-$here/results/cache-instructions.md}"
[ "${BENCH_NO_BUILD:-}" = 1 ] || (cd "$here/.." && cargo build --release -p phial-bench --bin cache -j 1 >&2)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

send() {
    python3 - "$port" "$1" <<'PY'
import http.client, sys
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    connection.request("GET", "/text")
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
PY
}

# per_request MODE: instructions per request of that server.
per_request() {
    local mode="$1" pid file
    valgrind --tool=callgrind --callgrind-out-file="$work/$mode.%p" "$bin" "$mode" "$port" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/text" && break; sleep 0.2; done
    send 200
    callgrind_control -z "$pid" >/dev/null
    send "$requests"
    callgrind_control -d "$pid" >/dev/null
    sleep 1
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    file="$(ls "$work/$mode".*.1)"
    awk -v n="$requests" '/^(summary|totals):/ { printf "%.0f\n", $2 / n; exit }' "$file"
}

axum="$(per_request axum-bytes)"
rows=()
for mode in phial-cache phial-cache-two-level phial-cache-redis; do
    n="$(per_request "$mode")"
    rows+=("$(awk -v m="$mode" -v n="$n" -v a="$axum" 'BEGIN { printf "| %s | %d | %d | %+d | %.2f |", m, n, a, n - a, a / n }')")
done
{
    printf '# phial-cache hit: instructions per request (callgrind) — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf -- '- commit %s; %s requests per server on one keep-alive connection after 200 warm-up requests\n' \
        "$(git -C "$here/.." rev-parse --short HEAD)" "$requests"
    printf -- '- user-space instructions of the server process only (no kernel, no Redis server)\n\n'
    printf '| server | instructions/request | axum-bytes | difference | axum ÷ phial |\n|---|---:|---:|---:|---:|\n'
    printf '%s\n' "${rows[@]}"
} >"$out"
cat "$out"
