"""Several sessions of one user on one mailbox (RFC 9051 5.2, 5.5, 7.5.1;
RFC 3501 5.2, 7.4.1; RFC 2180): each learns of new messages, expunges and
flag changes at its next command, NOOP or IDLE, in the order the RFCs
allow: no untagged EXPUNGE while answering FETCH, STORE or SEARCH;
EXISTS never goes down without EXPUNGE; \\Recent in exactly one session for
IMAP4rev1. Against Dovecot and tern."""
import imapmsgs as M
from imapbackends import backend, imap  # noqa: F401  (fixtures)
from imapclient import Literal


def two(imap, n=3, select_b=True):
    imap.fill([M.plain(f"two{i}") for i in range(1, n + 1)])
    a, b = imap.login(), imap.login()
    a.select()
    if select_b:
        b.select()
    return a, b


def expunges(r):
    return [u.num for u in r.of("EXPUNGE")]


def test_no_expunge_during_fetch_store_search(imap):
    a, b = two(imap, 4)
    b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    # RFC 3501 7.4.1 / RFC 9051 7.5.1: not while answering FETCH, STORE or
    # SEARCH
    for cmd in ("FETCH 1:4 (FLAGS)", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL", "FETCH 3 (UID)",
                "SEARCH UNSEEN", "STORE 4 -FLAGS.SILENT (\\Seen)"):
        r = a.cmd(cmd)
        assert not r.of("EXPUNGE"), (cmd, r)
        assert r.status in ("OK", "NO"), (cmd, r)
    # SEARCH still counts four messages: numbers stay stable
    r = a.ok("SEARCH ALL")
    assert sorted(r.search()) in ([1, 2, 3, 4], [1, 3, 4])
    # NOOP announces the expunge
    r = a.ok("NOOP")
    assert expunges(r) == [2], r
    r = a.ok("FETCH 1:* (UID)")
    assert sorted(r.fetches()) == [1, 2, 3]
    a.logout()
    b.logout()


def test_fetch_of_expunged_unannounced_message(imap):
    """RFC 2180 4.1: a FETCH of a message expunged elsewhere but not yet
    announced: the data, or NO; never other messages' data mixed up."""
    a, b = two(imap, 3)
    uids = {n: int(f["UID"]) for n, f in a.ok("FETCH 1:* (UID)").fetches().items()}
    b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    r = a.cmd("FETCH 1:3 (UID BODY.PEEK[HEADER.FIELDS (Subject)])")
    assert r.status in ("OK", "NO"), r
    for n, f in r.fetches().items():
        if "UID" in f:
            assert int(f["UID"]) == uids[n]
        body = [v for k, v in f.items() if k.startswith("BODY[")]
        if body and body[0]:
            assert body[0] == f"Subject: two{n}\r\n\r\n".encode(), (n, f)
    a.ok("NOOP")
    a.logout()
    b.logout()


def test_new_mail_at_noop_and_exists_monotonic(imap):
    a, b = two(imap, 1)
    last = 1
    for i in range(3):
        b.ok("APPEND INBOX ", Literal(M.plain(f"new{i}")))
        r = a.ok("NOOP")
        ex = [u.num for u in r.of("EXISTS")]
        assert ex, r
        assert all(x >= last for x in ex)
        last = ex[-1]
    assert last == 4
    a.logout()
    b.logout()


def test_flag_changes_seen_by_other_session(imap):
    a, b = two(imap, 2)
    b.ok("STORE 2 +FLAGS.SILENT (\\Answered $Done)")
    r = a.ok("NOOP")
    f = r.fetches()
    # RFC 9051 7.5.2: unsolicited FETCH with the new FLAGS
    assert 2 in f and {"\\Answered", "$Done"} <= set(f[2]["FLAGS"]), r
    a.logout()
    b.logout()


def test_recent_in_exactly_one_session(imap):
    """RFC 3501 2.3.2: \\Recent is set in one session only."""
    a, b = two(imap, 0)
    other = imap.login()
    other.ok("APPEND INBOX ", Literal(M.plain("recent")))
    other.logout()
    ra, rb = a.ok("NOOP"), b.ok("NOOP")
    recent = 0
    for c, r in ((a, ra), (b, rb)):
        rec = [u.num for u in r.of("RECENT")]
        f = c.ok("FETCH 1 (FLAGS)").fetches()[1]
        has = "\\Recent" in f["FLAGS"]
        assert (rec[-1] if rec else 0) in ((1,) if has else (0,)), (r, f)
        recent += has
    assert recent == 1
    # a third session selecting later does not see it as recent either
    c = imap.login()
    r = c.select()
    assert r.one("RECENT").num == 0
    c.logout()
    a.logout()
    b.logout()


def test_examine_session_sees_changes(imap):
    imap.fill([M.plain("e1")])
    a, b = imap.login(), imap.login()
    a.select(examine=True)
    b.select()
    b.ok("APPEND INBOX ", Literal(M.plain("e2")))
    b.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
    r = a.ok("NOOP")
    assert [u.num for u in r.of("EXISTS")][-1:] == [2]
    assert "\\Flagged" in r.fetches().get(1, {}).get("FLAGS", []) or \
        "\\Flagged" in a.ok("FETCH 1 (FLAGS)").fetches()[1]["FLAGS"]
    a.logout()
    b.logout()


def test_uid_commands_may_announce_expunge(imap):
    """RFC 3501 7.4.1: an EXPUNGE MAY be sent during UID FETCH/STORE/SEARCH;
    whenever it comes, the numbers stay consistent."""
    a, b = two(imap, 3)
    uids = {n: int(f["UID"]) for n, f in a.ok("FETCH 1:* (UID)").fetches().items()}
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    r = a.ok(f"UID FETCH {uids[3]} (UID)")
    # the FETCH's number is right for the moment it is sent: 3 before the
    # EXPUNGE of 1, 2 after it
    n = 3
    seen = []
    for u in r.untagged:
        if u.kind == "EXPUNGE":
            assert u.num == 1
            n -= 1
        elif u.kind == "FETCH":
            assert u.num == n and int(u.fetch()["UID"]) == uids[3], r
            seen.append(u.num)
    assert len(seen) == 1
    a.ok("NOOP")
    assert sorted(a.ok("FETCH 1:* (UID)").fetches()) == [1, 2]
    a.logout()
    b.logout()


def test_expunge_then_new_mail_order(imap):
    a, b = two(imap, 3)
    b.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    b.ok("APPEND INBOX ", Literal(M.plain("after")))
    r = a.ok("NOOP")
    # applying the responses in order gives the true state: 2 messages
    n = 3
    for u in r.untagged:
        if u.kind == "EXPUNGE":
            assert 1 <= u.num <= n
            n -= 1
        elif u.kind == "EXISTS":
            assert u.num >= n
            n = u.num
    assert n == 2, r
    a.logout()
    b.logout()


def test_delete_of_mailbox_selected_elsewhere(imap):
    c0 = imap.login()
    c0.ok("CREATE shared-gone")
    c0.logout()
    imap.fill([M.plain("x")], mailbox="shared-gone")
    a, b = imap.login(), imap.login()
    a.select("shared-gone")
    r = b.cmd("DELETE shared-gone")
    assert r.status in ("OK", "NO"), r
    # the selecting session is told (BYE, or NO on its commands) or goes
    # on with what it had; it never crashes the server
    try:
        r = a.cmd("NOOP")
        assert r.status in ("OK", "NO", "BAD"), r
        r = a.cmd("FETCH 1 (UID)")
        assert r.status in ("OK", "NO", "BAD"), r
    except Exception:
        pass
    a.close()
    b.logout()
    c = imap.login()
    c.ok("NOOP")
    c.logout()


def test_many_sessions(imap):
    imap.fill([M.plain("m")])
    conns = [imap.login() for _ in range(12)]
    for c in conns:
        c.select()
    conns[0].ok("APPEND INBOX ", Literal(M.plain("m2")))
    for c in conns[1:]:
        r = c.ok("NOOP")
        assert [u.num for u in r.of("EXISTS")][-1:] == [2]
    for c in conns:
        c.logout()
