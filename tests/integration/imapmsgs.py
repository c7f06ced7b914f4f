"""Test messages for the IMAP suite, built from parts so that the tests
know each section's exact bytes (RFC 9051 6.4.5: BODY[section]).

MIXED is a multipart/mixed message:

    1      text/plain                         PART1
    2      multipart/alternative
    2.1      text/plain                       ALT_PLAIN
    2.2      text/html                        ALT_HTML
    3      application/octet-stream, base64   ATTACH_B64 (decodes to ATTACH_RAW)
    4      message/rfc822                     INNER (the whole inner message)
    4.1      text/plain                       INNER1
    4.2      text/plain, quoted-printable     INNER2_QP (decodes to INNER2_RAW)

A body part's bytes end before the CRLF that starts the next boundary
delimiter (RFC 2046 5.1.1: that CRLF belongs to the delimiter).
"""
CRLF = b"\r\n"


def multipart(boundary, parts, preamble=b"", epilogue=b""):
    """The body of a multipart entity: each part is (headers, body)."""
    out = preamble
    for i, (h, b) in enumerate(parts):
        out += (b"" if i == 0 and not preamble else CRLF) + b"--" + boundary + CRLF + h + CRLF + b
    return out + CRLF + b"--" + boundary + b"--" + CRLF + epilogue


SIMPLE_HEADER = (
    b"From: Alice Example <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>, carol@example.test\r\n"
    b"Cc: \"Dave, Jr.\" <dave@example.test>\r\n"
    b"Subject: Simple message\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <simple@example.test>\r\n"
    b"In-Reply-To: <parent@example.test>\r\n"
    b"X-Custom: one\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n")
SIMPLE_TEXT = b"Hello world.\r\nSecond line.\r\nThird line here.\r\n"
SIMPLE = SIMPLE_HEADER + SIMPLE_TEXT

PART1_H = b"Content-Type: text/plain; charset=us-ascii\r\n"
PART1 = b"Part one text.\r\nIt has two lines."
ALT_PLAIN_H = b"Content-Type: text/plain\r\n"
ALT_PLAIN = b"alternative plain"
ALT_HTML_H = b"Content-Type: text/html; charset=utf-8\r\n"
ALT_HTML = b"<p>alternative <b>html</b></p>"
ALT_BODY = multipart(b"alt-b", [(ALT_PLAIN_H, ALT_PLAIN), (ALT_HTML_H, ALT_HTML)])
ALT_H = b"Content-Type: multipart/alternative; boundary=\"alt-b\"\r\n"
ATTACH_RAW = b"Hello binary!\x00\x01\x02\xff end"
ATTACH_B64 = b"SGVsbG8gYmluYXJ5IQABAv8gZW5k"
ATTACH_H = (b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"data.bin\"\r\n")
INNER1_H = b"Content-Type: text/plain\r\n"
INNER1 = b"inner text"
INNER2_H = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
INNER2_QP = b"caf=C3=A9 cr=C3=A8me"
INNER2_RAW = "café crème".encode()
INNER_HEADER = (b"From: Inner Sender <inner@example.test>\r\n"
                b"To: outer@example.test\r\n"
                b"Subject: Inner subject\r\n"
                b"Date: Tue, 24 Nov 2026 11:00:00 +0100\r\n"
                b"Message-ID: <inner@example.test>\r\n"
                b"MIME-Version: 1.0\r\n"
                b"Content-Type: multipart/mixed; boundary=inner-b\r\n"
                b"\r\n")
INNER_TEXT = multipart(b"inner-b", [(INNER1_H, INNER1), (INNER2_H, INNER2_QP)])
INNER = INNER_HEADER + INNER_TEXT
INNER_H = b"Content-Type: message/rfc822\r\n"

MIXED_HEADER = (
    b"From: \"Bob B.\" <bob@example.test>\r\n"
    b"Sender: Secretary <sec@example.test>\r\n"
    b"Reply-To: replies@example.test\r\n"
    b"To: Alice Example <alice@example.test>\r\n"
    b"Bcc: hidden@example.test\r\n"
    b"Subject: =?utf-8?q?Mixed_caf=C3=A9?=\r\n"
    b"Date: Wed, 25 Nov 2026 12:30:00 -0500\r\n"
    b"Message-ID: <mixed@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"outer-b\"\r\n"
    b"\r\n")
MIXED_TEXT = multipart(b"outer-b", [(PART1_H, PART1), (ALT_H, ALT_BODY), (ATTACH_H, ATTACH_B64),
                                    (INNER_H, INNER)],
                       preamble=b"This is a MIME message.\r\n")
MIXED = MIXED_HEADER + MIXED_TEXT

# section -> (MIME header, content) for the leaf and container parts
SECTIONS = {
    "1": (PART1_H + CRLF, PART1),
    "2": (ALT_H + CRLF, ALT_BODY),
    "2.1": (ALT_PLAIN_H + CRLF, ALT_PLAIN),
    "2.2": (ALT_HTML_H + CRLF, ALT_HTML),
    "3": (ATTACH_H + CRLF, ATTACH_B64),
    "4": (INNER_H + CRLF, INNER),
    "4.1": (INNER1_H + CRLF, INNER1),
    "4.2": (INNER2_H + CRLF, INNER2_QP),
}


def sanity():
    """The sections are where the builder put them in MIXED."""
    for sec, (h, b) in SECTIONS.items():
        assert h + b in MIXED, sec


sanity()


def plain(subject, body="body\r\n", frm="sender@example.test", to="rcpt@example.test",
          date="Mon, 23 Nov 2026 10:00:00 +0000", extra=""):
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: <{abs(hash((subject, body, extra)))}@example.test>\r\n{extra}\r\n{body}").encode()
