"""A local SMTP server for tests (aiosmtpd): every message it accepts is written, decoded,
as one JSON file in the output directory (envelope, headers, plain-text body).

    python server.py <port> <out-dir>     prints "ready" once it listens on 127.0.0.1
"""
import email
import email.policy
import json
import os
import signal
import sys

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, out):
        self.out = out
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "content_language": msg.get("content-language"),
            "body": part.get_content() if part is not None else "",
        }
        self.n += 1
        path = os.path.join(self.out, "%05d.json" % self.n)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    controller = Controller(Handler(out), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), sys.exit(0)))
    signal.pause()


if __name__ == "__main__":
    main()
