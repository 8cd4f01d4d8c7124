#!/usr/bin/env bash
# phial-sql against plain sqlx in bare axum, on PostgreSQL: GET /items/{id} (one row by key)
# and GET /items?page=N (COUNT plus one page of 20), measured interleaved with wrk by run.sh.
#
# Usage: bench/sql.sh
# Environment: as run.sh, plus
#   BENCH_DATABASE_URL [postgres://postgres@127.0.0.1:5432/test]   the server both apps use
#                        (the table phial_bench_item is created and seeded with 10,000 rows)
set -euo pipefail
export BENCH_PHIAL_MODE=phial-sql BENCH_AXUM_MODE=axum-sql
export BENCH_ROUTES="${BENCH_ROUTES:-items/4242 items?page=37}"
export BENCH_OUT="${BENCH_OUT:-$(dirname "${BASH_SOURCE[0]}")/results/sql.md}"
exec "$(dirname "${BASH_SOURCE[0]}")/run.sh"
