"""IDLE (RFC 2177, RFC 9051 6.3.13), ID (RFC 2971) and ENABLE (RFC 5161,
RFC 9051 6.3.1), against Dovecot and tern. (NAMESPACE is in
test_imap_mailboxes.py; SMTP delivery waking IDLE is tern-only, in
test_imap_tern.py.)"""
import imapmsgs as M
from imapbackends import backend, imap  # noqa: F401  (fixtures)
from imapclient import Untagged


def start_idle(c):
    tag = c.next_tag()
    c.send(f"{tag} IDLE\r\n")
    line = c.read_response()
    pre = []
    while line.startswith(b"* "):
        pre.append(line)
        line = c.read_response()
    # RFC 2177 3: a continuation request
    assert line.startswith(b"+"), line
    return tag


def read_until(c, pred, what, limit=50):
    """Read untagged responses (bounded by the socket timeout) until one
    satisfies pred; returns the list read."""
    got = []
    for _ in range(limit):
        u = Untagged(c.read_response())
        got.append(u)
        if pred(u):
            return got
    raise AssertionError(f"no {what} in {got!r}")


def done(c, tag):
    c.send("DONE\r\n")
    r = c.read_tagged(tag)
    assert r.ok, r
    return r


def test_idle_sees_append_expunge_and_flags(imap):
    imap.fill([M.plain("first")])
    c = imap.login()
    c.select()
    tag = start_idle(c)
    other = imap.login()
    other.ok("APPEND INBOX ", __import__("imapclient").Literal(M.plain("second")))
    # RFC 2177: changes are reported while idling
    read_until(c, lambda u: u.kind == "EXISTS" and u.num == 2, "* 2 EXISTS")
    other.select()
    other.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
    read_until(c, lambda u: u.kind == "FETCH" and "\\Flagged" in u.fetch().get("FLAGS", []),
               "FETCH with \\Flagged")
    other.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    other.ok("EXPUNGE")
    read_until(c, lambda u: u.kind == "EXPUNGE" and u.num == 2, "* 2 EXPUNGE")
    other.logout()
    done(c, tag)
    r = c.ok("FETCH 1:* (UID)")
    assert list(r.fetches()) == [1]
    c.logout()


def test_idle_done_case_and_commands_after(imap):
    c = imap.login()
    c.select()
    tag = start_idle(c)
    c.send("done\r\n")   # RFC 2177 is silent on case; both servers take it
    r = c.read_tagged(tag)
    assert r.ok, r
    c.ok("NOOP")
    c.logout()


def test_idle_bad_continuation(imap):
    c = imap.login()
    c.select()
    tag = start_idle(c)
    c.send("NOT DONE\r\n")
    r = c.read_tagged(tag)
    # anything but DONE ends the IDLE with BAD (RFC 2177 / RFC 9051 6.3.13)
    assert r.status == "BAD", r
    c.ok("NOOP")
    c.logout()


def test_idle_in_authenticated_state(imap):
    """IDLE is valid in the authenticated state too (RFC 2177 3)."""
    c = imap.login()
    tag = start_idle(c)
    done(c, tag)
    c.logout()


def test_idle_before_login_refused(imap):
    c = imap.connect()
    r = c.cmd("IDLE")
    assert r.status in ("BAD", "NO"), r
    c.logout()


def test_id(imap):
    c = imap.connect()
    assert "ID" in c.capabilities()
    # RFC 2971 3.1: ID is valid in any state; the answer is ID NIL or a list
    r = c.ok('ID ("name" "tern-tests" "version" "1")')
    v = r.one("ID").values
    assert v == [None] or (isinstance(v[0], list) and len(v[0]) % 2 == 0)
    r = c.ok("ID NIL")
    c.login(imap.user, imap.password)
    c.ok('ID ("name" "again")')
    # a field list with an odd count is malformed (RFC 2971 4: pairs);
    # Dovecot answers OK, tern BAD
    r = c.cmd('ID ("name")')
    assert r.status in (("BAD",) if imap.kind == "tern" else ("BAD", "OK")), r
    c.logout()


def test_enable(imap):
    c = imap.connect()
    # RFC 5161 3.1: ENABLE only in the authenticated state (Dovecot says
    # "OK ENABLE ignored in non-authenticated state" and enables nothing)
    r = c.cmd("ENABLE CONDSTORE")
    if imap.kind == "dovecot" and r.ok:
        assert all(not u.values for u in r.of("ENABLED")), r
    else:
        assert r.status in ("BAD", "NO"), r
    c.login(imap.user, imap.password)
    # an unknown extension is ignored: OK, and no ENABLED of it
    r = c.ok("ENABLE X-NO-SUCH-THING")
    for u in r.of("ENABLED"):
        assert "X-NO-SUCH-THING" not in u.values
    c.logout()


def test_enable_rev2_changes_responses(imap):
    imap.need("IMAP4REV2")
    imap.fill([M.plain("r")])
    c = imap.login()
    r = c.ok("ENABLE IMAP4rev2")
    assert "IMAP4REV2" in {x.upper() for x in r.one("ENABLED").values}
    r = c.select()
    # RFC 9051 appendix E: no RECENT, no \Recent
    assert not r.of("RECENT")
    f = c.ok("FETCH 1 (FLAGS)").fetches()[1]
    assert "\\Recent" not in f["FLAGS"]
    # SEARCH answers ESEARCH (also in test_imap_search)
    assert c.ok("SEARCH ALL").of("ESEARCH")
    # ENABLE after a SELECT is allowed but may not change the state
    # (RFC 5161 3.1: "MUST NOT be issued ... selected" -> BAD allowed)
    c.logout()


def test_noop_reports_changes(imap):
    imap.fill([M.plain("n1")])
    a, b = imap.login(), imap.login()
    a.select()
    b.select()
    b.ok("APPEND INBOX ", __import__("imapclient").Literal(M.plain("n2")))
    r = a.ok("NOOP")
    assert [u.num for u in r.of("EXISTS")][-1:] == [2]
    a.logout()
    b.logout()


def test_idle_quiet_when_nothing_changes(imap):
    c = imap.login()
    c.select()
    tag = start_idle(c)
    # the server must not time out a fresh IDLE within seconds; nothing
    # arrives when nothing changes (bounded by the socket timeout)
    c.sock.settimeout(1.5)
    try:
        data = c.sock.recv(100)
    except OSError:
        data = b""
    c.sock.settimeout(c.timeout)
    assert data == b"" or data.startswith(b"* OK"), data
    done(c, tag)
    c.logout()
