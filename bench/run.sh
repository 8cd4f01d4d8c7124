#!/usr/bin/env bash
# phial (default stack) against bare axum, same handlers, measured interleaved with wrk.
#
# Usage: bench/run.sh
# Environment (defaults in brackets):
#   BENCH_SECONDS [5]    length of each timed wrk run
#   BENCH_ROUNDS [7]     rounds per route; each round runs phial then axum
#   BENCH_WARMUP [2]     seconds of warm-up per route and server
#   BENCH_CONNECTIONS [32], BENCH_THREADS [1]   wrk's -c and -t
#   BENCH_ROUTES         space-separated routes [text json user/alice template session]
#   BENCH_PHIAL_ENV      extra VAR=value words for the phial server (e.g.
#                        "PHIAL_APP__REQUEST_TIMEOUT=0" to drop the timeout layer)
#   BENCH_AXUM_ENV       extra VAR=value words for the axum server (e.g.
#                        "BENCH_AXUM_LAYERS=timeout,catch-panic")
#   BENCH_OUT [bench/results/latest.md]   where the report is written as well
#   BENCH_COOKIE_ROUTES [session]   routes that send the cookie GET /login sets
#   BENCH_PHIAL_MODE [phial], BENCH_AXUM_MODE [axum]   the servers' modes (bench/sql.sh sets
#                        phial-sql and axum-sql)
#   BENCH_NO_BUILD=1     use the binary already built
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need wrk "apt-get install -y wrk"
need curl "apt-get install -y curl"
ROUTES="${BENCH_ROUTES:-text json user/alice template session}"
OUT="${BENCH_OUT:-$BENCH_DIR/results/latest.md}"
PHIAL_PORT="${BENCH_PHIAL_PORT:-18081}"
AXUM_PORT="${BENCH_AXUM_PORT:-18082}"
read -r -a PHIAL_ENV <<<"${BENCH_PHIAL_ENV:-}"
read -r -a AXUM_ENV <<<"${BENCH_AXUM_ENV:-}"

PHIAL_MODE="${BENCH_PHIAL_MODE:-phial}"
AXUM_MODE="${BENCH_AXUM_MODE:-axum}"

[ "${BENCH_NO_BUILD:-}" = 1 ] || bench_build
trap stop_servers EXIT
start_server "$PHIAL_PORT" "$PHIAL_MODE" "${PHIAL_ENV[@]}"
start_server "$AXUM_PORT" "$AXUM_MODE" "${AXUM_ENV[@]}"
PHIAL_COOKIE="" AXUM_COOKIE=""
# BENCH_COOKIE_ROUTES: routes that send the cookie /login sets [session].
COOKIE_ROUTES=" ${BENCH_COOKIE_ROUTES:-session} "
if [[ " $ROUTES " == *" session "* ]] || [ -n "${BENCH_COOKIE_ROUTES:-}" ]; then
    PHIAL_COOKIE="$(login "$PHIAL_PORT")"
    AXUM_COOKIE="$(login "$AXUM_PORT")"
    [ -n "$PHIAL_COOKIE" ] && [ -n "$AXUM_COOKIE" ] || { log "error: /login set no cookie"; exit 1; }
fi

# The cookie a route sends: the login cookie for the routes of BENCH_COOKIE_ROUTES.
cookie_for() {
    if [[ "$COOKIE_ROUTES" == *" $1 "* ]]; then
        if [ "$2" = phial ]; then printf '%s' "$PHIAL_COOKIE"; else printf '%s' "$AXUM_COOKIE"; fi
    fi
}

# Checks each server answers each route the way the other does before timing anything (a wrk
# script drives its own requests; its servers are checked by their scripts' first request).
[ -n "${BENCH_WRK_SCRIPT:-}" ] || for route in $ROUTES; do
    p="$(curl -sf -H "Cookie: $(cookie_for "$route" phial)" "http://127.0.0.1:$PHIAL_PORT/$route" | head -c 64)"
    a="$(curl -sf -H "Cookie: $(cookie_for "$route" axum)" "http://127.0.0.1:$AXUM_PORT/$route" | head -c 64)"
    [ "$p" = "$a" ] || { log "error: /$route differs: phial «$p» axum «$a»"; exit 1; }
done

med() { printf '%s\n' "$@" | median; }

start_time="$(date -u '+%Y-%m-%d %H:%M UTC')"
rows=()
for route in $ROUTES; do
    log "== /$route: warm-up"
    wait_quiet
    wrk_once "$WARMUP" "http://127.0.0.1:$PHIAL_PORT/$route" "$(cookie_for "$route" phial)" >/dev/null
    wrk_once "$WARMUP" "http://127.0.0.1:$AXUM_PORT/$route" "$(cookie_for "$route" axum)" >/dev/null
    p_rps=() a_rps=() p_p99=() a_p99=() p_cpu=() a_cpu=() ratios=() cpu_ratios=()
    for round in $(seq 1 "$ROUNDS"); do
        phial_result="$(measure "http://127.0.0.1:$PHIAL_PORT/$route" "$(cookie_for "$route" phial)")"
        axum_result="$(measure "http://127.0.0.1:$AXUM_PORT/$route" "$(cookie_for "$route" axum)")"
        read -r pr pl pc <<<"$phial_result"
        read -r ar al ac <<<"$axum_result"
        ratio="$(awk -v p="$pr" -v a="$ar" 'BEGIN { printf "%.3f", p / a }')"
        cpu_ratio="$(awk -v p="$pc" -v a="$ac" 'BEGIN { printf "%.3f", a / p }')"
        log "   round $round: phial $pr req/s, p99 $pl ms, $pc µs CPU/req; axum $ar req/s, p99 $al ms, $ac µs CPU/req; ratio $ratio (CPU $cpu_ratio)"
        p_rps+=("$pr") a_rps+=("$ar") p_p99+=("$pl") a_p99+=("$al") p_cpu+=("$pc") a_cpu+=("$ac")
        ratios+=("$ratio") cpu_ratios+=("$cpu_ratio")
    done
    rows+=("$(printf '| `/%s` | %.0f | %.0f | **%.2f** | %.2f–%.2f | %.1f | %.1f | %.2f | %.2f | %.2f |' "$route" \
        "$(med "${p_rps[@]}")" "$(med "${a_rps[@]}")" "$(med "${ratios[@]}")" \
        "$(printf '%s\n' "${ratios[@]}" | sort -g | head -1)" "$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)" \
        "$(med "${p_cpu[@]}")" "$(med "${a_cpu[@]}")" "$(med "${cpu_ratios[@]}")" \
        "$(med "${p_p99[@]}")" "$(med "${a_p99[@]}")")")
done

report="$(
    printf '# %s vs %s — %s\n\n' "$PHIAL_MODE" "$AXUM_MODE" "$start_time"
    printf -- '- machine: %s\n' "$(machine_line)"
    printf -- '- commit: %s%s\n' "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(git -C "$ROOT" diff --quiet HEAD -- core 2>/dev/null || echo ' (core has uncommitted changes)')"
    printf -- '- wrk -t%s -c%s, %s rounds × %s s per server and route, interleaved (phial, axum, phial, …)' \
        "$THREADS" "$CONNECTIONS" "$ROUNDS" "$SECONDS_PER_RUN"
    if [ "${#CLIENT_CPU[@]}" -gt 0 ]; then printf '; server on CPU 0, wrk on CPU 1\n'; else printf '\n'; fi
    printf -- '- RUST_LOG=%s; phial env: %s; axum env: %s\n' "${RUST_LOG:-warn}" \
        "${BENCH_PHIAL_ENV:-(none)}" "${BENCH_AXUM_ENV:-(none)}"
    printf -- '- ratios are medians of per-round ratios; "CPU ratio" is axum÷phial server CPU time per request\n\n'
    printf '| route | phial req/s | axum req/s | req/s ratio phial÷axum | range | phial CPU µs/req | axum CPU µs/req | CPU ratio | phial p99 ms | axum p99 ms |\n'
    printf '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n'
    printf '%s\n' "${rows[@]}"
)"
mkdir -p "$(dirname "$OUT")"
printf '%s\n' "$report" >"$OUT"
printf '%s\n' "$report"
log "report written to $OUT"
