"""POP3 TRANSACTION and UPDATE states (RFC 1939 5, 6, 7) on the mailbox
store: STAT/LIST/UIDL/RETR/TOP/DELE/RSET/NOOP/QUIT, sizes equal to what RETR
sends (bare-LF files included), byte-stuffing, the maildrop as it was at
login, deletions only at QUIT (never on a dropped connection), [IN-USE],
UIDL stability, and what IMAP sees of it all."""
import imaplib
import os
import re
import shutil
import socket
import time

import pytest

from ternserver import servers, wait_until  # noqa: F401
from pop3util import (USER, PASSWORD, raw, unstuff, crlf, put_maildir_file, deliver,
                      RawPOP3, Closed)

LISTENERS = ("smtp", "pop3", "pop3s", "imap")


@pytest.fixture
def srv(servers):
    s = servers.make(listeners=LISTENERS)
    s.add_user(USER, PASSWORD)
    s.add_user("bob@example.test", "bob pw")
    return s.start()


def listing(conn, cmd):
    """LIST or UIDL: {msg: value}."""
    status, body = conn.cmd_multi(cmd)
    assert status.startswith(b"+OK"), status
    out = {}
    for line in body.decode().split("\r\n"):
        if line:
            n, v = line.split(" ")
            out[int(n)] = v
    return out


def retr(conn, n):
    status, body = conn.cmd_multi(f"RETR {n}")
    assert status.startswith(b"+OK"), status
    return status, body


def imap_login(srv):
    i = srv.imap()
    i.login(USER, PASSWORD)
    return i


def imap_flags(srv):
    """{uid: flags} of INBOX through IMAP."""
    i = imap_login(srv)
    i.select("INBOX")
    typ, data = i.uid("FETCH", "1:*", "(FLAGS)")
    i.logout()
    out = {}
    for d in data:
        if d is None:
            continue
        m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", d) or \
            re.search(rb"FLAGS \(([^)]*)\) UID (\d+)", d)
        if m is None:
            continue
        if m.re.pattern.startswith(rb"UID"):
            out[int(m.group(1))] = m.group(2).decode().split()
        else:
            out[int(m.group(2))] = m.group(1).decode().split()
    return out


def test_poplib_download_and_delete(srv):
    deliver(srv, ["one", "two", "three"])
    p = srv.pop3()
    p.user(USER)
    p.pass_(PASSWORD)
    count, size = p.stat()
    assert count == 3
    resp, lines, octets = p.list()
    sizes = [int(l.split()[1]) for l in lines]
    assert sum(sizes) == size
    for n in (1, 2, 3):
        resp, body, octets = p.retr(n)
        assert b"Subject: " + [b"one", b"two", b"three"][n - 1] in body
        # poplib counts each line with its CRLF: the octets RETR sent
        assert octets == sizes[n - 1]
        assert resp == f"+OK {sizes[n - 1]} octets".encode()
    for n in (1, 2, 3):
        assert p.dele(n).startswith(b"+OK")
    assert p.stat() == (0, 0)
    assert p.quit().startswith(b"+OK")
    wait_until(lambda: srv.messages(USER) == [], what="messages expunged")
    p = srv.pop3()
    p.user(USER)
    p.pass_(PASSWORD)
    assert p.stat() == (0, 0)
    p.quit()


def test_sizes_match_retr_bytes(srv):
    # SMTP delivery (CRLF on disk), a hand-written LF-only file, a file
    # with mixed line ends, one without a final line end, an empty body
    deliver(srv, ["smtp"])
    files = [
        b"From: a@remote.test\nSubject: bare lf\n\nline one\nline two\n",
        b"From: a@remote.test\r\nSubject: mixed\n\r\nl1\r\nl2\nl3\r\n",
        b"Subject: no final newline\n\nlast line",
        b"Subject: only a header\n",
    ]
    for f in files:
        put_maildir_file(srv, USER, f)
    with raw(srv) as c:
        c.login()
        sizes = listing(c, "LIST")
        assert len(sizes) == 5
        total = c.cmd("STAT").split()
        assert int(total[2]) == sum(int(v) for v in sizes.values())
        seen = set()
        for n in range(1, 6):
            status, body = retr(c, n)
            data = unstuff(body)
            # which message is it (the store numbers them in its own order)
            k = next((k for k, f in enumerate(files)
                      if crlf(f).split(b"\r\n")[0:2] == data.split(b"\r\n")[0:2]), None)
            seen.add(k)
            if k == 2:
                # no final line end: the terminator needs one of its own
                assert int(sizes[n]) == len(data) - 2
                assert data[:-2] == crlf(files[2])
            else:
                assert int(sizes[n]) == len(data), (n, sizes[n], data)
                if k is not None:
                    assert data == crlf(files[k])
            assert status == f"+OK {sizes[n]} octets".encode()
            # single messages agree with the listing
            assert c.cmd(f"LIST {n}") == f"+OK {n} {sizes[n]}".encode()
        assert seen == {None, 0, 1, 2, 3}
        # the same sizes IMAP reports as RFC822.SIZE
        i = imap_login(srv)
        i.select("INBOX", readonly=True)
        typ, data = i.fetch("1:*", "(RFC822.SIZE)")
        imap_sizes = [int(re.search(rb"RFC822\.SIZE (\d+)", d).group(1)) for d in data]
        i.logout()
        assert imap_sizes == [int(sizes[n]) for n in range(1, 6)]


def test_byte_stuffing(srv):
    body = ".leading dot\r\n..two dots\r\n.\r\nnot.at start\r\n. space\r\n"
    deliver(srv, ["dots"], body=body)
    put_maildir_file(srv, USER, b"Subject: lf dots\n\n.\n..\n.x\n")
    with raw(srv) as c:
        c.login()
        smtp, lf = (1, 2) if b"Subject: dots" in retr(c, 1)[1] else (2, 1)
        status, stuffed = retr(c, smtp)
        assert b"\r\n..leading dot\r\n...two dots\r\n..\r\nnot.at start\r\n.. space\r\n" in stuffed
        assert unstuff(stuffed).endswith(body.encode())
        status, stuffed = retr(c, lf)
        assert stuffed == b"Subject: lf dots\r\n\r\n..\r\n...\r\n..x\r\n"
        # TOP stuffs too
        status, top = c.cmd_multi(f"TOP {lf} 1")
        assert top == b"Subject: lf dots\r\n\r\n..\r\n"


def test_top(srv):
    put_maildir_file(srv, USER, b"A: 1\r\nB: 2\r\n\r\nb1\r\nb2\r\nb3\r\n")
    with raw(srv) as c:
        c.login()
        assert c.cmd_multi("TOP 1 0")[1] == b"A: 1\r\nB: 2\r\n\r\n"
        assert c.cmd_multi("TOP 1 2")[1] == b"A: 1\r\nB: 2\r\n\r\nb1\r\nb2\r\n"
        assert c.cmd_multi("TOP 1 99")[1] == b"A: 1\r\nB: 2\r\n\r\nb1\r\nb2\r\nb3\r\n"
        assert c.cmd("TOP 1").startswith(b"-ERR")
        assert c.cmd("TOP 2 0").startswith(b"-ERR")
        assert c.cmd("TOP 1 x").startswith(b"-ERR")
        # TOP does not count as retrieving: no \Seen
        assert c.cmd("QUIT").startswith(b"+OK")
    assert all("\\Seen" not in f for f in imap_flags(srv).values())


def test_bad_message_numbers_and_deleted_messages(srv):
    deliver(srv, ["a", "b"])
    with raw(srv) as c:
        c.login()
        for cmd in ("RETR 0", "RETR 3", "RETR 4294967295", "RETR 99999999999999999999",
                    "LIST 3", "UIDL 0", "DELE 3", "TOP 5 1", "RETR x", "RETR -1",
                    "DELE", "LIST 1 2", "RETR 1 2"):
            r = c.cmd(cmd)
            assert r.startswith(b"-ERR"), (cmd, r)
        assert c.cmd("DELE 1").startswith(b"+OK")
        for cmd in ("RETR 1", "DELE 1", "LIST 1", "UIDL 1", "TOP 1 0"):
            r = c.cmd(cmd)
            assert r.startswith(b"-ERR"), (cmd, r)
        # deleted messages are left out of STAT, LIST and UIDL
        sizes = listing(c, "LIST")
        assert list(sizes) == [2]
        assert list(listing(c, "UIDL")) == [2]
        assert c.cmd("STAT") == f"+OK 1 {sizes[2]}".encode()
        # RSET brings it back
        assert c.cmd("RSET").startswith(b"+OK")
        assert list(listing(c, "LIST")) == [1, 2]
        assert c.cmd("NOOP") == b"+OK"
        assert c.cmd("QUIT").startswith(b"+OK")
    # nothing was deleted
    assert len(srv.messages(USER)) == 2


def test_dropped_connection_deletes_nothing(srv):
    deliver(srv, ["a", "b", "c"])
    uids = sorted(imap_flags(srv))
    with raw(srv) as c:
        c.login()
        retr(c, 2)
        for n in (1, 2, 3):
            assert c.cmd(f"DELE {n}").startswith(b"+OK")
        # the client goes away without QUIT
        c.sock.shutdown(socket.SHUT_RDWR)
    wait_until(lambda: "reason=eof" in srv.log_since_start(), what="the session's end")
    # RFC 1939 6: no UPDATE state; the message retrieved is \Seen
    flags = wait_until(lambda: (f := imap_flags(srv)) and "\\Seen" in f[uids[1]] and f,
                       what="\\Seen on the retrieved message")
    assert sorted(flags) == uids
    assert "\\Seen" not in flags[uids[0]] and "\\Seen" not in flags[uids[2]]
    assert not any("\\Deleted" in f for f in flags.values())
    # and the lock was given back
    with raw(srv) as c:
        c.login()
        assert c.cmd("STAT").startswith(b"+OK 3 ")


def test_quit_expunges_and_imap_sees_it(srv):
    deliver(srv, ["a", "b", "c", "d"])
    i = imap_login(srv)
    i.select("INBOX")
    typ, data = i.uid("SEARCH", "ALL")
    uids = [int(x) for x in data[0].split()]
    assert len(uids) == 4
    with raw(srv) as c:
        c.login()
        retr(c, 1)
        retr(c, 2)
        assert c.cmd("DELE 2").startswith(b"+OK")
        assert c.cmd("DELE 4").startswith(b"+OK")
        # nothing happens before QUIT
        i.noop()
        assert i.uid("SEARCH", "ALL")[1][0].split() == [str(u).encode() for u in uids]
        r = c.cmd("QUIT")
        assert r == b"+OK tern POP3 server signing off (2 messages left)"
        assert c.closed()
    # the IMAP session hears the expunges at its next command
    typ, data = i.noop()
    assert sorted(i.untagged_responses.get("EXPUNGE", [])) == [b"2", b"4"] or \
        i.uid("SEARCH", "ALL")[1][0].split() == [str(uids[0]).encode(), str(uids[2]).encode()]
    typ, data = i.uid("FETCH", "1:*", "(FLAGS)")
    text = b" ".join(d for d in data if d)
    assert f"UID {uids[0]} FLAGS (\\Seen)".encode() in text or \
        f"FLAGS (\\Seen) UID {uids[0]}".encode() in text
    assert len(srv.messages(USER)) == 2
    i.logout()


def test_maildrop_is_fixed_at_login(srv):
    deliver(srv, ["first"])
    with raw(srv) as c:
        c.login()
        assert c.cmd("STAT").startswith(b"+OK 1 ")
        deliver(srv, ["second"])
        # RFC 1939 8: the listing of this session does not change
        assert c.cmd("STAT").startswith(b"+OK 1 ")
        assert list(listing(c, "LIST")) == [1]
        assert c.cmd("RETR 2").startswith(b"-ERR")
        assert c.cmd("DELE 1").startswith(b"+OK")
        assert c.cmd("QUIT").startswith(b"+OK")
    with raw(srv) as c:
        c.login()
        status, body = retr(c, 1)
        assert b"Subject: second" in body
        assert c.cmd("STAT").startswith(b"+OK 1 ")


def test_in_use(srv):
    deliver(srv, ["a"])
    with raw(srv) as first:
        first.login()
        with raw(srv) as second:
            second.cmd(f"USER {USER}")
            r = second.cmd(f"PASS {PASSWORD}")
            # RFC 2449 8.1.2
            assert r.startswith(b"-ERR [IN-USE]"), r
            # still in AUTHORIZATION: it may try again later
            assert second.cmd("STAT").startswith(b"-ERR")
            # IMAP sessions of the same user keep working
            i = imap_login(srv)
            assert i.select("INBOX")[0] == "OK"
            i.logout()
            # another user is not affected
            with raw(srv) as bob:
                bob.login("bob@example.test", "bob pw")
            assert first.cmd("QUIT").startswith(b"+OK")
            assert first.closed()
            second.cmd(f"USER {USER}")
            assert second.cmd(f"PASS {PASSWORD}").startswith(b"+OK")


def test_uidl_unique_and_stable(srv):
    deliver(srv, ["a", "b", "c"])
    with raw(srv) as c:
        c.login()
        first = listing(c, "UIDL")
        assert len(set(first.values())) == 3
        for v in first.values():
            # RFC 1939 7: 1-70 characters of 0x21-0x7E
            assert 1 <= len(v) <= 70 and all(0x21 <= ord(ch) <= 0x7e for ch in v)
        assert c.cmd("UIDL 2") == f"+OK 2 {first[2]}".encode()
        assert c.cmd("DELE 1").startswith(b"+OK")
        assert c.cmd("QUIT").startswith(b"+OK")
    deliver(srv, ["d"])
    with raw(srv) as c:
        c.login()
        second = listing(c, "UIDL")
    assert [second[1], second[2]] == [first[2], first[3]]
    assert second[3] not in first.values()
    # across a restart
    srv.restart()
    with raw(srv) as c:
        c.login()
        assert listing(c, "UIDL") == second
    # across an index rebuild: the index is lost while the server is down
    srv.stop()
    md = srv.maildir(USER)
    for f in md.iterdir():
        if f.name.startswith("tern-index.db"):
            f.unlink()
    srv.start()
    with raw(srv) as c:
        c.login()
        assert listing(c, "UIDL") == second


def test_pipelining(srv):
    deliver(srv, ["a", "b"])
    with raw(srv) as c:
        # RFC 2449 6.6: commands sent together, answered in order
        c.send(f"USER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\nRETR 1\r\nUIDL 2\r\n"
               "DELE 2\r\nNOOP\r\nRSET\r\nTOP 2 0\r\nQUIT\r\n")
        assert c.line().startswith(b"+OK")
        assert c.line().startswith(b"+OK Logged in")
        assert c.line().startswith(b"+OK 2 ")
        assert c.line().startswith(b"+OK")
        assert len(c.multi().split(b"\r\n")) == 3
        assert c.line().startswith(b"+OK")
        assert b"Subject: a" in c.multi()
        assert c.line().startswith(b"+OK 2 ")
        assert c.line().startswith(b"+OK")
        assert c.line() == b"+OK"
        assert c.line().startswith(b"+OK")
        assert c.line().startswith(b"+OK")
        assert b"Subject: b" in c.multi()
        assert c.line().startswith(b"+OK")
        assert c.closed()
    assert len(srv.messages(USER)) == 2


def test_large_message_and_slow_reader(srv):
    # several RETR chunks; a line of dots at every chunk boundary region
    line = b"." + b"x" * 70 + b"\n"
    big = b"Subject: big\n\n" + line * 60000   # ~4.3 MB, bare LF
    put_maildir_file(srv, USER, big)
    with raw(srv) as c:
        c.login()
        size = int(c.cmd("LIST 1").split()[2])
        assert size == len(crlf(big))
        c.send("RETR 1\r\n")
        # read slowly at first: the server must wait, not buffer it all
        time.sleep(0.5)
        status = c.line()
        assert status == f"+OK {size} octets".encode()
        body = c.multi()
        assert unstuff(body) == crlf(big)
        status, top = c.cmd_multi("TOP 1 3")
        assert unstuff(top) == crlf(b"Subject: big\n\n" + line * 3)
        assert c.cmd("QUIT").startswith(b"+OK")


def test_many_messages_listing(srv):
    n = 3000
    for k in range(n):
        put_maildir_file(srv, USER, f"Subject: m{k}\n\nbody {k}\n".encode())
    with raw(srv) as c:
        c.login()
        sizes = listing(c, "LIST")
        uidls = listing(c, "UIDL")
        assert len(sizes) == n and len(set(uidls.values())) == n
        assert list(sizes) == list(range(1, n + 1))
        status, body = retr(c, n)
        assert b"body " in body
        assert c.cmd("STAT").startswith(f"+OK {n} ".encode())


def test_message_removed_by_imap_during_session(srv):
    deliver(srv, ["a", "b"])
    with raw(srv) as c:
        c.login()
        i = imap_login(srv)
        i.select("INBOX")
        i.store("1", "+FLAGS", "\\Deleted")
        i.expunge()
        i.logout()
        r = c.cmd("RETR 1")
        assert r.startswith(b"-ERR"), r
        # the session goes on
        status, body = retr(c, 2)
        assert b"Subject: b" in body
        assert c.cmd("DELE 1").startswith(b"+OK")
        assert c.cmd("QUIT").startswith(b"+OK")
    assert len(srv.messages(USER)) == 1


def test_retr_over_tls(srv):
    deliver(srv, ["secure"])
    for listener in ("pop3s", "pop3"):
        with raw(srv, listener) as c:
            if listener == "pop3":
                c.starttls()
            c.login()
            status, body = retr(c, 1)
            assert b"Subject: secure" in body
            assert c.cmd("QUIT").startswith(b"+OK")


def test_bad_input(srv):
    deliver(srv, ["a"])
    with raw(srv) as c:
        c.login()
        # an overlong line: -ERR, and the session goes on
        r = c.cmd("NOOP " + "x" * 20000)
        assert r.startswith(b"-ERR"), r
        assert c.cmd("NOOP") == b"+OK"
        # binary garbage
        assert c.cmd(b"\x00\xff\xfe\x01").startswith(b"-ERR")
        assert c.cmd(b"RETR \x001").startswith(b"-ERR")
        assert c.cmd("XTND XMIT").startswith(b"-ERR")
        assert c.cmd("STAT").startswith(b"+OK 1 ")
        assert c.cmd("QUIT").startswith(b"+OK")
    assert len(srv.messages(USER)) == 1


def test_too_many_bad_commands(servers):
    srv = servers.make(listeners=LISTENERS, limits={"bad_commands": 5})
    srv.add_user(USER, PASSWORD)
    srv.start()
    deliver(srv, ["a"])
    with raw(srv) as c:
        c.login()
        assert c.cmd("DELE 1").startswith(b"+OK")
        for k in range(4):
            assert c.cmd("BOGUS").startswith(b"-ERR")
        r = c.cmd("BOGUS")
        assert r.startswith(b"-ERR") and b"Too many" in r
        assert c.closed()
    # ended without QUIT: nothing deleted
    time.sleep(0.2)
    assert len(srv.messages(USER)) == 1


def test_idle_timeout_closes_without_update(servers):
    srv = servers.make(listeners=LISTENERS, limits={"pop3_timeout": "2s", "login_timeout": "1s"})
    srv.add_user(USER, PASSWORD)
    srv.start()
    deliver(srv, ["a"])
    with raw(srv) as c:
        # before login: the short timeout
        assert c.closed(timeout=15)
    with raw(srv) as c:
        c.login()
        assert c.cmd("DELE 1").startswith(b"+OK")
        # RFC 1939 3: the autologout timer closes without a response and
        # without the UPDATE state
        assert c.closed(timeout=15)
        assert c.buf == b""
    wait_until(lambda: "reason=timeout" in srv.log_since_start(), what="timeout logged")
    assert len(srv.messages(USER)) == 1


def test_shutdown_during_session(srv):
    deliver(srv, ["a"])
    with raw(srv) as c:
        c.login()
        assert c.cmd("DELE 1").startswith(b"+OK")
        assert srv.stop() == 0
        assert c.closed()
    srv.start()
    # a stop is not a QUIT: the message is still there
    assert len(srv.messages(USER)) == 1


def test_retr_in_any_order(srv):
    # the server reads messages ahead of a client going in order: every
    # order of RETR, TOP, DELE and RSET must still get the right message
    n = 60
    for k in range(1, n + 1):
        body = ("." * (k % 3) + f"line {k}\n") * (k * 40)
        put_maildir_file(srv, USER, f"Subject: m{k}\n\n{body}".encode())
    with raw(srv) as c:
        c.login()
        uidl = listing(c, "UIDL")
        order = {}
        for k in range(1, n + 1):
            status, body = c.cmd_multi(f"TOP {k} 0")
            order[int(re.search(rb"Subject: m(\d+)", body).group(1))] = k

        def check(k):
            status, body = retr(c, order[k])
            data = unstuff(body)
            assert data.startswith(f"Subject: m{k}\r\n\r\n".encode()), (k, data[:40])
            assert data.endswith(("." * (k % 3) + f"line {k}\r\n").encode())
            assert status == f"+OK {len(data)} octets".encode()

        # in order, then DELE of a message read ahead, out of order, back
        for k in range(1, 11):
            check(k)
        assert c.cmd(f"DELE {order[11]}").startswith(b"+OK")
        assert c.cmd(f"RETR {order[11]}").startswith(b"-ERR")
        check(12)
        check(30)
        check(13)
        status, body = c.cmd_multi(f"TOP {order[14]} 1")
        assert body.startswith(b"Subject: m14")
        check(14)
        assert c.cmd("RSET").startswith(b"+OK")
        check(11)
        # pipelined: RETRs and a QUIT sent at once while reading ahead
        batch = list(range(15, 41))
        c.send("".join(f"RETR {order[k]}\r\nDELE {order[k]}\r\n" for k in batch) + "QUIT\r\n")
        for k in batch:
            status = c.line()
            assert status.startswith(b"+OK"), (k, status)
            assert unstuff(c.multi()).startswith(f"Subject: m{k}\r\n".encode())
            assert c.line().startswith(b"+OK")
        assert c.line() == f"+OK tern POP3 server signing off ({n - len(batch)} messages left)".encode()
        assert c.closed()
    with raw(srv) as c:
        c.login()
        left = listing(c, "UIDL")
        assert sorted(left.values()) == sorted(v for k, v in uidl.items()
                                               if k not in {order[b] for b in batch})
