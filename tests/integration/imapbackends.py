"""The IMAP servers the test_imap_*.py suite runs against: a private Dovecot
(the reference, dovecotpeer.py) and tern (`tern serve`, ternserver.py).

Fixtures:
- `backend`: one server per test module and backend, parametrized over
  BACKENDS = ["dovecot", "tern"]; tests that only make sense for tern use
  `tern_backend` instead.
- `imap`: a fresh account on that server for one test (an `Account`), so
  the tests of a module do not see each other's mail.

The tern parameter skips with a clear reason when `tern serve` does not
answer on its imap port (TERN_IMAP_SKIP below: the one line to remove once
tern's IMAP is the only thing under test).

Where the RFCs allow several answers the tests accept all of them; where a
test needs an extension the server does not announce, it is skipped for
Dovecot (whose 2.3 lacks e.g. IMAP4rev2 and UTF8=ACCEPT) and fails for tern
(whose capability list is issue 10's).
"""
import itertools

import pytest

import dovecotpeer
from imapclient import IMAPConn, tls_context
from ternserver import TernServer

BACKENDS = ["dovecot", "tern"]
DOMAIN = "example.test"
TERN_LISTENERS = ("smtp", "imap", "imaps")

# tern is skipped when its imap listener does not greet (no IMAP server yet
# in this build). Set to False to make a silent tern a failure instead.
TERN_IMAP_SKIP = True

# Capabilities issue 10 requires of tern after login (docs/imap.md).
TERN_REQUIRED = {
    "IMAP4REV1", "IMAP4REV2", "SASL-IR", "LITERAL+", "ID", "ENABLE", "IDLE", "NAMESPACE",
    "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE",
    "LIST-EXTENDED", "LIST-STATUS", "ESEARCH", "SEARCHRES", "UTF8=ACCEPT", "MULTIAPPEND",
    "BINARY", "STATUS=SIZE",
}

# Known tern defects the suite has found: test function name -> reason.
# Each marks that test's tern run as xfail(strict=True) (conftest.py), so a
# fix turns it into an XPASS failure: then delete the line.
TERN_KNOWN_BUGS = {
}

_counter = itertools.count(1)


def probe_greeting(host, port):
    """The server's first line, or None when nothing answers like IMAP."""
    try:
        c = IMAPConn(host, port, timeout=5)
    except Exception:
        return None
    try:
        return c.greeting if c.greeting.startswith((b"* OK", b"* PREAUTH")) else None
    finally:
        c.close()


class Backend:
    """A running IMAP server of one kind with accounts on it."""

    def __init__(self, kind, server):
        self.kind = kind
        self.server = server
        self.host = server.host
        self._caps = None

    def port(self, listener="imap"):
        return self.server.port(listener)

    def add_user(self, name=None, password=None):
        if self.kind == "dovecot" and name is None and password is None:
            user, password = self.server.pool_user()
            return Account(self, user, password)
        n = next(_counter)
        user = name or f"u{n}@{DOMAIN}"
        password = password or f"pw {n} secret"
        self.server.add_user(user, password)
        return Account(self, user, password)

    def connect(self, listener="imap", **kw):
        return IMAPConn(self.host, self.port(listener), tls=(listener == "imaps"), **kw)

    def imaplib(self, listener="imap"):
        import imaplib
        if listener == "imaps":
            return imaplib.IMAP4_SSL(self.host, self.port(listener), ssl_context=tls_context(),
                                     timeout=30)
        return imaplib.IMAP4(self.host, self.port(listener), timeout=30)

    def maildir(self, user):
        return self.server.maildir(user)

    def alive(self):
        return self.server.alive()

    def log(self):
        return self.server.log()

    def caps_after_login(self, account):
        if self._caps is None:
            c = account.login()
            self._caps = c.capabilities()
            c.logout()
        return self._caps

    def __repr__(self):
        return f"<{self.kind} on {self.host}:{self.port()}>"


class Account:
    """One user on a Backend: connections, logged in or not."""

    def __init__(self, backend, user, password):
        self.backend = backend
        self.kind = backend.kind
        self.user = user
        self.password = password

    def connect(self, listener="imap", **kw):
        return self.backend.connect(listener, **kw)

    def login(self, listener="imap", **kw):
        c = self.connect(listener, **kw)
        c.login(self.user, self.password)
        return c

    def imaplib(self, listener="imap"):
        m = self.backend.imaplib(listener)
        m.login(self.user, self.password)
        return m

    def caps(self):
        return self.backend.caps_after_login(self)

    def need(self, *caps):
        """Skip (Dovecot) or fail (tern) when a capability is not offered."""
        have = self.caps()
        missing = [c for c in caps if c.upper() not in have
                   and not any(h.startswith(c.upper() + "=") for h in have)]
        if not missing:
            return
        if self.kind == "dovecot":
            pytest.skip(f"Dovecot 2.3 does not offer {' '.join(missing)}")
        pytest.fail(f"tern does not announce {' '.join(missing)} (issue 10 requires it)")

    def append(self, data, mailbox="INBOX", flags=None, date=None):
        """APPEND through a new connection; returns the UID when UIDPLUS says it."""
        from imapclient import Literal, astring
        c = self.login()
        try:
            parts = ["APPEND ", astring(mailbox)]
            if flags is not None:
                parts.append(f" ({flags})")
            if date is not None:
                parts.append(f' "{date}"')
            parts += [" ", Literal(data)]
            r = c.ok(*parts)
            if r.code and r.code.upper().startswith("APPENDUID"):
                return int(r.code.split()[2])
            return None
        finally:
            c.logout()

    def fill(self, messages, mailbox="INBOX"):
        c = self.login()
        from imapclient import Literal, astring
        try:
            for m in messages:
                c.ok("APPEND ", astring(mailbox), " ", Literal(m))
        finally:
            c.logout()


def _tern_server(tern_bin, root, **kw):
    kw.setdefault("listeners", TERN_LISTENERS)
    srv = TernServer(tern_bin, root, **kw)
    return srv


def skip_if_tern_silent(srv):
    if probe_greeting(srv.host, srv.port("imap")) is None:
        srv.stop()
        if TERN_IMAP_SKIP:
            pytest.skip("tern serve does not answer on its imap port (no IMAP server in this build)")
        pytest.fail("tern serve does not answer on its imap port")


def make_backend(kind, tern_bin, root, dovecot_conf="", **tern_kw):
    """Start one backend; the caller stops it (stop_backend)."""
    if kind == "dovecot":
        if not dovecotpeer.available():
            pytest.fail("dovecot-imapd is not installed (scripts/deps.sh test installs it)")
        d = dovecotpeer.DovecotServer(extra_conf=dovecot_conf,
                                      host=tern_kw.get("host", "127.0.0.1"))
        d.start()
        return Backend("dovecot", d)
    srv = _tern_server(tern_bin, root, **tern_kw)
    srv.start()
    skip_if_tern_silent(srv)
    return Backend("tern", srv)


def stop_backend(b):
    if b.kind == "dovecot":
        b.server.cleanup()
    else:
        b.server.stop()
        rc = b.server.proc.returncode
        if rc not in (0, None):
            pytest.fail(f"tern serve exited with {rc}; log:\n{b.server.log()[-3000:]}")


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, tern_bin, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"imap-{request.param}")
    # a module may set TERN_KW (TernServer arguments) and DOVECOT_CONF
    b = make_backend(request.param, tern_bin, root,
                     getattr(request.module, "DOVECOT_CONF", ""),
                     **getattr(request.module, "TERN_KW", {}))
    yield b
    stop_backend(b)


@pytest.fixture(scope="module")
def tern_backend(request, tern_bin, tmp_path_factory):
    b = make_backend("tern", tern_bin, tmp_path_factory.mktemp("imap-tern"),
                     **getattr(request.module, "TERN_KW", {}))
    yield b
    stop_backend(b)


@pytest.fixture
def imap(backend):
    """A fresh account on the module's backend."""
    acct = backend.add_user()
    yield acct
    assert backend.alive(), f"{backend.kind} died during the test:\n{backend.log()[-3000:]}"


@pytest.fixture
def tern_imap(tern_backend):
    acct = tern_backend.add_user()
    yield acct
    assert tern_backend.alive(), f"tern died during the test:\n{tern_backend.log()[-3000:]}"


@pytest.fixture
def backend_factory(request, tern_bin, tmp_path):
    """For tests that need a server of their own (special config):
    backend_factory(kind, **tern_kw) -> Backend, stopped at the end."""
    made = []

    def make(kind, dovecot_conf="", **kw):
        b = make_backend(kind, tern_bin, tmp_path / f"{kind}{len(made)}", dovecot_conf, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        stop_backend(b)
