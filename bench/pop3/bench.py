#!/usr/bin/python3
"""POP3 benchmark: tern against a private Dovecot (dovecot-pop3d), same run.

Run through bench/pop3.sh (or `bench/run.sh BUILD_DIR pop3`):

    bench/pop3.sh BUILD_DIR

The same POP3_MESSAGES generated messages (fixed seed; CRLF line ends, as
SMTP delivers them; sizes 2-8 KB mostly, some 20-60 KB, a few 200-400 KB,
lines starting with "." here and there) are put into a Maildir new/ for
each server, as hard links of one corpus, named twice over (POP3_NAMES):
as Dovecot's own delivery names files, with their sizes in the name
(",S=5120,W=5120": Dovecot's LIST needs no look at the files), and plainly,
as Postfix's virtual(8), procmail or another MDA names them. Both listen on 127.0.0.1:

  tern     `tern serve`, one account, POP3 listener;
  Dovecot  Debian's dovecot-pop3d, a private instance (its own base_dir,
           state, log, passwd-file; chroots off) run as nobody, with
           Dovecot's defaults otherwise (the maildrop and its indexes in the
           Maildir).

Download: bench/pop3/pop3-fetch (a small C client) logs in, STAT, LIST,
UIDL, then RETR n and DELE n for every message, one command at a time as
fetchmail does, and QUIT; the time from connect until QUIT's answer (the
deletions done) counts. Before it, each server is given one untimed
session that lists the maildrop and quits, so both have indexed the new
files (tern's store and Dovecot's index are both built at the first access
of files another program dropped there; a server's own delivery would have
done it on arrival). Each round gets a fresh copy of the maildrop in an
account of its own; the servers take turns; the best round counts.

Memory: POP3_SESSIONS accounts with POP3_SESSION_MESSAGES messages each;
that many sessions log in and stay (TRANSACTION state, the maildrop
listed); the servers' memory before and after, divided by the sessions:
tern's RSS (one process), Dovecot's PSS summed over its processes (a
process per session, shared pages counted once), and its RSS sum.

Environment (defaults in brackets):
  POP3_MESSAGES          messages in the downloaded maildrop [10000]
  POP3_ROUNDS            download rounds per server, taking turns [2]
  POP3_SESSIONS          logged-in sessions for the memory figure [200]; 0: skip
  POP3_SESSION_MESSAGES  messages in each of those maildrops [20]
  POP3_SERVERS           which to run ["tern dovecot"]
  POP3_DEPTHS            download modes: 1 = one command at a time, N = up to N
                         commands pipelined ahead (RFC 2449 6.6) ["1 32"]
  POP3_NAMES             file namings: sizes (Dovecot's delivery), plain ["sizes plain"]
  BENCH_TMP              work directory's parent; a disk, not tmpfs [/var/tmp]
  BENCH_KEEP             1: keep the work directory

Raw results, one key=value line per measurement, go to BUILD_DIR/bench-pop3.txt.
"""
import grp
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import (BenchError, die, free_port, log, proc_cpu, tree_pids, wait_until)  # noqa: E402

DOVECOT = "/usr/sbin/dovecot"
DOMAIN = "bench.test"
USER = "fetch"
PASSWORD = "bench-password-1"
FETCH_TIMEOUT = 600


def pop3_greets(port, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(512).startswith(b"+OK")
    except OSError:
        return False


def wait_pop3(port, what, proc):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            die(f"{what} exited with status {proc.returncode} while starting")
        if pop3_greets(port):
            return
        time.sleep(0.1)
    die(f"{what} gave no +OK greeting on 127.0.0.1:{port} within 30 s")


# ------------------------------------------------------------- corpus ----

WORDS = ("mail", "server", "message", "the", "of", "and", "to", "a", "in", "is", "POP3",
         "download", "inbox", "report", "meeting", "tomorrow", "please", "find", "attached",
         "regards", "thanks", "quarterly", "numbers", "draft", "review", "update")


def make_message(rng, i):
    r = rng.random()
    if r < 0.90:
        size = rng.randint(2000, 8000)
    elif r < 0.99:
        size = rng.randint(20000, 60000)
    else:
        size = rng.randint(200000, 400000)
    head = (f"Return-Path: <sender{i % 97}@remote.test>\r\n"
            f"Received: from remote.test by mx.bench.test; Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            f"From: Sender {i % 97} <sender{i % 97}@remote.test>\r\n"
            f"To: <{USER}@{DOMAIN}>\r\n"
            f"Subject: message {i} {rng.choice(WORDS)} {rng.choice(WORDS)}\r\n"
            f"Date: Mon, 23 Nov 2026 10:{i // 60 % 60:02d}:{i % 60:02d} +0000\r\n"
            f"Message-ID: <{i}.bench@remote.test>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
    lines, n = [], len(head)
    while n < size:
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 12))]
        line = " ".join(words)
        if rng.random() < 0.02:
            line = "." + line      # byte-stuffing work for both
        lines.append(line)
        n += len(line) + 2
    return (head + "\r\n".join(lines) + "\r\n").encode()


# How the files are named: as Dovecot's own delivery (LDA, LMTP) names
# them, with the file's size (S=) and the CRLF form's (W=, the same here),
# so Dovecot answers LIST without looking at a file; or plainly, as
# Postfix's virtual(8), procmail or another MDA names them (time.unique.host)
NAMINGS = {"sizes": "S=,W= in the names (Dovecot's own delivery)",
           "plain": "plain names (Postfix virtual, procmail, ...)"}


def make_corpus(dirpath, count, seed, naming="sizes"):
    """count messages as files in dirpath; returns their total size."""
    os.makedirs(dirpath)
    rng = random.Random(seed)
    total = 0
    for i in range(count):
        data = make_message(rng, i)
        total += len(data)
        # Maildir base names: time.unique.host, in delivery order
        name = f"{1796000000 + i}.M{i}P1.bench.invalid"
        if naming == "sizes":
            name += f",S={len(data)},W={len(data)}"
        with open(os.path.join(dirpath, name), "wb") as f:
            f.write(data)
    return total


def fill_maildir(corpus, md, uid=None, gid=None):
    """A fresh Maildir at md whose new/ holds hard links of the corpus."""
    if os.path.exists(md):
        shutil.rmtree(md)
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, sub))
    for name in os.listdir(corpus):
        os.link(os.path.join(corpus, name), os.path.join(md, "new", name))
    if uid is not None:
        for dirpath, dirnames, filenames in os.walk(md):
            os.chown(dirpath, uid, gid)
            for n in filenames:
                os.chown(os.path.join(dirpath, n), uid, gid)


# ------------------------------------------------------------ servers ----

class Tern:
    name = "tern"

    def __init__(self, work, build, sessions):
        self.bin = os.path.join(build, "tern")
        self.dir = os.path.join(work, "tern")
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "tern.toml")
        self.port = free_port()
        self.sessions = sessions
        self.proc = None
        self.logf = None

    def setup(self, users):
        os.makedirs(self.dir)
        limit = max(1000, self.sessions + 200)
        with open(self.conf, "w") as f:
            f.write(f'# written by bench/pop3/bench.py\n'
                    f'hostname = "bench.invalid"\n'
                    f'data_dir = "{self.data}"\n'
                    f'domains = ["{DOMAIN}"]\n'
                    # run as root: keep root on purpose (tern refuses root
                    # without a user); postmaster is required
                    f'user = "{"root" if os.geteuid() == 0 else ""}"\n'
                    f'postmaster = "postmaster@{DOMAIN}"\n'
                    f'[listen]\n'
                    f'pop3 = ["127.0.0.1:{self.port}"]\n'
                    f'[limits]\n'
                    f'connections = {limit}\n'
                    f'connections_per_ip = {limit}\n')
        for u in users:
            r = subprocess.run([self.bin, "user", "add", "-c", self.conf, f"{u}@{DOMAIN}"],
                               input=PASSWORD + "\n", capture_output=True, text=True)
            if r.returncode != 0:
                die(f"tern user add {u}@{DOMAIN}: {r.stderr.strip()}")
        self.version = "tern"

    def login_name(self, user):
        return f"{user}@{DOMAIN}"

    def hashes(self):
        """The password hash of every account (yescrypt, libxcrypt)."""
        import sqlite3
        db = sqlite3.connect(os.path.join(self.data, "accounts.db"))
        try:
            return {a.split("@")[0]: h for a, h in db.execute("SELECT address, hash FROM users")}
        finally:
            db.close()

    def maildir(self, user):
        return os.path.join(self.data, "mail", DOMAIN, user)

    def fill(self, corpus, user):
        fill_maildir(corpus, self.maildir(user))

    def start(self):
        self.logf = open(os.path.join(self.dir, "tern.log"), "a")
        self.proc = subprocess.Popen([self.bin, "serve", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        wait_pop3(self.port, "tern serve", self.proc)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def pids(self):
        return [self.proc.pid]

    def settle(self):
        pass

    def cpu(self):
        return proc_cpu(self.proc.pid)


DOVECOT_CONF = """\
# written by bench/pop3/bench.py: a private instance, defaults otherwise
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = tern-bench-pop3-{port}
protocols = pop3
listen = 127.0.0.1
ssl = no
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
disable_plaintext_auth = no
default_process_limit = {procs}
default_client_limit = {clients}
mail_location = maildir:{root}/mail/%n
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {root}/passwd
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


class Dovecot:
    name = "Dovecot"

    def __init__(self, work, sessions):
        self.root = os.path.join(work, "dovecot")
        self.port = free_port()
        self.sessions = sessions
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        self.group = grp.getgrgid(self.gid).gr_name
        self.proc = None
        r = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True)
        self.version = "Dovecot " + r.stdout.strip()

    def setup(self, users, hashes):
        """hashes: {user: crypt(3) hash} (tern's own, so both servers spend
        the same work on a password check), or None for plain passwords."""
        for d in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.root, d))
        with open(os.path.join(self.root, "passwd"), "w") as f:
            for u in users:
                pw = f"{{CRYPT}}{hashes[u]}" if hashes else f"{{PLAIN}}{PASSWORD}"
                f.write(f"{u}:{pw}:{self.uid}:{self.gid}::{self.root}/mail/{u}::\n")
        with open(os.path.join(self.root, "dovecot.conf"), "w") as f:
            f.write(DOVECOT_CONF.format(root=self.root, user="nobody", group=self.group,
                                        port=self.port, procs=self.sessions * 2 + 100,
                                        clients=self.sessions * 2 + 1000))
        for dirpath, dirnames, filenames in os.walk(self.root):
            os.chown(dirpath, self.uid, self.gid)
            for n in filenames:
                os.chown(os.path.join(dirpath, n), self.uid, self.gid)

    def login_name(self, user):
        return f"{user}@{DOMAIN}"

    def maildir(self, user):
        return os.path.join(self.root, "mail", user)

    def fill(self, corpus, user):
        fill_maildir(corpus, self.maildir(user), self.uid, self.gid)

    def start(self):
        cmd = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
               DOVECOT, "-F", "-c", os.path.join(self.root, "dovecot.conf")]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.root, "master.err"), "wb"))
        wait_pop3(self.port, "dovecot", self.proc)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def pids(self):
        return tree_pids(self.proc.pid)

    def settle(self):
        """Wait until the session's pop3 process has ended and been reaped,
        so its CPU time is in the master's children's time."""
        def quiet():
            for p in self.pids():
                try:
                    with open(f"/proc/{p}/comm") as f:
                        if f.read().strip() == "pop3":
                            return False
                except OSError:
                    pass
            return True
        wait_until(quiet, 10, 0.02)

    def cpu(self):
        # the master, the processes alive, and those that ended (reaped by
        # the master: its children's time)
        pids = self.pids()
        return proc_cpu(self.proc.pid, children=True) + sum(proc_cpu(p) for p in pids[1:])


# ------------------------------------------------------------ measures ----

def kv(line):
    return dict(f.split("=", 1) for f in line.split() if "=" in f)


def pop3_fetch(tool, srv, user, list_only=False, depth=1):
    cmd = [tool, "-p", str(srv.port), "-u", srv.login_name(user), "-w", PASSWORD,
           "-P", str(depth)]
    if list_only:
        cmd.append("-l")
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=FETCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        die(f"pop3-fetch against {srv.name} ran past {FETCH_TIMEOUT} s")
    if r.returncode != 0:
        die(f"pop3-fetch against {srv.name}: {r.stderr.strip()}")
    return kv(r.stdout.strip())


def account(rnd, depth, naming):
    return f"{USER}{rnd}{'p' if depth > 1 else ''}{naming[0]}"


def download(tool, srv, corpus, raw, rnd, depth, naming):
    # an account per round and mode: a maildrop the server has never seen
    user = account(rnd, depth, naming)
    srv.fill(corpus, user)
    # the untimed first access: both index the files dropped in new/
    warm = pop3_fetch(tool, srv, user, list_only=True)
    os.sync()
    srv.settle()
    cpu0 = srv.cpu()
    res = pop3_fetch(tool, srv, user, depth=depth)
    srv.settle()
    cpu = srv.cpu() - cpu0
    left = sum(len(os.listdir(os.path.join(srv.maildir(user), d))) for d in ("new", "cur"))
    line = (f"test=download server={srv.name} round={rnd} depth={depth} names={naming} "
            f"first_access_s={warm['total_s']} "
            + " ".join(f"{k}={v}" for k, v in res.items()) + f" cpu_s={cpu:.2f} left={left}")
    raw.write(line + "\n")
    raw.flush()
    if left != 0:
        log(f"warning: {srv.name} left {left} messages after DELE of every one")
    return kv(line)


def mem_kb(pids, key):
    total = 0
    for p in pids:
        try:
            if key == "Pss":
                with open(f"/proc/{p}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
            else:
                with open(f"/proc/{p}/status") as f:
                    for line in f:
                        if line.startswith(key + ":"):
                            total += int(line.split()[1])
        except OSError:
            pass
    return total


def login_session(srv, user):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    f = s.makefile("rb")

    def expect_ok(what):
        line = f.readline()
        if not line.startswith(b"+OK"):
            die(f"{srv.name} {what} for {user}: {line!r}")
    expect_ok("greeting")
    s.sendall(f"USER {srv.login_name(user)}\r\n".encode())
    expect_ok("USER")
    s.sendall(f"PASS {PASSWORD}\r\n".encode())
    expect_ok("PASS")
    s.sendall(b"STAT\r\n")
    expect_ok("STAT")
    return s, f


def memory_test(srv, users, raw):
    time.sleep(1)
    pids = srv.pids()
    rss0, pss0 = mem_kb(pids, "VmRSS"), mem_kb(pids, "Pss")
    conns = [login_session(srv, u) for u in users]
    time.sleep(2)
    pids = srv.pids()
    rss1, pss1 = mem_kb(pids, "VmRSS"), mem_kb(pids, "Pss")
    n = len(conns)
    line = (f"test=memory server={srv.name} sessions={n} procs={len(pids)} "
            f"rss_before_kb={rss0} rss_after_kb={rss1} rss_per_session_kb={(rss1 - rss0) / n:.1f} "
            f"pss_before_kb={pss0} pss_after_kb={pss1} pss_per_session_kb={(pss1 - pss0) / n:.1f}")
    for s, f in conns:
        try:
            s.sendall(b"QUIT\r\n")
            f.readline()
        except OSError:
            pass
        s.close()
    raw.write(line + "\n")
    raw.flush()
    return kv(line)


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def main():
    if len(sys.argv) != 2:
        print("usage: bench/pop3.sh BUILD_DIR", file=sys.stderr)
        return 2
    build = sys.argv[1]
    messages = int(os.environ.get("POP3_MESSAGES", "10000"))
    rounds = int(os.environ.get("POP3_ROUNDS", "2"))
    sessions = int(os.environ.get("POP3_SESSIONS", "200"))
    session_msgs = int(os.environ.get("POP3_SESSION_MESSAGES", "20"))
    which = os.environ.get("POP3_SERVERS", "tern dovecot").split()
    depths = [int(x) for x in os.environ.get("POP3_DEPTHS", "1 32").split()]
    namings = os.environ.get("POP3_NAMES", "sizes plain").split()
    for n in namings:
        if n not in NAMINGS:
            die(f"POP3_NAMES: {n}? (known: {' '.join(NAMINGS)})")
    keep = os.environ.get("BENCH_KEEP") == "1"
    tool = os.path.join(build, "bench", "pop3-fetch")

    if os.geteuid() != 0:
        die("must run as root: Dovecot runs as nobody, and its files are given to nobody")
    if "dovecot" in which and not os.path.exists("/usr/lib/dovecot/pop3"):
        die("Debian's dovecot-pop3d is not installed (scripts/deps.sh bench)")
    for f in (os.path.join(build, "tern"), tool):
        if not os.access(f, os.X_OK):
            die(f"{f} missing: build with -DTERN_BENCH=ON (make bench)")

    tmp = os.environ.get("BENCH_TMP", "/var/tmp")
    work = tempfile.mkdtemp(prefix="tern-bench-pop3.", dir=tmp)
    os.chmod(work, 0o755)   # nobody (Dovecot) must reach its directory
    fstype = subprocess.run(["stat", "-f", "-c", "%T", work], capture_output=True,
                            text=True).stdout.strip()
    if fstype in ("tmpfs", "ramfs"):
        log(f"warning: {work} is on {fstype}: file system work costs nothing there; set BENCH_TMP")
    raw = open(os.path.join(build, "bench-pop3.txt"), "w")
    servers = []
    results = {}
    memory = {}
    try:
        log(f"pop3: generating {messages} messages...")
        corpora = {}
        for naming in namings:
            corpora[naming] = os.path.join(work, f"corpus-{naming}")
            total = make_corpus(corpora[naming], messages, 11, naming)
        small = os.path.join(work, "corpus-small")
        make_corpus(small, session_msgs, 12)
        users = [f"s{i}" for i in range(sessions)]
        if "tern" in which:
            servers.append(Tern(work, build, sessions))
        if "dovecot" in which:
            servers.append(Dovecot(work, sessions))
        accounts = [account(r + 1, d, n) for r in range(rounds) for d in depths
                    for n in namings] + users
        hashes = None
        for srv in servers:
            if isinstance(srv, Tern):
                srv.setup(accounts)
                hashes = srv.hashes()
            else:
                srv.setup(accounts, hashes)
            srv.start()
            for d in depths:
                for n in namings:
                    results[(srv.name, d, n)] = []
        for rnd in range(rounds):
            for n in namings:
                for d in depths:
                    for srv in servers:
                        log(f"pop3: {srv.name} round {rnd + 1}: download {messages} messages, "
                            f"{'one command at a time' if d == 1 else f'pipelined {d} deep'}, "
                            f"{n} names")
                        results[(srv.name, d, n)].append(
                            download(tool, srv, corpora[n], raw, rnd + 1, d, n))
        if sessions > 0:
            for srv in servers:
                for u in users:
                    srv.fill(small, u)
                log(f"pop3: {srv.name}: {sessions} logged-in sessions")
                memory[srv.name] = memory_test(srv, users, raw)
    except BenchError as e:
        log(f"pop3: {e}")
        return 1
    finally:
        for srv in servers:
            srv.stop()
        raw.close()
        if keep:
            log(f"pop3: work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    report(servers, messages, total, rounds, depths, namings, sessions, session_msgs, results,
           memory, build)
    return 0


def mode_name(d):
    return "one at a time" if d == 1 else f"pipelined {d}"


def report(servers, messages, total, rounds, depths, namings, sessions, session_msgs, results,
           memory, build):
    print(f"== pop3: download a {messages}-message maildrop ({total / 1e6:.1f} MB): login, "
          f"STAT, LIST, UIDL, RETR+DELE each, QUIT; best of {rounds}")
    print(f"{'server':<8} {'file names':<6} {'commands':<14} {'total s':>8} {'msgs/s':>7} | "
          f"{'login s':>7} {'list s':>7} {'retr s':>7} {'quit s':>7} | {'CPU s':>6} | "
          f"{'1st access s':>12}")
    best = {}
    for n in namings:
        for d in depths:
            for srv in servers:
                b = min(results[(srv.name, d, n)], key=lambda r: float(r["total_s"]))
                best[(srv.name, d, n)] = b
                print(f"{srv.name:<8} {n:<6} {mode_name(d):<14} {b['total_s']:>8} "
                      f"{b['msgs_s']:>7} | {b['login_s']:>7} {b['list_s']:>7} {b['retr_s']:>7} "
                      f"{b['quit_s']:>7} | {b['cpu_s']:>6} | {b['first_access_s']:>12}")
    if any(s.name == "tern" for s in servers) and any(s.name == "Dovecot" for s in servers):
        print()
        print(f"{'file names':<48} {'commands':<14} {'speed tern/Dovecot':>18} "
              f"{'(goal 1.50)':<11} {'CPU tern/Dovecot':>16}")
        for n in namings:
            for d in depths:
                t, v = best[("tern", d, n)], best[("Dovecot", d, n)]
                r = float(v["total_s"]) / float(t["total_s"])
                c = float(v["cpu_s"]) / max(float(t["cpu_s"]), 0.001)
                print(f"{NAMINGS[n]:<48} {mode_name(d):<14} {r:>18.2f} "
                      f"{'met' if r >= 1.5 else 'below':<11} {c:>16.2f}")
                if t["octets"] != v["octets"]:
                    print(f"   note: the servers' LIST sizes differ: tern {t['octets']}, "
                          f"Dovecot {v['octets']}")
    print("   1st access: the untimed session before (LIST of the new files: both index them);")
    print("   CPU: the server's, during the timed session; CPU tern/Dovecot: Dovecot's CPU "
          "over tern's")
    if memory:
        print()
        print(f"== pop3: memory per logged-in session ({sessions} sessions, "
              f"{session_msgs} messages each, TRANSACTION state)")
        print(f"{'server':<9} {'procs':>6} {'RSS KiB/session':>16} {'PSS KiB/session':>16}")
        for srv in servers:
            m = memory.get(srv.name)
            if m:
                print(f"{srv.name:<9} {m['procs']:>6} {m['rss_per_session_kb']:>16} "
                      f"{m['pss_per_session_kb']:>16}")
        print("   tern: one process (RSS); Dovecot: a process per session (PSS counts shared pages once)")
    print(f"   raw results: {build}/bench-pop3.txt")


if __name__ == "__main__":
    sys.exit(main())
