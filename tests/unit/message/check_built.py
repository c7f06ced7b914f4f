#!/usr/bin/python3
"""Check messages written by tern's message builder with an independent
parser: Python's email package (policy=default).

Usage: check_built.py FILE...

Each FILE is a built message; FILE.json beside it says what it must hold:

  {"eight_bit": false,                     # raw 8-bit octets allowed anywhere
   "headers": {"Subject": "café"},         # decoded header values
   "addresses": {"From": [["Zoë", "zoe@example.test"]]},   # name ("" = none), addr-spec
   "absent": ["Bcc"],                      # fields that must not be there
   "structure": PART}

  PART: {"type": "multipart/mixed",
         "params": {"report-type": "delivery-status"},   # Content-Type params (decoded)
         "disposition": "attachment", "filename": "naïve.pdf", "content_id": "<x@y>",
         "text": "Hello\\n",               # text/*: decoded content, LF line ends
         "payload_b64": "...",             # transfer-decoded body bytes
         "message_subject": "...",         # message/rfc822: the inner Subject
         "message_bytes_b64": "...",       # message/rfc822: occurs verbatim in the file
         "parts": [PART...]}               # multipart: the parts, in order

Exits 0 when every file passes, 1 with a message per failure otherwise.
"""
import base64
import json
import sys
from email import policy
from email.parser import BytesParser, Parser

LINE_MAX = 998


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def check_lines(raw, eight_bit):
    lines = raw.split(b"\r\n")
    check(lines[-1] == b"", "message does not end with CRLF")
    for no, line in enumerate(lines[:-1], 1):
        check(b"\r" not in line and b"\n" not in line, f"line {no}: bare CR or LF")
        check(len(line) <= LINE_MAX, f"line {no}: {len(line)} octets > {LINE_MAX}")
        if not eight_bit:
            check(all(c < 0x80 for c in line), f"line {no}: 8-bit octet in 7-bit output")


def check_defects(msg):
    for part in msg.walk():
        check(not part.defects, f"{part.get_content_type()}: defects {part.defects}")


def check_part(part, exp, path):
    where = path or "root"
    ctype = part.get_content_type()
    check(ctype == exp["type"], f"{where}: type {ctype} != {exp['type']}")
    for name, value in exp.get("params", {}).items():
        got = part["content-type"].params.get(name)
        check(got == value, f"{where}: param {name}={got!r} != {value!r}")
    if "disposition" in exp:
        got = part.get_content_disposition()
        check(got == exp["disposition"], f"{where}: disposition {got!r} != {exp['disposition']!r}")
    if "filename" in exp:
        got = part.get_filename()
        check(got == exp["filename"], f"{where}: filename {got!r} != {exp['filename']!r}")
        if part.get_param("name") is not None:
            # the old-style name= (RFC 2047 inside quotes) must decode the same
            name = part["content-type"].params.get("name")
            check(name == exp["filename"], f"{where}: name {name!r} != {exp['filename']!r}")
    if "content_id" in exp:
        got = part["content-id"]
        check(got == exp["content_id"], f"{where}: content-id {got!r} != {exp['content_id']!r}")
    if "text" in exp:
        got = part.get_content()
        check(got == exp["text"], f"{where}: text {got!r} != {exp['text']!r}")
    if "payload_b64" in exp:
        got = part.get_payload(decode=True)
        want = base64.b64decode(exp["payload_b64"])
        check(got == want, f"{where}: payload differs ({len(got)} vs {len(want)} bytes)")
    if "message_subject" in exp:
        inner = part.get_payload(0)
        check(str(inner["subject"]) == exp["message_subject"],
              f"{where}: inner subject {inner['subject']!r}")
    if "parts" in exp:
        check(part.is_multipart(), f"{where}: not multipart")
        kids = part.get_payload()
        check(len(kids) == len(exp["parts"]),
              f"{where}: {len(kids)} parts != {len(exp['parts'])}")
        for i, (kid, kexp) in enumerate(zip(kids, exp["parts"]), 1):
            check_part(kid, kexp, f"{path}.{i}" if path else str(i))


def check_file(path):
    with open(path, "rb") as f:
        raw = f.read()
    with open(path + ".json", encoding="utf-8") as f:
        exp = json.load(f)
    check_lines(raw, exp.get("eight_bit", False))
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    check_defects(msg)
    hdrs = msg
    if exp.get("eight_bit", False):
        # Python reads 8-bit header octets as surrogate escapes: the header
        # of an SMTPUTF8 message (RFC 6532) is read from its UTF-8 text
        hdrs = Parser(policy=policy.default).parsestr(raw.decode("utf-8"), headersonly=True)
    for name, value in exp.get("headers", {}).items():
        check(hdrs[name] is not None, f"header {name} missing")
        check(str(hdrs[name]) == value, f"header {name}: {str(hdrs[name])!r} != {value!r}")
    for name, addrs in exp.get("addresses", {}).items():
        check(hdrs[name] is not None, f"header {name} missing")
        got = [[a.display_name, a.addr_spec] for a in hdrs[name].addresses]
        check(got == addrs, f"header {name}: {got!r} != {addrs!r}")
    for name in exp.get("absent", []):
        check(msg[name] is None, f"header {name} present")
    for name in ("Date", "Message-ID", "MIME-Version"):
        check(msg[name] is not None, f"header {name} missing")
    check(msg["date"].datetime is not None, "Date does not parse")
    check_part(msg, exp["structure"], "")
    for b64 in _collect(exp["structure"], "message_bytes_b64"):
        check(base64.b64decode(b64) in raw, "forwarded message bytes not found verbatim")


def _collect(exp, key):
    if key in exp:
        yield exp[key]
    for kid in exp.get("parts", []):
        yield from _collect(kid, key)


def main(argv):
    failed = 0
    for path in argv[1:]:
        try:
            check_file(path)
        except Failure as e:
            failed += 1
            print(f"{path}: {e}", file=sys.stderr)
        except Exception as e:  # a crash in the parser is a failure too
            failed += 1
            print(f"{path}: {type(e).__name__}: {e}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
