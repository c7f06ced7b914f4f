"""A small IMAP client on a raw socket for exact exchanges (imaplib hides
the bytes): send a command line (with synchronizing or non-synchronizing
literals), read responses until the tagged one, and parse untagged
responses and their literals into Python values.

Parsed values (RFC 9051 9, formal syntax):
- atoms and numbers are `str` ("EXISTS", "12", "\\Seen", "BODY[1.MIME]<0>"),
- quoted strings and literals are `bytes`,
- NIL is None,
- parenthesized lists are `list`.

Every read has a timeout; nothing here asserts on timing.
"""
import re
import socket
import ssl

CRLF = b"\r\n"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Closed(Exception):
    """The server closed the connection; .data holds what came before."""

    def __init__(self, data=b""):
        super().__init__(f"connection closed; pending {data[-500:]!r}")
        self.data = data


class ParseError(Exception):
    pass


# ---- response parsing ---------------------------------------------------

_LITERAL_END = re.compile(rb"~?\{(\d+)\+?\}\r\n$")


def _parse(data, i, depth=0):
    """Parse values from data[i:] until end of data or a ')' at this depth.
    Returns (values, i)."""
    out = []
    n = len(data)
    while i < n:
        c = data[i:i + 1]
        if c == b" ":
            i += 1
            continue
        if c == b")":
            if depth == 0:
                raise ParseError(f"unbalanced ')' at {i} in {data!r}")
            return out, i + 1
        if c == b"(":
            sub, i = _parse(data, i + 1, depth + 1)
            out.append(sub)
            continue
        if c == b'"':
            j = i + 1
            buf = bytearray()
            while True:
                if j >= n:
                    raise ParseError(f"unterminated quoted string in {data!r}")
                ch = data[j:j + 1]
                if ch == b"\\":
                    buf += data[j + 1:j + 2]
                    j += 2
                    continue
                if ch == b'"':
                    break
                buf += ch
                j += 1
            out.append(bytes(buf))
            i = j + 1
            continue
        if c in (b"{", b"~") and re.match(rb"~?\{\d+\+?\}\r\n", data[i:i + 30]):
            m = re.match(rb"~?\{(\d+)\+?\}\r\n", data[i:])
            start = i + m.end()
            size = int(m.group(1))
            out.append(data[start:start + size])
            i = start + size
            continue
        # an atom (with [...] sections taken whole, spaces and parens included)
        j = i
        while j < n:
            ch = data[j:j + 1]
            if ch == b"[":
                k = data.find(b"]", j)
                if k < 0:
                    raise ParseError(f"unterminated [ in {data!r}")
                j = k + 1
                continue
            if ch in (b" ", b"(", b")"):
                break
            if ch == b"\r" and data[j:j + 2] == CRLF:
                break
            j += 1
        atom = data[i:j].decode("utf-8", "replace")
        if data[i:j] == b"":
            if data[i:i + 2] == CRLF:
                i += 2
                continue
            raise ParseError(f"unexpected {data[i:i+1]!r} at {i} in {data!r}")
        out.append(None if atom.upper() == "NIL" else atom)
        i = j
    if depth:
        raise ParseError(f"unbalanced '(' in {data!r}")
    return out, i


def parse_values(data):
    """Every value in data (bytes, literals inline as {n}CRLF<bytes>)."""
    if data.endswith(CRLF):
        data = data[:-2]
    return _parse(data, 0)[0]


_CODE = re.compile(rb"^\[([^\]]*)\]\s?")


def split_resp_text(rest):
    """resp-text = ["[" resp-text-code "]" SP] text -> (code or None, text)."""
    m = _CODE.match(rest)
    if m:
        return m.group(1).decode("utf-8", "replace"), rest[m.end():].decode("utf-8", "replace")
    return None, rest.decode("utf-8", "replace")


class Untagged:
    """One untagged response ("* ..."), literals included in .raw."""

    def __init__(self, raw):
        self.raw = raw
        body = raw[2:]
        if body.endswith(CRLF):
            body = body[:-2]
        self.body = body
        m = re.match(rb"^(\d+) ([A-Za-z]+)", body)
        if m:
            self.num = int(m.group(1))
            self.kind = m.group(2).decode().upper()
            self.rest = body[m.end():].lstrip(b" ")
        else:
            self.num = None
            word = body.split(b" ", 1)
            self.kind = word[0].decode("utf-8", "replace").upper()
            self.rest = word[1] if len(word) > 1 else b""
        self._values = None

    @property
    def values(self):
        """The response's data after the kind word, parsed."""
        if self._values is None:
            self._values = parse_values(self.rest)
        return self._values

    @property
    def code(self):
        """For OK/NO/BAD/BYE/PREAUTH: the response code text, else None."""
        return split_resp_text(self.rest)[0] if self.kind in ("OK", "NO", "BAD", "BYE", "PREAUTH") else None

    @property
    def text(self):
        return split_resp_text(self.rest)[1]

    def fetch(self):
        """A FETCH response's items as a dict NAME -> value (names upper-cased)."""
        assert self.kind == "FETCH", self
        vals = self.values
        assert len(vals) == 1 and isinstance(vals[0], list), self.raw
        items = vals[0]
        assert len(items) % 2 == 0, f"odd FETCH item list {self.raw!r}"
        return {items[k].upper(): items[k + 1] for k in range(0, len(items), 2)}

    def __repr__(self):
        return f"Untagged({self.raw[:300]!r})"


class Response:
    """A command's result: the tagged line and the untagged ones before it."""

    def __init__(self, tag, line, untagged, continuations):
        self.tag = tag
        self.line = line
        self.untagged = untagged
        self.continuations = continuations
        rest = line[len(tag) + 1:]
        if rest.endswith(CRLF):
            rest = rest[:-2]
        parts = rest.split(b" ", 1)
        self.status = parts[0].decode("utf-8", "replace").upper()
        self.code, self.text = split_resp_text(parts[1] if len(parts) > 1 else b"")

    @property
    def ok(self):
        return self.status == "OK"

    def of(self, kind):
        """The untagged responses of one kind (EXISTS, FETCH, LIST, ...)."""
        kind = kind.upper()
        return [u for u in self.untagged if u.kind == kind]

    def one(self, kind):
        got = self.of(kind)
        assert len(got) == 1, f"want one {kind}, got {got!r} in {self!r}"
        return got[0]

    def fetches(self):
        """{sequence number: {ITEM: value}} of the FETCH responses, merged."""
        out = {}
        for u in self.of("FETCH"):
            out.setdefault(u.num, {}).update(u.fetch())
        return out

    def search(self):
        """The numbers of an untagged SEARCH response (list of int)."""
        s = self.of("SEARCH")
        assert len(s) == 1, self
        return [int(x) for x in s[0].values if x is not None and x.isdigit()]

    def code_word(self):
        return self.code.split(" ", 1)[0].upper() if self.code else None

    def __repr__(self):
        head = b"".join(u.raw[:300] for u in self.untagged[:20])
        return f"Response({self.line!r}, untagged={head!r})"


class IMAPConn:
    """One IMAP connection: exact bytes out, responses parsed."""

    def __init__(self, host, port, tls=False, timeout=20.0, source=None, greeting=True):
        self.sock = socket.create_connection(
            (host, port), timeout=timeout, source_address=(source, 0) if source else None)
        self.timeout = timeout
        if tls:
            self.sock = tls_context().wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.n = 0
        self.stash = {}     # tagged lines of other commands that came first
        self.greeting = self.read_response() if greeting else None

    # --- bytes -----------------------------------------------------------

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            chunk = b""
        if not chunk:
            raise Closed(self.buf)
        self.buf += chunk

    def read_line(self):
        while b"\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def read_bytes(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self):
        """One whole response (a line plus any literals and the rest of it)."""
        out = b""
        while True:
            line = self.read_line()
            out += line
            m = _LITERAL_END.search(line)
            if not m or line.startswith(b"+ "):
                return out
            out += self.read_bytes(int(m.group(1)))

    # --- commands --------------------------------------------------------

    def next_tag(self):
        self.n += 1
        return f"A{self.n:03d}"

    def cmd(self, *parts, tag=None):
        """Send one command and read until its tagged response.

        parts are str/bytes pieces of the line after the tag, and Literal
        objects: a synchronizing literal waits for the server's "+"
        continuation (a tagged response instead ends the command). CRLF is
        added at the end."""
        tag = tag or self.next_tag()
        pending = tag.encode() + b" "
        continuations = []
        for p in parts:
            if isinstance(p, Literal):
                pending += p.header()
                self.send(pending)
                pending = b""
                if not p.plus:
                    r = self.read_response()
                    while r.startswith(b"* "):
                        # untagged data may come before the continuation
                        continuations.append(r)
                        r = self.read_response()
                    if not r.startswith(b"+"):
                        return self._finish(tag, r, [Untagged(x) for x in continuations], [])
                    continuations.append(r)
                pending = p.data
            else:
                pending += p.encode() if isinstance(p, str) else p
        self.send(pending + CRLF)
        return self.read_tagged(tag, pre=[x for x in continuations if x.startswith(b"* ")],
                                conts=[x for x in continuations if x.startswith(b"+")])

    def _finish(self, tag, line, untagged, conts):
        if not line.startswith(tag.encode() + b" "):
            raise AssertionError(f"expected {tag} response, got {line!r}")
        return Response(tag, line, untagged, conts)

    def read_tagged(self, tag, pre=(), conts=()):
        untagged = [Untagged(x) for x in pre]
        conts = list(conts)
        if tag in self.stash:
            return Response(tag, self.stash.pop(tag), untagged, conts)
        t = tag.encode() + b" "
        while True:
            r = self.read_response()
            if r.startswith(t):
                return Response(tag, r, untagged, conts)
            if r.startswith(b"* "):
                untagged.append(Untagged(r))
            elif r.startswith(b"+"):
                conts.append(r)
            elif re.match(rb"^[^ *+]+ (OK|NO|BAD) ", r):
                # RFC 9051 5.5: pipelined commands may complete out of order
                self.stash[r.split(b" ", 1)[0].decode()] = r
            else:
                raise AssertionError(f"unexpected response {r!r} while waiting for {tag}")

    def cmd_or_untagged_bad(self, line):
        """Send one command line followed by a NOOP; return the command's
        tagged Response, or an untagged BAD (as a Response with status
        "BAD" and tag "*") when the server answered the line without its
        tag (RFC 9051 7.1.3: allowed when it could not determine the
        command, e.g. a line over its length limit)."""
        tag, sync = self.next_tag(), self.next_tag()
        self.send(tag.encode() + b" " + (line.encode() if isinstance(line, str) else line)
                  + CRLF + sync.encode() + b" NOOP" + CRLF)
        untagged, mine = [], None
        t, st = tag.encode() + b" ", sync.encode() + b" "
        while True:
            r = self.read_response()
            if r.startswith(t):
                mine = Response(tag, r, untagged, [])
            elif r.startswith(st):
                break
            elif r.startswith(b"* "):
                untagged.append(Untagged(r))
        if mine is not None:
            return mine
        bad = [u for u in untagged if u.kind == "BAD"]
        assert bad, f"no answer to {line[:80]!r}: {untagged!r}"
        return Response("*", bad[0].raw, untagged, [])

    def ok(self, *parts):
        """cmd() that must end OK."""
        r = self.cmd(*parts)
        assert r.ok, r
        return r

    # --- common commands ------------------------------------------------

    def login(self, user, password):
        return self.ok("LOGIN ", quote(user), " ", quote(password))

    def capabilities(self):
        r = self.ok("CAPABILITY")
        return {c.upper() for c in r.one("CAPABILITY").values}

    def select(self, mailbox="INBOX", examine=False):
        return self.ok("EXAMINE " if examine else "SELECT ", astring(mailbox))

    def logout(self):
        try:
            r = self.cmd("LOGOUT")
            assert r.one("BYE")
            return r
        finally:
            self.close()

    # --- end of connection -------------------------------------------------

    def closed(self, timeout=10.0):
        """True when the server closes the connection within timeout (data
        arriving meanwhile is kept in .buf)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Literal:
    """A literal in a command: {n} (synchronizing) or {n+} (LITERAL+)."""

    def __init__(self, data, plus=False, binary=False, utf8=False):
        self.data = data.encode() if isinstance(data, str) else data
        self.plus = plus
        self.binary = binary

    def header(self):
        return (b"~" if self.binary else b"") + b"{%d%s}\r\n" % (len(self.data), b"+" if self.plus else b"")


def text(v):
    """A string value as str, whether it came as an atom (str) or a quoted
    string or literal (bytes): mailbox names may come either way."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def quote(s):
    """A quoted string (RFC 9051 4.3)."""
    if isinstance(s, bytes):
        s = s.decode()
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def astring(s):
    """A mailbox or astring: bare when it is a plain atom, else quoted."""
    if s and re.fullmatch(r"[A-Za-z0-9!#$&'+,\-.:;<=>?@^_`|~/]+", s):
        return s
    return quote(s)


def seqset(nums):
    """A sequence set from numbers: [1,2,3,7] -> "1:3,7"."""
    nums = sorted(set(nums))
    out = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else f"{nums[i]}:{nums[j]}")
        i = j + 1
    return ",".join(out)


def expand_set(text, star=None):
    """The numbers of a sequence set ("1:3,7" -> [1,2,3,7])."""
    out = []
    for part in text.split(","):
        if ":" in part:
            a, b = part.split(":")
            a = star if a == "*" else int(a)
            b = star if b == "*" else int(b)
            out += list(range(min(a, b), max(a, b) + 1))
        else:
            out.append(star if part == "*" else int(part))
    return out
