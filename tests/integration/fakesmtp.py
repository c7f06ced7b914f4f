"""A scriptable SMTP server for testing tern's SMTP client (standard library only).

    srv = FakeSMTP("127.0.0.2", port,
                   extensions=["PIPELINING", "8BITMIME", "SIZE 1000"],
                   rcpt_replies={"bad@x.test": "550 5.1.1 no such user"},
                   data_replies=["451 4.3.0 try later", "250 2.0.0 ok"],  # in turn, last repeats
                   drop_in_data=False, ehlo_reply=None, greeting="220 fake ESMTP")
    srv.start(); ...; srv.stop()
    srv.messages  # [{"helo": "EHLO x", "mail": "MAIL FROM:<a@b> BODY=8BITMIME",
                  #   "rcpts": ["RCPT TO:<c@d>"], "data": b"...", "accepted": True}]

Every reply is sent as soon as its command line is read, so a pipelining
client gets its replies in order. A message whose end-of-data reply was
2xx has accepted=True. drop_in_data closes the connection after the first
line of message data. With outdir, each message is also written there as
JSON (<ip>-<n>.json) for tests that are not in Python.
"""
import json
import os
import socket
import threading

DEFAULT_EXTENSIONS = ["PIPELINING", "SIZE 10485760", "8BITMIME", "ENHANCEDSTATUSCODES",
                      "DSN", "SMTPUTF8"]


class FakeSMTP:
    def __init__(self, host, port=0, extensions=None, rcpt_replies=None, data_replies=None,
                 drop_in_data=False, ehlo_reply=None, greeting="220 fake.test ESMTP",
                 outdir=None, mail_reply="250 2.1.0 ok"):
        self.host = host
        self.extensions = DEFAULT_EXTENSIONS if extensions is None else extensions
        self.rcpt_replies = rcpt_replies or {}
        self.data_replies = data_replies or ["250 2.0.0 queued"]
        self.drop_in_data = drop_in_data
        self.ehlo_reply = ehlo_reply
        self.greeting = greeting
        self.mail_reply = mail_reply
        self.outdir = outdir
        self.messages = []
        self.connections = 0
        self._data_count = 0
        self._lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(64)
        self._stop = False
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self.port

    def stop(self):
        self._stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                break
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _next_data_reply(self):
        with self._lock:
            i = min(self._data_count, len(self.data_replies) - 1)
            self._data_count += 1
            return self.data_replies[i]

    def _record(self, msg):
        with self._lock:
            self.messages.append(msg)
            n = len(self.messages)
        if self.outdir:
            rec = dict(msg)
            rec["data"] = msg["data"].decode("latin-1")
            path = os.path.join(self.outdir, f"{self.host}-{n}.json")
            with open(path + ".tmp", "w") as f:
                json.dump(rec, f)
            os.rename(path + ".tmp", path)

    def _session(self, conn):
        f = conn.makefile("rb")

        def send(line):
            conn.sendall(line.encode() + b"\r\n")

        try:
            send(self.greeting)
            if not self.greeting.startswith("220"):
                return
            helo = None
            msg = None
            while True:
                line = f.readline(8192)
                if not line:
                    return
                cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
                verb = cmd.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    if self.ehlo_reply:
                        send(self.ehlo_reply)
                        continue
                    helo = cmd
                    lines = ["fake.test"] + list(self.extensions)
                    for i, text in enumerate(lines):
                        send(("250 " if i == len(lines) - 1 else "250-") + text)
                elif verb == "HELO":
                    helo = cmd
                    send("250 fake.test")
                elif verb == "MAIL":
                    msg = {"helo": helo, "mail": cmd, "rcpts": [], "accepted_rcpts": [],
                           "data": b"", "accepted": False}
                    send(self.mail_reply)
                    if not self.mail_reply.startswith("2"):
                        msg = None
                elif verb == "RCPT":
                    if msg is None:
                        send("503 5.5.1 MAIL first")
                        continue
                    addr = cmd[cmd.find("<") + 1:cmd.find(">")]
                    reply = self.rcpt_replies.get(addr, "250 2.1.5 ok")
                    msg["rcpts"].append(cmd)
                    if reply.startswith("2"):
                        msg["accepted_rcpts"].append(addr)
                    send(reply)
                elif verb == "DATA":
                    if msg is None or not msg["accepted_rcpts"]:
                        send("554 5.5.1 no valid recipients")
                        continue
                    send("354 go ahead")
                    data = b""
                    while True:
                        dline = f.readline(1 << 20)
                        if not dline:
                            return
                        if self.drop_in_data:
                            conn.close()
                            return
                        if dline == b".\r\n":
                            break
                        if dline.startswith(b"."):
                            dline = dline[1:]
                        data += dline
                    msg["data"] = data
                    reply = self._next_data_reply()
                    msg["accepted"] = reply.startswith("2")
                    msg["data_reply"] = reply
                    self._record(msg)
                    msg = None
                    send(reply)
                elif verb == "RSET":
                    msg = None
                    send("250 2.0.0 ok")
                elif verb == "NOOP":
                    send("250 2.0.0 ok")
                elif verb == "QUIT":
                    send("221 2.0.0 bye")
                    return
                elif verb == "STARTTLS":
                    send("454 4.7.0 TLS not available")
                else:
                    send("502 5.5.2 unknown command")
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass
