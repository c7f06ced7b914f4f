#!/usr/bin/python3
"""IMAP benchmark: tern against a private Dovecot, in the same run, on the
same messages (issue 10 "Performance").

Run through bench/imap.sh (or `bench/run.sh BUILD_DIR imap`):

    bench/imap.sh BUILD_DIR

Both servers listen on 127.0.0.1 with their own data in a work directory
and keep mail in Maildir on the same file system. For each server:

  append/s     IMAP_APPENDS messages (~2-5 KB, deterministic) appended to an
               empty INBOX by IMAP_APPEND_SESSIONS sessions at once, one
               APPEND at a time each (LITERAL+), every OK waited for
  index s      the first LOGIN and SELECT of a folder of IMAP_FOLDER messages that were
               put into its Maildir cur/ directly (both servers then read
               every file once; tern also parses and caches ENVELOPE and
               BODYSTRUCTURE, Dovecot builds its index and cache lazily)
  select s     SELECT of that folder again (best of IMAP_ROUNDS)
  fetch s      FETCH 1:* (FLAGS ENVELOPE) on it, every byte of the answer
               read (best of IMAP_ROUNDS; the first run is reported too)
  search s     UID SEARCH SUBJECT <a word in 1% of the subjects>, and
               UID SEARCH BODY <a word in 1% of the bodies> (best of rounds)
  idle KiB     IMAP_IDLE connections logged in, SELECT (an empty INBOX) and
               IDLE; the server's resident memory before and after, per
               connection (tern: one process, VmRSS; Dovecot: the sum over
               its processes, RSS and PSS)

A server that does not greet on its IMAP port is skipped with a message
(tern before its IMAP server existed). Every wait is bounded. Ratios are
tern over Dovecot for throughput (goal >= 2) and the idle figure is
checked against issue 10's goal (< 16 KiB per connection).

Environment (defaults in brackets):
  IMAP_APPENDS          messages appended [5000]
  IMAP_APPEND_SESSIONS  sessions appending at once [4]
  IMAP_FOLDER           messages in the big folder [100000]
  IMAP_IDLE             idle IDLE-ing connections [5000]; 0: skip
  IMAP_ROUNDS           timed repetitions, the best counts [3]
  IMAP_SERVERS          which to run ["tern dovecot"]
  BENCH_TMP             where the work directory goes (disk-backed) [/var/tmp]
  BENCH_KEEP            1: keep the work directory

Raw results (key=value lines) go to BUILD_DIR/bench-imap.txt.
"""
import os
import pwd
import random
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from benchlib import BenchError, die, free_port, log, tree_pids  # noqa: E402
from imapclient import IMAPConn, Literal  # noqa: E402  (standard library only)

DOVECOT = "/usr/sbin/dovecot"
DOMAIN = "bench.test"
USERS = {"append": "append pw", "big": "big pw", "idle": "idle pw"}


def env_int(name, default):
    return int(os.environ.get(name, default))


APPENDS = env_int("IMAP_APPENDS", 5000)
APPEND_SESSIONS = env_int("IMAP_APPEND_SESSIONS", 4)
FOLDER = env_int("IMAP_FOLDER", 100000)
IDLE = env_int("IMAP_IDLE", 5000)
ROUNDS = env_int("IMAP_ROUNDS", 3)
SERVERS = os.environ.get("IMAP_SERVERS", "tern dovecot").split()

WORDS = ("report meeting budget lunch invoice travel project review draft notes agenda "
         "update status question answer reply forward schedule weekly monthly").split()


def message(i):
    """A deterministic message of ~2-5 KB; 1 in 100 has "zebrafish" in its
    subject, another 1 in 100 "okapi" in its body."""
    rnd = random.Random(i)
    subj = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 6)))
    if i % 100 == 7:
        subj += " zebrafish"
    lines = []
    for _ in range(rnd.randint(30, 70)):
        lines.append(" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(6, 12))))
    if i % 100 == 42:
        lines.insert(rnd.randint(0, len(lines)), "the okapi came by")
    body = "\r\n".join(lines) + "\r\n"
    day = 1 + i % 28
    return (f"From: Sender {i % 97} <sender{i % 97}@example.test>\r\n"
            f"To: Receiver <rcpt{i % 13}@{DOMAIN}>\r\n"
            f"Subject: {subj}\r\n"
            f"Date: Mon, {day:02d} Jun 2026 10:{i % 60:02d}:00 +0000\r\n"
            f"Message-ID: <m{i}@example.test>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
            f"\r\n{body}").encode()


# ---- servers ----------------------------------------------------------------

class Tern:
    name = "tern"

    def __init__(self, build, work):
        self.bin = os.path.join(build, "tern")
        if not os.access(self.bin, os.X_OK):
            die(f"{self.bin} missing: make bench builds it")
        self.dir = os.path.join(work, "tern")
        os.makedirs(self.dir)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "tern.toml")
        with open(self.conf, "w") as f:
            f.write(f'hostname = "bench.test"\ndata_dir = "{self.dir}/data"\n'
                    f'domains = ["{DOMAIN}"]\n'
                    # run as root: keep root on purpose; postmaster is required
                    f'user = "{"root" if os.geteuid() == 0 else ""}"\n'
                    f'postmaster = "append@{DOMAIN}"\n'
                    f'[listen]\nimap = ["127.0.0.1:{self.port}"]\n'
                    f'[limits]\nconnections = {max(IDLE * 2, 10000)}\n'
                    f'connections_per_ip = {max(IDLE * 2, 10000)}\n'
                    f'message_size = 52428800\n'
                    f'[delivery]\nnameserver = "127.0.0.1:{free_port()}"\n')
        for user, pw in USERS.items():
            r = subprocess.run([self.bin, "user", "add", "-c", self.conf, f"{user}@{DOMAIN}"],
                               input=pw + "\n", capture_output=True, text=True, timeout=60)
            if r.returncode:
                die(f"tern user add: {r.stderr}")
        self.proc = None

    def maildir(self, user):
        return os.path.join(self.dir, "data", "mail", DOMAIN, user)

    def start(self):
        self.log = open(os.path.join(self.dir, "serve.log"), "ab")
        self.proc = subprocess.Popen([self.bin, "serve", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log, cwd=self.dir)
        return wait_imap(self.port, self.name, self.proc)

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def own(self, path):
        pass


class Dovecot:
    name = "dovecot"

    def __init__(self, build, work):
        if not os.path.exists(DOVECOT):
            die("dovecot-imapd is not installed (scripts/deps.sh bench installs it)")
        self.dir = os.path.join(work, "dovecot")
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        d = self.dir
        with open(f"{d}/passwd", "w") as f:
            for user, pw in USERS.items():
                os.makedirs(f"{d}/home/{user}", exist_ok=True)
                os.chown(f"{d}/home/{user}", self.uid, self.gid)
                f.write(f"{user}@{DOMAIN}:{{PLAIN}}{pw}:{self.uid}:{self.gid}::{d}/home/{user}::\n")
        os.chmod(f"{d}/home", 0o755)
        limit = max(IDLE + 500, 1000)
        users = "" if os.geteuid() == 0 else (
            f"default_internal_user = {pwd.getpwuid(os.geteuid()).pw_name}\n"
            f"default_login_user = {pwd.getpwuid(os.geteuid()).pw_name}\n")
        with open(f"{d}/dovecot.conf", "w") as f:
            f.write(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
first_valid_uid = 1
{users}ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
default_process_limit = {limit}
default_client_limit = {limit * 2}
default_vsz_limit = 0
protocol imap {{
  mail_max_userip_connections = {limit}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
service imap-login {{
  chroot =
  service_count = 0
  process_min_avail = 2
  client_limit = {limit * 2}
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service imap {{
  process_limit = {limit}
}}
service anvil {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
service submission-login {{
  chroot =
}}
service imap-urlauth-login {{
  chroot =
}}
""")
        self.proc = None

    def maildir(self, user):
        return f"{self.dir}/home/{user}/Maildir"

    def own(self, path):
        for dirpath, dirnames, filenames in os.walk(path):
            os.chown(dirpath, self.uid, self.gid)
            for n in filenames:
                os.chown(os.path.join(dirpath, n), self.uid, self.gid)

    def start(self):
        self.log = open(f"{self.dir}/stdout.log", "ab")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", f"{self.dir}/dovecot.conf"],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        return wait_imap(self.port, self.name, self.proc)

    def pids(self):
        return tree_pids(self.proc.pid)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


def wait_imap(port, what, proc, secs=30):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        try:
            c = IMAPConn("127.0.0.1", port, timeout=2)
            g = c.greeting
            c.close()
            if g.startswith(b"* OK"):
                return g
        except (OSError, Exception):
            pass
        time.sleep(0.1)
    return None


# ---- measurements ----------------------------------------------------------

def login(srv, user):
    c = IMAPConn("127.0.0.1", srv.port, timeout=600)
    c.login(f"{user}@{DOMAIN}", USERS[user])
    return c


def bench_append(srv):
    per = APPENDS // APPEND_SESSIONS
    msgs = [message(i) for i in range(per * APPEND_SESSIONS)]
    conns = [login(srv, "append") for _ in range(APPEND_SESSIONS)]
    errors = []

    def worker(k):
        c = conns[k]
        try:
            for m in msgs[k * per:(k + 1) * per]:
                r = c.cmd("APPEND INBOX ", Literal(m, plus=True))
                if not r.ok:
                    errors.append(r.line)
                    return
        except Exception as e:   # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(APPEND_SESSIONS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=1800)
    secs = time.monotonic() - t0
    for c in conns:
        c.logout()
    if errors:
        die(f"{srv.name}: APPEND failed: {errors[0]}")
    return {"appends": len(msgs), "secs": round(secs, 3), "append_s": round(len(msgs) / secs, 1),
            "mb_s": round(sum(map(len, msgs)) / secs / 1e6, 2)}


def fill_folder(srv):
    """FOLDER messages straight into the Maildir's cur/ (as a migration or
    a restore would leave them), half of them \\Seen."""
    md = srv.maildir("big")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    host = socket.gethostname()
    for i in range(FOLDER):
        name = f"{1780000000 + i}.M{i}P1.{host}:2,{'S' if i % 2 else ''}"
        with open(os.path.join(md, "cur", name), "wb") as f:
            f.write(message(i))
    srv.own(md)


def timed(c, line):
    """Send a command, read every byte of the answer up to its tagged line;
    returns (seconds, bytes, status)."""
    tag = c.next_tag().encode()
    t0 = time.monotonic()
    c.send(tag + b" " + line.encode() + b"\r\n")
    total = 0
    buf = b""
    want = b"\r\n" + tag + b" "
    while True:
        chunk = c.sock.recv(1 << 20)
        if not chunk:
            die(f"connection closed during {line!r}")
        total += len(chunk)
        buf = (buf + chunk)[-65536:]
        i = buf.rfind(want)
        if i >= 0 and buf.endswith(b"\r\n") and buf.find(b"\r\n", i + 2) == len(buf) - 2:
            status = buf[i + len(want):].split(b" ", 1)[0].decode()
            return time.monotonic() - t0, total, status


def bench_folder(srv):
    # the first LOGIN and SELECT read the folder into the server's index
    # (tern opens the INBOX at login)
    t0 = time.monotonic()
    c = login(srv, "big")
    login_s = time.monotonic() - t0
    secs, _, st = timed(c, "SELECT INBOX")
    out = {"login_s": round(login_s, 3), "index_s": round(login_s + secs, 3)}
    if st != "OK":
        die(f"{srv.name}: SELECT failed")
    # let a server that indexes in the background finish: one FETCH of all
    # FLAGS is a barrier for both
    timed(c, "FETCH 1:* (FLAGS)")
    best = {}
    for r in range(ROUNDS):
        for key, cmd in (("select", "SELECT INBOX"), ("fetch", "FETCH 1:* (FLAGS ENVELOPE)"),
                         ("search_subject", "UID SEARCH SUBJECT zebrafish"),
                         ("search_body", "UID SEARCH BODY okapi")):
            secs, size, st = timed(c, cmd)
            if st != "OK":
                die(f"{srv.name}: {cmd} answered {st}")
            if r == 0:
                out[f"{key}_first_s"] = round(secs, 3)
            best[key] = min(best.get(key, secs), secs)
            if key == "fetch":
                out["fetch_bytes"] = size
    for k, v in best.items():
        out[f"{k}_s"] = round(v, 4)
    # the answers are right: FOLDER messages, 1% of them match
    r = c.cmd("UID SEARCH SUBJECT zebrafish")
    out["subject_hits"] = len(r.search())
    r = c.cmd("UID SEARCH BODY okapi")
    out["body_hits"] = len(r.search())
    c.logout()
    return out


def rss_kb(pids):
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def bench_idle(srv):
    """IDLE connections: LOGIN, SELECT and IDLE pipelined on each, then the
    "+" continuation awaited; memory read before and after."""
    time.sleep(1)
    pids = srv.pids()
    rss0, pss0 = rss_kb(pids)
    procs0 = len(pids)
    sel = selectors.DefaultSelector()
    conns = {}
    script = (f"a LOGIN idle@{DOMAIN} \"{USERS['idle']}\"\r\nb SELECT INBOX\r\nc IDLE\r\n").encode()
    idle = failed = 0
    deadline = time.monotonic() + max(300, IDLE / 10)
    pending = 0
    i = 0
    while (i < IDLE or pending) and time.monotonic() < deadline:
        # keep at most 200 logins in flight
        while i < IDLE and pending < 200:
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", srv.port))
            except BlockingIOError:
                pass
            conns[s] = [b"", False]
            sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
            pending += 1
            i += 1
        for key, ev in sel.select(timeout=1):
            s = key.fileobj
            st = conns[s]
            if ev & selectors.EVENT_WRITE and not st[1]:
                try:
                    s.send(script)
                except OSError:
                    pass
                st[1] = True
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                pending -= 1
                failed += 1
                continue
            st[0] += data
            if b"\r\n+ " in st[0] or st[0].startswith(b"+ ") or b"\r\n+\r\n" in st[0]:
                sel.unregister(s)
                pending -= 1
                idle += 1
                st[0] = b""
            elif b"\r\na NO" in st[0] or b"\r\nb NO" in st[0] or b"\r\nc BAD" in st[0]:
                sel.unregister(s)
                pending -= 1
                failed += 1
    time.sleep(2)
    pids = srv.pids()
    rss1, pss1 = rss_kb(pids)
    out = {"conns": IDLE, "idle": idle, "failed": failed, "procs_before": procs0,
           "procs_after": len(pids), "rss_before_kb": rss0, "rss_after_kb": rss1,
           "pss_before_kb": pss0, "pss_after_kb": pss1,
           "rss_per_conn_kb": round((rss1 - rss0) / max(idle, 1), 2),
           "pss_per_conn_kb": round((pss1 - pss0) / max(idle, 1), 2)}
    for s in conns:
        try:
            s.close()
        except OSError:
            pass
    return out


# ---- main -------------------------------------------------------------------

def fmt(d):
    return " ".join(f"{k}={v}" for k, v in d.items())


def ratio(a, b, higher_better=True):
    if not a or not b:
        return "-"
    return f"{(a / b if higher_better else b / a):.2f}"


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    build = os.path.abspath(sys.argv[1])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(IDLE * 2 + 1000, soft))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < IDLE + 100:
        log(f"file limit {want} is below IMAP_IDLE={IDLE}: lower IMAP_IDLE or raise the hard limit")
    work = tempfile.mkdtemp(prefix="tern-bench-imap-", dir=os.environ.get("BENCH_TMP", "/var/tmp"))
    os.chmod(work, 0o755)
    results = {}
    raw = open(os.path.join(build, "bench-imap.txt"), "w")
    try:
        for name in SERVERS:
            srv = (Tern if name == "tern" else Dovecot)(build, work)
            log(f"{name}: filling a {FOLDER}-message folder...")
            fill_folder(srv)
            if srv.start() is None:
                log(f"{name}: no IMAP greeting on 127.0.0.1:{srv.port}: skipped "
                    f"({'tern serve has no IMAP server in this build' if name == 'tern' else 'see its log'})")
                srv.stop()
                continue
            try:
                res = {}
                log(f"{name}: {APPENDS} APPENDs by {APPEND_SESSIONS} sessions...")
                res["append"] = bench_append(srv)
                log(f"{name}: the {FOLDER}-message folder...")
                res["folder"] = bench_folder(srv)
                if IDLE:
                    log(f"{name}: {IDLE} idle connections...")
                    res["idle"] = bench_idle(srv)
                results[name] = res
                for k, v in res.items():
                    raw.write(f"server={name} test={k} {fmt(v)}\n")
                    raw.flush()
            finally:
                srv.stop()
    except BenchError as e:
        log(f"imap bench: {e}")
        sys.exit(1)
    finally:
        raw.close()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"work directory kept: {work}")
    report(results)


def report(results):
    t, d = results.get("tern"), results.get("dovecot")
    print(f"== imap: tern vs Dovecot - {APPENDS} APPENDs, a {FOLDER}-message folder, "
          f"{IDLE} idle IDLE connections (best of {ROUNDS})")
    print(f"{'measure':<34} {'tern':>12} {'Dovecot':>12} {'ratio':>7}  goal")
    rows = [
        ("APPEND msgs/s", "append", "append_s", True),
        ("first LOGIN+SELECT (indexing) s", "folder", "index_s", False),
        ("SELECT s", "folder", "select_s", False),
        ("FETCH 1:* (FLAGS ENVELOPE) s", "folder", "fetch_s", False),
        ("  first FETCH s", "folder", "fetch_first_s", False),
        ("UID SEARCH SUBJECT s", "folder", "search_subject_s", False),
        ("UID SEARCH BODY s", "folder", "search_body_s", False),
    ]
    for label, test, key, hib in rows:
        a = (t or {}).get(test, {}).get(key)
        b = (d or {}).get(test, {}).get(key)
        r = ratio(a, b, hib)
        goal = "" if label.startswith(("  ", "first")) else (
            ">=2 " + ("met" if r != "-" and float(r) >= 2 else "below") if r != "-" else ">=2")
        print(f"{label:<34} {a if a is not None else '-':>12} {b if b is not None else '-':>12} {r:>7}  {goal}")
    for name, res in (("tern", t), ("Dovecot", d)):
        if res and "idle" in res:
            i = res["idle"]
            print(f"idle {name}: {i['idle']}/{i['conns']} connections idling, "
                  f"{i['procs_after']} processes; RSS {i['rss_before_kb']} -> {i['rss_after_kb']} KiB "
                  f"= {i['rss_per_conn_kb']} KiB per connection; PSS {i['pss_per_conn_kb']} KiB"
                  + ("  (goal < 16 KiB: " + ("met" if i["rss_per_conn_kb"] < 16 else "below") + ")"
                     if name == "tern" else ""))
    for name, res in (("tern", t), ("Dovecot", d)):
        if res:
            f = res["folder"]
            print(f"check {name}: SUBJECT hits {f['subject_hits']}, BODY hits {f['body_hits']} "
                  f"(expected {FOLDER // 100} each); FETCH answer {f['fetch_bytes']} bytes")
    print("   ratio: tern's rate over Dovecot's (times: Dovecot's over tern's); raw results in "
          "BUILD_DIR/bench-imap.txt")


if __name__ == "__main__":
    main()
