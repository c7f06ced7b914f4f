"""What only tern can show (no Dovecot counterpart): IMAP state kept across
`tern serve` restarts and kill -9, the index rebuilt (`tern mailbox rebuild
ADDRESS -c FILE`, or automatically when the index is missing or corrupt)
keeping UIDs, Maildir files added or removed behind the server's back
noticed as new UIDs or EXPUNGEs (never a reused UID: RFC 9051 2.3.1.1),
and mail delivered over SMTP appearing at NOOP and in IDLE.

Each test starts its own server (it restarts or kills it)."""
import smtplib

import pytest

import imapmsgs as M
from imapbackends import skip_if_tern_silent
from imapclient import Literal
from ternserver import servers  # noqa: F401  (fixture)

USER = "alice@example.test"
PW = "alice secret"


@pytest.fixture
def srv(servers):
    s = servers.start(users={USER: PW}, listeners=("smtp", "imap", "imaps"))
    skip_if_tern_silent(s)
    return s


def login(srv):
    c = srv.imap_raw()
    c.login(USER, PW)
    return c


def state(srv, mailbox="INBOX"):
    """(UIDVALIDITY, UIDNEXT, {uid: flags}) as a new session sees it."""
    c = login(srv)
    r = c.select(mailbox, examine=True)
    codes = {u.code.split()[0].upper(): u.code.split(" ", 1)[1] for u in r.untagged
             if u.kind == "OK" and u.code and " " in u.code}
    exists = [u.num for u in r.of("EXISTS")][-1]
    msgs = {}
    if exists:
        for f in c.ok("FETCH 1:* (UID FLAGS)").fetches().values():
            msgs[int(f["UID"])] = set(f["FLAGS"]) - {"\\Recent"}
    c.logout()
    return int(codes["UIDVALIDITY"]), int(codes["UIDNEXT"]), msgs


def fill(srv, n, mailbox="INBOX"):
    c = login(srv)
    uids = []
    for i in range(n):
        r = c.ok("APPEND ", mailbox, " ", Literal(M.plain(f"p{i}", body=f"body {i}\r\n")))
        uids.append(int(r.code.split()[2]))
    c.select(mailbox)
    c.ok("STORE 1 +FLAGS.SILENT (\\Seen $Kw1)")
    if n > 2:
        c.ok("STORE 3 +FLAGS.SILENT (\\Flagged)")
    c.logout()
    return uids


def same_after_recovery(after, before):
    """UIDVALIDITY, UIDs and flags equal; UIDNEXT may only have grown (the
    store raises its recorded UID high-water mark with headroom when it
    recovers without its index - docs/store.md; a client sees that as
    mail come and gone, which RFC 9051 2.3.1.1 allows for)."""
    assert after[0] == before[0] and after[2] == before[2], (after, before)
    assert after[1] >= before[1], (after, before)


def index_files(srv):
    return [p for p in srv.maildir(USER).iterdir() if p.name.startswith("tern-index.db")]


def test_state_survives_restart(srv):
    fill(srv, 3)
    before = state(srv)
    srv.restart()
    assert state(srv) == before


def test_state_survives_kill9(srv):
    uids = fill(srv, 3)
    c = login(srv)
    r = c.ok("APPEND INBOX (\\Answered) ", Literal(M.plain("last")))
    last = int(r.code.split()[2])
    c.close()
    before = state(srv)
    srv.kill9()
    srv.start()
    after = state(srv)
    # every acknowledged APPEND is there with its UID and flags
    assert after == before
    assert set(uids) | {last} == set(after[2])


def test_index_deleted_keeps_uids(srv):
    fill(srv, 4)
    before = state(srv)
    srv.stop()
    for p in index_files(srv):
        p.unlink()
    srv.start()
    same_after_recovery(state(srv), before)


def test_index_corrupted_keeps_uids(srv):
    fill(srv, 3)
    c = login(srv)
    c.ok("CREATE Work")
    c.ok("APPEND Work ", Literal(M.plain("w")))
    c.logout()
    before, before_work = state(srv), state(srv, "Work")
    srv.stop()
    db = srv.maildir(USER) / "tern-index.db"
    for p in index_files(srv):
        if p != db:
            p.unlink()
    data = bytearray(db.read_bytes())
    data[0:100] = b"\xde\xad\xbe\xef" * 25
    db.write_bytes(bytes(data))
    srv.start()
    same_after_recovery(state(srv), before)
    same_after_recovery(state(srv, "Work"), before_work)


def test_rebuild_command_keeps_uids(srv):
    fill(srv, 3)
    before = state(srv)
    srv.stop()
    res = srv.cli("mailbox", "rebuild", args=[USER])
    assert res.returncode == 0
    srv.start()
    same_after_recovery(state(srv), before)


def test_file_added_by_hand_gets_new_uid(srv):
    uids = fill(srv, 2)
    c = login(srv)
    c.select()
    new = srv.maildir(USER) / "new"
    (new / "1800000000.M1P1.othermda").write_bytes(M.plain("dropped in", body="by hand\r\n"))
    r = c.ok("NOOP")
    assert [u.num for u in r.of("EXISTS")][-1:] == [3], r
    f = c.ok("FETCH 3 (UID BODY.PEEK[TEXT])").fetches()[3]
    assert int(f["UID"]) > max(uids)
    assert f["BODY[TEXT]"] == b"by hand\r\n"
    c.logout()


def test_file_removed_by_hand_is_expunged(srv):
    uids = fill(srv, 3)
    c = login(srv)
    c.select()
    victim = [p for p in (srv.maildir(USER) / "cur").iterdir() if f",U={uids[1]}:" in p.name
              or f",U={uids[1]}," in p.name]
    assert len(victim) == 1, list((srv.maildir(USER) / "cur").iterdir())
    victim[0].unlink()
    r = c.ok("NOOP")
    assert [u.num for u in r.of("EXPUNGE")] == [2], r
    got = sorted(int(f["UID"]) for f in c.ok("FETCH 1:* (UID)").fetches().values())
    assert got == [uids[0], uids[2]]
    c.logout()


def test_highest_uid_never_reused(srv):
    """Remove the newest message's file, then rebuild, restart and add
    mail: the next UID is still above it (RFC 9051 2.3.1.1: UIDs are
    strictly ascending and never reused within a UIDVALIDITY)."""
    uids = fill(srv, 3)
    v0 = state(srv)[0]
    top = max(uids)
    srv.stop()
    for p in (srv.maildir(USER) / "cur").iterdir():
        if f",U={top}" in p.name:
            p.unlink()
    for p in index_files(srv):
        p.unlink()
    srv.cli("mailbox", "rebuild", args=[USER])
    srv.start()
    v, uidnext, msgs = state(srv)
    if v == v0:
        assert uidnext > top and top not in msgs
    c = login(srv)
    r = c.ok("APPEND INBOX ", Literal(M.plain("after rebuild")))
    new_uid = int(r.code.split()[2])
    c.logout()
    if v == v0:
        assert new_uid > top


def test_maildir_flags_changed_by_hand(srv):
    """Another program renames a file to add the S flag: the next NOOP
    reports the FETCH FLAGS."""
    uids = fill(srv, 2)
    c = login(srv)
    c.select()
    cur = srv.maildir(USER) / "cur"
    p = [p for p in cur.iterdir() if f",U={uids[1]}" in p.name][0]
    base, flags = p.name.split(":2,")
    p.rename(cur / (base + ":2," + "".join(sorted(set(flags) | {"F"}))))
    r = c.ok("NOOP")
    f = r.fetches()
    assert 2 in f and "\\Flagged" in f[2]["FLAGS"], r
    c.logout()


def test_smtp_delivery_exists_at_noop_and_idle(srv):
    c = login(srv)
    c.select()
    with smtplib.SMTP(srv.host, srv.port("smtp"), timeout=30) as s:
        s.sendmail("x@remote.test", [USER], M.plain("by smtp 1"))
    # delivery is asynchronous: NOOP until it shows (bounded)
    from ternserver import wait_until
    wait_until(lambda: [u.num for u in c.ok("NOOP").of("EXISTS")][-1:] == [1], 20,
               what="EXISTS 1 after SMTP delivery")
    tag = c.next_tag()
    c.send(f"{tag} IDLE\r\n")
    assert c.read_response().startswith(b"+")
    with smtplib.SMTP(srv.host, srv.port("smtp"), timeout=30) as s:
        s.sendmail("x@remote.test", [USER], M.plain("by smtp 2"))
    line = c.read_response()
    while not line.endswith(b" EXISTS\r\n"):
        line = c.read_response()
    assert line == b"* 2 EXISTS\r\n"
    c.send("DONE\r\n")
    assert c.read_tagged(tag).ok
    f = c.ok("FETCH 2 (ENVELOPE)").fetches()[2]
    assert f["ENVELOPE"][1] == b"by smtp 2"
    c.logout()


def test_recent_across_restart(srv):
    """\\Recent is session state: after a restart a message is recent for
    the next session at most once."""
    fill(srv, 1)
    srv.restart()
    a = login(srv)
    ra = a.select()
    b = login(srv)
    rb = b.select()
    assert ra.one("RECENT").num + rb.one("RECENT").num <= 1
    a.logout()
    b.logout()


def test_uidvalidity_changes_when_folder_recreated(srv):
    c = login(srv)
    c.ok("CREATE tmpbox")
    v1 = state(srv, "tmpbox")[0]
    c.ok("APPEND tmpbox ", Literal(M.plain("t")))
    c.ok("DELETE tmpbox")
    c.ok("CREATE tmpbox")
    v2, uidnext, _ = state(srv, "tmpbox")
    # RFC 9051 2.3.1.1: a new mailbox with an old name: a new UIDVALIDITY
    # (or UIDs that go on from the old ones)
    assert v2 != v1 or uidnext > 1
    c.logout()
