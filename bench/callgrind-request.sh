#!/usr/bin/env bash
# Instructions per request (callgrind, user space of the server only) of one server mode of a
# bench binary: 200 warm-up requests, then callgrind's counters are zeroed and BENCH_REQUESTS
# requests are sent on one keep-alive connection (python3's http.client); prints the count
# between the two dumps divided by the number of requests and keeps the profile in OUT for
# callgrind_annotate. Counts do not move with the load of a shared machine.
#
# BENCH_REQUEST picks the request [text]:
#   text   GET /text
#   login  GET /page with the session cookie GET /login sets (no User-Agent, as wrk sends)
#   forms  POST /register with the CSRF token and cookie GET /token gives, and five fields
#          (the body scripts/form-post.lua sends)
#
# Usage: bench/callgrind-request.sh BIN MODE PORT OUT      e.g.
#        bench/callgrind-request.sh "$CARGO_TARGET_DIR/release/limiter" phial-limiter 18212 /tmp/phial.out
#        BENCH_REQUEST=login bench/callgrind-request.sh "$CARGO_TARGET_DIR/release/phial-bench" phial-login 18213 /tmp/login.out
#        (the binary's own environment applies: BENCH_LIMITER_STRATEGY, REDIS_URL, ...)
#
# Under valgrind SHA-256 runs without the CPU's SHA extensions: a route that hashes (the login
# page's identifier, an HMAC) costs more instructions here than its share of real time.
set -euo pipefail
bin="$1" mode="$2" port="$3" out="$4"
requests="${BENCH_REQUESTS:-2000}"
kind="${BENCH_REQUEST:-text}"
send() {
    python3 - "$port" "$kind" "$1" <<'PY'
import http.client, sys
port, kind, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
connection = http.client.HTTPConnection("127.0.0.1", port)
method, path, headers, body = "GET", "/text", {}, None
if kind == "login":
    connection.request("GET", "/login", headers={"User-Agent": ""})
    response = connection.getresponse()
    response.read()
    headers = {"Cookie": response.getheader("Set-Cookie").split(";")[0]}
    path = "/page"
elif kind == "forms":
    connection.request("GET", "/token")
    response = connection.getresponse()
    token = response.read().decode()
    headers = {
        "Cookie": response.getheader("Set-Cookie").split(";")[0],
        "Content-Type": "application/x-www-form-urlencoded",
    }
    body = "csrf_token=" + token + "&username=susan&email=susan%40example.com" \
        "&password=correct+horse&password2=correct+horse&age=30"
    method, path = "POST", "/register"
elif kind != "text":
    sys.exit(f"unknown BENCH_REQUEST {kind!r}: text, login or forms")
for _ in range(count):
    connection.request(method, path, body=body, headers=headers)
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
