#!/usr/bin/env bash
# Instructions per request (valgrind's callgrind) for the variants of layers.sh: a count that,
# unlike req/s, does not move with what else runs on the machine, so small per-layer costs
# show. Each server runs under callgrind; after a warm-up the counters are zeroed, wrk sends
# requests for BENCH_IR_SECONDS, and the dumped total is divided by the requests wrk counted.
#
# Usage: bench/instructions.sh
# Environment:
#   BENCH_ROUTE [text]          the route to load
#   BENCH_IR_SECONDS [3]        seconds of counted load per variant (under valgrind: ~5k req/s)
#   BENCH_VARIANTS              as layers.sh
#   BENCH_OUT [bench/results/instructions-<route>.md]
#   BENCH_KEEP_PROFILES=DIR     keep each variant's callgrind profile in DIR (for callgrind_annotate)
#   BENCH_NO_BUILD=1            use the binary already built
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need wrk "apt-get install -y wrk"
need curl "apt-get install -y curl"
need valgrind "apt-get install -y valgrind"
ROUTE="${BENCH_ROUTE:-text}"
IR_SECONDS="${BENCH_IR_SECONDS:-3}"
CONNECTIONS="${BENCH_CONNECTIONS:-4}" # few: the server runs one thread at a time under valgrind
OUT="${BENCH_OUT:-$BENCH_DIR/results/instructions-${ROUTE//\//-}.md}"
if [ -n "${BENCH_VARIANTS:-}" ]; then
    mapfile -t VARIANTS <<<"$BENCH_VARIANTS"
    STEPS=0
else
    VARIANTS=("${LAYER_VARIANTS[@]}")
    STEPS="$LAYER_STEPS"
fi

[ "${BENCH_NO_BUILD:-}" = 1 ] || bench_build
work="$(mktemp -d)"
trap 'stop_servers; rm -rf "$work"' EXIT

# allocations FILE: calls to malloc, calloc and realloc in a callgrind profile.
allocations() {
    awk '
        function id_of(line, prefix,    s, id) {
            s = substr(line, length(prefix) + 2)
            id = s
            sub(/\).*/, "", id)
            if (index(s, ") ")) { sub(/^[0-9]+\) /, "", s); names[id] = s }
            return id
        }
        /^fn=\(/ { id_of($0, "fn="); next }
        /^cfn=\(/ { callee = names[id_of($0, "cfn=")]; next }
        /^calls=/ {
            if (callee == "malloc" || callee == "calloc" || callee == "realloc") n += substr($1, 7)
            callee = ""
        }
        END { print n + 0 }' "$1"
}

# wait_up PORT: a server under valgrind takes a few seconds to answer.
wait_up() {
    local i
    for i in $(seq 1 300); do
        curl -sf -o /dev/null "http://127.0.0.1:$1/text" && return 0
        sleep 0.1
    done
    log "error: server on port $1 did not start under valgrind"
    exit 1
}

ir=() allocs=()
for i in "${!VARIANTS[@]}"; do
    IFS='|' read -r name mode layers binary extra <<<"${VARIANTS[$i]}"
    read -r -a extra <<<"${extra:-}"
    port=$((18200 + i))
    out="$work/cg.$i.out"
    env RUST_LOG="${RUST_LOG:-warn}" BENCH_AXUM_LAYERS="$layers" "${extra[@]}" "${SERVER_CPU[@]}" \
        valgrind --tool=callgrind --callgrind-out-file="$out" "${binary:-$BIN}" "$mode" "$port" 2>"$work/vg.$i.err" &
    pid="$!"
    SERVER_PIDS+=("$pid")
    wait_up "$port"
    cookie=""
    if [ "$ROUTE" = session ] || [ -n "${BENCH_COOKIE_ROUTES:-}" ]; then cookie="$(login "$port")"; fi
    wrk_once 1 "http://127.0.0.1:$port/$ROUTE" "$cookie" >/dev/null
    callgrind_control -z "$pid" >/dev/null
    result="$(wrk_once "$IR_SECONDS" "http://127.0.0.1:$port/$ROUTE" "$cookie")"
    read -r _ _ requests <<<"$result"
    callgrind_control -d "$pid" >/dev/null
    stop_servers
    total="$(awk '/^totals:/ { print $2 }' "$out.1")"
    ir+=("$(awk -v t="$total" -v n="$requests" 'BEGIN { printf "%.0f", t / n }')")
    allocs+=("$(awk -v t="$(allocations "$out.1")" -v n="$requests" 'BEGIN { printf "%.1f", t / n }')")
    log "$name: $requests requests, ${ir[$i]} instructions and ${allocs[$i]} allocations per request"
    if [ -n "${BENCH_KEEP_PROFILES:-}" ]; then
        mkdir -p "$BENCH_KEEP_PROFILES"
        cp "$out.1" "$BENCH_KEEP_PROFILES/callgrind.${ROUTE//\//-}.$i.out"
    fi
done

report="$(
    printf '# Instructions per request on `/%s` — %s\n\n' "$ROUTE" "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf -- '- callgrind (%s), wrk -t1 -c%s for %s s per variant after a 1 s warm-up; user-space instructions of the server only\n\n' \
        "$(valgrind --version)" "$CONNECTIONS" "$IR_SECONDS"
    printf '| variant | instructions/request | ÷ first row | step | allocations/request | step |\n'
    printf '|---|---:|---:|---:|---:|---:|\n'
    for i in "${!VARIANTS[@]}"; do
        step="—" astep="—"
        if [ "$i" -ge 1 ] && [ "$i" -le "$STEPS" ]; then
            step="$(printf '%+d' $((ir[i] - ir[i - 1])))"
            astep="$(awk -v a="${allocs[$i]}" -v b="${allocs[$((i - 1))]}" 'BEGIN { printf "%+.1f", a - b }')"
        fi
        printf '| %s | %d | %.3f | %s | %s | %s |\n' "${VARIANTS[$i]%%|*}" "${ir[$i]}" \
            "$(awk -v v="${ir[$i]}" -v b="${ir[0]}" 'BEGIN { print v / b }')" "$step" "${allocs[$i]}" "$astep"
    done
)"
mkdir -p "$(dirname "$OUT")"
printf '%s\n' "$report" >"$OUT"
printf '%s\n' "$report"
log "report written to $OUT"
