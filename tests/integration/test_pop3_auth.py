"""POP3 AUTHORIZATION state (RFC 1939 4, 7; RFC 2449 CAPA and response
codes; RFC 2595 STLS; RFC 5034 AUTH; RFC 3206): greeting, CAPA in each
state, USER/PASS, APOP with the digest computed here, AUTH PLAIN and LOGIN
with and without initial response, plaintext only over TLS or loopback,
failed logins, pop3s, and commands in the wrong state."""
import base64
import poplib

import pytest

from ternserver import servers, client_tls_context  # noqa: F401
from pop3util import USER, PASSWORD, raw, apop_digest

LISTENERS = ("smtp", "pop3", "pop3s", "imap")


@pytest.fixture
def srv(servers):
    s = servers.make(listeners=LISTENERS)
    s.add_user(USER, PASSWORD)
    s.add_user("bob@example.test", "bob secret", apop=True)
    return s.start()


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def capa(conn):
    status, body = conn.cmd_multi("CAPA")
    assert status.startswith(b"+OK"), status
    return [l for l in body.decode().split("\r\n") if l]


def test_greeting_has_an_apop_timestamp(srv):
    with raw(srv) as c:
        g = c.greeting.decode()
        assert g.startswith("+OK ")
        # RFC 1939 7: a msg-id "<...@host>" in the greeting
        ts = g[g.index("<"):g.index(">") + 1]
        assert "@" in ts and ts.endswith("@mx.example.test>")
    with raw(srv) as c2:
        # unique per connection
        assert c2.greeting.decode() != g


def test_capa_in_each_state(srv):
    with raw(srv) as c:
        caps = capa(c)
        for cap in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
                    "EXPIRE NEVER", "USER", "SASL PLAIN LOGIN", "STLS"):
            assert cap in caps, caps
        assert any(l.startswith("IMPLEMENTATION ") for l in caps)
        c.starttls()
        caps = capa(c)
        # RFC 2595 4: no STLS once TLS is on
        assert "STLS" not in caps and "USER" in caps and "SASL PLAIN LOGIN" in caps
        c.login()
        caps = capa(c)
        # in TRANSACTION: no login mechanisms
        assert "TOP" in caps and "UIDL" in caps and "PIPELINING" in caps
        assert "USER" not in caps and not any(l.startswith("SASL") for l in caps)
        assert c.cmd("QUIT").startswith(b"+OK")


def test_poplib_capa_pop3s(srv):
    p = srv.pop3("pop3s")
    caps = p.capa()
    assert "STLS" not in caps and "USER" in caps and caps["SASL"] == ["PLAIN", "LOGIN"]
    p.user(USER)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    assert p.stat() == (0, 0)
    p.quit()


def test_user_pass(srv):
    p = srv.pop3()
    assert p.user(USER).startswith(b"+OK")
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("wrong")
    # RFC 3206 5
    assert b"[AUTH]" in e.value.args[0]
    # a USER for an unknown account looks like any other
    assert p.user("nobody@example.test").startswith(b"+OK")
    with pytest.raises(poplib.error_proto):
        p.pass_(PASSWORD)
    p.user(USER.upper())
    # the password keeps its space (RFC 1939 7: the rest of the line)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    assert p.stat() == (0, 0)
    p.quit()


def test_pass_needs_user(srv):
    with raw(srv) as c:
        assert c.cmd(f"PASS {PASSWORD}").startswith(b"-ERR")
        # USER then another command: the USER is forgotten
        assert c.cmd(f"USER {USER}").startswith(b"+OK")
        assert c.cmd("CAPA").startswith(b"+OK")
        c.multi()
        assert c.cmd(f"PASS {PASSWORD}").startswith(b"-ERR")
        assert c.cmd(f"USER {USER}").startswith(b"+OK")
        assert c.cmd(f"PASS {PASSWORD}").startswith(b"+OK")


def test_plaintext_needs_tls_off_loopback(servers):
    srv = servers.make(listeners=LISTENERS, plaintext_on_loopback=False)
    srv.add_user(USER, PASSWORD)
    srv.start()
    with raw(srv) as c:
        caps = capa(c)
        assert "STLS" in caps and "USER" not in caps
        assert not any(l.startswith("SASL") for l in caps)
        r = c.cmd(f"USER {USER}")
        assert r.startswith(b"-ERR") and b"STLS" in r, r
        r = c.cmd("AUTH PLAIN " + b64(f"\0{USER}\0{PASSWORD}"))
        assert r.startswith(b"-ERR") and b"STLS" in r, r
        # bare AUTH lists nothing usable
        status, body = c.cmd_multi("AUTH")
        assert status.startswith(b"+OK") and body == b""
        c.starttls()
        assert "USER" in capa(c)
        c.login()
        assert c.cmd("STAT") == b"+OK 0 0"
    # implicit TLS is secure from the start
    p = srv.pop3("pop3s")
    p.user(USER)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    p.quit()


def test_stls_rules(srv):
    with raw(srv) as c:
        c.starttls()
        assert c.cmd("STLS").startswith(b"-ERR")
        c.login()
        assert c.cmd("QUIT").startswith(b"+OK")
    with raw(srv, "pop3s") as c:
        assert c.cmd("STLS").startswith(b"-ERR")
    with raw(srv) as c:
        c.login()
        # RFC 2595 4: only in AUTHORIZATION
        assert c.cmd("STLS").startswith(b"-ERR")
        assert c.cmd("STAT").startswith(b"+OK")


def test_stls_drops_pipelined_input(srv):
    # RFC 2595 / CVE-2011-0411: bytes sent with STLS in the clear are not
    # taken as commands inside TLS
    with raw(srv) as c:
        c.send(f"STLS\r\nUSER {USER}\r\n")
        assert c.line().startswith(b"+OK")
        c.sock = client_tls_context().wrap_socket(c.sock)
        assert c.cmd(f"PASS {PASSWORD}").startswith(b"-ERR")


def test_apop(srv):
    with raw(srv) as c:
        digest = apop_digest(c.greeting, "bob secret")
        assert c.cmd(f"APOP bob@example.test {digest}").startswith(b"+OK")
        assert c.cmd("STAT") == b"+OK 0 0"
        assert c.cmd("QUIT").startswith(b"+OK")
    with raw(srv) as c:
        # the digest of another greeting's timestamp is no good
        r = c.cmd(f"APOP bob@example.test {digest}")
        assert r.startswith(b"-ERR [AUTH]"), r
    with raw(srv) as c:
        # upper-case hex is the same digest
        d = apop_digest(c.greeting, "bob secret").upper()
        assert c.cmd(f"APOP Bob@Example.Test {d}").startswith(b"+OK")
    with raw(srv) as c:
        # an account that did not opt in has no APOP secret
        r = c.cmd(f"APOP {USER} {apop_digest(c.greeting, PASSWORD)}")
        assert r.startswith(b"-ERR [AUTH]"), r
    with raw(srv) as c:
        assert c.cmd("APOP bob@example.test nothex").startswith(b"-ERR")
    p = srv.pop3()
    assert p.apop("bob@example.test", "bob secret").startswith(b"+OK")
    p.quit()


def test_apop_works_without_tls(servers):
    srv = servers.make(listeners=LISTENERS, plaintext_on_loopback=False)
    srv.add_user("bob@example.test", "bob secret", apop=True)
    srv.start()
    with raw(srv) as c:
        assert c.cmd(f"APOP bob@example.test {apop_digest(c.greeting, 'bob secret')}"
                     ).startswith(b"+OK")


def test_auth_plain(srv):
    # RFC 5034 4: with an initial response
    with raw(srv) as c:
        assert c.cmd("AUTH PLAIN " + b64(f"\0{USER}\0{PASSWORD}")).startswith(b"+OK")
        assert c.cmd("STAT").startswith(b"+OK")
    # without: an empty challenge "+ "
    with raw(srv) as c:
        assert c.cmd("AUTH PLAIN") == b"+ "
        assert c.cmd(b64(f"{USER}\0{USER}\0{PASSWORD}")).startswith(b"+OK")
    # "=": an empty initial response, which is no PLAIN message (RFC
    # 4616 2); the session goes on
    with raw(srv) as c:
        assert c.cmd("auth plain =").startswith(b"-ERR")
        assert c.cmd("AUTH PLAIN " + b64(f"\0{USER}\0{PASSWORD}")).startswith(b"+OK")
    # another authorization identity is refused
    with raw(srv) as c:
        r = c.cmd("AUTH PLAIN " + b64(f"bob@example.test\0{USER}\0{PASSWORD}"))
        assert r.startswith(b"-ERR [AUTH]"), r
    with raw(srv) as c:
        r = c.cmd("AUTH PLAIN " + b64(f"\0{USER}\0wrong"))
        assert r.startswith(b"-ERR [AUTH]"), r


def test_auth_login_cancel_and_errors(srv):
    with raw(srv) as c:
        assert c.cmd("AUTH LOGIN") == b"+ " + b64("Username:").encode()
        assert c.cmd(b64(USER)) == b"+ " + b64("Password:").encode()
        assert c.cmd(b64(PASSWORD)).startswith(b"+OK")
    with raw(srv) as c:
        assert c.cmd("AUTH LOGIN " + b64(USER)).startswith(b"+ ")
        assert c.cmd(b64(PASSWORD)).startswith(b"+OK")
    with raw(srv) as c:
        assert c.cmd("AUTH PLAIN").startswith(b"+ ")
        # RFC 5034 4: "*" cancels
        assert c.cmd("*").startswith(b"-ERR")
        assert c.cmd("AUTH PLAIN !!!").startswith(b"-ERR")
        assert c.cmd("AUTH CRAM-MD5").startswith(b"-ERR")
        status, body = c.cmd_multi("AUTH")
        assert status.startswith(b"+OK") and body.split() == [b"PLAIN", b"LOGIN"]
        # the session goes on
        c.login()


def test_auth_failures_close_the_connection(srv):
    with raw(srv) as c:
        for i in range(2):
            c.cmd(f"USER {USER}")
            assert c.cmd("PASS wrong").startswith(b"-ERR [AUTH]")
        c.cmd(f"USER {USER}")
        # the third failure (limits.auth_failures) ends the session
        assert c.cmd("PASS wrong").startswith(b"-ERR")
        assert c.closed()


def test_throttled_address_gets_login_delay(servers):
    srv = servers.make(listeners=LISTENERS,
                       auth={"throttle_delay_after": 100, "throttle_block_after": 2})
    srv.add_user(USER, PASSWORD)
    srv.start()
    for i in range(2):
        with raw(srv) as c:
            c.cmd(f"USER {USER}")
            assert c.cmd("PASS wrong").startswith(b"-ERR [AUTH]")
    with raw(srv) as c:
        c.cmd(f"USER {USER}")
        # RFC 2449 8.1.1: even the right password is refused for a while
        r = c.cmd(f"PASS {PASSWORD}")
        assert r.startswith(b"-ERR [LOGIN-DELAY]"), r


def test_commands_in_the_wrong_state(srv):
    with raw(srv) as c:
        for cmd in ("STAT", "LIST", "UIDL", "RETR 1", "DELE 1", "TOP 1 1", "RSET", "NOOP"):
            r = c.cmd(cmd)
            assert r.startswith(b"-ERR"), (cmd, r)
        c.login()
        for cmd in (f"USER {USER}", f"PASS {PASSWORD}", "AUTH PLAIN", "STLS",
                    "APOP a 0123456789abcdef0123456789abcdef"):
            r = c.cmd(cmd)
            assert r.startswith(b"-ERR"), (cmd, r)
        assert c.cmd("NOOP") == b"+OK"
        assert c.cmd("QUIT").startswith(b"+OK")
        assert c.closed()


def test_quit_before_login(srv):
    with raw(srv) as c:
        assert c.cmd("QUIT").startswith(b"+OK")
        assert c.closed()


def test_imap_login_unaffected(srv):
    # a POP3 session of the user does not keep IMAP out
    with raw(srv) as c:
        c.login()
        i = srv.imap()
        i.login(USER, PASSWORD)
        assert i.select("INBOX")[0] == "OK"
        i.logout()
        assert c.cmd("STAT").startswith(b"+OK")
