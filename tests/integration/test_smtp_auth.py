"""AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, the submission ports'
rules (AUTH required: 530 5.7.0; MAIL FROM own address or alias: 553
5.7.1), AUTH only over TLS off loopback, failed attempts, and the headers
added on submission (Date, Message-ID). Raw sockets, smtplib and swaks."""
import base64
import email.utils
import smtplib
import subprocess

import pytest

from ternserver import (Closed, client_tls_context, make_message, servers, unfold,  # noqa: F401
                        wait_until)

ALICE = "alice@example.test"
PW = "alice-pw"
USERS = {ALICE: PW, "bob@example.test": "bob-pw"}


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


@pytest.fixture
def srv(servers):
    return servers.start(users=USERS, aliases={"sales@example.test": [ALICE]})


def test_auth_plain_initial_response(srv):
    with srv.raw("submission") as c:
        c.ehlo()
        r = c.cmd(f"AUTH PLAIN {b64(chr(0) + ALICE + chr(0) + PW)}")
        assert r.code == 235 and r.enhanced == "2.7.0", r
        # RFC 4954 4: a second AUTH in the session is refused
        r = c.cmd(f"AUTH PLAIN {b64(chr(0) + ALICE + chr(0) + PW)}")
        assert r.code == 503 and r.enhanced == "5.5.1", r
        assert c.mail(ALICE, ["far@remote.test"], make_message("plain", sender=ALICE)).code == 250


def test_auth_plain_with_challenge(srv):
    with srv.raw("submission") as c:
        c.ehlo()
        r = c.cmd("AUTH PLAIN")
        # RFC 4954 4: an empty challenge is "334 " with nothing after
        assert r.code == 334 and r.lines == [""], r
        r = c.cmd(b64(f"{ALICE}\0{ALICE}\0{PW}"))  # authzid equal to authcid
        assert r.code == 235, r


def test_auth_plain_empty_initial_response(srv):
    # RFC 4954 4: "=" stands for an empty initial response
    with srv.raw("submission") as c:
        c.ehlo()
        r = c.cmd("AUTH PLAIN =")
        assert r.code in (334, 535, 501), r


def test_auth_login(srv):
    with srv.raw("submission") as c:
        c.ehlo()
        r = c.cmd("AUTH LOGIN")
        assert r.code == 334 and r.lines == ["VXNlcm5hbWU6"], r  # "Username:"
        r = c.cmd(b64(ALICE))
        assert r.code == 334 and r.lines == ["UGFzc3dvcmQ6"], r  # "Password:"
        r = c.cmd(b64(PW))
        assert r.code == 235 and r.enhanced == "2.7.0", r


def test_auth_login_initial_response(srv):
    with srv.raw("submission") as c:
        c.ehlo()
        r = c.cmd(f"AUTH LOGIN {b64(ALICE)}")
        assert r.code == 334 and r.lines == ["UGFzc3dvcmQ6"], r
        assert c.cmd(b64(PW)).code == 235


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_wrong_password(srv, mech):
    with srv.raw("submission") as c:
        c.ehlo()
        if mech == "PLAIN":
            r = c.auth_plain(ALICE, "Wr0ngPassw0rd")
        else:
            assert c.cmd("AUTH LOGIN").code == 334
            assert c.cmd(b64(ALICE)).code == 334
            r = c.cmd(b64("Wr0ngPassw0rd"))
        assert r.code == 535 and r.enhanced == "5.7.8", r
        # unknown user: the same answer
        r2 = c.auth_plain("nobody@example.test", "x")
        assert (r2.code, r2.enhanced) == (535, "5.7.8")
        # still not authenticated
        r = c.cmd(f"MAIL FROM:<{ALICE}>")
        assert r.code == 530 and r.enhanced == "5.7.0", r
    # never log a password (shared/DESIGN.md "Logs")
    assert PW not in srv.log() and "Wr0ngPassw0rd" not in srv.log()


def test_auth_errors(servers):
    # a cancelled or malformed exchange may count as a failure: room for them
    srv = servers.start(users=USERS, limits={"auth_failures": 10})
    with srv.raw("submission") as c:
        c.ehlo()
        r = c.cmd("AUTH CRAM-MD5")
        assert r.code == 504 and r.enhanced == "5.5.4", r
        r = c.cmd("AUTH")
        assert r.code == 501, r
        r = c.cmd("AUTH PLAIN !!!notbase64!!!")
        assert r.code == 501 and r.enhanced.startswith("5.5."), r
        # RFC 4954 4: "*" cancels the exchange with 501
        assert c.cmd("AUTH LOGIN").code == 334
        r = c.cmd("*")
        assert r.code == 501, r
        # the session is usable afterwards
        assert c.auth_plain(ALICE, PW).code == 235


def test_auth_not_inside_transaction(srv):
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        r = c.auth_plain(ALICE, PW)
        assert r.code == 503, r


def test_submission_requires_auth(srv):
    with srv.raw("submission") as c:
        c.ehlo()
        r = c.cmd(f"MAIL FROM:<{ALICE}>")
        # RFC 4954 6
        assert r.code == 530 and r.enhanced == "5.7.0", r
        r = c.cmd(f"RCPT TO:<{ALICE}>")
        assert r.code in (503, 530), r


def test_submission_sender_must_be_own(srv):
    with srv.raw("submission") as c:
        c.ehlo()
        assert c.auth_plain(ALICE, PW).code == 235
        for sender in ("bob@example.test", "someone@remote.test", "ALICE@example.test.evil"):
            r = c.cmd(f"MAIL FROM:<{sender}>")
            assert r.code == 553 and r.enhanced == "5.7.1", (sender, r)
        # RFC 6409 4.2 / 8.1: the null sender is not a submitter's address
        r = c.cmd("MAIL FROM:<>")
        assert r.code == 553 and r.enhanced == "5.7.1", r
        # an alias of alice's, and her own address in another case
        assert c.cmd("MAIL FROM:<sales@example.test>").code == 250
        assert c.cmd("RSET").code == 250
        assert c.cmd("MAIL FROM:<Alice@Example.Test>").code == 250
        assert c.cmd("RCPT TO:<bob@example.test>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: from alice\r\n\r\nx\r\n.\r\n")
        assert c.reply().code == 250
    srv.wait_messages("bob@example.test", 1)


def test_smtplib_login_starttls(srv):
    c = srv.submit_client(ALICE, PW)
    try:
        refused = c.sendmail(ALICE, ["bob@example.test", "far@remote.test"],
                             make_message("smtplib tls", sender=ALICE, to="bob@example.test"))
        assert refused == {}
    finally:
        c.quit()
    msg = srv.parsed(srv.wait_messages("bob@example.test", 1)[0])
    rec = " ".join(str(msg["Received"]).split())
    # RFC 3848: ESMTPSA for an authenticated session over TLS
    assert "with ESMTPSA" in rec
    # the remote recipient waits in the queue (nothing sends it out yet)
    envs = wait_until(lambda: [p for p in srv.queue_files("env")
                               if "far@remote.test" in p.read_text()],
                      what="the remote recipient in queue/env")
    assert "auth alice@example.test" in envs[0].read_text()


def test_submissions_login(srv):
    c = srv.submit_client(ALICE, PW, listener="submissions")
    try:
        c.sendmail(ALICE, ["bob@example.test"], make_message("465", sender=ALICE))
    finally:
        c.quit()
    msg = srv.parsed(srv.wait_messages("bob@example.test", 1)[0])
    assert "ESMTPSA" in str(msg["Received"])


def test_submissions_requires_auth(srv):
    with srv.raw("submissions") as c:
        c.ehlo()
        r = c.cmd(f"MAIL FROM:<{ALICE}>")
        assert r.code == 530 and r.enhanced == "5.7.0", r


def test_smtplib_login_wrong_password(srv):
    c = srv.smtplib("submission")
    try:
        c.ehlo("client.test")
        c.starttls(context=client_tls_context())
        c.ehlo("client.test")
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            c.login(ALICE, "nope")
        assert e.value.smtp_code == 535
    finally:
        c.close()


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_auth(srv, mech):
    res = subprocess.run(
        ["swaks", "--server", srv.host, "--port", str(srv.port("submission")), "--tls",
         "--auth", mech, "--auth-user", ALICE, "--auth-password", PW,
         "--from", ALICE, "--to", "bob@example.test", "--header", f"Subject: swaks {mech}"],
        capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    srv.wait_messages("bob@example.test", 1)


def test_swaks_implicit_tls(srv):
    res = subprocess.run(
        ["swaks", "--server", srv.host, "--port", str(srv.port("submissions")), "--tlsc",
         "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", PW,
         "--from", ALICE, "--to", "bob@example.test"],
        capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    srv.wait_messages("bob@example.test", 1)


def test_auth_needs_tls_off_loopback(servers):
    """auth.plaintext_on_loopback = false: no AUTH before STARTTLS (RFC 4954 4:
    mechanisms that send passwords in clear only under TLS)."""
    srv = servers.start(users=USERS, host="127.0.0.5", plaintext_on_loopback=False)
    with srv.raw("submission") as c:
        r = c.ehlo()
        kws = [l.split(" ", 1)[0].upper() for l in r.lines[1:]]
        assert "AUTH" not in kws
        assert "STARTTLS" in kws
        r = c.auth_plain(ALICE, PW)
        # RFC 4954 6: 538 5.7.11 encryption required for the mechanism
        assert r.code == 538 and r.enhanced == "5.7.11", r
        assert c.cmd(f"MAIL FROM:<{ALICE}>").code == 530
        c.starttls()
        r = c.ehlo()
        assert any(l.upper().startswith("AUTH ") for l in r.lines[1:])
        assert c.auth_plain(ALICE, PW).code == 235
        assert c.mail(ALICE, ["bob@example.test"], make_message("after tls")).code == 250
    srv.wait_messages("bob@example.test", 1)
    # port 25 too: no AUTH offered in clear
    with srv.raw("smtp") as c:
        r = c.ehlo()
        assert not any(l.upper().startswith("AUTH") for l in r.lines[1:])


def test_failed_auth_limit(servers):
    srv = servers.start(users=USERS, limits={"auth_failures": 2})
    with srv.raw("submission") as c:
        c.ehlo()
        replies = []
        try:
            for _ in range(6):
                r = c.auth_plain(ALICE, "bad")
                replies.append(r.code)
                if r.code == 421:
                    break
        except Closed:
            replies.append("closed")
        assert replies[0] == 535
        # after the limit: 421 and the connection is closed
        assert replies[-1] in (421, "closed"), replies
        assert len(replies) <= 4, replies
        assert c.closed()
    # others can still log in
    with srv.raw("submission") as c:
        c.ehlo()
        assert c.auth_plain(ALICE, PW).code == 235


def test_date_and_message_id_added_on_submission(srv):
    msg = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bare\r\n\r\nno date\r\n"
    with srv.raw("submission") as c:
        c.ehlo()
        assert c.auth_plain(ALICE, PW).code == 235
        assert c.mail(ALICE, ["bob@example.test"], msg).code == 250
    parsed = srv.parsed(srv.wait_messages("bob@example.test", 1)[0])
    assert len(parsed.get_all("Date")) == 1
    assert email.utils.parsedate_to_datetime(str(parsed["Date"])) is not None
    mids = parsed.get_all("Message-ID")
    assert len(mids) == 1
    mid = str(mids[0]).strip()
    assert mid.startswith("<") and mid.endswith(">") and "@" in mid
    assert parsed.get_content().strip() == "no date"


def test_date_and_message_id_kept(srv):
    msg = (b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: has them\r\n"
           b"Date: Tue, 1 Dec 2026 12:00:00 +0100\r\nMessage-ID: <keep.me@example.test>\r\n\r\nx\r\n")
    with srv.raw("submission") as c:
        c.ehlo()
        assert c.auth_plain(ALICE, PW).code == 235
        assert c.mail(ALICE, ["bob@example.test"], msg).code == 250
    data = srv.wait_messages("bob@example.test", 1)[0].read_bytes()
    parsed = srv.parsed(srv.wait_messages("bob@example.test", 1)[0])
    assert [str(m).strip() for m in parsed.get_all("Message-ID")] == ["<keep.me@example.test>"]
    assert len(parsed.get_all("Date")) == 1
    assert unfold(data).endswith(unfold(msg))


def test_auth_on_port_25_allows_relay(srv):
    with srv.raw("smtp") as c:
        c.ehlo()
        r = c.cmd("RCPT TO:<far@remote.test>")
        assert r.code == 503
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        r = c.cmd("RCPT TO:<far@remote.test>")
        assert r.code in (550, 554) and r.enhanced == "5.7.1", r
        c.cmd("RSET")
        assert c.auth_plain(ALICE, PW).code == 235
        assert c.mail(ALICE, ["far@remote.test"], make_message("relayed")).code == 250
    wait_until(lambda: [p for p in srv.queue_files("env") if "far@remote.test" in p.read_text()],
               what="the relayed recipient in queue/env")


def test_password_change_seen_by_running_server(srv):
    with srv.raw("submission") as c:
        c.ehlo()
        assert c.auth_plain(ALICE, PW).code == 235
    srv.cli("user", "passwd", args=[ALICE], input="new-secret\n")
    with srv.raw("submission") as c:
        c.ehlo()
        assert c.auth_plain(ALICE, PW).code == 535
    with srv.raw("submission") as c:
        c.ehlo()
        assert c.auth_plain(ALICE, "new-secret").code == 235
    srv.del_user(ALICE)
    with srv.raw("submission") as c:
        c.ehlo()
        assert c.auth_plain(ALICE, "new-secret").code == 535
