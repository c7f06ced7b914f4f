"""Limits with clear replies (issue 3 "Limits", docs/config.md [limits]):
recipients per message, command line length, bad commands in a row,
connections per client address, Received hop count, idle timeout. Each
test sets a small limit in its own server's config."""
import socket
import time

import pytest

from ternserver import Closed, make_message, servers, wait_until  # noqa: F401

ALICE = "alice@example.test"
USERS = {ALICE: "alice-pw"}


def test_recipient_limit(servers):
    srv = servers.start(users=USERS, limits={"recipients": 3},
                        aliases={f"a{i}@example.test": [ALICE] for i in range(5)})
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        codes = [c.cmd(f"RCPT TO:<a{i}@example.test>") for i in range(5)]
        assert [r.code for r in codes[:3]] == [250, 250, 250]
        # RFC 5321 4.5.3.1.10: 452 for too many recipients; RFC 3463 5.5.3
        for r in codes[3:]:
            assert r.code == 452 and r.enhanced in ("4.5.3", "5.5.3"), r
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: limited\r\n\r\nx\r\n.\r\n")
        assert c.reply().code == 250
        # the limit is per message: a new one may have 3 again
        assert c.mail("s@remote.test", ["a0@example.test", "a1@example.test", "a2@example.test"],
                      make_message("again")).code == 250
    srv.wait_queue_empty()
    assert len(srv.messages(ALICE)) == 2


def test_recipient_limit_default_100(servers):
    srv = servers.start(users=USERS)
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        batch = "".join(f"RCPT TO:<alice+{i}@example.test>\r\n" for i in range(101))
        c.send(batch)
        codes = [c.reply().code for _ in range(101)]
        assert codes[:100] == [250] * 100
        assert codes[100] == 452


def test_overlong_command_line(servers):
    srv = servers.start(users=USERS, limits={"line_length": 512})
    with srv.raw() as c:
        c.ehlo()
        c.send(b"NOOP " + b"x" * 2000 + b"\r\n")
        try:
            r = c.reply()
        except Closed:
            r = None
        if r is not None:
            # RFC 5321 4.5.3.1.4 / 4.2.2: 500 line too long
            assert r.code == 500 and r.enhanced.startswith("5.5."), r
            # the rest of the long line is not taken for commands
            r = c.cmd("NOOP")
            assert r.code == 250, r
    # a line just inside the limit is fine
    with srv.raw() as c:
        assert c.cmd("NOOP " + "y" * 500).code == 250


def test_endless_line_without_newline(servers):
    srv = servers.start(users=USERS, limits={"line_length": 512})
    with srv.raw() as c:
        c.sock.settimeout(10)
        sent = 0
        try:
            for _ in range(64):  # up to 4 MiB, stops when the server gives up
                c.sock.sendall(b"A" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        # either a 500 and close, or a plain close: never an endless buffer
        try:
            r = c.reply()
            assert r.code in (500, 421), r
        except Closed:
            pass
    with srv.raw() as c:
        assert c.cmd("NOOP").code == 250


def test_bad_commands_disconnect(servers):
    srv = servers.start(users=USERS, limits={"bad_commands": 3})
    with srv.raw() as c:
        codes = []
        try:
            for i in range(10):
                codes.append(c.cmd(f"BOGUS{i}").code)
                if codes[-1] == 421:
                    break
        except Closed:
            codes.append("closed")
        assert codes[0] == 500
        # RFC 5321 3.8: 421 and the server closes
        assert codes[-1] in (421, "closed"), codes
        assert len(codes) <= 5, codes
        assert c.closed()
    with srv.raw() as c:
        assert c.cmd("NOOP").code == 250


def test_good_commands_reset_bad_count(servers):
    srv = servers.start(users=USERS, limits={"bad_commands": 3})
    with srv.raw() as c:
        for _ in range(5):
            assert c.cmd("BOGUS").code == 500
            assert c.cmd("BOGUS").code == 500
            assert c.cmd("NOOP").code == 250


def test_connections_per_ip(servers):
    srv = servers.start(users=USERS, limits={"connections_per_ip": 3})
    conns = [srv.raw() for _ in range(3)]
    try:
        for c in conns:
            assert c.greeting.code == 220
        # the 4th: 421 and closed (RFC 5321 3.1, 4.2.4)
        try:
            extra = srv.raw()
            assert extra.greeting.code == 421, extra.greeting
            assert extra.greeting.enhanced.startswith("4."), extra.greeting
            assert extra.closed()
            extra.close()
        except (Closed, ConnectionError):
            pass
        # another client address is not affected
        with srv.raw(source="127.0.0.9") as other:
            assert other.greeting.code == 220
        # after one closes, a new connection is taken again
        conns[0].cmd("QUIT")
        conns[0].close()

        def fresh():
            try:
                c = srv.raw()
            except (Closed, ConnectionError):
                return None
            if c.greeting.code == 220:
                conns.append(c)
                return c
            c.close()
            return None
        wait_until(fresh, timeout=10, interval=0.1, what="a free connection slot")
    finally:
        for c in conns:
            c.close()


@pytest.mark.parametrize("hops,ok", [(3, True), (5, True), (6, False), (12, False)])
def test_hop_count(servers, hops, ok):
    srv = servers.start(users=USERS, limits={"hops": 5})
    received = "".join(f"Received: from h{i}.test by h{i + 1}.test; Mon, 23 Nov 2026 10:00:0{i % 10} +0000\r\n"
                       for i in range(hops))
    msg = (received + "Subject: hops\r\n\r\nx\r\n").encode()
    with srv.raw() as c:
        c.ehlo()
        r = c.mail("s@remote.test", [ALICE], msg)
        if ok:
            assert r.code == 250, r
        else:
            # RFC 5321 6.3: a loop; RFC 3463 5.4.6 routing loop
            assert r.code == 554 and r.enhanced == "5.4.6", r
        assert c.cmd("NOOP").code == 250
    srv.stop()
    assert len(srv.messages(ALICE)) == (1 if ok else 0)


def test_idle_timeout(servers):
    srv = servers.start(users=USERS, limits={"smtp_timeout": "1s"})
    with srv.raw() as c:
        c.ehlo()
        c.sock.settimeout(15)
        # RFC 5321 4.5.3.2.7 (and 3.8): the server may close an idle session, 421 first
        try:
            r = c.reply()
            assert r.code == 421 and r.enhanced.startswith("4."), r
        except Closed:
            pass
        assert c.closed()


def test_timeout_mid_data_leaves_nothing(servers):
    srv = servers.start(users=USERS, limits={"smtp_timeout": "1s"})
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: half\r\n\r\nsome text\r\n")
        c.sock.settimeout(15)
        assert c.closed(timeout=15)
    wait_until(lambda: srv.queue_files("tmp") == [], what="queue/tmp emptied")
    srv.stop()
    assert srv.messages(ALICE) == []
    assert srv.queue_files("msg") == []


def test_total_connections_make_room(servers):
    """At the server-wide limit an idle session (no transaction) is closed
    to admit a new client (Postfix's stress mode), oldest first."""
    srv = servers.start(users=USERS, limits={"connections": 2})
    a, b = srv.raw(), srv.raw(source="127.0.0.10")
    try:
        assert a.greeting.code == 220 and b.greeting.code == 220
        with srv.raw(source="127.0.0.11") as c:
            assert c.greeting.code == 220, c.greeting
            assert c.cmd("NOOP").code == 250
            # the oldest idle session made room: it got a 421 and was closed
            r = a.reply()
            assert r.code == 421 and r.enhanced == "4.7.0", r
            assert a.closed()
            assert b.cmd("NOOP").code == 250
        wait_until(lambda: "stress close session=" in srv.log(), what="stress close logged")
    finally:
        a.close()
        b.close()


def test_total_connections_all_busy(servers):
    """When every session is in a transaction, nobody is closed: the new
    client is refused."""
    srv = servers.start(users=USERS, limits={"connections": 2})
    a, b = srv.raw(), srv.raw(source="127.0.0.10")
    try:
        for x in (a, b):
            x.ehlo()
            assert x.cmd("MAIL FROM:<x@remote.test>").code == 250
        try:
            with srv.raw(source="127.0.0.11") as c:
                assert c.greeting.code == 421, c.greeting
                assert c.closed()
        except (Closed, ConnectionError):
            pass
        assert a.cmd("NOOP").code == 250
        assert b.cmd("NOOP").code == 250
    finally:
        a.close()
        b.close()


def test_session_timeout(servers):
    srv = servers.start(users=USERS, limits={"session_timeout": "1s"})
    with srv.raw() as c:
        c.ehlo()
        # busy all the time, yet the session has an end (bounded: 15 s)
        got = None
        for _ in range(150):
            try:
                r = c.cmd("NOOP")
            except Closed:
                got = "closed"
                break
            if r.code == 421:
                got = r
                assert r.enhanced.startswith("4."), r
                break
            time.sleep(0.1)
        assert got is not None, "session_timeout never ended the session"
