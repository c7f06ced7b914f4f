"""Sender authentication of incoming mail (issue 13 "Inbound"): tern on port
25 with a DNS server the test runs, messages signed and sealed by dkimpy
(python3-dkim), Authentication-Results read back by python3-authres.

The zone: example.org publishes SPF for 127.0.0.1, DKIM keys (the test keys
of tests/data/msgauth) and DMARC p=reject; other domains each show one
case. The client is 127.0.0.1, not in relay.networks: a stranger.
"""
import smtplib

import pytest

import dnsserver
import msgauthlib as ma
from ternserver import make_message, servers, wait_until  # noqa: F401

BOB = "bob@example.test"
HOST = "mx.example.test"


def base_zone():
    rsa = ma.key_record(ma.KEYS / "rsa2048.pem")
    ed = ma.key_record(ma.KEYS / "ed25519.pem")
    return {
        "example.org": {"TXT": ["v=spf1 ip4:127.0.0.1 -all"]},
        "rsa._domainkey.example.org": {"TXT": [rsa]},
        "ed._domainkey.example.org": {"TXT": [ed]},
        "_dmarc.example.org": {"TXT": ["v=DMARC1; p=reject"]},
        "other.test": {"TXT": ["v=spf1 ip4:127.0.0.1 -all"]},
        "rsa._domainkey.other.test": {"TXT": [rsa]},
        "reject.test": {"TXT": ["v=spf1 -all"]},
        "_dmarc.reject.test": {"TXT": ["v=DMARC1; p=reject; sp=none"]},
        "quarantine.test": {"TXT": ["v=spf1 -all"]},
        "_dmarc.quarantine.test": {"TXT": ["v=DMARC1; p=quarantine"]},
        "soft.test": {"TXT": ["v=spf1 ~all"]},
        "neutral.test": {"TXT": ["v=spf1 ?all"]},
        "nodmarc.test": {"TXT": ["v=spf1 -all"]},
        "_dmarc.tempfail.test": "SERVFAIL",
        "tempfail.test": {"TXT": ["v=spf1 -all"]},
        "helo.example.org": {"A": ["127.0.0.1"], "TXT": ["v=spf1 a -all"]},
    }


@pytest.fixture
def mx(servers):
    zone = base_zone()
    dns = dnsserver.DNSServer(zone)
    port = dns.start()
    srv = servers.start(users={BOB: "pw"}, listeners=("smtp", "submission"),
                        extra=f'[delivery]\nnameserver = "127.0.0.1:{port}"\n')
    srv.zone = zone
    yield srv
    dns.stop()


def send(srv, msg, sender="alice@example.org", rcpt=BOB, helo="client.example.org"):
    """One message on port 25; returns (code, reply text) of the end of data."""
    with smtplib.SMTP(srv.host, srv.port(), timeout=60) as c:
        c.ehlo(helo)
        c.mail(sender)
        code, text = c.rcpt(rcpt)
        assert code == 250, text
        return c.data(msg)


def message(subject, sender="alice@example.org", extra="", body="Hello Bob,  \r\n\r\n"
            "  with some\t spaces \r\n.and a dot line\r\n"):
    return make_message(subject=subject, sender=sender, to=BOB, body=body, extra=extra)


def delivered(srv, subject, folder=""):
    """The file delivered with this subject (INBOX, or a Maildir++ folder)."""
    md = srv.maildir(BOB) / (f".{folder}" if folder else "")

    def find():
        for sub in ("new", "cur"):
            d = md / sub
            if d.is_dir():
                for p in d.iterdir():
                    if f"Subject: {subject}\r\n".encode() in p.read_bytes():
                        return p
        return None
    return wait_until(find, what=f"'{subject}' in {md}; log:\n{srv.log()[-3000:]}")


CASES = [
    ("rsa", "rsa2048.pem", (b"relaxed", b"relaxed")),
    ("rsa", "rsa2048.pem", (b"simple", b"simple")),
    ("rsa", "rsa2048.pem", (b"relaxed", b"simple")),
    ("ed", "ed25519.pem", (b"relaxed", b"relaxed")),
    ("ed", "ed25519.pem", (b"simple", b"simple")),
]


@pytest.mark.parametrize("selector,key,canon", CASES)
def test_dkimpy_signatures_verify(mx, selector, key, canon):
    subject = f"signed {selector} {canon[0].decode()}/{canon[1].decode()}"
    # folded fields and a signature over them in another order than they appear
    msg = message(subject, extra="X-Folded: first part\r\n\tsecond part\r\n")
    signed = ma.dkimpy_sign(msg, selector, "example.org", key, canon=canon,
                            headers=[b"subject", b"x-folded", b"date", b"from", b"to", b"from"])
    code, text = send(mx, signed)
    assert code == 250, text
    ar = ma.ours(delivered(mx, subject))
    result, props = ar["dkim"][0]
    assert result == "pass", ar
    assert props["header.d"] == "example.org"
    assert props["header.s"] == selector
    assert props["header.a"] == ("ed25519-sha256" if key.startswith("ed") else "rsa-sha256")
    assert ma.result_of(ar, "spf") == "pass"
    assert ma.result_of(ar, "dmarc") == "pass"


def test_tampered_message_fails(mx):
    signed = ma.dkimpy_sign(message("tampered body"), "rsa", "example.org", "rsa2048.pem")
    code, text = send(mx, signed.replace(b"Hello Bob", b"Hello Eve"))
    assert code == 250, text   # SPF still passes aligned: DMARC passes
    ar = ma.ours(delivered(mx, "tampered body"))
    assert ma.result_of(ar, "dkim") == "fail"
    assert ma.result_of(ar, "dmarc") == "pass"

    signed = ma.dkimpy_sign(message("tampered subject"), "ed", "example.org", "ed25519.pem")
    send(mx, signed.replace(b"Subject: tampered subject", b"Subject: tampered  subject!"))
    ar = ma.ours(delivered(mx, "tampered  subject!"))
    assert ma.result_of(ar, "dkim") == "fail"


def test_dkim_length_tag_with_appended_content(mx):
    signed = ma.dkimpy_sign(message("appended"), "rsa", "example.org", "rsa2048.pem", length=True)
    send(mx, signed + b"Unsigned advertisement\r\n")
    ar = ma.ours(delivered(mx, "appended"))
    # never counted as signed (RFC 6376 8.2)
    assert ma.result_of(ar, "dkim") == "policy"


@pytest.mark.parametrize("sender,expect", [
    ("alice@example.org", "pass"),
    ("alice@reject.test", "fail"),
    ("alice@soft.test", "softfail"),
    ("alice@neutral.test", "neutral"),
    ("alice@nothing.test", "none"),
])
def test_spf_results(mx, sender, expect):
    subject = f"spf {sender}"
    code, text = send(mx, message(subject, sender="x@nodmarc.test"), sender=sender)
    assert code == 250, text
    ar = ma.ours(delivered(mx, subject))
    assert ma.result_of(ar, "spf") == expect
    assert ar["spf"][0][1]["smtp.mailfrom"] == sender


def test_spf_helo_for_null_sender(mx):
    code, text = send(mx, message("bounce", sender="mailer-daemon@nodmarc.test"), sender="",
                      helo="helo.example.org")
    assert code == 250, text
    ar = ma.ours(delivered(mx, "bounce"))
    assert ma.result_of(ar, "spf") == "pass"
    assert ar["spf"][0][1]["smtp.helo"] == "helo.example.org"


def test_dmarc_reject(mx):
    code, text = send(mx, message("must bounce", sender="alice@reject.test"),
                      sender="alice@reject.test")
    assert code == 550
    assert text.startswith(b"5.7.1"), text
    assert "dmarc=fail" in mx.log() and "action=reject" in mx.log()


def test_dmarc_reject_subdomain_policy(mx):
    # sp=none: a subdomain without a record of its own is only reported
    code, text = send(mx, message("subdomain", sender="alice@sub.reject.test"),
                      sender="alice@sub.reject.test")
    assert code == 250, text
    ar = ma.ours(delivered(mx, "subdomain"))
    assert ma.result_of(ar, "dmarc") == "fail"


def test_dmarc_quarantine_goes_to_junk(mx):
    code, text = send(mx, message("to junk", sender="alice@quarantine.test"),
                      sender="alice@quarantine.test")
    assert code == 250, text
    path = delivered(mx, "to junk", folder="Junk")
    assert ma.result_of(ma.ours(path), "dmarc") == "fail"
    assert not [p for p in mx.messages(BOB) if b"to junk" in p.read_bytes()]


def test_dmarc_aligned_by_dkim(mx):
    # SPF of another domain, a DKIM signature of the From domain: DMARC passes
    signed = ma.dkimpy_sign(message("aligned dkim"), "rsa", "example.org", "rsa2048.pem")
    code, text = send(mx, signed, sender="bounces@other.test")
    assert code == 250, text
    ar = ma.ours(delivered(mx, "aligned dkim"))
    assert ma.result_of(ar, "spf") == "pass"
    assert ma.result_of(ar, "dmarc") == "pass"


def test_dmarc_unaligned_is_rejected(mx):
    # SPF and DKIM pass, but for other.test: example.org's p=reject applies
    signed = ma.dkimpy_sign(message("unaligned"), "rsa", "other.test", "rsa2048.pem")
    code, text = send(mx, signed, sender="bounces@other.test")
    assert code == 550, text


def test_dmarc_missing_record_and_tempfail(mx):
    code, text = send(mx, message("no record", sender="alice@nodmarc.test"),
                      sender="alice@nodmarc.test")
    assert code == 250, text
    assert ma.result_of(ma.ours(delivered(mx, "no record")), "dmarc") == "none"
    # a DNS failure is never a hard rejection
    code, text = send(mx, message("dns trouble", sender="alice@tempfail.test"),
                      sender="alice@tempfail.test")
    assert code == 250, text
    assert ma.result_of(ma.ours(delivered(mx, "dns trouble")), "dmarc") == "temperror"


def test_forged_authentication_results_removed(mx):
    extra = ("Authentication-Results: mx.example.test; dkim=pass header.d=bank.test\r\n"
             "Authentication-Results: other.example; spf=pass smtp.mailfrom=x@y.test\r\n"
             "Authentication-Results: (forged)\r\n MX.Example.Test;\r\n dmarc=pass\r\n")
    code, text = send(mx, message("forged", sender="alice@nodmarc.test", extra=extra),
                      sender="alice@example.org")
    assert code == 250, text
    path = delivered(mx, "forged")
    found = ma.tern_authres(path)
    ids = [sid.lower() for sid, _ in found]
    assert ids.count("mx.example.test") == 1, found     # only tern's own
    assert "other.example" in ids                        # another ADMD's stays
    assert b"bank.test" not in path.read_bytes()
    assert "forged authentication-results removed" in mx.log()


def test_submission_is_not_checked(mx):
    mx.add_user("carol@example.test", "pw")
    msg = message("from a user", sender="carol@reject.test",
                  extra="Authentication-Results: mx.example.test; dmarc=pass\r\n")
    with mx.submit_client("carol@example.test", "pw") as c:
        c.sendmail("carol@example.test", [BOB], msg)
    path = delivered(mx, "from a user")
    # no DMARC policy for authenticated users, no results, no forgery
    assert ma.tern_authres(path) == []


def test_arc_chain_validated(mx):
    msg = b"Authentication-Results: relay.example.org; spf=pass smtp.mailfrom=example.org\r\n" + \
        message("sealed")
    sets = ma.dkim.arc_sign(msg, b"rsa", b"example.org", ma.dkimpy_private("rsa2048.pem"),
                            b"relay.example.org")
    code, text = send(mx, b"".join(sets) + msg)
    assert code == 250, text
    ar = ma.ours(delivered(mx, "sealed"))
    assert ma.result_of(ar, "arc") == "pass"
    # broken in transit
    sets = ma.dkim.arc_sign(msg.replace(b"sealed", b"sealed 2"), b"rsa", b"example.org",
                            ma.dkimpy_private("rsa2048.pem"), b"relay.example.org")
    send(mx, (b"".join(sets) + msg.replace(b"sealed", b"sealed 2")).replace(b"Hello", b"Bye"))
    assert ma.result_of(ma.ours(delivered(mx, "sealed 2")), "arc") == "fail"


def test_dmarc_aggregate_report(servers):
    """Reports on: the records of a day that is over become a report mailed
    to the rua= address (which agreed to take example.org's, RFC 7489 7.1);
    the XML is read with the standard library's parser."""
    import gzip
    import xml.etree.ElementTree as ET

    zone = base_zone()
    zone["_dmarc.example.org"] = {"TXT": ["v=DMARC1; p=reject; rua=mailto:dmarc@example.test"]}
    zone["example.org._report._dmarc.example.test"] = {"TXT": ["v=DMARC1"]}
    dns = dnsserver.DNSServer(zone)
    port = dns.start()
    try:
        srv = servers.start(users={BOB: "pw", "dmarc@example.test": "pw"},
                            extra=f'[delivery]\nnameserver = "127.0.0.1:{port}"\n'
                                  '[dmarc]\nreports = true\nreport_org = "Example Receiver"\n')
        signed = ma.dkimpy_sign(message("report 1"), "rsa", "example.org", "rsa2048.pem")
        assert send(srv, signed)[0] == 250
        assert send(srv, message("report 2"))[0] == 250
        assert send(srv, message("report 3"), sender="bounce@other.test")[0] == 550
        delivered(srv, "report 2")
        srv.stop()
        # the day is over: move the records one day back, as tomorrow would see them
        path = srv.data_dir / "dmarc" / "records"
        lines = path.read_text().splitlines()
        assert len(lines) == 3, lines
        path.write_text("".join(
            " ".join([w[0], str(int(w[1]) - 86400)] + w[2:]) + "\n"
            for w in (line.split(" ") for line in lines)))
        srv.start()
        msgs = srv.wait_messages("dmarc@example.test", 1)
        report = srv.parsed(msgs[0])
        assert report["Subject"].startswith("Report Domain: example.org Submitter: Example Receiver")
        assert report["From"] == "noreply-dmarc@mx.example.test"
        parts = [p for p in report.iter_attachments() if p.get_content_type() == "application/gzip"]
        assert len(parts) == 1
        assert parts[0].get_filename().startswith("Example Receiver!example.org!")
        root = ET.fromstring(gzip.decompress(parts[0].get_content()))
        assert root.findtext("report_metadata/org_name") == "Example Receiver"
        assert root.findtext("policy_published/domain") == "example.org"
        assert root.findtext("policy_published/p") == "reject"
        rows = root.findall("record")
        assert sum(int(r.findtext("row/count")) for r in rows) == 3
        dispositions = sorted(r.findtext("row/policy_evaluated/disposition") for r in rows)
        assert dispositions == ["none", "none", "reject"]
        assert all(r.findtext("identifiers/header_from") == "example.org" for r in rows)
        assert any(r.findtext("auth_results/dkim/result") == "pass" for r in rows)
        # handed on: the records are gone
        assert path.read_text() == ""
    finally:
        dns.stop()
