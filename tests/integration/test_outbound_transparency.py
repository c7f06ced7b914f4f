"""The SMTP client's data transparency (RFC 5321 4.5.2): lines that begin
with a dot, a line of only a dot, and a bare LF in the stored message reach
the remote server intact, dot-stuffed on the wire and unstuffed by it. The
network is test_outbound_routing.py's `net`."""
import smtplib

from test_outbound_routing import ALICE, net, servers, wait_fake_accepted  # noqa: F401

MX_ZONE = {"b.test": {"MX": [(10, "mx.b.test")]}, "mx.b.test": {"A": ["127.0.0.2"]}}


def test_leading_dots_survive_the_relay(net):
    a = net.sender()
    fake = net.fake("127.0.0.2")
    net.zone.update(MX_ZONE)
    body = (".starts with a dot\r\n"
            "..two dots\r\n"
            ".\r\n"
            "a line\r\n"
            "." + "x" * 5000 + "\r\n"      # longer than one read: the dot still doubled
            "last line without dot\r\n")
    msg = ("From: <alice@a.test>\r\nTo: <bob@b.test>\r\nSubject: dots\r\n\r\n" + body).encode()
    with smtplib.SMTP(a.host, a.port(), timeout=30) as c:
        c.ehlo("client.test")
        c.sendmail(ALICE, ["bob@b.test"], msg)
    (m,) = wait_fake_accepted(fake)
    data = m["data"]
    assert data.endswith(body.encode()), data[-300:]
    a.wait_queue_empty(timeout=20)
