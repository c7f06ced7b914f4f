"""Real POP3 clients from Debian against tern: fetchmail and getmail6
download into a local Maildir, download-and-keep (nothing fetched twice,
new mail fetched on the next run) and download-and-delete (the server's
maildrop is emptied; IMAP sees it), over plain POP3 on loopback, STLS and
pop3s."""
import email
import email.policy
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from ternserver import servers, wait_until  # noqa: F401
from pop3util import USER, PASSWORD, deliver

LISTENERS = ("smtp", "pop3", "pop3s", "imap")

# A delivery agent for fetchmail: the message on stdin into a Maildir
# (tmp/, then rename into new/), as procmail or maildrop would.
MDA = r'''
import os, sys, time
md = sys.argv[1]
data = sys.stdin.buffer.read()
name = "%d.P%d.fetchmail" % (time.time_ns(), os.getpid())
with open(os.path.join(md, "tmp", name), "wb") as f:
    f.write(data)
os.rename(os.path.join(md, "tmp", name), os.path.join(md, "new", name))
'''


@pytest.fixture
def srv(servers):
    s = servers.make(listeners=LISTENERS)
    s.add_user(USER, PASSWORD)
    return s.start()


def local_maildir(root):
    md = pathlib.Path(root) / "Maildir"
    for d in ("tmp", "new", "cur"):
        (md / d).mkdir(parents=True, exist_ok=True)
    return md


def local_ids(md):
    """Message-IDs of the messages in a local Maildir, as a sorted list
    (duplicates kept, so a message fetched twice shows)."""
    ids = []
    for d in ("new", "cur"):
        for f in (md / d).iterdir():
            msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            ids.append(msg["Message-ID"])
    return sorted(ids)


def server_ids(srv):
    return sorted(srv.parsed(p)["Message-ID"] for p in srv.messages(USER))


def run(cmd, env=None):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    return res


# ---- fetchmail ----------------------------------------------------------

def fetchmail(srv, root, keep, mode="plain"):
    """One fetchmail run; returns (exit status, output). Exit 0: mail
    fetched, 1: no mail (fetchmail(1) EXIT CODES)."""
    root = pathlib.Path(root)
    md = local_maildir(root)
    (root / "mda.py").write_text(MDA)
    port = srv.port("pop3s" if mode == "pop3s" else "pop3")
    tls = {
        # loopback counts as secure: no TLS at all
        "plain": "sslproto ''",
        "stls": "sslproto tls1.2+ no sslcertck",
        "pop3s": "ssl no sslcertck",
    }[mode]
    rc = root / "fetchmailrc"
    rc.write_text(
        "set no bouncemail\n"
        "set no syslog\n"
        f"poll 127.0.0.1 service {port} protocol POP3 uidl auth password timeout 30\n"
        f"  user \"{USER}\" there with password \"{PASSWORD}\" is \"tester\" here\n"
        f"  {'keep' if keep else 'nokeep'} {tls}\n"
        f"  mda \"/usr/bin/python3 {root / 'mda.py'} {md}\"\n")
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(root), FETCHMAILHOME=str(root))
    res = run(["fetchmail", "-f", str(rc), "-v", "--nodetach"], env=env)
    return res.returncode, res.stdout + res.stderr


@pytest.fixture
def need_fetchmail():
    if shutil.which("fetchmail") is None:
        pytest.fail("fetchmail is missing: scripts/deps.sh test installs it")


@pytest.mark.parametrize("mode", ["plain", "stls", "pop3s"])
def test_fetchmail_keep(srv, tmp_path, need_fetchmail, mode):
    deliver(srv, ["k1", "k2", "k3"])
    status, out = fetchmail(srv, tmp_path, keep=True, mode=mode)
    assert status == 0, out
    md = tmp_path / "Maildir"
    assert local_ids(md) == server_ids(srv)
    assert len(srv.messages(USER)) == 3
    if mode == "stls":
        assert "STLS" in out
    # again: nothing new, nothing fetched twice
    status, out = fetchmail(srv, tmp_path, keep=True, mode=mode)
    assert status == 1, out
    assert len(local_ids(md)) == 3
    # new mail: only it is fetched
    deliver(srv, ["k4"])
    status, out = fetchmail(srv, tmp_path, keep=True, mode=mode)
    assert status == 0, out
    assert local_ids(md) == server_ids(srv)
    assert len(local_ids(md)) == 4


def test_fetchmail_delete(srv, tmp_path, need_fetchmail):
    deliver(srv, ["d1", "d2", "d3"])
    before = server_ids(srv)
    i = srv.imap()
    i.login(USER, PASSWORD)
    i.select("INBOX")
    status, out = fetchmail(srv, tmp_path, keep=False)
    assert status == 0, out
    md = tmp_path / "Maildir"
    assert local_ids(md) == before
    assert srv.messages(USER) == []
    # IMAP hears of the expunges
    i.noop()
    assert i.search(None, "ALL")[1] == [b""]
    i.logout()
    status, out = fetchmail(srv, tmp_path, keep=False)
    assert status == 1, out
    assert local_ids(md) == before
    deliver(srv, ["d4"])
    status, out = fetchmail(srv, tmp_path, keep=False)
    assert status == 0, out
    assert len(local_ids(md)) == 4 and len(set(local_ids(md))) == 4


# ---- getmail6 -----------------------------------------------------------

# getmail refuses to deliver as root: as root, the Maildir belongs to
# nobody and getmail delivers as nobody (its "user" parameter)
NOBODY = "nobody"


@pytest.fixture
def getmail_root(tmp_path):
    """Where getmail delivers: under tmp_path, unless the test runs as root,
    when nobody must reach it (pytest's tmp dirs are private to root)."""
    if os.geteuid() != 0:
        yield tmp_path
        return
    root = pathlib.Path(tempfile.mkdtemp(prefix="tern-getmail-"))
    root.chmod(0o755)
    md = local_maildir(root)
    for d in (md, md / "tmp", md / "new", md / "cur"):
        shutil.chown(d, NOBODY)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def getmail(srv, root, delete, ssl=False):
    root = pathlib.Path(root)
    md = local_maildir(root)
    gdir = root / "getmail"
    gdir.mkdir(exist_ok=True)
    rc = gdir / "getmailrc"
    rc.write_text(
        "[retriever]\n"
        f"type = {'SimplePOP3SSLRetriever' if ssl else 'SimplePOP3Retriever'}\n"
        "server = 127.0.0.1\n"
        f"port = {srv.port('pop3s' if ssl else 'pop3')}\n"
        f"username = {USER}\n"
        f"password = {PASSWORD}\n"
        "timeout = 30\n"
        "[destination]\n"
        "type = Maildir\n"
        f"path = {md}/\n"
        + (f"user = {NOBODY}\n" if os.geteuid() == 0 else "") +
        "[options]\n"
        "verbose = 2\n"
        f"delete = {'true' if delete else 'false'}\n"
        "read_all = false\n")
    res = run(["getmail", f"--getmaildir={gdir}", f"--rcfile={rc}"],
              env=dict(os.environ, HOME=str(root)))
    return res.returncode, res.stdout + res.stderr


@pytest.fixture
def need_getmail():
    if shutil.which("getmail") is None:
        pytest.fail("getmail (getmail6) is missing: scripts/deps.sh test installs it")


@pytest.mark.parametrize("ssl", [False, True])
def test_getmail_keep(srv, getmail_root, need_getmail, ssl):
    tmp_path = getmail_root
    deliver(srv, ["g1", "g2"])
    status, out = getmail(srv, tmp_path, delete=False, ssl=ssl)
    assert status == 0, out
    md = tmp_path / "Maildir"
    assert local_ids(md) == server_ids(srv)
    assert len(srv.messages(USER)) == 2
    status, out = getmail(srv, tmp_path, delete=False, ssl=ssl)
    assert status == 0, out
    assert len(local_ids(md)) == 2, out
    deliver(srv, ["g3"])
    status, out = getmail(srv, tmp_path, delete=False, ssl=ssl)
    assert status == 0, out
    assert local_ids(md) == server_ids(srv)
    assert len(local_ids(md)) == 3


def test_getmail_delete(srv, getmail_root, need_getmail):
    tmp_path = getmail_root
    deliver(srv, ["x1", "x2", "x3"])
    before = server_ids(srv)
    status, out = getmail(srv, tmp_path, delete=True)
    assert status == 0, out
    md = tmp_path / "Maildir"
    assert local_ids(md) == before
    wait_until(lambda: srv.messages(USER) == [], what="the server's maildrop emptied")
    deliver(srv, ["x4"])
    status, out = getmail(srv, tmp_path, delete=True)
    assert status == 0, out
    assert len(local_ids(md)) == 4 and len(set(local_ids(md))) == 4
