"""The documentation keeps up with the code (issue 9: docs/ lists the log
events; the man pages and docs/config.md describe the config).

- docs/logging.md lists every event tern logs. The events are read from the
  sources: every log_info/log_warning/log_error/log_debug call's tag and the
  words its format starts with; each must have a row of the table in
  docs/logging.md with its tag and those words.
- tern.toml(5) and docs/config.md name every config key of the key table
  in src/base/settings.c, in its section.
- tern(8)'s SYNOPSIS names every command and subcommand of `tern --help`.

So a new event or key without its line in the docs fails here."""
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
CALL = re.compile(r'\blog_(info|warning|error|debug)\(\s*("([a-z0-9-]+)"|[^,"]+?)\s*,\s*'
                  r'"((?:[^"\\]|\\.)*)"', re.S)
# protocol servers: the service layer logs with the protocol's tag
PROTOCOLS = {"smtp", "imap", "pop3"}


def logged_events():
    """(tag, event words, file:line) of every log call; tag None for a tag
    that is an expression (a protocol's name)."""
    events = []
    for path in sorted((ROOT / "src").rglob("*.c")):
        text = path.read_text(errors="replace")
        for m in CALL.finditer(text):
            words = []
            for w in m.group(4).split(" "):
                if "=" in w or "%" in w:
                    # an event that is only key=value pairs: its first key
                    if not words and "=" in w and not w.startswith("%"):
                        words.append(w.split("=")[0] + "=")
                    break
                words.append(w)
            where = f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
            events.append((m.group(3), " ".join(words), where))
    return events


def doc_rows():
    """(set of tags, event text without backticks) of the events table."""
    rows = []
    text = (ROOT / "docs/logging.md").read_text()
    section = text.split("## The events", 1)[1]
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| tag ") or line.startswith("|---"):
            continue
        # cells are split on " | " (a | inside an event is written without spaces)
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        tags = {t.strip() for t in cells[0].split(",")}
        rows.append((tags, cells[1].replace("`", "")))
    return rows


def test_the_scan_finds_the_events():
    """The scan itself works: it finds the events everyone knows."""
    found = {(tag, words) for tag, words, _ in logged_events()}
    for event in [("smtp", "accepted"), ("serve", "started"), ("deliver", "delivered"),
                  (None, "auth throttled"), ("maildrop", "file=")]:
        assert event in found, event
    assert len(found) > 100


def test_every_event_is_in_docs_logging():
    rows = doc_rows()
    assert len(rows) > 20
    missing = []
    for tag, words, where in logged_events():
        wanted = PROTOCOLS if tag is None else {tag}
        if not any(wanted <= tags and words in event for tags, event in rows):
            missing.append(f"{where}: {tag or '|'.join(sorted(PROTOCOLS))} '{words}'")
    assert not missing, "events missing from docs/logging.md:\n" + "\n".join(missing)


def test_every_tag_is_named_in_the_format_section():
    text = (ROOT / "docs/logging.md").read_text()
    tag_line = re.search(r"\*\*Tag\*\*:(.*?)\n- ", text, re.S).group(1)
    named = set(re.findall(r"`([a-z0-9-]+)`", tag_line))
    tags = {tag for tag, _, _ in logged_events() if tag is not None}
    assert tags <= named, sorted(tags - named)


# --- config keys ----------------------------------------------------------------

def config_keys():
    """(section, key) of every entry of settings.c's key table ("" = top level)."""
    src = (ROOT / "src/base/settings.c").read_text()
    return re.findall(r'\{ "([a-z0-9_]*)", "([a-z0-9_]+)", KEY_', src)


def sections(text, heading):
    """{heading line: its text} for each heading matched by the regex."""
    parts = re.split(rf"^({heading}.*)$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def documented(section, key, text, parts, top_heading):
    word = rf"(?<![a-z0-9_.]){re.escape(key)}(?![a-z0-9_])"
    if section == "":
        return any(top_heading in h and re.search(word, body) for h, body in parts.items())
    if re.search(rf"(?<![a-z0-9_]){re.escape(section)}\.{re.escape(key)}(?![a-z0-9_])", text):
        return True
    return any(f"[{section}]" in h and re.search(word, body) for h, body in parts.items())


def test_the_key_table_is_read():
    keys = config_keys()
    assert ("", "postmaster") in keys and ("listen", "pop3s") in keys
    assert ("srs", "max_age") in keys and len(keys) > 50


def test_man_page_names_every_key():
    text = (ROOT / "man/tern.toml.5").read_text().replace("\\-", "-").replace("\\_", "_")
    parts = sections(text, r"\.SH ")
    missing = [f"{s}.{k}" if s else k for s, k in config_keys()
               if not documented(s, k, text, parts, "TOP-LEVEL KEYS")]
    assert not missing, "keys missing from man/tern.toml.5: " + ", ".join(missing)


def test_config_md_names_every_key():
    text = (ROOT / "docs/config.md").read_text()
    parts = sections(text, r"### ")
    missing = [f"{s}.{k}" if s else k for s, k in config_keys()
               if not documented(s, k, text, parts, "Top level")]
    assert not missing, "keys missing from docs/config.md: " + ", ".join(missing)


# --- commands -------------------------------------------------------------------

def command_words(entries):
    """{"user add", "dkim show", "serve", ...} from lines that start with
    "tern COMMAND [SUBCOMMAND]"; "add|del" stands for both."""
    found = set()
    for entry in entries:
        words = entry.split()
        if len(words) < 2 or words[0] != "tern":
            continue
        command = words[1].rstrip(",")
        subs = words[2].split("|") if len(words) > 2 and re.fullmatch(r"[a-z|]+", words[2]) \
            else [""]
        for sub in subs:
            found.add(f"{command} {sub}".strip())
    return found


def test_tern_8_names_every_command(tern_bin):
    """Every command and subcommand of `tern --help` is in tern(8)'s SYNOPSIS."""
    usage = subprocess.run([tern_bin, "--help"], capture_output=True, text=True, timeout=30)
    helped = {c for c in command_words(line.strip() for line in usage.stdout.splitlines())
              if not c.startswith(("help", "version"))}
    assert {"serve", "user add", "dkim keygen", "mailbox list", "msg envelope"} <= helped
    man = (ROOT / "man/tern.8").read_text()
    synopsis = man.split(".SH SYNOPSIS", 1)[1].split(".SH ", 1)[0]
    entries, words = [], []
    for line in synopsis.splitlines():
        if line.startswith(".br") or line.startswith(".PP"):
            entries.append(" ".join(words))
            words = []
        elif line.startswith("."):
            macro, _, rest = line.partition(" ")
            # .BR/.RB/.IR alternate fonts with no space between arguments
            rest = rest.replace('"', "")
            if macro in (".BR", ".RB", ".IR", ".RI"):
                rest = "".join(rest.split())
            words.append(rest.replace("\\-", "-"))
    entries.append(" ".join(words))
    missing = helped - command_words(entries)
    assert not missing, f"commands missing from tern(8)'s SYNOPSIS: {sorted(missing)}"
