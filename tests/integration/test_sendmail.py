"""`tern sendmail` (shared/DESIGN.md "Commands", issue 4 "Programs"): the
sendmail(8) interface as cron, git send-email and mail programs call it.
No server runs: sendmail queues the message itself and delivers local
recipients at once; remote ones stay queued (seen with `tern queue list`)."""
import email
import email.policy
import json
import os
import pathlib
import subprocess

import pytest

from ternserver import TernServer, HOSTNAME

EX_USAGE, EX_DATAERR, EX_NOUSER = 64, 65, 67


@pytest.fixture
def srv(tern_bin, tmp_path):
    s = TernServer(tern_bin, tmp_path / "srv")
    s.add_user("alice@example.test", "pw")
    s.add_user("bob@example.test", "pw")
    s.add_user("carol@example.test", "pw")
    s.add_alias("team@example.test", "alice@example.test", "bob@example.test")
    return s


def sendmail(srv, *args, input=b"", argv0=None):
    cmd = [srv.tern_bin, "sendmail", "-c", str(srv.config), *args]
    if argv0 is not None:
        # installed as a "sendmail" symlink: no subcommand word
        cmd = [argv0, "-C", str(srv.config), *args]
    if isinstance(input, str):
        input = input.encode()
    return subprocess.run(cmd, input=input, capture_output=True, timeout=30)


def one_message(srv, address):
    msgs = srv.messages(address)
    assert len(msgs) == 1, f"{address}: {msgs}"
    raw = msgs[0].read_bytes()
    return raw, email.message_from_bytes(raw, policy=email.policy.default)


def queue_list(srv):
    res = srv.cli("queue", "list", args=["--json"])
    return json.loads(res.stdout)


MSG = "Subject: hello\nTo: alice@example.test\n\nline one\nline two\n"


def test_plain_recipients(srv):
    res = sendmail(srv, "alice@example.test", "bob@example.test", input=MSG)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"" and res.stderr == b""     # cron mails any output
    raw, msg = one_message(srv, "alice@example.test")
    one_message(srv, "bob@example.test")
    assert msg["Subject"] == "hello"
    # LF became CRLF; our headers were added
    assert b"\r\nline one\r\nline two\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert msg["Received"] is not None and "tern sendmail" in msg["Received"]
    assert msg["Date"] is not None
    assert msg["Message-ID"].endswith(f"@{HOSTNAME}>")
    user = os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name
    assert msg["From"].addresses[0].addr_spec == f"{user}@{HOSTNAME}"
    assert queue_list(srv) == []      # delivered and gone


def test_alias_and_unqualified(srv):
    # "team" is qualified with the first local domain, then expanded
    res = sendmail(srv, "team", input=MSG)
    assert res.returncode == 0, res.stderr
    one_message(srv, "alice@example.test")
    one_message(srv, "bob@example.test")


def test_recipient_list_argument(srv):
    res = sendmail(srv, "Alice <alice@example.test>, bob@example.test", input=MSG)
    assert res.returncode == 0, res.stderr
    one_message(srv, "alice@example.test")
    one_message(srv, "bob@example.test")


def test_t_with_bcc_removed(srv):
    m = ("From: Sender <sender@example.test>\nTo: alice@example.test\n"
         "Cc: Bob <bob@example.test>\nBcc: carol@example.test\nSubject: t\n\nbody\n")
    res = sendmail(srv, "-t", "-oi", input=m)
    assert res.returncode == 0, res.stderr
    for who in ("alice", "bob", "carol"):
        raw, msg = one_message(srv, f"{who}@example.test")
        header = raw.split(b"\r\n\r\n")[0].replace(b"Delivered-To: carol@example.test", b"")
        assert msg["Bcc"] is None and b"carol@example.test" not in header
        assert msg["From"].addresses[0].addr_spec == "sender@example.test"


def test_t_plus_arguments_and_resent(srv):
    m = "To: alice@example.test\nSubject: t\n\nbody\n"
    res = sendmail(srv, "-t", "carol@example.test", input=m)
    assert res.returncode == 0, res.stderr
    one_message(srv, "alice@example.test")
    one_message(srv, "carol@example.test")
    # RFC 5322 3.6.6: Resent- fields win
    m = "To: alice@example.test\nResent-To: bob@example.test\nSubject: r\n\nbody\n"
    assert sendmail(srv, "-t", input=m).returncode == 0
    one_message(srv, "bob@example.test")
    assert len(srv.messages("alice@example.test")) == 1


def test_t_without_recipients(srv):
    res = sendmail(srv, "-t", input="Subject: none\n\nbody\n")
    assert res.returncode == EX_DATAERR


def test_f_and_F(srv):
    res = sendmail(srv, "-f", "boss@example.test", "-F", "The Boss", "alice@example.test",
                   input="Subject: from\n\nhi\n")
    assert res.returncode == 0, res.stderr
    raw, msg = one_message(srv, "alice@example.test")
    assert msg["From"].addresses[0].addr_spec == "boss@example.test"
    assert msg["From"].addresses[0].display_name == "The Boss"
    assert raw.startswith(b"Return-Path: <boss@example.test>") or \
        b"Return-Path: <boss@example.test>" in raw
    # an existing From is kept; -f still sets the envelope (attached form)
    res = sendmail(srv, "-fother@remote.test", "bob@example.test",
                   input="From: me@example.test\nSubject: x\n\nhi\n")
    assert res.returncode == 0
    raw, msg = one_message(srv, "bob@example.test")
    assert msg["From"].addresses[0].addr_spec == "me@example.test"
    assert b"Return-Path: <other@remote.test>" in raw


def test_dot_ends_input_without_i(srv):
    m = "Subject: dots\n\nbefore\n.\nafter\n"
    assert sendmail(srv, "alice@example.test", input=m).returncode == 0
    raw, _ = one_message(srv, "alice@example.test")
    assert b"before\r\n" in raw and b"after" not in raw
    # -i (and -oi): a lone dot is text
    assert sendmail(srv, "-i", "bob@example.test", input=m).returncode == 0
    raw, _ = one_message(srv, "bob@example.test")
    assert b"before\r\n.\r\nafter\r\n" in raw
    assert sendmail(srv, "-oi", "carol@example.test", input=m).returncode == 0
    raw, _ = one_message(srv, "carol@example.test")
    assert b"\r\n.\r\nafter\r\n" in raw


def test_unknown_local_recipient(srv):
    res = sendmail(srv, "alice@example.test", "nobody@example.test", input=MSG)
    assert res.returncode == EX_NOUSER
    assert b"nobody@example.test" in res.stderr
    # nothing was queued or delivered
    assert srv.messages("alice@example.test") == []
    assert queue_list(srv) == []


def test_usage_errors(srv):
    assert sendmail(srv, input=MSG).returncode == EX_USAGE          # no recipients
    assert sendmail(srv, "-Z", "a@example.test", input=MSG).returncode == EX_USAGE
    assert sendmail(srv, "-N", "bogus", "a@example.test", input=MSG).returncode == EX_USAGE
    assert sendmail(srv, "-bd").returncode == EX_USAGE


def test_ignored_options(srv):
    res = sendmail(srv, "-oem", "-odi", "-oep", "-v", "-B", "8BITMIME", "-X", "/dev/null",
                   "-N", "failure,delay", "-R", "hdrs", "-V", "env1", "-bm", "--",
                   "alice@example.test", input=MSG)
    assert res.returncode == 0, res.stderr
    one_message(srv, "alice@example.test")


def test_remote_recipient_stays_queued(srv):
    # a remote sender (root@ the hostname would be the local administrator)
    res = sendmail(srv, "-f", "sender@remote.test", "-N", "success,failure", "-V", "ENV-7",
                   "alice@example.test", "someone@remote.test", input=MSG)
    assert res.returncode == 0, res.stderr
    one_message(srv, "alice@example.test")
    everything = queue_list(srv)
    # NOTIFY=SUCCESS: alice's local delivery owes the sender a "delivered"
    # notice (RFC 3461 5.2.3), queued from <> to the (remote) sender
    notices = [m for m in everything if m["sender"] == ""]
    assert len(notices) == 1
    q = [m for m in everything if m["sender"] != ""]
    assert len(q) == 1
    states = {r["address"]: r["state"] for r in q[0]["recipients"]}
    assert states == {"alice@example.test": "delivered", "someone@remote.test": "pending"}
    env = (srv.data_dir / "queue" / "env" / q[0]["id"]).read_text()
    assert "envid ENV-7" in env
    res = srv.cli("queue", "list")
    assert "someone@remote.test" in res.stdout and "pending" in res.stdout


def test_8bit_and_long_message(srv):
    body = "Subject: =?utf-8?q?caf=C3=A9?=\n\n" + "é" * 10 + "\n" + ("x" * 100 + "\n") * 2000
    res = sendmail(srv, "alice@example.test", input=body.encode())
    assert res.returncode == 0
    raw, _ = one_message(srv, "alice@example.test")
    assert "é".encode() * 10 in raw


def test_from_line_dropped(srv):
    m = "From someone@x Mon Mar  2 10:00:00 2026\nSubject: mbox\n\nbody\n"
    assert sendmail(srv, "alice@example.test", input=m).returncode == 0
    raw, msg = one_message(srv, "alice@example.test")
    assert b"From someone@x" not in raw and msg["Subject"] == "mbox"


def test_no_header(srv):
    # a body alone: our fields, a blank line, then the text
    assert sendmail(srv, "alice@example.test", input="just text\nmore\n").returncode == 0
    raw, msg = one_message(srv, "alice@example.test")
    assert msg.get_content().startswith("just text")


def test_symlink_and_mailq(srv, tmp_path):
    link = tmp_path / "sendmail"
    link.symlink_to(srv.tern_bin)
    res = sendmail(srv, "-t", argv0=str(link), input="To: bob@example.test\n\nvia link\n")
    assert res.returncode == 0, res.stderr
    one_message(srv, "bob@example.test")
    mailq = tmp_path / "mailq"
    mailq.symlink_to(srv.tern_bin)
    res = subprocess.run([str(mailq), "-c", str(srv.config)], capture_output=True, text=True)
    assert res.returncode == 0 and "Mail queue is empty" in res.stdout


def test_bv(srv):
    res = sendmail(srv, "-bv", "team@example.test", "x@remote.test")
    assert res.returncode == 0
    assert b"deliverable: mailbox <alice@example.test>" in res.stdout
    assert b"deliverable: remote <x@remote.test>" in res.stdout
    assert sendmail(srv, "-bv", "nobody@example.test").returncode == EX_NOUSER


def bs(srv, script):
    res = sendmail(srv, "-bs", input=script.replace("\n", "\r\n"))
    assert res.returncode == 0, res.stderr
    return res.stdout.decode().split("\r\n")


def test_bs_dialogue(srv):
    lines = bs(srv, "EHLO client.test\n"
                    "MAIL FROM:<sender@remote.test> RET=HDRS ENVID=abc\n"
                    "RCPT TO:<alice@example.test> NOTIFY=FAILURE\n"
                    "RCPT TO:<nobody@example.test>\n"
                    "RCPT TO:<team@example.test>\n"
                    "DATA\n"
                    "Subject: over smtp\n\n..dot stuffed\nbody\n.\n"
                    "NOOP\nRSET\nVRFY x\nBDAT 1\nQUIT\n")
    codes = [ln[:4] for ln in lines if ln]
    assert codes[0] == "220 "
    assert "250-PIPELINING" in lines and "250-DSN" in lines
    replies = [ln for ln in lines if ln and not ln.startswith("250-")]
    # 220, EHLO last line, MAIL, RCPT ok, RCPT unknown, RCPT ok, 354, 250 queued,
    # NOOP, RSET, VRFY, BDAT, QUIT
    assert [r[:3] for r in replies] == ["220", "250", "250", "250", "550", "250", "354",
                                        "250", "250", "250", "252", "502", "221"]
    assert "queued as" in replies[7]
    raw, msg = one_message(srv, "alice@example.test")
    one_message(srv, "bob@example.test")
    assert msg["Subject"] == "over smtp"
    assert b"\r\n.dot stuffed\r\nbody\r\n" in raw
    assert b"Return-Path: <sender@remote.test>" in raw


def test_bs_sequence_errors(srv):
    lines = bs(srv, "HELO c\nRCPT TO:<alice@example.test>\nDATA\n"
                    "MAIL FROM:<>\nMAIL FROM:<a@b.test>\nDATA\nFOO\nQUIT\n")
    replies = [ln[:3] for ln in lines if ln]
    assert replies == ["220", "250", "503", "503", "250", "503", "554", "500", "221"]


def test_bs_eof_mid_data(srv):
    lines = bs(srv, "HELO c\nMAIL FROM:<a@remote.test>\nRCPT TO:<alice@example.test>\n"
                    "DATA\nSubject: cut\n\npartial\n")
    assert [ln[:3] for ln in lines if ln] == ["220", "250", "250", "250", "354"]
    assert srv.messages("alice@example.test") == []
    assert queue_list(srv) == []


def test_too_large(tern_bin, tmp_path):
    s = TernServer(tern_bin, tmp_path / "small", limits={"message_size": 2000})
    s.add_user("alice@example.test", "pw")
    res = sendmail(s, "alice@example.test", input="Subject: big\n\n" + "y" * 5000 + "\n")
    assert res.returncode == EX_DATAERR
    assert s.messages("alice@example.test") == []
