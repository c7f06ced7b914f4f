"""The remote side of tests/unit/outbound/test-outbound.c: a DNS server and
fake SMTP servers on 127.0.0.x, all on one port (delivery.mx_port).
Usage: harness.py OUTDIR; prints "DNS <port> SMTP <port>", serves until
stdin closes. Received messages land in OUTDIR as <ip>-<n>.json."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "integration"))
import dnsserver  # noqa: E402
from fakesmtp import FakeSMTP  # noqa: E402

outdir = sys.argv[1]
good = FakeSMTP("127.0.0.2", 0, outdir=outdir)
port = good.port
servers = [
    good,
    # 127.0.0.3: nothing listens (connection refused)
    FakeSMTP("127.0.0.4", port, outdir=outdir,
             rcpt_replies={"bad@rcpt550.test": "550 5.1.1 <bad@rcpt550.test> no such user"}),
    FakeSMTP("127.0.0.5", port, outdir=outdir, data_replies=["550 5.7.1 content rejected"]),
    FakeSMTP("127.0.0.6", port, outdir=outdir,
             data_replies=["451 4.3.0 try again later", "250 2.0.0 ok now"]),
    FakeSMTP("127.0.0.7", port, outdir=outdir, drop_in_data=True),
    FakeSMTP("127.0.0.8", port, outdir=outdir, extensions=["PIPELINING", "SIZE 3000"]),
    FakeSMTP("127.0.0.9", port, outdir=outdir, ehlo_reply="502 5.5.2 what is EHLO"),
]
zone = {
    "good.test": {"MX": [(10, "mx.good.test")]},
    "mx.good.test": {"A": ["127.0.0.2"]},
    "pref.test": {"MX": [(20, "up.pref.test"), (10, "down.pref.test")]},
    "down.pref.test": {"A": ["127.0.0.3"]},
    "up.pref.test": {"A": ["127.0.0.2"]},
    "implicit.test": {"A": ["127.0.0.2"]},
    "nullmx.test": {"MX": [(0, ".")]},
    "servfail.test": "SERVFAIL",
    "rcpt550.test": {"MX": [(10, "mx.rcpt550.test")]},
    "mx.rcpt550.test": {"A": ["127.0.0.4"]},
    "data550.test": {"MX": [(10, "mx.data550.test")]},
    "mx.data550.test": {"A": ["127.0.0.5"]},
    "later.test": {"MX": [(10, "mx.later.test")]},
    "mx.later.test": {"A": ["127.0.0.6"]},
    "drop.test": {"MX": [(10, "mx.drop.test")]},
    "mx.drop.test": {"A": ["127.0.0.7"]},
    "seven.test": {"MX": [(10, "mx.seven.test")]},
    "mx.seven.test": {"A": ["127.0.0.8"]},
    "helo.test": {"MX": [(10, "mx.helo.test")]},
    "mx.helo.test": {"A": ["127.0.0.9"]},
    "loop.test": {"MX": [(10, "me.test")]},
    "me.test": {"A": ["127.0.0.2"]},
    "nohost.test": {"MX": [(10, "missing.nohost.test")]},
}
for s in servers:
    s.start()
dns_port = dnsserver.start(zone)
print(f"DNS {dns_port} SMTP {port}", flush=True)
sys.stdin.read()
dnsserver.stop()
for s in servers:
    s.stop()
