"""`tern mailbox rebuild|list` (shared/DESIGN.md "Commands", docs/store.md)
driven as a program over Maildirs laid out by hand, as another MDA, mutt or
a restore leave them, and over mail delivered by a running `tern serve`.
The checks read the Maildir itself (file names, tern-uidlist) besides the
command's output."""
import json
import os
import re
import sqlite3
import subprocess

import pytest

from ternserver import TernServer, make_message, servers, wait_until  # noqa: F401

USER = "alice@example.test"


@pytest.fixture
def srv(tern_bin, tmp_path):
    s = TernServer(tern_bin, tmp_path / "srv")
    s.add_user(USER, "pw")
    return s


def put(srv, sub, name, data):
    d = srv.maildir(USER) / sub
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def uids(srv, folder_dir="."):
    """{base name: (uid, flags)} from the file names in cur/."""
    out = {}
    for p in (srv.maildir(USER) / folder_dir / "cur").iterdir():
        m = re.match(r"^(.*),U=(\d+):2,([A-Za-z]*)$", p.name)
        assert m, f"file without U= in cur/: {p.name}"
        out[m.group(1)] = (int(m.group(2)), m.group(3))
    return out


def listing(srv):
    res = srv.cli("mailbox", "list", args=["--json", USER])
    return {f["name"]: f for f in json.loads(res.stdout)}


def test_help_and_usage(tern_bin, tmp_path):
    res = subprocess.run([tern_bin, "mailbox", "--help"], capture_output=True, text=True,
                         cwd=tmp_path)
    assert res.returncode == 0
    assert "tern mailbox rebuild" in res.stdout
    assert not (tmp_path / "var").exists()       # --help touches nothing
    res = subprocess.run([tern_bin, "mailbox", "frob", "a@b.test"], capture_output=True,
                         cwd=tmp_path)
    assert res.returncode == 64
    res = subprocess.run([tern_bin, "mailbox", "rebuild", "not-an-address"],
                         capture_output=True, cwd=tmp_path)
    assert res.returncode == 64
    res = subprocess.run([tern_bin, "--help"], capture_output=True, text=True)
    assert "tern mailbox rebuild" in res.stdout and "tern mailbox list" in res.stdout


def test_no_mailbox(srv):
    res = srv.cli("mailbox", "rebuild", args=["nobody@example.test"], check=False)
    assert res.returncode == 67
    assert "no mailbox" in res.stderr
    # and none was made
    assert not srv.maildir("nobody@example.test").exists()


def test_rebuild_from_hand_made_maildir(srv):
    put(srv, "new", "1700000002.M1P1.mda", b"Subject: second\r\n\r\nb\r\n")
    put(srv, "new", "1700000001.M1P1.mda", b"Subject: first\r\n\r\na\r\n")
    put(srv, "cur", "1700000000.M1P1.mutt:2,RS", b"Subject: read\n\nlf only\n")
    put(srv, ".Lists.tern/cur", "1700000003.M1P1.x:2,F", b"Subject: list\r\n\r\nl\r\n")
    (srv.maildir(USER) / ".Lists.tern" / "new").mkdir()
    res = srv.cli("mailbox", "rebuild", args=[USER])
    assert re.search(r"rebuilt alice@example.test: 2 folders, 4 messages, 4 new UIDs", res.stdout)
    # UIDs in delivery order, flags kept, nothing left in new/
    got = uids(srv)
    assert got["1700000000.M1P1.mutt"] == (1, "RS")
    assert got["1700000001.M1P1.mda"] == (2, "")
    assert got["1700000002.M1P1.mda"] == (3, "")
    assert not list((srv.maildir(USER) / "new").iterdir())
    assert uids(srv, ".Lists.tern")["1700000003.M1P1.x"] == (1, "F")
    # tern-uidlist: UIDVALIDITY and a UIDNEXT no UID reaches
    ul = (srv.maildir(USER) / "tern-uidlist").read_text()
    m = re.match(r"V(\d+) N(\d+) S0", ul)
    assert m and int(m.group(2)) == 4
    folders = listing(srv)
    assert folders["INBOX"]["messages"] == 3
    assert folders["INBOX"]["unseen"] == 2
    assert folders["INBOX"]["uidnext"] == 4
    assert folders["INBOX"]["uidvalidity"] == int(m.group(1))
    # RFC822.SIZE counts CRLF: the LF-only message is 2 bytes larger
    assert folders["INBOX"]["size"] == (len(b"Subject: second\r\n\r\nb\r\n") +
                                         len(b"Subject: first\r\n\r\na\r\n") +
                                         len(b"Subject: read\r\n\r\nlf only\r\n"))
    assert folders["Lists/tern"]["messages"] == 1
    # the account's first open (this list) made the default folders
    assert folders["Sent"]["special_use"] == "\\Sent"
    assert folders["Trash"]["subscribed"] is True


def test_rebuild_keeps_uids(srv):
    for i in range(3):
        put(srv, "new", f"170000000{i}.M1P1.mda", f"Subject: m{i}\r\n\r\nx\r\n".encode())
    srv.cli("mailbox", "rebuild", args=[USER])
    before = uids(srv)
    v1 = listing(srv)["INBOX"]["uidvalidity"]
    # a message removed, one added by hand, one renamed by mutt (flags)
    md = srv.maildir(USER)
    names = {p.name.split(",U=")[0]: p for p in (md / "cur").iterdir()}
    names["1700000001.M1P1.mda"].unlink()
    p = names["1700000002.M1P1.mda"]
    p.rename(p.with_name(p.name + "S"))
    put(srv, "cur", "1700000009.M1P1.later:2,", b"Subject: later\r\n\r\nx\r\n")
    # the store notices (a STATUS through list): 2 expunged, "later" gets 4
    assert listing(srv)["INBOX"]["messages"] == 3
    # a restored copy of the expunged message, with its old U=: UIDs are
    # never reused, it gets a new one
    put(srv, "cur", "1700000001.M1P1.mda,U=2:2,", b"Subject: m1\r\n\r\nx\r\n")
    res = srv.cli("mailbox", "rebuild", args=[USER])
    assert "4 messages, 1 new UID," in res.stdout
    after = uids(srv)
    assert after["1700000000.M1P1.mda"] == before["1700000000.M1P1.mda"]
    assert after["1700000002.M1P1.mda"] == (3, "S")
    assert after["1700000009.M1P1.later"] == (4, "")
    assert after["1700000001.M1P1.mda"] == (5, "")
    assert listing(srv)["INBOX"]["uidvalidity"] == v1

    # the index deleted: everything comes back from the Maildir alone
    for f in md.glob("tern-index.db*"):
        f.unlink()
    res = srv.cli("mailbox", "rebuild", args=[USER])
    assert "0 new UIDs, 0 new UIDVALIDITY" in res.stdout
    assert uids(srv) == after
    assert listing(srv)["INBOX"]["uidvalidity"] == v1


def test_corrupt_index_rebuilt_automatically(srv):
    put(srv, "new", "1700000000.M1P1.mda", b"Subject: a\r\n\r\nx\r\n")
    put(srv, "new", "1700000001.M1P1.mda", b"Subject: b\r\n\r\nx\r\n")
    first = listing(srv)
    assert first["INBOX"]["messages"] == 2
    before = uids(srv)
    db = srv.maildir(USER) / "tern-index.db"
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(db, "r+b") as f:
        f.seek(0)
        f.write(b"this is no sqlite database" * 10)
    res = srv.cli("mailbox", "list", args=[USER])
    assert "INBOX" in res.stdout
    assert "index damaged" in res.stderr
    assert list(srv.maildir(USER).glob("tern-index.db.corrupt-*"))
    assert uids(srv) == before
    after = listing(srv)
    assert after["INBOX"]["uidvalidity"] == first["INBOX"]["uidvalidity"]
    assert after["INBOX"]["messages"] == 2


def test_delivered_over_smtp_is_seen(servers):
    """Mail that a running server delivers lands in new/ and is taken into
    the store (UID, cur/) by the next look; rebuild and list work while the
    server runs."""
    srv = servers.start(users={USER: "pw"})
    with srv.smtplib() as s:
        s.sendmail("bob@remote.test", [USER], make_message(subject="over smtp", to=USER))
        s.sendmail("bob@remote.test", [USER], make_message(subject="again", to=USER))
    srv.wait_messages(USER, 2)
    folders = listing(srv)
    assert folders["INBOX"]["messages"] == 2
    assert folders["INBOX"]["unseen"] == 2
    got = uids(srv)
    assert sorted(u for u, _ in got.values()) == [1, 2]
    res = srv.cli("mailbox", "rebuild", args=[USER])
    assert "0 new UIDs" in res.stdout
    assert uids(srv) == got
    with srv.smtplib() as s:
        s.sendmail("bob@remote.test", [USER], make_message(subject="third", to=USER))
    wait_until(lambda: listing(srv)["INBOX"]["messages"] == 3, what="a third message")
    assert srv.alive()
