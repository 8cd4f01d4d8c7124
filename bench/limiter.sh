#!/usr/bin/env bash
# phial-limiter against governor by hand, both in bare axum: GET /text under its limit,
# measured interleaved with wrk by run.sh. Two comparisons, each its own report:
#   memory storage vs governor    -> results/limiter.md
#   Redis storage vs governor     -> results/limiter-redis.md (Redis throughput)
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
        *) echo "unknown run $run" >&2; exit 1 ;;
    esac
done
