"""The SMTP commands of RFC 5321 against a running `tern serve`, with raw
sockets for exact replies, smtplib and swaks as independent clients, and the
delivered Maildir file read back with Python's email package."""
import subprocess

import pytest

from ternserver import HOSTNAME, make_message, servers, unfold  # noqa: F401

ALICE = "alice@example.test"
USERS = {ALICE: "alice-pw", "bob@example.test": "bob-pw"}


@pytest.fixture
def srv(servers):
    return servers.start(users=USERS)


def test_greeting(srv):
    with srv.raw() as c:
        g = c.greeting
        assert g.code == 220
        # RFC 5321 4.3.1: the greeting names the server; ESMTP announces EHLO
        assert g.lines[0].startswith(HOSTNAME)
        assert "ESMTP" in g.text


def test_ehlo_extensions(servers):
    srv = servers.start(users=USERS, limits={"message_size": 123456})
    with srv.raw() as c:
        r = c.ehlo("client.test")
        assert r.lines[0].startswith(HOSTNAME)
        kw = {l.split(" ", 1)[0].upper(): l for l in r.lines[1:]}
        for ext in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "STARTTLS",
                    "AUTH", "SMTPUTF8", "CHUNKING", "DSN"):
            assert ext in kw, (ext, r)
        # RFC 1870 4: the fixed maximum message size
        assert kw["SIZE"].split() == ["SIZE", "123456"]
        # loopback counts as secure by default: AUTH PLAIN and LOGIN offered
        mechs = kw["AUTH"].upper().split()[1:]
        assert "PLAIN" in mechs and "LOGIN" in mechs


def test_ehlo_twice_and_helo(srv):
    with srv.raw() as c:
        c.ehlo()
        c.ehlo("again.test")
        r = c.cmd("HELO old.test")
        assert r.code == 250
        assert len(r.lines) == 1
        # a full transaction after HELO
        r = c.mail("a@remote.test", [ALICE], make_message("after-helo"))
        assert r.code == 250, r
    srv.wait_messages(ALICE, 1)


def test_helo_session_has_no_extensions(srv):
    with srv.raw() as c:
        assert c.cmd("HELO old.test").code == 250
        # RFC 5321 4.1.1.11 / RFC 1869: parameters are for EHLO sessions
        for params in ("SIZE=100", "BODY=8BITMIME", "SMTPUTF8"):
            r = c.cmd(f"MAIL FROM:<a@remote.test> {params}")
            assert r.code == 555 and r.enhanced == "5.5.4", (params, r)
        assert c.mail("a@remote.test", [ALICE], make_message("helo")).code == 250
    msg = srv.parsed(srv.wait_messages(ALICE, 1)[0])
    # RFC 5321 4.4: "with SMTP" for a HELO session
    assert "with SMTP" in " ".join(str(msg["Received"]).split())


@pytest.mark.parametrize("cmd", ["EHLO", "HELO"])
def test_ehlo_needs_domain(srv, cmd):
    with srv.raw() as c:
        r = c.cmd(cmd)
        assert r.code == 501
        assert r.enhanced and r.enhanced.startswith("5.5.")


def test_address_literal_in_ehlo(srv):
    with srv.raw() as c:
        assert c.cmd("EHLO [127.0.0.1]").code == 250
        assert c.cmd("EHLO [IPv6:::1]").code == 250


def test_sequence_errors(srv):
    with srv.raw() as c:
        # RFC 5321 4.1.4 / 3.3: MAIL needs a greeting first, RCPT needs MAIL, DATA needs RCPT
        r = c.cmd("MAIL FROM:<a@remote.test>")
        assert r.code == 503 and r.enhanced == "5.5.1", r
        c.ehlo()
        r = c.cmd(f"RCPT TO:<{ALICE}>")
        assert r.code == 503 and r.enhanced == "5.5.1", r
        r = c.cmd("DATA")
        assert r.code in (503, 554), r
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        # a second MAIL inside a transaction
        r = c.cmd("MAIL FROM:<b@remote.test>")
        assert r.code == 503 and r.enhanced == "5.5.1", r
        r = c.cmd("DATA")
        assert r.code in (503, 554), r
        assert r.enhanced.startswith("5.")


def test_success_enhanced_codes(srv):
    # RFC 3463 / RFC 5248: 2.1.0 sender ok, 2.1.5 destination ok, 2.0.0 queued
    with srv.raw() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<a@remote.test>")
        assert (r.code, r.enhanced) == (250, "2.1.0"), r
        r = c.cmd(f"RCPT TO:<{ALICE}>")
        assert (r.code, r.enhanced) == (250, "2.1.5"), r
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: codes\r\n\r\nx\r\n.\r\n")
        r = c.reply()
        assert (r.code, r.enhanced) == (250, "2.0.0"), r


def test_rset_clears_transaction(srv):
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        r = c.cmd("RSET")
        assert r.code == 250 and r.enhanced == "2.0.0", r
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 503
        assert c.cmd("DATA").code in (503, 554)
        # RSET keeps the EHLO: a new transaction works
        assert c.mail("a@remote.test", [ALICE], make_message("after-rset")).code == 250
        r = c.cmd("RSET extra")
        assert r.code == 501
    files = srv.wait_messages(ALICE, 1)
    assert len(files) == 1
    assert b"after-rset" in files[0].read_bytes()


def test_noop_quit(srv):
    with srv.raw() as c:
        r = c.cmd("NOOP")
        assert r.code == 250 and r.enhanced == "2.0.0"
        # RFC 5321 4.1.1.9: NOOP may have a parameter, which is ignored
        assert c.cmd("NOOP whatever").code == 250
        r = c.cmd("QUIT")
        assert r.code == 221 and r.enhanced == "2.0.0"
        assert c.closed()


def test_quit_aborts_transaction(srv):
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        assert c.cmd("QUIT").code == 221
    srv.stop()
    assert srv.messages(ALICE) == []


def test_vrfy_expn_help(servers):
    srv = servers.start(users=USERS, aliases={"team@example.test": [ALICE, "bob@example.test"]})
    with srv.raw() as c:
        c.ehlo()
        known = c.cmd(f"VRFY {ALICE}")
        unknown = c.cmd("VRFY nosuchuser@example.test")
        # RFC 5321 3.5.3: 252 when the server will not verify; a server that
        # answers VRFY must not make accounts guessable by the reply
        for r in (known, unknown):
            assert r.code in (250, 251, 252, 502, 550, 551, 553), r
            assert r.enhanced, r
        assert known.code == unknown.code or known.code in (250, 251)
        r = c.cmd("VRFY")
        assert r.code in (501, 502), r
        r = c.cmd("EXPN team@example.test")
        assert r.code in (250, 252, 502, 550), r
        assert r.enhanced
        r = c.cmd("HELP")
        assert r.code in (211, 214), r
        assert r.enhanced and r.enhanced.startswith("2.")
        r = c.cmd("HELP MAIL")
        assert r.code in (211, 214, 504), r


@pytest.mark.parametrize("cmd", ["SEND FROM:<a@remote.test>", "SOML FROM:<a@remote.test>",
                                 "SAML FROM:<a@remote.test>", "TURN"])
def test_obsolete_commands_502(srv, cmd):
    with srv.raw() as c:
        c.ehlo()
        r = c.cmd(cmd)
        assert r.code == 502, r
        assert r.enhanced == "5.5.1", r
        # the session goes on
        assert c.cmd("NOOP").code == 250


def test_unknown_command(srv):
    with srv.raw() as c:
        r = c.cmd("FROBNICATE now")
        assert r.code == 500, r
        assert r.enhanced in ("5.5.1", "5.5.2"), r
        assert c.cmd("NOOP").code == 250


def test_commands_case_insensitive(srv):
    with srv.raw() as c:
        assert c.cmd("ehlo client.test").code == 250
        assert c.cmd("mail from:<a@remote.test>").code == 250
        assert c.cmd(f"rcpt to:<{ALICE.upper()}>").code == 250
        assert c.cmd("data").code == 354
        c.send(b"Subject: lower\r\n\r\nx\r\n.\r\n")
        assert c.reply().code == 250
        assert c.cmd("quit").code == 221
    srv.wait_messages(ALICE, 1)


@pytest.mark.parametrize("arg,code", [
    ("FROM:<a@remote.test", 501),
    ("FROM:<a b@remote.test>", 501),
    ("FROM:<@>", 501),
    ("TO:<a@remote.test>", 501),
    ("FROM:<a@remote.test> BOGUS=1", 555),  # RFC 5321 4.1.1.11: unknown parameter
])
def test_mail_syntax_errors(srv, arg, code):
    with srv.raw() as c:
        c.ehlo()
        r = c.cmd("MAIL " + arg)
        assert r.code in (code, 501, 553, 555), r
        assert r.code >= 500 and r.enhanced and r.enhanced.startswith("5.")
        # the transaction did not start
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 503


def test_null_sender_accepted(srv):
    # RFC 5321 4.5.5: bounces have the null reverse path
    with srv.raw() as c:
        c.ehlo()
        assert c.mail("", [ALICE], make_message("bounce")).code == 250
    f = srv.wait_messages(ALICE, 1)[0]
    msg = srv.parsed(f)
    assert msg["Return-Path"].strip() == "<>"


def test_every_reply_has_enhanced_code(srv):
    """RFC 2034 3: every reply after the greeting and EHLO carries an
    enhanced status code (issue 3 asks for them on every reply)."""
    with srv.raw() as c:
        c.ehlo()
        replies = [
            c.cmd("NOOP"), c.cmd("HELP"), c.cmd("VRFY alice"), c.cmd("BOGUS"),
            c.cmd("RCPT TO:<x@example.test>"), c.cmd("MAIL FROM:<a@remote.test>"),
            c.cmd("MAIL FROM:<a@remote.test>"), c.cmd("RCPT TO:<nosuch@example.test>"),
            c.cmd("RCPT TO:<x@far.test>"), c.cmd(f"RCPT TO:<{ALICE}>"), c.cmd("TURN"),
            c.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw=="), c.cmd("AUTH BOGUS"),
            c.cmd("VRFY"), c.cmd("EXPN x"), c.cmd("HELP DATA"), c.cmd("NOOP x"),
            c.cmd("MAIL FROM:<a@remote.test> SIZE=x"), c.cmd("BDAT x"),
            c.cmd("DATA"),
        ]
        c.send(b"Subject: e\r\n\r\nx\r\n.\r\n")
        replies.append(c.reply())
        replies += [c.cmd("RSET"), c.cmd("STARTTLS now"), c.cmd("QUIT")]
        for r in replies:
            if r.code == 354:
                # RFC 2034 says nothing of 354; accept either
                continue
            assert r.all_enhanced(), r


def test_delivered_headers(srv):
    """Return-Path and Delivered-To at final delivery, a Received header
    naming us, the protocol and the recipient (RFC 5321 4.4)."""
    body = "line one\r\n.leading dot\r\n..two dots\r\nend\r\n"
    msg = make_message("headers", body=body)
    with srv.raw() as c:
        c.ehlo("client.test")
        r = c.mail("sender@remote.test", [ALICE], msg)
        assert r.code == 250 and r.enhanced == "2.0.0", r
    f = srv.wait_messages(ALICE, 1)[0]
    data = f.read_bytes()
    lines = unfold(data).split(b"\n")
    assert lines[0] == b"Return-Path: <sender@remote.test>"
    parsed = srv.parsed(f)
    assert parsed["Delivered-To"].strip() == ALICE
    received = parsed.get_all("Received")
    assert len(received) == 1
    rec = " ".join(str(received[0]).split())
    assert "from client.test" in rec
    assert "127.0.0.1" in rec
    assert f"by {HOSTNAME}" in rec
    assert "with ESMTP" in rec
    assert f"for <{ALICE}>" in rec
    assert ";" in rec
    # Return-Path and Delivered-To come before the Received header
    names = [k.lower() for k in parsed.keys()]
    assert names.index("return-path") < names.index("received")
    # the message itself is stored as received: dot transparency both ways
    assert unfold(data).endswith(unfold(msg))
    assert b"\n.leading dot\n..two dots\nend\n" in unfold(data)


def test_received_no_for_with_two_rcpts(srv):
    with srv.raw() as c:
        c.ehlo()
        assert c.mail("s@remote.test", [ALICE, "bob@example.test"], make_message("two")).code == 250
    a = srv.parsed(srv.wait_messages(ALICE, 1)[0])
    b = srv.parsed(srv.wait_messages("bob@example.test", 1)[0])
    assert a["Delivered-To"].strip() == ALICE
    assert b["Delivered-To"].strip() == "bob@example.test"
    # "for <rcpt>" only when there is one recipient (privacy of the others)
    assert "for <" not in str(a["Received"])


def test_smtplib_sendmail(srv):
    with srv.smtplib() as s:
        s.ehlo("client.test")
        refused = s.sendmail("s@remote.test", [ALICE, "bob@example.test"], make_message("smtplib"))
        assert refused == {}
    srv.wait_messages(ALICE, 1)
    srv.wait_messages("bob@example.test", 1)


def test_swaks_delivery(srv):
    res = subprocess.run(
        ["swaks", "--server", srv.host, "--port", str(srv.port()), "--from", "s@remote.test",
         "--to", ALICE, "--helo", "swaks.test", "--header", "Subject: via swaks",
         "--body", "swaks body"],
        capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    msg = srv.parsed(srv.wait_messages(ALICE, 1)[0])
    assert msg["Subject"] == "via swaks"
    assert "swaks body" in msg.get_content()


def test_swaks_pipelining(srv):
    res = subprocess.run(
        ["swaks", "--server", srv.host, "--port", str(srv.port()), "--from", "s@remote.test",
         "--to", f"{ALICE},bob@example.test", "--pipeline", "--header", "Subject: piped"],
        capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    srv.wait_messages(ALICE, 1)
    srv.wait_messages("bob@example.test", 1)


def test_accepted_logged(srv):
    with srv.raw() as c:
        c.ehlo()
        assert c.mail("s@remote.test", [ALICE], make_message("logged")).code == 250
    srv.wait_messages(ALICE, 1)
    log = srv.log()
    assert "smtp accepted" in log or "accepted" in log
    assert "s@remote.test" in log
