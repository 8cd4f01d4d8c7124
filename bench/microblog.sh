#!/usr/bin/env bash
# The microblog port against the original Flask app, both already running on the same machine
# and on databases seeded alike (see bench/README.md, "microblog against the original": the
# original is set up by hand in a scratch folder; none of its code is in this repository).
#
# Logs in to both as user1 (password `password`), then loads each route with wrk in
# interleaved rounds (original, port, original, …) and reports the medians of per-round
# throughput ratios, the p99s, and the port's peak RSS during its runs.
#
# Usage: bench/microblog.sh ORIGINAL_HOST:PORT PORT_HOST:PORT
# Environment:
#   BENCH_ROUNDS [5]  BENCH_SECONDS [5]  BENCH_CONNECTIONS [16]
#   BENCH_OUT [bench/results/microblog.md]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
need wrk "apt-get install -y wrk"
need python3 "the login helper"
ORIGINAL="${1:?usage: bench/microblog.sh ORIGINAL_HOST:PORT PORT_HOST:PORT}"
PORT_ADDR="${2:?usage: bench/microblog.sh ORIGINAL_HOST:PORT PORT_HOST:PORT}"
ROUNDS="${BENCH_ROUNDS:-5}"
SECONDS_PER_RUN="${BENCH_SECONDS:-5}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
OUT="${BENCH_OUT:-$here/results/microblog.md}"

port_pid="$(ss -ltnp "sport = :${PORT_ADDR##*:}" | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)"
[ -n "$port_pid" ] || { log "error: nothing listens on $PORT_ADDR"; exit 1; }

mapfile -t original_creds < <(python3 "$here/scripts/microblog_login.py" "$ORIGINAL")
mapfile -t port_creds < <(python3 "$here/scripts/microblog_login.py" "$PORT_ADDR")

# run ADDR HEADER PATH: one wrk run; prints "req/s p99_ms requests".
run() {
    wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -H "$2" "http://$1$3" | wrk_summary
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The port's resident memory, sampled every 0.2 s while a run goes on; prints the peak in KiB.
peak_rss() {
    local peak=0 rss
    while kill -0 "$1" 2>/dev/null; do
        rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$port_pid/status")"
        [ "$rss" -gt "$peak" ] && peak="$rss"
        sleep 0.2
    done
    echo "$peak"
}

declare -A label=([explore]="/explore (logged in)" [api]="/api/users/1 (bearer token)")
declare -A path=([explore]=/explore [api]=/api/users/1)
rows=()
rss_max=0
for route in explore api; do
    if [ "$route" = explore ]; then
        original_header="Cookie: ${original_creds[0]}" port_header="Cookie: ${port_creds[0]}"
    else
        original_header="Authorization: Bearer ${original_creds[1]}" port_header="Authorization: Bearer ${port_creds[1]}"
    fi
    ratios=() o_rps=() p_rps=() o_p99=() p_p99=()
    for round in $(seq 1 "$ROUNDS"); do
        wait_quiet
        read -r orps op99 _ < <(run "$ORIGINAL" "$original_header" "${path[$route]}")
        run "$PORT_ADDR" "$port_header" "${path[$route]}" >"$here/.microblog-run" &
        wrk_pid=$!
        rss="$(peak_rss "$wrk_pid")"
        wait "$wrk_pid"
        read -r prps pp99 _ <"$here/.microblog-run"
        [ "$rss" -gt "$rss_max" ] && rss_max="$rss"
        ratios+=("$(awk -v p="$prps" -v o="$orps" 'BEGIN { printf "%.2f", p / o }')")
        o_rps+=("$orps") p_rps+=("$prps") o_p99+=("$op99") p_p99+=("$pp99")
        log "$route round $round: original $orps req/s (p99 $op99 ms), port $prps req/s (p99 $pp99 ms), ratio ${ratios[-1]}"
    done
    rows+=("| ${label[$route]} | $(printf '%s\n' "${o_rps[@]}" | median) | $(printf '%s\n' "${p_rps[@]}" | median) | **$(printf '%s\n' "${ratios[@]}" | median)×** | $(printf '%s\n' "${ratios[@]}" | sort -g | awk 'NR == 1 { low = $1 } END { print low "–" $1 }') | $(printf '%s\n' "${o_p99[@]}" | median) | $(printf '%s\n' "${p_p99[@]}" | median) |")
done
rm -f "$here/.microblog-run"

report="$(
    printf '# microblog: the port against the original — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf -- '- machine: %s cores (%s), %s\n' "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" "$(uname -sr)"
    printf -- '- commit: %s\n' "$(git -C "$ROOT" rev-parse --short HEAD)"
    printf -- '- wrk -t1 -c%s, %s rounds × %s s per app and route, interleaved (original, port, …); both apps on the same machine, no CPU pinning\n' "$CONNECTIONS" "$ROUNDS" "$SECONDS_PER_RUN"
    printf -- '- ratios are medians of per-round ratios port÷original; the port'"'"'s peak RSS over its runs: %s MiB\n\n' "$((rss_max / 1024))"
    printf '| route | original req/s | port req/s | ratio | range | original p99 ms | port p99 ms |\n'
    printf '|---|---:|---:|---:|---|---:|---:|\n'
    printf '%s\n' "${rows[@]}"
)"
printf '%s\n' "$report" >"$OUT"
printf '%s\n' "$report"
log "report written to $OUT"
