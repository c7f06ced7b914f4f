"""Helpers of the sender-authentication tests (test_msgauth_*.py,
test_spf_pyspf.py): test keys and their records, dkimpy with a DNS table,
Authentication-Results read by python3-authres (an implementation
independent of tern), and a private DNS on 127.0.0.1:53 for tools that only
read /etc/resolv.conf (OpenDKIM's).
"""
import base64
import email
import email.policy
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import authres
import dkim
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEYS = ROOT / "tests" / "data" / "msgauth"
HERE = pathlib.Path(__file__).resolve().parent


def _der(pem, pub):
    args = ["openssl", "pkey", "-in", str(pem), "-outform", "DER"]
    if pub:
        args.append("-pubout")
    return subprocess.run(args, check=True, capture_output=True).stdout


def key_record(pem):
    """The DKIM key record of a PEM key file (RSA or Ed25519)."""
    pem = pathlib.Path(pem)
    if "ed25519" in pem.read_text() or pem.name.startswith("ed25519"):
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(_der(pem, True)[-32:]).decode()
    text = subprocess.run(["openssl", "pkey", "-in", str(pem), "-noout", "-text"],
                          capture_output=True, text=True).stdout
    if "ED25519" in text:
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(_der(pem, True)[-32:]).decode()
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(_der(pem, True)).decode()


def dkimpy_private(name):
    """A test key as dkimpy wants it: PEM for RSA, the base64 seed for Ed25519."""
    pem = KEYS / name
    if name.startswith("ed25519"):
        return base64.b64encode(_der(pem, False)[-32:])
    return pem.read_bytes()


def dkimpy_sign(msg, selector, domain, key_name, canon=(b"relaxed", b"relaxed"),
                headers=None, length=False):
    """msg with a DKIM-Signature made by dkimpy on top."""
    alg = b"ed25519-sha256" if key_name.startswith("ed25519") else b"rsa-sha256"
    sig = dkim.sign(msg, selector.encode(), domain.encode(), dkimpy_private(key_name),
                    canonicalize=canon, signature_algorithm=alg, include_headers=headers,
                    length=length)
    return sig + msg


def zone_dnsfunc(zone):
    """A dnsfunc for dkimpy answering TXT lookups from a dnsserver.py zone."""
    def lookup(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        name = name.rstrip(".").lower()
        for key, value in zone.items():
            if key.rstrip(".").lower() == name and isinstance(value, dict):
                for rec in value.get("TXT", []):
                    if isinstance(rec, (tuple, list)):
                        rec = "".join(rec)
                    return rec.encode()
        return None
    return lookup


def dkimpy_verify_all(data, zone):
    """dkimpy's verdict on every DKIM-Signature of data: [(d, s, ok)]."""
    d = dkim.DKIM(data)
    out = []
    count = sum(1 for h in d.headers if h[0].lower() == b"dkim-signature")
    for i in range(count):
        ok = d.verify(idx=i, dnsfunc=zone_dnsfunc(zone))
        sig = dkim.parse_tag_value(d.headers[[k for k, h in enumerate(d.headers)
                                              if h[0].lower() == b"dkim-signature"][i]][1])
        out.append((sig[b"d"].decode(), sig[b"s"].decode(), ok))
    return out


def tern_authres(path, authserv_id="mx.example.test"):
    """The Authentication-Results fields of a delivered file, parsed by
    python3-authres: [(authserv_id, {method: [(result, {prop: value})]})]."""
    msg = email.message_from_bytes(pathlib.Path(path).read_bytes(), policy=email.policy.compat32)
    out = []
    for value in msg.get_all("Authentication-Results") or []:
        text = "Authentication-Results: " + " ".join(str(value).split())
        h = authres.AuthenticationResultsHeader.parse(text)
        methods = {}
        for r in h.results:
            methods.setdefault(r.method, []).append(
                (r.result, {f"{p.type}.{p.name}": p.value for p in r.properties}))
        out.append((h.authserv_id, methods))
    return out


def ours(path, authserv_id="mx.example.test"):
    """tern's own Authentication-Results of a delivered file (exactly one)."""
    found = [m for sid, m in tern_authres(path) if sid == authserv_id]
    assert len(found) == 1, f"{len(found)} Authentication-Results of {authserv_id} in {path}"
    return found[0]


def result_of(methods, method):
    """The result of the first entry of method."""
    assert method in methods, f"no {method} in {methods}"
    return methods[method][0][0]


def run_with_private_dns(zone, argv, input=None, timeout=60):
    """Run argv in a new user, network and mount namespace where
    /etc/resolv.conf says 127.0.0.1 and dnsserver.py answers zone on port 53
    there: for tools that take their DNS only from the system (OpenDKIM's).
    Returns the CompletedProcess."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
        (tmp / "zone.json").write_text(json.dumps(zone))
        script = (
            "set -e\n"
            "ip link set lo up\n"
            f"mount --bind {tmp}/resolv.conf /etc/resolv.conf\n"
            "/usr/bin/python3 "
            f"-c 'import sys, json, time; sys.path.insert(0, \"{HERE}\"); import dnsserver; "
            f"s = dnsserver.DNSServer(dnsserver._json_zone(json.load(open(\"{tmp}/zone.json\"))), "
            f"port=53); s.start(); print(\"up\", flush=True); time.sleep(600)' "
            f"> {tmp}/dns.out < /dev/null &\n"
            "dns=$!\n"
            f"for i in $(seq 100); do grep -q up {tmp}/dns.out 2>/dev/null && break; sleep 0.1; done\n"
            'set +e\n"$@"\nrc=$?\nkill $dns\nexit $rc\n'
        )
        res = subprocess.run(["unshare", "-rnm", "sh", "-c", script, "sh", *argv],
                             input=input, capture_output=True, timeout=timeout)
        if res.returncode != 0 and b"unshare" in res.stderr:
            pytest.fail("user/network namespaces are needed for the OpenDKIM test: "
                        + res.stderr.decode(errors="replace"))
        return res
