"""SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4): every search
key, CHARSET, OR/NOT/parentheses, sequence and UID sets with * and ranges;
ESEARCH (RFC 4731) RETURN (MIN MAX COUNT ALL SAVE) and SEARCHRES (RFC 5182)
"$"; against Dovecot and tern.

The six messages (sequence numbers 1-6, appended in order):

  n  from   to     subject               sent        internal    flags        size   body
  1  alice  bob    Quarterly report      01-Jan-26   02-Jan-26   Seen Answered small  "... Zebra."
  2  bob    alice  Re: Quarterly report  05-Jan-26   05-Jan-26   Flagged $Work small  "unicorn"
  3  carol  alice  Lunch?                10-Feb-26   10-Feb-26   Deleted      >5000  x...
  4  dave   alice  Grüße (encoded word)  15-Mar-26   15-Mar-26   Draft        small  Straße (QP)
  5  alice  carol  Zebra crossing        20-Mar-26   20-Mar-26   Seen         small  "nothing"
  6  eve    frank  misc                  01-Apr-26   01-Apr-26   -            small  "zebra"

Dates are at noon UTC so that no server's time zone moves them to
another day (RFC 9051 6.4.4: date comparisons disregard the time).
"""
import pytest

from imapbackends import backend, imap  # noqa: F401  (fixtures)
from imapclient import Literal


def msg(frm, to, subject, date, body, extra=b"", cc=None, bcc=None):
    h = f"From: {frm}\r\nTo: {to}\r\n"
    if cc:
        h += f"Cc: {cc}\r\n"
    if bcc:
        h += f"Bcc: {bcc}\r\n"
    h += f"Subject: {subject}\r\nDate: {date}\r\nMessage-ID: <{abs(hash(subject))}@example.test>\r\n"
    return h.encode() + extra + b"\r\n" + body


MESSAGES = [
    (msg("Alice <alice@example.test>", "bob@example.test", "Quarterly report",
         "Thu, 01 Jan 2026 12:00:00 +0000", b"The numbers are up. Zebra.\r\n", cc="carol@x.test"),
     "\\Seen \\Answered", "02-Jan-2026 12:00:00 +0000"),
    (msg("Bob <bob@example.test>", "alice@example.test", "Re: Quarterly report",
         "Mon, 05 Jan 2026 12:00:00 +0000", b"Thanks! unicorn\r\n", bcc="dave@example.test"),
     "\\Flagged $Work", "05-Jan-2026 12:00:00 +0000"),
    (msg("carol@x.test", "alice@example.test", "Lunch?", "Tue, 10 Feb 2026 12:00:00 +0000",
         b"x" * 6000 + b"\r\n"),
     "\\Deleted", "10-Feb-2026 12:00:00 +0000"),
    (msg("=?utf-8?q?D=C3=A5ve?= <dave@example.test>", "alice@example.test",
         "=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "Sun, 15 Mar 2026 12:00:00 +0000",
         b"Stra=C3=9Fe 12\r\n",
         extra=b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
               b"Content-Transfer-Encoding: quoted-printable\r\n"),
     "\\Draft", "15-Mar-2026 12:00:00 +0000"),
    (msg("Alice <alice@example.test>", "carol@x.test", "Zebra crossing",
         "Fri, 20 Mar 2026 12:00:00 +0000", b"nothing here\r\n", extra=b"X-Priority: 1\r\n"),
     "\\Seen", "20-Mar-2026 12:00:00 +0000"),
    (msg("eve@example.test", "frank@example.test", "misc", "Wed, 01 Apr 2026 12:00:00 +0000",
         b"zebra\r\n"),
     "", "01-Apr-2026 12:00:00 +0000"),
]


@pytest.fixture(scope="module")
def acct(backend):
    a = backend.add_user()
    c = a.login()
    for data, flags, date in MESSAGES:
        c.ok(f'APPEND INBOX ({flags}) "{date}" ', Literal(data))
    c.logout()
    return a


@pytest.fixture(scope="module")
def s(acct):
    """The first session to SELECT: every message is \\Recent here."""
    c = acct.login()
    c.select()
    c.uids = {n: int(f["UID"]) for n, f in c.ok("FETCH 1:* (UID)").fetches().items()}
    c.kind = acct.kind
    c.caps = acct.caps()
    yield c
    c.logout()


def search(c, *parts):
    r = c.ok("SEARCH ", *parts)
    return sorted(r.search())


CASES = [
    ("ALL", [1, 2, 3, 4, 5, 6]),
    ("ANSWERED", [1]), ("UNANSWERED", [2, 3, 4, 5, 6]),
    ("FLAGGED", [2]), ("UNFLAGGED", [1, 3, 4, 5, 6]),
    ("DELETED", [3]), ("UNDELETED", [1, 2, 4, 5, 6]),
    ("DRAFT", [4]), ("UNDRAFT", [1, 2, 3, 5, 6]),
    ("SEEN", [1, 5]), ("UNSEEN", [2, 3, 4, 6]),
    ("KEYWORD $Work", [2]), ("UNKEYWORD $Work", [1, 3, 4, 5, 6]),
    ("KEYWORD $NotUsed", []),
    ("RECENT", [1, 2, 3, 4, 5, 6]), ("NEW", [2, 3, 4, 6]), ("OLD", []),
    ("FROM alice", [1, 5]), ("FROM ALICE", [1, 5]), ("FROM example.test", [1, 2, 4, 5, 6]),
    ("TO alice", [2, 3, 4]), ("CC carol", [1]), ("BCC dave", [2]),
    ("SUBJECT quarterly", [1, 2]), ('SUBJECT "Re: Q"', [2]), ("SUBJECT zebra", [5]),
    ("BODY zebra", [1, 6]), ("BODY unicorn", [2]), ("TEXT zebra", [1, 5, 6]),
    ("TEXT X-Priority", [5]),
    ('HEADER X-Priority 1', [5]), ('HEADER X-Priority ""', [5]), ('HEADER Message-ID ""', [1, 2, 3, 4, 5, 6]),
    ("LARGER 5000", [3]), ("SMALLER 5000", [1, 2, 4, 5, 6]),
    ("BEFORE 10-Feb-2026", [1, 2]), ("ON 10-Feb-2026", [3]), ("SINCE 15-Mar-2026", [4, 5, 6]),
    ("SINCE 1-Jan-2030", []),
    ("SENTBEFORE 10-Feb-2026", [1, 2]), ("SENTON 10-Feb-2026", [3]), ("SENTSINCE 20-Mar-2026", [5, 6]),
    ("ON 2-Jan-2026", [1]), ("SENTON 1-Jan-2026", [1]),
    ("2,4:5", [2, 4, 5]), ("*", [6]), ("5:*", [5, 6]), ("*:5", [5, 6]), ("1:2,6", [1, 2, 6]),
    ("OR SEEN FLAGGED", [1, 2, 5]), ("NOT SEEN", [2, 3, 4, 6]),
    ("(SEEN FLAGGED)", []), ("OR (FROM alice SEEN) DELETED", [1, 3, 5]),
    ("NOT (OR SEEN DELETED)", [2, 4, 6]), ("FROM alice SUBJECT zebra", [5]),
    ("OR OR ANSWERED DRAFT DELETED", [1, 3, 4]), ("NOT NOT SEEN", [1, 5]),
    ("((((SEEN))))", [1, 5]), ("SEEN 1:3", [1]), ("UNSEEN NOT 2:3", [4, 6]),
    ("CHARSET US-ASCII SUBJECT report", [1, 2]),
    ("CHARSET UTF-8 BODY unicorn", [2]),
]


@pytest.mark.parametrize("key,want", CASES, ids=[c[0] for c in CASES])
def test_search_key(s, key, want):
    assert search(s, key) == want


@pytest.mark.parametrize("key,want", [("SUBJECT", [4]), ("FROM", [4])])
def test_search_decoded_header_utf8(s, key, want):
    """RFC 9051 6.4.4: strings are matched against the decoded field
    (RFC 2047 encoded words): "Grüße", "Dåve"."""
    word = "grüße" if key == "SUBJECT" else "dåve"
    assert search(s, f"CHARSET UTF-8 {key} ", Literal(word)) == want


def test_search_decoded_body_utf8(s):
    # the QP body decodes to "Straße"
    assert search(s, "CHARSET UTF-8 BODY ", Literal("straße")) == [4]
    assert search(s, "CHARSET UTF-8 TEXT ", Literal("STRASSE".lower().replace("ss", "ß"))) == [4]


def test_search_unknown_charset(s):
    r = s.cmd("SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT a")
    # RFC 9051 6.4.4: NO [BADCHARSET], optionally with the supported ones
    assert r.status == "NO" and r.code_word() == "BADCHARSET", r


def test_uid_search(s):
    u = s.uids
    r = s.ok("UID SEARCH SEEN")
    assert sorted(r.search()) == [u[1], u[5]]
    r = s.ok(f"UID SEARCH UID {u[2]}:{u[4]}")
    assert sorted(r.search()) == [u[2], u[3], u[4]]
    r = s.ok(f"SEARCH UID {u[6]},{u[1]}")
    assert sorted(r.search()) == [1, 6]
    # "*" is the highest UID in use, even in a range beyond it
    r = s.ok(f"UID SEARCH UID {u[6] + 100}:*")
    assert r.search() == [u[6]]
    r = s.ok(f"UID SEARCH UID {u[6] + 100}")
    assert r.search() == []


def test_search_bad_syntax(s):
    for bad in ("SEARCH NOSUCHKEY", "SEARCH FROM", "SEARCH OR SEEN", "SEARCH (SEEN",
                "SEARCH SEEN)", "SEARCH BEFORE 32-Foo-2020", "SEARCH LARGER x",
                "SEARCH 0", "SEARCH KEYWORD \\Seen x y"):
        r = s.cmd(bad)
        assert r.status == "BAD", (bad, r)
    s.ok("NOOP")


def test_search_empty_result(s):
    r = s.ok("SEARCH SUBJECT nothing-matches-this")
    # RFC 9051 7.3.1 (rev1 SEARCH response): "* SEARCH" with no numbers
    assert r.search() == []


def test_esearch_return_options(s):
    if "ESEARCH" not in s.caps:
        pytest.skip("no ESEARCH")
    r = s.ok("SEARCH RETURN (MIN MAX COUNT) SEEN")
    e = r.one("ESEARCH").values
    # RFC 4731 3.1: (TAG "x") then the result options
    assert e[0] == ["TAG", r.tag.encode()] or e[0] == ["TAG", r.tag]
    d = dict(zip(e[1::2], e[2::2]))
    assert d == {"MIN": "1", "MAX": "5", "COUNT": "2"}
    r = s.ok("SEARCH RETURN (ALL) OR SEEN FLAGGED")
    d = dict(zip(r.one("ESEARCH").values[1::2], r.one("ESEARCH").values[2::2]))
    assert d == {"ALL": "1:2,5"}
    # RETURN () is RETURN (ALL)
    r = s.ok("SEARCH RETURN () OR SEEN FLAGGED")
    d = dict(zip(r.one("ESEARCH").values[1::2], r.one("ESEARCH").values[2::2]))
    assert d == {"ALL": "1:2,5"}


def test_esearch_uid_and_empty(s):
    if "ESEARCH" not in s.caps:
        pytest.skip("no ESEARCH")
    u = s.uids
    r = s.ok("UID SEARCH RETURN (MIN MAX) SEEN")
    e = r.one("ESEARCH").values
    # RFC 4731 3.1: "UID" after the tag correlator for UID SEARCH
    assert e[1] == "UID"
    d = dict(zip(e[2::2], e[3::2]))
    assert d == {"MIN": str(u[1]), "MAX": str(u[5])}
    r = s.ok("SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT nothing-matches")
    e = r.one("ESEARCH").values
    d = dict(zip(e[1::2], e[2::2]))
    # no matches: no MIN/MAX/ALL; COUNT 0
    assert d == {"COUNT": "0"}


def test_searchres_save(acct):
    if "SEARCHRES" not in acct.caps():
        pytest.skip("no SEARCHRES")
    c = acct.login()
    c.select(examine=True)
    uids = {n: int(f["UID"]) for n, f in c.ok("FETCH 1:* (UID)").fetches().items()}
    r = c.ok("SEARCH RETURN (SAVE) OR FLAGGED DRAFT")
    # RFC 5182 2.1: SAVE alone: no ESEARCH response
    assert not r.of("ESEARCH") and not r.of("SEARCH"), r
    f = c.ok("FETCH $ (UID)").fetches()
    assert set(f) == {2, 4}
    r = c.ok("UID FETCH $ (FLAGS)")
    assert {int(x["UID"]) for x in r.fetches().values()} == {uids[2], uids[4]}
    # $ inside a search, with other keys
    assert sorted(c.ok("SEARCH $ FLAGGED").search()) == [2]
    assert sorted(c.ok("SEARCH OR $ SEEN").search()) == [1, 2, 4, 5]
    # SAVE with MIN: the saved result is the whole set (RFC 5182 2.1: with
    # MIN only, the saved result is the MIN... either the MIN message or,
    # per the RFC's note, the full set; accept both)
    r = c.ok("SEARCH RETURN (SAVE MIN) SEEN")
    d = dict(zip(r.one("ESEARCH").values[1::2], r.one("ESEARCH").values[2::2]))
    assert d == {"MIN": "1"}
    assert set(c.ok("FETCH $ (UID)").fetches()) in ({1}, {1, 5})
    # an empty saved result makes $ empty (FETCH $ is OK with no data)
    c.ok("SEARCH RETURN (SAVE) SUBJECT nothing-matches")
    r = c.ok("FETCH $ (UID)")
    assert not r.of("FETCH")
    c.logout()


def test_searchres_before_save_is_empty_or_error(acct):
    if "SEARCHRES" not in acct.caps():
        pytest.skip("no SEARCHRES")
    c = acct.login()
    c.select(examine=True)
    # RFC 5182 2.1: $ before any SAVE refers to the empty set
    r = c.cmd("FETCH $ (UID)")
    assert r.status in ("OK", "BAD", "NO") and not r.of("FETCH"), r
    c.logout()


def test_rev2_search_gives_esearch(acct):
    acct.need("IMAP4REV2")
    c = acct.login()
    c.ok("ENABLE IMAP4rev2")
    c.select(examine=True)
    r = c.ok("SEARCH SEEN")
    # RFC 9051 6.4.4: the result is an ESEARCH response
    assert not r.of("SEARCH")
    e = r.one("ESEARCH").values
    assert dict(zip(e[1::2], e[2::2])) == {"ALL": "1,5"}
    c.logout()


def test_search_huge_set_and_deep_nesting(s):
    """Bounded, not crashing: a 20,000-range set and 500 levels of
    parentheses either work or get BAD; the session goes on."""
    # (a line past the server's limit may get an untagged BAD)
    big = ",".join(str(i) for i in range(1, 40001, 2))
    r = s.cmd_or_untagged_bad("SEARCH " + big)
    assert r.status in ("OK", "BAD", "NO")
    if r.ok:
        assert sorted(r.search()) == [1, 3, 5]
    big = ",".join(f"{i}:{i}" for i in range(1, 1200))
    r = s.cmd_or_untagged_bad("SEARCH " + big)
    assert r.status in ("OK", "BAD", "NO")
    r = s.cmd_or_untagged_bad("SEARCH " + "(" * 500 + "SEEN" + ")" * 500)
    assert r.status in ("OK", "BAD", "NO"), r
    if r.ok:
        assert sorted(r.search()) == [1, 5]
    r = s.cmd_or_untagged_bad("SEARCH " + "NOT " * 2000 + "SEEN")
    assert r.status in ("OK", "BAD", "NO"), r
    s.ok("NOOP")


def test_search_with_imaplib(acct):
    m = acct.imaplib()
    m.select("INBOX", readonly=True)
    typ, data = m.search(None, "FROM", '"alice"', "SEEN")
    assert typ == "OK" and sorted(int(x) for x in data[0].split()) == [1, 5]
    typ, data = m.search("UTF-8", "BODY", "unicorn")
    assert typ == "OK" and data[0].split() == [b"2"]
    m.logout()


def test_body_search_includes_part_headers(backend):
    """RFC 9051 6.4.4: TEXT matches "in the header or body of the message":
    the MIME headers of body parts are in the message's body (RFC 5322
    2.1). (Whether BODY covers part headers is read both ways: Dovecot's
    BODY looks only at the parts' contents, so it is not tested here.)"""
    acct = backend.add_user()
    import imapmsgs as M
    acct.fill([M.MIXED, M.SIMPLE])
    c = acct.login()
    c.select(examine=True)
    assert sorted(c.ok('SEARCH TEXT "data.bin"').search()) == [1]
    assert sorted(c.ok("SEARCH TEXT attachment").search()) == [1]
    assert sorted(c.ok("SEARCH BODY alternative").search()) == [1]
    c.logout()


def test_encoded_word_that_decodes_to_ascii(acct):
    """A needle found only after RFC 2047 decoding ("hidden_word" is
    "hidden=5Fword" in the raw header): the raw-header shortcut must not
    decide such a message, alone or inside AND, NOT and OR."""
    c = acct.login()
    c.ok("CREATE EncodedAscii")
    data = (b"From: plain@example.test\r\nTo: alice@example.test\r\n"
            b"Subject: =?us-ascii?q?hidden=5Fword_here?=\r\n"
            b"Date: Wed, 01 Apr 2026 12:00:00 +0000\r\n\r\nbody\r\n")
    c.ok("APPEND EncodedAscii ", Literal(data))
    c.select("EncodedAscii")
    assert search(c, "SUBJECT hidden_word") == [1]
    assert search(c, "FROM plain SUBJECT hidden_word") == [1]
    assert search(c, "SUBJECT hidden_word FROM nobody") == []
    assert search(c, "NOT SUBJECT hidden_word") == []
    assert search(c, "OR SUBJECT hidden_word FROM nobody") == [1]
    assert search(c, "SUBJECT hidden=5Fword") == []
    c.logout()
