"""Sender authentication of outgoing mail (issue 13 "Outbound"): DKIM
signatures made by tern verified by dkimpy (python3-dkim) and by OpenDKIM
(opendkim-testmsg), `tern dkim keygen|show|check`, and mail an alias
forwards to another domain: ARC-sealed (verified by dkimpy's ARC support)
with an SRS sender whose bounces find their way back.

The network is test_outbound_routing.py's: a DNS server and tern and fake
SMTP servers on 127.0.0.x sharing one MX port.
"""
import re
import smtplib

import pytest

import msgauthlib as ma
from ternserver import make_message, servers, wait_until  # noqa: F401
from test_outbound_routing import ALICE, net, submit  # noqa: F401

CAROL = "carol@b.test"


def publish(srv, net, domain):
    """Make the domain's keys with `tern dkim keygen` and put the records
    `tern dkim show` prints into the zone; returns the selectors."""
    res = srv.cli("dkim", "keygen", args=[domain])
    assert "_domainkey" in res.stdout
    return publish_shown(srv, net, domain)


def publish_shown(srv, net, domain):
    selectors = []
    for line in srv.cli("dkim", "show", args=[domain]).stdout.splitlines():
        m = re.match(r'^(\S+)\._domainkey\.(\S+)\. IN TXT ((?:"[^"]*" ?)+)$', line)
        assert m, line
        strings = tuple(re.findall(r'"([^"]*)"', m.group(3)))
        assert all(len(s) <= 255 for s in strings)
        net.zone[f"{m.group(1)}._domainkey.{domain}"] = {"TXT": [strings]}
        selectors.append(m.group(1))
    return selectors


def receive_at(net, domain, host):
    net.zone[domain] = {"MX": [(10, f"mx.{domain}")]}
    net.zone[f"mx.{domain}"] = {"A": [host]}
    return net.fake(host)


def test_keygen_show_help(servers):
    srv = servers.make()
    res = srv.cli("dkim", "keygen", args=["Example.Test", "--selector", "s1",
                                          "--algorithm", "ed25519"])
    assert res.stdout.startswith('s1._domainkey.example.test. IN TXT "v=DKIM1; k=ed25519; p=')
    assert (srv.data_dir / "dkim" / "example.test" / "s1.key").exists()
    # the same selector again is refused; the key stays
    res = srv.cli("dkim", "keygen", args=["example.test", "--selector", "s1"], check=False)
    assert res.returncode != 0 and "exists already" in res.stderr
    # default: RSA-2048 and Ed25519, the RSA record cut into 255-byte strings
    res = srv.cli("dkim", "keygen", args=["example.test"])
    lines = res.stdout.splitlines()
    assert len(lines) == 2
    assert re.match(r'^rsa-\d{8}\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=rsa; p=[^"]{200,}" "',
                    lines[0]), lines[0]
    assert len(srv.cli("dkim", "show", args=["example.test"]).stdout.splitlines()) == 3
    res = srv.cli("dkim", "show", args=["nokeys.test"], check=False)
    assert res.returncode == 1 and "tern dkim keygen nokeys.test" in res.stderr
    res = srv.cli("dkim", "keygen", args=["--help"])
    assert res.stdout.startswith("usage: tern dkim")
    res = srv.cli("dkim", "keygen", args=["x.test", "--algorithm", "dsa"], check=False)
    assert res.returncode == 64


def test_signed_mail_verifies_with_dkimpy_and_opendkim(net):
    a = net.sender()
    selectors = publish(a, net, "a.test")
    fake = receive_at(net, "b.test", "127.0.0.3")
    msg = make_message(subject="signed by tern", sender=ALICE, to=CAROL,
                       body="Line one\r\n\r\n.dot line\r\ntrailing  \r\n\r\n")
    submit(a, CAROL, msg=msg)
    wait_until(lambda: fake.messages, what=lambda: a.log()[-3000:])
    data = fake.messages[0]["data"]
    results = ma.dkimpy_verify_all(data, net.zone)
    assert sorted(s for d, s, ok in results) == sorted(selectors)
    assert all(ok and d == "a.test" for d, s, ok in results), results
    # the over-signed header: a Cc added later breaks every signature
    tampered = data.replace(b"Subject: signed", b"Cc: eve@evil.test\r\nSubject: signed", 1)
    assert not any(ok for _, _, ok in ma.dkimpy_verify_all(tampered, net.zone))
    # OpenDKIM verifies them too (it asks the system's DNS: a private one)
    res = ma.run_with_private_dns(net.zone, ["opendkim-testmsg"], input=data)
    assert res.returncode == 0, (res.stdout, res.stderr)
    bad = data.replace(b"Line one", b"Line 0ne")
    res = ma.run_with_private_dns(net.zone, ["opendkim-testmsg"], input=bad)
    assert res.returncode != 0


def test_mail_without_key_is_not_signed(net):
    a = net.sender()
    fake = receive_at(net, "b.test", "127.0.0.3")
    submit(a, CAROL)
    wait_until(lambda: fake.messages)
    assert b"DKIM-Signature" not in fake.messages[0]["data"]


def test_dkim_check(net):
    a = net.sender()
    res = a.cli("dkim", "check", args=["a.test"], check=False)
    assert res.returncode == 1 and "no DKIM key" in res.stderr
    selectors = publish(a, net, "a.test")
    res = a.cli("dkim", "check", args=["a.test"])
    assert res.stdout.count(": ok") == 2, res.stdout
    # a record of another key, and a missing one
    net.zone[f"{selectors[0]}._domainkey.a.test"] = {
        "TXT": [ma.key_record(ma.KEYS / "rsa2048.pem")]}
    del net.zone[f"{selectors[1]}._domainkey.a.test"]
    res = a.cli("dkim", "check", args=["a.test"], check=False)
    assert res.returncode == 1
    assert "does not match the key" in res.stdout and "no record published" in res.stdout


@pytest.fixture
def forwarder(net, servers):
    """tern for fwd.test on 127.0.0.5 (no relay.networks: the client is a
    stranger), list@fwd.test forwarding to carol@b.test."""
    srv = servers.make(users={"dave@fwd.test": "pw"}, aliases={"list@fwd.test": [CAROL]},
                       host="127.0.0.5", domains=["fwd.test"], listeners=("smtp",),
                       extra=net.delivery(retry=["1s"]))
    publish(srv, net, "fwd.test")
    net.zone["example.org"] = {"TXT": ["v=spf1 ip4:127.0.0.1 -all"],
                               "MX": [(10, "mx.example.org")]}
    net.zone["mx.example.org"] = {"A": ["127.0.0.4"]}
    net.zone["rsa._domainkey.example.org"] = {"TXT": [ma.key_record(ma.KEYS / "rsa2048.pem")]}
    net.zone["_dmarc.example.org"] = {"TXT": ["v=DMARC1; p=reject"]}
    return srv.start()


def test_forwarded_mail_is_arc_sealed_with_srs(net, forwarder):
    fake = receive_at(net, "b.test", "127.0.0.3")
    msg = ma.dkimpy_sign(make_message(subject="to the list", sender="alice@example.org",
                                      to="list@fwd.test"), "rsa", "example.org", "rsa2048.pem")
    with smtplib.SMTP(forwarder.host, forwarder.port(), timeout=30) as c:
        c.ehlo("client.example.org")
        assert not c.sendmail("alice@example.org", ["list@fwd.test"], msg)
    wait_until(lambda: fake.messages, what=lambda: forwarder.log()[-3000:])
    got = fake.messages[0]
    # SRS: the sender is ours now, and says where bounces go
    mail_from = re.search(r"MAIL FROM:<([^>]*)>", got["mail"]).group(1)
    assert mail_from.startswith("SRS0=") and mail_from.endswith("=example.org=alice@fwd.test")
    data = got["data"]
    assert b"ARC-Seal: i=1;" in data and b"cv=none" in data
    # dkimpy's ARC validation of tern's seal
    cv, results, reason = ma.dkim.arc_verify(data, dnsfunc=ma.zone_dnsfunc(net.zone))
    assert cv == ma.dkim.CV_Pass, (cv, reason)
    # the original signature still holds
    assert ma.dkim.verify(data, dnsfunc=ma.zone_dnsfunc(net.zone))
    # the AAR records what tern found
    assert re.search(rb"ARC-Authentication-Results: i=1; mx\.example\.test;.*dkim=pass", data,
                     re.S)

    # a bounce to the SRS address goes back to the original sender
    back = net.fake("127.0.0.4")
    with smtplib.SMTP(forwarder.host, forwarder.port(), timeout=30) as c:
        c.ehlo("mx.b.test")
        assert not c.sendmail("", [mail_from], make_message(subject="bounce",
                                                            sender="mailer-daemon@b.test",
                                                            to=mail_from))
        # a forged one is refused
        c.mail("")
        code, text = c.rcpt("SRS0=AAAAAA=AA=evil.test=victim@fwd.test")
        assert code == 550, text
    wait_until(lambda: back.messages, what=lambda: forwarder.log()[-3000:])
    assert back.messages[0]["rcpts"] == ["RCPT TO:<alice@example.org>"]


def test_signed_at_send_time_when_not_at_queue_time(net):
    """`tern sendmail` queues without the server: outbound signs when it
    sends. A body converted to 7 bits for a server without 8BITMIME is
    signed as converted."""
    import subprocess
    a = net.sender()
    publish(a, net, "a.test")
    fake = receive_at(net, "b.test", "127.0.0.3")
    res = subprocess.run([a.tern_bin, "sendmail", "-c", str(a.config), "-f", ALICE, CAROL],
                         input=f"From: {ALICE}\nTo: {CAROL}\nSubject: via sendmail\n\nhi\n".encode(),
                         capture_output=True, timeout=30)
    assert res.returncode == 0, res.stderr
    wait_until(lambda: fake.messages, what=lambda: a.log()[-3000:])
    results = ma.dkimpy_verify_all(fake.messages[0]["data"], net.zone)
    assert len(results) == 2 and all(ok for _, _, ok in results), results

    old = net.fake("127.0.0.6", extensions=["PIPELINING", "SIZE 10485760"])
    net.zone["c.test"] = {"MX": [(10, "mx.c.test")]}
    net.zone["mx.c.test"] = {"A": ["127.0.0.6"]}
    msg = (f"From: {ALICE}\r\nTo: dan@c.test\r\nSubject: 8-bit\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
           "\r\nGr\u00fc\u00dfe aus K\u00f6ln\r\n").encode()
    submit(a, "dan@c.test", msg=msg)
    wait_until(lambda: old.messages, what=lambda: a.log()[-3000:])
    data = old.messages[0]["data"]
    assert b"quoted-printable" in data and not any(c > 127 for c in data)
    results = ma.dkimpy_verify_all(data, net.zone)
    assert len(results) == 2 and all(ok for _, _, ok in results), results
