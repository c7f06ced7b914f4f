"""An administrator's first hour (issue 9, and the start-up items of issue 8):
`tern serve --check` on configs with each kind of mistake (every problem at
once, with file:line, nothing created), root without `user` refused,
`--help` on every command (exit 0, nothing created), commands saying what
they changed, the hint for port 25, postmaster at every local domain and
at the hostname, root and Unix users reaching the administrator, aliases
that lead nowhere refused, the TLS key read before root is dropped and
reloaded on SIGHUP, and log timestamps unless stderr is the journal.

Independent peers: Python's smtplib and ssl, setpriv(1) to play other Unix
users, openssl(1) to make certificates.
"""
import os
import pathlib
import pwd
import re
import shutil
import signal
import smtplib
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import free_port
from ternserver import (HOSTNAME, TernServer, client_tls_context, make_message, servers,  # noqa: F401
                        wait_until)

ALICE = "alice@example.test"
BOB = "bob@example.test"
ADMIN = "admin@example.test"
NOBODY = 65534
AS_ROOT = os.geteuid() == 0

needs_root = pytest.mark.skipif(not AS_ROOT or shutil.which("setpriv") is None,
                                reason="needs root and setpriv to play other Unix users")


def clean_env():
    env = dict(os.environ)
    env.pop("TERN_CONFIG", None)
    env.pop("JOURNAL_STREAM", None)
    return env


def tern(tern_bin, *args, cwd, input=None, env=None):
    return subprocess.run([tern_bin, *args], cwd=cwd, input=input, capture_output=True,
                          text=True, timeout=30, env=env or clean_env())


# --- tern serve --check ------------------------------------------------------

def test_check_reports_every_problem_at_once(tern_bin, tmp_path):
    """One config with a mistake of each kind: every one is reported, with
    the line it comes from, and nothing is created."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    taken = free_port()
    holder = __import__("socket").socket()
    holder.bind(("127.0.0.1", taken))
    holder.listen(1)
    conf = tmp_path / "bad.toml"
    conf.write_text(
        'hostname = "mx.example.test"\n'                       # 1
        f'data_dir = "{blocker}/data"\n'                       # 2 cannot be made
        'user = "no-such-user-tern"\n'                         # 3 no such user
        'postmaster = "not an address"\n'                      # 4 bad value
        'colour = "blue"\n'                                    # 5 unknown key
        '[listen]\n'                                           # 6
        f'smtp = ["127.0.0.1:{taken}"]\n'                      # 7 in use
        'submission = ["192.0.2.1:587"]\n'                     # 8 not ours
        '[tls]\n'                                              # 9
        f'cert = "{tmp_path}/missing-cert.pem"\n'              # 10 missing
        '[relay]\n'                                            # 11
        'smarthost_tls = "sometimes"\n'                        # 12 not a choice
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    res = tern(tern_bin, "serve", "-c", str(conf), "--check", cwd=tmp_path)
    holder.close()
    assert res.returncode == 1
    err = res.stderr
    expect = [
        (4, "postmaster: not an address"),
        (5, "unknown key 'colour'"),
        (12, "relay.smarthost_tls: 'sometimes' is not one of"),
        (2, f"data_dir {blocker}/data cannot be made: {blocker} is not a directory"),
        (7, f"listen.smtp: cannot bind 127.0.0.1:{taken}: Address already in use"),
        (8, "listen.submission: cannot bind 192.0.2.1:587"),
        (10, "tls.cert: certificate"),
    ]
    if AS_ROOT:
        expect.append((3, "user: no such user 'no-such-user-tern'"))
    for line, text in expect:
        assert re.search(rf"^tern serve: {re.escape(str(conf))}:{line}: .*{re.escape(text)}",
                         err, re.M), (line, text, err)
    assert "problems, not started" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_check_certificate_and_key(tern_bin, tmp_path):
    """The pair must exist, be readable and belong together."""
    a = make_cert(tmp_path, "a")
    b = make_cert(tmp_path, "b")
    good = base_config(tmp_path) + f'[tls]\ncert = "{a[0]}"\nkey = "{a[1]}"\n'
    (tmp_path / "good.toml").write_text(good)
    res = tern(tern_bin, "serve", "-c", "good.toml", "--check", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    # the key of another certificate
    (tmp_path / "mixed.toml").write_text(
        base_config(tmp_path) + f'[tls]\ncert = "{a[0]}"\nkey = "{b[1]}"\n')
    res = tern(tern_bin, "serve", "-c", "mixed.toml", "--check", cwd=tmp_path)
    assert res.returncode == 1
    assert re.search(r"mixed\.toml:\d+: tls\.key: key .*b-key\.pem does not belong to the "
                     r"certificate .*a-cert\.pem", res.stderr), res.stderr
    # a key without a certificate
    (tmp_path / "half.toml").write_text(base_config(tmp_path) + f'[tls]\nkey = "{a[1]}"\n')
    res = tern(tern_bin, "serve", "-c", "half.toml", "--check", cwd=tmp_path)
    assert res.returncode == 1
    assert "tls.key is set but tls.cert is not" in res.stderr
    assert not (tmp_path / "data").exists()


@needs_root
def test_check_key_unreadable_by_the_invoking_user(tern_bin, tmp_path):
    """--check run by somebody who cannot read the key says so."""
    top = public_dir()
    try:
        cert, key = make_cert(top, "k")
        conf = top / "c.toml"
        conf.write_text(base_config(top) + f'[tls]\ncert = "{cert}"\nkey = "{key}"\n'
                        '[listen]\nsubmission = ["127.0.0.1:%d"]\n' % free_port())
        conf.chmod(0o644)
        res = as_nobody(tern_bin, "serve", "-c", str(conf), "--check", cwd=top)
        assert res.returncode == 1
        assert re.search(rf"c\.toml:\d+: tls\.key: key {re.escape(str(key))}: Permission denied",
                         res.stderr), res.stderr
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_start_checks_before_creating_anything(tern_bin, tmp_path):
    """tern serve runs the same checks: a bad relay.smarthost_tls no longer
    leaves a data_dir and a self-signed certificate behind."""
    data = tmp_path / "data"
    conf = tmp_path / "c.toml"
    conf.write_text(base_config(tmp_path) + '[listen]\nsubmission = ["127.0.0.1:%d"]\n'
                    '[relay]\nsmarthost = "127.0.0.1:1"\nsmarthost_tls = "maybe"\n' % free_port())
    res = tern(tern_bin, "serve", "-c", str(conf), cwd=tmp_path)
    assert res.returncode == 1
    assert "relay.smarthost_tls: 'maybe' is not one of" in res.stderr
    assert "serve started" not in res.stderr
    assert not data.exists()


def test_check_sender_authentication_files(tern_bin, tmp_path):
    """What SPF/DKIM/DMARC read at start is checked too: a missing Public
    Suffix List stops --check and tern serve before anything is made (it
    used to stop tern serve after data_dir and a self-signed pair were
    made); a local domain without a DKIM key is a warning until
    `tern dkim keygen` makes one."""
    conf = tmp_path / "c.toml"
    text = (base_config(tmp_path) + 'domains = ["example.test", "other.test"]\n'
            '[listen]\nsmtp = ["127.0.0.1:%d"]\n' % free_port())
    psl_line = text.count("\n") + 2
    conf.write_text(text + f'[dmarc]\npublic_suffix_list = "{tmp_path}/no-psl.dat"\n')
    for args in (["--check"], []):
        res = tern(tern_bin, "serve", "-c", str(conf), *args, cwd=tmp_path)
        assert res.returncode == 1, res.stderr
        assert re.search(rf"^tern serve: {re.escape(str(conf))}:{psl_line}: "
                         rf"dmarc\.public_suffix_list: {re.escape(str(tmp_path))}/no-psl\.dat: "
                         r"No such file or directory \(DMARC needs it", res.stderr,
                         re.M), res.stderr
        assert "1 problem, not started" in res.stderr
        assert "serve started" not in res.stderr
        assert not (tmp_path / "data").exists()
    # DMARC off: the list is not needed
    conf.write_text(text + f'[dmarc]\nverify = false\npublic_suffix_list = "{tmp_path}/no"\n')
    res = tern(tern_bin, "serve", "-c", str(conf), "--check", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    # the default list; no key yet for either domain
    conf.write_text(text)
    res = tern(tern_bin, "serve", "-c", str(conf), "--check", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert re.search(rf"^tern serve: warning: {re.escape(str(conf))}: dkim\.sign: no DKIM key "
                     r"for example\.test, other\.test: .*tern dkim keygen", res.stderr,
                     re.M), res.stderr
    made = tern(tern_bin, "dkim", "keygen", "-c", str(conf), "example.test", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    res = tern(tern_bin, "serve", "-c", str(conf), "--check", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert re.search(r"dkim\.sign: no DKIM key for other\.test: ", res.stderr), res.stderr
    # a sealing domain of its own needs its own key
    conf.write_text(text + '[arc]\ndomain = "seal.test"\n')
    res = tern(tern_bin, "serve", "-c", str(conf), "--check", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert re.search(rf"c\.toml:{psl_line}: arc\.domain: no DKIM key for seal\.test: ",
                     res.stderr), res.stderr
    # [dkim] sign = false: nothing to say
    conf.write_text(text + "[dkim]\nsign = false\n")
    res = tern(tern_bin, "serve", "-c", str(conf), "--check", cwd=tmp_path)
    assert res.returncode == 0 and "dkim" not in res.stderr, res.stderr


@needs_root
def test_check_public_suffix_list_unreadable_by_user(tern_bin):
    """The list is read after root is dropped: a copy only root may read
    is refused by --check as root, naming the user and the mode."""
    top = public_dir()
    try:
        psl = top / "psl.dat"
        shutil.copy("/usr/share/publicsuffix/public_suffix_list.dat", psl)
        psl.chmod(0o600)
        conf = top / "c.toml"
        conf.write_text(f'hostname = "mx.example.test"\npostmaster = "{ADMIN}"\n'
                        f'data_dir = "{top}/data"\nuser = "nobody"\n'
                        f'[dmarc]\npublic_suffix_list = "{psl}"\n')
        res = tern(tern_bin, "serve", "-c", str(conf), "--check", cwd=top)
        assert res.returncode == 1
        assert re.search(r"c\.toml:6: dmarc\.public_suffix_list: user nobody cannot read "
                         r".*psl\.dat once root is dropped \(mode 0600", res.stderr), res.stderr
        psl.chmod(0o644)
        res = tern(tern_bin, "serve", "-c", str(conf), "--check", cwd=top)
        assert res.returncode == 0, res.stderr
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_second_server_on_one_data_dir_is_refused_before_it_opens_anything(servers, tmp_path):
    """Two servers on one data_dir would both run its queue: the second is
    refused by the checks, before it binds, opens the queue or starts a
    delivery thread; --check beside the running server is still fine."""
    srv = servers.make(users={ALICE: "pw"})
    srv.start()
    other = tmp_path / "other.toml"
    other.write_text(re.sub(r"127\.0\.0\.1:\d+", lambda m: f"127.0.0.1:{free_port()}",
                            srv.config.read_text()))
    res = tern(srv.tern_bin, "serve", "-c", str(other), cwd=tmp_path)
    assert res.returncode == 1
    data = re.escape(str(srv.data_dir))
    assert re.search(rf"^tern serve: {re.escape(str(other))}:\d+: data_dir {data}: "
                     rf"another tern serve runs on it \(pid {srv.proc.pid}\)", res.stderr,
                     re.M), res.stderr
    for event in ("listening", "queue scanned", "serve started"):
        assert event not in res.stderr
    # --check may run beside it (systemd's ExecStartPre, an administrator)
    res = tern(srv.tern_bin, "serve", "-c", str(other), "--check", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = tern(srv.tern_bin, "serve", "-c", str(srv.config), "--check", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"probably by the tern serve that runs on this data_dir (pid {srv.proc.pid})" \
        in res.stderr
    # the first one is unharmed: its lock, its pid file, its mail
    assert srv.alive()
    assert (srv.data_dir / "tern.pid").read_text().strip() == str(srv.proc.pid)
    with smtplib.SMTP(srv.host, srv.port("smtp"), timeout=30) as c:
        c.sendmail("someone@remote.test", [ALICE], make_message(to=ALICE))
    srv.wait_messages(ALICE, 1)


def test_unprivileged_port_25_says_how(tern_bin, tmp_path):
    """Binding a port below 1024 without the right: the error says to start
    as root with user, or to give the capability."""
    top = public_dir() if AS_ROOT else tmp_path
    try:
        conf = top / "c.toml"
        conf.write_text(base_config(top, user=False) + '[listen]\nsmtp = ["127.0.0.1:25"]\n')
        conf.chmod(0o644)
        args = ("serve", "-c", str(conf), "--check")
        res = as_nobody(tern_bin, *args, cwd=top) if AS_ROOT else tern(tern_bin, *args, cwd=top)
        assert res.returncode == 1
        assert re.search(r"c\.toml:\d+: listen\.smtp: cannot bind 127\.0\.0\.1:25: Permission "
                         r"denied: ports below 1024 need root .*with user set.*"
                         r"cap_net_bind_service", res.stderr), res.stderr
    finally:
        if AS_ROOT:
            shutil.rmtree(top, ignore_errors=True)


@pytest.mark.skipif(not AS_ROOT, reason="needs root")
def test_root_without_user_is_refused(tern_bin, tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text(f'postmaster = "{ADMIN}"\ndata_dir = "{tmp_path}/data"\n')
    for args in (["--check"], []):
        res = tern(tern_bin, "serve", "-c", str(conf), *args, cwd=tmp_path)
        assert res.returncode == 1
        assert f"{conf}: user is not set" in res.stderr
        assert 'user = "tern"' in res.stderr and "--dev" in res.stderr
    assert not (tmp_path / "data").exists()
    # --dev: runs as the invoking user, root (over free ports)
    ports = "".join(f'{n} = ["127.0.0.1:{free_port()}"]\n'
                    for n in ("smtp", "submission", "submissions", "imap", "imaps",
                              "pop3", "pop3s"))
    dev = tmp_path / "dev.toml"
    dev.write_text("[listen]\n" + ports)
    proc = subprocess.Popen([tern_bin, "serve", "--dev", "-c", str(dev)], cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=clean_env())
    try:
        wait_until(lambda: (tmp_path / "var" / "tern.pid").exists() or proc.poll() is not None,
                   what="the --dev server")
        assert proc.poll() is None
        status = pathlib.Path(f"/proc/{proc.pid}/status").read_text()
        assert re.search(r"^Uid:\s+0\s", status, re.M)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert b"running as root" in err


def test_check_says_when_postmaster_has_no_mailbox(servers, tmp_path):
    """--check warns while the postmaster address leads nowhere (mail to
    postmaster@ would get 451), reading accounts.db without making or
    changing a file, whether or not a server runs; a remote postmaster is
    fine."""
    srv = servers.make(users={ALICE: "pw"})

    def check():
        before = sorted(p.name for p in srv.data_dir.iterdir())
        res = tern(srv.tern_bin, "serve", "-c", str(srv.config), "--check", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert sorted(p.name for p in srv.data_dir.iterdir()) == before
        return res.stderr

    warning = f"postmaster: {ADMIN} has no mailbox yet: mail to postmaster@ and root gets 451"
    assert re.search(rf"tern\.toml:\d+: {re.escape(warning)}", check())
    srv.add_user(ADMIN, "pw")
    assert "postmaster:" not in check()
    srv.start()                     # a server holds accounts.db (its -wal file)
    srv.del_user(ADMIN)
    assert warning in check()
    srv.add_alias(ADMIN, ALICE)     # an alias to a mailbox is as good
    assert "postmaster:" not in check()
    # a postmaster elsewhere is that server's business
    srv.config.write_text(srv.config.read_text().replace(ADMIN, "ops@remote.test"))
    assert "postmaster:" not in check()


def test_postmaster_must_be_set(tern_bin, tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text(f'data_dir = "{tmp_path}/data"\n' + ('user = "root"\n' if AS_ROOT else ""))
    res = tern(tern_bin, "serve", "-c", str(conf), "--check", cwd=tmp_path)
    assert res.returncode == 1
    assert f"{conf}: postmaster is not set" in res.stderr


# --- --help and the command line ---------------------------------------------

HELP_CASES = [
    ["--help"], ["help"], ["-h"],
    ["serve", "--help"], ["serve", "-h"],
    ["user", "--help"], ["user", "add", "--help"], ["user", "add", "--help", "x@y.test"],
    ["user", "del", "--help"], ["user", "passwd", "--help"], ["user", "list", "--help"],
    ["alias", "--help"], ["alias", "add", "--help"], ["alias", "del", "-h"],
    ["domain", "--help"], ["domain", "add", "--help"],
    ["queue", "--help"], ["queue", "list", "--help"], ["queue", "flush", "--help"],
    ["queue", "del", "--help"],
    ["sendmail", "--help"], ["sendmail", "-t", "--help"],
    ["mailbox", "--help"], ["mailbox", "rebuild", "--help"], ["mailbox", "list", "--help"],
    ["msg", "--help"], ["msg", "inspect", "--help"], ["msg", "bodystructure", "--help"],
    ["msg", "envelope", "--help"],
    ["domain", "del", "--help"], ["domain", "list", "--help"], ["alias", "list", "--help"],
    ["dkim", "--help"], ["dkim", "keygen", "--help"], ["dkim", "keygen", "example.test", "-h"],
    ["dkim", "show", "--help"], ["dkim", "check", "--help"],
]


@pytest.mark.parametrize("args", HELP_CASES, ids=[" ".join(a) for a in HELP_CASES])
def test_help_everywhere(tern_bin, tmp_path, args):
    """--help on every command and subcommand: usage on stdout, exit 0,
    nothing touched (no ./var, no config read)."""
    res = tern(tern_bin, *args, cwd=tmp_path, input="")
    assert res.returncode == 0, res
    assert res.stdout.startswith("usage: tern"), res.stdout
    assert res.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_top_level_usage_lists_everything(tern_bin, tmp_path):
    out = tern(tern_bin, "--help", cwd=tmp_path).stdout
    for words in ("serve [--check]", "user add [--apop] ADDRESS", "user passwd", "user del",
                  "user list", "alias add ALIAS TARGET", "alias del", "alias list",
                  "domain add|del DOMAIN", "domain list", "queue list [--json]", "queue flush",
                  "queue del ID", "mailbox rebuild", "mailbox list", "sendmail [OPTIONS]",
                  "msg inspect", "dkim keygen DOMAIN", "dkim show|check DOMAIN",
                  "-c FILE", "--dev", "--help", "TERN_CONFIG",
                  "/etc/tern/tern.toml"):
        assert words in out, words
    # aligned: every description starts in one column
    cols = {m.start(1) for line in out.splitlines()
            if line.startswith("  ") and (m := re.search(r"\S\s{2,}(\S)", line))}
    assert len(cols) == 1, cols


@pytest.mark.parametrize("args", [["user"], ["user", "frob", "x@y.test"], ["user", "add"],
                                  ["alias", "add", "a@example.test"], ["domain", "del"],
                                  ["queue", "frob"], ["mailbox", "frob", "a@b.test"],
                                  ["user", "add", "-c"]])
def test_bad_usage_touches_nothing(tern_bin, tmp_path, args):
    res = tern(tern_bin, *args, cwd=tmp_path, input="")
    assert res.returncode == 64, res
    assert "usage: tern" in res.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.path.exists("/etc/tern/tern.toml"),
                    reason="this machine has /etc/tern/tern.toml, the default config")
@pytest.mark.parametrize("args", [["user", "list"], ["queue", "list"], ["alias", "list"],
                                  ["sendmail", "root"], ["mailbox", "list", "a@b.test"]])
def test_no_config_no_var(tern_bin, tmp_path, args):
    """Without -c, $TERN_CONFIG or /etc/tern/tern.toml every command says so
    and creates nothing (./var only with --dev)."""
    res = tern(tern_bin, *args, cwd=tmp_path, input="x\n")
    assert res.returncode != 0
    assert "no config file" in res.stderr
    assert list(tmp_path.iterdir()) == []
    # --dev is asking for ./var
    res = tern(tern_bin, "user", "list", "--dev", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "var").is_dir()


def test_commands_say_what_they_did(servers):
    srv = servers.make(users={ALICE: "pw"})
    assert srv.add_user(BOB, "pw").stdout == f"added {BOB}\n"
    res = srv.cli("user", "passwd", args=[BOB], input="new\n")
    assert res.stdout == f"changed the password of {BOB}\n"
    res = srv.add_alias("team@example.test", ALICE, BOB)
    assert res.stdout == f"added alias team@example.test -> {ALICE} {BOB}\n"
    assert res.stderr == ""
    res = srv.del_alias("team@example.test", BOB)
    assert res.stdout == f"removed {BOB} from alias team@example.test\n"
    res = srv.del_alias("team@example.test")
    assert res.stdout == "deleted alias team@example.test\n"
    res = srv.add_domain("other.test")
    assert res.stdout == "added domain other.test\n"
    # nothing to add: said so, not "added"
    assert srv.add_domain("Other.test").stdout == "Other.test is a local domain already\n"
    assert srv.add_domain("example.test").stdout == "example.test is a local domain already\n"
    res = srv.cli("domain", "del", args=["other.test"])
    assert res.stdout == "deleted domain other.test\n"
    # deleting an account that an alias (or the postmaster key) still names
    srv.add_alias("team@example.test", ALICE, BOB)
    res = srv.del_user(BOB)
    assert res.stdout.startswith(f"deleted {BOB} ")
    assert res.stderr == (f"tern: warning: alias team@example.test still lists {BOB}, which no "
                          f"longer exists (tern alias del team@example.test {BOB})\n")
    assert srv.cli("user", "list").stdout == f"{ALICE}\n"
    srv.add_user(ADMIN, "pw")
    res = srv.del_user(ADMIN)
    assert f"tern: warning: {ADMIN} is the postmaster of {srv.config}" in res.stderr


# --- aliases that lead nowhere --------------------------------------------------

def test_alias_mistakes_are_refused(servers):
    srv = servers.make(users={ALICE: "pw"})
    res = srv.cli("alias", "add", args=["self@example.test", "self@example.test"], check=False)
    assert res.returncode == 1
    assert "alias self@example.test cannot point to itself" in res.stderr
    res = srv.cli("alias", "add", args=["typo@example.test", "alcie@example.test"], check=False)
    assert res.returncode == 1
    assert "target alcie@example.test does not exist" in res.stderr
    # a loop: b -> a exists with a way out; closing a -> b -> a without one
    srv.add_alias("b@example.test", ALICE)
    srv.add_alias("a@example.test", "b@example.test")
    srv.del_alias("b@example.test", ALICE)
    res = srv.cli("alias", "add", args=["b@example.test", "a@example.test"], check=False)
    assert res.returncode == 1
    assert "target a@example.test does not exist" in res.stderr and "loop" in res.stderr
    # nothing of the refused ones is kept
    listing = srv.cli("alias", "list").stdout
    assert "self@" not in listing and "typo@" not in listing
    # an alias to itself is fine for an account: it keeps a copy
    res = srv.add_alias(ALICE, ALICE, "far@remote.test")
    # a remote target is accepted, with a warning
    assert "warning: far@remote.test is not local" in res.stderr


# --- mail that must always have somewhere to go -------------------------------

def test_postmaster_of_every_domain_and_the_hostname(servers):
    """RFC 5321 4.5.1: postmaster at every local domain and at the server's
    own name, and root and MAILER-DAEMON at the hostname, reach the
    administrator (the postmaster key); so does noreply-dmarc at the
    hostname, the sender of DMARC reports, so that a report's bounce is not
    refused by the server that sent the report."""
    srv = servers.make(users={ALICE: "pw", BOB: "pw"}, postmaster=BOB,
                       domains=("example.test", "second.test"))
    srv.add_domain("third.test")
    srv.start()
    rcpts = ["postmaster@example.test", "Postmaster@SECOND.test", "postmaster@third.test",
             f"postmaster@{HOSTNAME}", f"root@{HOSTNAME}", f"MAILER-DAEMON@{HOSTNAME}",
             f"noreply-dmarc@{HOSTNAME}", "Postmaster"]
    with srv.raw() as c:
        c.ehlo()
        for rcpt in rcpts:
            r = c.mail("s@remote.test", [rcpt], make_message(f"to {rcpt}"))
            assert r.code == 250, (rcpt, r)
        # root at a local domain is nobody in particular
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        assert c.cmd("RCPT TO:<root@example.test>").code == 550
        # nor is any other name at the hostname relayed for a stranger
        assert c.cmd(f"RCPT TO:<no-such-unix-user-tern@{HOSTNAME}>").code == 554
    files = srv.wait_messages(BOB, len(rcpts))
    subjects = sorted(srv.parsed(f)["Subject"] for f in files)
    assert subjects == sorted(f"to {r}" for r in rcpts)
    assert srv.messages(ALICE) == []
    # nothing went into a mailbox no account owns
    assert {p.parent.parent.name for p in srv.all_maildir_files()} == {"bob"}


def test_postmaster_alias_wins_and_a_broken_admin_is_temporary(servers):
    srv = servers.start(users={ALICE: "pw", BOB: "pw"}, postmaster="nobody-here@example.test",
                        aliases={"postmaster@example.test": [ALICE]})
    with srv.raw() as c:
        c.ehlo()
        assert c.mail("s@remote.test", ["postmaster@example.test"], make_message("pm")).code == 250
        # the administrator's address leads nowhere: a temporary failure
        # (RFC 5321 4.5.1 wants postmaster accepted), logged
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<postmaster@{HOSTNAME}>").code == 451
    srv.wait_messages(ALICE, 1)
    assert "postmaster leads to no mailbox" in srv.log()


def test_sendmail_to_root_and_unix_users(servers, tmp_path):
    """cron mails `root`, daemons mail their own user: they reach the
    administrator unless an alias says otherwise; bounces to root@ the
    hostname are not refused either."""
    srv = servers.start(users={ALICE: "pw", BOB: "pw"}, postmaster=ALICE)
    unix_user = next(u for u in ("www-data", "daemon", "nobody", "bin")
                     if _user_exists(u))
    for rcpt in ("root", unix_user, f"root@{HOSTNAME}"):
        res = srv.cli("sendmail", args=[rcpt], input=f"Subject: cron to {rcpt}\n\nhello\n")
        assert res.returncode == 0, res.stderr
    files = srv.wait_messages(ALICE, 3)
    assert sorted(srv.parsed(f)["Subject"] for f in files) == sorted(
        f"cron to {r}" for r in ("root", unix_user, f"root@{HOSTNAME}"))
    # a success notice to the sender, root@ the hostname (sendmail run by
    # root), reaches the administrator instead of being refused
    res = srv.cli("sendmail", args=["-N", "success", BOB], input="Subject: notify me\n\nx\n")
    assert res.returncode == 0, res.stderr
    files = srv.wait_messages(ALICE, 4)
    notice = [srv.parsed(f) for f in files if "MAILER-DAEMON" in str(srv.parsed(f)["From"])]
    assert len(notice) == 1 and notice[0]["To"] == f"root@{HOSTNAME}", notice
    # a name that is neither an account nor a Unix user is still unknown
    res = srv.cli("sendmail", args=["no-such-unix-user-tern"], input="x\n", check=False)
    assert res.returncode == 67
    # an alias for root at the hostname sends it elsewhere
    srv.add_alias(f"root@{HOSTNAME}", BOB)
    res = srv.cli("sendmail", args=["root"], input="Subject: to bob now\n\nx\n")
    assert res.returncode == 0, res.stderr
    files = srv.wait_messages(BOB, 2)
    assert "to bob now" in [srv.parsed(f)["Subject"] for f in files]


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# --- TLS: read before root is dropped, reloaded on SIGHUP ---------------------

@needs_root
def test_tls_key_read_as_root_and_reloaded_on_sighup(tern_bin):
    top = public_dir()
    try:
        tls = top / "tls"
        tls.mkdir()
        cert, key = make_cert(tls, "one", cn="one.example.test")
        os.chmod(key, 0o600)          # root's alone: nobody cannot read it
        srv = TernServer(tern_bin, top / "srv", user="nobody", listeners=("submission",),
                         extra=f'[tls]\ncert = "{cert}"\nkey = "{key}"\n')
        (top / "srv").chmod(0o755)
        srv.start()
        try:
            status = pathlib.Path(f"/proc/{srv.proc.pid}/status").read_text()
            assert re.search(rf"^Uid:\s+{NOBODY}\s", status, re.M)
            assert served_cert(srv) == der_of(cert)
            # renewed in place, but the new key unreadable by nobody: kept
            new_cert, new_key = make_cert(tls, "two", cn="two.example.test")
            os.chmod(new_key, 0o600)
            os.replace(new_cert, cert)
            os.replace(new_key, key)
            mark = len(srv.log())
            srv.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "reload tls=" in srv.log()[mark:], what="the reload")
            assert "reload tls=kept" in srv.log()[mark:]
            assert "Permission denied" in srv.log()[mark:]
            assert served_cert(srv) != der_of(cert)
            # readable by the server's user: reloaded, new connections get it
            os.chmod(key, 0o640)
            os.chown(key, 0, NOBODY)
            mark = len(srv.log())
            srv.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "reload tls=" in srv.log()[mark:], what="the reload")
            assert "reload tls=reloaded" in srv.log()[mark:], srv.log()[mark:]
            assert served_cert(srv) == der_of(cert)
            # the config itself: readable by the server's user, checked
            assert "reload checked config=" in srv.log()[mark:], srv.log()[mark:]
            # root's alone (read as root at start): not checked, and not
            # called invalid either
            srv.config.chmod(0o600)
            mark = len(srv.log())
            srv.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "reload config=" in srv.log()[mark:], what="the reload")
            assert re.search(r"serve level=warning reload config=unreadable path=\S+tern\.toml "
                             r'error="Permission denied" checked=no', srv.log()[mark:])
            assert "invalid" not in srv.log()[mark:]
            assert srv.alive()
        finally:
            assert srv.stop() == 0
    finally:
        shutil.rmtree(top, ignore_errors=True)


# --- logs ---------------------------------------------------------------------

def test_log_timestamps_unless_journal(tern_bin, tmp_path):
    """ISO 8601 timestamps when stderr is a file or pipe; none when stderr
    is the journal (JOURNAL_STREAM names stderr's own device and inode)."""
    conf = tmp_path / "c.toml"
    conf.write_text(base_config(tmp_path) + '[listen]\nsmtp = ["127.0.0.1:%d"]\n' % free_port())
    for journal in (False, True):
        log = tmp_path / f"log-{journal}"
        with open(log, "wb") as f:
            env = clean_env()
            if journal:
                st = os.fstat(f.fileno())
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
            proc = subprocess.Popen([tern_bin, "serve", "-c", str(conf)], stdin=subprocess.DEVNULL,
                                    stdout=f, stderr=f, env=env)
            try:
                wait_until(lambda: "serve started" in log.read_text() or proc.poll() is not None,
                           what="the start")
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
        lines = [l for l in log.read_text().splitlines() if l]
        started = next(l for l in lines if "serve started" in l)
        if journal:
            # no time; the syslog priority for journalctl -p (sd-daemon(3))
            assert started.startswith("<6>serve started "), started
            assert all(re.match(r"^<[2-7]>[a-z]", l) for l in lines), lines
            if AS_ROOT:   # user = "root": "running as root" is a warning
                assert any(l.startswith("<4>serve level=warning ") for l in lines), lines
        else:
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z serve started ", started), started
            assert all(re.match(r"^\d{4}-\d\d-\d\dT", l) for l in lines), lines


# --- helpers --------------------------------------------------------------------

def base_config(top, user=True):
    """What a config needs beside the point of a test."""
    text = f'hostname = "mx.example.test"\npostmaster = "{ADMIN}"\ndata_dir = "{top}/data"\n'
    if user and AS_ROOT:
        text += 'user = "root"\n'
    return text


def public_dir():
    """A directory other users can pass through (pytest's is 0700)."""
    top = pathlib.Path(tempfile.mkdtemp(prefix="tern-admin-", dir="/tmp"))
    top.chmod(0o755)
    return top


def as_nobody(tern_bin, *args, cwd):
    binary = cwd / "tern"
    if not binary.exists():
        shutil.copy2(tern_bin, binary)
        binary.chmod(0o755)
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                           str(binary), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=30, env=clean_env())


def make_cert(where, name, cn="mx.example.test"):
    """A self-signed certificate and key made by openssl(1)."""
    cert, key = pathlib.Path(where) / f"{name}-cert.pem", pathlib.Path(where) / f"{name}-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", f"/CN={cn}", "-days", "30"], check=True, capture_output=True)
    return cert, key


def der_of(cert):
    return ssl.PEM_cert_to_DER_cert(pathlib.Path(cert).read_text())


def served_cert(srv):
    """The certificate the submission listener shows after STARTTLS."""
    c = smtplib.SMTP(srv.host, srv.port("submission"), timeout=30)
    try:
        c.ehlo("client.test")
        c.starttls(context=client_tls_context())
        return c.sock.getpeercert(binary_form=True)
    finally:
        c.quit()
