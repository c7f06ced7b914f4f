"""Security of the IMAP listeners: LOGINDISABLED and PRIVACYREQUIRED where
plaintext authentication is not allowed (RFC 9051 6.2.3, 11.1; RFC 5530),
STARTTLS lifting it, imaps, failed-login delays and throttling across
connections, per-connection failure limits, and timeouts (RFC 9051 5.4).

Plaintext is "not allowed" for Dovecot when the client's address differs
from the server's (the test connects from 127.0.0.2 to 127.0.0.1) and for
tern when `auth.plaintext_on_loopback = false` (docs/imap.md). Every
server here is the test's own (backend_factory), since these tests change
configuration or trip throttles."""
import base64

import pytest

from imapbackends import BACKENDS, backend_factory  # noqa: F401  (fixture)
from imapclient import Closed, IMAPConn, quote, tls_context

CLIENT_ADDR = "127.0.0.2"


def insecure_backend(backend_factory, kind):
    if kind == "dovecot":
        return backend_factory("dovecot")
    return backend_factory("tern", plaintext_on_loopback=False)


@pytest.mark.parametrize("kind", BACKENDS)
def test_logindisabled_without_tls(backend_factory, kind):
    b = insecure_backend(backend_factory, kind)
    acct = b.add_user()
    c = IMAPConn(b.host, b.port(), source=CLIENT_ADDR)
    caps = c.capabilities()
    # RFC 9051 6.2.3 / 7.2.2: LOGINDISABLED, and no plaintext mechanisms
    assert "LOGINDISABLED" in caps and "STARTTLS" in caps, caps
    assert "AUTH=PLAIN" not in caps and "AUTH=LOGIN" not in caps, caps
    r = c.cmd("LOGIN ", quote(acct.user), " ", quote(acct.password))
    # NO (RFC 9051 6.2.3), [PRIVACYREQUIRED] when a code is given (RFC 5530)
    assert r.status in ("NO", "BAD"), r
    assert r.code_word() in (None, "PRIVACYREQUIRED"), r
    if kind == "tern":
        assert r.status == "NO" and r.code_word() == "PRIVACYREQUIRED", r
    token = base64.b64encode(f"\0{acct.user}\0{acct.password}".encode()).decode()
    r = c.cmd(f"AUTHENTICATE PLAIN {token}")
    assert r.status in ("NO", "BAD"), r
    assert c.cmd("SELECT INBOX").status in ("BAD", "NO")
    # STARTTLS lifts it
    c.ok("STARTTLS")
    c.sock = tls_context().wrap_socket(c.sock, server_hostname="localhost")
    caps = c.capabilities()
    assert "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps, caps
    c.login(acct.user, acct.password)
    c.ok("SELECT INBOX")
    c.logout()


@pytest.mark.parametrize("kind", BACKENDS)
def test_imaps_allows_login_when_plain_is_refused(backend_factory, kind):
    b = insecure_backend(backend_factory, kind)
    acct = b.add_user()
    c = IMAPConn(b.host, b.port("imaps"), tls=True, source=CLIENT_ADDR)
    caps = c.capabilities()
    assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps
    c.login(acct.user, acct.password)
    c.logout()


def test_tern_failed_login_throttle(backend_factory):
    """docs/security.md: after throttle_block_after failures from one
    address, it is refused (NO [UNAVAILABLE]) even with the right password;
    another address still logs in (nobody can lock a user out)."""
    b = backend_factory("tern", auth={"throttle_delay_after": 100, "throttle_block_after": 3})
    acct = b.add_user()
    for i in range(3):
        c = IMAPConn(b.host, b.port(), source="127.0.0.3")
        r = c.cmd("LOGIN ", quote(acct.user), " ", quote("wrong"))
        assert r.status == "NO" and r.code_word() in ("AUTHENTICATIONFAILED", "UNAVAILABLE"), r
        c.close()
    c = IMAPConn(b.host, b.port(), source="127.0.0.3")
    r = c.cmd("LOGIN ", quote(acct.user), " ", quote(acct.password))
    assert r.status == "NO" and r.code_word() == "UNAVAILABLE", r
    c.close()
    c = IMAPConn(b.host, b.port(), source="127.0.0.4")
    c.login(acct.user, acct.password)
    c.logout()
    assert "auth throttled" in b.log() or "throttle" in b.log()


def test_tern_failed_login_delay(backend_factory):
    """After throttle_delay_after failures each further attempt waits
    (logged as "auth delayed"); the answer is still right."""
    b = backend_factory("tern", auth={"throttle_delay_after": 1, "throttle_block_after": 100})
    acct = b.add_user()
    c = IMAPConn(b.host, b.port(), source="127.0.0.5")
    for pw in ("wrong1", "wrong2"):
        r = c.cmd("LOGIN ", quote(acct.user), " ", quote(pw))
        assert r.status == "NO"
    c.close()
    c = IMAPConn(b.host, b.port(), source="127.0.0.5")
    c.login(acct.user, acct.password)
    c.logout()
    assert "auth delayed" in b.log()


def test_tern_auth_failures_per_connection(backend_factory):
    b = backend_factory("tern", limits={"auth_failures": 2},
                        auth={"throttle_delay_after": 100, "throttle_block_after": 100})
    acct = b.add_user()
    c = IMAPConn(b.host, b.port(), source="127.0.0.6")
    r = c.cmd("LOGIN ", quote(acct.user), " ", quote("x"))
    assert r.status == "NO"
    try:
        r = c.cmd("LOGIN ", quote(acct.user), " ", quote("y"))
        assert r.status == "NO"
        assert r.untagged and r.untagged[-1].kind == "BYE" or c.closed(), r
    except Closed as e:
        assert b"BYE" in e.data
    assert c.closed()


def test_tern_login_timeout(backend_factory):
    """limits.login_timeout: a connection that never logs in gets BYE and
    is closed; after login the (30 minute) IMAP timeout applies."""
    b = backend_factory("tern", limits={"login_timeout": "2s"})
    acct = b.add_user()
    c = IMAPConn(b.host, b.port())
    c.sock.settimeout(30)
    data = b""
    try:
        while True:
            chunk = c.sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    assert data.startswith(b"* BYE"), data
    c.close()
    # a logged-in session outlives the login timeout (bounded wait: 4 s)
    c = acct.login()
    c.sock.settimeout(4)
    try:
        got = c.sock.recv(4096)
    except OSError:
        got = b""
    c.sock.settimeout(c.timeout)
    assert b"BYE" not in got
    c.ok("NOOP")
    c.logout()


@pytest.mark.parametrize("kind", BACKENDS)
def test_secure_loopback_by_default(backend_factory, kind):
    """The default: loopback counts as secure (tern's
    plaintext_on_loopback; Dovecot's local == remote address)."""
    b = backend_factory(kind)
    acct = b.add_user()
    c = b.connect()
    caps = c.capabilities()
    assert "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps
    c.login(acct.user, acct.password)
    c.logout()
