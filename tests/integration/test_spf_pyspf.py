"""tern's SPF results against pyspf's (python3-spf, an independent
implementation of RFC 7208), over the same DNS server: the examples of RFC
7208 appendix A (their 192.0.2.x addresses moved to 127.0.0.x, where test
clients can connect from), then a table of records exercising every
mechanism, modifier, macro letter and transformer, the processing limits
and the syntax errors. tern's result comes end to end: one message per case
on port 25 from the case's client address, its Authentication-Results read
back.
"""
import smtplib

import dns.resolver
import pytest
import spf

import dnsserver
import msgauthlib as ma
from ternserver import make_message, servers, wait_until  # noqa: F401

BOB = "bob@example.test"

AUX = {
    "mx.spf.test": {"A": ["127.0.0.2"]},
    "mail.spf.test": {"A": ["127.0.0.3", "127.0.0.4"]},
    "mxdom.spf.test": {"MX": [(10, "mx.spf.test"), (20, "mail.spf.test")]},
    "nomx.spf.test": {"A": ["127.0.0.1"]},
    "bigmx.spf.test": {"MX": [(i, f"m{i}.spf.test") for i in range(11)]},
    "2.0.0.127.in-addr.arpa": {"PTR": ["mx.spf.test"]},
    "5.0.0.127.in-addr.arpa": {"PTR": ["host.other.test"]},
    "host.other.test": {"A": ["127.0.0.9"]},
    "inc.spf.test": {"TXT": ["v=spf1 ip4:127.0.0.6 -all"]},
    "inc-soft.spf.test": {"TXT": ["v=spf1 ~all"]},
    "inc-temp.spf.test": {"TXT": "SERVFAIL"},
    "inc-nest1.spf.test": {"TXT": ["v=spf1 include:inc-nest2.spf.test -all"]},
    "inc-nest2.spf.test": {"TXT": ["v=spf1 ip4:127.0.0.7 -all"]},
    "redir-target.spf.test": {"TXT": ["v=spf1 ip4:127.0.0.7 -all"]},
    "127.0.0.8.ex.spf.test": {"A": ["127.0.0.2"]},
    "user.lp.spf.test": {"A": ["127.0.0.2"]},
    "1.0.0.127.in-addr.rev.spf.test": {"A": ["127.0.0.2"]},
    "spf.test.d2.spf.test": {"A": ["127.0.0.2"]},
    "first.last.dash.spf.test": {"A": ["127.0.0.2"]},
    "helo.client.test.h.spf.test": {"A": ["127.0.0.2"]},
    "mx.spf.test.p.spf.test": {"A": ["127.0.0.2"]},
    "explain.spf.test": {"TXT": ["%{i} is not allowed for %{d}"]},
    "helo.spf.test": {"A": ["127.0.0.4"], "TXT": ["v=spf1 a -all"]},
}

# RFC 7208 appendix A's zone, 192.0.2.N as 127.0.0.N
APPENDIX_A_HOSTS = {
    "amy.example.com": {"A": ["127.0.0.65"]},
    "bob.example.com": {"A": ["127.0.0.66"]},
    "mail-a.example.com": {"A": ["127.0.0.129"]},
    "mail-b.example.com": {"A": ["127.0.0.130"]},
    "mail-c.example.org": {"A": ["127.0.0.140"]},
    "example.org": {"MX": [(10, "mail-c.example.org")]},
    "10.0.0.127.in-addr.arpa": {"PTR": ["example.com"]},
    "11.0.0.127.in-addr.arpa": {"PTR": ["example.com"]},
    "65.0.0.127.in-addr.arpa": {"PTR": ["amy.example.com"]},
    "66.0.0.127.in-addr.arpa": {"PTR": ["bob.example.com"]},
    "129.0.0.127.in-addr.arpa": {"PTR": ["mail-a.example.com"]},
    "130.0.0.127.in-addr.arpa": {"PTR": ["mail-b.example.com"]},
    "140.0.0.127.in-addr.arpa": {"PTR": ["mail-c.example.org"]},
    "ip4._spf.example.com": {"TXT": ["v=spf1 -ip4:127.0.0.0/24 +all"]},
    "ptr._spf.example.com": {"TXT": ["v=spf1 -ptr +all"]},
}
# A.1 to A.4: each policy as example.com's (A and MX records as in A)
APPENDIX_A = [
    "v=spf1 +all",
    "v=spf1 a -all",
    "v=spf1 a:example.org -all",
    "v=spf1 mx -all",
    "v=spf1 mx:example.org -all",
    "v=spf1 mx mx:example.org -all",
    "v=spf1 mx/30 mx:example.org/30 -all",
    "v=spf1 ptr -all",
    "v=spf1 ip4:127.0.0.128/28 -all",
    "v=spf1 mx -all exists:%{ir}.%{l1r+-}._spf.%{d}",
    "v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all",
]
APPENDIX_A_CLIENTS = ["127.0.0.10", "127.0.0.11", "127.0.0.65", "127.0.0.66", "127.0.0.129",
                      "127.0.0.130", "127.0.0.131", "127.0.0.140", "127.0.0.143",
                      "127.0.0.200"]

TEN = " ".join(["a:mail.spf.test"] * 10)

# (record, extra records of the case's own domain, local part, [client addresses])
CASES = [
    ("v=spf1 -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 +all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 ~all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 ?all", {}, "user", ["127.0.0.1"]),
    ("v=spf1", {}, "user", ["127.0.0.1"]),
    ("v=spf1 ip4:127.0.0.0/29 -all", {}, "user", ["127.0.0.1", "127.0.0.9"]),
    ("v=spf1 ip4:127.0.0.3 -all", {}, "user", ["127.0.0.3", "127.0.0.4"]),
    ("v=spf1 a:mail.spf.test -all", {}, "user", ["127.0.0.3", "127.0.0.2"]),
    ("v=spf1 a:mail.spf.test/30 -all", {}, "user", ["127.0.0.5", "127.0.0.9"]),
    ("v=spf1 a -all", {"A": ["127.0.0.2"]}, "user", ["127.0.0.2", "127.0.0.3"]),
    ("v=spf1 mx:mxdom.spf.test -all", {}, "user", ["127.0.0.2", "127.0.0.4", "127.0.0.5"]),
    ("v=spf1 mx:mxdom.spf.test/31 -all", {}, "user", ["127.0.0.5", "127.0.0.6"]),
    ("v=spf1 mx -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 mx:nomx.spf.test -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 mx:bigmx.spf.test -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 ptr:spf.test -all", {}, "user", ["127.0.0.2", "127.0.0.5"]),
    ("v=spf1 ptr -all", {}, "user", ["127.0.0.2"]),
    ("v=spf1 include:inc.spf.test -all", {}, "user", ["127.0.0.6", "127.0.0.1"]),
    ("v=spf1 -include:inc.spf.test +all", {}, "user", ["127.0.0.6", "127.0.0.1"]),
    ("v=spf1 include:inc-soft.spf.test -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 include:nothing.spf.test -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 include:inc-temp.spf.test -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 include:inc-nest1.spf.test -all", {}, "user", ["127.0.0.7", "127.0.0.1"]),
    ("v=spf1 redirect=redir-target.spf.test", {}, "user", ["127.0.0.7", "127.0.0.1"]),
    ("v=spf1 ip4:127.0.0.1 redirect=redir-target.spf.test", {}, "user", ["127.0.0.1"]),
    ("v=spf1 redirect=nothing.spf.test", {}, "user", ["127.0.0.1"]),
    ("v=spf1 redirect=a.spf.test redirect=b.spf.test", {}, "user", ["127.0.0.1"]),
    ("v=spf1 exists:%{i}.ex.spf.test -all", {}, "user", ["127.0.0.8", "127.0.0.1"]),
    ("v=spf1 exists:%{l}.lp.spf.test -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 exists:%{ir}.%{v}.rev.spf.test -all", {}, "user", ["127.0.0.1", "127.0.0.2"]),
    ("v=spf1 exists:%{d2}.d2.spf.test -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 exists:%{l-}.dash.spf.test -all", {}, "first-last", ["127.0.0.1"]),
    ("v=spf1 exists:%{lr-}.dash.spf.test -all", {}, "last-first", ["127.0.0.1"]),
    ("v=spf1 exists:%{o}.o.spf.test -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 exists:%{h}.h.spf.test -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 exists:%{p}.p.spf.test -all", {}, "user", ["127.0.0.2", "127.0.0.1"]),
    ("v=spf1 exists:%{d1r}.x.%{d}.%{i2}.ok.spf.test ?all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 a:v1.spf.test a:v2.spf.test a:v3.spf.test ip4:127.0.0.1 -all", {}, "user",
     ["127.0.0.1"]),
    ("v=spf1 a:v1.spf.test a:v2.spf.test ip4:127.0.0.1 -all", {}, "user", ["127.0.0.1"]),
    (f"v=spf1 {TEN} ip4:127.0.0.1 -all", {}, "user", ["127.0.0.1"]),
    (f"v=spf1 {TEN} a:mail.spf.test ip4:127.0.0.1 -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 ip4:127.0.0.300 -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 a:127.0.0.1 -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 foo -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 ip4:127.0.0.1/33 -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 unknown=foo ip4:127.0.0.1 -all", {}, "user", ["127.0.0.1"]),
    ("v=spf1 -all exp=explain.spf.test", {}, "user", ["127.0.0.1"]),
    ("v=spf1 -ip4:127.0.0.2 ip4:127.0.0.0/24", {}, "user", ["127.0.0.2", "127.0.0.3"]),
    ("v=spf1 ?ip4:127.0.0.2 ~ip4:127.0.0.3 -all", {}, "user", ["127.0.0.2", "127.0.0.3"]),
    ("v=spf1 a:mail.spf.test//64 -all", {}, "user", ["127.0.0.4"]),
]
TWO_RECORDS = 900  # a case with two records


def build_zone():
    zone = dict(AUX)
    for n, (record, own, _, _) in enumerate(CASES):
        entry = dict(own)
        entry["TXT"] = [record]
        zone[f"c{n}.spf.test"] = entry
    zone[f"c{TWO_RECORDS}.spf.test"] = {"TXT": ["v=spf1 -all", "v=spf1 +all"]}
    return zone


def all_checks():
    for n, (record, _, local, ips) in enumerate(CASES):
        for ip in ips:
            yield n, ip, f"{local}@c{n}.spf.test", "helo.client.test"
    yield TWO_RECORDS, "127.0.0.1", f"user@c{TWO_RECORDS}.spf.test", "helo.client.test"
    # the null sender: the HELO identity
    yield -1, "127.0.0.4", "", "helo.spf.test"
    yield -2, "127.0.0.5", "", "helo.spf.test"


@pytest.fixture(scope="module")
def setup(tern_bin, tmp_path_factory):
    from ternserver import TernServer
    zone = build_zone()
    zone.update(APPENDIX_A_HOSTS)
    dns_srv = dnsserver.DNSServer(zone)
    port = dns_srv.start()
    srv = TernServer(tern_bin, tmp_path_factory.mktemp("spf"), listeners=("smtp",),
                     extra=f'[delivery]\nnameserver = "127.0.0.1:{port}"\n')
    srv.add_user(BOB, "pw")
    srv.start()
    srv.zone = zone
    # pyspf asks dnspython, pointed at the same server
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port
    old = dns.resolver.default_resolver
    dns.resolver.default_resolver = resolver
    yield srv
    dns.resolver.default_resolver = old
    srv.stop()
    dns_srv.stop()


def tern_result(srv, n, ip, sender, helo, key):
    subject = f"spf case {key}"
    with smtplib.SMTP(srv.host, srv.port(), timeout=60, source_address=(ip, 0)) as c:
        c.ehlo(helo)
        c.mail(sender)
        code, text = c.rcpt(BOB)
        assert code == 250, text
        code, text = c.data(make_message(subject=subject, sender="x@example.test", to=BOB))
        assert code == 250, text

    def find():
        for p in srv.messages(BOB):
            if f"Subject: {subject}\r\n".encode() in p.read_bytes():
                return p
        return None
    path = wait_until(find, what=subject)
    return ma.result_of(ma.ours(path), "spf")


def compare(srv, checks):
    differences = []
    for key, ip, sender, helo, what in checks:
        want, _ = spf.check2(i=ip, s=sender, h=helo, querytime=20)
        got = tern_result(srv, 0, ip, sender, helo, key)
        if got != want:
            differences.append(f"{what!r} from {ip} sender <{sender}>: tern {got}, pyspf {want}")
    return differences


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_rfc7208_appendix_a_matches_pyspf(setup):
    checks = []
    for n, policy in enumerate(APPENDIX_A):
        setup.zone["example.com"] = {
            "TXT": [policy], "A": ["127.0.0.10", "127.0.0.11"],
            "MX": [(10, "mail-a.example.com"), (20, "mail-b.example.com")]}
        diff = compare(setup, [(f"A{n}-{ip}", ip, "strong-bad@example.com", "helo.client.test",
                                policy) for ip in APPENDIX_A_CLIENTS])
        checks.extend(diff)
    assert not checks, "\n".join(checks)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_spf_matches_pyspf(setup):
    differences = []
    checked = 0
    for i, (n, ip, sender, helo) in enumerate(all_checks()):
        want, _ = spf.check2(i=ip, s=sender, h=helo, querytime=20)
        got = tern_result(setup, n, ip, sender, helo, i)
        checked += 1
        if got != want:
            record = CASES[n][0] if 0 <= n < len(CASES) else sender
            differences.append(f"{record!r} from {ip} sender <{sender}>: tern {got}, pyspf {want}")
    assert checked > 60
    assert not differences, "\n".join(differences)
