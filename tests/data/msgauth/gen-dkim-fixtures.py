#!/usr/bin/python3
"""Make the DKIM fixtures of tests/unit/msgauth/test-dkim.c with dkimpy
(Debian's python3-dkim), an implementation independent of tern.

    /usr/bin/python3 tests/data/msgauth/gen-dkim-fixtures.py

Writes dkim-*.eml (messages signed by dkimpy: both algorithms, both
canonicalisations, folded and reordered fields, l=), arc-*.eml (ARC chains
of one and two sets sealed by dkimpy) and dkim-keys.txt
("name TXT-record" lines for the keys in this folder: rsa2048.pem,
ed25519.pem, rsa1024.pem, rsa512.pem). The keys are test keys, for nothing
else. Run it again only to change the fixtures; the outputs are committed.
"""
import base64
import pathlib
import subprocess

import dkim

HERE = pathlib.Path(__file__).resolve().parent


def der(pem, pub):
    args = ["openssl", "pkey", "-in", str(HERE / pem), "-outform", "DER"]
    if pub:
        args.append("-pubout")
    return subprocess.run(args, check=True, capture_output=True).stdout


def key_record(pem):
    if pem.startswith("ed25519"):
        raw = der(pem, True)[-32:]
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(raw).decode()
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der(pem, True)).decode()


def private(pem):
    if pem.startswith("ed25519"):
        # dkimpy takes the 32-byte Ed25519 seed, base64
        return base64.b64encode(der(pem, False)[-32:])
    return (HERE / pem).read_bytes()


MESSAGE = (
    b"Received: from relay.example.org by mx.example.net; Mon, 23 Nov 2026 10:00:01 +0000\r\n"
    b"From: Alice Example <alice@example.org>\r\n"
    b"To: bob@example.net,\r\n"
    b"\tcarol@example.net\r\n"
    b"Subject:   A folded\r\n"
    b"  subject\t line  \r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <fixture.1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"Hello Bob,  \r\n"
    b"\r\n"
    b"  spaced \t out\t\r\n"
    b".a line with a dot\r\n"
    b"\r\n"
    b"\r\n"
)

CASES = [
    # name, key, selector, canonicalization, include_headers, length
    ("rsa-relaxed", "rsa2048.pem", "rsa", (b"relaxed", b"relaxed"), None, False),
    ("rsa-simple", "rsa2048.pem", "rsa", (b"simple", b"simple"), None, False),
    ("rsa-relaxed-simple", "rsa2048.pem", "rsa", (b"relaxed", b"simple"), None, False),
    ("ed-relaxed", "ed25519.pem", "ed", (b"relaxed", b"relaxed"), None, False),
    ("ed-simple", "ed25519.pem", "ed", (b"simple", b"simple"), None, False),
    # h= in another order than the fields, one listed twice (over-signed)
    ("rsa-reordered", "rsa2048.pem", "rsa", (b"relaxed", b"relaxed"),
     [b"subject", b"date", b"from", b"to", b"message-id", b"from"], False),
    ("rsa-length", "rsa2048.pem", "rsa", (b"relaxed", b"relaxed"), None, True),
    ("rsa1024", "rsa1024.pem", "small", (b"relaxed", b"relaxed"), None, False),
]


def main():
    keys = [("rsa._domainkey.example.org", key_record("rsa2048.pem")),
            ("ed._domainkey.example.org", key_record("ed25519.pem")),
            ("small._domainkey.example.org", key_record("rsa1024.pem")),
            ("tiny._domainkey.example.org", key_record("rsa512.pem"))]
    (HERE / "dkim-keys.txt").write_text("".join(f"{n} {r}\n" for n, r in keys))
    for name, pem, sel, canon, headers, length in CASES:
        alg = b"ed25519-sha256" if pem.startswith("ed") else b"rsa-sha256"
        sig = dkim.sign(MESSAGE, sel.encode(), b"example.org", private(pem),
                        canonicalize=canon, signature_algorithm=alg,
                        include_headers=headers, length=length)
        (HERE / f"dkim-{name}.eml").write_bytes(sig + MESSAGE)
    # ARC: relay.example.org checked the message and sealed it (i=1), then
    # fwd.example.org did the same (i=2)
    first = b"Authentication-Results: relay.example.org; spf=pass smtp.mailfrom=example.org\r\n" + MESSAGE
    set1 = dkim.arc_sign(first, b"rsa", b"example.org", private("rsa2048.pem"),
                         b"relay.example.org", timestamp=1800000000)
    one = b"".join(set1) + first
    (HERE / "arc-1.eml").write_bytes(one)
    second = b"Authentication-Results: fwd.example.org; arc=pass\r\n" + one
    set2 = dkim.arc_sign(second, b"rsa", b"example.org", private("rsa2048.pem"),
                         b"fwd.example.org", timestamp=1800000100)
    (HERE / "arc-2.eml").write_bytes(b"".join(set2) + second)


if __name__ == "__main__":
    main()
