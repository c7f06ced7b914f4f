"""IMAP end to end against the real `tern serve`, with Python's imaplib
and raw sockets: login, the default folders, APPEND/FETCH/STORE/SEARCH/
COPY/MOVE/EXPUNGE, two sessions seeing each other's changes, IDLE woken by
SMTP delivery, UIDs kept across a restart. (The full RFC suite is in the
other test_imap_*.py files.)"""
import imaplib
import re
import smtplib
import socket
import time

import pytest

from ternserver import client_tls_context, make_message, servers, wait_until  # noqa: F401

ALICE = "alice@example.test"
PW = "alice pw"
LISTENERS = ("smtp", "submission", "imap", "imaps")


@pytest.fixture
def srv(servers):
    return servers.start(users={ALICE: PW}, listeners=LISTENERS)


def login(srv, listener="imap"):
    m = srv.imap(listener)
    m.login(ALICE, PW)
    return m


class Raw:
    """Exact IMAP exchanges: send a tagged line, collect responses."""

    def __init__(self, host, port, tls=False):
        self.sock = socket.create_connection((host, port), timeout=20)
        if tls:
            self.sock = client_tls_context().wrap_socket(self.sock)
        self.f = self.sock.makefile("rwb")
        self.greeting = self.f.readline()
        self.n = 0

    def cmd(self, line, literal=None):
        self.n += 1
        tag = f"t{self.n}".encode()
        self.f.write(tag + b" " + (line.encode() if isinstance(line, str) else line) + b"\r\n")
        self.f.flush()
        out = []
        while True:
            l = self.f.readline()
            if not l:
                raise ConnectionError("closed")
            out.append(l)
            m = re.search(rb"\{(\d+)\}\r\n$", l)
            if m:
                out.append(self.f.read(int(m.group(1))))
            if l.startswith(tag + b" "):
                return out

    def close(self):
        self.sock.close()


def test_login_capabilities_and_default_folders(srv):
    m = srv.imap()
    assert "IMAP4REV2" in m.capabilities and "AUTH=PLAIN" in m.capabilities
    typ, data = m.login(ALICE, PW)
    assert typ == "OK" and b"UIDPLUS" in data[0]
    typ, lines = m.list()
    names = {l.decode().rsplit(" ", 1)[1].strip('"'): l.decode() for l in lines}
    assert set(names) == {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}
    assert "\\Sent" in names["Sent"] and "\\Trash" in names["Trash"]
    m.logout()
    bad = srv.imap()
    with pytest.raises(imaplib.IMAP4.error):
        bad.login(ALICE, "wrong")
    bad.logout()


def test_append_fetch_store_search_expunge(srv):
    m = login(srv)
    msg = make_message(subject="Grüße", body="the body text\r\n")
    typ, data = m.append("INBOX", "(\\Flagged $Work)", None, msg)
    assert typ == "OK" and b"APPENDUID" in data[0]
    typ, data = m.select("INBOX")
    assert data == [b"1"]
    typ, data = m.fetch("1", "(UID FLAGS RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK"
    head, body = data[0]
    assert body == msg and f"RFC822.SIZE {len(msg)}".encode() in head
    assert b"\\Flagged" in head and b"$Work" in head and b"\\Seen" not in head
    # BODY[] (not PEEK) sets \Seen and says so in the same response
    typ, data = m.fetch("1", "(BODY[TEXT])")
    assert data[0][1] == b"the body text\r\n" and b"\\Seen" in data[1]
    assert m.search(None, "SEEN")[1] == [b"1"]
    assert m.search(None, "BODY", "body")[1] == [b"1"]
    assert m.search(None, "NOT", "BODY", "absent")[1] == [b"1"]
    assert m.uid("SEARCH", "FLAGGED")[1] == [b"1"]
    typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
    assert b"\\Deleted" in data[0]
    typ, data = m.expunge()
    assert data == [b"1"]
    assert m.select("INBOX")[1] == [b"0"]
    m.logout()


def test_copy_move_and_uidplus(srv):
    m = login(srv)
    for i in range(3):
        m.append("INBOX", None, None, make_message(subject=f"m{i}"))
    m.select("INBOX")
    typ, data = m.copy("1:2", "Archive")
    assert typ == "OK" and re.match(rb"\[COPYUID \d+ 1:2 1:2\]", data[0]), data
    typ, data = m.uid("MOVE", "3", "Trash")
    assert typ == "OK"
    assert m.select("INBOX")[1] == [b"2"]
    assert m.status("Archive", "(MESSAGES)")[1] == [b'"Archive" (MESSAGES 2)']
    assert m.status("Trash", "(MESSAGES)")[1] == [b'"Trash" (MESSAGES 1)']
    typ, data = m.copy("1", "Nonexistent")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    m.logout()


def test_two_sessions_see_each_other(srv):
    a, b = login(srv), login(srv)
    a.select("INBOX")
    b.select("INBOX")
    b.append("INBOX", None, None, make_message(subject="from b"))
    a.noop()
    assert a.untagged_responses.get("EXISTS", [])[-1:] == [b"1"]
    b.store("1", "+FLAGS", "(\\Answered)")
    typ, _ = a.noop()
    fetch = a.untagged_responses.pop("FETCH", [])
    assert any(b"\\Answered" in f for f in fetch), fetch
    b.store("1", "+FLAGS", "(\\Deleted)")
    b.expunge()
    a.noop()
    assert a.untagged_responses.get("EXPUNGE") == [b"1"]
    a.logout()
    b.logout()


def test_no_expunge_during_fetch(srv):
    """RFC 9051 7.5.1: no untagged EXPUNGE during FETCH, STORE or SEARCH;
    the next NOOP announces it."""
    a, b = Raw(srv.host, srv.port("imap")), login(srv)
    for i in range(2):
        b.append("INBOX", None, None, make_message(subject=f"x{i}"))
    a.cmd(f"LOGIN {ALICE} \"{PW}\"")
    a.cmd("SELECT INBOX")
    b.select("INBOX")
    b.store("1", "+FLAGS", "(\\Deleted)")
    b.expunge()
    out = a.cmd("FETCH 1:2 (UID)")
    assert not any(l.endswith(b" EXPUNGE\r\n") for l in out), out
    assert out[-1].split()[1] in (b"OK", b"NO")
    out = a.cmd("NOOP")
    assert any(l == b"* 1 EXPUNGE\r\n" for l in out), out
    a.close()
    b.logout()


def test_idle_wakes_on_smtp_delivery(srv):
    a = Raw(srv.host, srv.port("imap"))
    a.cmd(f"LOGIN {ALICE} \"{PW}\"")
    a.cmd("SELECT INBOX")
    a.f.write(b"i1 IDLE\r\n")
    a.f.flush()
    assert a.f.readline().startswith(b"+ ")
    with smtplib.SMTP(srv.host, srv.port("smtp"), timeout=30) as s:
        s.sendmail("x@remote.test", [ALICE], make_message(subject="for idle"))
    a.sock.settimeout(20)
    assert a.f.readline() == b"* 1 EXISTS\r\n"
    a.f.write(b"DONE\r\n")
    a.f.flush()
    lines = []
    while not lines or not lines[-1].startswith(b"i1 "):
        lines.append(a.f.readline())
    assert lines[-1].startswith(b"i1 OK"), lines
    a.close()


def test_uids_and_flags_survive_restart(srv):
    m = login(srv)
    m.append("INBOX", "(\\Seen)", None, make_message(subject="keep"))
    typ, data = m.status("INBOX", "(UIDVALIDITY UIDNEXT)")
    before = data[0]
    m.logout()
    srv.restart()
    m = login(srv)
    assert m.status("INBOX", "(UIDVALIDITY UIDNEXT)")[1][0] == before
    m.select("INBOX")
    typ, data = m.fetch("1", "(UID FLAGS)")
    assert b"UID 1" in data[0] and b"\\Seen" in data[0]
    m.logout()


def test_imaps_and_starttls(srv):
    m = login(srv, "imaps")
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    m = srv.imap()
    m.starttls(ssl_context=client_tls_context())
    m.login(ALICE, PW)
    m.logout()


def test_bad_input(srv):
    a = Raw(srv.host, srv.port("imap"))
    assert a.cmd("NOSUCHCOMMAND")[-1].startswith(b"t1 BAD")
    assert a.cmd("SELECT INBOX")[-1].startswith(b"t2 BAD")        # not logged in
    a.f.write(b"\r\n* garbage\r\n")
    a.f.flush()
    assert a.f.readline().startswith(b"* BAD")                     # no tag to answer
    a.cmd(f"LOGIN {ALICE} \"{PW}\"")
    assert a.cmd("FETCH 1 FLAGS")[-1].split()[1] == b"BAD"         # no mailbox selected
    a.cmd("SELECT INBOX")
    assert a.cmd("FETCH 5 FLAGS")[-1].split()[1] == b"BAD"         # past EXISTS
    assert a.cmd("FETCH 1:* (BODY[MIME])")[-1].split()[1] == b"BAD"
    # a literal bigger than APPENDLIMIT is refused before it is sent
    out = a.cmd("APPEND INBOX {999999999999}")
    assert b"TOOBIG" in out[-1] and out[-1].split()[1] == b"NO"
    assert a.cmd("NOOP")[-1].split()[1] == b"OK"
    a.close()


def test_large_fetch_streamed_and_client_leaving(srv):
    """A 6 MB message is served in pieces as the client reads; a client
    that goes away in the middle of it (or of a big APPEND literal) leaves
    the server fine."""
    m = login(srv)
    body = b"".join(b"line %07d of a large message, padded out...........\r\n" % i
                    for i in range(110000))
    msg = make_message(subject="big", body=body.decode())
    typ, data = m.append("INBOX", None, None, msg)
    assert typ == "OK", data
    m.select("INBOX")
    typ, data = m.fetch("1", "(BODY.PEEK[] BODY.PEEK[]<1000000.20>)")
    assert data[0][1] == msg
    assert data[1][1] == msg[1000000:1000020]
    # leave while the literal is coming
    a = Raw(srv.host, srv.port("imap"))
    a.cmd(f"LOGIN {ALICE} \"{PW}\"")
    a.cmd("SELECT INBOX")
    a.f.write(b"x FETCH 1 BODY.PEEK[]\r\n")
    a.f.flush()
    assert a.f.readline().startswith(b"* 1 FETCH")
    a.f.read(10000)
    a.close()
    # and while an APPEND literal is coming
    b = Raw(srv.host, srv.port("imap"))
    b.cmd(f"LOGIN {ALICE} \"{PW}\"")
    b.f.write(b"y APPEND INBOX {5000000+}\r\n" + b"x" * 100000)
    b.f.flush()
    b.close()
    time.sleep(0.5)
    assert m.noop()[0] == "OK"
    assert m.status("INBOX", "(MESSAGES)")[1] == [b'"INBOX" (MESSAGES 1)']
    m.logout()
    assert srv.alive()
