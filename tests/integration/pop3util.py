"""Helpers for the POP3 integration tests (test_pop3_*.py).

RawPOP3 speaks POP3 on a raw socket (optionally TLS) and returns exact
bytes: status lines, and multi-line responses as the bytes between the
status line and the terminating ".\\r\\n" (still byte-stuffed), so tests can
check stuffing and octet counts themselves. unstuff() undoes RFC 1939 3
byte-stuffing. put_maildir_file() writes a message into a Maildir by hand,
as another MDA or a restore would, with whatever line ends it is given.

Every read has a timeout; nothing asserts on timing.
"""
import hashlib
import os
import socket
import ssl
import time

from ternserver import client_tls_context

USER = "alice@example.test"
PASSWORD = "alice pw"


class Closed(Exception):
    """The server closed the connection (data read so far in .data)."""

    def __init__(self, data=b""):
        super().__init__(f"connection closed; pending {data!r}")
        self.data = data


class RawPOP3:
    def __init__(self, host, port, tls=False, timeout=20.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        if tls:
            self.sock = client_tls_context().wrap_socket(self.sock)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(1 << 20)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            chunk = b""
        if not chunk:
            raise Closed(self.buf)
        self.buf += chunk

    def line(self):
        """One line without its CRLF (bytes)."""
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, line):
        """Send one command (CRLF added); its status line (bytes)."""
        self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return self.line()

    def multi(self):
        """The body of a multi-line response, stuffed, up to and without
        the terminating ".\\r\\n"; every line keeps its CRLF."""
        if self.buf.startswith(b".\r\n"):
            self.buf = self.buf[3:]
            return b""
        while True:
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                body, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                return body
            self._fill()

    def cmd_multi(self, line):
        """A command with a multi-line answer: (status, stuffed body)."""
        status = self.cmd(line)
        if not status.startswith(b"+OK"):
            return status, None
        return status, self.multi()

    def login(self, user=USER, password=PASSWORD):
        r = self.cmd(f"USER {user}")
        assert r.startswith(b"+OK"), r
        r = self.cmd(f"PASS {password}")
        assert r.startswith(b"+OK"), r
        return r

    def starttls(self):
        r = self.cmd("STLS")
        assert r.startswith(b"+OK"), r
        assert not self.buf, "data after the STLS reply"
        self.sock = client_tls_context().wrap_socket(self.sock)
        return r

    def closed(self, timeout=10.0):
        """True when the server closes the connection within timeout (what
        arrives meanwhile is kept in .buf)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def raw(srv, listener="pop3"):
    return RawPOP3(srv.host, srv.port(listener), tls=(listener == "pop3s"))


def unstuff(body):
    """RFC 1939 3: drop the extra "." of every line that starts with one."""
    lines = body.split(b"\r\n")
    out = [l[1:] if l.startswith(b".") else l for l in lines]
    for l in lines:
        assert not l.startswith(b".") or l.startswith(b".."), f"unstuffed dot line {l!r}"
    return b"\r\n".join(out)


def crlf(data):
    """The CRLF form of message bytes: every bare LF becomes CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def apop_digest(greeting, secret):
    """RFC 1939 7: MD5 of the greeting's timestamp and the shared secret."""
    if isinstance(greeting, bytes):
        greeting = greeting.decode()
    start, end = greeting.index("<"), greeting.index(">")
    return hashlib.md5((greeting[start:end + 1] + secret).encode()).hexdigest()


_counter = [0]


def put_maildir_file(srv, address, data, sub="new", info=""):
    """Write a message file into address's INBOX Maildir by hand (tmp/ then
    rename), bytes as given; returns its path."""
    md = srv.maildir(address)
    for d in ("tmp", "new", "cur"):
        (md / d).mkdir(parents=True, exist_ok=True)
    _counter[0] += 1
    name = f"{int(time.time())}.M{_counter[0]}P{os.getpid()}.test.host"
    if sub == "cur":
        name += ":2," + info
    tmp = md / "tmp" / name
    tmp.write_bytes(data)
    path = md / sub / name
    os.rename(tmp, path)
    return path


def deliver(srv, subjects, to=USER, body="Hello.\r\n"):
    """Send one message per subject over SMTP and wait for delivery."""
    from ternserver import make_message
    before = len(srv.messages(to))
    c = srv.smtplib()
    for s in subjects:
        c.sendmail("sender@remote.test", [to], make_message(s, to=to, body=body))
    c.quit()
    return srv.wait_messages(to, before + len(subjects))
