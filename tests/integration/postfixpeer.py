"""A private Postfix instance on loopback for interoperability tests.

Everything lives under one directory of its own (config_directory,
queue_directory, data_directory, the Maildirs and the log); smtpd listens
on HOST:PORT only (master.cf), so the system's /etc/postfix, its queue and
port 25 are never touched. Started and stopped with `postfix -c DIR
start|stop`. Needs root (Postfix's master starts as root and its daemons
run as the `postfix` user) and Debian's postfix package (scripts/deps.sh
test).

    peer = PostfixPeer("127.0.0.2", port, domain="pf.test", users=["bob@pf.test"],
                       relayhost="[127.0.0.1]:2525")
    peer.start()
    peer.wait_messages("bob@pf.test", 1)      # its Maildir
    peer.queue()                              # `postqueue -p` output
    peer.stop()

With tls=True, smtpd offers STARTTLS (a self-signed certificate made with
openssl) and the smtp client uses it when offered.
Mail for `domain` is delivered by virtual(8) into DIR/mail/<local>/Maildir/;
everything else goes to `relayhost` ([ip]:port, no DNS) or, without one,
stays deferred. Clients from 127.0.0.0/8 may relay (mynetworks).
Every wait is bounded in time.
"""
import email
import email.policy
import os
import pathlib
import pwd
import grp
import shutil
import subprocess
import tempfile
import time

import pytest

POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"


def available():
    """(True, "") when a private Postfix can run here, else (False, why)."""
    if not os.path.exists(POSTFIX):
        return False, "Debian's postfix package is not installed (scripts/deps.sh test)"
    if os.geteuid() != 0:
        return False, "a private Postfix instance needs root"
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError:
        return False, "the postfix user or postdrop group is missing"
    return True, ""


MAIN_CF = """\
compatibility_level = 3.6
config_directory = {dir}/etc
queue_directory = {dir}/spool
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
syslog_name = postfix-tern-test
myhostname = {hostname}
mydomain = {domain}
myorigin = $myhostname
mydestination =
# Postfix wants an address configured on an interface here, and
# 127.0.0.2 and up are only routed to lo: smtpd's own address is in
# master.cf, which binds it all the same
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = {relayhost}
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {dir}/mail
virtual_mailbox_maps = texthash:{dir}/etc/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = 1
# no DNS: peers are [ip]:port
smtp_host_lookup = native
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_recipient_restrictions =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# short waits, so a test sees a retry and never an hour-long backoff
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
biff = no
"""

MASTER_CF = """\
{host}:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
"""

# STARTTLS both ways (tls=True): smtpd offers it with a self-signed
# certificate, the smtp client uses it when offered (RFC 3207)
TLS_CF = """\
smtpd_tls_cert_file = {dir}/etc/cert.pem
smtpd_tls_key_file = {dir}/etc/key.pem
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtpd_tls_loglevel = 1
"""


def _wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


class PostfixPeer:
    def __init__(self, host, port, domain="pf.test", users=(), relayhost="",
                 hostname=None, tls=False):
        self.host = host
        self.port = port
        self.domain = domain
        # not under pytest's tmp_path: that is mode 0700, and Postfix's
        # daemons run as the postfix user
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="tern-postfix-"))
        os.chmod(self.dir, 0o755)
        self.etc = self.dir / "etc"
        self.etc.mkdir()
        (self.dir / "spool").mkdir()
        (self.dir / "data").mkdir()
        (self.dir / "mail").mkdir()
        pf = pwd.getpwnam("postfix")
        self.uid, self.gid = pf.pw_uid, pf.pw_gid
        os.chown(self.dir / "data", self.uid, self.gid)
        os.chown(self.dir / "mail", self.uid, self.gid)
        (self.etc / "main.cf").write_text(MAIN_CF.format(
            dir=self.dir, host=host, domain=domain, relayhost=relayhost,
            hostname=hostname or f"postfix.{domain}", uid=self.uid, gid=self.gid))
        if tls:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "2", "-subj", f"/CN={hostname or 'postfix.' + domain}",
                            "-keyout", str(self.etc / "key.pem"),
                            "-out", str(self.etc / "cert.pem")],
                           check=True, capture_output=True, timeout=60)
            os.chmod(self.etc / "key.pem", 0o600)
            with open(self.etc / "main.cf", "a") as f:
                f.write(TLS_CF.format(dir=self.dir))
        (self.etc / "master.cf").write_text(MASTER_CF.format(host=host, port=port))
        (self.etc / "vmailbox").write_text(
            "".join(f"{u} {u.split('@')[0]}/Maildir/\n" for u in users))
        self.started = False

    def _postfix(self, *args, check=True):
        res = subprocess.run([POSTFIX, "-c", str(self.etc), *args], capture_output=True,
                             text=True, timeout=60)
        if check and res.returncode != 0:
            pytest.fail(f"postfix {' '.join(args)} failed ({res.returncode}): "
                        f"{res.stdout}{res.stderr}{self._why()}\n{self.log()[-3000:]}")
        return res

    def _why(self):
        """Postfix writes early errors to stderr only when it is a
        terminal (else to the log daemon, not running yet): ask `postfix
        check` again under script(1) for the reason."""
        if not shutil.which("script"):
            return ""
        res = subprocess.run(["script", "-qc", f"{POSTFIX} -c {self.etc} check", "/dev/null"],
                             capture_output=True, text=True, timeout=60)
        return res.stdout

    def start(self, timeout=30.0):
        self._postfix("start")
        self.started = True
        import socket

        def listening():
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as s:
                    s.settimeout(5)
                    return s.recv(512).startswith(b"220")
            except OSError:
                return False
        _wait(listening, timeout, f"postfix smtpd on {self.host}:{self.port}; log:\n{self.log()}")
        return self

    def stop(self):
        if self.started:
            self._postfix("stop", check=False)
            # master waits for its children; wait for its pid file to go
            pid = self.dir / "spool" / "pid" / "master.pid"

            def gone():
                try:
                    os.kill(int(pid.read_text().strip()), 0)
                    return False
                except (OSError, ValueError):
                    return True
            _wait(gone, 30, "postfix master to exit")
            self.started = False

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        p = self.dir / "maillog"
        return p.read_text(errors="replace") if p.exists() else ""

    def queue(self):
        """`postqueue -p` of this instance."""
        res = subprocess.run([POSTQUEUE, "-c", str(self.etc), "-p"], capture_output=True,
                             text=True, timeout=30)
        return res.stdout + res.stderr

    def queue_empty(self):
        return "Mail queue is empty" in self.queue()

    def flush(self):
        subprocess.run([POSTQUEUE, "-c", str(self.etc), "-f"], capture_output=True, timeout=30)

    def messages(self, address):
        md = self.dir / "mail" / address.split("@")[0] / "Maildir"
        files = []
        for sub in ("new", "cur"):
            d = md / sub
            if d.is_dir():
                files += [p for p in d.iterdir() if p.is_file()]
        return sorted(files)

    def wait_messages(self, address, count, timeout=30.0):
        return _wait(lambda: len(self.messages(address)) >= count and self.messages(address),
                     timeout, f"{count} message(s) for {address} at postfix; log:\n"
                     f"{self.log()[-3000:]}")

    @staticmethod
    def parsed(path):
        return email.message_from_bytes(pathlib.Path(path).read_bytes(),
                                        policy=email.policy.default)
