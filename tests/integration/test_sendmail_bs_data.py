"""`tern sendmail -bs` reads DATA with the SMTP server's own reader
(src/smtp/data-reader.c; issue 8 "Smaller things"): the same bytes after
DATA give the same message whether they reach `tern serve` on port 25 or
`tern sendmail -bs` on stdin. Each case is sent both ways; the delivered
bodies must equal each other and the expected bytes (RFC 5321 4.5.2 dot
transparency, end of data only at CRLF "." CRLF, bare LF made CRLF, a lone
CR kept)."""
import email
import email.policy
import subprocess

import pytest

from ternserver import servers, wait_until  # noqa: F401  (servers: pytest fixture)

RCPT = "alice@example.test"

# name: (body bytes as sent after DATA, before the final ".\r\n";
#        the body as delivered)
CASES = {
    "dot_stuffing": (b"..dot\r\n.x\r\n...\r\n", b".dot\r\nx\r\n..\r\n"),
    "bare_lf": (b"one\ntwo\r\nthree\n\r\n", b"one\r\ntwo\r\nthree\r\n\r\n"),
    "bare_cr": (b"a\rb\r\nend\r\r\n", b"a\rb\r\nend\r\r\n"),
    # the bare-LF end markers of SMTP smuggling are data, not the end
    "lf_dot_lf": (b"x\n.\nmore\r\n", b"x\r\n.\r\nmore\r\n"),
    "crlf_dot_lf": (b"x\r\n.\nmore\r\n", b"x\r\n.\r\nmore\r\n"),
    "lf_dot_crlf": (b"x\n.\r\nmore\r\n", b"x\r\n.\r\nmore\r\n"),
    # a "." line with trailing white space is a stuffed line, not the end
    "dot_trailing_space": (b"x\r\n. \r\n. \t\r\nafter\r\n", b"x\r\n \r\n \t\r\nafter\r\n"),
    "dot_cr_cr_lf": (b"x\r\n.\r\r\nafter\r\n", b"x\r\n\r\r\nafter\r\n"),
    "long_line": (b"y" * 100000 + b"\r\n", b"y" * 100000 + b"\r\n"),
}


def header(name, how):
    return (f"From: <sender@remote.test>\r\nTo: <{RCPT}>\r\nSubject: {name} {how}\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{name}.{how}@remote.test>\r\n\r\n").encode()


def body_of(srv, subject):
    for path in srv.messages(RCPT):
        raw = path.read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if msg["Subject"] == subject:
            return raw.split(b"\r\n\r\n", 1)[1]
    return None


def via_server(srv, name, body):
    with srv.raw("smtp") as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<sender@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{RCPT}>").code == 250
        assert c.cmd("DATA").code == 354
        # QUIT pipelined right behind the end marker
        c.send(header(name, "server") + body + b".\r\nQUIT\r\n")
        assert c.reply().code == 250
        assert c.reply().code == 221
    return wait_until(lambda: body_of(srv, f"{name} server"), what=f"{name} via the server")


def bs(srv, script):
    res = subprocess.run([srv.tern_bin, "sendmail", "-c", str(srv.config), "-bs"],
                         input=script, capture_output=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return [ln for ln in res.stdout.split(b"\r\n") if ln]


def via_bs(srv, name, body):
    replies = bs(srv, b"EHLO client.test\r\nMAIL FROM:<sender@remote.test>\r\n"
                      b"RCPT TO:<" + RCPT.encode() + b">\r\nDATA\r\n" +
                 header(name, "bs") + body + b".\r\nQUIT\r\n")
    codes = [r[:3] for r in replies if not r.startswith(b"250-")]
    assert codes == [b"220", b"250", b"250", b"250", b"354", b"250", b"221"], replies
    return wait_until(lambda: body_of(srv, f"{name} bs"), what=f"{name} via -bs")


@pytest.fixture(scope="module")
def srv(tern_bin, tmp_path_factory):
    from ternserver import TernServer
    s = TernServer(tern_bin, tmp_path_factory.mktemp("bs-data"))
    s.add_user(RCPT, "pw")
    s.start()
    yield s
    s.stop()


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_message_as_the_server(srv, name):
    sent, expected = CASES[name]
    server_body = via_server(srv, name, sent)
    bs_body = via_bs(srv, name, sent)
    assert server_body == expected
    assert bs_body == server_body


def test_end_marker_then_pipelined_commands(srv):
    """Input behind the end marker is the next command, read from the same
    buffer: two messages and QUIT in one write."""
    one = header("pipe1", "bs") + b"first\r\n.\r\n"
    two = header("pipe2", "bs") + b"second\r\n.\r\n"
    txn = b"MAIL FROM:<sender@remote.test>\r\nRCPT TO:<" + RCPT.encode() + b">\r\nDATA\r\n"
    replies = bs(srv, b"HELO c\r\n" + txn + one + txn + two + b"QUIT\r\n")
    assert [r[:3] for r in replies] == [b"220", b"250", b"250", b"250", b"354", b"250",
                                        b"250", b"250", b"354", b"250", b"221"]
    assert wait_until(lambda: body_of(srv, "pipe1 bs")) == b"first\r\n"
    assert wait_until(lambda: body_of(srv, "pipe2 bs")) == b"second\r\n"


def test_line_too_long_like_the_server(srv):
    long_cmd = b"NOOP " + b"x" * 9000 + b"\r\n"
    with srv.raw("smtp") as c:
        c.send(long_cmd)
        server = c.reply()
        assert c.cmd("NOOP").code == 250
    assert (server.code, server.lines[0]) == (500, "5.5.2 Line too long")
    replies = bs(srv, b"HELO c\r\n" + long_cmd + b"NOOP\r\nQUIT\r\n")
    assert replies[2] == b"500 5.5.2 Line too long"
    assert [r[:3] for r in replies] == [b"220", b"250", b"500", b"250", b"221"]


def test_too_many_hops_like_the_server(srv):
    """RFC 5321 6.3: more Received fields than limits.hops (50) is a loop."""
    hops = b"".join(b"Received: from x%d by y; Mon, 23 Nov 2026 10:00:00 +0000\r\n" % i
                    for i in range(51))
    msg = hops + header("hops", "bs") + b"loop\r\n.\r\n"
    with srv.raw("smtp") as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<sender@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{RCPT}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(msg)
        server = c.reply()
    assert (server.code, server.enhanced) == (554, "5.4.6")
    replies = bs(srv, b"HELO c\r\nMAIL FROM:<sender@remote.test>\r\nRCPT TO:<" +
                 RCPT.encode() + b">\r\nDATA\r\n" + msg + b"QUIT\r\n")
    assert replies[-2].startswith(b"554 5.4.6 Too many hops (51 Received fields)")
    assert body_of(srv, "hops bs") is None
