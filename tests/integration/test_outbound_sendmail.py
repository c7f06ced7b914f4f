"""`tern sendmail` feeding remote delivery (issue 4 "Programs"): the
message is queued by sendmail itself, the running server is nudged
(SIGUSR1 through data_dir/tern.pid) and delivers the remote recipients
through MX routing. With -t the recipients come from To/Cc/Bcc and the Bcc
field is gone from every copy (RFC 5322 3.6.3)."""
import subprocess

from test_outbound_routing import ALICE, net, parse, servers, wait_bounce, wait_fake_accepted  # noqa: F401

ZONE = {
    "b.test": {"MX": [(10, "mx.b.test")]}, "mx.b.test": {"A": ["127.0.0.2"]},
    "c.test": {"MX": [(10, "mx.c.test")]}, "mx.c.test": {"A": ["127.0.0.3"]},
}


def sendmail(srv, *args, input=b""):
    if isinstance(input, str):
        input = input.encode()
    return subprocess.run([srv.tern_bin, "sendmail", "-c", str(srv.config), *args],
                          input=input, capture_output=True, timeout=30)


def test_t_with_bcc_delivered_remotely(net):
    # retry = 1h: only sendmail's nudge can make the server send now
    a = net.sender(retry=["1h"])
    bob_srv = net.receiver("127.0.0.2", "b.test", ["bob@b.test"])
    carol_fake = net.fake("127.0.0.3")
    net.zone.update(ZONE)
    msg = ("From: Alice <alice@a.test>\n"
           "To: Bob <bob@b.test>\n"
           "Cc: alice@a.test\n"
           "Bcc: Carol <carol@c.test>\n"
           "Subject: blind copy\n"
           "\n"
           "Carol is not named in any copy.\n")
    res = sendmail(a, "-t", "-i", "-f", ALICE, input=msg)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b""

    # the Bcc recipient got it over SMTP, the field removed
    (m,) = wait_fake_accepted(carol_fake, timeout=30)
    assert m["accepted_rcpts"] == ["carol@c.test"]      # only the c.test recipient there
    assert m["mail"].startswith(f"MAIL FROM:<{ALICE}>")
    carol_copy = parse(m["data"])
    assert carol_copy["Bcc"] is None
    assert b"carol@c.test" not in m["data"].split(b"\r\n\r\n", 1)[0].lower()
    assert carol_copy["Subject"] == "blind copy"
    assert b"Carol is not named in any copy.\r\n" in m["data"]

    # the To recipient on the other tern instance, no Bcc either
    (f,) = bob_srv.wait_messages("bob@b.test", 1, timeout=30)
    bob_copy = parse(f)
    assert bob_copy["Bcc"] is None
    assert bob_copy["To"].addresses[0].addr_spec == "bob@b.test"
    assert bob_copy["Return-Path"] == f"<{ALICE}>"

    # and the local Cc recipient
    (f,) = a.wait_messages(ALICE, 1, timeout=30)
    assert parse(f)["Bcc"] is None
    a.wait_queue_empty(timeout=20)


def test_sendmail_remote_failure_bounces_to_local_sender(net):
    a = net.sender(retry=["1h"])
    net.fake("127.0.0.2", rcpt_replies={"gone@b.test": "550 5.1.1 gone"})
    net.zone.update(ZONE)
    res = sendmail(a, "-f", ALICE, "gone@b.test", input="Subject: to nobody\n\nhi\n")
    assert res.returncode == 0, res.stderr
    (bounce,) = wait_bounce(a, timeout=30)
    assert bounce.get_content_type() == "multipart/report"
    assert "gone@b.test" in bounce.as_string()
    a.wait_queue_empty(timeout=20)
