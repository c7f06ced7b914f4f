"""A tiny authoritative DNS server for tests (UDP, standard library only).

Answers from a zone table, so tests control MX routing without real DNS:

    zone = {
        "example.test":     {"MX": [(10, "mx1.example.test"), (20, "mx2.example.test")]},
        "mx1.example.test": {"A": ["127.0.0.2"], "AAAA": ["::1"]},
        "nullmx.test":      {"MX": [(0, ".")]},          # RFC 7505 null MX
        "broken.test":      "SERVFAIL",                  # every type
        "slow.test":        "TIMEOUT",                   # never answered
        "half.test":        {"MX": "SERVFAIL", "A": ["127.0.0.3"]},
        "alias.test":       {"CNAME": "mx1.example.test"},
    }

A name absent from the table is NXDOMAIN; a name present without records
of the type asked is NOERROR with no answer (NODATA). Names are matched
case-insensitively, without the trailing dot.

    import dnsserver
    port = dnsserver.start(zone)         # 127.0.0.1:port, in a thread
    ...
    dnsserver.stop()

or several at once with DNSServer(zone).start() / .stop(). The zone dict
may be changed while the server runs. `python3 dnsserver.py ZONE.json`
serves a JSON zone and prints the port.
"""
import ipaddress
import json
import socket
import struct
import sys
import threading

TYPES = {1: "A", 5: "CNAME", 15: "MX", 16: "TXT", 28: "AAAA"}
RCODE = {"NOERROR": 0, "SERVFAIL": 2, "NXDOMAIN": 3, "REFUSED": 5}


def _encode_name(name):
    name = name.rstrip(".")
    out = b""
    if name:
        for label in name.split("."):
            raw = label.encode("idna") if any(ord(c) > 127 for c in label) else label.encode()
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def _decode_question(data):
    """(id, flags, qname, qtype, qclass, end offset of the question)"""
    qid, flags, qdcount = struct.unpack("!HHH", data[:6])
    if qdcount != 1:
        raise ValueError("one question expected")
    pos = 12
    labels = []
    while True:
        n = data[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0:
            raise ValueError("compressed question")
        labels.append(data[pos:pos + n].decode("ascii", "replace"))
        pos += n
    qtype, qclass = struct.unpack("!HH", data[pos:pos + 4])
    return qid, flags, ".".join(labels), qtype, qclass, pos + 4


class DNSServer:
    def __init__(self, zone=None, host="127.0.0.1", port=0):
        self.zone = zone if zone is not None else {}
        self.host = host
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                  socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.queries = []          # (name, type) asked, for tests to look at
        self._thread = None
        self._stop = False

    def _lookup(self, name):
        for key, value in self.zone.items():
            if key.rstrip(".").lower() == name.lower():
                return value
        return None

    def _rr(self, rtype, value):
        if rtype == "A":
            return 1, ipaddress.IPv4Address(value).packed
        if rtype == "AAAA":
            return 28, ipaddress.IPv6Address(value).packed
        if rtype == "MX":
            pref, host = value
            return 15, struct.pack("!H", pref) + _encode_name(host)
        if rtype == "CNAME":
            return 5, _encode_name(value)
        if rtype == "TXT":
            raw = value.encode()
            return 16, bytes([len(raw)]) + raw
        raise ValueError(rtype)

    def answer(self, data):
        """The response to one query packet, or None (no answer: TIMEOUT)."""
        qid, flags, qname, qtype, qclass, end = _decode_question(data)
        self.queries.append((qname.lower(), TYPES.get(qtype, str(qtype))))
        entry = self._lookup(qname)
        rcode = 0
        answers = []
        if entry is None:
            rcode = RCODE["NXDOMAIN"]
        elif isinstance(entry, str):
            if entry == "TIMEOUT":
                return None
            rcode = RCODE[entry]
        else:
            tname = TYPES.get(qtype)
            records = entry.get(tname)
            if records is None and "CNAME" in entry and tname != "CNAME":
                # follow one CNAME inside the zone
                answers.append((qname, "CNAME", entry["CNAME"]))
                target = self._lookup(entry["CNAME"])
                records = target.get(tname) if isinstance(target, dict) else None
                qname_for_records = entry["CNAME"]
            else:
                qname_for_records = qname
            if records == "TIMEOUT":
                return None
            if isinstance(records, str):
                rcode = RCODE[records]
            elif records is not None:
                if tname == "CNAME":
                    records = [records]
                for r in records:
                    answers.append((qname_for_records, tname, r))
        # QR, AA, RD copied, RA
        rflags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
        out = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, 0)
        out += data[12:end]
        for name, rtype, value in answers:
            code, rdata = self._rr(rtype, value)
            out += _encode_name(name) + struct.pack("!HHIH", code, 1, 60, len(rdata)) + rdata
        return out

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            try:
                reply = self.answer(data)
            except (ValueError, IndexError, struct.error):
                continue
            if reply is not None:
                self.sock.sendto(reply, peer)

    def start(self):
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self.port

    def stop(self):
        self._stop = True
        if self._thread is not None:
            self._thread.join()
        self.sock.close()


_default = None


def start(zone, host="127.0.0.1", port=0):
    """Serve zone on host (a free port unless given); returns the port."""
    global _default
    stop()
    _default = DNSServer(zone, host, port)
    return _default.start()


def stop():
    global _default
    if _default is not None:
        _default.stop()
        _default = None


def _json_zone(raw):
    zone = {}
    for name, value in raw.items():
        if isinstance(value, dict) and "MX" in value and isinstance(value["MX"], list):
            value = dict(value)
            value["MX"] = [tuple(mx) for mx in value["MX"]]
        zone[name] = value
    return zone


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        server = DNSServer(_json_zone(json.load(f)))
    print(server.port, flush=True)
    server._serve()
