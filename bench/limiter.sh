#!/usr/bin/env bash
# phial-limiter against governor by hand, both in bare axum: GET /text under its limit,
# measured interleaved with wrk by run.sh. Two comparisons, each its own report:
#   memory storage vs governor    -> results/limiter.md
#   Redis storage vs governor     -> results/limiter-redis.md (Redis throughput)
# and, with BENCH_LIMITER_RUNS="instructions", callgrind's instructions per request of every
# strategy (steady when other work runs) -> results/limiter-instructions.md.
#
# Usage: bench/limiter.sh       Environment: as run.sh; REDIS_URL for the Redis run;
#        BENCH_LIMITER_STRATEGY (fixed-window default, or gcra, sliding-window-counter);
#        BENCH_LIMITER_RUNS ["memory redis"].
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/phial-target}"
export BENCH_BIN="$CARGO_TARGET_DIR/release/limiter"
export BENCH_ROUTES="${BENCH_ROUTES:-text}"
export BENCH_AXUM_MODE=axum-governor
if [ "${BENCH_NO_BUILD:-}" != 1 ]; then
    (cd "$here/.." && cargo build --release -p phial-bench --bin limiter -j "${BENCH_JOBS:-1}" >&2)
fi
export BENCH_NO_BUILD=1
for run in ${BENCH_LIMITER_RUNS:-memory redis}; do
    case "$run" in
        memory) BENCH_PHIAL_MODE=phial-limiter BENCH_OUT="$here/results/limiter.md" "$here/run.sh" ;;
        redis) BENCH_PHIAL_MODE=phial-limiter-redis BENCH_OUT="$here/results/limiter-redis.md" "$here/run.sh" ;;
        instructions)
            L="$BENCH_BIN"
            BENCH_OUT="$here/results/limiter-instructions.md" BENCH_VARIANTS="bare axum, no limiter (phial-bench axum)|axum|||
axum + governor by hand|axum-governor||$L|
phial-limiter, memory, fixed-window|phial-limiter||$L|
phial-limiter, memory, moving-window|phial-limiter||$L|BENCH_LIMITER_STRATEGY=moving-window
phial-limiter, memory, sliding-window-counter|phial-limiter||$L|BENCH_LIMITER_STRATEGY=sliding-window-counter
phial-limiter, memory, gcra|phial-limiter||$L|BENCH_LIMITER_STRATEGY=gcra
phial-limiter, Redis, fixed-window|phial-limiter-redis||$L|" "$here/instructions.sh"
            ;;
        *) echo "unknown run $run" >&2; exit 1 ;;
    esac
done
