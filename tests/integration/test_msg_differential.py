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
header_offset + header_size == body_offset, and that `tern msg bodystructure`
and `tern msg envelope` print one line with balanced parentheses.
"""
import datetime
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
# compare_message() (e.g. "part[1.2].text", "msg[2].subject").
KNOWN = {
    ("26-obs-space-before-colon.eml", "*"):
        "Python does not accept WSP before the colon (RFC 5322 4.5 obs-optional) "
        "and takes the whole message as body; tern parses the fields",
    ("58-junk-before-headers.eml", "*"):
        "Python ends the header at the first line that is not a field and takes "
        "everything as body; tern skips the junk line and parses the fields",
    ("36-quoted-local-parts.eml", "to"):
        "Python unquotes \"a..b\" although a..b is not a dot-atom (RFC 5322 3.4.1); "
        "tern keeps the quotes",
    ("53-deep-nesting.eml", "parts.count"):
        "tern stops at its nesting limit (100, flag depth-limit) and keeps the "
        "deeper parts opaque; Python recurses 200 levels",
    ("53-deep-nesting.eml", "part[1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1].*"):
        "the part at the nesting limit is kept opaque by tern",
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
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    return payload.encode("ascii", "surrogateescape")


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
    cmp("header_names", [h["name"] for h in tmsg.get("headers", [])], list(pmsg.keys()))


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
    cmp("flag.missing-end-boundary",
        "missing-end-boundary" in tpart.get("flags", []),
        py_has_defect(ppart, email_errors.CloseBoundaryNotFoundDefect))
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


def known_for(name, field):
    for (kfile, kfield), _ in KNOWN.items():
        if kfile == name and fnmatch.fnmatchcase(field, kfield):
            return (kfile, kfield)
    return None


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


@pytest.mark.parametrize("name", FILES)
def test_differential(tern_bin, name):
    diffs = diffs_for(tern_bin, name)
    new = {f: v for f, v in diffs.items() if known_for(name, f) is None}
    if new:
        lines = [f"{name}: {len(new)} unexplained difference(s) (tern vs Python):"]
        for field, (t, p) in sorted(new.items()):
            lines.append(f"  {field}:\n    tern:   {t!r}\n    python: {p!r}")
        pytest.fail("\n".join(lines))


def test_known_differences_still_happen(tern_bin):
    """Every entry of KNOWN matches a real difference (keeps the list exact)."""
    stale = []
    for (kfile, kfield) in KNOWN:
        diffs = diffs_for(tern_bin, kfile)
        if not any(fnmatch.fnmatchcase(f, kfield) for f in diffs):
            stale.append((kfile, kfield))
    assert not stale, f"KNOWN entries that no longer differ: {stale}"


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


def check_part(part, size, where):
    ho, hs = part["header_offset"], part["header_size"]
    bo, bs = part["body_offset"], part["body_size"]
    assert 0 <= ho <= size and 0 <= bo <= size, f"{where}: offsets {ho}/{bo} outside {size}"
    assert ho + hs == bo, f"{where}: header_offset {ho} + header_size {hs} != body_offset {bo}"
    assert bo + bs <= size, f"{where}: body {bo}+{bs} past the end ({size})"
    assert part["body_lines"] >= 0 and part["header_lines"] >= 0
    for kid in part.get("parts") or []:
        assert ho <= kid["header_offset"] and kid["body_offset"] + kid["body_size"] <= bo + bs, \
            f"{where}: child {kid['section']} outside its parent"
        check_part(kid, size, f"{where.split(' ')[0]} part {kid['section'][:40]}")
    m = part.get("message")
    if m:
        inner = m["structure"]
        assert bo <= inner["header_offset"] and inner["body_offset"] + inner["body_size"] <= bo + bs, \
            f"{where}: encapsulated message outside its part"
        check_part(inner, size, f"{where} (message)")


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
    check_part(root, len(data), name)
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
