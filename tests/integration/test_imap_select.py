"""SELECT, EXAMINE, STATUS, CHECK, CLOSE and UNSELECT (RFC 9051 6.3.2,
6.3.3, 6.3.11, 6.4.1, 6.4.2; RFC 3501 6.3.1, 6.3.2, 6.3.10, 6.4.1, 6.4.2;
RFC 3691 UNSELECT; RFC 8438 STATUS=SIZE), against Dovecot and tern."""
import pytest

from imapbackends import backend, imap  # noqa: F401  (fixtures)
from imapclient import Literal
from ternserver import make_message


def selected_data(r):
    """What a SELECT/EXAMINE said: {EXISTS, RECENT, FLAGS, PERMANENTFLAGS,
    UIDVALIDITY, UIDNEXT, access}."""
    out = {"access": r.code_word()}
    for u in r.untagged:
        if u.kind in ("EXISTS", "RECENT"):
            out[u.kind] = u.num
        elif u.kind == "FLAGS":
            out["FLAGS"] = [f for f in u.values[0]]
        elif u.kind == "OK" and u.code:
            word, _, rest = u.code.partition(" ")
            word = word.upper()
            if word == "PERMANENTFLAGS":
                out[word] = rest.strip("()").split()
            elif word in ("UIDVALIDITY", "UIDNEXT", "UNSEEN", "HIGHESTMODSEQ"):
                out[word] = int(rest)
    return out


def test_select_empty_inbox(imap):
    c = imap.login()
    r = c.select("INBOX")
    d = selected_data(r)
    # RFC 3501 6.3.1: FLAGS, EXISTS, RECENT, and OK [UIDVALIDITY] are
    # REQUIRED; UIDNEXT and PERMANENTFLAGS are sent by both servers
    assert d["EXISTS"] == 0 and d["RECENT"] == 0
    assert {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"} <= set(d["FLAGS"])
    assert d["UIDVALIDITY"] > 0 and d["UIDNEXT"] >= 1
    # RFC 9051 6.3.2: a selected mailbox is READ-WRITE unless said otherwise
    assert d["access"] == "READ-WRITE"
    # \* in PERMANENTFLAGS: new keywords may be created
    assert "\\*" in d["PERMANENTFLAGS"]
    c.logout()


def test_select_counts_and_unseen(imap):
    imap.fill([make_message(subject=f"s{i}") for i in range(4)])
    c = imap.login()
    c.select()
    c.ok("STORE 1:2 +FLAGS.SILENT (\\Seen)")
    c.ok("UNSELECT" if "UNSELECT" in imap.caps() else "CLOSE")
    r = c.select()
    d = selected_data(r)
    assert d["EXISTS"] == 4
    # RFC 3501 6.3.1: [UNSEEN n] is the first unseen message's number
    # (optional in RFC 9051, which drops it; when sent it must be right)
    if "UNSEEN" in d:
        assert d["UNSEEN"] == 3
    uidnext = d["UIDNEXT"]
    r = c.ok("UID FETCH 1:* (UID)")
    uids = sorted(int(f["UID"]) for f in r.fetches().values())
    assert len(uids) == 4 and uids[-1] < uidnext
    c.logout()


def test_select_nonexistent_leaves_nothing_selected(imap):
    imap.fill([make_message()])
    c = imap.login()
    c.select()
    r = c.cmd("SELECT no-such-folder")
    # RFC 3501 6.3.1 / RFC 9051 6.3.2: NO, and no mailbox is selected after
    assert r.status == "NO", r
    if imap.kind == "tern":
        assert r.code_word() == "NONEXISTENT", r
    assert c.cmd("FETCH 1 (FLAGS)").status == "BAD"
    c.logout()


def test_select_is_case_insensitive_for_inbox(imap):
    imap.fill([make_message()])
    c = imap.login()
    for name in ("inbox", "InBoX", '"INBOX"'):
        r = c.ok(f"SELECT {name}")
        assert selected_data(r)["EXISTS"] == 1
    c.logout()


def test_examine_is_read_only(imap):
    imap.fill([make_message()])
    c = imap.login()
    r = c.select(examine=True)
    d = selected_data(r)
    assert d["access"] == "READ-ONLY" and d["EXISTS"] == 1
    # RFC 9051 6.3.3: no change to the mailbox is permitted. tern says NO;
    # Dovecot says "OK Store ignored with read-only mailbox" and changes
    # nothing (the RFC names no response, only that nothing may change)
    r = c.cmd("STORE 1 +FLAGS (\\Flagged)")
    assert r.status == ("NO" if imap.kind == "tern" else r.status) and r.status in ("NO", "OK"), r
    assert not any("\\Flagged" in f.get("FLAGS", []) for f in r.fetches().values()), r
    r = c.ok("FETCH 1 (FLAGS)")
    assert "\\Flagged" not in r.fetches()[1]["FLAGS"]
    # and fetching the body does not set \Seen (RFC 9051 6.4.5)
    c.ok("FETCH 1 (BODY[])")
    r = c.ok("FETCH 1 (FLAGS)")
    assert "\\Seen" not in r.fetches()[1]["FLAGS"]
    # RFC 3501 6.4.3: NO "can't expunge"; Dovecot again answers OK and
    # removes nothing
    r = c.cmd("EXPUNGE")
    assert r.status in (("NO",) if imap.kind == "tern" else ("NO", "OK")), r
    assert not r.of("EXPUNGE")
    c.logout()


def test_select_other_mailbox_closes_first(imap):
    """Selecting another mailbox deselects the first without expunging
    (RFC 3501 6.3.1 "automatically deselected"); IMAP4rev2 sends
    OK [CLOSED] (RFC 9051 7.1)."""
    imap.fill([make_message()])
    c = imap.login()
    c.select()
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    r = c.select("Sent")
    assert selected_data(r)["EXISTS"] == 0
    assert not r.of("EXPUNGE")
    r = c.select()
    assert selected_data(r)["EXISTS"] == 1
    c.logout()


def test_rev2_closed_code(imap):
    imap.need("IMAP4REV2")
    c = imap.login()
    c.ok("ENABLE IMAP4rev2")
    c.select()
    r = c.select("Sent")
    codes = [u.code for u in r.untagged if u.kind == "OK" and u.code]
    # RFC 9051 7.1: [CLOSED] when a mailbox is closed by selecting another,
    # sent before the new mailbox's data
    assert "CLOSED" in codes, r
    first = [u for u in r.untagged if u.kind == "OK" and u.code]
    assert first[0].code == "CLOSED", r
    # IMAP4rev2 has no RECENT response (RFC 9051 appendix E)
    assert not r.of("RECENT")
    # RFC 9051 6.3.2: the server MUST send a LIST response with the name
    lst = r.of("LIST")
    assert lst and lst[0].values[-1] in ("Sent", b"Sent"), r
    c.logout()


def test_status_items(imap):
    msgs = [make_message(subject=f"st{i}") for i in range(3)]
    imap.fill(msgs)
    c = imap.login()
    items = "MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN"
    r = c.ok(f"STATUS INBOX ({items})")
    s = r.one("STATUS").values
    assert s[0] in ("INBOX", b"INBOX")
    vals = dict(zip(s[1][::2], (int(x) for x in s[1][1::2])))
    assert vals["MESSAGES"] == 3 and vals["UNSEEN"] == 3
    assert vals["UIDNEXT"] > 3 - 1 and vals["UIDVALIDITY"] > 0
    # RECENT: nobody selected it yet, so all three are recent (RFC 3501 2.3.2)
    assert vals["RECENT"] == 3
    # STATUS agrees with SELECT
    d = selected_data(c.select())
    assert d["UIDVALIDITY"] == vals["UIDVALIDITY"] and d["UIDNEXT"] == vals["UIDNEXT"]
    c.logout()


def test_status_size(imap):
    imap.need("STATUS=SIZE")
    msgs = [make_message(subject="a"), make_message(subject="bb", body="x" * 1000 + "\r\n")]
    imap.fill(msgs)
    c = imap.login()
    r = c.ok("STATUS INBOX (SIZE MESSAGES)")
    s = r.one("STATUS").values[1]
    vals = dict(zip(s[::2], s[1::2]))
    # RFC 8438 2: the total RFC822.SIZE of the messages
    assert int(vals["SIZE"]) == sum(len(m) for m in msgs)
    c.logout()


def test_status_deleted_rev2(imap):
    imap.need("IMAP4REV2")
    imap.fill([make_message(), make_message()])
    c = imap.login()
    c.ok("ENABLE IMAP4rev2")
    c.select()
    c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    c.ok("UNSELECT")
    # RFC 9051 6.3.11: DELETED, the number of messages with \Deleted
    r = c.ok("STATUS INBOX (DELETED MESSAGES)")
    s = r.one("STATUS").values[1]
    vals = dict(zip(s[::2], s[1::2]))
    assert vals["DELETED"] == "1" and vals["MESSAGES"] == "2"
    c.logout()


def test_status_nonexistent_and_bad_item(imap):
    c = imap.login()
    r = c.cmd("STATUS nothing-here (MESSAGES)")
    assert r.status == "NO", r
    r = c.cmd("STATUS INBOX (NOSUCHITEM)")
    assert r.status == "BAD", r
    r = c.cmd("STATUS INBOX")
    assert r.status == "BAD", r
    c.logout()


def test_status_of_selected_mailbox(imap):
    """RFC 9051 6.3.11: STATUS on the selected mailbox is allowed (the
    client should not rely on it, but the answer must be true)."""
    imap.fill([make_message()])
    c = imap.login()
    c.select()
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "1"]
    c.logout()


def test_check(imap):
    c = imap.login()
    c.select()
    # RFC 3501 6.4.1: CHECK is OK in the selected state (removed in rev2,
    # where it is still accepted by servers that also do rev1)
    r = c.cmd("CHECK")
    assert r.ok, r
    c.logout()


def test_close_expunges_silently(imap):
    imap.fill([make_message(subject=f"c{i}") for i in range(3)])
    c = imap.login()
    c.select()
    c.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    r = c.ok("CLOSE")
    # RFC 9051 6.4.1: messages are removed and no untagged EXPUNGE is sent
    assert not r.of("EXPUNGE"), r
    # back to the authenticated state
    assert c.cmd("FETCH 1 (FLAGS)").status == "BAD"
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "1"]
    c.logout()


def test_close_after_examine_keeps_messages(imap):
    imap.fill([make_message()])
    c = imap.login()
    c.select()
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.select(examine=True)
    # RFC 3501 6.4.2: CLOSE in read-only mode removes nothing
    c.ok("CLOSE")
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "1"]
    c.logout()


def test_unselect_keeps_deleted(imap):
    imap.need("UNSELECT")
    imap.fill([make_message()])
    c = imap.login()
    c.select()
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    r = c.ok("UNSELECT")
    assert not r.of("EXPUNGE")
    assert c.cmd("FETCH 1 (FLAGS)").status == "BAD"
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "1"]
    # UNSELECT with nothing selected is BAD (RFC 3691 2)
    assert c.cmd("UNSELECT").status == "BAD"
    c.logout()


def test_select_with_literal_and_quoted_name(imap):
    c = imap.login()
    c.ok("CREATE ", '"Two Words"')
    r = c.ok("SELECT ", Literal("Two Words"))
    assert selected_data(r)["EXISTS"] == 0
    r = c.ok('EXAMINE "Two Words"')
    assert selected_data(r)["access"] == "READ-ONLY"
    c.logout()


def test_uidvalidity_distinct_per_mailbox_and_stable(imap):
    c = imap.login()
    c.ok("CREATE other")
    v1 = selected_data(c.select())["UIDVALIDITY"]
    v2 = selected_data(c.select("other"))["UIDVALIDITY"]
    assert v1 == selected_data(c.select())["UIDVALIDITY"]
    c.logout()
    c = imap.login()
    assert selected_data(c.select("other"))["UIDVALIDITY"] == v2
    c.logout()


@pytest.mark.parametrize("cmd", ["FETCH 1 (FLAGS)", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL",
                                 "COPY 1 INBOX", "EXPUNGE", "CLOSE", "UID FETCH 1 (FLAGS)"])
def test_selected_state_commands_without_selection(imap, cmd):
    c = imap.login()
    # RFC 9051 6.4: these are valid only in the selected state
    r = c.cmd(cmd)
    assert r.status == "BAD", r
    c.logout()
