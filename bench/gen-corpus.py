#!/usr/bin/python3
"""Generate the message corpus for the parser benchmark (bench/run.sh parse).

Deterministic: the same seed gives byte-identical files on every run and
machine (only the Python standard library is used, and only random.Random).

    bench/gen-corpus.py [--seed N] [--typical N] [--large N] OUTDIR

writes
    OUTDIR/typical/m00000.eml ...   typical messages of 2-50 KB
    OUTDIR/large/l0.eml ...         ~20 MB messages with big base64 attachments
    OUTDIR/STAMP                    written last: seed, counts, generator version

The typical mix (by weight): plain text (ASCII, or UTF-8/Latin-1 in
quoted-printable), text+HTML multipart/alternative, replies with quoted text
and References chains, multipart/mixed with small base64 attachments (file
names as RFC 2231 or RFC 2047), forwarded message/rfc822, mailing-list mail.
Every message has a Received chain and most have a DKIM-Signature;
subjects and display names are sometimes RFC 2047 encoded words.
Lines end in CRLF, as messages arrive over SMTP.
"""

import argparse
import base64
import os
import random
import sys

VERSION = 2

WORDS = """the of and to in is that for it as was with be by on not he this are or his
from at which but have an they you were her she there been one all we their has
would when if so no will more can out up about them into some time could these
two may then do first any my now such like our over man me even most made after
also did many before must through back years where much your way well down should
because each just those people how too little state good very make world still own
see men work long get here between both life being under never day same another know
while last might us great old year off come since against go came right used take
three meeting report budget server release schedule invoice project review draft
attached please thanks regards question answer update deadline customer account
network database backup storage cluster kernel patch build test deploy config""".split()

ACCENTED = """café naïve résumé über straße größe façade déjà señor año crème brûlée
Zürich München Málaga São Ångström fjörd coöperate élève garçon""".split()

FIRST = """Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia
Peggy Rupert Sybil Trent Victor Walter Yolanda Zoé José Jürgen François Åsa
Łukasz Müller Søren Chloé""".split()
LAST = """Smith Jones Brown Taylor Wilson Martin Dubois Schmidt Rossi García Novak
Kowalski Nielsen Andersson Müller Lefèvre Öztürk Ñúñez Moreau Bianchi""".split()
DOMAINS = """example.com example.org example.net mail.example.test lists.example.org
corp.example.com university.example.edu shop.example.net""".split()
HOSTS = """mx1 mx2 smtp relay out mail gw edge""".split()
MAILERS = ["Mutt/2.2.9 (2022-11-12)", "Microsoft Outlook 16.0",
           "Mozilla Thunderbird 115.6.0", "Apple Mail (2.3731)",
           "Roundcube Webmail/1.6.5", "tern/0.1"]
ATTACH = [("application", "pdf", "pdf"), ("image", "png", "png"),
          ("image", "jpeg", "jpg"), ("application", "zip", "zip"),
          ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
          ("text", "calendar", "ics")]
FILE_STEMS = ["report", "invoice", "photo", "minutes", "Übersicht", "présentation",
              "budget 2026", "scan", "résumé", "diagram"]

CRLF = "\r\n"


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        r = self.r
        # Pools built once so that 100+ MB of text is cheap to produce.
        self.paras_ascii = [self._para(False) for _ in range(600)]
        self.paras_accent = [self._para(True) for _ in range(200)]
        self.binpool = r.randbytes(1 << 20)

    # ---- small pieces -------------------------------------------------
    def _para(self, accented):
        r = self.r
        words = []
        for _ in range(r.randint(25, 120)):
            if accented and r.random() < 0.15:
                words.append(r.choice(ACCENTED))
            else:
                words.append(r.choice(WORDS))
        words[0] = words[0].capitalize()
        lines, line = [], ""
        for w in words:
            if len(line) + len(w) + 1 > 72:
                lines.append(line)
                line = w
            else:
                line = w if not line else line + " " + w
        lines.append(line + ".")
        return "\n".join(lines)

    def text(self, size, accented=False):
        """Plain text of about `size` characters, LF line ends."""
        r = self.r
        out, n = [], 0
        pool = self.paras_accent if accented else self.paras_ascii
        while n < size:
            p = r.choice(pool)
            out.append(p)
            n += len(p) + 2
        return "\n\n".join(out) + "\n"

    def binary(self, size):
        r = self.r
        out = bytearray()
        while len(out) < size:
            off = r.randrange(len(self.binpool))
            out += self.binpool[off:off + min(size - len(out), 65536)]
        return bytes(out)

    def person(self):
        r = self.r
        first, last = r.choice(FIRST), r.choice(LAST)
        local = (first + "." + last).lower()
        local = local.encode("ascii", "ignore").decode() or "user"
        return first + " " + last, local + "@" + r.choice(DOMAINS)

    def ew(self, s, force=False):
        """RFC 2047 encoded word(s) for non-ASCII text, else s (maybe quoted)."""
        r = self.r
        if not force and all(ord(c) < 128 for c in s):
            return s
        if r.random() < 0.5:
            b = s.encode("utf-8")
            # keep each encoded word <= 75 chars (RFC 2047 2)
            words, i = [], 0
            while i < len(b):
                chunk = b[i:i + 30]
                while True:
                    try:
                        chunk.decode("utf-8")
                        break
                    except UnicodeDecodeError:
                        chunk = chunk[:-1]
                words.append("=?UTF-8?B?" + base64.b64encode(chunk).decode() + "?=")
                i += len(chunk)
            return (CRLF + " ").join(words)
        cs = "ISO-8859-1"
        try:
            b = s.encode("latin-1")
        except UnicodeEncodeError:
            cs, b = "UTF-8", s.encode("utf-8")
        q = []
        for c in b:
            ch = chr(c)
            if ch == " ":
                q.append("_")
            elif ch.isalnum() and c < 128:
                q.append(ch)
            else:
                q.append("=%02X" % c)
        return "=?" + cs + "?Q?" + "".join(q) + "?="

    def addr(self, name, email):
        r = self.r
        if r.random() < 0.15:
            return email
        if any(ord(c) >= 128 for c in name):
            return self.ew(name) + " <" + email + ">"
        if r.random() < 0.3:
            return '"' + name + '" <' + email + ">"
        return name + " <" + email + ">"

    def addr_list(self, n):
        out = [self.addr(*self.person()) for _ in range(n)]
        return ("," + CRLF + "    ").join(out)

    def date(self, t):
        days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                  "Sep", "Oct", "Nov", "Dec"]
        d = t // 86400
        s = t % 86400
        return "%s, %d %s 2026 %02d:%02d:%02d +0000" % (
            days[d % 7], d % 28 + 1, months[(d // 28) % 12], s // 3600, s // 60 % 60, s % 60)

    def msgid(self):
        r = self.r
        return "<%016x.%d@%s>" % (r.getrandbits(64), r.randrange(10**6), r.choice(DOMAINS))

    def subject(self):
        r = self.r
        words = [r.choice(WORDS) for _ in range(r.randint(2, 9))]
        if r.random() < 0.25:
            words.insert(r.randrange(len(words)), r.choice(ACCENTED))
        s = " ".join(words).capitalize()
        x = r.random()
        if x < 0.15:
            s = "[" + r.choice(["dev", "announce", "users"]) + "] " + s
        return self.ew(s, force=r.random() < 0.05)

    def b64(self, data):
        enc = base64.b64encode(data).decode()
        return CRLF.join(enc[i:i + 76] for i in range(0, len(enc), 76)) + CRLF

    def qp(self, text, charset):
        """Quoted-printable (RFC 2045 6.7) of text in charset, CRLF lines."""
        out = []
        for line in text.split("\n"):
            b = line.encode(charset, "replace")
            enc, col = [], 0
            for i, c in enumerate(b):
                if (33 <= c <= 126 and c != 61) or (c == 32 and i != len(b) - 1):
                    t = chr(c)
                else:
                    t = "=%02X" % c
                if col + len(t) > 75:
                    enc.append("=" + CRLF)
                    col = 0
                enc.append(t)
                col += len(t)
            out.append("".join(enc))
        return CRLF.join(out)

    # ---- header block -------------------------------------------------
    def trace(self, t):
        r = self.r
        lines = []
        hops = r.randint(2, 6)
        for h in range(hops):
            frm = "%s.%s" % (r.choice(HOSTS), r.choice(DOMAINS))
            by = "%s.%s" % (r.choice(HOSTS), r.choice(DOMAINS))
            ip = "192.0.2.%d" % r.randrange(1, 255)
            lines.append("Received: from %s (%s [%s])%s\tby %s (Postfix) with ESMTPS id %X%s"
                         "\tfor <%s>; %s" % (frm, frm, ip, CRLF, by, r.getrandbits(40), CRLF,
                                             self.person()[1], self.date(t - h * 7)))
        lines.insert(0, "Return-Path: <" + self.person()[1] + ">")
        if r.random() < 0.7:
            sig = base64.b64encode(r.randbytes(192)).decode()
            bh = base64.b64encode(r.randbytes(32)).decode()
            lines.append("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s;%s"
                         "\ts=sel1; t=%d; h=from:to:subject:date:message-id;%s"
                         "\tbh=%s;%s\tb=%s%s\t %s" % (
                             r.choice(DOMAINS), CRLF, t, CRLF, bh, CRLF,
                             sig[:70], CRLF, sig[70:]))
            lines.append("Authentication-Results: mx.example.test;%s"
                         "\tdkim=pass header.d=example.com;%s\tspf=pass smtp.mailfrom=example.com"
                         % (CRLF, CRLF))
        return lines

    def top_header(self, t, extra_ct, reply=False, listmail=False):
        r = self.r
        h = self.trace(t)
        h.append("Message-ID: " + self.msgid())
        h.append("Date: " + self.date(t))
        h.append("From: " + self.addr(*self.person()))
        h.append("To: " + self.addr_list(r.choice([1, 1, 1, 2, 3, 5])))
        if r.random() < 0.3:
            h.append("Cc: " + self.addr_list(r.randint(1, 4)))
        if r.random() < 0.1:
            h.append("Reply-To: " + self.addr(*self.person()))
        subj = self.subject()
        if reply:
            subj = "Re: " + subj
            refs = [self.msgid() for _ in range(r.randint(1, 8))]
            h.append("In-Reply-To: " + refs[-1])
            h.append("References: " + (CRLF + " ").join(refs))
        h.append("Subject: " + subj)
        if listmail:
            lst = r.choice(["dev", "announce", "users"])
            h.append("List-Id: %s <%s.lists.example.org>" % (lst.capitalize() + " list", lst))
            h.append("List-Unsubscribe: <mailto:%s-leave@lists.example.org>" % lst)
            h.append("List-Post: <mailto:%s@lists.example.org>" % lst)
            h.append("Precedence: list")
        h.append("MIME-Version: 1.0")
        if r.random() < 0.6:
            h.append("X-Mailer: " + r.choice(MAILERS))
        h.extend(extra_ct)
        return CRLF.join(h) + CRLF + CRLF

    # ---- bodies -------------------------------------------------------
    def text_part(self, size, quoted=False):
        """(header lines, body) for a text/plain part."""
        r = self.r
        x = r.random()
        if quoted:
            body = self.text(size // 3)
            q = self.text(size - size // 3)
            body += "\nOn " + self.date(r.randrange(10**7)) + ", " + self.person()[0] + " wrote:\n"
            body += "\n".join(("> " + l) if l else ">" for l in q.split("\n"))
            x = min(x, 0.69)
        else:
            body = None
        if x < 0.7:
            if body is None:
                body = self.text(size)
            hdr = ["Content-Type: text/plain; charset=us-ascii" if r.random() < 0.5 else
                   "Content-Type: text/plain; charset=\"utf-8\"; format=flowed",
                   "Content-Transfer-Encoding: 7bit"]
            return hdr, body.replace("\n", CRLF)
        cs = "iso-8859-1" if x < 0.85 else "utf-8"
        body = self.text(size, accented=True)
        hdr = ["Content-Type: text/plain; charset=" + cs,
               "Content-Transfer-Encoding: quoted-printable"]
        return hdr, self.qp(body, cs)

    def html_part(self, size):
        r = self.r
        paras = self.text(size * 2 // 3).split("\n\n")
        html = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
                "charset=utf-8\"></head><body>\n" +
                "\n".join("<p style=\"margin:0 0 1em 0;font-family:Arial\">" +
                          p.replace("\n", " ") + "</p>" for p in paras) +
                "\n</body></html>\n")
        if r.random() < 0.5:
            return (["Content-Type: text/html; charset=utf-8",
                     "Content-Transfer-Encoding: quoted-printable"], self.qp(html, "utf-8"))
        return (["Content-Type: text/html; charset=\"us-ascii\"",
                 "Content-Transfer-Encoding: 7bit"], html.replace("\n", CRLF))

    def attachment(self, size):
        r = self.r
        typ, sub, ext = r.choice(ATTACH)
        name = r.choice(FILE_STEMS) + "." + ext
        if all(ord(c) < 128 for c in name):
            fn = "filename=\"%s\"" % name
            nm = "name=\"%s\"" % name
        elif r.random() < 0.5:
            # RFC 2231 extended parameter, with a continuation half the time
            pct = "".join(ch if (ch.isascii() and ch.isalnum()) or ch == "." else
                          "".join("%%%02X" % b for b in ch.encode()) for ch in name)
            if r.random() < 0.5 and len(pct) > 10:
                fn = "filename*0*=utf-8''%s;%s\tfilename*1*=%s" % (pct[:10], CRLF, pct[10:])
            else:
                fn = "filename*=utf-8''" + pct
            nm = "name=\"" + self.ew(name) + "\""
        else:
            fn = "filename=\"" + self.ew(name) + "\""
            nm = "name=\"" + self.ew(name) + "\""
        hdr = ["Content-Type: %s/%s;%s\t%s" % (typ, sub, CRLF, nm),
               "Content-Disposition: attachment;%s\t%s" % (CRLF, fn),
               "Content-Transfer-Encoding: base64"]
        return hdr, self.b64(self.binary(size * 3 // 4))

    def boundary(self):
        return "----=_Part_%d_%d.%d" % (self.r.randrange(10**6), self.r.randrange(10**9),
                                        self.r.randrange(10**13))

    def multipart(self, sub, parts):
        """(header lines, body) of a multipart made of (hdr, body) parts."""
        b = self.boundary()
        out = ["This is a multi-part message in MIME format." + CRLF]
        for hdr, body in parts:
            out.append(CRLF + "--" + b + CRLF + CRLF.join(hdr) + CRLF + CRLF + body)
        out.append(CRLF + "--" + b + "--" + CRLF)
        return (["Content-Type: multipart/%s;%s\tboundary=\"%s\"" % (sub, CRLF, b)],
                "".join(out))

    def typical(self, i):
        r = self.r
        # log-uniform size in [2 KB, 50 KB]: many small, some large
        # (less what the header and MIME framing add, about 1.8 KB)
        target = max(int(2048 * (25 ** r.random())) - 1800, 300)
        t = 1_700_000_000 + i * 613
        kind = r.random()
        if kind < 0.30:                    # plain text
            hdr, body = self.text_part(target)
            return self.top_header(t, hdr, listmail=r.random() < 0.3) + body
        if kind < 0.55:                    # text + HTML alternative
            th, tb = self.text_part(target // 3)
            hh, hb = self.html_part(target - target // 3)
            hdr, body = self.multipart("alternative", [(th, tb), (hh, hb)])
            return self.top_header(t, hdr, reply=r.random() < 0.3) + body
        if kind < 0.75:                    # reply with quoted text
            hdr, body = self.text_part(target, quoted=True)
            return self.top_header(t, hdr, reply=True, listmail=r.random() < 0.3) + body
        if kind < 0.93:                    # attachments
            text = min(target // 4, 4000)
            parts = [self.text_part(text)]
            if r.random() < 0.4:
                parts = [self.multipart("alternative", [self.text_part(text),
                                                        self.html_part(text)])]
            n = r.choice([1, 1, 2, 3])
            rest = max(target - 2 * text, 1024)
            for _ in range(n):
                parts.append(self.attachment(rest // n))
            hdr, body = self.multipart("mixed", parts)
            return self.top_header(t, hdr) + body
        # forwarded message/rfc822
        ih, ib = self.text_part(target // 2)
        inner = self.top_header(t - 86400, ih) + ib
        parts = [self.text_part(600), (["Content-Type: message/rfc822",
                                        "Content-Disposition: inline"], inner)]
        hdr, body = self.multipart("mixed", parts)
        return self.top_header(t, hdr) + body

    def large(self, i, size):
        r = self.r
        t = 1_800_000_000 + i
        text = [self.text_part(4000)]
        if i % 3 == 2:
            text = [self.multipart("alternative", [self.text_part(4000), self.html_part(8000)])]
        n = 1 if i % 3 == 0 else 2
        parts = text
        for k in range(n):
            typ, sub, ext = ATTACH[(i + k) % 4]
            # base64 grows 3 -> 4, plus CRLF every 76 characters
            payload = self.binary((size - 16000) // n * 3 * 76 // (4 * 78))
            name = ["backup", "video", "archive", "scan"][(i + k) % 4] + "-%d.%s" % (k, ext)
            parts.append((["Content-Type: %s/%s; name=\"%s\"" % (typ, sub, name),
                           "Content-Disposition: attachment; filename=\"%s\"" % name,
                           "Content-Transfer-Encoding: base64"], self.b64(payload)))
        hdr, body = self.multipart("mixed", parts)
        return self.top_header(t, hdr) + body


def write(path, text):
    data = text.encode("utf-8")
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--typical", type=int, default=10000)
    ap.add_argument("--large", type=int, default=3)
    ap.add_argument("--large-size", type=int, default=20 * 1000 * 1000)
    ap.add_argument("outdir")
    a = ap.parse_args()

    g = Gen(a.seed)
    for sub in ("typical", "large"):
        d = os.path.join(a.outdir, sub)
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(d):
            if name.endswith(".eml"):
                os.unlink(os.path.join(d, name))
    stamp = os.path.join(a.outdir, "STAMP")
    if os.path.exists(stamp):
        os.unlink(stamp)

    total = 0
    for i in range(a.typical):
        # the size targets are approximate: draw again until within 2-50 KB
        while True:
            msg = g.typical(i)
            if 2000 <= len(msg.encode("utf-8")) <= 50 * 1024:
                break
        total += write(os.path.join(a.outdir, "typical", "m%05d.eml" % i), msg)
    for i in range(a.large):
        msg = g.large(i, a.large_size)
        write(os.path.join(a.outdir, "large", "l%d.eml" % i), msg)
    with open(stamp, "w") as f:
        f.write("version=%d seed=%d typical=%d large=%d large_size=%d\n"
                % (VERSION, a.seed, a.typical, a.large, a.large_size))
    print("gen-corpus: %d typical messages (%.1f MB), %d large in %s"
          % (a.typical, total / 1e6, a.large, a.outdir), file=sys.stderr)


if __name__ == "__main__":
    main()
