#!/usr/bin/env bash
# phial-cache's cached responses (every timed request a hit) against bare axum serving the
# same bytes: memory, Redis and two-level backends, each measured interleaved with axum by
# run.sh. Writes results/cache-<backend>.md and all three in results/cache.md.
#
# Usage: bench/cache.sh        Environment: as run.sh; REDIS_URL for the Redis modes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/phial-target}"
export BENCH_BIN="$CARGO_TARGET_DIR/release/cache"
export BENCH_ROUTES="${BENCH_ROUTES:-text}"
export BENCH_AXUM_MODE=axum-bytes
# Ports of their own, so that another bench script's servers are never mistaken for these.
export BENCH_PHIAL_PORT="${BENCH_PHIAL_PORT:-18121}" BENCH_AXUM_PORT="${BENCH_AXUM_PORT:-18122}"
if [ "${BENCH_NO_BUILD:-}" != 1 ]; then
    (cd "$here/.." && cargo build --release -p phial-bench --bin cache -j "${BENCH_JOBS:-1}" >&2)
fi
export BENCH_NO_BUILD=1
reports=()
for backend in memory redis two-level; do
    mode="phial-cache"
    [ "$backend" = memory ] || mode="phial-cache-$backend"
    out="$here/results/cache-$backend.md"
    BENCH_PHIAL_MODE="$mode" BENCH_OUT="$out" "$here/run.sh"
    reports+=("$out")
done
{
    printf '# phial-cache: cached route (hit) vs bare axum serving the same bytes\n\n'
    printf 'One report per backend; each phial run is interleaved with a bare axum run of the same\n'
    printf 'route. Ratio = phial÷axum req/s (target ≥ 0.9 for memory hits).\n\n'
    for report in "${reports[@]}"; do
        sed 's/^# /## /' "$report"
        printf '\n'
    done
} >"$here/results/cache.md"
echo "report written to $here/results/cache.md" >&2
