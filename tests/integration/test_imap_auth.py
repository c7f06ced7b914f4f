"""IMAP connection states, CAPABILITY, LOGIN, AUTHENTICATE (PLAIN, LOGIN,
SASL-IR), LOGOUT, NOOP, STARTTLS and implicit TLS (RFC 9051 6.1-6.2,
RFC 3501 6.1-6.2, RFC 4959, RFC 4616), against Dovecot and tern.

Failed logins here stay below the throttles' thresholds (the server is
shared by the module); throttling itself is in test_imap_security.py."""
import base64
import imaplib

import pytest

from imapbackends import backend, imap  # noqa: F401  (fixtures)
from imapclient import IMAPConn, Literal, quote, tls_context

# a few failed logins happen here on purpose; the address throttle (its own
# tests are in test_imap_security.py) must not slow the rest of the module
TERN_KW = {"auth": {"throttle_delay_after": 1000, "throttle_block_after": 1000}}


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def test_greeting_and_capability_before_login(imap):
    c = imap.connect()
    # RFC 9051 7.1.1/7.1.4: the greeting is an untagged OK (or PREAUTH/BYE)
    assert c.greeting.startswith(b"* OK"), c.greeting
    r = c.ok("CAPABILITY")
    caps = {x.upper() for x in r.one("CAPABILITY").values}
    # RFC 3501 6.1.1 / RFC 9051 6.1.1: IMAP4rev1 (or IMAP4rev2) is listed
    assert "IMAP4REV1" in caps or "IMAP4REV2" in caps
    # on a plain connection to loopback (secure per the default config) the
    # server offers STARTTLS and plaintext SASL, and not LOGINDISABLED
    assert "STARTTLS" in caps and "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps
    if imap.kind == "tern":
        assert {"IMAP4REV2", "SASL-IR", "LITERAL+", "ID", "ENABLE", "IDLE", "AUTH=LOGIN"} <= caps
    # a CAPABILITY response code in the greeting must agree with CAPABILITY
    u = c.greeting
    if b"[CAPABILITY " in u:
        inner = u.split(b"[CAPABILITY ", 1)[1].split(b"]", 1)[0].decode().upper().split()
        assert set(inner) == caps
    c.logout()


def test_capability_after_login(imap):
    caps = imap.caps()
    assert "IMAP4REV1" in caps
    assert "STARTTLS" not in caps and not any(x.startswith("AUTH=") for x in caps)
    if imap.kind == "tern":
        from imapbackends import TERN_REQUIRED
        assert TERN_REQUIRED <= caps, TERN_REQUIRED - caps
        assert any(x.startswith("APPENDLIMIT=") for x in caps)


def test_login_ok_and_state(imap):
    c = imap.connect()
    # RFC 9051 6.3: SELECT is only valid in the authenticated state
    r = c.cmd("SELECT INBOX")
    assert r.status in ("BAD", "NO"), r
    r = c.cmd("LOGIN ", quote(imap.user), " ", quote(imap.password))
    assert r.ok, r
    # RFC 9051 6.2.3: a CAPABILITY code may ride on the OK; if it does, it
    # lists the capabilities after login
    if r.code and r.code.upper().startswith("CAPABILITY"):
        assert "IMAP4REV1" in r.code.upper().split()
    # LOGIN in the authenticated state is a protocol error (BAD)
    r = c.cmd("LOGIN ", quote(imap.user), " ", quote(imap.password))
    assert r.status == "BAD", r
    c.ok("NOOP")
    c.logout()


def test_login_literals_and_atoms(imap):
    """The user name and password are astrings: quoted, literal, or atom."""
    c = imap.connect()
    c.ok("LOGIN ", Literal(imap.user), " ", Literal(imap.password))
    c.logout()
    c = imap.connect()
    if "LITERAL+" in c.capabilities():
        c.ok("LOGIN ", Literal(imap.user, plus=True), " ", Literal(imap.password, plus=True))
    c.logout()


def test_authenticate_plain_with_continuation(imap):
    c = imap.connect()
    tag = c.next_tag()
    c.send(f"{tag} AUTHENTICATE PLAIN\r\n")
    line = c.read_response()
    # RFC 9051 6.2.2: an empty challenge is "+ " (possibly "+" alone)
    assert line.rstrip(b"\r\n") in (b"+", b"+ "), line
    c.send(b64(f"\0{imap.user}\0{imap.password}") + "\r\n")
    r = c.read_tagged(tag)
    assert r.ok, r
    c.ok("SELECT INBOX")
    c.logout()


def test_authenticate_plain_sasl_ir(imap):
    c = imap.connect()
    assert "SASL-IR" in c.capabilities()
    r = c.cmd(f"AUTHENTICATE PLAIN {b64(chr(0) + imap.user + chr(0) + imap.password)}")
    assert r.ok, r
    c.ok("SELECT INBOX")
    c.logout()


def test_authenticate_plain_with_authzid_equal_to_user(imap):
    # RFC 4616 2: an authzid equal to the authcid is the same identity
    c = imap.connect()
    r = c.cmd(f"AUTHENTICATE PLAIN {b64(imap.user + chr(0) + imap.user + chr(0) + imap.password)}")
    assert r.ok, r
    c.logout()


def test_authenticate_login(imap):
    c = imap.connect()
    tag = c.next_tag()
    c.send(f"{tag} AUTHENTICATE LOGIN\r\n")
    assert c.read_response().startswith(b"+")
    c.send(b64(imap.user) + "\r\n")
    assert c.read_response().startswith(b"+")
    c.send(b64(imap.password) + "\r\n")
    assert c.read_tagged(tag).ok
    c.logout()


def test_authenticate_cancelled(imap):
    c = imap.connect()
    tag = c.next_tag()
    c.send(f"{tag} AUTHENTICATE PLAIN\r\n")
    assert c.read_response().startswith(b"+")
    # RFC 9051 6.2.2: "*" cancels; the server answers BAD
    c.send("*\r\n")
    r = c.read_tagged(tag)
    assert r.status == "BAD", r
    c.ok("NOOP")
    assert c.cmd("SELECT INBOX").status in ("BAD", "NO")
    c.logout()


def test_logout_and_noop(imap):
    c = imap.login()
    r = c.ok("NOOP")
    assert r.status == "OK"
    r = c.cmd("LOGOUT")
    # RFC 9051 6.1.3: untagged BYE before the tagged OK, then the close
    assert r.ok and r.untagged[-1].kind == "BYE", r
    assert c.closed()


def test_logout_before_login(imap):
    c = imap.connect()
    r = c.cmd("LOGOUT")
    assert r.ok and r.one("BYE")
    assert c.closed()


def test_starttls_then_login(imap):
    c = imap.connect()
    c.ok("STARTTLS")
    assert not c.buf, "data after the STARTTLS OK"
    c.sock = tls_context().wrap_socket(c.sock, server_hostname="localhost")
    caps = c.capabilities()
    # RFC 9051 6.2.1: the client must discard cached capabilities; after
    # TLS there is no STARTTLS any more
    assert "STARTTLS" not in caps
    assert "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps
    # and STARTTLS again is refused
    assert c.cmd("STARTTLS").status in ("BAD", "NO")
    c.login(imap.user, imap.password)
    c.ok("SELECT INBOX")
    c.logout()


def test_starttls_after_login_refused(imap):
    c = imap.login()
    # RFC 9051 6.2.1: STARTTLS is valid only in the not-authenticated state
    assert c.cmd("STARTTLS").status == "BAD"
    c.ok("NOOP")
    c.logout()


def test_starttls_command_injection(imap):
    """Bytes pipelined after STARTTLS before the handshake must be dropped,
    never run inside the TLS session (RFC 9051 6.2.1, the "STARTTLS
    command injection" class of bugs)."""
    c = imap.connect()
    tag = c.next_tag()
    c.send(f"{tag} STARTTLS\r\nX1 CAPABILITY\r\n")
    line = c.read_response()
    assert line.startswith(tag.encode() + b" OK"), line
    try:
        c.sock = tls_context().wrap_socket(c.sock, server_hostname="localhost")
    except OSError:
        return   # the server refused the injected bytes by dropping us: fine
    c.send("X2 NOOP\r\n")
    got = c.read_response()
    # the first response inside TLS is the answer to X2, not to X1
    while got.startswith(b"* "):
        assert not got.startswith(b"* CAPABILITY"), got
        got = c.read_response()
    assert got.startswith(b"X2 "), got
    c.close()


def test_imaps(imap):
    c = imap.connect("imaps")
    assert c.greeting.startswith(b"* OK")
    assert "STARTTLS" not in c.capabilities()
    c.login(imap.user, imap.password)
    c.ok("SELECT INBOX")
    c.logout()
    # and with Python's imaplib
    m = imap.imaplib("imaps")
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_command_before_greeting_read(imap):
    """A client may pipeline its first commands behind the greeting."""
    c = IMAPConn(imap.backend.host, imap.backend.port(), greeting=False)
    c.send(f"a1 LOGIN {quote(imap.user)} {quote(imap.password)}\r\na2 SELECT INBOX\r\n")
    assert c.read_response().startswith(b"* OK")
    assert c.read_tagged("a1").ok
    assert c.read_tagged("a2").ok
    c.logout()


# ---- failed logins last: Dovecot's auth penalty then delays the module's
# later logins (tests run in file order per backend)


def test_login_wrong_password(imap):
    c = imap.connect()
    r = c.cmd("LOGIN ", quote(imap.user), " ", quote("not the password"))
    # RFC 9051 6.2.3: NO; RFC 5530: [AUTHENTICATIONFAILED] when a code is sent
    assert r.status == "NO", r
    assert r.code_word() in (None, "AUTHENTICATIONFAILED", "UNAVAILABLE"), r
    # still not authenticated
    assert c.cmd("SELECT INBOX").status in ("BAD", "NO")
    c.ok("LOGIN ", quote(imap.user), " ", quote(imap.password))
    c.logout()


def test_authenticate_bad_base64_and_unknown_mechanism(imap):
    c = imap.connect()
    tag = c.next_tag()
    c.send(f"{tag} AUTHENTICATE PLAIN\r\n")
    assert c.read_response().startswith(b"+")
    c.send("!!!not base64!!!\r\n")
    r = c.read_tagged(tag)
    # RFC 9051 6.2.2: a response that cannot be decoded is rejected (BAD)
    assert r.status in ("BAD", "NO"), r
    # an unknown mechanism: NO (RFC 9051 6.2.2: "unsupported authentication mechanism")
    r = c.cmd("AUTHENTICATE X-NO-SUCH-MECH")
    assert r.status in ("NO", "BAD"), r
    c.logout()


def test_imaplib_login_and_capabilities(imap):
    m = imap.backend.imaplib()
    assert "IMAP4REV1" in m.capabilities
    typ, _ = m.login(imap.user, imap.password)
    assert typ == "OK"
    typ, data = m.capability()
    assert typ == "OK" and b"IMAP4rev1" in data[0] or b"IMAP4REV1" in data[0].upper()
    m.logout()
    m = imap.backend.imaplib()
    with pytest.raises(imaplib.IMAP4.error):
        m.login(imap.user + "x", imap.password)
    m.logout()


def test_login_unknown_user_same_as_wrong_password(imap):
    """The answer must not tell whether the account exists."""
    c = imap.connect()
    r1 = c.cmd("LOGIN ", quote("nobody-here@example.test"), " ", quote("x"))
    c.close()
    assert r1.status == "NO"
    assert r1.code_word() in (None, "AUTHENTICATIONFAILED", "UNAVAILABLE")
