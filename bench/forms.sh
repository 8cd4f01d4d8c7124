#!/usr/bin/env bash
# phial-forms against the same checks by hand in bare axum: a CSRF-protected form POST with
# five validated fields (scripts/form-post.lua fetches a token, then posts), measured
# interleaved with wrk by run.sh.
#
# Usage: bench/forms.sh         Environment: as run.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_PHIAL_MODE=phial-forms BENCH_AXUM_MODE=axum-forms
export BENCH_ROUTES="${BENCH_ROUTES:-register}"
export BENCH_WRK_SCRIPT="$here/scripts/form-post.lua"
export BENCH_OUT="${BENCH_OUT:-$here/results/forms.md}"
exec "$here/run.sh"
