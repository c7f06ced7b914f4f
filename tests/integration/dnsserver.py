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
        "spf.test":         {"TXT": ["v=spf1 ip4:127.0.0.0/8 -all"]},
        "long.test":        {"TXT": [("first string ", "second string")]},
        "1.0.0.127.in-addr.arpa": {"PTR": ["mx1.example.test"]},
    }

A TXT record is a string (sent as character-strings of at most 255 bytes,
split where needed, RFC 1035 3.3.14) or a tuple of strings (sent as given).

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

TYPES = {1: "A", 5: "CNAME", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA"}
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
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        for attempt in range(20):
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.bind((host, port))
            self.port = self.sock.getsockname()[1]
            # TCP on the same port, for answers too long for UDP
            self.tcp = socket.socket(family, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((host, self.port))
                break
            except OSError:
                self.sock.close()
                self.tcp.close()
                if port != 0 or attempt == 19:
                    raise
        self.tcp.listen(16)
        self._tcp_thread = None
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
        if rtype == "PTR":
            return 12, _encode_name(value)
        if rtype == "TXT":
            if isinstance(value, (tuple, list)):
                chunks = [v.encode() if isinstance(v, str) else v for v in value]
            else:
                raw = value.encode() if isinstance(value, str) else value
                chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
            return 16, b"".join(bytes([len(c)]) + c for c in chunks)
        raise ValueError(rtype)

    def answer(self, data, tcp=False):
        """The response to one query packet, or None (no answer: TIMEOUT).
        Over UDP an answer longer than the client takes (512 bytes, or the
        size of its EDNS OPT record, RFC 6891 6.2.5) is sent truncated (TC
        set, RFC 1035 4.2.1) so that it asks again over TCP."""
        qid, flags, qname, qtype, qclass, end = _decode_question(data)
        udp_max = 512
        edns = False
        if struct.unpack("!H", data[10:12])[0] >= 1 and data[end:end + 3] == b"\0\0\x29":
            edns = True
            udp_max = max(512, struct.unpack("!H", data[end + 3:end + 5])[0])
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
        body = b""
        for name, rtype, value in answers:
            code, rdata = self._rr(rtype, value)
            body += _encode_name(name) + struct.pack("!HHIH", code, 1, 60, len(rdata)) + rdata
        opt = b"\0" + struct.pack("!HHIH", 41, 4096, 0, 0) if edns else b""
        out = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, 1 if edns else 0)
        out += data[12:end] + body + opt
        if not tcp and len(out) > udp_max:
            out = struct.pack("!HHHHHH", qid, rflags | 0x0200, 1, 0, 0, 1 if edns else 0)
            out += data[12:end] + opt
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

    def _serve_tcp(self):
        self.tcp.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with conn:
                conn.settimeout(5)
                try:
                    while True:
                        head = conn.recv(2, socket.MSG_WAITALL)
                        if len(head) < 2:
                            break
                        data = conn.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
                        try:
                            reply = self.answer(data, tcp=True)
                        except (ValueError, IndexError, struct.error):
                            break
                        if reply is None:
                            break
                        conn.sendall(struct.pack("!H", len(reply)) + reply)
                except OSError:
                    pass

    def start(self):
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._tcp_thread = threading.Thread(target=self._serve_tcp, daemon=True)
        self._tcp_thread.start()
        return self.port

    def stop(self):
        self._stop = True
        if self._thread is not None:
            self._thread.join()
            self._tcp_thread.join()
        self.sock.close()
        self.tcp.close()


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
    threading.Thread(target=server._serve_tcp, daemon=True).start()
    print(server.port, flush=True)
    server._serve()
