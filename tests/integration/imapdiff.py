"""The differential check of tern's IMAP against Dovecot's: the same
messages (tests/data/corpus/*.eml, LF-only and malformed ones included)
appended to both, then FETCH items and SEARCH results compared.

Used by test_imap_differential.py, and runnable on its own to print every
difference (what docs/imap-differential.md is written from):

    TERN_BIN=build/tern /usr/bin/python3 tests/integration/imapdiff.py
"""
import pathlib

from imapclient import Closed, Literal

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"

# FETCH items compared for every message; the part numbers come from the
# message's BODYSTRUCTURE (Dovecot's), up to a bound
ITEMS = ["RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY", "BODY.PEEK[]", "BODY.PEEK[HEADER]",
         "BODY.PEEK[TEXT]", "BODY.PEEK[]<0.100>", "BODY.PEEK[]<100.200>", "BODY.PEEK[TEXT]<7.30>",
         "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM TO DATE)]",
         "BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM RECEIVED)]", "BINARY.SIZE[]"]
PART_ITEMS = ["BODY.PEEK[{p}]", "BODY.PEEK[{p}.MIME]", "BODY.PEEK[{p}]<1.40>", "BINARY.PEEK[{p}]",
              "BINARY.SIZE[{p}]"]
MAX_PARTS = 12

SEARCHES = ["SUBJECT test", "SUBJECT the", "FROM example", "FROM alice", "TO bob", "CC example",
            "BODY hello", "BODY the", "TEXT attachment", "TEXT boundary", "HEADER Content-Type multipart",
            "HEADER X-Mailer \"\"", "LARGER 2000", "SMALLER 500", "SENTBEFORE 1-Jan-2010",
            "SENTSINCE 1-Jan-2020", "NOT BODY e", "OR SUBJECT re FROM bob",
            "CHARSET UTF-8 SUBJECT caf\u00e9", "CHARSET UTF-8 BODY \u00fcber", "CHARSET UTF-8 TEXT \u00e9",
            "HEADER Message-ID \"\"", "BODY pdf", "SUBJECT =?"]


def corpus():
    return sorted(CORPUS.glob("*.eml"))


def part_numbers(bs, prefix=""):
    """Section numbers of a BODYSTRUCTURE (parsed), depth first."""
    out = []
    if not isinstance(bs, list):
        return out
    if bs and isinstance(bs[0], list):   # multipart
        n = 0
        for x in bs:
            if isinstance(x, list):
                n += 1
                sec = f"{prefix}{n}"
                out.append(sec)
                out += part_numbers(x, sec + ".")
            else:
                break
        return out
    # message/rfc822: its body's parts below it
    if (len(bs) > 8 and isinstance(bs[0], bytes) and bs[0].upper() == b"MESSAGE"
            and isinstance(bs[1], bytes) and bs[1].upper() in (b"RFC822", b"GLOBAL")
            and isinstance(bs[8], list)):
        inner = bs[8]
        if inner and isinstance(inner[0], list):
            return part_numbers(inner, prefix)
        return [f"{prefix}1"] if prefix else []
    return out


def append_all(conn, files):
    """APPEND each file; returns {name: sequence number} of those taken."""
    seq = {}
    n = 0
    for p in files:
        data = p.read_bytes()
        r = conn.cmd("APPEND INBOX ", Literal(data))
        if r.ok:
            n += 1
            seq[p.name] = n
    return seq


class Session:
    """A logged-in connection with INBOX selected, made again when the
    server drops it (Dovecot 2.3 disconnects a client whose BINARY FETCH
    meets broken base64)."""

    def __init__(self, account):
        self.account = account
        self.conn = None
        self.drops = []

    def get(self):
        if self.conn is None:
            self.conn = self.account.login()
            self.conn.select()
        return self.conn

    def cmd(self, *parts):
        try:
            return self.get().cmd(*parts)
        except (Closed, OSError):
            self.conn = None
            self.drops.append(parts)
            return None

    def close(self):
        if self.conn is not None:
            self.conn.logout()


def fetch_items(sess, n, items):
    """{item as sent: raw value bytes or ('NO', text)} for one message, one
    FETCH per item so that an error is the item's own."""
    out = {}
    for item in items:
        r = sess.cmd(f"FETCH {n} ({item})")
        if r is None:
            out[item] = ("DISCONNECTED",)
            continue
        if not r.ok:
            out[item] = ("NO" if r.status == "NO" else r.status, r.code or "")
            continue
        vals = {}
        for u in r.of("FETCH"):
            if u.num == n:
                vals.update(u.fetch())
        vals.pop("FLAGS", None)
        out[item] = vals
    return out


def normalize(item, v):
    """Values compared as parsed data; the name the server gave the item
    is dropped (BODY[]<0> vs BODY[]...)."""
    if isinstance(v, tuple):
        return v
    if len(v) == 1:
        return list(v.values())[0]
    return v


def run(acct_tern, acct_dovecot, files=None, with_context=False):
    """Accounts (imapbackends.Account) with an empty INBOX on each server.
    Returns (list of differences (file, item, tern's, Dovecot's), stats),
    and with_context a third value: {file: {"bs": Dovecot's BODYSTRUCTURE,
    "whole": tern's BODY[], "size": tern's RFC822.SIZE}}."""
    files = files or corpus()
    c = acct_tern.login()
    seq_t = append_all(c, files)
    c.logout()
    c = acct_dovecot.login()
    seq_d = append_all(c, files)
    c.logout()
    tern, dovecot = Session(acct_tern), Session(acct_dovecot)
    diffs = []
    for name in sorted(set(seq_t) | set(seq_d)):
        if name not in seq_t or name not in seq_d:
            diffs.append((name, "APPEND", "OK" if name in seq_t else "refused",
                          "OK" if name in seq_d else "refused"))
    common = [p.name for p in files if p.name in seq_t and p.name in seq_d]
    ctx = {}
    for name in common:
        nt, nd = seq_t[name], seq_d[name]
        d_bs = fetch_items(dovecot, nd, ["BODYSTRUCTURE"])["BODYSTRUCTURE"]
        parts = part_numbers(normalize("BODYSTRUCTURE", d_bs))[:MAX_PARTS] if not isinstance(d_bs, tuple) else []
        items = ITEMS + [t.format(p=p) for p in ["1"] + [x for x in parts if x != "1"] for t in PART_ITEMS]
        ft = fetch_items(tern, nt, items)
        fd = fetch_items(dovecot, nd, items)
        size = normalize("", ft["RFC822.SIZE"])
        ctx[name] = {"bs": None if isinstance(d_bs, tuple) else normalize("", d_bs),
                     "whole": normalize("", ft["BODY.PEEK[]"]),
                     "size": int(size) if isinstance(size, str) and size.isdigit() else None}
        for item in items:
            a, b = normalize(item, ft[item]), normalize(item, fd[item])
            if a != b:
                diffs.append((name, item, a, b))
    # SEARCH over the whole mailbox: compare by file name
    names_t = {v: k for k, v in seq_t.items()}
    names_d = {v: k for k, v in seq_d.items()}
    for key in SEARCHES:
        if key.isascii():
            parts = ("SEARCH " + key,)
        else:   # CHARSET UTF-8 KEY <word as a literal>
            head, word = key.rsplit(" ", 1)
            parts = ("SEARCH " + head + " ", Literal(word))
        rt, rd = tern.cmd(*parts), dovecot.cmd(*parts)
        # (only messages both servers took count)
        st = sorted(n for n in (names_t[x] for x in rt.search()) if n in common) \
            if rt and rt.ok else ("NO", rt and rt.line)
        sd = sorted(n for n in (names_d[x] for x in rd.search()) if n in common) \
            if rd and rd.ok else ("NO", rd and rd.line)
        if st != sd:
            if isinstance(st, list) and isinstance(sd, list):
                diffs.append(("*", "SEARCH " + key, sorted(set(st) - set(sd)), sorted(set(sd) - set(st))))
            else:
                diffs.append(("*", "SEARCH " + key, st, sd))
    tern.close()
    dovecot.close()
    stats = {"files": len(files), "compared": len(common),
             "tern_drops": len(tern.drops), "dovecot_drops": len(dovecot.drops)}
    return (diffs, stats, ctx) if with_context else (diffs, stats)


def short(v, n=int(__import__("os").environ.get("DIFF_WIDTH", "160"))):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


def main():
    import os
    import sys
    import tempfile
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    import imapbackends as ib
    tern_bin = os.environ.get("TERN_BIN", str(ROOT / "build" / "tern"))
    bt = ib.make_backend("tern", tern_bin, pathlib.Path(tempfile.mkdtemp()))
    bd = ib.make_backend("dovecot", tern_bin, pathlib.Path(tempfile.mkdtemp()))
    try:
        diffs, stats = run(bt.add_user(), bd.add_user())
        print(stats)
        for d in diffs:
            print(f"{d[0]}  {d[1]}\n   tern:    {short(d[2])}\n   dovecot: {short(d[3])}")
    except Exception:
        print(bd.log()[-3000:])
        raise
    finally:
        ib.stop_backend(bt)
        ib.stop_backend(bd)


if __name__ == "__main__":
    main()
