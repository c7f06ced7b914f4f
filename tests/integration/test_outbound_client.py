"""The SMTP client and the queue seen from outside (issue 4 "The SMTP
client", "Retries, expiry, bounces"): 8BITMIME downgrade, SIZE, SMTPUTF8,
MX loops, connection reuse, and crash safety across a `kill -9` of the
sending instance. The network is test_outbound_routing.py's `net`."""
import re
import smtplib

from ternserver import wait_until
from test_outbound_routing import (ALICE, assert_failed_for, net, parse, recipient_states,  # noqa: F401
                                   servers, submit, wait_bounce, wait_fake_accepted)

MX_ZONE = {"b.test": {"MX": [(10, "mx.b.test")]}, "mx.b.test": {"A": ["127.0.0.2"]}}


def test_8bit_downgraded_for_a_7bit_server(net):
    """RFC 6152 3: the server lacks 8BITMIME; the 8-bit body arrives as
    quoted-printable, decoding to the same text."""
    a = net.sender()
    fake = net.fake("127.0.0.2", extensions=["PIPELINING", "ENHANCEDSTATUSCODES"])
    net.zone.update(MX_ZONE)
    text = "Grüße aus Köln – ça va?\r\n"
    msg = ("From: <alice@a.test>\r\nTo: <bob@b.test>\r\nSubject: 8bit\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n" + text).encode()
    with smtplib.SMTP(a.host, a.port(), timeout=30) as c:
        c.ehlo("client.test")
        c.sendmail(ALICE, ["bob@b.test"], msg, mail_options=["BODY=8BITMIME"])
    (m,) = wait_fake_accepted(fake)
    assert "BODY=8BITMIME" not in m["mail"]
    assert all(b < 0x80 for b in m["data"]), "8-bit bytes sent to a 7-bit server"
    got = parse(m["data"])
    assert got["Content-Transfer-Encoding"].lower() == "quoted-printable"
    assert got.get_content().replace("\r\n", "\n") == text.replace("\r\n", "\n")
    a.wait_queue_empty(timeout=20)


def test_8bit_passed_as_is_with_8bitmime(net):
    a = net.sender()
    fake = net.fake("127.0.0.2")
    net.zone.update(MX_ZONE)
    body = "naïve café\r\n"
    msg = ("From: <alice@a.test>\r\nTo: <bob@b.test>\r\nSubject: 8bit ok\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n" + body).encode()
    with smtplib.SMTP(a.host, a.port(), timeout=30) as c:
        c.ehlo("client.test")
        c.sendmail(ALICE, ["bob@b.test"], msg, mail_options=["BODY=8BITMIME"])
    (m,) = wait_fake_accepted(fake)
    assert "BODY=8BITMIME" in m["mail"].upper()
    assert body.encode() in m["data"]


def test_size_over_the_servers_limit_bounces(net):
    """RFC 1870 6.1: a message bigger than the server's SIZE is not sent;
    the sender gets a bounce (5.3.4)."""
    a = net.sender(retry=["1h"])
    fake = net.fake("127.0.0.2", extensions=["PIPELINING", "SIZE 2000", "ENHANCEDSTATUSCODES"])
    net.zone.update(MX_ZONE)
    submit(a, "bob@b.test", subject="too big", body="y" * 70 + "\r\n" * 1 + ("z" * 70 + "\r\n") * 60)
    (bounce,) = wait_bounce(a)
    r = assert_failed_for(a, bounce, "bob@b.test")
    assert not any(m["accepted"] for m in fake.messages)
    assert "status=5.3.4" in a.log()
    assert r["status"] == "5.3.4", r
    a.wait_queue_empty(timeout=20)


def test_smtputf8_needed_and_not_offered_bounces(net):
    """RFC 6531 3.2: a non-ASCII recipient and a server without SMTPUTF8:
    the message is returned (5.6.7)."""
    a = net.sender(retry=["1h"])
    net.fake("127.0.0.2", extensions=["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"])
    net.zone.update(MX_ZONE)
    rcpt = "jürgen@b.test"
    msg = f"From: <{ALICE}>\r\nTo: <{rcpt}>\r\nSubject: utf8\r\n\r\nhi\r\n".encode()
    with smtplib.SMTP(a.host, a.port(), timeout=30) as c:
        c.ehlo("client.test")
        c.sendmail(ALICE, [rcpt], msg, mail_options=["SMTPUTF8"])
    (bounce,) = wait_bounce(a)
    # a UTF-8 address in the report: message/global-delivery-status
    # (RFC 6533 6.2), Final-Recipient of type utf-8 (RFC 6533 3)
    assert [p.get_content_type() for p in bounce.iter_parts()][1] == \
        "message/global-delivery-status"
    r = assert_failed_for(a, bounce, rcpt)
    assert r["final-recipient"].replace(" ", "") == f"utf-8;{rcpt}", r
    assert "status=5.6.7" in a.log()
    assert r["status"] == "5.6.7", r
    a.wait_queue_empty(timeout=20)


def test_mx_pointing_at_ourselves_bounces(net):
    """An MX named as our hostname for a domain we do not serve: a
    configuration error, failed at once (5.4.6), never a loop."""
    a = net.sender(retry=["1h"])
    net.zone.update({"loop.test": {"MX": [(10, "mx.example.test")]},
                     "mx.example.test": {"A": ["127.0.0.1"]}})
    submit(a, "x@loop.test", subject="loop")
    (bounce,) = wait_bounce(a)
    r = assert_failed_for(a, bounce, "x@loop.test")
    a.wait_queue_empty(timeout=20)
    assert "status=5.4.6" in a.log()
    assert r["status"] == "5.4.6", r


def test_connection_reused_for_the_next_message(net):
    """A second message for the same destination soon after the first goes
    over the same connection (RSET, then the next transaction)."""
    a = net.sender()
    fake = net.fake("127.0.0.2")
    net.zone.update(MX_ZONE)
    submit(a, "bob@b.test", subject="first")
    wait_fake_accepted(fake, 1)
    submit(a, "bob@b.test", subject="second")
    msgs = wait_fake_accepted(fake, 2)
    assert [parse(m["data"])["Subject"] for m in msgs] == ["first", "second"]
    assert fake.connections == 1
    a.wait_queue_empty(timeout=20)


def test_delivered_recipient_not_sent_again_after_kill9(net):
    """One recipient delivered, the other deferred; the sender is killed
    (-9) and restarted: only the deferred one is sent again, and nothing
    queued is lost (issue 4 "Crash safety")."""
    a = net.sender(retry=["1h"])
    fake = net.fake("127.0.0.2", rcpt_replies={"later@b.test": "451 4.2.0 not now"})
    net.zone.update(MX_ZONE)
    submit(a, ["now@b.test", "later@b.test"], subject="half")
    wait_until(lambda: recipient_states(a).get("later@b.test", {}).get("state") == "deferred",
               20, what="later@b.test deferred")
    assert recipient_states(a)["now@b.test"]["state"] == "delivered"
    a.kill9()
    fake.rcpt_replies.clear()
    a.start()
    a.cli("queue", "flush")
    msgs = wait_fake_accepted(fake, 2, timeout=30)
    a.wait_queue_empty(timeout=20)
    assert msgs[0]["accepted_rcpts"] == ["now@b.test"]
    assert msgs[1]["accepted_rcpts"] == ["later@b.test"]
    sent_to = [r for m in fake.messages for r in m["accepted_rcpts"]]
    assert sent_to.count("now@b.test") == 1, sent_to
    assert a.messages(ALICE) == []


def test_queued_message_survives_kill9_before_delivery(net):
    """Accepted while the remote is down, the sender killed, the remote
    back: the restarted sender delivers it."""
    a = net.sender(retry=["1h"])
    net.zone.update(MX_ZONE)                 # nothing listens on 127.0.0.2 yet
    submit(a, "bob@b.test", subject="survivor")
    wait_until(lambda: recipient_states(a).get("bob@b.test", {}).get("state") == "deferred",
               20, what="bob deferred (connection refused)")
    a.kill9()
    fake = net.fake("127.0.0.2")
    a.start()
    a.cli("queue", "flush")
    (m,) = wait_fake_accepted(fake, 1, timeout=30)
    assert parse(m["data"])["Subject"] == "survivor"
    a.wait_queue_empty(timeout=20)


def test_helo_fallback(net):
    """EHLO refused with 5xx: HELO, and the mail still goes (RFC 5321
    4.1.1.1 / 3.2)."""
    a = net.sender()
    fake = net.fake("127.0.0.2", ehlo_reply="502 5.5.2 EHLO not understood")
    net.zone.update(MX_ZONE)
    submit(a, "bob@b.test", subject="old server")
    (m,) = wait_fake_accepted(fake)
    assert m["helo"].upper().startswith("HELO ")
    assert "BODY=" not in m["mail"] and "SIZE=" not in m["mail"]   # no extensions
    a.wait_queue_empty(timeout=20)


def test_dsn_parameters_passed_on(net):
    """RFC 3461 5.2/5.3: a server offering DSN gets RET, ENVID, NOTIFY and
    ORCPT as they came in."""
    a = net.sender()
    fake = net.fake("127.0.0.2")
    net.zone.update(MX_ZONE)
    with smtplib.SMTP(a.host, a.port(), timeout=30) as c:
        c.ehlo("client.test")
        c.sendmail(ALICE, ["bob@b.test"], b"Subject: dsn\r\n\r\nhi\r\n",
                   mail_options=["RET=HDRS", "ENVID=env+2Did-1"],
                   rcpt_options=["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;bob+2Blist@b.test"])
    (m,) = wait_fake_accepted(fake)
    mail = params(m["mail"])
    assert mail["RET"] == "HDRS", m["mail"]
    assert xtext_decode(mail["ENVID"]) == "env-id-1", m["mail"]
    rcpt = params(m["rcpts"][0])
    assert rcpt["NOTIFY"].upper() == "FAILURE,DELAY", m["rcpts"]
    assert xtext_decode(rcpt["ORCPT"]).lower() == "rfc822;bob+list@b.test", m["rcpts"]


def params(line):
    """ESMTP parameters after the address of a MAIL/RCPT line."""
    out = {}
    for word in line[line.index(">") + 1:].split():
        k, _, v = word.partition("=")
        out[k.upper()] = v
    return out


def xtext_decode(s):
    """RFC 3461 4: "+XX" is the byte XX in hex."""
    return re.sub(r"\+([0-9A-Fa-f]{2})", lambda mo: chr(int(mo.group(1), 16)), s)


def test_more_than_100_recipients_split(net):
    """RFC 5321 4.5.3.1.8: at most 100 recipients per transaction; 150
    recipients of one domain go in two transactions, none lost or doubled."""
    a = net.sender(limits={"recipients": 200})
    fake = net.fake("127.0.0.2")
    net.zone.update(MX_ZONE)
    rcpts = [f"r{i}@b.test" for i in range(150)]
    submit(a, rcpts, subject="many")
    wait_until(lambda: sum(len(m["accepted_rcpts"]) for m in fake.messages if m["accepted"]) >= 150,
               30, what="150 recipients at the fake")
    a.wait_queue_empty(timeout=20)
    got = [r for m in fake.messages if m["accepted"] for r in m["accepted_rcpts"]]
    assert sorted(got) == sorted(rcpts)
    assert max(len(m["rcpts"]) for m in fake.messages) <= 100
    assert len(fake.messages) == 2
