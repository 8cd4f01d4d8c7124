#!/usr/bin/env bash
# phial-login against a bare axum app reading a signed cookie by hand: GET /page for a user
# restored from the session (phial: the session layer, the login layer, session protection,
# the user loader), measured interleaved with wrk by run.sh.
#
# Usage: bench/login.sh         Environment: as run.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_PHIAL_MODE=phial-login BENCH_AXUM_MODE=axum-login
export BENCH_ROUTES="${BENCH_ROUTES:-page}"
export BENCH_COOKIE_ROUTES="page"
export BENCH_OUT="${BENCH_OUT:-$here/results/login.md}"
exec "$here/run.sh"
