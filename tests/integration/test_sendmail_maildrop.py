"""`tern sendmail` run by an ordinary Unix user (issue 4 "Programs"; a user's
crontab, git send-email, mutt): the user cannot reach data_dir (0711, files
0600, owned by the server's user), so sendmail writes the message into
data_dir/maildrop (1733) and the running server picks it up, treating the
file's owner as the sender (docs/sendmail.md, src/deliver/maildrop.h).

The server runs as `daemon` and the caller is `nobody`, both switched to
with setpriv(1); everything lives under a 0755 directory in /tmp so that
`nobody` can reach the binary, the config and the maildrop.
"""
import email
import email.policy
import os
import pathlib
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from ternserver import TernServer, HOSTNAME, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="needs root and setpriv to play two Unix users")

EX_DATAERR, EX_NOPERM = 65, 77
NOBODY = 65534
DAEMON = pwd.getpwnam("daemon")


@pytest.fixture
def world(tern_bin):
    base = pathlib.Path(tempfile.mkdtemp(prefix="tern-maildrop-", dir="/tmp"))
    base.chmod(0o755)
    binary = base / "tern"
    shutil.copy2(tern_bin, binary)
    binary.chmod(0o755)
    # the server drops to `daemon`; the CLI run by root below does too
    srv = TernServer(str(binary), base / "srv", user="daemon")
    (base / "srv").chmod(0o755)
    srv.config.chmod(0o644)
    srv.add_user("alice@example.test", "pw")
    srv.add_user("bob@example.test", "pw")
    srv.add_alias("team@example.test", "alice@example.test", "bob@example.test")
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop()
    shutil.rmtree(base, ignore_errors=True)


def as_nobody(srv, *args, input=b"", binary=None):
    cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
           binary or srv.tern_bin, *args]
    if isinstance(input, str):
        input = input.encode()
    return subprocess.run(cmd, input=input, capture_output=True, timeout=30, cwd="/")


def sendmail(srv, *args, input=b""):
    return as_nobody(srv, "sendmail", "-c", str(srv.config), *args, input=input)


def drop_files(srv):
    return sorted(p.name for p in (srv.data_dir / "maildrop").iterdir())


def parsed(path):
    return email.message_from_bytes(pathlib.Path(path).read_bytes(), policy=email.policy.default)


def test_data_dir_is_closed_to_other_users(world):
    world.start()
    data = world.data_dir
    assert data.stat().st_uid != NOBODY
    assert data.stat().st_mode & 0o777 == 0o711
    assert (data / "maildrop").stat().st_mode & 0o7777 == 0o1733
    for name in ("accounts.db", "queue", "mail"):
        assert (data / name).stat().st_mode & 0o077 == 0, name
    # nobody can neither read the accounts nor list the maildrop
    res = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                          "cat", str(data / "accounts.db")], capture_output=True)
    assert res.returncode != 0 and b"Permission denied" in res.stderr
    res = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                          "ls", str(data / "maildrop")], capture_output=True)
    assert res.returncode != 0 and b"Permission denied" in res.stderr


def test_unprivileged_sendmail_reaches_a_local_mailbox(world):
    world.start()
    msg = b"Subject: from cron\n\nDisk is 91% full.\n.\nstill text (-i)\n"
    res = sendmail(world, "-i", "alice@example.test", input=msg)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"" and res.stderr == b""   # cron mails any output
    files = world.wait_messages("alice@example.test", 1)
    m = parsed(files[0])
    assert m["Subject"] == "from cron"
    # the identity is the file's owner, as the server saw it
    assert m["Return-Path"] == f"<nobody@{HOSTNAME}>"
    assert f"from userid {NOBODY}" in m.get_all("Received")[0]
    assert m["From"].addresses[0].addr_spec == f"nobody@{HOSTNAME}"
    assert m["Message-ID"] and m["Date"]
    body = m.get_content()
    assert "Disk is 91% full." in body and "still text (-i)" in body
    wait_until(lambda: drop_files(world) == [], what="an empty maildrop")
    assert "maildrop picked up" in world.log()


def test_recipients_from_header_and_bcc_removed(world):
    world.start()
    msg = (b"From: Some One <alice@example.test>\n"
           b"To: team@example.test\n"
           b"Bcc: bob@example.test\n"
           b"Subject: -t\n\nhello\n")
    res = sendmail(world, "-t", "-f", "alice@example.test", input=msg)
    assert res.returncode == 0, res.stderr
    a = world.wait_messages("alice@example.test", 1)
    b = world.wait_messages("bob@example.test", 1)
    for path in (a[0], b[0]):
        m = parsed(path)
        assert m["Bcc"] is None
        assert m["Return-Path"] == "<alice@example.test>"
    # one copy each, though bob is reached both through team and Bcc
    time.sleep(0.5)
    assert len(world.messages("bob@example.test")) == 1


def test_unknown_local_recipient_is_bounced(world):
    # the caller has gone when the server finds out: a DSN, not an exit code
    world.start()
    res = sendmail(world, "-f", "alice@example.test", "bob@example.test", "ghost@example.test",
                   input=b"Subject: partly\n\nbody\n")
    assert res.returncode == 0, res.stderr
    world.wait_messages("bob@example.test", 1)
    files = world.wait_messages("alice@example.test", 1)
    dsn = parsed(files[0])
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    assert dsn["Return-Path"] == "<>"
    status = [p for p in dsn.walk() if p.get_content_type() == "message/delivery-status"][0]
    text = status.as_bytes().decode()
    assert re.search(r"Final-Recipient: rfc822; ?ghost@example.test", text), text
    assert "Status: 5.1.1" in text
    assert "Action: failed" in text
    assert "bob@example.test" not in text
    world.wait_queue_empty()


def test_dropped_while_server_is_down_is_picked_up_at_start(world):
    world.start()
    world.stop()
    res = sendmail(world, "alice@example.test", input=b"Subject: while down\n\nx\n")
    assert res.returncode == 0, res.stderr
    assert len([n for n in drop_files(world) if n.startswith("d.")]) == 1
    world.start()
    files = world.wait_messages("alice@example.test", 1)
    assert parsed(files[0])["Subject"] == "while down"
    wait_until(lambda: drop_files(world) == [], what="an empty maildrop")


def test_smtp_on_stdin_as_nobody(world):
    world.start()
    script = (b"EHLO localhost\r\nMAIL FROM:<alice@example.test>\r\n"
              b"RCPT TO:<bob@example.test> NOTIFY=NEVER\r\nDATA\r\n"
              b"Subject: -bs\r\n\r\n..dot\r\n.\r\nQUIT\r\n")
    res = sendmail(world, "-bs", input=script)
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    assert "250 2.0.0 Ok" in out and "221" in out
    files = world.wait_messages("bob@example.test", 1)
    m = parsed(files[0])
    assert m["Subject"] == "-bs"
    assert m["Return-Path"] == "<alice@example.test>"
    assert ".dot" in m.get_content()


def test_admin_modes_are_refused_and_bad_input_rejected(world):
    world.start()
    for args in (["-bp"], ["-q"], ["-bv", "alice@example.test"]):
        res = sendmail(world, *args)
        assert res.returncode == EX_NOPERM, (args, res)
        assert b"root or as the server's user" in res.stderr
    # a sender that would break out of MAIL FROM:<...> later
    res = sendmail(world, "-f", "a@b.test>\r\nRCPT TO:<x@y.test", "alice@example.test",
                   input=b"x\n")
    assert res.returncode == EX_DATAERR
    res = sendmail(world, "a@b@c", input=b"x\n")
    assert res.returncode == EX_DATAERR
    assert [n for n in drop_files(world) if n.startswith("d.")] == []


def test_hostile_drop_files(world):
    world.start()
    drop = world.data_dir / "maildrop"
    secret = world.data_dir / "accounts.db"

    def as_nobody_sh(script):
        return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                               "--clear-groups", "sh", "-c", script],
                              capture_output=True, timeout=30, cwd="/")

    # a symlink to the server's own secrets, a FIFO, garbage, and a
    # hand-made file with a bare-LF message and a forged sender line
    r = as_nobody_sh(f"ln -s {secret} {drop}/d.link && mkfifo {drop}/d.fifo && "
                     f"printf 'garbage\\n' > {drop}/d.junk && "
                     f"printf 'tern-maildrop 1\\nfrom alice@example.test\\n"
                     f"rcpt 0  bob@example.test\\nsize 27\\n\\n"
                     f"Subject: bare\\n\\nlf only\\n.\\nx\\n' > {drop}/t.handmade && "
                     # complete before the pickup may see it, as sendmail does
                     f"mv {drop}/t.handmade {drop}/d.handmade")
    assert r.returncode == 0, r.stderr
    # the garbage is kept aside once it has stopped changing
    # (MAILDROP_SETTLE_SECS, then the pickup's next look)
    wait_until(lambda: drop_files(world) == [], timeout=60,
               what=lambda: f"the maildrop emptied: {drop_files(world)}\n{world.log()[-3000:]}")
    log = world.log()
    assert "reason=not-a-plain-file" in log
    assert "d.junk" in log and (world.data_dir / "corrupt" / "d.junk").exists()
    # the hand-made file is a legitimate submission by nobody (who may set
    # -f like any sendmail caller); its body got CRLF line ends
    files = world.wait_messages("bob@example.test", 1)
    raw = files[0].read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert f"from userid {NOBODY}".encode() in raw
    assert secret.stat().st_size > 0
    assert world.messages("alice@example.test") == []


def test_unprivileged_cron_mail_to_root_reaches_the_administrator(world):
    """Issue 9: cron run by an ordinary user mails `root` (a bare name that
    is a Unix account): through the maildrop the name stays bare and the
    server sends it to the postmaster address."""
    world.add_user("admin@example.test", "pw")     # the fixture's postmaster
    world.start()
    res = sendmail(world, "root", input=b"Subject: from a user's cron\n\nhi\n")
    assert res.returncode == 0, res.stderr
    files = world.wait_messages("admin@example.test", 1)
    m = parsed(files[0])
    assert m["Subject"] == "from a user's cron"
    assert m["Return-Path"] == f"<nobody@{HOSTNAME}>"
    assert world.messages("alice@example.test") == []


def test_half_written_drop_file_is_waited_for(world):
    """Issue 9: a careless program that writes d.* in place (instead of t.*
    and a rename) is still writing when the pickup first reads the file:
    the pickup waits until the file has stopped changing
    (MAILDROP_SETTLE_SECS) before it calls it corrupt."""
    world.start()
    drop = world.data_dir / "maildrop"
    body = b"Subject: slow writer\r\n\r\nwritten in two goes\r\n"
    whole = b"tern-maildrop 1\nrcpt 0  bob@example.test\nsize %d\n\n" % len(body) + body
    half = len(whole) // 2

    def append_as_nobody(data):
        r = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                            "--clear-groups", "sh", "-c", f"cat >> {drop}/d.slow"],
                           input=data, capture_output=True, timeout=30, cwd="/")
        assert r.returncode == 0, r.stderr

    append_as_nobody(whole[:half])
    # the pickup saw it, could not parse it, and waits (inotify woke it)
    wait_until(lambda: "waiting file=d.slow" in world.log(),
               what=lambda: f"the pickup to wait for d.slow:\n{world.log()[-2000:]}")
    assert drop_files(world) == ["d.slow"]
    assert not (world.data_dir / "corrupt" / "d.slow").exists()
    append_as_nobody(whole[half:])
    files = world.wait_messages("bob@example.test", 1)
    m = parsed(files[0])
    assert m["Subject"] == "slow writer"
    assert f"from userid {NOBODY}" in m.get_all("Received")[0]
    wait_until(lambda: drop_files(world) == [], what="an empty maildrop")
    assert not (world.data_dir / "corrupt" / "d.slow").exists()


def test_before_the_server_ever_ran_nothing_is_accepted(world):
    # no maildrop yet (tern serve makes it): a temporary failure, said
    # plainly, so that cron or the mail program keeps the message
    res = sendmail(world, "alice@example.test", input=b"Subject: early\n\nx\n")
    assert res.returncode == 75, res
    assert b"cannot hand the message to the server" in res.stderr
    world.start()
    time.sleep(0.5)
    assert world.messages("alice@example.test") == []


def victims(world):
    """Files and a directory the test (root) owns outside data_dir, with
    modes tern would change if it followed a link to them: (file, dir)."""
    base = world.root.parent
    victim = base / "victim-file"
    victim.write_bytes(b"tern-maildrop 1\nrcpt 0  alice@example.test\nsize 14\n\n"
                       b"Subject: no\n\n")
    victim.chmod(0o644)
    vdir = base / "victim-dir"
    vdir.mkdir()
    vdir.chmod(0o755)
    return victim, vdir


def unchanged(path, mode):
    st = os.lstat(path)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, mode), path


def test_symlink_at_maildrop_or_corrupt_is_refused(world):
    """Issue 8: root prepares data_dir, which the server's user owns. A
    symlink that user planted at maildrop/ or corrupt/ must not make root
    chown or chmod its target: the start fails and the target is as it
    was."""
    victim, vdir = victims(world)
    for name in ("maildrop", "corrupt"):
        link = world.data_dir / name
        link.symlink_to(vdir)
        os.lchown(link, DAEMON.pw_uid, DAEMON.pw_gid)   # daemon's, as if daemon had planted it
        res = subprocess.run([world.tern_bin, "serve", "-c", str(world.config)],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 1, res
        assert f"{link}: not a directory" in res.stderr
        unchanged(vdir, 0o755)
        link.unlink()
        # the real directory now, for the next round
        if name == "maildrop":
            world.start()
            world.stop()
            (world.data_dir / "corrupt").rmdir()
    world.start()
    assert (world.data_dir / "maildrop").stat().st_mode & 0o7777 == 0o1733


def test_links_planted_in_data_dir_change_nothing(world):
    """A symlink or a hard link to somebody else's file among data_dir's
    entries: root takes group and other bits away from the server's own
    files at start, never from these."""
    victim, vdir = victims(world)
    (world.data_dir / "link-to-file").symlink_to(victim)
    (world.data_dir / "link-to-dir").symlink_to(vdir)
    # what daemon could do with fs.protected_hardlinks off
    os.link(victim, world.data_dir / "hardlink")
    # and one file of the server's own that must be tightened
    own = world.data_dir / "left-readable"
    own.write_text("x")
    os.chown(own, DAEMON.pw_uid, DAEMON.pw_gid)
    own.chmod(0o644)
    world.start()
    unchanged(victim, 0o644)
    unchanged(vdir, 0o755)
    assert own.stat().st_mode & 0o777 == 0o600
    assert "reason=not-owned-by-server" in world.log()


def test_symlink_in_maildrop_is_not_followed(world):
    """A drop file that is a symlink to a file the test owns elsewhere
    (a valid drop file at that): removed, the target neither delivered
    nor changed."""
    victim, _ = victims(world)
    world.start()
    drop = world.data_dir / "maildrop"
    r = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                        "--clear-groups", "ln", "-s", str(victim), str(drop / "d.victim")],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    wait_until(lambda: drop_files(world) == [], what="the maildrop emptied")
    assert "file=d.victim" in world.log()
    unchanged(victim, 0o644)
    assert victim.read_bytes().startswith(b"tern-maildrop 1\n")
    world.stop()
    assert world.messages("alice@example.test") == []
