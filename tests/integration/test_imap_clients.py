"""Real IMAP clients from Debian's packages against Dovecot and tern:
mbsync (isync) synchronising both ways (server -> local Maildir, then local
new messages, flag changes, deletions and folders -> server, then server
changes back), and neomutt driven in batch (on a pseudo-terminal, with
`push` commands) reading, deleting and saving over IMAP.

The clients run with their own HOME in the test's directory; every run is
bounded in time."""
import os
import pathlib
import pty
import re
import select
import shutil
import subprocess
import time

import pytest

import imapmsgs as M
from imapbackends import backend, imap  # noqa: F401  (fixtures)
from imapclient import Literal

MBSYNC = shutil.which("mbsync")
NEOMUTT = shutil.which("neomutt")


def lf(b):
    """Bytes with LF line ends and without the X-TUID header mbsync adds
    to find its appended messages again."""
    return re.sub(rb"(?m)^X-TUID: .*\n", b"", b.replace(b"\r\n", b"\n"))


def server_msgs(acct, mailbox="INBOX"):
    """[(subject, flags, body bytes)] of a server mailbox, in order."""
    c = acct.login()
    r = c.cmd("EXAMINE ", f'"{mailbox}"')
    if not r.ok:
        c.logout()
        return None
    out = []
    exists = [u.num for u in r.of("EXISTS")][-1]
    if exists:
        f = c.ok("FETCH 1:* (FLAGS BODY.PEEK[] ENVELOPE)").fetches()
        for n in sorted(f):
            subj = f[n]["ENVELOPE"][1]
            out.append(((subj or b"").decode(), set(f[n]["FLAGS"]) - {"\\Recent"}, f[n]["BODY[]"]))
    c.logout()
    return out


# ---- mbsync ------------------------------------------------------------

class Mbsync:
    def __init__(self, acct, root):
        self.root = pathlib.Path(root)
        self.mail = self.root / "mail"
        self.mail.mkdir(parents=True)
        b = acct.backend
        self.rc = self.root / "mbsyncrc"
        self.rc.write_text(f"""IMAPAccount acct
Host {b.host}
Port {b.port()}
User "{acct.user}"
Pass "{acct.password}"
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account acct

MaildirStore local
Path {self.mail}/
Inbox {self.mail}/INBOX
SubFolders Verbatim

Channel ch
Far :remote:
Near :local:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState *
""")

    def run(self):
        r = subprocess.run([MBSYNC, "-c", str(self.rc), "-a"], capture_output=True, text=True,
                           timeout=120, env={"HOME": str(self.root), "PATH": os.environ["PATH"]})
        assert r.returncode == 0, (r.stdout, r.stderr)
        return r

    def files(self, folder="INBOX"):
        d = self.mail / folder
        return sorted(p for sub in ("cur", "new") if (d / sub).is_dir()
                      for p in (d / sub).iterdir())

    def by_subject(self, folder="INBOX"):
        out = {}
        for p in self.files(folder):
            data = p.read_bytes()
            m = re.search(rb"^Subject: (.*?)\r?$", data, re.M)
            flags = p.name.split(":2,", 1)[1] if ":2," in p.name else ""
            out[m.group(1).decode()] = (p, flags, data)
        return out


@pytest.mark.skipif(not MBSYNC, reason="isync (mbsync) is not installed: scripts/deps.sh test")
def test_mbsync_both_ways(imap, tmp_path):
    c = imap.login()
    c.ok("APPEND INBOX (\\Seen) ", Literal(M.SIMPLE))
    c.ok("APPEND INBOX (\\Flagged) ", Literal(M.MIXED))
    c.ok("APPEND INBOX () ", Literal(M.plain("Third one")))
    c.ok('CREATE "Work"')
    c.ok('CREATE "Work/Sub"')
    c.ok('APPEND "Work/Sub" ', Literal(M.plain("Nested folder mail")))
    c.logout()

    sync = Mbsync(imap, tmp_path / "mbsync")
    sync.run()
    local = sync.by_subject()
    assert set(local) == {"Simple message", "=?utf-8?q?Mixed_caf=C3=A9?=", "Third one"}
    assert lf(local["Simple message"][2]) == lf(M.SIMPLE)
    assert lf(local["=?utf-8?q?Mixed_caf=C3=A9?="][2]) == lf(M.MIXED)
    assert "S" in local["Simple message"][1]
    assert "F" in local["=?utf-8?q?Mixed_caf=C3=A9?="][1]
    assert set(sync.by_subject("Work/Sub")) == {"Nested folder mail"}

    # local changes: a new message, a flag, a deletion, a new folder
    (sync.mail / "INBOX" / "cur" / "1700000000.1_1.local:2,S").write_bytes(
        M.plain("Written locally"))
    p, flags, _ = local["Third one"]
    p.rename(p.with_name(p.name.split(":2,")[0] + ":2," + "".join(sorted(flags + "R"))))
    p, flags, _ = local["=?utf-8?q?Mixed_caf=C3=A9?="]
    p.rename(p.with_name(p.name.split(":2,")[0] + ":2," + "".join(sorted(flags + "T"))))
    for sub in ("cur", "new", "tmp"):
        (sync.mail / "LocalFolder" / sub).mkdir(parents=True)
    (sync.mail / "LocalFolder" / "new" / "1700000001.1_1.local").write_bytes(M.plain("In local folder"))
    sync.run()

    srv = {s: (f, b) for s, f, b in server_msgs(imap)}
    assert set(srv) == {"Simple message", "Third one", "Written locally"}, srv
    assert "\\Answered" in srv["Third one"][0]
    assert "\\Seen" in srv["Written locally"][0]
    assert lf(srv["Written locally"][1]) == lf(M.plain("Written locally"))
    got = server_msgs(imap, "LocalFolder")
    assert got is not None and [s for s, _, _ in got] == ["In local folder"]

    # server changes: a flag, a new message, an expunge
    c = imap.login()
    c.select()
    r = c.ok("SEARCH SUBJECT \"Third one\"")
    third = r.search()[0]
    c.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
    c.ok(f"STORE {third} +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    c.ok("APPEND INBOX ", Literal(M.plain("New on server")))
    c.logout()
    sync.run()
    local = sync.by_subject()
    assert set(local) == {"Simple message", "Written locally", "New on server"}, local.keys()
    assert "F" in local["Simple message"][1]

    # nothing changes on a sync with nothing to do
    before = [p.name for p in sync.files()]
    sync.run()
    assert [p.name for p in sync.files()] == before
    assert len(server_msgs(imap)) == 3


# ---- neomutt -------------------------------------------------------------

def neomutt(acct, home, keys, timeout=60):
    """Run neomutt on INBOX over IMAP with `push keys` on a pty; returns the
    screen output. neomutt must exit by itself (<quit>) within timeout."""
    b = acct.backend
    home = pathlib.Path(home)
    home.mkdir(parents=True, exist_ok=True)
    rc = home / "muttrc"
    rc.write_text(f"""set imap_user="{acct.user}"
set imap_pass="{acct.password}"
set ssl_starttls=no
set ssl_force_tls=no
set folder="imap://{b.host}:{b.port()}/"
set spoolfile="+INBOX"
set header_cache=""
set message_cachedir=""
set quit=yes
set delete=yes
set confirmappend=no
set wait_key=no
set pipe_decode=yes
set sort=date
set mail_check_stats=no
set imap_check_subscribed=no
""")
    cmd = [NEOMUTT, "-n", "-F", str(rc), "-e", f"push '{keys}'"]
    pid, fd = pty.fork()
    if pid == 0:   # the child: neomutt on the pty
        os.environ.update({"TERM": "xterm", "HOME": str(home), "LC_ALL": "C.UTF-8"})
        os.execvp(cmd[0], cmd)
    screen = b""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            screen += data
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status = st
            break
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
        pytest.fail(f"neomutt did not finish: {screen[-2000:]!r}")
    os.close(fd)
    return screen


@pytest.mark.skipif(not NEOMUTT, reason="neomutt is not installed: scripts/deps.sh test")
def test_neomutt_reads_decoded(imap, tmp_path):
    imap.fill([M.SIMPLE, M.MIXED])
    out = tmp_path / "piped.txt"
    neomutt(imap, tmp_path / "home",
            f"<pipe-message>cat >> {out}<enter><next-undeleted><pipe-message>cat >> {out}<enter><quit>")
    text = out.read_bytes()
    # the plain message, and the multipart one decoded by neomutt from
    # what BODYSTRUCTURE and BODY[...] told it: the text part, the
    # alternative's plain part, and the nested message's QP part decoded
    assert b"Hello world.\nSecond line." in text
    assert b"Subject: Simple message" in text
    assert b"Part one text." in text and b"alternative plain" in text
    assert b"Subject: Inner subject" in text and "café crème".encode() in text


@pytest.mark.skipif(not NEOMUTT, reason="neomutt is not installed: scripts/deps.sh test")
def test_neomutt_delete_and_save(imap, tmp_path):
    imap.fill([M.plain("keep me", date="Mon, 23 Nov 2026 10:00:00 +0000"),
               M.plain("delete me", date="Tue, 24 Nov 2026 10:00:00 +0000"),
               M.plain("archive me", date="Wed, 25 Nov 2026 10:00:00 +0000")])
    neomutt(imap, tmp_path / "home",
            # (each command moves to the next message: $resolve)
            "<flag-message><delete-message><save-message>=Archive<enter>"
            "<sync-mailbox><quit>")
    left = server_msgs(imap)
    assert [s for s, _, _ in left] == ["keep me"], left
    assert "\\Flagged" in left[0][1]
    assert [s for s, _, _ in server_msgs(imap, "Archive")] == ["archive me"]
