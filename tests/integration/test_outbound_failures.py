"""Remote refusals, retries, expiry and the bounces they make (issue 4
"Retries, expiry, bounces"): each recipient's outcome follows the remote
reply (2xx delivered, 4xx or a lost connection deferred, 5xx failed),
deferred ones are retried per delivery.retry and fail after
delivery.bounce_after, and failures come back to the sender as an RFC 3464
report from the null sender. The remotes are fakesmtp.py servers; the
network is test_outbound_routing.py's `net`."""
import re

from ternserver import HOSTNAME, wait_until
from test_outbound_routing import (ALICE, assert_failed_for, dsn_recipient_fields, net,  # noqa: F401
                                   parse, queue_json, recipient_states, servers, submit,
                                   wait_bounce, wait_fake_accepted)

MX_ZONE = {"b.test": {"MX": [(10, "mx.b.test")]}, "mx.b.test": {"A": ["127.0.0.2"]}}


def route_b(net):
    net.zone.update(MX_ZONE)


def test_550_at_rcpt_bounces_and_the_bounce_format(net):
    """One recipient refused with 550 at RCPT, one accepted: the good one
    is delivered, the sender gets an RFC 3464 report for the other."""
    a = net.sender(retry=["1h"])
    fake = net.fake("127.0.0.2", rcpt_replies={"nobody@b.test": "550 5.1.1 no such user here"})
    route_b(net)
    sent = submit(a, ["nobody@b.test", "bob@b.test"], subject="partly refused")
    (m,) = wait_fake_accepted(fake)
    assert m["accepted_rcpts"] == ["bob@b.test"]
    (bounce,) = wait_bounce(a)
    a.wait_queue_empty(timeout=20)

    # RFC 3464 2 / RFC 6522: multipart/report; report-type=delivery-status
    assert bounce.get_content_type() == "multipart/report"
    assert bounce.get_param("report-type") == "delivery-status"
    parts = list(bounce.iter_parts())
    assert parts[0].get_content_type() == "text/plain"            # for people
    assert "nobody@b.test" in parts[0].get_content()
    assert parts[1].get_content_type() == "message/delivery-status"
    # sent with the null sender <> (RFC 5321 4.5.5) to the envelope sender
    assert bounce["Return-Path"] == "<>"
    assert bounce["To"].addresses[0].addr_spec == ALICE
    assert "MAILER-DAEMON" in str(bounce["From"])
    assert bounce["Auto-Submitted"] == "auto-replied"            # RFC 3834 5
    assert bounce["Date"] is not None and bounce["Message-ID"] is not None

    recips, per_msg = dsn_recipient_fields(bounce)
    # RFC 3464 2.2.2: Reporting-MTA: mta-name-type; mta-name
    assert per_msg["reporting-mta"].replace(" ", "") == f"dns;{HOSTNAME}"
    assert "arrival-date" in per_msg                  # RFC 3464 2.2.5
    assert len(recips) == 1, recips           # only the failed recipient
    r = assert_failed_for(a, bounce, "nobody@b.test")
    assert r["final-recipient"].replace(" ", "").lower() == "rfc822;nobody@b.test"
    assert r["status"] == "5.1.1"
    # RFC 3464 2.3.6: "smtp; " and the remote reply
    assert re.match(r"smtp;\s*550 5\.1\.1 no such user here", r["diagnostic-code"]), r

    # the original came back: whole (message/rfc822) or its header
    orig_part = parts[2]
    assert orig_part.get_content_type() in ("message/rfc822", "text/rfc822-headers")
    orig_text = orig_part.as_string() if orig_part.get_content_type() == "message/rfc822" \
        else orig_part.get_content()
    assert "Subject: partly refused" in orig_text
    assert parse(sent)["Message-ID"] in orig_text
    if orig_part.get_content_type() == "message/rfc822":
        inner = orig_part.get_payload()[0]
        assert inner["Subject"] == "partly refused"
        assert "Hello over there." in inner.get_content()

    # RFC 3464 2.3.5: a report on a relay attempt over SMTP names the
    # remote MTA (docs/sendmail.md lists Remote-MTA; outbound passes it as
    # remote_mta): "dns; " and the MX's name
    assert "remote-mta" in r, r
    assert r["remote-mta"].replace(" ", "").lower() == "dns;mx.b.test", r


def test_550_at_end_of_data_bounces(net):
    """Refused after the data (RFC 5321 4.2.5): every recipient failed."""
    a = net.sender(retry=["1h"])
    fake = net.fake("127.0.0.2", data_replies=["554 5.6.0 content refused"])
    route_b(net)
    submit(a, ["x@b.test", "y@b.test"], subject="refused data")
    wait_until(lambda: fake.messages, 20, what="the transaction at the fake")
    (bounce,) = wait_bounce(a)
    recips, _ = dsn_recipient_fields(bounce)
    assert len(recips) == 2
    for rcpt in ("x@b.test", "y@b.test"):
        r = assert_failed_for(a, bounce, rcpt)
        assert r["status"] == "5.6.0"
        assert "554 5.6.0 content refused" in r["diagnostic-code"]
    a.wait_queue_empty(timeout=20)
    assert len(fake.messages) == 1          # never tried again


def test_4xx_then_success(net):
    """A 451 defers; the retry (delivery.retry = 1s) delivers; no bounce."""
    a = net.sender(retry=["1s"])
    fake = net.fake("127.0.0.2", data_replies=["451 4.3.0 try again later", "250 2.0.0 ok"])
    route_b(net)
    submit(a, "bob@b.test", subject="greylisted")
    (m,) = wait_fake_accepted(fake, timeout=30)
    assert m["accepted_rcpts"] == ["bob@b.test"]
    a.wait_queue_empty(timeout=20)
    assert len(fake.messages) == 2
    assert fake.messages[0]["data"] == fake.messages[1]["data"]   # the same message again
    assert a.messages(ALICE) == []
    assert "status=4.3.0" in a.log() and "outbound delivered" in a.log()


def test_4xx_at_rcpt_then_success(net):
    a = net.sender(retry=["1s"])
    fake = net.fake("127.0.0.2", rcpt_replies={"bob@b.test": "450 4.2.0 mailbox busy"})
    route_b(net)
    submit(a, "bob@b.test", subject="busy")
    wait_until(lambda: recipient_states(a).get("bob@b.test", {}).get("state") == "deferred",
               20, what="bob deferred")
    fake.rcpt_replies.clear()
    wait_fake_accepted(fake, timeout=30)
    a.wait_queue_empty(timeout=20)
    assert a.messages(ALICE) == []


def test_drop_mid_data_deferred_then_delivered(net):
    """The connection lost during DATA: deferred (RFC 5321 6.1, 4.4.2), then
    delivered whole on the retry."""
    a = net.sender(retry=["1s"])
    fake = net.fake("127.0.0.2", drop_in_data=True)
    route_b(net)
    submit(a, "bob@b.test", subject="dropped", body="line one\r\nline two\r\n")
    wait_until(lambda: fake.connections >= 1 and "outbound deferred" in a.log(), 20,
               what="a deferral after the drop")
    st = recipient_states(a).get("bob@b.test")
    assert st is None or st["state"] in ("deferred", "pending"), st
    fake.drop_in_data = False
    (m,) = wait_fake_accepted(fake, timeout=30)
    assert b"line one\r\nline two\r\n" in m["data"]
    a.wait_queue_empty(timeout=20)
    assert a.messages(ALICE) == []


def test_queue_list_shows_deferred_with_last_error_and_flush(net):
    """`tern queue list` shows the deferred recipient and the remote's
    reply; `tern queue flush` (SIGUSR1) retries before the hour is up."""
    a = net.sender(retry=["1h"])
    fake = net.fake("127.0.0.2", rcpt_replies={"bob@b.test": "451 4.7.1 greylisted, come back"})
    route_b(net)
    submit(a, "bob@b.test", subject="listed")
    st = wait_until(lambda: (recipient_states(a).get("bob@b.test") or {}).get("state") == "deferred"
                    and recipient_states(a)["bob@b.test"], 20, what="bob deferred")
    assert "451 4.7.1 greylisted, come back" in st["last_error"]
    assert st["attempts"] >= 1
    assert st["next_attempt"] is not None and st["sender"] == ALICE
    human = a.cli("queue", "list").stdout
    assert st["id"] in human
    assert re.search(r"deferred\s+bob@b\.test", human), human
    assert "451 4.7.1 greylisted, come back" in human
    fake.rcpt_replies.clear()
    a.cli("queue", "flush")
    wait_fake_accepted(fake, timeout=20)
    a.wait_queue_empty(timeout=20)
    assert queue_json(a) == []


def test_expiry_into_a_bounce(net):
    """Always 4xx: after delivery.bounce_after the recipient fails and the
    sender gets a report with the last error."""
    a = net.sender(retry=["1s"], bounce_after="4s")
    fake = net.fake("127.0.0.2", data_replies=["452 4.3.1 out of space"])
    route_b(net)
    submit(a, "bob@b.test", subject="expires")
    (bounce,) = wait_bounce(a, timeout=40)
    a.wait_queue_empty(timeout=20)
    assert len(fake.messages) >= 2                  # it was retried first
    r = assert_failed_for(a, bounce, "bob@b.test", status_prefix="")
    # Action failed; the status a transient one that persisted or a
    # permanent one (RFC 3463 4.4.7 "delivery time expired"): a 4 or 5 class
    assert r["status"][0] in "45", r
    assert "452 4.3.1 out of space" in r.get("diagnostic-code", ""), r
    assert not any(m["accepted"] for m in fake.messages)


def test_no_bounce_of_a_bounce(net):
    """A message from the null sender that fails makes no report (RFC 5321
    4.5.5, RFC 3464 2)."""
    a = net.sender(retry=["1h"])
    fake = net.fake("127.0.0.2", rcpt_replies={"x@b.test": "550 5.1.1 unknown"})
    route_b(net)
    msg = b"From: <MAILER-DAEMON@c.test>\r\nTo: <x@b.test>\r\nSubject: a bounce\r\n\r\nbounced\r\n"
    submit(a, "x@b.test", sender="", msg=msg)
    wait_until(lambda: fake.messages or fake.connections, 20, what="an attempt")
    a.wait_queue_empty(timeout=20)
    assert a.all_maildir_files() == []
    assert wait_until(lambda: "outbound failed" in a.log(), 10, what="the failure logged")


def test_notify_never_makes_no_bounce(net):
    """RFC 3461 4.1: NOTIFY=NEVER, no report."""
    a = net.sender(retry=["1h"])
    fake = net.fake("127.0.0.2", rcpt_replies={"x@b.test": "550 5.1.1 unknown"})
    route_b(net)
    import smtplib
    from ternserver import make_message
    with smtplib.SMTP(a.host, a.port(), timeout=30) as c:
        c.ehlo("client.test")
        c.sendmail(ALICE, ["x@b.test"], make_message(sender=ALICE, to="x@b.test"),
                   rcpt_options=["NOTIFY=NEVER"])
    wait_until(lambda: fake.connections, 20, what="an attempt")
    a.wait_queue_empty(timeout=20)
    assert a.messages(ALICE) == []


def test_mail_from_refused_fails_every_recipient(net):
    """MAIL refused with 5xx: every recipient of the transaction fails
    with that reply."""
    a = net.sender(retry=["1h"])
    net.fake("127.0.0.2", mail_reply="553 5.1.8 sender domain refused")
    route_b(net)
    submit(a, ["x@b.test", "y@b.test"], subject="sender refused")
    (bounce,) = wait_bounce(a)
    for rcpt in ("x@b.test", "y@b.test"):
        r = assert_failed_for(a, bounce, rcpt)
        assert r["status"] == "5.1.8"
        assert "553 5.1.8 sender domain refused" in r["diagnostic-code"]
    a.wait_queue_empty(timeout=20)


def test_greeting_554_fails(net):
    """The only MX answers 554 at the greeting (RFC 5321 3.1: no service):
    the recipient fails (docs/outbound.md "Connections")."""
    a = net.sender(retry=["1h"])
    net.fake("127.0.0.2", greeting="554 5.7.1 no mail service here")
    route_b(net)
    submit(a, "x@b.test", subject="no service")
    (bounce,) = wait_bounce(a)
    r = assert_failed_for(a, bounce, "x@b.test")
    assert "554" in r.get("diagnostic-code", ""), r
    a.wait_queue_empty(timeout=20)


def test_greeting_421_defers(net):
    """421 at the greeting is temporary: deferred, then delivered."""
    a = net.sender(retry=["1s"])
    fake = net.fake("127.0.0.2", greeting="421 4.3.2 busy, later")
    route_b(net)
    submit(a, "x@b.test", subject="busy greeting")
    st = wait_until(lambda: (recipient_states(a).get("x@b.test") or {}).get("state") == "deferred"
                    and recipient_states(a)["x@b.test"], 20, what="x deferred")
    assert "421" in (st["last_error"] or ""), st
    fake.greeting = "220 fake.test ESMTP"
    wait_fake_accepted(fake, timeout=30)
    a.wait_queue_empty(timeout=20)
    assert a.messages(ALICE) == []
