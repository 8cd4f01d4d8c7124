"""A real SMTP server for phial-mail's tests, on aiosmtpd.

Listens on 127.0.0.1 (a free port), prints "READY <port>" once it accepts connections, and
appends one JSON line per event to <state-dir>/events.jsonl:
  {"event": "session", "session": N}                         a connection opened
  {"event": "auth", "session": N, "login": "..."}            a successful AUTH
  {"event": "message", "session": N, "mail_from": "...", "rcpt_tos": [...], "data": "..."}
  {"event": "reject", "session": N, "code": 451}             a scripted refusal of DATA

Options:
  --tls starttls|implicit   TLS with a certificate from a test CA made here (trustme); the CA
                            is written to <state-dir>/ca.pem for the client to trust
  --auth LOGIN:PASSWORD     require AUTH (PLAIN/LOGIN) with these credentials
  --script 451,451          reply these codes to the first DATA commands, then accept
"""

import argparse
import asyncio
import json
import os
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--tls", choices=["starttls", "implicit"])
    parser.add_argument("--auth")
    parser.add_argument("--script", default="")
    args = parser.parse_args()

    events_path = os.path.join(args.state_dir, "events.jsonl")
    events = open(events_path, "a", buffering=1, encoding="utf-8")

    def record(**event):
        events.write(json.dumps(event) + "\n")
        events.flush()

    script = [int(code) for code in args.script.split(",") if code]
    counter = {"sessions": 0}

    ssl_context = None
    if args.tls:
        import ssl

        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        ca.cert_pem.write_to_path(os.path.join(args.state_dir, "ca.pem"))
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ssl_context)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            if script:
                code = script.pop(0)
                record(event="reject", session=server.session_number, code=code)
                return f"{code} 4.3.0 scripted refusal, try again later"
            data = envelope.content.decode("utf-8", errors="replace")
            record(
                event="message",
                session=server.session_number,
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=data,
            )
            return "250 2.0.0 OK: queued"

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword) or not args.auth:
            return AuthResult(success=False, handled=False)
        login, password = args.auth.split(":", 1)
        ok = auth_data.login.decode() == login and auth_data.password.decode() == password
        if ok:
            record(event="auth", session=server.session_number, login=login)
        return AuthResult(success=ok, handled=False)

    class Server(SMTP):
        def connection_made(self, transport):
            counter["sessions"] += 1
            self.session_number = counter["sessions"]
            record(event="session", session=self.session_number)
            super().connection_made(transport)

    options = {"hostname": "localhost", "data_size_limit": 10 * 1024 * 1024}
    if args.auth:
        options.update(authenticator=authenticator, auth_required=True, auth_require_tls=bool(args.tls))
    if args.tls == "starttls":
        options.update(tls_context=ssl_context, require_starttls=True)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(
            lambda: Server(Handler(), **options),
            host="127.0.0.1",
            port=0,
            ssl=ssl_context if args.tls == "implicit" else None,
        )
    )
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
