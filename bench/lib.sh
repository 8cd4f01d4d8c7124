# Helpers shared by run.sh and layers.sh; sourced, not run.
# shellcheck shell=bash

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/phial-target}"
BIN="${BENCH_BIN:-$CARGO_TARGET_DIR/release/phial-bench}"

SECONDS_PER_RUN="${BENCH_SECONDS:-5}"
ROUNDS="${BENCH_ROUNDS:-7}"
WARMUP="${BENCH_WARMUP:-2}"
THREADS="${BENCH_THREADS:-1}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
QUIET_WAIT_MAX="${BENCH_QUIET_WAIT_MAX:-900}"

# Server on one core, wrk on the other, when taskset exists and there are two cores or more.
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    SERVER_CPU=(taskset -c 0)
    CLIENT_CPU=(taskset -c 1)
else
    SERVER_CPU=()
    CLIENT_CPU=()
fi

SERVER_PIDS=()
declare -A PID_OF_PORT=()

log() { printf '%s\n' "$*" >&2; }

need() {
    command -v "$1" >/dev/null || { log "error: \`$1\` is missing ($2)"; exit 1; }
}

bench_build() {
    log "building phial-bench (release)…"
    (cd "$ROOT" && cargo build --release -p phial-bench -j "${BENCH_JOBS:-1}" >&2)
}

# Waits until no compiler runs on the machine: a build beside the benchmark skews it.
wait_quiet() {
    local waited=0
    while pgrep -x rustc >/dev/null || pgrep -x cargo >/dev/null; do
        if [ "$waited" -ge "$QUIET_WAIT_MAX" ]; then
            log "error: a compiler has been running for ${waited}s; not measuring beside it"
            exit 1
        fi
        [ "$waited" -eq 0 ] && log "waiting for rustc/cargo to finish before measuring…"
        sleep 5
        waited=$((waited + 5))
    done
}

stop_servers() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVER_PIDS=()
declare -A PID_OF_PORT=()
}

# start_server PORT MODE [VAR=value ...]: starts the bench binary ($SERVER_BIN, else $BIN)
# and waits until it answers.
start_server() {
    local port="$1" mode="$2"
    shift 2
    env RUST_LOG="${RUST_LOG:-warn}" "$@" "${SERVER_CPU[@]}" "${SERVER_BIN:-$BIN}" "$mode" "$port" &
    SERVER_PIDS+=("$!")
    PID_OF_PORT[$port]="$!"
    local i
    for i in $(seq 1 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/text" && return 0
        sleep 0.1
    done
    log "error: $mode server on port $port did not start"
    exit 1
}

# login PORT: the `name=value` of the session cookie the app sets on /login. No User-Agent,
# like wrk's requests: phial-login's session protection ties a login to the client's address
# and User-Agent, and a mismatch would rewrite the session on every timed request.
login() {
    curl -sf -H 'User-Agent:' -D - -o /dev/null "http://127.0.0.1:$1/login" | tr -d '\r' |
        awk 'tolower($1) == "set-cookie:" { sub(/;.*/, "", $2); print $2; exit }'
}

# cpu_ns PID: nanoseconds the process's threads have run on a CPU (from schedstat, which
# leaves out time the hypervisor stole: steadier than throughput on a shared host).
cpu_ns() {
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

# wrk_once SECONDS URL [COOKIE]: prints "requests_per_second p99_ms requests".
wrk_once() {
    local seconds="$1" url="$2" cookie="${3:-}"
    local args=(-t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" --latency)
    [ -n "$cookie" ] && args+=(-H "Cookie: $cookie")
    [ -n "${BENCH_WRK_SCRIPT:-}" ] && args+=(-s "$BENCH_WRK_SCRIPT")
    "${CLIENT_CPU[@]}" wrk "${args[@]}" "$url" | wrk_summary
}

# wrk_summary: reads wrk --latency output; prints "requests_per_second p99_ms requests", or
# fails on error responses or no result.
wrk_summary() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
            return v
        }
        $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 }
        $2 == "requests" && $3 == "in" { n = $1 }
        /Non-2xx or 3xx responses/ { bad = 1 }
        END {
            if (bad || rps == "") { print "wrk: error responses or no result" > "/dev/stderr"; exit 1 }
            printf "%.1f %.3f %d\n", rps, p99, n
        }'
}

# measure URL [COOKIE]: one timed run, on a quiet machine; repeated if a compiler started
# during it. Prints "requests_per_second p99_ms server_cpu_us_per_request".
measure() {
    local result port pid before after
    port="${1#http://127.0.0.1:}"
    port="${port%%/*}"
    pid="${PID_OF_PORT[$port]}"
    for _ in 1 2 3 4 5; do
        wait_quiet
        before="$(cpu_ns "$pid")"
        result="$(wrk_once "$SECONDS_PER_RUN" "$@")"
        after="$(cpu_ns "$pid")"
        if ! pgrep -x rustc >/dev/null && ! pgrep -x cargo >/dev/null; then
            awk -v b="$before" -v a="$after" '{ printf "%s %s %.3f\n", $1, $2, (a - b) / 1000 / $3 }' <<<"$result"
            return 0
        fi
        log "a compiler started during the run; measuring again"
    done
    log "error: could not get a run without a compiler beside it"
    exit 1
}

# median: the median of the numbers on stdin, one a line.
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

machine_line() {
    local cpu
    cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
    printf '%s cores (%s), %s' "$(nproc)" "${cpu:-unknown CPU}" "$(uname -sr)"
}

# The variants layers.sh and instructions.sh compare, one a line: name | mode |
# BENCH_AXUM_LAYERS | binary (empty: this workspace's build) | VAR=value words for the server.
# Rows 1..LAYER_STEPS each add one thing to the row before: phial's session layer, axum's
# connect-info, then phial's outer layer (and phial's own routes, fallback and state) without
# the timeout, then the timeout. The last rows are for comparison: the tower-http layers a
# hand-written app would add for the outer layer's jobs, and five bare `Router::layer` calls.
LAYER_VARIANTS=(
    "axum|axum||"
    "+ session layer|axum|session|"
    "+ connect-info|axum|session,connect-info|"
    "phial, app.request_timeout = 0|phial|||PHIAL_APP__REQUEST_TIMEOUT=0"
    "phial (default stack)|phial||"
    "axum + tower-http body-limit, timeout, catch-panic|axum|body-limit,timeout,catch-panic|"
    "axum + 5 × Router::layer(Identity)|axum|identity5|"
)
LAYER_STEPS=4
