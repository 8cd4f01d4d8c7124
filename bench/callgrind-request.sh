#!/usr/bin/env bash
# Instructions per request (callgrind, user space of the server only) of one server mode of a
# bench binary: 200 warm-up requests, then callgrind's counters are zeroed and BENCH_REQUESTS
# GET /text requests are sent on one keep-alive connection (python3's http.client); prints the
# count between the two dumps divided by the number of requests and keeps the profile in OUT
# for callgrind_annotate. Counts do not move with the load of a shared machine.
#
# Usage: bench/callgrind-request.sh BIN MODE PORT OUT      e.g.
#        bench/callgrind-request.sh "$CARGO_TARGET_DIR/release/limiter" phial-limiter 18212 /tmp/phial.out
#        (the binary's own environment applies: BENCH_LIMITER_STRATEGY, REDIS_URL, ...)
set -euo pipefail
bin="$1" mode="$2" port="$3" out="$4"
requests="${BENCH_REQUESTS:-2000}"
send() {
    python3 - "$port" "$1" <<'PY'
import http.client, sys
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    connection.request("GET", "/text")
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
PY
}
valgrind --tool=callgrind --callgrind-out-file="$out.%p" "$bin" "$mode" "$port" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/text" && break; sleep 0.2; done
send 200
callgrind_control -z "$pid" >/dev/null
send "$requests"
callgrind_control -d "$pid" >/dev/null
sleep 1
kill "$pid"
wait "$pid" 2>/dev/null || true
dump="$(ls "$out".*.1)"
mv "$dump" "$out"
rm -f "$out".*
awk -v n="$requests" '/^(summary|totals):/ { printf "%.0f\n", $2 / n; exit }' "$out"
