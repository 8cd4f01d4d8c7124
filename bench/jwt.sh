#!/usr/bin/env bash
# phial-jwt against jsonwebtoken by hand in bare axum: GET /protected with a Bearer token,
# measured interleaved with wrk by run.sh (scripts/bearer.lua fetches the token first).
#
# Usage: bench/jwt.sh           Environment: as run.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_PHIAL_MODE=phial-jwt BENCH_AXUM_MODE=axum-jwt
export BENCH_ROUTES="${BENCH_ROUTES:-protected}"
export BENCH_WRK_SCRIPT="$here/scripts/bearer.lua"
export BENCH_OUT="${BENCH_OUT:-$here/results/jwt.md}"
exec "$here/run.sh"
