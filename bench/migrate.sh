#!/usr/bin/env bash
# phial-migrate upgrade against sqlx-cli's `sqlx migrate run`: the same 200 trivial revisions
# (one CREATE TABLE each), on SQLite and PostgreSQL, from an empty database each time, the two
# tools alternating within each round. Prints the medians and ratios and writes
# results/migrate.md. See README.md, "phial-migrate against sqlx-cli".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REVISIONS="${BENCH_REVISIONS:-200}"
ROUNDS="${BENCH_ROUNDS:-7}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
PG_URL="${PHIAL_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
SQLX="${SQLX_BIN:-$HOME/.cache/sqlx-cli/bin/sqlx}"
PHIAL="${PHIAL_MIGRATE_BIN:-$CARGO_TARGET_DIR/release/phial-migrate}"
OUT="${BENCH_OUT:-$BENCH_DIR/results/migrate.md}"

[ -x "$SQLX" ] || { log "error: no sqlx at $SQLX; install it with:
  cargo install sqlx-cli --no-default-features --features sqlite,postgres,rustls --locked --root \$HOME/.cache/sqlx-cli"; exit 1; }
need psql "PostgreSQL's client, to make a fresh database per run"
need sqlite3 "to check that every revision ran"

if [ "${BENCH_NO_BUILD:-}" != 1 ]; then
    log "building phial-migrate (release, sqlite + postgres)…"
    (cd "$ROOT" && cargo build --release -p phial-migrate --features postgres -j "${BENCH_JOBS:-1}" >&2)
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The same revisions in each tool's format: phial's header and sections, sqlx's
# `<version>_<description>.sql`.
mkdir -p "$WORK/phial" "$WORK/sqlx"
for i in $(seq 1 "$REVISIONS"); do
    n="$(printf '%04d' "$i")"
    parent=""
    [ "$i" -gt 1 ] && parent="r$(printf '%04d' $((i - 1)))"
    sql="CREATE TABLE t_$n (id INTEGER PRIMARY KEY, name TEXT);"
    printf -- '-- revision: r%s\n-- down_revision: %s\n-- message: table %s\n\n-- +up\n%s\n\n-- +down\nDROP TABLE t_%s;\n' \
        "$n" "$parent" "$n" "$sql" "$n" >"$WORK/phial/r${n}_table.sql"
    printf '%s\n' "$sql" >"$WORK/sqlx/${n}_table.sql"
done

# Waits until no compiler runs: a build beside the measurement skews it. (Only rustc: a test
# binary left running under `cargo test` by someone else does not compile anything.)
wait_no_rustc() {
    local waited=0
    while pgrep -x rustc >/dev/null; do
        [ "$waited" -ge "$QUIET_WAIT_MAX" ] && { log "error: rustc has been running for ${waited}s"; exit 1; }
        [ "$waited" -eq 0 ] && log "waiting for rustc to finish before measuring…"
        sleep 5
        waited=$((waited + 5))
    done
}

# fresh BACKEND RUN: a URL of an empty database for one run.
fresh() {
    case "$1" in
        # Four slashes: an absolute path, as SQLAlchemy (and phial) read SQLite URLs.
        sqlite) printf 'sqlite:///%s/%s.db' "$WORK" "$2" ;;
        postgres)
            psql "$PG_URL" -q -c "CREATE DATABASE bench_migrate_$2" >/dev/null
            printf '%s/bench_migrate_%s' "${PG_URL%/*}" "$2" ;;
    esac
}

drop() {
    [ "$1" = postgres ] && psql "$PG_URL" -q -c "DROP DATABASE IF EXISTS bench_migrate_$2" >/dev/null
    rm -f "$WORK/$2".db*
}

# timed TOOL BACKEND RUN: milliseconds of one upgrade from empty to the last revision.
timed() {
    local tool="$1" backend="$2" run="$3" url start end
    url="$(fresh "$backend" "$run")"
    wait_no_rustc
    start="$(date +%s%N)"
    case "$tool" in
        phial) "$PHIAL" --quiet --database-url "$url" --directory "$WORK/phial" upgrade ;;
        sqlx)
            # sqlx-cli reads `sqlite://` + the path, and does not create the file by default.
            [ "$backend" = sqlite ] && url="sqlite://$WORK/$run.db?mode=rwc"
            "$SQLX" migrate run --database-url "$url" --source "$WORK/sqlx" >/dev/null ;;
    esac
    end="$(date +%s%N)"
    # Both applied every revision: a tool that stopped early would look fast.
    local count
    case "$backend" in
        sqlite) count="$(sqlite_count "$WORK/$run.db")" ;;
        postgres) count="$(psql "$url" -tA -c "SELECT COUNT(*) FROM pg_tables WHERE tablename LIKE 't\_%'")" ;;
    esac
    [ "$count" = "$REVISIONS" ] || { log "error: $tool on $backend made $count tables, not $REVISIONS"; exit 1; }
    drop "$backend" "$run"
    echo $(((end - start) / 1000000))
}

sqlite_count() {
    sqlite3 "$1" "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 't\_%' ESCAPE '\'"
}

report="$(mktemp)"
{
    echo "# phial-migrate upgrade vs sqlx migrate run"
    echo
    echo "$(date -u +%Y-%m-%d), commit $(cd "$ROOT" && git rev-parse --short HEAD), $(machine_line)."
    echo "$REVISIONS revisions of one \`CREATE TABLE\` each, from an empty database, $ROUNDS rounds; in each"
    echo "round both tools run once, alternating which goes first. $("$SQLX" --version), phial-migrate release build."
    echo
    echo "| backend | phial-migrate (median ms) | sqlx (median ms) | phial ÷ sqlx (median of rounds) | range |"
    echo "|---|---:|---:|---:|---|"
} >"$report"

for backend in $BACKENDS; do
    phial_ms=()
    sqlx_ms=()
    ratios=()
    for round in $(seq 1 "$ROUNDS"); do
        if [ $((round % 2)) -eq 1 ]; then order=(phial sqlx); else order=(sqlx phial); fi
        for tool in "${order[@]}"; do
            ms="$(timed "$tool" "$backend" "${tool}_${round}_$$")"
            if [ "$tool" = phial ]; then p="$ms"; else s="$ms"; fi
        done
        phial_ms+=("$p")
        sqlx_ms+=("$s")
        ratios+=("$(awk -v p="$p" -v s="$s" 'BEGIN { printf "%.3f", p / s }')")
        log "$backend round $round: phial-migrate ${p} ms, sqlx ${s} ms"
    done
    pm="$(printf '%s\n' "${phial_ms[@]}" | median)"
    sm="$(printf '%s\n' "${sqlx_ms[@]}" | median)"
    rm_="$(printf '%s\n' "${ratios[@]}" | median)"
    lo="$(printf '%s\n' "${ratios[@]}" | sort -g | head -1)"
    hi="$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)"
    echo "| $backend | $pm | $sm | **$rm_** | $lo–$hi |" >>"$report"
done

{
    echo
    echo "Each time includes the process start, connecting, reading and checksumming the files,"
    echo "taking the migration lock, and recording each revision in the version table."
} >>"$report"
mkdir -p "$(dirname "$OUT")"
cp "$report" "$OUT"
cat "$report"
