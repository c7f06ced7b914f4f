"""STORE and UID STORE (RFC 9051 6.4.6, 6.4.9; RFC 3501 6.4.6, 6.4.8):
FLAGS, +FLAGS, -FLAGS and their .SILENT forms, keywords and
PERMANENTFLAGS, against Dovecot and tern."""
import pytest

import imapmsgs as M
from imapbackends import backend, imap  # noqa: F401  (fixtures)


@pytest.fixture
def box(imap):
    imap.fill([M.plain(f"s{i}") for i in range(5)])
    c = imap.login()
    c.select()
    yield c
    c.logout()


def flags_of(c, seq="1:*"):
    """{seq: flags} without \\Recent (this session is the first to select)."""
    return {n: set(f["FLAGS"]) - {"\\Recent"}
            for n, f in c.ok(f"FETCH {seq} (FLAGS)").fetches().items()}


def fl(r, n):
    return set(r.fetches()[n]["FLAGS"]) - {"\\Recent"}


def test_store_forms(box):
    r = box.ok("STORE 1 FLAGS (\\Seen \\Flagged)")
    # RFC 9051 6.4.6: the untagged FETCH carries the new flags
    assert fl(r, 1) == {"\\Seen", "\\Flagged"}
    r = box.ok("STORE 1 +FLAGS (\\Answered)")
    assert fl(r, 1) == {"\\Seen", "\\Flagged", "\\Answered"}
    r = box.ok("STORE 1 -FLAGS (\\Seen \\Draft)")
    assert fl(r, 1) == {"\\Flagged", "\\Answered"}
    r = box.ok("STORE 1 FLAGS ()")
    assert fl(r, 1) == set()
    # without parentheses (RFC 9051 9: store-att-flags allows a flag list
    # without parens)
    r = box.ok("STORE 1 +FLAGS \\Deleted \\Seen")
    assert fl(r, 1) == {"\\Deleted", "\\Seen"}


def test_store_silent(box):
    r = box.ok("STORE 1:3 +FLAGS.SILENT (\\Flagged)")
    # RFC 9051 6.4.6: .SILENT: no untagged FETCH for this session's change
    assert not r.of("FETCH"), r
    assert flags_of(box, "1:3") == {1: {"\\Flagged"}, 2: {"\\Flagged"}, 3: {"\\Flagged"}}
    r = box.ok("STORE 2 -FLAGS.SILENT (\\Flagged)")
    assert not r.of("FETCH")
    r = box.ok("STORE 3 FLAGS.SILENT (\\Draft)")
    assert not r.of("FETCH")
    assert flags_of(box, "1:3") == {1: {"\\Flagged"}, 2: set(), 3: {"\\Draft"}}


def test_store_ranges(box):
    box.ok("STORE 2:4 +FLAGS.SILENT (\\Seen)")
    box.ok("STORE *,1 +FLAGS.SILENT (\\Answered)")
    f = flags_of(box)
    assert f == {1: {"\\Answered"}, 2: {"\\Seen"}, 3: {"\\Seen"}, 4: {"\\Seen"},
                 5: {"\\Answered"}}


def test_keywords(box):
    r = box.ok("STORE 1 +FLAGS ($Label1 Custom-Word)")
    assert {"$Label1", "Custom-Word"} <= fl(r, 1)
    # RFC 9051 7.3.5: a new keyword makes the server send FLAGS (and
    # PERMANENTFLAGS) again, now or at the next SELECT
    flags = [u for u in r.untagged if u.kind == "FLAGS"]
    if not flags:
        r = box.select()
        flags = r.of("FLAGS")
    assert "$Label1" in flags[-1].values[0] and "Custom-Word" in flags[-1].values[0]
    # keywords are case-insensitive in searches; removing works
    r = box.ok("STORE 1 -FLAGS (custom-word)")
    assert "Custom-Word" not in r.fetches()[1]["FLAGS"] or \
        "custom-word" not in {x.lower() for x in r.fetches()[1]["FLAGS"]}


def test_keywords_kept_after_reconnect(imap):
    imap.fill([M.plain("k")])
    c = imap.login()
    c.select()
    c.ok("STORE 1 +FLAGS.SILENT ($Forwarded Project-X)")
    c.logout()
    c = imap.login()
    r = c.select()
    perm = [u.code for u in r.untagged if u.code and u.code.upper().startswith("PERMANENTFLAGS")]
    assert perm and "\\*" in perm[0]
    assert {"$Forwarded", "Project-X"} <= flags_of(c)[1]
    c.logout()


def test_uid_store(box):
    uids = {n: int(f["UID"]) for n, f in box.ok("FETCH 1:* (UID)").fetches().items()}
    r = box.ok(f"UID STORE {uids[3]} +FLAGS (\\Flagged)")
    got = r.fetches()
    # RFC 9051 6.4.9: the response of UID STORE includes UID
    assert list(got) == [3] and int(got[3]["UID"]) == uids[3]
    assert "\\Flagged" in got[3]["FLAGS"]
    # a UID range with gaps and nonexistent UIDs: only the real ones change
    r = box.ok(f"UID STORE {uids[4]}:{uids[5] + 50} +FLAGS.SILENT (\\Seen)")
    assert flags_of(box, "4:5") == {4: {"\\Seen"}, 5: {"\\Seen"}}
    r = box.ok(f"UID STORE {uids[5] + 100} +FLAGS (\\Seen)")
    assert not r.of("FETCH")


def test_store_recent_refused(box):
    # RFC 3501 2.3.2: \Recent cannot be altered by the client
    r = box.cmd("STORE 1 +FLAGS (\\Recent)")
    assert r.status in ("BAD", "NO", "OK"), r
    f = flags_of(box, "1")[1]
    assert f <= {"\\Recent"}


def test_store_bad_syntax(box):
    # RFC 9051 9: store-att-flags needs a flag list (Dovecot accepts a bare
    # "+FLAGS" and answers OK: lenient, changes nothing)
    r = box.cmd("STORE 1 +FLAGS")
    assert r.status in (("BAD",) if box_kind(box) == "tern" else ("BAD", "OK")), r
    for bad in ("STORE 1 FLAGZ (\\Seen)", "STORE 1 +FLAGS (\\Seen",
                "STORE 1 +FLAGS (\\NotAFlag)", "STORE 99 +FLAGS (\\Seen)", "STORE (\\Seen)"):
        r = box.cmd(bad)
        assert r.status in ("BAD", "NO"), (bad, r)
    box.ok("NOOP")


def box_kind(c):
    return "dovecot" if b"Dovecot" in c.greeting else "tern"


def test_store_with_imaplib(imap):
    imap.fill([M.plain("lib")])
    m = imap.imaplib()
    m.select("INBOX")
    typ, data = m.store("1", "+FLAGS", "(\\Flagged $Work)")
    assert typ == "OK" and b"\\Flagged" in data[0] and b"$Work" in data[0]
    typ, data = m.store("1", "-FLAGS", "($Work)")
    assert b"$Work" not in data[0]
    m.logout()


def test_store_deleted_then_expunge_by_other_flags(box):
    box.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    r = box.ok("EXPUNGE")
    # RFC 9051 7.5.1: each EXPUNGE renumbers: 2 then 3 (was 4)
    assert [u.num for u in r.of("EXPUNGE")] in ([2, 3], [4, 2])
    assert set(flags_of(box)) == {1, 2, 3}
