#!/usr/bin/env bash
# What each part of phial's default stack costs: bare axum, then the parts added one at a
# time (see LAYER_VARIANTS in lib.sh), all on the same route, measured interleaved. Ratios are
# against the first variant (bare axum) in the same round.
#
# Usage: bench/layers.sh
# Environment: as run.sh (BENCH_SECONDS, BENCH_ROUNDS, BENCH_WARMUP, BENCH_CONNECTIONS,
# BENCH_THREADS, BENCH_NO_BUILD), plus
#   BENCH_ROUTE [text]                 the route to load
#   BENCH_OUT [bench/results/layers-<route>.md]
#   BENCH_VARIANTS     other variants, one a line: `name|mode|layers|binary|env` (layers:
#                      BENCH_AXUM_LAYERS; binary: empty for this workspace's build; env:
#                      VAR=value words for the server), e.g. to compare a build with a patched
#                      core against this one. The first line is the base.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need wrk "apt-get install -y wrk"
need curl "apt-get install -y curl"
ROUTE="${BENCH_ROUTE:-text}"
OUT="${BENCH_OUT:-$BENCH_DIR/results/layers-${ROUTE//\//-}.md}"

if [ -n "${BENCH_VARIANTS:-}" ]; then
    mapfile -t VARIANTS <<<"$BENCH_VARIANTS"
    STEPS=0
else
    VARIANTS=("${LAYER_VARIANTS[@]}")
    STEPS="$LAYER_STEPS"
fi

[ "${BENCH_NO_BUILD:-}" = 1 ] || bench_build
trap stop_servers EXIT
ports=() cookies=()
for i in "${!VARIANTS[@]}"; do
    IFS='|' read -r _ mode layers binary extra <<<"${VARIANTS[$i]}"
    read -r -a extra <<<"${extra:-}"
    port=$((18100 + i))
    SERVER_BIN="$binary" start_server "$port" "$mode" BENCH_AXUM_LAYERS="$layers" "${extra[@]}"
    ports+=("$port")
    if [ "$ROUTE" = session ]; then cookies+=("$(login "$port")"); else cookies+=(""); fi
done

start_time="$(date -u '+%Y-%m-%d %H:%M UTC')"
log "== /$ROUTE: warm-up"
wait_quiet
for i in "${!VARIANTS[@]}"; do
    wrk_once "$WARMUP" "http://127.0.0.1:${ports[$i]}/$ROUTE" "${cookies[$i]}" >/dev/null
done
declare -A rps ratio cpu cpu_ratio
for round in $(seq 1 "$ROUNDS"); do
    for i in "${!VARIANTS[@]}"; do
        result="$(measure "http://127.0.0.1:${ports[$i]}/$ROUTE" "${cookies[$i]}")"
        read -r r _ c <<<"$result"
        rps[$i,$round]="$r"
        cpu[$i,$round]="$c"
        log "   round $round: ${VARIANTS[$i]%%|*}: $r req/s, $c µs CPU/req"
    done
    for i in "${!VARIANTS[@]}"; do
        ratio[$i,$round]="$(awk -v v="${rps[$i,$round]}" -v b="${rps[0,$round]}" 'BEGIN { printf "%.4f", v / b }')"
        cpu_ratio[$i,$round]="$(awk -v v="${cpu[$i,$round]}" -v b="${cpu[0,$round]}" 'BEGIN { printf "%.4f", b / v }')"
    done
done

# med_of VARIANT rps|ratio|cpu|cpu_ratio: the median over the rounds.
med_of() {
    local i="$1" kind="$2" round
    for round in $(seq 1 "$ROUNDS"); do
        case "$kind" in
            rps) printf '%s\n' "${rps[$i,$round]}" ;;
            ratio) printf '%s\n' "${ratio[$i,$round]}" ;;
            cpu) printf '%s\n' "${cpu[$i,$round]}" ;;
            cpu_ratio) printf '%s\n' "${cpu_ratio[$i,$round]}" ;;
        esac
    done | median
}

step_of() {
    awk -v m="$1" -v p="$2" 'BEGIN { printf "%+.1f %%", (m / p - 1) * 100 }'
}

report="$(
    printf '# Variants on `/%s` — %s\n\n' "$ROUTE" "$start_time"
    printf -- '- machine: %s\n' "$(machine_line)"
    printf -- '- wrk -t%s -c%s, %s rounds × %s s per variant, interleaved; ratios against the first row in the same round, median over rounds\n' \
        "$THREADS" "$CONNECTIONS" "$ROUNDS" "$SECONDS_PER_RUN"
    printf -- '- CPU ratio: first row'"'"'s server CPU time per request ÷ this row'"'"'s (1.0 = as cheap as the first row)\n\n'
    printf '| variant | req/s | req/s ÷ first row | step | CPU µs/req | CPU ratio | step |\n|---|---:|---:|---:|---:|---:|---:|\n'
    prev="" prev_cpu=""
    for i in "${!VARIANTS[@]}"; do
        m="$(med_of "$i" ratio)"
        mc="$(med_of "$i" cpu_ratio)"
        step="—" step_cpu="—"
        if [ -n "$prev" ] && [ "$i" -le "$STEPS" ]; then
            step="$(step_of "$m" "$prev")"
            step_cpu="$(step_of "$mc" "$prev_cpu")"
        fi
        printf '| %s | %.0f | %.3f | %s | %.2f | %.3f | %s |\n' "${VARIANTS[$i]%%|*}" "$(med_of "$i" rps)" "$m" "$step" \
            "$(med_of "$i" cpu)" "$mc" "$step_cpu"
        prev="$m" prev_cpu="$mc"
    done
)"
mkdir -p "$(dirname "$OUT")"
printf '%s\n' "$report" >"$OUT"
printf '%s\n' "$report"
log "report written to $OUT"
