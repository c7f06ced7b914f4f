"""A private Dovecot (Debian's dovecot-imapd) on loopback, the reference
IMAP server the IMAP suite runs against beside tern.

DovecotServer writes its own dovecot.conf (passwd-file passdb/userdb,
mail_location=maildir with "/" as the hierarchy delimiter, the special-use
folders tern creates, imap and imaps listeners on free loopback ports,
base_dir/state_dir/logs under its own directory, no chroot), starts
`/usr/sbin/dovecot -F` and stops it with SIGTERM. The machine's own
/etc/dovecot is never read.

Dovecot refuses mail users with UID 0, so when the tests run as root the
mail belongs to `nobody` and the login processes run as Debian's
`dovenull`/`dovecot` users; the directory is therefore made with mode 0755
under the system temp dir (pytest's tmp_path is private to root).

Every wait is bounded.
"""
import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import free_port

DOVECOT = "/usr/sbin/dovecot"
DOVECOT_IMAP = "/usr/lib/dovecot/imap"
POOL = 400

# The folders every tern account starts with (docs/imap.md), configured the
# same way in Dovecot so that LIST output is comparable.
SPECIAL_FOLDERS = (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
                   ("Junk", "\\Junk"), ("Archive", "\\Archive"))


def available():
    return os.path.exists(DOVECOT) and os.path.exists(DOVECOT_IMAP)


_cert_cache = {}


def self_signed_cert(directory):
    """A throwaway key and certificate for CN=localhost (openssl CLI)."""
    directory = pathlib.Path(directory)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-subj", "/CN=localhost", "-days", "2",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class DovecotServer:
    """One private Dovecot instance with its users, ports and log."""

    kind = "dovecot"

    def __init__(self, host="127.0.0.1", extra_conf="", login_trusted=False):
        if not available():
            pytest.fail("dovecot-imapd is not installed (scripts/deps.sh test installs it)")
        self.host = host
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="tern-dovecot-"))
        os.chmod(self.root, 0o755)
        self.mail_root = self.root / "mail"
        self.mail_root.mkdir()
        os.chmod(self.mail_root, 0o755)
        self.ports = {"imap": free_port(host), "imaps": free_port(host)}
        # Dovecot re-reads the passwd-file at most once a second, so the
        # accounts the tests use are written before it starts (pool_user());
        # add_user() of another name waits for the next re-read
        self.users = {f"d{i}@example.test": f"pw d{i} secret" for i in range(1, POOL + 1)}
        self.pool = list(self.users)
        self.proc = None
        self.log_path = self.root / "dovecot.log"
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        self.cert, self.key = self_signed_cert(self.root)
        os.chmod(self.key, 0o644)
        self.extra_conf = extra_conf
        self._write_conf()

    # --- configuration -------------------------------------------------

    def _write_conf(self):
        r = self.root
        run_user = pwd.getpwuid(os.geteuid()).pw_name
        folders = "".join(
            f"  mailbox {name} {{\n    auto = subscribe\n    special_use = {use}\n  }}\n"
            for name, use in SPECIAL_FOLDERS)
        not_root = os.geteuid() != 0
        users = (f"default_internal_user = {run_user}\ndefault_login_user = {run_user}\n"
                 if not_root else "")
        conf = f"""
base_dir = {r}/run
state_dir = {r}/state
log_path = {self.log_path}
info_log_path = {self.log_path}
protocols = imap
listen = {self.host}
first_valid_uid = 1
{users}
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.key}
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_plugins =
protocol imap {{
  mail_max_userip_connections = 1000
}}
namespace inbox {{
  inbox = yes
  separator = /
  prefix =
{folders}}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {r}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.ports["imap"]}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.ports["imaps"]}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
}}
service submission-login {{
  chroot =
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
  }}
}}
service anvil {{
  chroot =
}}
service imap-urlauth-login {{
  chroot =
}}
{self.extra_conf}
"""
        (r / "dovecot.conf").write_text(conf)
        (r / "run").mkdir(exist_ok=True)
        (r / "state").mkdir(exist_ok=True)
        self._write_passwd()

    def _write_passwd(self, path=None):
        lines = []
        for user, pw in self.users.items():
            home = self.home(user)
            lines.append(f"{user}:{{PLAIN}}{pw}:{self.uid}:{self.gid}::{home}::")
        p = path or self.root / "passwd"
        p.write_text("\n".join(lines) + "\n")
        os.chmod(p, 0o644)

    def home(self, user):
        return self.mail_root / user.replace("@", "_at_")

    def maildir(self, user):
        return self.home(user) / "Maildir"

    def pool_user(self):
        """An account written before the start: (user, password)."""
        user = self.pool.pop(0)
        self._make_home(user)
        return user, self.users[user]

    def _make_home(self, user):
        home = self.home(user)
        home.mkdir(exist_ok=True)
        os.chown(home, self.uid, self.gid)

    def add_user(self, user, password):
        assert ":" not in password
        if self.users.get(user) == password:
            if user in self.pool:
                self.pool.remove(user)
            self._make_home(user)
            return
        self.users[user] = password
        self._make_home(user)
        tmp = self.root / "passwd.new"
        self._write_passwd(tmp)
        os.rename(tmp, self.root / "passwd")
        if self.proc is not None:
            # the passwd-file is checked at most once a second
            time.sleep(1.1)

    # --- the server ----------------------------------------------------

    def start(self, timeout=20.0):
        self._logf = open(self.root / "stdout.log", "ab")
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdin=subprocess.DEVNULL, stdout=self._logf, stderr=self._logf,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
        deadline = time.monotonic() + timeout
        for port in self.ports.values():
            while True:
                if self.proc.poll() is not None:
                    pytest.fail(f"dovecot exited {self.proc.returncode}: {self.log()[-3000:]}")
                try:
                    with socket.create_connection((self.host, port), timeout=5) as s:
                        s.settimeout(5)
                        if port == self.ports["imap"]:
                            greet = s.recv(4096)
                            assert greet.startswith(b"* OK"), greet
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"dovecot did not listen on {port}: {self.log()[-3000:]}")
                    time.sleep(0.05)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20.0):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self._logf.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self):
        out = ""
        for name in ("dovecot.log", "stdout.log"):
            p = self.root / name
            if p.exists():
                out += p.read_text(errors="replace")
        return out

    def port(self, listener="imap"):
        return self.ports[listener]
