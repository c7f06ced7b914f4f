"""A reusable fixture for integration tests that need a running `tern serve`.

TernServer writes its own config file (hostname, data_dir, domains, listeners
on free ports of a loopback address, [auth], [relay] and [limits] as asked),
creates users, aliases and domains through the real CLI
(`tern user add -c FILE ADDRESS`, password on stdin), starts and stops the
server (SIGTERM, or `kill -9` for durability tests), collects its stderr log
in a file, and finds delivered Maildir files and queue files under its data
dir (the layout of shared/DESIGN.md "On disk").

For IMAP, list "imap"/"imaps" in `listeners`; `imap()` gives an imaplib
client and `imap_raw()` an imapclient.IMAPConn (exact IMAP exchanges).

RawSMTP is a small line-level SMTP client on a raw socket (optionally TLS)
for exact reply checks, pipelining and hostile input; the tests use Python's
smtplib and swaks beside it.

Every wait here is bounded in time; nothing asserts on timing.

Test modules use the `servers` fixture:

    from ternserver import servers  # noqa: F401  (pytest fixture)

    def test_x(servers):
        srv = servers.start(users={"alice@example.test": "pw"})
"""
import base64
import email
import email.policy
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import free_port

DOMAIN = "example.test"
HOSTNAME = "mx.example.test"
POSTMASTER = "admin@example.test"
LISTENERS = ("smtp", "submission", "submissions")


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML for {v!r}")


def client_tls_context():
    """TLS for a client of a server with its self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wait_until(cond, timeout=15.0, interval=0.05, what="condition"):
    """Poll cond() until it returns a true value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for "
                        f"{what() if callable(what) else what}")
        time.sleep(interval)


def dot_stuff(data):
    """Message bytes as sent after DATA: CRLF line ends, a '.' doubled at the
    start of a line (RFC 5321 4.5.2), ending with CRLF (the final "." is
    not included)."""
    if isinstance(data, str):
        data = data.encode()
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)


def make_message(subject="test", sender="sender@remote.test", to="alice@example.test",
                 body="Hello.\r\n", extra=""):
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@remote.test>\r\n{extra}\r\n{body}").encode()


def unfold(data):
    """Delivered bytes with LF line ends (Maildir files may use either)."""
    return data.replace(b"\r\n", b"\n")


class Reply:
    """One SMTP reply: code, the text lines (after "250-" / "250 ")."""

    def __init__(self, code, lines, raw):
        self.code = code
        self.lines = lines
        self.raw = raw

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def enhanced(self):
        """The RFC 3463 status code of the first line ("2.1.0"), or None."""
        first = self.lines[0].split(" ", 1)[0] if self.lines else ""
        parts = first.split(".")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            return first
        return None

    def all_enhanced(self):
        """RFC 2034 3: every line of the reply carries the status code."""
        codes = []
        for line in self.lines:
            first = line.split(" ", 1)[0]
            parts = first.split(".")
            if not (len(parts) == 3 and all(p.isdigit() for p in parts)):
                return False
            codes.append(first)
        return len(set(codes)) == 1 and codes[0][0] == str(self.code)[0]

    def __repr__(self):
        return f"Reply({self.code}, {self.lines!r})"


class Closed(Exception):
    """The server closed the connection (data read so far in .data)."""

    def __init__(self, data=b""):
        super().__init__(f"connection closed; pending {data!r}")
        self.data = data


class RawSMTP:
    """SMTP on a raw socket: exact bytes out, replies parsed one by one."""

    def __init__(self, host, port, tls=False, timeout=20.0, source=None, greeting=True):
        self.sock = socket.create_connection(
            (host, port), timeout=timeout, source_address=(source, 0) if source else None
        )
        self.timeout = timeout
        if tls:
            self.sock = client_tls_context().wrap_socket(self.sock)
        self.buf = b""
        self.greeting = self.reply() if greeting else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _line(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
                chunk = b""
            if not chunk:
                raise Closed(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def reply(self):
        lines, raw = [], []
        code = None
        while True:
            line = self._line()
            raw.append(line)
            text = line.rstrip(b"\r").decode("utf-8", "replace")
            if len(text) < 3 or not text[:3].isdigit():
                raise AssertionError(f"malformed reply line {line!r}")
            if code is None:
                code = int(text[:3])
            elif int(text[:3]) != code:
                raise AssertionError(f"reply code changed within a reply: {raw!r}")
            lines.append(text[4:])
            if len(text) == 3 or text[3] == " ":
                return Reply(code, lines, raw)
            if text[3] != "-":
                raise AssertionError(f"bad separator in reply line {line!r}")

    def cmd(self, line):
        """Send one command line (CRLF added) and read its reply."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.reply()

    def ehlo(self, name="client.test"):
        r = self.cmd(f"EHLO {name}")
        assert r.code == 250, r
        return r

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r.code == 220, r
        assert not self.buf, "data after STARTTLS reply"
        self.sock = client_tls_context().wrap_socket(self.sock)
        return r

    def auth_plain(self, user, password):
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return self.cmd(f"AUTH PLAIN {token}")

    def mail(self, sender, rcpts, data, mail_params="", rcpt_params=""):
        """One transaction: MAIL, RCPTs (each must get 250), DATA with the
        message dot-stuffed (RFC 5321 4.5.2); returns the final reply."""
        r = self.cmd(f"MAIL FROM:<{sender}>{' ' + mail_params if mail_params else ''}")
        assert r.code == 250, r
        for rcpt in rcpts:
            r = self.cmd(f"RCPT TO:<{rcpt}>{' ' + rcpt_params if rcpt_params else ''}")
            assert r.code == 250, (rcpt, r)
        r = self.cmd("DATA")
        assert r.code == 354, r
        self.send(dot_stuff(data) + b".\r\n")
        return self.reply()

    def closed(self, timeout=10.0):
        """True when the server closes the connection (EOF) within timeout;
        data received meanwhile is discarded."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
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


class TernServer:
    """One `tern serve` with its own directory, config, ports and log."""

    def __init__(self, tern_bin, root, host="127.0.0.1", domains=(DOMAIN,), listeners=LISTENERS,
                 plaintext_on_loopback=True, relay_networks=(), limits=None, auth=None,
                 extra="", postmaster=POSTMASTER, user=None):
        self.tern_bin = tern_bin
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.domains = list(domains)
        self.data_dir = self.root / "data"
        self.config = self.root / "tern.toml"
        self.log_path = self.root / "serve.log"
        self.ports = {name: free_port(host) for name in listeners}
        self.proc = None
        self.log_offset = 0
        self.postmaster = postmaster
        lines = [
            f"hostname = {toml_value(HOSTNAME)}",
            f"data_dir = {toml_value(str(self.data_dir))}",
            f"domains = {toml_value(self.domains)}",
            # where postmaster@ and root go (the account need not exist
            # for tests that never write to it)
            f"postmaster = {toml_value(postmaster)}",
        ]
        if user is None and os.geteuid() == 0:
            # tern serve refuses to stay root by accident; these tests run
            # as root in a private 0700 directory that no other user could
            # reach, so they say so on purpose (docs/config.md "user")
            user = "root"
        if user is not None:
            lines.append(f"user = {toml_value(user)}")
        lines.append("[listen]")
        for name, port in self.ports.items():
            lines.append(f"{name} = {toml_value([f'{host}:{port}'])}")
        lines += ["[auth]", f"plaintext_on_loopback = {toml_value(plaintext_on_loopback)}"]
        lines += [f"{k} = {toml_value(v)}" for k, v in (auth or {}).items()]
        lines += ["[relay]", f"networks = {toml_value(list(relay_networks))}"]
        if limits:
            lines.append("[limits]")
            lines += [f"{k} = {toml_value(v)}" for k, v in limits.items()]
        if "[delivery]" not in extra:
            # Tests never ask the machine's DNS: a nameserver port nobody
            # answers on makes every remote lookup a temporary failure, so
            # remote recipients stay queued (deferred) as these tests expect.
            lines += ["[delivery]", f"nameserver = {toml_value(f'127.0.0.1:{free_port()}')}"]
        self.config.write_text("\n".join(lines) + "\n" + extra)

    # --- the CLI -----------------------------------------------------

    def cli(self, *words, args=(), input=None, check=True):
        """`tern WORDS... -c FILE ARGS...`; returns the CompletedProcess."""
        res = subprocess.run(
            [self.tern_bin, *words, "-c", str(self.config), *args],
            input=input, capture_output=True, text=True, timeout=30,
        )
        if check and res.returncode != 0:
            pytest.fail(f"tern {' '.join(words)} {' '.join(args)} failed "
                        f"({res.returncode}): {res.stderr}")
        return res

    def add_user(self, address, password, apop=False):
        extra = ["--apop"] if apop else []
        return self.cli("user", "add", args=[*extra, address], input=password + "\n")

    def del_user(self, address):
        return self.cli("user", "del", args=[address])

    def add_alias(self, alias, *targets):
        return self.cli("alias", "add", args=[alias, *targets])

    def del_alias(self, alias, target=None):
        return self.cli("alias", "del", args=[alias] + ([target] if target else []))

    def add_domain(self, domain):
        return self.cli("domain", "add", args=[domain])

    # --- the server ----------------------------------------------------

    def start(self, timeout=15.0):
        assert self.proc is None or self.proc.poll() is not None
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.tern_bin, "serve", "-c", str(self.config)],
            stdin=subprocess.DEVNULL, stdout=self._logf, stderr=self._logf,
            cwd=self.root,
        )
        deadline = time.monotonic() + timeout
        while "serve started" not in self.log_since_start():
            if self.proc.poll() is not None:
                pytest.fail(f"tern serve exited {self.proc.returncode}: {self.log_since_start()}")
            if time.monotonic() > deadline:
                pytest.fail(f"tern serve did not start: {self.log_since_start()}")
            time.sleep(0.02)
        for port in self.ports.values():
            self.wait_port(port, deadline)
        return self

    def wait_port(self, port, deadline):
        while True:
            try:
                with socket.create_connection((self.host, port), timeout=5) as s:
                    # connect, say nothing, half-close and wait for the
                    # server's close: then this probe no longer counts
                    # against connection limits
                    s.shutdown(socket.SHUT_WR)
                    try:
                        while s.recv(4096):
                            pass
                    except OSError:
                        pass
                    return
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"port {port} never accepted: {self.log_since_start()}")
                time.sleep(0.02)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._logf.close()
                pytest.fail("tern serve did not stop on SIGTERM")
        self._logf.close()
        return self.proc.returncode

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=15)
        self._logf.close()

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_since_start(self):
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            return f.read().decode(errors="replace")

    # --- clients -------------------------------------------------------

    def port(self, listener="smtp"):
        return self.ports[listener]

    def raw(self, listener="smtp", **kw):
        return RawSMTP(self.host, self.ports[listener], tls=(listener == "submissions"), **kw)

    def smtplib(self, listener="smtp", **kw):
        import smtplib
        if listener == "submissions":
            return smtplib.SMTP_SSL(self.host, self.ports[listener], timeout=30,
                                    context=client_tls_context(), **kw)
        return smtplib.SMTP(self.host, self.ports[listener], timeout=30, **kw)

    def imap(self, listener="imap", **kw):
        """An imaplib client of the imap (or imaps) listener, not logged in."""
        import imaplib
        if listener == "imaps":
            return imaplib.IMAP4_SSL(self.host, self.ports[listener],
                                     ssl_context=client_tls_context(), timeout=30, **kw)
        return imaplib.IMAP4(self.host, self.ports[listener], timeout=30, **kw)

    def pop3(self, listener="pop3", **kw):
        """A poplib client of the pop3 (or pop3s) listener, not logged in."""
        import poplib
        if listener == "pop3s":
            return poplib.POP3_SSL(self.host, self.ports[listener], timeout=30,
                                   context=client_tls_context(), **kw)
        return poplib.POP3(self.host, self.ports[listener], timeout=30, **kw)

    def imap_raw(self, listener="imap", **kw):
        """A raw IMAP connection (imapclient.IMAPConn: exact bytes, parsed
        responses) to the imap or imaps listener, greeting read."""
        from imapclient import IMAPConn
        return IMAPConn(self.host, self.ports[listener], tls=(listener == "imaps"), **kw)

    def submit_client(self, user, password, listener="submission"):
        """An smtplib client logged in on a submission port (STARTTLS on 587)."""
        c = self.smtplib(listener)
        c.ehlo("client.test")
        if listener == "submission":
            c.starttls(context=client_tls_context())
            c.ehlo("client.test")
        c.login(user, password)
        return c

    # --- mail on disk --------------------------------------------------

    def maildir(self, address):
        local, domain = address.rsplit("@", 1)
        return self.data_dir / "mail" / domain.lower() / local.lower()

    def messages(self, address):
        """Files delivered to address's INBOX (new/ and cur/), sorted."""
        md = self.maildir(address)
        files = []
        for sub in ("new", "cur"):
            d = md / sub
            if d.is_dir():
                files += [p for p in d.iterdir() if p.is_file()]
        return sorted(files)

    def wait_messages(self, address, count, timeout=20.0):
        """Wait until address has at least count messages; returns them."""
        wait_until(lambda: len(self.messages(address)) >= count, timeout,
                   what=f"{count} message(s) for {address}; log:\n{self.log()[-3000:]}")
        return self.messages(address)

    def parsed(self, path):
        return email.message_from_bytes(pathlib.Path(path).read_bytes(), policy=email.policy.default)

    def queue_files(self, sub):
        d = self.data_dir / "queue" / sub
        return sorted(p for p in d.iterdir()) if d.is_dir() else []

    def wait_queue_empty(self, timeout=20.0):
        """Wait until every committed message is delivered and removed."""
        wait_until(lambda: not self.queue_files("msg") and not self.queue_files("env"),
                   timeout, what=f"an empty queue; log:\n{self.log()[-3000:]}")

    def all_maildir_files(self):
        """Every delivered file under mail/ (new/ and cur/ of all mailboxes)."""
        root = self.data_dir / "mail"
        if not root.is_dir():
            return []
        return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name in ("new", "cur"))


class ServerFactory:
    """Starts TernServers in a test's tmp_path and stops them all at the end."""

    def __init__(self, tern_bin, tmp_path):
        self.tern_bin = tern_bin
        self.tmp_path = tmp_path
        self.servers = []

    def make(self, users=None, aliases=None, **kw):
        srv = TernServer(self.tern_bin, self.tmp_path / f"srv{len(self.servers)}", **kw)
        self.servers.append(srv)
        for address, password in (users or {}).items():
            srv.add_user(address, password)
        for alias, targets in (aliases or {}).items():
            srv.add_alias(alias, *targets)
        return srv

    def start(self, users=None, aliases=None, **kw):
        return self.make(users, aliases, **kw).start()

    def close(self):
        for srv in self.servers:
            if srv.proc is not None and srv.proc.poll() is None:
                srv.stop()


@pytest.fixture
def servers(tern_bin, tmp_path):
    factory = ServerFactory(tern_bin, tmp_path)
    yield factory
    factory.close()
    # a server that died during the test is a failure of that test
    for srv in factory.servers:
        if srv.proc is not None and srv.proc.returncode not in (0, -signal.SIGKILL):
            pytest.fail(f"tern serve exited with {srv.proc.returncode}; log:\n{srv.log()[-3000:]}")
