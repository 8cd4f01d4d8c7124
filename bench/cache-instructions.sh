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

# per_request MODE: instructions per request of that server (callgrind-request.sh does the
# warm-up, the zeroed counters and the division).
per_request() {
    "$here/callgrind-request.sh" "$bin" "$1" "$port" "$work/$1.out"
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
