"""Logs in to a microblog, the original or the port, as USER (default user1, password `password`)
and prints two lines: the `Cookie` header value of the logged-in session, and an API token.

Usage: microblog_login.py HOST:PORT [USER]. Standard library only; cookies are handled by hand
because the port marks its session cookie `Secure` in production, which Python's cookie jar
would not send over plain HTTP."""
import base64, http.client, json, re, sys, urllib.parse

host, port = sys.argv[1].split(":")
def request(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(host, int(port))
    conn.request(method, path, body, headers or {})
    resp = conn.getresponse()
    return resp, resp.read().decode()
def session_of(resp, current=None):
    for header in resp.headers.get_all("Set-Cookie") or []:
        name, value = header.split(";")[0].split("=", 1)
        if name == "session":
            current = value
    return current
user = sys.argv[2] if len(sys.argv) > 2 else "user1"
resp, page = request("GET", "/auth/login")
session = session_of(resp)
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
data = urllib.parse.urlencode({"csrf_token": token.group(1), "username": user, "password": "password", "submit": "Sign In"})
resp, _ = request("POST", "/auth/login", data, {"Cookie": f"session={session}", "Content-Type": "application/x-www-form-urlencoded"})
assert resp.status == 302 and "/auth/login" not in resp.headers["Location"], (resp.status, resp.headers["Location"])
session = session_of(resp, session)
resp, body = request("POST", "/api/tokens", None, {"Authorization": "Basic " + base64.b64encode(f"{user}:password".encode()).decode()})
print(f"session={session}")
print(json.loads(body)["token"])
