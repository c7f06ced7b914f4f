"""RFC 3461 NOTIFY=SUCCESS (issue 4: "honour NOTIFY"; docs/sendmail.md:
"success notices only for NOTIFY=SUCCESS"): a recipient delivered
locally gets a "delivered" report, one relayed to a server without the DSN
extension a "relayed" report, and one relayed to a DSN server none from us
(the request is passed on). The network is test_outbound_routing.py's
`net`."""
import smtplib

from ternserver import make_message
from test_outbound_routing import (ALICE, dsn_recipient_fields, net, servers,  # noqa: F401
                                   wait_bounce, wait_fake_accepted)

MX_ZONE = {"b.test": {"MX": [(10, "mx.b.test")]}, "mx.b.test": {"A": ["127.0.0.2"]}}


def send_notify(a, rcpt, notify="SUCCESS,FAILURE"):
    with smtplib.SMTP(a.host, a.port(), timeout=30) as c:
        c.ehlo("client.test")
        c.sendmail(ALICE, [rcpt], make_message(subject="notify me", sender=ALICE, to=rcpt),
                   rcpt_options=[f"NOTIFY={notify}"])


def report_for(bounce, rcpt):
    recips, _ = dsn_recipient_fields(bounce)
    mine = [r for r in recips if r.get("final-recipient", "").lower().endswith(rcpt)]
    assert len(mine) == 1, recips
    return mine[0]


def test_relayed_to_a_server_without_dsn(net):
    """RFC 3461 5.2.2: relaying to a server that does not offer DSN, a
    NOTIFY=SUCCESS recipient gets a "relayed" report (status 2.x.x)."""
    a = net.sender()
    fake = net.fake("127.0.0.2", extensions=["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"])
    net.zone.update(MX_ZONE)
    send_notify(a, "bob@b.test")
    wait_fake_accepted(fake)
    (report,) = wait_bounce(a, timeout=10)
    r = report_for(report, "bob@b.test")
    assert r["action"].lower() == "relayed", r
    assert r["status"].startswith("2."), r


def test_passed_on_to_a_dsn_server(net):
    """RFC 3461 5.2.1: a server with DSN gets NOTIFY=SUCCESS passed on and
    reports itself; we send no report (and a later check finds none)."""
    a = net.sender()
    fake = net.fake("127.0.0.2")            # offers DSN
    net.zone.update(MX_ZONE)
    send_notify(a, "bob@b.test")
    (m,) = wait_fake_accepted(fake)
    assert "NOTIFY=SUCCESS,FAILURE" in m["rcpts"][0].upper()
    a.wait_queue_empty(timeout=20)
    assert a.messages(ALICE) == []


def test_delivered_locally(net):
    """RFC 3461 5.2.3 (local delivery): NOTIFY=SUCCESS to a local mailbox
    makes a "delivered" report to the sender."""
    a = net.sender(users=(ALICE, "ann@a.test"))
    send_notify(a, "ann@a.test")
    a.wait_messages("ann@a.test", 1)
    (report,) = wait_bounce(a, timeout=10)
    r = report_for(report, "ann@a.test")
    assert r["action"].lower() == "delivered", r
    assert r["status"].startswith("2."), r
