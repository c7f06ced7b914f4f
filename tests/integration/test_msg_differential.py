"""Differential test of `tern msg inspect` against Python's email package.

Every message in tests/data/corpus is parsed twice: by `tern msg inspect`
(the contract is docs/msg-inspect.md) and by Python's email package
(policy=email.policy.default). The two results are compared field by field;
every difference must either be fixed or be listed in KNOWN below (and in
docs/differential.md, with the reason the two parsers legitimately differ).
A difference that is not listed fails the test, and so does a listed one that
no longer happens (the list must stay exact).

Normalization applied before comparing (documented in docs/differential.md):
  - text bodies: CRLF -> LF on both sides;
  - decoded unstructured fields other than Subject: whitespace runs squashed;
  - tern's missing-end-boundary is Python's Start- or CloseBoundaryNotFound;
  - dates: when Python returns a naive datetime (zone -0000, "unknown local
    time", RFC 5322 3.3) tern's zone suffix +00:00/-00:00/Z is dropped;
  - display names: Python's "" (no name) is tern's null;
  - the part walk descends only into multipart/* and message/rfc822 |
    message/global: Python also parses the bodies of message/delivery-status,
    message/partial and message/external-body as header blocks, which are not
    MIME parts (RFC 3501 7.4.2 treats them as basic parts);
  - the "invalid" marker of a tern address is not compared (Python has
    defects instead).

Besides the differential test, test_invariants checks on every file: exit
status 0, valid JSON, valid UTF-8 strings, offsets within the file,
header_offset + header_size == body_offset, header_lines/body_lines match the
bytes, children inside their parent, and that `tern msg bodystructure`
and `tern msg envelope` print one line with balanced parentheses.
"""
import email
import email.policy
import fnmatch
import json
import pathlib
import re
import subprocess

import pytest
from email import _header_value_parser as hvp
from email import errors as email_errors

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"
DOC = ROOT / "docs" / "differential.md"
FILES = sorted(p.name for p in CORPUS.glob("*.eml"))

# (file, field pattern) -> why tern and Python legitimately differ.
# Field patterns are fnmatch patterns over the field names produced by
# compare_message() (e.g. "part[1.2].text", "msg[2].subject"; "[" is written
# "[[]" in a pattern); the same rows are in docs/differential.md.
KNOWN = {
    ("34-encoded-word-broken.eml", "subject"):
        "=?utf-8?b?bad base64!?= contains SPACE, so it is not an encoded word "
        "(RFC 2047 2) and tern keeps it as written; Python strips the "
        "=?utf-8?b? and ?= and shows 'bad base64!'",
    ("37-address-comments.eml", "to"):
        "with no display name, tern takes a comment beside the addr-spec as the "
        "name (the legacy `a@b (Name)` form, as Dovecot does), also when the "
        "comment comes first; Python gives no name",
    # -- header block
    ("26-obs-space-before-colon.eml", "*"):
        "Python rejects WSP before the colon (RFC 5322 4.5 obs-optional) and "
        "takes the whole message as body",
    ("58-junk-before-headers.eml", "*"):
        "Python ends the header at a first line that is not a field and takes "
        "everything as body; tern keeps the line (nameless) and parses the fields",
    ("57-mbox-from-line.eml", "header_names"):
        "tern keeps the mbox From_ line as a nameless entry of the header block; "
        "Python moves it to the unixfrom attribute",
    ("23-folded-headers.eml", "subject"):
        "tern's decoded text folds whitespace runs (a tab after unfolding) into "
        "one space; Python keeps the tab (tern's raw value keeps it too)",
    ("49-nul-bytes.eml", "subject"):
        "NUL is not allowed in a header (RFC 5322 2.2); tern's decoded text "
        "shows it as U+FFFD, Python keeps the NUL",
    # -- raw 8-bit in headers
    ("28-raw-utf8-headers.eml", "from"):
        "Python's address parser keeps raw UTF-8 (RFC 6532) as surrogate escapes",
    ("28-raw-utf8-headers.eml", "to"):
        "Python's address parser keeps raw UTF-8 (RFC 6532) as surrogate escapes",
    ("68-message-global.eml", "msg[[]2].from"):
        "Python's address parser keeps raw UTF-8 (RFC 6532) as surrogate escapes",
    ("29-raw-latin1-headers.eml", "from"):
        "raw Latin-1 bytes: tern reads invalid UTF-8 as Windows-1252, Python "
        "keeps surrogate escapes",
    ("29-raw-latin1-headers.eml", "subject"):
        "raw Latin-1 bytes: tern reads invalid UTF-8 as Windows-1252, Python "
        "replaces them with U+FFFD",
    # -- addresses
    ("36-quoted-local-parts.eml", "to"):
        "Python unquotes \"a..b\" although a..b is not a dot-atom "
        "(RFC 5322 3.4.1); tern keeps the quotes",
    ("36-quoted-local-parts.eml", "message_id"):
        "Python drops the quotes of a quoted id-left (<quoted local@...> is not "
        "a msg-id); tern keeps them",
    ("37-address-comments.eml", "from"):
        "tern takes the comment of 'addr (Name)' as the display name, as IMAP "
        "servers do for ENVELOPE; Python ignores comments",
    ("39-route-address.eml", "cc"):
        "a missing comma between two addresses: tern recovers both, Python "
        "keeps the first and a defect",
    # -- parameters and filenames
    ("08-rfc2047-filename.eml", "part[[]2].params"):
        "tern's params are as written: RFC 2047 5 forbids encoded words in a "
        "quoted string; Python decodes them (filename is decoded by both)",
    ("08-rfc2047-filename.eml", "part[[]3].params"):
        "same as part[2].params",
    ("08-rfc2047-filename.eml", "part[[]2].description"):
        "tern's description is the field as written (IMAP BODYSTRUCTURE sends "
        "it so); Python decodes the encoded word",
    ("08-rfc2047-filename.eml", "part[[]4].params"):
        "unquoted name==?...?= (not a valid token): tern keeps it, Python "
        "drops the parameter",
    ("08-rfc2047-filename.eml", "part[[]4].filename"):
        "unquoted name==?...?= (not a valid token): tern decodes it as a "
        "lenient reader, Python has no filename",
    ("60-bad-content-type.eml", "part[[]4].params"):
        "'broken' without '=' is not a parameter (RFC 2045 5.1): tern drops "
        "it, Python keeps it with an empty value",
    # -- multipart structure
    ("42-missing-end-boundary.eml", "part[[]2].body"):
        "without a close delimiter the last line break belongs to the body "
        "(RFC 2046 5.1.1 gives it to a following delimiter only); Python strips it",
    ("42-missing-end-boundary.eml", "part[[]2].text"):
        "same as part[2].body: tern keeps the final line break",
    ("44-boundary-trailing-junk.eml", "part[[]2].*"):
        "tern accepts '--TJ-- junk' as the close delimiter (prefix match, as "
        "Dovecot); Python requires only whitespace after it",
    ("44-boundary-trailing-junk.eml", "part[[]].flag.missing-end-boundary"):
        "same: for Python the close delimiter is missing",
    ("61-preamble-epilogue.eml", "*"):
        "tern takes a preamble line starting with '--pe' plus text as a "
        "delimiter (prefix match, as Dovecot); Python requires only whitespace "
        "after it, so tern has one more (empty) part",
    ("45-no-boundary-param.eml", "part[[]].type"):
        "multipart without boundary: tern reports text/plain (flag no-boundary) "
        "so every consumer treats it as the leaf it is; Python keeps "
        "multipart/mixed with no parts",
    ("62-empty-parts.eml", "parts.count"):
        "two adjacent delimiter lines enclose an empty body part (RFC 2046 "
        "5.1.1); Python drops it",
    ("62-empty-parts.eml", "part[[]3].*"):
        "same: the parts after the dropped one are shifted in Python's walk",
    ("53-deep-nesting.eml", "parts.count"):
        "tern stops at its nesting limit (100, flag depth-limit) and keeps the "
        "deeper parts opaque; Python recurses 200 levels",
    # -- bodies
    ("55-unknown-charset.eml", "part[[]].text"):
        "unknown charset: tern decodes as UTF-8 with U+FFFD; Python's "
        "get_content() raises LookupError",
    ("72-8bit-no-charset.eml", "part[[]].text"):
        "8-bit bytes under the default us-ascii: tern reads them as UTF-8, "
        "Python replaces each byte with U+FFFD",
    ("70-qp-soft-breaks.eml", "part[[]].text"):
        "RFC 2045 6.7 (3): a decoder deletes trailing whitespace and '=' "
        "followed by whitespace is a soft break; Python's quopri does neither",
}

# (file, field pattern) -> a tern bug reported to the lead and not fixed
# yet. These make the file's test xfail; once fixed, the entry must go.
TERN_BUGS = {
}

_parse_cache = {}


# ---------------------------------------------------------------------------
# running tern

def run_tern(tern_bin, *args):
    return subprocess.run([tern_bin, "msg", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def tern_inspect(tern_bin, name):
    key = (tern_bin, name)
    if key not in _parse_cache:
        res = run_tern(tern_bin, "inspect", str(CORPUS / name))
        assert res.returncode == 0, f"{name}: exit {res.returncode}: {res.stderr!r}"
        _parse_cache[key] = json.loads(res.stdout.decode("utf-8"))
    return _parse_cache[key]


# ---------------------------------------------------------------------------
# Python's view, shaped like tern's

class PyError(str):
    """Marks a value Python could not produce (its parser raised)."""


def py_error(e):
    return PyError(f"<python error {type(e).__name__}>")


def py_header(msg, name):
    """The header object for name, or None; exceptions become a PyError."""
    try:
        return msg[name]
    except Exception as e:  # Python's header parser has crashed on odd input
        return py_error(e)


def py_text(value):
    return None if value is None else str(value)


def py_addresses(msg, name):
    h = py_header(msg, name)
    if h is None or isinstance(h, PyError):
        return h
    try:
        groups = h.groups
    except Exception as e:
        return py_error(e)
    out = []
    for g in groups:
        members = [{"name": a.display_name or None, "address": a.addr_spec}
                   for a in g.addresses]
        if g.display_name is None:
            out.extend(members)
        else:
            out.append({"group": g.display_name, "members": members})
    return out


def tern_addresses(value):
    if value is None:
        return None
    out = []
    for a in value:
        if "group" in a:
            out.append({"group": a["group"], "members": tern_addresses(a["members"])})
        else:
            out.append({"name": a.get("name"), "address": a.get("address")})
    return out


def py_message_id(msg):
    h = py_header(msg, "message-id")
    if h is None or isinstance(h, PyError):
        return h
    try:
        tok = hvp.parse_message_id(str(h))
    except Exception as e:
        return py_error(e)
    for t in tok:
        if t.token_type == "msg-id":
            return t.value.strip()
    return str(h).strip()


def py_msg_ids(msg, name):
    """The msg-ids of In-Reply-To / References, by Python's msg-id parser."""
    h = py_header(msg, name)
    if h is None:
        return []
    if isinstance(h, PyError):
        return h
    value, out = str(h), []
    while value.strip():
        try:
            tok, value = hvp.get_msg_id(value.lstrip())
            out.append(tok.value.strip())
        except Exception:
            # not a msg-id here (a phrase or junk): go to the next "<"
            nxt = value.find("<", 1)
            if nxt < 0:
                break
            value = value[nxt:]
    return out


def py_unstructured(msg):
    """(index, decoded value) of the fields Python parses as unstructured text."""
    from email.headerregistry import UnstructuredHeader
    out = []
    for i, (name, value) in enumerate(msg.items()):
        # Subject is compared on its own (the "subject" field)
        if isinstance(value, UnstructuredHeader) and name.lower() != "subject":
            out.append((i, str(value)))
    return out


def squash(s):
    return re.sub(r"[ \t\r\n]+", " ", s).strip() if isinstance(s, str) else s


def py_date(msg):
    h = py_header(msg, "date")
    if h is None or isinstance(h, PyError):
        return h
    dt = getattr(h, "datetime", None)
    if dt is None:
        return None
    return dt.isoformat()


def normalize_tern_date(tern, py):
    """Python gives a naive datetime for -0000; compare without the zone."""
    if isinstance(tern, str) and isinstance(py, str) and not re.search(r"[+-]\d\d:\d\d$", py):
        return re.sub(r"(Z|[+-]00:00)$", "", tern)
    return tern


def py_params(part):
    h = py_header(part, "content-type")
    if h is None:
        return {}
    if isinstance(h, PyError):
        return h
    try:
        return {k.lower(): v for k, v in h.params.items()}
    except Exception as e:
        return py_error(e)


def py_children(part):
    """The children the walk descends into (see the module docstring)."""
    ctype = part.get_content_type()
    payload = part.get_payload()
    if not isinstance(payload, list):
        return []
    if ctype.startswith("multipart/") or ctype in ("message/rfc822", "message/global"):
        return payload
    return []


def py_walk(msg, section="", label="", encapsulated=False):
    """(label, expected section, part, is_encapsulated_root) in walk order."""
    yield label or "", section, msg, encapsulated
    ctype = msg.get_content_type()
    kids = py_children(msg)
    if ctype in ("message/rfc822", "message/global") and kids:
        inner = kids[0]
        inner_multi = inner.get_content_type().startswith("multipart/") and \
            isinstance(inner.get_payload(), list)
        inner_section = section if inner_multi else (section + ".1" if section else "1")
        yield from py_walk_inner(inner, section, inner_section)
        return
    for i, kid in enumerate(kids, 1):
        s = f"{section}.{i}" if section else str(i)
        yield from py_walk(kid, s, s)


def py_walk_inner(inner, parent_section, inner_section):
    """The encapsulated message of a message/rfc822 part at parent_section."""
    yield f"{parent_section}:msg", inner_section, inner, True
    ctype = inner.get_content_type()
    kids = py_children(inner)
    if ctype.startswith("multipart/"):
        for i, kid in enumerate(kids, 1):
            s = f"{parent_section}.{i}"
            yield from py_walk(kid, s, s)
    elif ctype in ("message/rfc822", "message/global") and kids:
        # an encapsulated message whose body is itself a message: its body
        # part is N.1 and that part's message is below it
        yield from py_walk_inner(kids[0], inner_section,
                                 inner_section if kids[0].get_content_type().startswith("multipart/")
                                 else inner_section + ".1")


def tern_walk(part):
    yield part
    for kid in part.get("parts") or []:
        yield from tern_walk(kid)
    m = part.get("message")
    if m:
        yield from tern_walk(m["structure"])


def tern_messages(msg):
    """(part, message object) for every encapsulated message."""
    for p in tern_walk(msg["structure"]):
        if p.get("message"):
            yield p, p["message"]


def py_body_text(part):
    try:
        text = part.get_content()
    except Exception as e:
        return py_error(e)
    return text


def norm_text(s):
    if not isinstance(s, str):
        return s
    return s.replace("\r\n", "\n")


def py_raw_body(part):
    # get_payload() would decode 8-bit bytes with the charset; the stored
    # payload holds the raw bytes (as surrogate escapes of message_from_bytes)
    payload = part._payload
    if not isinstance(payload, str):
        return None
    return payload.encode("ascii", "surrogateescape")


def py_field_text(part, name):
    """A field's text as Python stores it (raw, or the header object's str)."""
    h = py_header(part, name)
    if h is None or isinstance(h, PyError):
        return h
    return squash(str(h))


def py_has_defect(part, cls):
    return any(isinstance(d, cls) for d in part.defects)


# ---------------------------------------------------------------------------
# comparison

def compare_envelope(diffs, prefix, tmsg, pmsg):
    def cmp(field, t, p):
        if t != p:
            diffs[prefix + field] = (t, p)

    cmp("subject", tmsg.get("subject"), py_text(py_header(pmsg, "subject")))
    for field in ("from", "sender", "reply_to", "to", "cc", "bcc"):
        cmp(field, tern_addresses(tmsg.get(field)), py_addresses(pmsg, field.replace("_", "-")))
    cmp("message_id", tmsg.get("message_id"), py_message_id(pmsg))
    pdate = py_date(pmsg)
    cmp("date", normalize_tern_date(tmsg.get("date"), pdate), pdate)
    for field in ("in_reply_to", "references"):
        cmp(field, tmsg.get(field), py_msg_ids(pmsg, field.replace("_", "-")))
    theaders = tmsg.get("headers", [])
    cmp("header_names", [h["name"] for h in theaders], list(pmsg.keys()))
    if [h["name"] for h in theaders] == list(pmsg.keys()):
        # unstructured fields: the decoded text, whitespace runs squashed
        for i, pvalue in py_unstructured(pmsg):
            cmp(f"header[{theaders[i]['name']}#{i}].decoded",
                squash(theaders[i].get("decoded")), squash(pvalue))


def compare_part(diffs, prefix, data, tpart, ppart, section, encapsulated):
    def cmp(field, t, p):
        if t != p:
            diffs[f"{prefix}.{field}"] = (t, p)

    cmp("section", tpart.get("section"), section)
    cmp("type", tpart.get("type"), ppart.get_content_type())
    cmp("params", tpart.get("params"), py_params(ppart))
    cte = py_header(ppart, "content-transfer-encoding")
    cmp("encoding", tpart.get("encoding"),
        "7bit" if cte is None else str(cte).strip().lower())
    cmp("disposition", tpart.get("disposition"), ppart.get_content_disposition())
    try:
        fn = ppart.get_filename()
    except Exception as e:
        fn = py_error(e)
    cmp("filename", tpart.get("filename"), fn)
    for field, hname in (("id", "content-id"), ("md5", "content-md5"),
                         ("location", "content-location"),
                         ("description", "content-description")):
        cmp(field, squash(tpart.get(field)), py_field_text(ppart, hname))
    lang = py_header(ppart, "content-language")
    cmp("language", tpart.get("language"),
        [] if lang is None else [t.strip() for t in str(lang).split(",") if t.strip()])
    # Python says StartBoundaryNotFound when the boundary never appears and
    # CloseBoundaryNotFound when only the close delimiter is missing; tern
    # flags both missing-end-boundary
    cmp("flag.missing-end-boundary",
        "missing-end-boundary" in tpart.get("flags", []),
        py_has_defect(ppart, email_errors.CloseBoundaryNotFoundDefect) or
        py_has_defect(ppart, email_errors.StartBoundaryNotFoundDefect))
    cmp("flag.no-boundary",
        "no-boundary" in tpart.get("flags", []),
        py_has_defect(ppart, email_errors.NoBoundaryInMultipartDefect))

    raw = py_raw_body(ppart)
    if raw is not None and not ppart.get_content_type().startswith("multipart/"):
        off, size = tpart.get("body_offset", 0), tpart.get("body_size", 0)
        tbody = data[off:off + size]
        if tbody != raw:
            diffs[f"{prefix}.body"] = (tbody[:80], raw[:80])
        if ppart.get_content_maintype() == "text":
            cmp("text", norm_text(tpart.get("text")), norm_text(py_body_text(ppart)))


def compare_message(name, data, tmsg, pmsg):
    """A dict field -> (tern, python) of every difference."""
    diffs = {}
    compare_envelope(diffs, "", tmsg, pmsg)

    py_parts = list(py_walk(pmsg))
    t_parts = list(tern_walk(tmsg["structure"]))
    if len(py_parts) != len(t_parts):
        diffs["parts.count"] = (len(t_parts), len(py_parts))
    t_msgs = {id(p["message"]["structure"]): p["message"] for p, _ in tern_messages(tmsg)}
    for tpart, (label, section, ppart, encapsulated) in zip(t_parts, py_parts):
        prefix = f"part[{label}]"
        compare_part(diffs, prefix, data, tpart, ppart, section, encapsulated)
        if encapsulated:
            tinner = t_msgs.get(id(tpart))
            if tinner is None:
                diffs[f"msg[{label}]"] = (None, "encapsulated message")
            else:
                compare_envelope(diffs, f"msg[{label.split(':')[0]}].", tinner, ppart)
    return diffs


def py_parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


_diff_cache = {}


def diffs_for(tern_bin, name):
    if name not in _diff_cache:
        data = (CORPUS / name).read_bytes()
        _diff_cache[name] = compare_message(name, data, tern_inspect(tern_bin, name), py_parse(data))
    return _diff_cache[name]


# ---------------------------------------------------------------------------
# tests

def test_corpus_is_big_enough():
    assert len(FILES) >= 60
    readme = (CORPUS / "README.md").read_text()
    for name in FILES:
        assert name in readme, f"{name} is not described in tests/data/corpus/README.md"


def test_python_parses_every_file():
    """The corpus itself is sane: Python walks every file without crashing."""
    for name in FILES:
        msg = py_parse((CORPUS / name).read_bytes())
        for _ in py_walk(msg):
            pass


def matching(table, name, field):
    for (kfile, kfield) in table:
        if kfile == name and fnmatch.fnmatchcase(field, kfield):
            return (kfile, kfield)
    return None


@pytest.mark.parametrize("name", FILES)
def test_differential(tern_bin, name):
    diffs = diffs_for(tern_bin, name)
    new = {f: v for f, v in diffs.items()
           if matching(KNOWN, name, f) is None and matching(TERN_BUGS, name, f) is None}
    if new:
        lines = [f"{name}: {len(new)} unexplained difference(s) (tern vs Python):"]
        for field, (t, p) in sorted(new.items()):
            lines.append(f"  {field}:\n    tern:   {t!r}\n    python: {p!r}")
        pytest.fail("\n".join(lines))
    bugs = sorted({matching(TERN_BUGS, name, f) for f in diffs} - {None})
    if bugs:
        pytest.xfail("known tern bug(s): " + "; ".join(TERN_BUGS[b] for b in bugs))


def test_known_differences_still_happen(tern_bin):
    """Every entry of KNOWN and TERN_BUGS matches a real difference."""
    stale = []
    for (kfile, kfield) in list(KNOWN) + list(TERN_BUGS):
        diffs = diffs_for(tern_bin, kfile)
        if not any(fnmatch.fnmatchcase(f, kfield) for f in diffs):
            stale.append((kfile, kfield))
    assert not stale, f"entries that no longer differ (remove them): {stale}"


def test_quoted_message_id(tern_bin):
    """RFC 5322 3.6.4: id-left may be a quoted string (obs-id-left); keep it."""
    msg = tern_inspect(tern_bin, "36-quoted-local-parts.eml")
    assert msg["message_id"] == '<"quoted local"@example.test>'


def test_docs_list_the_known_differences():
    """docs/differential.md lists exactly the entries of KNOWN."""
    text = DOC.read_text()
    rows = set(re.findall(r"^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|", text, re.M))
    assert rows == set(KNOWN), (
        f"only in docs: {rows - set(KNOWN)}; only in the test: {set(KNOWN) - rows}")


# ---- invariants -----------------------------------------------------------

def check_strings(value, where):
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            pytest.fail(f"{where}: string is not valid UTF-8 (lone surrogate): {value!r}")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_strings(k, where)
            check_strings(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_strings(v, f"{where}[{i}]")


def count_lines(b):
    """Lines in b: its LFs, plus one for a last line without LF."""
    return b.count(b"\n") + (1 if b and not b.endswith(b"\n") else 0)


def check_part(part, size, where, data):
    ho, hs = part["header_offset"], part["header_size"]
    bo, bs = part["body_offset"], part["body_size"]
    assert 0 <= ho <= size and 0 <= bo <= size, f"{where}: offsets {ho}/{bo} outside {size}"
    assert ho + hs == bo, f"{where}: header_offset {ho} + header_size {hs} != body_offset {bo}"
    assert bo + bs <= size, f"{where}: body {bo}+{bs} past the end ({size})"
    assert part["header_lines"] == count_lines(data[ho:bo]), \
        f"{where}: header_lines {part['header_lines']} != {count_lines(data[ho:bo])}"
    assert part["body_lines"] == count_lines(data[bo:bo + bs]), \
        f"{where}: body_lines {part['body_lines']} != {count_lines(data[bo:bo + bs])}"
    for kid in part.get("parts") or []:
        assert ho <= kid["header_offset"] and kid["body_offset"] + kid["body_size"] <= bo + bs, \
            f"{where}: child {kid['section']} outside its parent"
        check_part(kid, size, f"{where.split(' ')[0]} part {kid['section'][:40]}", data)
    m = part.get("message")
    if m:
        inner = m["structure"]
        assert bo <= inner["header_offset"] and inner["body_offset"] + inner["body_size"] <= bo + bs, \
            f"{where}: encapsulated message outside its part"
        check_part(inner, size, f"{where} (message)", data)


def imap_balanced(line):
    """True when parentheses balance outside IMAP quoted strings and literals."""
    depth, i, n = 0, 0, len(line)
    while i < n:
        c = line[i:i + 1]
        if c == b'"':
            i += 1
            while i < n and line[i:i + 1] != b'"':
                i += 2 if line[i:i + 1] == b"\\" else 1
            if i >= n:
                return False
        elif c == b"{":
            m = re.match(rb"\{(\d+)\}\r\n", line[i:])
            if not m:
                return False
            i += m.end() + int(m.group(1))
            continue
        elif c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            if depth < 0:
                return False
        i += 1
    return depth == 0


@pytest.mark.parametrize("name", FILES)
def test_invariants(tern_bin, name):
    path = CORPUS / name
    data = path.read_bytes()
    res = run_tern(tern_bin, "inspect", str(path))
    assert res.returncode == 0, res.stderr
    text = res.stdout.decode("utf-8")  # strict: must be valid UTF-8
    msg = json.loads(text)
    check_strings(msg, name)
    assert msg["size"] == len(data)
    root = msg["structure"]
    assert root["section"] == ""
    check_part(root, len(data), name, data)
    for what in ("bodystructure", "envelope"):
        res = run_tern(tern_bin, what, str(path))
        assert res.returncode == 0, f"{what}: {res.stderr!r}"
        out = res.stdout.rstrip(b"\r\n")
        assert out.startswith(b"(") and out.endswith(b")"), f"{what}: {out[:200]!r}"
        assert imap_balanced(out), f"{what}: unbalanced: {out[:300]!r}"


def test_stdin_matches_file(tern_bin):
    """`tern msg inspect -` reads standard input and gives the same result."""
    name = "10-nested-mixed-alt-related.eml"
    data = (CORPUS / name).read_bytes()
    res = subprocess.run([tern_bin, "msg", "inspect", "-"], input=data,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert res.returncode == 0
    assert json.loads(res.stdout) == tern_inspect(tern_bin, name)


def test_missing_file_exits_1(tern_bin, tmp_path):
    res = run_tern(tern_bin, "inspect", str(tmp_path / "does-not-exist.eml"))
    assert res.returncode == 1
