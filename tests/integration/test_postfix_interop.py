"""Interoperability with Postfix from Debian's package, both ways (issue 4
"Tests that show it works"): tern delivering to a Postfix MX through DNS,
and Postfix relaying to tern (relayhost = [127.0.0.1]:PORT). A refusal by
Postfix comes back as tern's bounce. The Postfix instance is private
(postfixpeer.py); the network is test_outbound_routing.py's `net`."""
import smtplib

import pytest

import postfixpeer
from ternserver import make_message, wait_until
from test_outbound_routing import (ALICE, assert_failed_for, net, servers, submit,  # noqa: F401
                                   wait_bounce)

ok, why = postfixpeer.available()
pytestmark = pytest.mark.skipif(not ok, reason=why)

PF_ZONE = {"pf.test": {"MX": [(10, "mx.pf.test")]}, "mx.pf.test": {"A": ["127.0.0.2"]}}


@pytest.fixture
def peers():
    made = []

    def make(*args, **kw):
        p = postfixpeer.PostfixPeer(*args, **kw)
        made.append(p)
        return p
    yield make
    for p in made:
        p.cleanup()


def test_tern_delivers_to_postfix(net, peers):
    a = net.sender(retry=["1s"])
    pf = peers("127.0.0.2", net.mx_port, domain="pf.test",
               users=["bob@pf.test", "dave@pf.test"], tls=True).start()
    net.zone.update(PF_ZONE)
    body = "First line.\r\n.leading dot\r\n" + "x" * 900 + "\r\nlast line\r\n"
    sent = submit(a, ["bob@pf.test", "dave@pf.test"], subject="to postfix", body=body)
    (f,) = pf.wait_messages("bob@pf.test", 1)
    pf.wait_messages("dave@pf.test", 1)
    a.wait_queue_empty(timeout=20)
    got = pf.parsed(f)
    assert got["Subject"] == "to postfix"
    raw = f.read_bytes().replace(b"\r\n", b"\n")
    # dot-stuffing undone by Postfix, the body byte for byte
    assert body.replace("\r\n", "\n").encode() in raw
    assert got["Message-ID"] and got["Message-ID"] in sent.decode()
    # Postfix's Received: names tern's EHLO; tern's own Received: is below it
    received = got.get_all("Received")
    assert len(received) >= 2
    assert "mx.example.test" in received[0]
    # over STARTTLS (opportunistic, the self-signed certificate unverified)
    assert f"relay=mx.pf.test[127.0.0.2]:{net.mx_port} tls=yes verified=no" in a.log(), a.log()
    assert "TLS connection established from" in pf.log()
    wait_until(pf.queue_empty, 20, what="postfix's queue empty")
    # one transaction for both recipients
    assert pf.log().count("from=<alice@a.test>") == 1, pf.log()


def test_postfix_refusal_bounces_at_tern(net, peers):
    """Postfix refuses an unknown virtual user at RCPT (550 5.1.1); tern
    bounces to the sender with Postfix's reply as Diagnostic-Code."""
    a = net.sender(retry=["1h"])
    peers("127.0.0.2", net.mx_port, domain="pf.test", users=["bob@pf.test"]).start()
    net.zone.update(PF_ZONE)
    submit(a, "nobody@pf.test", subject="unknown at postfix")
    (bounce,) = wait_bounce(a, timeout=30)
    r = assert_failed_for(a, bounce, "nobody@pf.test")
    assert r["status"] == "5.1.1", r
    assert r["diagnostic-code"].startswith("smtp; 550"), r
    a.wait_queue_empty(timeout=20)


def test_postfix_relays_to_tern(net, peers):
    """Postfix with relayhost = [127.0.0.1]:PORT of a tern instance: mail
    handed to Postfix for a.test lands in tern's Maildir."""
    a = net.sender(retry=["1s"], users=(ALICE, "ann@a.test"))
    pf = peers("127.0.0.2", net.mx_port, domain="pf.test", users=["bob@pf.test"],
               relayhost=f"[{a.host}]:{a.port()}", tls=True).start()
    msg = make_message(subject="from postfix", sender="bob@pf.test", to=ALICE,
                       body="Relayed by Postfix.\r\n..two dots\r\n")
    with smtplib.SMTP(pf.host, pf.port, timeout=30) as c:
        c.ehlo("client.test")
        refused = c.sendmail("bob@pf.test", [ALICE, "ann@a.test"], msg)
        assert not refused
    (f,) = a.wait_messages(ALICE, 1, timeout=40)
    a.wait_messages("ann@a.test", 1, timeout=10)
    got = a.parsed(f)
    assert got["Subject"] == "from postfix"
    assert got["Return-Path"] == "<bob@pf.test>"
    raw = f.read_bytes().replace(b"\r\n", b"\n")
    assert b"Relayed by Postfix.\n..two dots\n" in raw
    # tern's Received: on top names Postfix's EHLO (its myhostname)
    assert "postfix.pf.test" in got.get_all("Received")[0]
    wait_until(pf.queue_empty, 20, what=f"postfix's queue empty; log:\n{pf.log()[-2000:]}")
    assert "status=sent" in pf.log()
    # Postfix's client used tern's STARTTLS (RFC 3207)
    assert f"TLS connection established to {a.host}[{a.host}]:{a.port()}" in pf.log(), pf.log()
    assert "ESMTPS" in got.get_all("Received")[0]


def test_postfix_gets_tern_refusal(net, peers):
    """tern refuses an unknown local user at RCPT; Postfix records the
    permanent failure (status=bounced) and does not retry."""
    a = net.sender(retry=["1s"])
    pf = peers("127.0.0.2", net.mx_port, domain="pf.test", users=["bob@pf.test"],
               relayhost=f"[{a.host}]:{a.port()}").start()
    msg = make_message(subject="unknown at tern", sender="bob@pf.test", to="nobody@a.test")
    with smtplib.SMTP(pf.host, pf.port, timeout=30) as c:
        c.ehlo("client.test")
        c.sendmail("bob@pf.test", ["nobody@a.test"], msg)
    wait_until(lambda: "status=bounced" in pf.log(), 30,
               what=f"postfix to record the bounce; log:\n{pf.log()[-2000:]}")
    assert "nobody@a.test" in pf.log()
    # Postfix's bounce to bob@pf.test is delivered locally by virtual(8)
    (f,) = pf.wait_messages("bob@pf.test", 1)
    assert "nobody@a.test" in pf.parsed(f).as_string()
