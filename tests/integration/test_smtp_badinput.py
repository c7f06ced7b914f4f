"""Hostile and broken clients (issue 3 "Bad input"): NUL and 8-bit bytes in
commands, bare LF in DATA (and SMTP smuggling through it), garbage after
DATA, clients that vanish mid-message, clients that never read replies,
thousands of pipelined commands. Each gets a clear error or a clean close,
the server stays up, serves others, and leaves nothing behind."""
import os
import socket
import time

import pytest

from ternserver import make_message, servers, wait_until  # noqa: F401

ALICE = "alice@example.test"
USERS = {ALICE: "alice-pw"}


@pytest.fixture
def srv(servers):
    return servers.start(users=USERS)


def still_serving(srv, subject="still up"):
    with srv.raw() as c:
        c.ehlo()
        assert c.mail("s@remote.test", [ALICE], make_message(subject)).code == 250
    return srv


@pytest.mark.parametrize("line", [
    b"NO\x00OP",
    b"EHLO a\x00b.test",
    b"MAIL FROM:<a\x00b@remote.test>",
    b"HELO h\xe9llo.test",
    b"NOOP \xff\xfe",
    b"\xc3\xa9HLO x.test",
    b"\x00\x00\x00\x00",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",   # a TLS hello on a plain port
])
def test_nul_and_8bit_in_commands(srv, line):
    with srv.raw() as c:
        c.ehlo()
        r = c.cmd(line)
        assert r.code in (500, 501, 553, 555), r
        assert r.enhanced and r.enhanced.startswith("5."), r
        assert c.cmd("NOOP").code == 250
    assert srv.alive()


def test_8bit_address_without_smtputf8(srv):
    with srv.raw() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<j\u00f6rg@remote.test>".encode())
        # RFC 6531 3.4: needs the SMTPUTF8 parameter
        assert r.code in (501, 550, 553, 555), r
        assert r.enhanced.startswith("5.")


def test_nul_in_data_is_stored_or_refused(srv):
    msg = b"Subject: nul\r\n\r\nbefore\x00after\r\n"
    with srv.raw() as c:
        c.ehlo()
        r = c.mail("s@remote.test", [ALICE], msg)
        assert r.code in (250, 550, 554), r
    srv.stop()
    files = srv.messages(ALICE)
    if r.code == 250:
        assert len(files) == 1
    else:
        assert files == []


def test_bare_lf_in_data(srv):
    """RFC 5321 2.3.8: bare LF is not a line end; the server either keeps
    the message (stored as received) or refuses it, but never takes
    "<LF>.<LF>" or "<LF>.<CRLF>" for the end of the data."""
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: bare lf\r\n\r\nline one\nline two\r\n.\r\n")
        r = c.reply()
        assert r.code in (250, 550, 554), r
        assert c.cmd("NOOP").code == 250
    srv.stop()
    files = srv.messages(ALICE)
    assert len(files) == (1 if r.code == 250 else 0)


@pytest.mark.parametrize("end", [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n"])
def test_smtp_smuggling(srv, end):
    """A bare-LF (or bare-CR) "end of data" followed by a smuggled second
    transaction: at most one message comes out, never the smuggled one."""
    smuggled = (b"MAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                b"Subject: SMUGGLED\r\n\r\nevil\r\n")
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: carrier\r\n\r\nhello" + end + smuggled + b".\r\n")
        r = c.reply()
        assert r.code in (250, 550, 554), r
        # no replies for the smuggled commands
        assert c.cmd("NOOP").code == 250
    srv.stop()
    files = srv.messages(ALICE)
    assert len(files) <= 1
    for f in files:
        msg = srv.parsed(f)
        assert msg["Subject"] == "carrier"
        assert msg["Return-Path"].strip() == "<s@remote.test>"


def test_garbage_after_data(srv):
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        r = c.cmd("DATA garbage")
        # RFC 5321 4.1.1.4: DATA has no arguments
        assert r.code == 501 and r.enhanced.startswith("5.5."), r
        assert c.cmd("DATA").code == 354
        # garbage after the final dot is commands, not message
        c.send(b"Subject: g\r\n\r\nbody\r\n.\r\ngarbage here\r\n\x01\x02\r\nNOOP\r\n")
        assert c.reply().code == 250
        assert c.reply().code == 500
        assert c.reply().code in (500, 501)
        assert c.reply().code == 250
    data = srv.wait_messages(ALICE, 1)[0].read_bytes()
    assert b"garbage" not in data


def wait_no_leftovers(srv):
    # a reception in progress is msg/<id> without an envelope: gone on abort
    wait_until(lambda: srv.queue_files("tmp") == [] and srv.queue_files("msg") == [],
               timeout=10, what="queue emptied of the aborted reception")
    # a new session is served after the vanished one was cleaned up
    with srv.raw() as c:
        assert c.cmd("NOOP").code == 250
    srv.stop()
    assert srv.all_maildir_files() == []
    assert srv.queue_files("tmp") == []
    assert srv.queue_files("msg") == []
    assert srv.queue_files("env") == []


@pytest.mark.parametrize("how", ["close", "reset"])
def test_client_vanishes_mid_data(srv, how):
    c = srv.raw()
    c.ehlo()
    assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
    assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
    assert c.cmd("DATA").code == 354
    c.send(b"Subject: half\r\n\r\n" + b"some text\r\n" * 5000)
    if how == "reset":
        # RST instead of FIN
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    wait_no_leftovers(srv)


def test_client_vanishes_mid_bdat(srv):
    c = srv.raw()
    c.ehlo()
    assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
    assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
    c.send(b"BDAT 100\r\n" + b"x" * 100)
    assert c.reply().code == 250
    c.send(b"BDAT 100000 LAST\r\n" + b"y" * 500)
    c.close()
    wait_no_leftovers(srv)


def test_client_vanishes_after_dot_before_reading(srv):
    """The data is complete when the client goes: the message may be
    accepted (then it is delivered once) or dropped, never half-kept."""
    c = srv.raw()
    c.ehlo()
    assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
    assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
    assert c.cmd("DATA").code == 354
    c.send(b"Subject: complete\r\n\r\nbody\r\n.\r\n")
    c.close()
    time.sleep(0.5)
    srv.wait_queue_empty()
    srv.stop()
    assert len(srv.messages(ALICE)) <= 1
    assert srv.queue_files("tmp") == []
    assert srv.queue_files("msg") == []


def test_thousands_of_pipelined_commands(srv):
    n = 5000
    with srv.raw() as c:
        c.ehlo()
        c.send(b"NOOP\r\n" * n + b"RSET\r\n" * n)
        for i in range(2 * n):
            assert c.reply().code == 250, i
        assert c.cmd("QUIT").code == 221


def test_client_never_reads_replies(srv):
    """A client writes commands and never reads: the server must not buffer
    without bound nor block others. It may stop reading (TCP back pressure)
    or close the connection."""
    hog = socket.create_connection((srv.host, srv.port()), timeout=10)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.setblocking(False)
    # HELP answers ~25 times its size: a server that kept reading without
    # back pressure would hold hundreds of MiB of replies
    chunk = b"NOOP\r\n" * 10000 + b"HELP\r\n" * 5000
    sent = 0
    deadline = time.monotonic() + 8
    blocked_since = None
    while sent < 40 * 1024 * 1024 and time.monotonic() < deadline:
        try:
            sent += hog.send(chunk)
            blocked_since = None
        except BlockingIOError:
            now = time.monotonic()
            blocked_since = blocked_since or now
            if now - blocked_since > 1.0:
                break  # the server stopped reading: back pressure works
            time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            break
    try:
        # meanwhile others are served, and the server is alive
        still_serving(srv, "while hogged")
        srv.wait_messages(ALICE, 1)
        assert srv.alive()
        # the server's memory stays bounded (VmRSS under 256 MiB)
        status = open(f"/proc/{srv.proc.pid}/status").read()
        rss_kb = int(next(l for l in status.splitlines() if l.startswith("VmRSS:")).split()[1])
        assert rss_kb < 256 * 1024, rss_kb
    finally:
        hog.close()
    still_serving(srv, "after hog")


def test_random_garbage_connections(srv):
    rnd = os.urandom(200000)
    for i in range(10):
        s = socket.create_connection((srv.host, srv.port()), timeout=10)
        try:
            s.sendall(rnd[i * 20000:(i + 1) * 20000])
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.close()
    for listener in ("submission", "submissions"):
        s = socket.create_connection((srv.host, srv.port(listener)), timeout=10)
        try:
            s.sendall(rnd[:5000])
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.close()
    assert srv.alive()
    still_serving(srv)
    srv.wait_messages(ALICE, 1)


def test_many_idle_connections_then_work(srv):
    conns = []
    try:
        for _ in range(15):
            conns.append(socket.create_connection((srv.host, srv.port()), timeout=10))
        still_serving(srv, "with idle")
        srv.wait_messages(ALICE, 1)
    finally:
        for s in conns:
            s.close()
