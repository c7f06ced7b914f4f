"""Outbound delivery through DNS MX routing (issue 4 "Routing and DNS"),
end to end between real `tern serve` instances on loopback.

The network of a test (the `net` fixture below, also used by the other
test_outbound_*.py files):

- a DNS server (dnsserver.py) on 127.0.0.1 that every instance asks
  (delivery.nameserver), its zone changed by the test;
- the sending instance "A" on 127.0.0.1 (domain a.test, user alice, relay
  for 127.0.0.0/8 so a test can hand it mail on port 25);
- receiving instances and fake SMTP servers (fakesmtp.py) on 127.0.0.2 and
  up, all on one port: delivery.mx_port of every instance.

Every wait is a poll with a deadline; no sleep is an assertion.
"""
import email
import email.policy
import json
import smtplib
import socket

import pytest

import dnsserver
from fakesmtp import FakeSMTP
from ternserver import make_message, servers, toml_value, wait_until  # noqa: F401

SENDER_DOMAIN = "a.test"
ALICE = "alice@a.test"
FAST_RETRY = ["1s"]


def _port_free_on(hosts):
    """A TCP port that is free on every one of hosts (tried in turn)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        ok = True
        for h in hosts[1:]:
            with socket.socket() as s:
                try:
                    s.bind((h, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    pytest.fail("no port free on all of " + ", ".join(hosts))


def delivery_toml(dns_port, mx_port, retry=None, bounce_after=None, extra=""):
    lines = ["[delivery]", f'nameserver = "127.0.0.1:{dns_port}"', f"mx_port = {mx_port}"]
    if retry is not None:
        lines.append("retry = [" + ", ".join(f'"{r}"' for r in retry) + "]")
    if bounce_after is not None:
        lines.append(f'bounce_after = "{bounce_after}"')
    return "\n".join(lines) + "\n" + extra


class Net:
    """DNS, a sender and receivers on 127.0.0.x sharing delivery.mx_port."""

    HOSTS = [f"127.0.0.{i}" for i in range(2, 10)]

    def __init__(self, servers):
        self.servers = servers
        self.mx_port = _port_free_on(self.HOSTS)
        self.zone = {}
        self.dns = dnsserver.DNSServer(self.zone)
        self.dns_port = self.dns.start()
        self.fakes = []

    def close(self):
        for f in self.fakes:
            f.stop()
        self.dns.stop()

    def delivery(self, **kw):
        return delivery_toml(self.dns_port, self.mx_port, **kw)

    def sender(self, retry=FAST_RETRY, bounce_after=None, users=(ALICE,), extra="",
               relay=None, limits=None):
        """Instance A on 127.0.0.1: domain a.test, relays for loopback.
        relay: more [relay] keys ({"smarthost": "127.0.0.3:2525", ...})."""
        srv = self.servers.make(
            users={u: "pw" for u in users}, host="127.0.0.1", domains=[SENDER_DOMAIN],
            listeners=("smtp",), relay_networks=["127.0.0.0/8"], limits=limits,
            extra=self.delivery(retry=retry, bounce_after=bounce_after) + extra)
        if relay:
            keys = "".join(f"{k} = {toml_value(v)}\n" for k, v in relay.items())
            text = srv.config.read_text()
            assert text.count("[relay]\n") == 1
            srv.config.write_text(text.replace("[relay]\n", "[relay]\n" + keys))
        return srv.start()

    def receiver(self, host, domain, users, start=True):
        """A tern instance for domain on host:mx_port."""
        srv = self.servers.make(users={u: "pw" for u in users}, host=host, domains=[domain],
                                listeners=("smtp",), extra=self.delivery(retry=FAST_RETRY))
        old = srv.ports["smtp"]
        srv.ports["smtp"] = self.mx_port
        text = srv.config.read_text()
        assert f'"{host}:{old}"' in text
        srv.config.write_text(text.replace(f'"{host}:{old}"', f'"{host}:{self.mx_port}"'))
        return srv.start() if start else srv

    def fake(self, host, **kw):
        f = FakeSMTP(host, self.mx_port, **kw)
        f.start()
        self.fakes.append(f)
        return f


@pytest.fixture
def net(servers):
    n = Net(servers)
    yield n
    n.close()


def submit(srv, rcpts, sender=ALICE, subject="outbound test", body="Hello over there.\r\n",
           msg=None):
    """Hand srv a message on its port 25 (relay for loopback)."""
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    if msg is None:
        msg = make_message(subject=subject, sender=sender, to=rcpts[0], body=body)
    with smtplib.SMTP(srv.host, srv.port(), timeout=30) as c:
        c.ehlo("client.test")
        refused = c.sendmail(sender, rcpts, msg)
        assert not refused, refused
    return msg


def queue_json(srv):
    return json.loads(srv.cli("queue", "list", args=["--json"]).stdout)


def recipient_states(srv):
    """{address: recipient record} over the whole queue."""
    out = {}
    for m in queue_json(srv):
        for r in m["recipients"]:
            out[r["address"]] = dict(r, id=m["id"], sender=m["sender"])
    return out


def parse(path_or_bytes):
    raw = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)


def wait_bounce(srv, address=ALICE, count=1, timeout=30.0):
    """The bounces in address's Maildir, once there are count of them."""
    return [parse(p) for p in srv.wait_messages(address, count, timeout=timeout)]


def wait_fake_accepted(fake, count=1, timeout=30.0, what="accepted message(s)"):
    wait_until(lambda: sum(1 for m in fake.messages if m["accepted"]) >= count,
               timeout, what=f"{count} {what} at fake {fake.host}")
    return [m for m in fake.messages if m["accepted"]]


def _field_blocks(text):
    """RFC 3464 2.1 / RFC 6533 6.2 report text: blocks of fields separated
    by blank lines, folded lines unfolded; [{lowercased name: value}]."""
    blocks, cur, last = [], {}, None
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if cur:
                blocks.append(cur)
            cur, last = {}, None
        elif line[0] in " \t" and last is not None:
            cur[last] += " " + line.strip()
        else:
            name, _, value = line.partition(":")
            last = name.strip().lower()
            cur[last] = value.strip()
    if cur:
        blocks.append(cur)
    return blocks


def dsn_recipient_fields(bounce):
    """The per-recipient field groups of a bounce's report part (RFC 3464
    message/delivery-status, or RFC 6533 message/global-delivery-status) as
    a list of {lowercased name: value}, and the per-message fields."""
    assert bounce.get_content_type() == "multipart/report", bounce.get_content_type()
    assert bounce.get_param("report-type") == "delivery-status"
    status = [p for p in bounce.iter_parts()
              if p.get_content_type() in ("message/delivery-status",
                                          "message/global-delivery-status")]
    assert len(status) == 1, [p.get_content_type() for p in bounce.iter_parts()]
    if status[0].get_content_type() == "message/delivery-status":
        # email parses it as a list of header blocks: the per-message block
        # first, then one per recipient (RFC 3464 2.1)
        blocks = [{k.lower(): str(v) for k, v in b.items()} for b in status[0].get_payload()]
    else:
        # email takes it for an embedded message (its first block as the
        # header): parse the text after the part's own header instead
        text = status[0].as_bytes().decode("utf-8").replace("\r\n", "\n").split("\n\n", 1)[1]
        blocks = _field_blocks(text)
    return blocks[1:], blocks[0]


def assert_failed_for(srv, bounce, rcpt, status_prefix="5."):
    recips, _ = dsn_recipient_fields(bounce)
    mine = [r for r in recips if r.get("final-recipient", "").lower().endswith(rcpt.lower())]
    assert mine, recips
    assert mine[0]["action"].lower() == "failed"
    assert mine[0]["status"].startswith(status_prefix), mine[0]
    return mine[0]


# --- the tests ----------------------------------------------------------------


def test_mx_preference(net):
    """RFC 5321 5.1: the MX with the lowest preference value is tried first."""
    a = net.sender()
    best = net.receiver("127.0.0.2", "b.test", ["bob@b.test"])
    backup = net.fake("127.0.0.3")
    net.zone.update({
        "b.test": {"MX": [(20, "mx2.b.test"), (10, "mx1.b.test")]},
        "mx1.b.test": {"A": ["127.0.0.2"]},
        "mx2.b.test": {"A": ["127.0.0.3"]},
    })
    sent = submit(a, "bob@b.test", subject="preference")
    files = best.wait_messages("bob@b.test", 1, timeout=30)
    got = parse(files[0])
    assert got["Subject"] == "preference"
    assert b"Hello over there." in files[0].read_bytes()
    # our Received: above the original header, the body unchanged
    assert got["Message-ID"] == parse(sent)["Message-ID"]
    a.wait_queue_empty(timeout=20)
    assert backup.connections == 0
    # opportunistic STARTTLS between two tern instances (RFC 3207), the
    # self-signed certificate not verified, and the log says so
    assert ("outbound delivered id=" in a.log() and
            f"to=<bob@b.test> relay=mx1.b.test[127.0.0.2]:{net.mx_port} tls=yes verified=no"
            in a.log()), a.log()


def test_fallback_to_next_mx_when_first_refuses(net):
    """The best MX refuses connections (nothing listens on 127.0.0.2): the
    next one by preference gets the mail (RFC 5321 5.1: try each in turn)."""
    a = net.sender()
    second = net.receiver("127.0.0.3", "b.test", ["bob@b.test"])
    net.zone.update({
        "b.test": {"MX": [(10, "down.b.test"), (20, "up.b.test")]},
        "down.b.test": {"A": ["127.0.0.2"]},
        "up.b.test": {"A": ["127.0.0.3"]},
    })
    submit(a, "bob@b.test", subject="fallback")
    files = second.wait_messages("bob@b.test", 1, timeout=30)
    assert parse(files[0])["Subject"] == "fallback"
    a.wait_queue_empty(timeout=20)
    assert ("down.b.test", "A") in net.dns.queries
    # the refusing best MX was really tried first
    assert "relay=down.b.test[127.0.0.2]" in a.log(), a.log()


def test_second_address_of_one_mx(net):
    """An MX host with two addresses: the refusing one is skipped."""
    a = net.sender()
    rcv = net.receiver("127.0.0.4", "b.test", ["bob@b.test"])
    net.zone.update({
        "b.test": {"MX": [(10, "mx.b.test")]},
        "mx.b.test": {"A": ["127.0.0.5", "127.0.0.4"]},
    })
    submit(a, "bob@b.test", subject="two addresses")
    rcv.wait_messages("bob@b.test", 1, timeout=30)
    a.wait_queue_empty(timeout=20)


def test_implicit_mx(net):
    """No MX record but an A record: the domain itself is the host (RFC 5321
    5.1, "implicit MX")."""
    a = net.sender()
    rcv = net.receiver("127.0.0.2", "c.test", ["carol@c.test"])
    net.zone.update({"c.test": {"A": ["127.0.0.2"]}})
    submit(a, "carol@c.test", subject="implicit")
    files = rcv.wait_messages("carol@c.test", 1, timeout=30)
    assert parse(files[0])["Subject"] == "implicit"
    a.wait_queue_empty(timeout=20)
    assert ("c.test", "MX") in net.dns.queries


def test_null_mx_bounces_at_once(net):
    """RFC 7505 3: a domain with a null MX accepts no mail; the sender gets
    a bounce at once (5.1.10), without any retry."""
    a = net.sender(retry=["1h"])
    net.zone.update({"nomail.test": {"MX": [(0, ".")]}})
    submit(a, "x@nomail.test", subject="null mx")
    (bounce,) = wait_bounce(a)
    f = assert_failed_for(a, bounce, "x@nomail.test")
    assert f["status"] == "5.1.10", f
    a.wait_queue_empty(timeout=20)


def test_nxdomain_bounces_at_once(net):
    """A domain that does not exist: permanent failure (5.1.2) at once."""
    a = net.sender(retry=["1h"])
    submit(a, "x@nowhere.test", subject="nxdomain")
    (bounce,) = wait_bounce(a)
    f = assert_failed_for(a, bounce, "x@nowhere.test")
    assert f["status"] == "5.1.2", f
    assert "nowhere.test" in f.get("diagnostic-code", ""), f
    a.wait_queue_empty(timeout=20)


def test_servfail_defers_then_delivers(net):
    """SERVFAIL is temporary (4.4.3): the recipient waits, and is delivered
    once DNS answers."""
    a = net.sender(retry=["1s"])
    rcv = net.receiver("127.0.0.2", "b.test", ["bob@b.test"])
    net.zone.update({"b.test": "SERVFAIL"})
    submit(a, "bob@b.test", subject="servfail")
    st = wait_until(lambda: recipient_states(a).get("bob@b.test", {}).get("state") == "deferred"
                    and recipient_states(a)["bob@b.test"], 20, what="a deferred recipient")
    assert (st["last_error"] or "").startswith("dns;"), st
    net.zone["b.test"] = {"MX": [(10, "mx.b.test")]}
    net.zone["mx.b.test"] = {"A": ["127.0.0.2"]}
    rcv.wait_messages("bob@b.test", 1, timeout=30)
    a.wait_queue_empty(timeout=20)
    assert a.messages(ALICE) == []       # no bounce


def test_one_transaction_for_two_recipients(net):
    """Recipients of one message for one destination share a transaction."""
    a = net.sender()
    fake = net.fake("127.0.0.2")
    net.zone.update({"b.test": {"MX": [(10, "mx.b.test")]}, "mx.b.test": {"A": ["127.0.0.2"]}})
    submit(a, ["x@b.test", "y@b.test"], subject="two")
    (m,) = wait_fake_accepted(fake)
    assert sorted(m["accepted_rcpts"]) == ["x@b.test", "y@b.test"]
    assert m["mail"].startswith(f"MAIL FROM:<{ALICE}>")
    a.wait_queue_empty(timeout=20)


def test_smarthost_with_auth(net):
    """relay.smarthost replaces MX routing: A hands everything to B (a tern
    instance, AUTH as a user of B over loopback), and B delivers through
    the MX of the destination."""
    b = net.receiver("127.0.0.3", "b.test", ["relay@b.test"])
    a = net.sender(relay={"smarthost": f"127.0.0.3:{net.mx_port}",
                          "smarthost_user": "relay@b.test", "smarthost_password": "pw"})
    fake = net.fake("127.0.0.4")
    # c.test's MX is the fake: only B may look it up and go there
    net.zone.update({"c.test": {"MX": [(10, "mx.c.test")]}, "mx.c.test": {"A": ["127.0.0.4"]}})
    # B checks that an authenticated client sends as its own address, on
    # every port (a satellite relaying for many senders belongs in B's
    # relay.networks instead): the message is from the smarthost account
    submit(a, "carol@c.test", sender="relay@b.test", subject="via smarthost")
    (m,) = wait_fake_accepted(fake, timeout=30)
    assert m["accepted_rcpts"] == ["carol@c.test"]
    assert parse(m["data"])["Subject"] == "via smarthost"
    a.wait_queue_empty(timeout=20)
    b.wait_queue_empty(timeout=20)
    # A delivered to the smarthost (over STARTTLS: B offers it), not to the MX
    assert f"to=<carol@c.test> relay=127.0.0.3[127.0.0.3]:{net.mx_port} tls=yes" in a.log()
    assert "relay=mx.c.test" not in a.log()
    # B saw an authenticated submission from A, and did the MX routing
    assert "user=relay@b.test result=ok" in b.log()
    assert "auth=relay@b.test" in b.log()
    assert "to=<carol@c.test> relay=mx.c.test[127.0.0.4]" in b.log()


def test_ipv6_only_mx(net):
    """An MX host with only an AAAA record is reached over IPv6 (RFC 5321
    5.1: the host's addresses, IPv4 and IPv6)."""
    try:
        fake = net.fake("::1")
    except OSError as e:
        pytest.skip(f"::1 port {net.mx_port} not available: {e}")
    a = net.sender()
    net.zone.update({"six.test": {"MX": [(10, "mx.six.test")]}, "mx.six.test": {"AAAA": ["::1"]}})
    submit(a, "x@six.test", subject="over ipv6")
    (m,) = wait_fake_accepted(fake)
    assert m["accepted_rcpts"] == ["x@six.test"]
    a.wait_queue_empty(timeout=20)
    assert "relay=mx.six.test[::1]" in a.log(), a.log()


def test_a_then_aaaa_of_one_host(net):
    """The host's IPv4 address refuses; its IPv6 address is tried next."""
    try:
        fake = net.fake("::1")
    except OSError as e:
        pytest.skip(f"::1 port {net.mx_port} not available: {e}")
    a = net.sender()
    net.zone.update({"dual.test": {"MX": [(10, "mx.dual.test")]},
                     "mx.dual.test": {"A": ["127.0.0.6"], "AAAA": ["::1"]}})
    submit(a, "x@dual.test", subject="dual stack")
    wait_fake_accepted(fake)
    a.wait_queue_empty(timeout=20)
