#!/usr/bin/python3
"""Writes the corpus messages that contain CR, NUL, raw 8-bit bytes, very long
lines, deep nesting or that are too big to write by hand. Run it from any
directory; it writes next to itself. Output is deterministic."""
import base64
import pathlib

HERE = pathlib.Path(__file__).resolve().parent


def write(name, data):
    (HERE / name).write_bytes(data)


def crlf(text):
    return text.replace("\n", "\r\n").encode("ascii")


def main():
    # A header line longer than 998 octets (RFC 5322 2.1.1 limit) and a body
    # line longer than 998 octets.
    long_word = "x" * 1500
    write("24-long-lines.eml", (
        "From: long@example.test\n"
        "To: r@example.test\n"
        "Subject: Long " + " ".join(["word"] * 300) + " end\n"
        "X-Long-Unfolded: " + long_word + "\n"
        "Message-ID: <long-lines@example.test>\n"
        "\n"
        "A body line longer than 998 octets follows.\n" + "y" * 2500 + "\n"
        "Short line.\n").encode("ascii"))

    # Raw Latin-1 (not UTF-8) bytes in headers, as broken mailers send.
    write("29-raw-latin1-headers.eml",
          b"From: Fran\xe7ois M\xfcller <fm@example.test>\n"
          b"To: r@example.test\n"
          b"Subject: Caf\xe9 cr\xe8me \xe0 2\x80\n"
          b"Message-ID: <raw-latin1@example.test>\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: text/plain; charset=iso-8859-1\n"
          b"Content-Transfer-Encoding: 8bit\n"
          b"\n"
          b"Caf\xe9 cr\xe8me.\n")

    # CRLF line ends throughout, multipart/alternative.
    write("48-crlf-multipart.eml", crlf(
        "From: crlf@example.test\n"
        "To: r@example.test\n"
        "Subject: CRLF line ends\n"
        "Message-ID: <crlf@example.test>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/alternative; boundary=\"crlf\"\n"
        "\n"
        "--crlf\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Line one.\n"
        "Line two with =C3=A9 and a soft=\n"
        " break.\n"
        "--crlf\n"
        "Content-Type: text/html; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        + base64.encodebytes("<p>Line one.</p>\r\n<p>Line two.</p>\r\n".encode()).decode() +
        "--crlf--\n"))

    # NUL bytes in headers and bodies.
    write("49-nul-bytes.eml",
          b"From: nul@example.test\n"
          b"To: r@example.test\n"
          b"Subject: NUL\x00 in subject\n"
          b"Message-ID: <nul@example.test>\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: multipart/mixed; boundary=n\n"
          b"\n"
          b"--n\n"
          b"Content-Type: text/plain\n"
          b"\n"
          b"before\x00after\n"
          b"--n\n"
          b"Content-Type: application/octet-stream\n"
          b"Content-Transfer-Encoding: binary\n"
          b"\n"
          b"\x00\x01\x02\xff\xfe\x00\n"
          b"--n--\n")

    # 200 levels of nesting: multipart/mixed inside multipart/mixed. The
    # boundaries have a fixed width so that none is a prefix of another
    # (RFC 2046 5.1.1: a delimiter must not occur inside the parts).
    depth = 200
    out = [b"From: deep@example.test\nTo: r@example.test\nSubject: 200 levels of nesting\n"
           b"Message-ID: <deep@example.test>\nMIME-Version: 1.0\n"]
    for i in range(depth):
        out.append(b"Content-Type: multipart/mixed; boundary=\"d%03d\"\n\n--d%03d\n" % (i, i))
    out.append(b"Content-Type: text/plain\n\nThe innermost part.\n")
    for i in reversed(range(depth)):
        out.append(b"--d%03d--\n" % i)
    write("53-deep-nesting.eml", b"".join(out))

    # CRLF and bare LF mixed in one message (header CRLF, body mixed).
    write("56-mixed-crlf-lf.eml",
          b"From: mix@example.test\r\n"
          b"To: r@example.test\n"
          b"Subject: Mixed\r\n line ends\r\n"
          b"Message-ID: <mixed-eol@example.test>\n"
          b"MIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=m\r\n"
          b"\r\n"
          b"--m\n"
          b"Content-Type: text/plain\r\n"
          b"\n"
          b"first line CRLF\r\n"
          b"second line LF\n"
          b"third line CRLF\r\n"
          b"--m\r\n"
          b"Content-Type: text/plain\n"
          b"\r\n"
          b"another part\n"
          b"--m--\r\n")

    # 8-bit Latin-1 body, declared.
    write("71-latin1-8bit-body.eml",
          b"From: l1@example.test\n"
          b"To: r@example.test\n"
          b"Subject: Latin-1 8bit body\n"
          b"Message-ID: <latin1-8bit@example.test>\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: text/plain; charset=ISO-8859-1\n"
          b"Content-Transfer-Encoding: 8bit\n"
          b"\n"
          b"Gr\xfc\xdfe, \xe7a va? \xa9 2026\n")

    # 8-bit body with no charset and no MIME headers (RFC 6532-era reality).
    write("72-8bit-no-charset.eml",
          "From: nc@example.test\n"
          "To: r@example.test\n"
          "Subject: 8-bit body, no charset\n"
          "Message-ID: <8bit-nocharset@example.test>\n"
          "\n"
          "Umlaute: äöü, euro €.\n".encode("utf-8"))

    # windows-1252 8bit with the C1 range in use.
    write("73-windows-1252.eml",
          b"From: w@example.test\n"
          b"To: r@example.test\n"
          b"Subject: =?windows-1252?q?=93smart_quotes=94_=96_=80?=\n"
          b"Message-ID: <cp1252@example.test>\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: text/plain; charset=windows-1252\n"
          b"Content-Transfer-Encoding: 8bit\n"
          b"\n"
          b"\x93Smart quotes\x94 \x96 en dash, \x80 euro.\n")

    # Binary attachment with CTE binary, CR bytes and 8-bit bytes.
    blob = bytes(range(256)) * 4
    write("74-binary-cte.eml",
          b"From: bin@example.test\n"
          b"To: r@example.test\n"
          b"Subject: Binary transfer encoding\n"
          b"Message-ID: <binary-cte@example.test>\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: multipart/mixed; boundary=binbin\n"
          b"\n"
          b"--binbin\n"
          b"Content-Type: text/plain\n"
          b"\n"
          b"Binary data follows.\n"
          b"--binbin\n"
          b"Content-Type: application/octet-stream; name=blob.bin\n"
          b"Content-Transfer-Encoding: binary\n"
          b"\n" + blob.replace(b"\n--binbin", b"") + b"\n"
          b"--binbin--\n")

    # Medium (~200 KB): one large base64 attachment, deterministic content.
    data = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(150000))
    write("75-medium-attachment.eml", crlf(
        "From: big@example.test\n"
        "To: r@example.test\n"
        "Subject: Medium-size attachment\n"
        "Message-ID: <medium-att@example.test>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"big\"\n"
        "\n"
        "--big\n"
        "Content-Type: text/plain\n"
        "\n"
        "A 150000-byte attachment.\n"
        "--big\n"
        "Content-Type: application/octet-stream; name=\"data.bin\"\n"
        "Content-Disposition: attachment; filename=\"data.bin\"\n"
        "Content-Transfer-Encoding: base64\n"
        "\n" + base64.encodebytes(data).decode() +
        "--big--\n"))

    # Medium (~200 KB): many parts with text of several charsets and encodings.
    parts = []
    words = "Grüße café naïve Ελληνικά русский 日本語 ".split()
    for i in range(300):
        text = " ".join(words[(i + j) % len(words)] for j in range(60)) + "\n"
        kind = i % 4
        if kind == 0:
            hdr = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n"
            body = base64.encodebytes(text.encode()).decode()
        elif kind == 1:
            import quopri
            hdr = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n"
            body = quopri.encodestring(text.encode()).decode()
        elif kind == 2:
            hdr = "Content-Type: text/html; charset=us-ascii\n"
            body = "<p>part %d</p>\n" % i
        else:
            hdr = ("Content-Type: application/octet-stream; name=\"f%d.bin\"\n"
                   "Content-Transfer-Encoding: base64\n" % i)
            body = base64.encodebytes(bytes(range(i % 256)) * 2).decode()
        parts.append("--many\n" + hdr + "\n" + body)
    write("76-medium-many-parts.eml", (
        "From: many@example.test\n"
        "To: r@example.test\n"
        "Subject: Medium-size message with 300 parts\n"
        "Message-ID: <medium-many@example.test>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"many\"\n"
        "\n" + "".join(parts) + "--many--\n").encode("utf-8"))

    # CR-only line ends (old Mac) inside an otherwise LF message body.
    write("77-lone-cr.eml",
          b"From: cr@example.test\n"
          b"To: r@example.test\n"
          b"Subject: Lone CR bytes in the body\n"
          b"Message-ID: <lone-cr@example.test>\n"
          b"\n"
          b"line one\rline two\rline three\n")


if __name__ == "__main__":
    main()
