#!/usr/bin/python3
"""Check a DSN written by test-dsn with Python's own email package, an
independent reader of RFC 3464 / RFC 6522 reports.

usage: check_dsn.py FILE KEY=VALUE...
  action=failed          every recipient group's Action
  final=a@x,b@y          the Final-Recipient addresses, in order
  status=5.1.1,5.0.0     the Status values, in order
  returned=rfc822|headers  what the third part is
  envid=ID               Original-Envelope-Id
  to=ADDR                the To header's address
  subject=TEXT           the Subject
Exit 0 when everything holds, else 1 with the reasons on stderr.
"""
import email
import email.policy
import sys


def main():
    path = sys.argv[1]
    want = dict(a.split("=", 1) for a in sys.argv[2:])
    with open(path, "rb") as f:
        raw = f.read()
    errors = []

    def check(cond, what):
        if not cond:
            errors.append(what)

    for n, line in enumerate(raw.split(b"\r\n")[:-1]):
        check(b"\n" not in line and b"\r" not in line, f"line {n}: bare CR or LF")
        check(len(line) <= 998, f"line {n}: longer than 998 octets")

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    check(msg.get_content_type() == "multipart/report", "not multipart/report")
    check(msg.get_param("report-type") == "delivery-status", "report-type")
    check(msg["Auto-Submitted"] == "auto-replied", "Auto-Submitted")
    check(msg["From"].addresses[0].username == "MAILER-DAEMON", "From")
    check(msg["Date"] is not None and msg["Message-ID"] is not None, "Date/Message-ID")
    if "to" in want:
        check(msg["To"].addresses[0].addr_spec == want["to"], f"To {msg['To']}")
    if "subject" in want:
        check(msg["Subject"] == want["subject"], f"Subject {msg['Subject']}")
    check(not msg.defects, f"defects {msg.defects}")

    parts = msg.get_payload()
    check(len(parts) == 3, f"{len(parts)} parts")
    if len(parts) != 3:
        print("\n".join(errors), file=sys.stderr)
        return 1
    text, status, original = parts
    check(text.get_content_type() == "text/plain", "first part not text/plain")
    check(status.get_content_type() == "message/delivery-status", "second part type")

    # email parses message/delivery-status into blocks of fields
    blocks = status.get_payload()
    check(len(blocks) >= 2, "no recipient block")
    per_msg, rcpts = blocks[0], blocks[1:]
    check(per_msg["Reporting-MTA"].startswith("dns;"), "Reporting-MTA")
    check(per_msg["Arrival-Date"] is not None, "Arrival-Date")
    if "envid" in want:
        check(per_msg["Original-Envelope-Id"] == want["envid"], "Original-Envelope-Id")
    for r in rcpts:
        for field in ("Original-Recipient", "Final-Recipient", "Action", "Status"):
            check(r[field] is not None, f"{field} missing")
        if "action" in want:
            check(r["Action"] == want["action"], f"Action {r['Action']}")
        if want.get("action") == "delayed":
            check(r["Will-Retry-Until"] is not None, "Will-Retry-Until")
    if "final" in want:
        got = [r["Final-Recipient"].split(";", 1)[1].strip() for r in rcpts]
        check(got == want["final"].split(","), f"Final-Recipient {got}")
    if "status" in want:
        got = [r["Status"] for r in rcpts]
        check(got == want["status"].split(","), f"Status {got}")

    if want.get("returned") == "rfc822":
        check(original.get_content_type() == "message/rfc822", "not message/rfc822")
        inner = original.get_payload()[0]
        check(inner["Subject"] is not None, "returned message has no Subject")
    elif want.get("returned") == "headers":
        check(original.get_content_type() == "text/rfc822-headers", "not text/rfc822-headers")
        check("Subject:" in original.get_content(), "returned header has no Subject")

    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
