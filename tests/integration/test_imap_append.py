"""APPEND (RFC 9051 6.3.12, RFC 3501 6.3.11): flags, date-time, literals
synchronizing and not (LITERAL+, RFC 7888), MULTIAPPEND (RFC 3502),
APPENDUID (UIDPLUS, RFC 4315), APPENDLIMIT (RFC 7889), UTF8 (RFC 6855 4),
literal8 (BINARY, RFC 3516 4.4), against Dovecot and tern."""
import pytest

from imapbackends import backend, imap  # noqa: F401  (fixtures)
from imapclient import Literal, quote
from ternserver import make_message


def fetch1(c, items, seq="1"):
    r = c.ok(f"FETCH {seq} ({items})")
    return r.fetches()[int(seq)]


def test_append_exact_bytes_and_size(imap):
    msg = make_message(subject="exact", body="line one\r\nline two\r\n")
    c = imap.login()
    c.ok("APPEND INBOX ", Literal(msg))
    c.select()
    f = fetch1(c, "RFC822.SIZE BODY.PEEK[] FLAGS")
    assert f["BODY[]"] == msg
    assert int(f["RFC822.SIZE"]) == len(msg)
    assert "\\Seen" not in f["FLAGS"]
    c.logout()


def test_append_flags_and_keywords(imap):
    c = imap.login()
    c.ok("APPEND INBOX (\\Seen \\Flagged $Important Work) ", Literal(make_message()))
    c.select()
    f = fetch1(c, "FLAGS")
    assert {"\\Seen", "\\Flagged", "$Important", "Work"} <= set(f["FLAGS"])
    # new keywords appear in FLAGS/PERMANENTFLAGS at the next SELECT
    r = c.select()
    flags = r.one("FLAGS").values[0]
    assert "$Important" in flags and "Work" in flags
    c.logout()


def test_append_recent_flag_refused_or_ignored(imap):
    c = imap.login()
    # RFC 3501 2.3.2: \Recent cannot be set by a client
    r = c.cmd("APPEND INBOX (\\Recent) ", Literal(make_message()))
    assert r.status in ("BAD", "NO", "OK"), r
    c.logout()


def test_append_internaldate(imap):
    c = imap.login()
    c.ok('APPEND INBOX "05-Jan-2021 13:45:10 +0200" ', Literal(make_message()))
    c.ok('APPEND INBOX () " 5-Jan-2021 13:45:10 -0000" ', Literal(make_message()))
    c.select()
    d1 = fetch1(c, "INTERNALDATE")["INTERNALDATE"]
    d2 = fetch1(c, "INTERNALDATE", "2")["INTERNALDATE"]
    # RFC 9051 2.3.3: the same instant; a server may keep another zone
    from datetime import datetime

    def instant(b):
        return datetime.strptime(b.decode().strip(), "%d-%b-%Y %H:%M:%S %z").timestamp()
    assert instant(d1) == datetime(2021, 1, 5, 11, 45, 10,
                                   tzinfo=__import__("datetime").timezone.utc).timestamp()
    assert instant(d2) == instant(d1) + 2 * 3600
    # date-time is exactly 26 characters with a 2-digit day (fixed form)
    assert len(d1) == 26, d1
    c.logout()


def test_append_bad_date(imap):
    c = imap.login()
    r = c.cmd('APPEND INBOX "32-Foo-2021 99:00:00 +0000" ', Literal(make_message()))
    assert r.status == "BAD", r
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "0"]
    c.logout()


def test_append_to_missing_mailbox_trycreate(imap):
    c = imap.login()
    # RFC 9051 6.3.12: NO [TRYCREATE] when the mailbox does not exist; the
    # literal's bytes are then refused (no "+") or read and dropped
    r = c.cmd("APPEND nowhere ", Literal(make_message()))
    assert r.status == "NO" and r.code_word() == "TRYCREATE", r
    c.ok("NOOP")
    c.logout()


def test_append_literal_plus(imap):
    assert "LITERAL+" in imap.caps()
    msg = make_message(subject="plus")
    c = imap.login()
    r = c.cmd("APPEND INBOX ", Literal(msg, plus=True))
    assert r.ok and not r.continuations, r
    c.select()
    assert fetch1(c, "BODY.PEEK[]")["BODY[]"] == msg
    c.logout()


def test_append_appenduid(imap):
    imap.need("UIDPLUS")
    c = imap.login()
    r1 = c.ok("APPEND INBOX ", Literal(make_message(subject="u1")))
    r2 = c.ok("APPEND INBOX ", Literal(make_message(subject="u2")))
    # RFC 4315 3: [APPENDUID uidvalidity uid]
    w1, v1, u1 = r1.code.split()
    w2, v2, u2 = r2.code.split()
    assert w1.upper() == w2.upper() == "APPENDUID" and v1 == v2
    assert int(u2) > int(u1)
    r = c.select()
    uidv = [u.code for u in r.untagged if u.code and u.code.upper().startswith("UIDVALIDITY")][0]
    assert uidv.split()[1] == v1
    r = c.ok("UID FETCH 1:* (UID)")
    assert sorted(int(f["UID"]) for f in r.fetches().values()) == [int(u1), int(u2)]
    c.logout()


def test_append_to_selected_mailbox_announces_exists(imap):
    c = imap.login()
    c.select()
    r = c.ok("APPEND INBOX ", Literal(make_message()))
    # RFC 9051 6.3.12: if the mailbox is selected, the server SHOULD send
    # EXISTS (at the latest by the next command)
    ex = [u.num for u in r.of("EXISTS")]
    if not ex:
        ex = [u.num for u in c.ok("NOOP").of("EXISTS")]
    assert ex and ex[-1] == 1
    c.logout()


def test_multiappend(imap):
    imap.need("MULTIAPPEND")
    c = imap.login()
    m1, m2, m3 = (make_message(subject=f"multi{i}") for i in range(3))
    r = c.cmd("APPEND INBOX (\\Seen) ", Literal(m1), " ", Literal(m2),
              ' (\\Flagged) "01-Feb-2020 00:00:00 +0000" ', Literal(m3))
    assert r.ok, r
    if r.code and r.code.upper().startswith("APPENDUID"):
        # RFC 4315 3: the UID set of all appended messages
        assert r.code.split()[2] in ("1:3", "1,2,3")
    c.select()
    r = c.ok("FETCH 1:3 (FLAGS BODY.PEEK[])")
    f = r.fetches()
    assert [f[i]["BODY[]"] for i in (1, 2, 3)] == [m1, m2, m3]
    assert "\\Seen" in f[1]["FLAGS"] and "\\Seen" not in f[2]["FLAGS"]
    assert "\\Flagged" in f[3]["FLAGS"]
    c.logout()


def test_multiappend_all_or_nothing(imap):
    """RFC 3502 3: if any message cannot be appended, none is."""
    imap.need("MULTIAPPEND")
    c = imap.login()
    r = c.cmd("APPEND INBOX ", Literal(make_message()), ' "99-Bad-9999 xx" ',
              Literal(make_message()))
    assert r.status in ("BAD", "NO"), r
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "0"]
    c.logout()


def test_appendlimit_sync_literal_refused_before_bytes(imap):
    imap.need("APPENDLIMIT")
    limit = int([x for x in imap.caps() if x.startswith("APPENDLIMIT")][0].split("=")[1])
    c = imap.login()
    tag = c.next_tag()
    c.send(f"{tag} APPEND INBOX {{{limit + 1}}}\r\n")
    # RFC 7889 4 / RFC 9051 7.1: NO [TOOBIG] instead of a continuation
    r = c.read_tagged(tag)
    assert r.status == "NO" and r.code_word() == "TOOBIG", r
    assert not r.continuations
    c.ok("NOOP")
    c.logout()


def test_appendlimit_nonsync_too_big_ends_connection(imap):
    """RFC 7888 4: a server that cannot take a non-synchronizing literal
    MAY drop the connection; tern reads up to 4 MiB and then says
    BYE [TOOBIG] (docs/imap.md) - never hangs or crashes."""
    imap.need("APPENDLIMIT")
    limit = int([x for x in imap.caps() if x.startswith("APPENDLIMIT")][0].split("=")[1])
    c = imap.login()
    c.send(f"a1 APPEND INBOX {{{limit + 1}+}}\r\n")
    sent = 0
    chunk = b"x" * 65536
    try:
        while sent < min(limit + 1, 64 * 1024 * 1024):
            c.sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    assert c.closed(timeout=30)
    # the connection may carry a BYE [TOOBIG] or a tagged NO first
    assert b"BYE" in c.buf or b"a1 NO" in c.buf or c.buf == b"", c.buf
    ok = imap.login()
    r = ok.ok("STATUS INBOX (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "0"]
    ok.logout()


def test_append_utf8(imap):
    """RFC 6855 4: after ENABLE UTF8=ACCEPT, APPEND takes UTF8 (literal8)
    for a message with UTF-8 headers."""
    imap.need("UTF8=ACCEPT")
    msg = "From: Zoë <z@example.test>\r\nSubject: naïve café\r\n\r\nbödy\r\n".encode()
    c = imap.login()
    c.ok("ENABLE UTF8=ACCEPT")
    r = c.cmd("APPEND INBOX UTF8 (", Literal(msg, binary=True), ")")
    assert r.ok, r
    c.select()
    f = fetch1(c, "BODY.PEEK[] ENVELOPE")
    assert f["BODY[]"] == msg
    # the envelope's subject is UTF-8 as is
    assert f["ENVELOPE"][1] == "naïve café".encode()
    c.logout()


def test_append_literal8_binary(imap):
    """RFC 3516 4.4: APPEND with literal8 (~{n}) of a message with a binary
    part (Content-Transfer-Encoding: binary)."""
    imap.need("BINARY")
    # (Dovecot stores such a message re-encoded in base64 - RFC 3516 4.4
    # allows it - so only BINARY[1] is compared, not BODY[1])
    body = bytes(range(1, 256)) + b"\r\n"
    msg = (b"Subject: bin\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: binary\r\n\r\n" + body)
    c = imap.login()
    r = c.cmd("APPEND INBOX ", Literal(msg, binary=True))
    assert r.ok, r
    c.select()
    f = fetch1(c, "BINARY.PEEK[1] BINARY.SIZE[1]")
    assert f["BINARY[1]"] == body
    assert int(f["BINARY.SIZE[1]"]) == len(body)
    c.logout()


def test_append_empty_literal(imap):
    c = imap.login()
    # a zero-length message: RFC 9051 does not forbid it; servers differ
    # (Dovecot: NO "Can't save a zero byte message"); either way the
    # connection goes on and the count is right
    r = c.cmd("APPEND INBOX ", Literal(b""))
    assert r.status in ("OK", "NO"), r
    n = 1 if r.ok else 0
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", str(n)]
    c.logout()


def test_append_in_not_authenticated_state(imap):
    c = imap.connect()
    tag = c.next_tag()
    c.send(f"{tag} APPEND INBOX {{5}}\r\n")
    # a small literal may be read (Dovecot and tern send "+") before the
    # command is refused: BAD (or NO) for the wrong state
    line = c.read_response()
    if line.startswith(b"+"):
        c.send("hello\r\n")
        r = c.read_tagged(tag)
    else:
        r = c._finish(tag, line, [], [])
    assert r.status in ("BAD", "NO"), r
    c.ok("NOOP")
    # a huge literal before login is never invited: no "+", but NO/BAD or BYE
    tag = c.next_tag()
    c.send(f"{tag} APPEND INBOX {{999999999}}\r\n")
    line = c.read_response()
    assert not line.startswith(b"+"), line
    assert line.startswith((tag.encode() + b" NO", tag.encode() + b" BAD", b"* BYE")), line
    c.close()


def test_append_8bit_and_lf_only(imap):
    """A message with raw 8-bit bytes and one with bare LF line ends: the
    bytes are kept (Dovecot and tern both serve them back as stored, tern
    with CRLF for LF - docs/imap.md "Sizes")."""
    m8 = "Subject: 8bit\r\n\r\nna\u00efve\r\n".encode("latin-1")
    lf = b"Subject: lf\n\nline\nline2\n"
    c = imap.login()
    c.ok("APPEND INBOX ", Literal(m8))
    c.ok("APPEND INBOX ", Literal(lf))
    c.select()
    assert fetch1(c, "BODY.PEEK[]")["BODY[]"] == m8
    f = fetch1(c, "BODY.PEEK[] RFC822.SIZE", "2")
    assert f["BODY[]"] in (lf, lf.replace(b"\n", b"\r\n"))
    # RFC822.SIZE is the size of what BODY[] sends (RFC 9051 7.5.2)
    assert int(f["RFC822.SIZE"]) == len(f["BODY[]"])
    c.logout()


def test_append_quoted_string_message(imap):
    """A message may also be sent as a quoted string... no: RFC 9051 6.3.12
    says the message is a literal; a quoted string is BAD."""
    c = imap.login()
    r = c.cmd('APPEND INBOX "Subject: x"')
    assert r.status == "BAD", r
    c.logout()


@pytest.mark.parametrize("flags", ["(\\Bogus)", "(\\Seen", "(a b (c))"])
def test_append_bad_flags(imap, flags):
    c = imap.login()
    tag = c.next_tag()
    c.send(f"{tag} APPEND INBOX {flags} {{10}}\r\n")
    if imap.kind == "dovecot" and flags.count("(") != flags.count(")"):
        # Dovecot 2.3 neither invites nor refuses the literal of a command
        # whose flag list is never closed: it waits for more, no answer
        c.sock.settimeout(3)
        try:
            line = c.read_response()
        except OSError:
            pytest.skip("Dovecot never answers APPEND with an unclosed flag list")
    else:
        line = c.read_response()
    if line.startswith(b"+"):
        c.send(b"0123456789\r\n")
        r = c.read_tagged(tag)
    else:
        r = c._finish(tag, line, [], [])
    # RFC 9051 2.3.2: only the system flags start with "\" (\Bogus is not a
    # flag-extension any client may set); unbalanced lists are bad syntax
    assert r.status in ("BAD", "NO"), r
    c.ok("NOOP")
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "0"]
    c.logout()


def test_append_with_imaplib(imap):
    m = imap.imaplib()
    msg = make_message(subject="via imaplib")
    typ, data = m.append("Drafts", "(\\Draft)", None, msg)
    assert typ == "OK"
    m.select("Drafts")
    typ, data = m.fetch("1", "(FLAGS BODY.PEEK[])")
    assert data[0][1] == msg and b"\\Draft" in data[0][0]
    m.logout()


def test_append_name_quoting(imap):
    c = imap.login()
    c.ok('CREATE "A B"')
    c.ok("APPEND ", quote("A B"), " ", Literal(make_message()))
    c.ok("APPEND ", Literal("A B"), " ", Literal(make_message()))
    r = c.ok('STATUS "A B" (MESSAGES)')
    assert r.one("STATUS").values[1] == ["MESSAGES", "2"]
    c.logout()
