#!/usr/bin/python3
"""SMTP benchmark: tern against a private Postfix instance, in the same run.

Run through bench/smtp.sh (or `bench/run.sh BUILD_DIR smtp`):

    bench/smtp.sh BUILD_DIR

Both servers accept mail for bench.test on 127.0.0.1 and deliver it into
Maildir on the same file system, fsync on (tern always; Postfix by default:
cleanup(8) fsyncs the queue file before 250, virtual(8) the Maildir file).
Postfix's smtp-source sends the messages. For each number of concurrent
sessions, tern and Postfix take turns, each to a recipient of its own:

  accepted/s  = messages / wall time of smtp-source (every 250 to DATA in)
  delivered/s = messages / time from smtp-source's start until that many
                files are in the recipient's Maildir new/ and the server's
                queue is empty (each removes a message from its queue only
                once its delivery is on disk)

Before that, on freshly started servers: memory per idle connection
(bench/idle-conns.py). Everything is bounded in time; both servers are
stopped and the work directory removed at the end (BENCH_KEEP=1 keeps it).

Environment (defaults in brackets):
  SMTP_MESSAGES   messages per run [10000]
  SMTP_MESSAGES_1 messages per run with 1 session [2000] (a run of 10,000
                  one at a time takes ~20 s per server and round)
  SMTP_SIZE       smtp-source -l, body bytes per message [4096]
  SMTP_SESSIONS   concurrent sessions, space-separated ["1 20 100"]
  SMTP_ROUNDS     runs of each (server, sessions), taking turns; the best
                  counts [2]
  SMTP_IDLE       idle connections for the memory test [2000]; 0: skip
  SMTP_SERVERS    which to run ["tern postfix"]
  BENCH_TMP       where the work directory goes; must be a disk-backed file
                  system, not tmpfs, or fsync costs nothing [/var/tmp]
  BENCH_KEEP      1: keep the work directory (logs, Maildirs)

Raw results, one key=value line per measurement, go to BUILD_DIR/bench-smtp.txt.
"""
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import (BenchError, count_files, count_files_deep, die, free_port, greeting, log, proc_cpu, tree_pids, wait_greeting, wait_until)  # noqa: E402  (bench/benchlib.py)


HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
PY = "/usr/bin/python3"
SMTP_SOURCE = "/usr/sbin/smtp-source"
POSTFIX = "/usr/sbin/postfix"
DOMAIN = "bench.test"
SENDER = "sender@source.test"
DELIVER_TIMEOUT = 180   # seconds to wait for the last Maildir file after smtp-source ends
SOURCE_TIMEOUT = 300    # seconds smtp-source may take for one run


class Postfix:
    name = "Postfix"

    def __init__(self, work, idle):
        self.dir = os.path.join(work, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.port = free_port()
        self.uid = pwd.getpwnam("nobody").pw_uid
        self.gid = grp.getgrnam("nogroup").gr_gid
        self.smtpd_limit = max(150, idle + 100)
        self.users = []
        self.version = subprocess.run(["postconf", "-d", "-h", "mail_version"],
                                      capture_output=True, text=True).stdout.strip()

    def _ctl(self, *args):
        # postfix(1) reports errors on stderr only when it is a terminal,
        # else to syslog (and the maillog file once that is set up); run
        # it under script(1) so a failure says why.
        cmd = " ".join([POSTFIX, "-c", self.etc] + list(args))
        r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True)
        if r.returncode != 0:
            die(f"postfix {' '.join(args)} failed: {r.stdout.strip()} {r.stderr.strip()}")

    def setup(self, users):
        self.users = users
        for d in ("etc", "spool", "data", "mail"):
            os.makedirs(os.path.join(self.dir, d))
        os.chown(os.path.join(self.dir, "data"), pwd.getpwnam("postfix").pw_uid, -1)
        os.chown(os.path.join(self.dir, "mail"), self.uid, self.gid)
        subst = {"DIR": self.dir, "DOMAIN": DOMAIN, "UID": str(self.uid), "GID": str(self.gid),
                 "PORT": str(self.port), "SMTPD_LIMIT": str(self.smtpd_limit)}
        for name in ("main.cf", "master.cf"):
            with open(os.path.join(BENCH, "postfix", name + ".in")) as f:
                text = f.read()
            text = re.sub(r"@([A-Z_]+)@", lambda m: subst[m.group(1)], text)
            with open(os.path.join(self.etc, name), "w") as f:
                f.write(text)
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            for u in users:
                f.write(f"{u}@{DOMAIN} {u}/Maildir/\n")
        self._ctl("check")

    def start(self):
        self._ctl("start")
        wait_greeting(self.port, "Postfix")

    def stop(self):
        pid = self.pid()
        if pid is None:
            return
        cmd = f"{POSTFIX} -c {self.etc} stop"
        subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True)
        if not wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 30, 0.2):
            os.kill(pid, signal.SIGKILL)

    def pid(self):
        try:
            with open(os.path.join(self.dir, "spool", "pid", "master.pid")) as f:
                pid = int(f.read().strip())
            return pid if os.path.exists(f"/proc/{pid}") else None
        except (OSError, ValueError):
            return None

    def maildir_new(self, user):
        return os.path.join(self.dir, "mail", user, "Maildir", "new")

    def queue_empty(self):
        spool = os.path.join(self.dir, "spool")
        return all(count_files_deep(os.path.join(spool, q)) == 0
                   for q in ("maildrop", "incoming", "active", "deferred", "hold"))

    def idle_args(self):
        return ["--tree", str(self.pid())]

    def cpu(self):
        """CPU seconds used so far by master, its live children and those it reaped."""
        master = self.pid()
        return proc_cpu(master, True) + sum(proc_cpu(p) for p in tree_pids(master)[1:])


class Tern:
    name = "tern"

    def __init__(self, work, build, idle):
        self.bin = os.path.join(build, "tern")
        self.dir = os.path.join(work, "tern")
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "tern.toml")
        self.port = free_port()
        self.idle = idle
        self.proc = None
        self.logf = None
        self.version = ""

    def setup(self, users):
        os.makedirs(self.dir)
        limit = max(1000, self.idle + 200)
        with open(self.conf, "w") as f:
            f.write(f'# written by bench/smtp/bench.py\n'
                    f'hostname = "bench.invalid"\n'
                    f'data_dir = "{self.data}"\n'
                    f'domains = ["{DOMAIN}"]\n'
                    # run as root: keep root on purpose (tern refuses root
                    # without a user); postmaster is required
                    f'user = "{"root" if os.geteuid() == 0 else ""}"\n'
                    f'postmaster = "postmaster@{DOMAIN}"\n'
                    f'[listen]\n'
                    f'smtp = ["127.0.0.1:{self.port}"]\n'
                    f'[limits]\n'
                    f'connections = {limit}\n'
                    f'connections_per_ip = {limit}\n')
        for u in users:
            r = subprocess.run([self.bin, "user", "add", "-c", self.conf, f"{u}@{DOMAIN}"],
                               input="bench-password-1\n", capture_output=True, text=True)
            if r.returncode != 0:
                die(f"tern user add {u}@{DOMAIN}: {r.stderr.strip()}")
        r = subprocess.run([self.bin, "--version"], capture_output=True, text=True)
        self.version = (r.stdout.strip() or r.stderr.strip()).split("\n")[0]

    def start(self):
        self.logf = open(os.path.join(self.dir, "tern.log"), "a")
        self.proc = subprocess.Popen([self.bin, "serve", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        wait_greeting(self.port, "tern serve", self.proc)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def pid(self):
        return self.proc.pid

    def maildir_new(self, user):
        return os.path.join(self.data, "mail", DOMAIN, user, "new")

    def queue_empty(self):
        return count_files_deep(os.path.join(self.data, "queue", "env")) == 0

    def idle_args(self):
        return ["--pid", str(self.proc.pid)]

    def cpu(self):
        return proc_cpu(self.proc.pid)


def kv(line):
    return dict(f.split("=", 1) for f in line.split() if "=" in f)


def idle_test(srv, count, raw):
    r = subprocess.run([PY, os.path.join(BENCH, "idle-conns.py"), "--port", str(srv.port),
                        "--count", str(count)] + srv.idle_args(),
                       capture_output=True, text=True, timeout=300)
    line = r.stdout.strip()
    if r.returncode not in (0, 1) or not line:
        die(f"idle-conns.py against {srv.name} failed: {r.stderr.strip()}")
    line = f"test=idle server={srv.name} " + line
    raw.write(line + "\n")
    raw.flush()
    return kv(line)


def throughput(srv, sessions, messages, size, user, raw):
    newdir = srv.maildir_new(user)
    # the previous run's messages have left the queue; its writes are on disk
    if not wait_until(srv.queue_empty, 120, 0.2):
        log(f"warning: {srv.name}'s queue is not empty before the {sessions}-session run")
    os.sync()
    time.sleep(1)
    before = count_files(newdir)
    want = before + messages
    cmd = [SMTP_SOURCE, "-s", str(sessions), "-m", str(messages), "-l", str(size),
           "-f", SENDER, "-t", f"{user}@{DOMAIN}", f"127.0.0.1:{srv.port}"]
    cpu0 = srv.cpu()
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=SOURCE_TIMEOUT)
        rc, err = r.returncode, r.stderr.strip()
    except subprocess.TimeoutExpired:
        rc, err = "timeout", f"smtp-source ran past {SOURCE_TIMEOUT} s"
    t_acc = time.monotonic() - t0
    # smtp-source is done: every message it sent was answered 250 (or it
    # said why not). Now watch the Maildir fill; it cannot be full before.
    done = wait_until(lambda: count_files(newdir) >= want, DELIVER_TIMEOUT, 0.02)
    t_new = time.monotonic() - t0
    # ...and every message is off the queue: both remove the queue file only
    # once the delivery is on disk (tern renames into new/ before its batch
    # syncfs, Postfix after its fsync), so this is the fair end point.
    done = done and wait_until(srv.queue_empty, DELIVER_TIMEOUT, 0.02)
    t_del = time.monotonic() - t0
    cpu = srv.cpu() - cpu0
    got = count_files(newdir) - before
    line = (f"test=throughput server={srv.name} sessions={sessions} messages={messages} size={size} "
            f"accept_s={t_acc:.3f} in_new_s={t_new:.3f} deliver_s={t_del:.3f} delivered={got} "
            f"accepted_per_s={messages / t_acc:.1f} delivered_per_s={(got / t_del) if done else 0:.1f} "
            f"cpu_s={cpu:.2f} cpu_ms_per_msg={cpu * 1000 / messages:.3f} source_rc={rc}")
    raw.write(line + "\n")
    raw.flush()
    if rc != 0 or not done:
        log(f"warning: {srv.name}, {sessions} sessions: smtp-source status {rc}, "
            f"{got} of {messages} delivered: {err[-300:]}")
    return kv(line)


def main():
    if len(sys.argv) != 2:
        print("usage: bench/smtp.sh BUILD_DIR", file=sys.stderr)
        return 2
    build = sys.argv[1]
    messages = int(os.environ.get("SMTP_MESSAGES", "10000"))
    messages_1 = int(os.environ.get("SMTP_MESSAGES_1", "2000"))
    size = int(os.environ.get("SMTP_SIZE", "4096"))
    sessions = [int(x) for x in os.environ.get("SMTP_SESSIONS", "1 20 100").split()]
    idle = int(os.environ.get("SMTP_IDLE", "2000"))
    rounds = int(os.environ.get("SMTP_ROUNDS", "2"))
    which = os.environ.get("SMTP_SERVERS", "tern postfix").split()
    keep = os.environ.get("BENCH_KEEP") == "1"

    if os.geteuid() != 0:
        die("must run as root: Postfix's master starts as root and drops to its mail_owner")
    for f in (SMTP_SOURCE, POSTFIX):
        if not os.access(f, os.X_OK):
            die(f"{f} missing: install Debian's postfix (scripts/deps.sh bench)")
    if "tern" in which and not os.access(os.path.join(build, "tern"), os.X_OK):
        die(f"{build}/tern missing: build it first (make bench)")

    tmp = os.environ.get("BENCH_TMP", "/var/tmp")
    work = tempfile.mkdtemp(prefix="tern-bench-smtp.", dir=tmp)
    os.chmod(work, 0o755)  # Postfix's daemons and nobody must reach their dirs
    fstype = subprocess.run(["stat", "-f", "-c", "%T", work], capture_output=True, text=True).stdout.strip()
    if fstype in ("tmpfs", "ramfs"):
        log(f"warning: {work} is on {fstype}: fsync costs nothing there; set BENCH_TMP to a disk")

    users = [f"s{s}r{r}" for s in sessions for r in range(rounds)]
    servers = []
    if "tern" in which:
        servers.append(Tern(work, build, idle))
    if "postfix" in which:
        servers.append(Postfix(work, idle))
    raw = open(os.path.join(build, "bench-smtp.txt"), "w")
    raw.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} work={work} fs={fstype} "
              f"messages={messages} messages_1={messages_1} size={size} sessions={','.join(map(str, sessions))} rounds={rounds} idle={idle}\n")
    results = {}
    idle_res = {}
    try:
        for srv in servers:
            srv.setup(users)
            srv.start()
        # Memory first, on servers that have served nothing yet.
        if idle > 0:
            for srv in servers:
                log(f"idle: {idle} connections to {srv.name}...")
                idle_res[srv.name] = idle_test(srv, idle, raw)
            # Start again, so that neither carries 2,000 idle processes or
            # freed session memory into the throughput runs.
            for srv in servers:
                srv.stop()
                srv.start()
        for s in sessions:
            for r in range(rounds):
                for srv in servers:
                    n = messages_1 if s == 1 else messages
                    log(f"throughput: {srv.name}, {s} sessions, {n} messages, round {r + 1}...")
                    res = throughput(srv, s, n, size, f"s{s}r{r}", raw)
                    best = results.setdefault((srv.name, s), {"messages": n})
                    for k in ("accepted_per_s", "delivered_per_s"):
                        if float(res[k]) > float(best.get(k, "-1")):
                            best[k] = res[k]
                    k = "cpu_ms_per_msg"
                    if float(res[k]) < float(best.get(k, "1e9")):
                        best[k] = res[k]
    finally:
        for srv in servers:
            srv.stop()
        raw.close()
        if keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    report(servers, sessions, messages, messages_1, size, rounds, idle, results, idle_res, build)
    return 0


def ratio(a, b):
    try:
        return float(a) / float(b)
    except (ValueError, ZeroDivisionError, TypeError):
        return 0.0


def report(servers, sessions, messages, messages_1, size, rounds, idle, results, idle_res, build):
    names = [s.name for s in servers]
    pf = next((s for s in servers if s.name == "Postfix"), None)
    print(f"== smtp: tern vs Postfix {pf.version if pf else '-'} - smtp-source, {size}-byte bodies, "
          f"one message per connection, Maildir delivery, fsync on; best of {rounds} runs")
    print(f"{'sessions':>8} {'msgs':>6} | {'tern acc/s':>10} {'del/s':>7} {'CPU ms':>6} | "
          f"{'Postfix acc/s':>13} {'del/s':>7} {'CPU ms':>6} | {'acc ratio':>9} {'del ratio':>9} "
          f"{'CPU ratio':>9} | goal >= 2")
    for s in sessions:
        t = results.get(("tern", s), {})
        p = results.get(("Postfix", s), {})
        ra = ratio(t.get("accepted_per_s"), p.get("accepted_per_s"))
        rd = ratio(t.get("delivered_per_s"), p.get("delivered_per_s"))
        rc = ratio(p.get("cpu_ms_per_msg"), t.get("cpu_ms_per_msg"))
        goal = "-" if s < 20 or not (t and p) else ("met" if min(ra, rd) >= 2.0 else "below")
        n = messages_1 if s == 1 else messages
        print(f"{s:>8} {n:>6} | {t.get('accepted_per_s', '-'):>10} {t.get('delivered_per_s', '-'):>7} "
              f"{t.get('cpu_ms_per_msg', '-'):>6} | {p.get('accepted_per_s', '-'):>13} "
              f"{p.get('delivered_per_s', '-'):>7} {p.get('cpu_ms_per_msg', '-'):>6} | "
              f"{ra:>9.2f} {rd:>9.2f} {rc:>9.2f} | {goal}")
    print("   acc/s: messages / smtp-source wall time; del/s: messages / time until all are in Maildir new/")
    print("   and off the queue; CPU ms: server CPU time per message (all threads or processes), lowest;")
    print("   CPU ratio: Postfix CPU ms over tern's. Goal: acc and del ratios >= 2 at 20 and 100 sessions")
    if idle_res:
        print()
        print(f"== smtp: memory per idle connection, {idle} connections open after the greeting (KiB)")
        for n in names:
            r = idle_res.get(n)
            if not r:
                continue
            note = ""
            if n == "tern":
                per = float(r["rss_per_conn_kb"])
                note = f"VmRSS growth / connection; goal < 32: {'met' if per < 32 else 'below'}"
            else:
                note = (f"Pss growth / connection ({r['procs_after']} processes; "
                        f"RSS sum would say {r['rss_per_conn_kb']})")
                per = float(r["pss_per_conn_kb"])
            print(f"   {n:8} {per:>8.1f}  greeted {r['greeted']}/{r['conns']} in {r['secs']} s; {note}")
    print(f"   raw results: {os.path.join(build, 'bench-smtp.txt')}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log(f"bench/smtp: {e}")
        sys.exit(1)
