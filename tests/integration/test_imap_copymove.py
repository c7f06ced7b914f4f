"""COPY, MOVE, EXPUNGE and their UID forms (RFC 9051 6.4.3, 6.4.7, 6.4.8,
6.4.9; RFC 3501 6.4.3, 6.4.7; UIDPLUS RFC 4315: COPYUID, UID EXPUNGE;
MOVE RFC 6851), against Dovecot and tern."""
import pytest

import imapmsgs as M
from imapbackends import backend, imap  # noqa: F401  (fixtures)
from imapclient import expand_set


@pytest.fixture
def box(imap):
    imap.fill([M.plain(f"cm{i}", body=f"body {i}\r\n") for i in range(1, 6)])
    c = imap.login()
    c.select()
    c.uids = {n: int(f["UID"]) for n, f in c.ok("FETCH 1:* (UID)").fetches().items()}
    c.acct = imap
    yield c
    c.logout()


def subjects(c, mailbox):
    o = c.acct.login()
    o.select(mailbox, examine=True)
    r = o.cmd("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = []
    for n, f in sorted(r.fetches().items()):
        out.append(list(f.values())[0].split(b":", 1)[1].strip().decode())
    o.logout()
    return out


def count(c, mailbox):
    r = c.ok(f"STATUS {mailbox} (MESSAGES)")
    return int(r.one("STATUS").values[1][1])


def test_copy_and_copyuid(box):
    box.ok("STORE 2 +FLAGS.SILENT (\\Flagged $Kw)")
    r = box.ok("COPY 2:3 Archive")
    assert count(box, "Archive") == 2
    assert subjects(box, "Archive") == ["cm2", "cm3"]
    # RFC 4315 3: [COPYUID uidvalidity source-uids dest-uids]
    if "UIDPLUS" in box.acct.caps():
        word, uidv, src, dst = r.code.split()
        assert word.upper() == "COPYUID"
        assert expand_set(src) == [box.uids[2], box.uids[3]]
        assert len(expand_set(dst)) == 2
        st = box.ok("STATUS Archive (UIDVALIDITY)").one("STATUS").values[1]
        assert st[1] == uidv
    # flags and keywords are copied (RFC 9051 6.4.7); the source keeps its
    # messages
    o = box.acct.login()
    o.select("Archive", examine=True)
    f = o.ok("FETCH 1 (FLAGS)").fetches()[1]["FLAGS"]
    assert "\\Flagged" in f and "$Kw" in f
    o.logout()
    assert count(box, "INBOX") == 5


def test_copy_sets_recent_in_destination(box):
    box.ok("COPY 1 Archive")
    o = box.acct.login()
    r = o.select("Archive")
    # RFC 3501 6.4.7: \Recent SHOULD be set on the copy
    assert r.one("RECENT").num in (0, 1)
    o.logout()


def test_uid_copy(box):
    u = box.uids
    r = box.ok(f"UID COPY {u[4]},{u[1]},{u[5] + 1000} Trash")
    assert count(box, "Trash") == 2
    if "UIDPLUS" in box.acct.caps():
        _, _, src, dst = r.code.split()
        # the source set names the UIDs copied (in the order that maps to
        # the destination set), the nonexistent one left out
        assert sorted(expand_set(src)) == [u[1], u[4]]


def test_copy_to_missing_mailbox(box):
    r = box.cmd("COPY 1 no-such-box")
    # RFC 9051 6.4.7: NO [TRYCREATE]
    assert r.status == "NO" and r.code_word() == "TRYCREATE", r


def test_copy_bad_set(box):
    assert box.cmd("COPY 9 Archive").status in ("BAD", "NO")
    assert box.cmd("COPY 1").status == "BAD"
    assert count(box, "Archive") == 0


def test_expunge_responses(box):
    box.ok("STORE 1,3,5 +FLAGS.SILENT (\\Deleted)")
    r = box.ok("EXPUNGE")
    # RFC 9051 7.5.1: each EXPUNGE decrements the numbers after it, so the
    # numbers reported must describe 1,3,5 as they are removed one by one
    nums = [u.num for u in r.of("EXPUNGE")]
    remaining = [1, 2, 3, 4, 5]
    for n in nums:
        remaining.pop(n - 1)
    assert remaining == [2, 4], nums
    r = box.ok("FETCH 1:* (UID)")
    assert sorted(int(f["UID"]) for f in r.fetches().values()) == [box.uids[2], box.uids[4]]


def test_uid_expunge(box):
    box.acct.need("UIDPLUS")
    u = box.uids
    box.ok("STORE 1:4 +FLAGS.SILENT (\\Deleted)")
    r = box.ok(f"UID EXPUNGE {u[2]}:{u[3]}")
    # RFC 4315 2.1: only the given UIDs that are \Deleted go
    assert sorted(u.num for u in r.of("EXPUNGE")) in ([2, 2], [2, 3])
    r = box.ok("FETCH 1:* (UID FLAGS)")
    left = sorted(int(f["UID"]) for f in r.fetches().values())
    assert left == [u[1], u[4], u[5]]


def test_move(box):
    box.acct.need("MOVE")
    u = box.uids
    box.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
    r = box.ok("MOVE 2:3 Archive")
    # RFC 6851 3.3: EXPUNGE responses for the moved messages; COPYUID in an
    # untagged OK before them (or in the tagged OK)
    assert len(r.of("EXPUNGE")) == 2
    if "UIDPLUS" in box.acct.caps():
        codes = [x.code for x in r.untagged if x.kind == "OK" and x.code] + [r.code or ""]
        cu = [x for x in codes if x.upper().startswith("COPYUID")]
        assert cu, r
        assert expand_set(cu[0].split()[2]) == [u[2], u[3]]
        first_ok = next(i for i, x in enumerate(r.untagged) if x.code and x.code.upper().startswith("COPYUID")) \
            if any(x.code and x.code.upper().startswith("COPYUID") for x in r.untagged) else None
        first_exp = next(i for i, x in enumerate(r.untagged) if x.kind == "EXPUNGE")
        if first_ok is not None:
            assert first_ok < first_exp
    assert count(box, "INBOX") == 3 and count(box, "Archive") == 2
    o = box.acct.login()
    o.select("Archive", examine=True)
    f = o.ok("FETCH 1:2 (FLAGS)").fetches()
    assert "\\Seen" in f[1]["FLAGS"]
    o.logout()


def test_uid_move(box):
    box.acct.need("MOVE")
    u = box.uids
    r = box.ok(f"UID MOVE {u[5]} Trash")
    assert [x.num for x in r.of("EXPUNGE")] == [5]
    assert subjects(box, "Trash") == ["cm5"]
    r = box.cmd(f"UID MOVE {u[1]} nowhere")
    assert r.status == "NO" and r.code_word() == "TRYCREATE"
    assert count(box, "INBOX") == 4


def test_move_within_same_mailbox(box):
    box.acct.need("MOVE")
    r = box.cmd("MOVE 1 INBOX")
    # moving into the same mailbox: RFC 6851 says nothing special; either
    # refused or done (the message gets a new UID); never lost
    assert r.status in ("OK", "NO", "BAD"), r
    assert count(box, "INBOX") == 5


def test_expunge_in_other_session_then_copy(box):
    """A message expunged by another session but not yet announced here
    may still be copied or give NO (RFC 9051 7.5.1 / RFC 2180 4.4)."""
    other = box.acct.login()
    other.select()
    other.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    other.ok("EXPUNGE")
    other.logout()
    r = box.cmd("COPY 1 Junk")
    assert r.status in ("OK", "NO"), r
    box.ok("NOOP")


def test_copymove_with_imaplib(imap):
    imap.fill([M.plain("lib1"), M.plain("lib2")])
    m = imap.imaplib()
    m.select("INBOX")
    typ, data = m.copy("1", "Drafts")
    assert typ == "OK"
    if "MOVE" in imap.caps():
        typ, data = m._simple_command("MOVE", "2", "Drafts")
        assert typ == "OK"
    m.store("1", "+FLAGS", "\\Deleted")
    typ, data = m.expunge()
    # (imaplib also returns the EXPUNGE that MOVE caused)
    assert typ == "OK" and data[-1] == b"1"
    m.logout()
