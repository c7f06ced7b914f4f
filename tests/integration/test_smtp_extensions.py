"""The ESMTP extensions advertised by `tern serve`: PIPELINING (RFC 2920),
SIZE (1870), 8BITMIME (6152), STARTTLS (3207), SMTPUTF8 (6531), CHUNKING
(3030) and DSN (3461). Raw sockets, so that what goes over the wire is
exactly what each RFC describes."""
import ssl

import pytest

from ternserver import (Closed, client_tls_context, make_message, servers, unfold,  # noqa: F401
                        wait_until)

ALICE = "alice@example.test"
BOB = "bob@example.test"
USERS = {ALICE: "alice-pw", BOB: "bob-pw"}


@pytest.fixture
def srv(servers):
    return servers.start(users=USERS)


# --- PIPELINING ----------------------------------------------------------

def test_pipelining_group(srv):
    """RFC 2920 3.1: MAIL, RCPTs and DATA in one write; replies in order."""
    with srv.raw() as c:
        c.ehlo()
        c.send(f"MAIL FROM:<s@remote.test>\r\nRCPT TO:<{ALICE}>\r\n"
               f"RCPT TO:<nosuch@example.test>\r\nRCPT TO:<{BOB}>\r\nDATA\r\n")
        codes = [c.reply().code for _ in range(5)]
        assert codes == [250, 250, 550, 250, 354]
        c.send(b"Subject: piped\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n")
        assert [c.reply().code for _ in range(3)] == [250, 250, 221]
    srv.wait_messages(ALICE, 1)
    srv.wait_messages(BOB, 1)


def test_pipelining_whole_session_one_write(srv):
    """Everything, the message included, in one write: the server answers
    DATA with 354 and takes what follows as the message (RFC 2920 3.1 lets
    the client wait; a server must cope when it does not)."""
    with srv.raw(greeting=False) as c:
        c.send(f"EHLO client.test\r\nMAIL FROM:<s@remote.test>\r\nRCPT TO:<{ALICE}>\r\n"
               "DATA\r\nSubject: one write\r\n\r\nall at once\r\n.\r\n"
               f"MAIL FROM:<t@remote.test>\r\nRCPT TO:<{BOB}>\r\nDATA\r\n"
               "Subject: second\r\n\r\nx\r\n.\r\nQUIT\r\n")
        codes = [c.reply().code for _ in range(10)]
        assert codes == [220, 250, 250, 250, 354, 250, 250, 250, 354, 250]
        assert c.reply().code == 221
    assert b"all at once" in srv.wait_messages(ALICE, 1)[0].read_bytes()
    srv.wait_messages(BOB, 1)


def test_pipelining_many_transactions(srv):
    n = 50
    with srv.raw() as c:
        c.ehlo()
        batch = b""
        for i in range(n):
            batch += (f"MAIL FROM:<s@remote.test>\r\nRCPT TO:<{ALICE}>\r\nDATA\r\n"
                      f"Subject: batch {i}\r\n\r\nx\r\n.\r\n").encode()
        c.send(batch)
        for i in range(n):
            assert [c.reply().code for _ in range(4)] == [250, 250, 354, 250], i
    srv.wait_messages(ALICE, n)
    srv.wait_queue_empty()
    assert len(srv.messages(ALICE)) == n


# --- SIZE ----------------------------------------------------------------

@pytest.fixture
def small(servers):
    return servers.start(users=USERS, limits={"message_size": 4096})


def test_size_param_too_big(small):
    with small.raw() as c:
        c.ehlo()
        # RFC 1870 6.1: 552 at MAIL when the declared size exceeds the limit
        r = c.cmd("MAIL FROM:<s@remote.test> SIZE=5000")
        assert r.code == 552 and r.enhanced == "5.3.4", r
        r = c.cmd("MAIL FROM:<s@remote.test> SIZE=99999999999999999999999")
        assert r.code in (552, 501), r
        r = c.cmd("MAIL FROM:<s@remote.test> SIZE=abc")
        assert r.code == 501 and r.enhanced.startswith("5.5."), r
        r = c.cmd("MAIL FROM:<s@remote.test> SIZE=1000")
        assert r.code == 250, r


def test_size_exceeded_at_end_of_data(small):
    big = make_message("big", body="x" * 70 + "\r\n") + (("y" * 78 + "\r\n") * 80).encode()
    with small.raw() as c:
        c.ehlo()
        # declared small, sent big: 552 after the final dot (RFC 1870 6.2)
        r = c.mail("s@remote.test", [ALICE], big, mail_params="SIZE=100")
        assert r.code == 552 and r.enhanced == "5.3.4", r
        # the session goes on and a message that fits is taken
        r = c.mail("s@remote.test", [ALICE], make_message("fits"))
        assert r.code == 250, r
    files = small.wait_messages(ALICE, 1)
    small.wait_queue_empty()
    assert len(small.messages(ALICE)) == 1
    assert b"fits" in files[0].read_bytes()
    assert small.queue_files("tmp") == []


def test_size_exceeded_with_bdat(small):
    chunk = b"z" * 3000
    with small.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        c.send(b"BDAT 3000\r\n" + chunk)
        r1 = c.reply()
        c.send(b"BDAT 3000 LAST\r\n" + chunk)
        r2 = c.reply()
        # the limit is hit during the second chunk: 552 at the latest at LAST
        assert r1.code == 250, r1
        assert r2.code == 552 and r2.enhanced == "5.3.4", (r1, r2)
        assert c.cmd("NOOP").code == 250
    assert small.messages(ALICE) == []


# --- 8BITMIME --------------------------------------------------------------

def test_8bitmime(srv):
    body = "Gr\u00fc\u00dfe, caf\u00e9 \u2014 \u65e5\u672c\r\n".encode()
    msg = (b"Subject: 8bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body)
    with srv.raw() as c:
        c.ehlo()
        assert c.mail("s@remote.test", [ALICE], msg, mail_params="BODY=8BITMIME").code == 250
        assert c.mail("s@remote.test", [BOB], b"Subject: 7\r\n\r\nplain\r\n",
                      mail_params="BODY=7BIT").code == 250
        r = c.cmd("MAIL FROM:<s@remote.test> BODY=9BIT")
        assert r.code in (501, 555) and r.enhanced.startswith("5.5."), r
    data = srv.wait_messages(ALICE, 1)[0].read_bytes()
    # 8-bit bytes stored untouched
    assert unfold(data).endswith(unfold(msg))
    srv.wait_messages(BOB, 1)


# --- STARTTLS --------------------------------------------------------------

def test_starttls_then_ehlo(srv):
    with srv.raw() as c:
        r = c.ehlo()
        assert any(l.upper() == "STARTTLS" for l in r.lines[1:])
        r = c.starttls()
        assert r.enhanced == "2.0.0"
        version = c.sock.version()
        assert version in ("TLSv1.2", "TLSv1.3")
        # RFC 3207 4.2: state is reset; the client must EHLO again
        r = c.cmd("MAIL FROM:<s@remote.test>")
        assert r.code == 503, r
        r = c.ehlo()
        kws = [l.split(" ", 1)[0].upper() for l in r.lines[1:]]
        assert "STARTTLS" not in kws
        assert "AUTH" in kws
        r = c.cmd("STARTTLS")
        assert r.code in (503, 554) or r.code >= 500, r
        assert c.mail("s@remote.test", [ALICE], make_message("over tls")).code == 250
    msg = srv.parsed(srv.wait_messages(ALICE, 1)[0])
    rec = " ".join(str(msg["Received"]).split())
    assert "with ESMTPS" in rec
    assert version in rec or version.replace("v", " ") in rec or "TLS" in rec


def test_starttls_with_argument(srv):
    with srv.raw() as c:
        c.ehlo()
        r = c.cmd("STARTTLS now")
        assert r.code == 501 and r.enhanced.startswith("5.5."), r


def test_starttls_plaintext_injection_discarded(srv):
    """CVE-2011-0411 style: commands sent in clear after STARTTLS in the same
    packet must not be run inside the TLS session."""
    with srv.raw() as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nHELP\r\n")
        r = c.reply()
        assert r.code == 220
        try:
            c.sock = client_tls_context().wrap_socket(c.sock)
            r = c.cmd("NOOP")
        except (ssl.SSLError, Closed, ConnectionError):
            return  # refusing the session is fine too
        assert r.code == 250, f"injected command answered inside TLS: {r}"


def test_starttls_garbage_handshake(srv):
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("STARTTLS").code == 220
        c.send(b"this is not a TLS client hello\r\n" * 10)
        assert c.closed()
    # the server is still there
    with srv.raw() as c:
        assert c.cmd("NOOP").code == 250


def test_submissions_implicit_tls(srv):
    with srv.raw("submissions") as c:
        assert c.greeting.code == 220
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
        r = c.ehlo()
        kws = [l.split(" ", 1)[0].upper() for l in r.lines[1:]]
        assert "STARTTLS" not in kws
        assert "AUTH" in kws


def test_self_signed_certificate_made(srv):
    with srv.raw() as c:
        c.ehlo()
        c.starttls()
        cert = c.sock.getpeercert(binary_form=True)
        assert cert
    pems = [p for p in srv.data_dir.rglob("*.pem")] + [p for p in srv.data_dir.rglob("*.crt")]
    assert pems, "no self-signed certificate in data_dir"


# --- SMTPUTF8 --------------------------------------------------------------

def test_smtputf8_delivery(servers):
    user = "j\u00f6rg@example.test"
    srv = servers.start(users={user: "pw", ALICE: "pw"})
    msg = ("From: \u00fc\u00e9@remote.test\r\nTo: " + user +
           "\r\nSubject: \u00fcnicode\r\n\r\nhi\r\n").encode()
    with srv.raw() as c:
        c.ehlo()
        r = c.mail("\u00fc\u00e9@remote.test", [user], msg, mail_params="SMTPUTF8")
        assert r.code == 250, r
        # RFC 6531 3.4: without SMTPUTF8 a non-ASCII address is refused
        r = c.cmd("MAIL FROM:<\u00fc@remote.test>".encode())
        if r.code == 250:
            r = c.cmd(f"RCPT TO:<{user}>".encode())
            assert r.code >= 500, r
            c.cmd("RSET")
        else:
            assert r.code in (501, 550, 553, 555), r
            assert r.enhanced.startswith("5."), r
    files = srv.wait_messages(user, 1)
    assert srv.maildir(user).name == "j\u00f6rg"
    data = files[0].read_bytes()
    assert unfold(msg) in unfold(data)
    parsed = srv.parsed(files[0])
    assert parsed["Return-Path"].strip() == "<\u00fc\u00e9@remote.test>"
    assert parsed["Delivered-To"].strip() == user


def test_smtputf8_received_protocol(servers):
    # RFC 6531 3.7.3 and 4.3: the WITH clause says UTF8SMTP (UTF8SMTPS,
    # UTF8SMTPA, UTF8SMTPSA) when the SMTPUTF8 parameter was used
    user = "j\u00f6rg@example.test"
    srv = servers.start(users={user: "pw"})
    with srv.raw() as c:
        c.ehlo()
        r = c.mail("\u00fc@remote.test", [user], "Subject: u\r\n\r\nx\r\n".encode(),
                   mail_params="SMTPUTF8")
        assert r.code == 250
    parsed = srv.parsed(srv.wait_messages(user, 1)[0])
    assert "with UTF8SMTP" in " ".join(str(parsed["Received"]).split())


def test_smtputf8_invalid_utf8_refused(srv):
    with srv.raw() as c:
        c.ehlo()
        r = c.cmd(b"MAIL FROM:<\xff\xfe@remote.test> SMTPUTF8")
        assert r.code >= 500, r
        assert c.cmd("NOOP").code == 250


# --- CHUNKING / BDAT ---------------------------------------------------------

def test_bdat_chunks(srv):
    part1 = b"Subject: chunked\r\n\r\n"
    part2 = b"line with\r\n.\r\nno dot transparency in BDAT\r\n"
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        c.send(f"BDAT {len(part1)}\r\n".encode() + part1)
        r = c.reply()
        assert r.code == 250 and r.enhanced.startswith("2."), r
        c.send(f"BDAT {len(part2)}\r\n".encode() + part2)
        assert c.reply().code == 250
        r = c.cmd("BDAT 0 LAST")
        assert r.code == 250 and r.enhanced == "2.0.0", r
    data = srv.wait_messages(ALICE, 1)[0].read_bytes()
    # RFC 3030 2: the chunks are the message, byte for byte ("." untouched)
    assert unfold(data).endswith(unfold(part1 + part2))


def test_bdat_last_pipelined(srv):
    body = b"Subject: one chunk\r\n\r\nbody\r\n"
    with srv.raw() as c:
        c.ehlo()
        c.send(f"MAIL FROM:<s@remote.test>\r\nRCPT TO:<{ALICE}>\r\nBDAT {len(body)} LAST\r\n".encode()
               + body + b"QUIT\r\n")
        assert [c.reply().code for _ in range(4)] == [250, 250, 250, 221]
    assert unfold(srv.wait_messages(ALICE, 1)[0].read_bytes()).endswith(unfold(body))


def test_bdat_then_data_refused(srv):
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        c.send(b"BDAT 5\r\nhello")
        assert c.reply().code == 250
        # RFC 3030 2: DATA inside a BDAT transaction is a sequence error
        r = c.cmd("DATA")
        assert r.code == 503 and r.enhanced == "5.5.1", r
    srv.stop()
    assert srv.messages(ALICE) == []


def test_bdat_sequence_and_syntax(srv):
    with srv.raw() as c:
        c.ehlo()
        r = c.cmd("BDAT 0 LAST")
        assert r.code == 503, r
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        # a size that parses comes with its chunk, which the server must
        # read and throw away (RFC 3030 2: the chunk always follows)
        for bad, chunk in (("BDAT", b""), ("BDAT x", b""), ("BDAT -1", b""),
                           ("BDAT 5 FIRST", b"xxxxx")):
            c.send(bad.encode() + b"\r\n" + chunk)
            r = c.reply()
            assert r.code == 501 and r.enhanced.startswith("5.5."), (bad, r)
            # a refused BDAT may end the transaction (RFC 3030 3); start over
            c.cmd("RSET")
            assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
            assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        c.send(b"BDAT 10 LAST\r\nSubject: x")
        # wait: 10 bytes sent, the reply is the message's
        assert c.reply().code == 250
    srv.wait_messages(ALICE, 1)


def test_bdat_binary_body(srv):
    body = b"Subject: bin\r\n\r\n" + bytes(range(1, 256)) + b"\r\n"
    with srv.raw() as c:
        c.ehlo()
        c.send(f"MAIL FROM:<s@remote.test> BODY=8BITMIME\r\nRCPT TO:<{ALICE}>\r\n"
               f"BDAT {len(body)} LAST\r\n".encode() + body)
        assert [c.reply().code for _ in range(3)] == [250, 250, 250]
    data = srv.wait_messages(ALICE, 1)[0].read_bytes()
    assert bytes(range(1, 10)) in data or bytes(range(14, 255)) in data


# --- DSN ---------------------------------------------------------------------

def test_dsn_params_accepted(srv):
    with srv.raw() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<s@remote.test> RET=HDRS ENVID=QQ+2Bid")
        assert r.code == 250, r
        r = c.cmd(f"RCPT TO:<{ALICE}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;{ALICE}")
        assert r.code == 250, r
        r = c.cmd(f"RCPT TO:<{BOB}> NOTIFY=NEVER")
        assert r.code == 250, r
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: dsn\r\n\r\nx\r\n.\r\n")
        assert c.reply().code == 250
    srv.wait_messages(ALICE, 1)
    srv.wait_messages(BOB, 1)


@pytest.mark.parametrize("cmd", [
    "MAIL FROM:<s@remote.test> RET=ALL",
    "MAIL FROM:<s@remote.test> RET=HDRS RET=FULL",
    f"RCPT TO:<{ALICE}> NOTIFY=NEVER,SUCCESS",
    f"RCPT TO:<{ALICE}> NOTIFY=SOMETIMES",
    f"RCPT TO:<{ALICE}> ORCPT=bogus",
])
def test_dsn_bad_params(srv, cmd):
    with srv.raw() as c:
        c.ehlo()
        if cmd.startswith("RCPT"):
            assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        r = c.cmd(cmd)
        assert r.code in (501, 555), r
        assert r.enhanced.startswith("5.5.")


def test_dsn_params_kept_in_queue(servers):
    """RFC 3461: NOTIFY, ORCPT, ENVID and RET stay with the queued message
    for the outbound side; a remote recipient waits in queue/env."""
    srv = servers.start(users=USERS)
    with srv.raw("submission") as c:
        c.ehlo()
        assert c.auth_plain(ALICE, "alice-pw").code == 235
        assert c.cmd("MAIL FROM:<alice@example.test> RET=HDRS ENVID=env+2B1").code == 250
        assert c.cmd("RCPT TO:<far@remote.test> NOTIFY=SUCCESS,FAILURE "
                     "ORCPT=rfc822;far+2Bx@remote.test").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: queued\r\n\r\nx\r\n.\r\n")
        assert c.reply().code == 250
    envs = wait_until(lambda: srv.queue_files("env"), what="an envelope in queue/env")
    text = envs[0].read_text()
    assert "rcpt 0 far@remote.test" in text
    assert "ret hdrs" in text
    assert "envid env" in text
    assert "orcpt 0 rfc822;far" in text
    notify = [l for l in text.splitlines() if l.startswith("notify 0 ")]
    # enum queue_notify: SUCCESS (2) | FAILURE (4)
    assert notify and int(notify[0].split()[2]) == 6
