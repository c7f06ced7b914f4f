#!/usr/bin/python3
"""Outbound benchmark: tern's queue -> smtp-sink against Postfix's, same run.

Run through bench/outbound.sh (or `bench/run.sh BUILD_DIR outbound`):

    bench/outbound.sh BUILD_DIR

One smtp-sink (Debian's postfix package) on 127.0.0.1 receives everything.
The same OUTBOUND_MESSAGES messages (OUTBOUND_SIZE bytes each, one random
recipient each, spread over OUTBOUND_DOMAINS domains d1.test ... dN.test;
fixed seed) are queued in both servers while they cannot deliver, then
released, and the time until each queue is empty is measured:

  tern     `tern serve` with [delivery] nameserver = a DNS server of our own
           (tests/integration/dnsserver.py) giving each domain an MX
           mx.dK.test -> 127.0.0.1, mx_port = the sink's port, and
           connections_per_destination = OUTBOUND_CONCURRENCY. Filled over
           SMTP (relay from 127.0.0.0/8) while the DNS server answers
           SERVFAIL for every name: every recipient is deferred (next try
           an hour away). Released by switching the zone to the real one
           and `tern queue flush` (SIGUSR1).
  Postfix  a private instance (bench/outbound/*.cf.in) with one transport
           per domain relaying to [127.0.0.1]:sink (no DNS) and
           default_destination_concurrency_limit = OUTBOUND_CONCURRENCY.
           Filled over SMTP with every message put on hold (access(5)
           HOLD). Released by `postsuper -H ALL` and `postqueue -f`.

  msgs/s = messages / (time from the release command until the queue is
           empty and the sink has counted that many more messages)

Both fsync their queue files as they ship (tern always, Postfix by
default). The filling is not timed. Everything is bounded in time; both
servers and the sink are stopped and the work directory removed at the end
(BENCH_KEEP=1 keeps it).

Environment (defaults in brackets):
  OUTBOUND_MESSAGES     messages [10000]
  OUTBOUND_DOMAINS      destination domains [50]
  OUTBOUND_SIZE         bytes per message, header included [4096]
  OUTBOUND_CONCURRENCY  connections per destination domain, both [10]
                        (tern's default connections_per_destination;
                        Postfix's default_destination_concurrency_limit
                        is 20)
  OUTBOUND_ROUNDS       fill + deliver rounds per server, taking turns;
                        the best counts [2]
  OUTBOUND_SERVERS      which to run ["tern postfix"]
  BENCH_TMP             work directory's parent; a disk, not tmpfs [/var/tmp]
  BENCH_KEEP            1: keep the work directory (logs, queues)

Raw results, one key=value line per run, go to BUILD_DIR/bench-outbound.txt.
"""
import os
import pwd
import random
import re
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
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import dnsserver  # noqa: E402  (tests/integration/dnsserver.py)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import (BenchError, count_files_deep, die, free_port, log, proc_cpu, tree_pids, wait_greeting, wait_until)  # noqa: E402  (bench/benchlib.py)


SMTP_SINK = "/usr/sbin/smtp-sink"
POSTFIX = "/usr/sbin/postfix"
POSTSUPER = "/usr/sbin/postsuper"
POSTQUEUE = "/usr/sbin/postqueue"
SENDER = "sender@source.test"
SEED = 4004
FILL_SESSIONS = 20      # concurrent SMTP sessions that fill a queue
FILL_TIMEOUT = 300      # seconds for one fill
DELIVER_TIMEOUT = 240   # seconds for one timed delivery
POLL = 0.02             # seconds between checks of the end condition


# ------------------------------------------------------------------ load ----

def make_messages(count, domains, size):
    """[(recipient, bytes)]: the same list on every call (fixed seed)."""
    rnd = random.Random(SEED)
    letters = "abcdefghijklmnopqrstuvwxyz     "
    out = []
    for i in range(count):
        rcpt = f"u{rnd.randrange(1000)}@d{rnd.randrange(domains) + 1}.test"
        head = (f"From: Bench Sender <{SENDER}>\r\n"
                f"To: <{rcpt}>\r\n"
                f"Subject: outbound bench message {i}\r\n"
                f"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
                f"Message-ID: <ob{i}.{SEED}@source.test>\r\n"
                f"MIME-Version: 1.0\r\n"
                f"Content-Type: text/plain; charset=us-ascii\r\n"
                f"\r\n")
        lines = []
        left = size - len(head)
        while left > 2:
            n = min(76, left - 2)
            line = "".join(rnd.choice(letters) for _ in range(n)).strip() or "x"
            if line.startswith("."):
                line = "x" + line[1:]
            lines.append(line)
            left -= len(line) + 2
        out.append((rcpt, (head + "\r\n".join(lines) + "\r\n").encode("ascii")))
    return out


class SMTPError(Exception):
    pass


class Session:
    """A plain SMTP client session (one command at a time)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buf = b""
        self.expect(220)
        self.cmd(b"EHLO source.test", 250)

    def reply(self):
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(65536)
                if not data:
                    raise SMTPError("connection closed")
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line[3:4] != b"-":
                return int(line[:3]), line

    def expect(self, code):
        got, line = self.reply()
        if got != code:
            raise SMTPError(line.decode("ascii", "replace"))

    def cmd(self, line, code):
        self.sock.sendall(line + b"\r\n")
        self.expect(code)

    def send(self, rcpt, data):
        self.cmd(f"MAIL FROM:<{SENDER}>".encode(), 250)
        self.cmd(f"RCPT TO:<{rcpt}>".encode(), 250)
        self.cmd(b"DATA", 354)
        self.sock.sendall(data + b".\r\n")   # no line starts with "."
        self.expect(250)

    def close(self):
        try:
            self.sock.sendall(b"QUIT\r\n")
        except OSError:
            pass
        self.sock.close()


def fill(port, messages, what):
    """Send every message to 127.0.0.1:port over FILL_SESSIONS sessions."""
    lock = threading.Lock()
    state = {"next": 0, "errors": []}

    def worker():
        s = None
        try:
            s = Session(port)
            while True:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                if i >= len(messages) or state["errors"]:
                    break
                s.send(*messages[i])
        except (OSError, SMTPError) as e:
            with lock:
                state["errors"].append(str(e))
        finally:
            if s is not None:
                s.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(FILL_SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1, FILL_TIMEOUT - (time.monotonic() - t0)))
    if any(t.is_alive() for t in threads):
        die(f"filling {what} took more than {FILL_TIMEOUT} s")
    if state["errors"]:
        die(f"filling {what}: {state['errors'][0]}")
    return time.monotonic() - t0


# ------------------------------------------------------------------ sink ----

class Sink:
    """smtp-sink -c: its running counter ("sess=N quit=N mesg=N\\r") on stdout."""

    def __init__(self, work):
        self.port = free_port()
        self.mesg = 0
        self.sess = 0
        self.proc = None
        self.errf = open(os.path.join(work, "smtp-sink.err"), "w")

    def start(self, conns):
        # -m: connections handled at once (above: queued by the kernel)
        self.proc = subprocess.Popen([SMTP_SINK, "-c", "-u", "nobody", "-m", str(conns),
                                      f"127.0.0.1:{self.port}", str(conns)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.errf)
        threading.Thread(target=self._read, daemon=True).start()
        wait_greeting(self.port, "smtp-sink", self.proc)

    def _read(self):
        pat = re.compile(rb"sess=(\d+) .*mesg=(\d+)")
        rest = b""
        while True:
            data = self.proc.stdout.read1(4096)
            if not data:
                return
            rest += data
            parts = rest.split(b"\r")
            rest = parts.pop()
            for p in reversed(parts):
                m = pat.search(p)
                if m:
                    self.sess = int(m.group(1))
                    self.mesg = int(m.group(2))
                    break

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------- Postfix ----

class Postfix:
    name = "Postfix"

    def __init__(self, work, sink, domains, conc):
        self.dir = os.path.join(work, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.spool = os.path.join(self.dir, "spool")
        self.port = free_port()
        self.sink = sink
        self.domains = domains
        self.conc = conc
        self.version = subprocess.run(["postconf", "-d", "-h", "mail_version"],
                                      capture_output=True, text=True).stdout.strip()

    def _run(self, args):
        # postfix(1) and friends report errors on stderr only when it is a
        # terminal, else to syslog: run them under script(1).
        r = subprocess.run(["script", "-qec", " ".join(args), "/dev/null"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            die(f"{' '.join(args)} failed: {r.stdout.strip()} {r.stderr.strip()}")
        return r.stdout

    def setup(self):
        for d in ("etc", "spool", "data"):
            os.makedirs(os.path.join(self.dir, d))
        os.chown(os.path.join(self.dir, "data"), pwd.getpwnam("postfix").pw_uid, -1)
        subst = {"DIR": self.dir, "PORT": str(self.port), "SINKPORT": str(self.sink.port),
                 "CONC": str(self.conc), "PROCS": str(max(100, self.conc + 20))}
        for name in ("main.cf", "master.cf"):
            with open(os.path.join(HERE, name + ".in")) as f:
                text = re.sub(r"@([A-Z_]+)@", lambda m: subst[m.group(1)], f.read())
            if name == "master.cf":
                text += "".join(f"d{k} unix - - n - - smtp\n" for k in range(1, self.domains + 1))
            with open(os.path.join(self.etc, name), "w") as f:
                f.write(text)
        with open(os.path.join(self.etc, "transport"), "w") as f:
            for k in range(1, self.domains + 1):
                f.write(f"d{k}.test d{k}:[127.0.0.1]:{self.sink.port}\n")
        self._run([POSTFIX, "-c", self.etc, "check"])

    def start(self):
        self._run([POSTFIX, "-c", self.etc, "start"])
        wait_greeting(self.port, "Postfix")

    def stop(self):
        pid = self.pid()
        if pid is None:
            return
        subprocess.run(["script", "-qec", f"{POSTFIX} -c {self.etc} stop", "/dev/null"],
                       capture_output=True)
        if not wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 30, 0.2):
            os.kill(pid, signal.SIGKILL)

    def pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                pid = int(f.read().strip())
            return pid if os.path.exists(f"/proc/{pid}") else None
        except (OSError, ValueError):
            return None

    def queued(self):
        return sum(count_files_deep(os.path.join(self.spool, q))
                   for q in ("maildrop", "incoming", "active", "deferred", "hold"))

    def ready(self, count):
        """Filled: count messages on hold, none elsewhere."""
        return count_files_deep(os.path.join(self.spool, "hold")) == count and self.queued() == count

    def release(self):
        self._run([POSTSUPER, "-c", self.etc, "-H", "ALL"])
        self._run([POSTQUEUE, "-c", self.etc, "-f"])

    def cpu(self):
        """CPU seconds of master, its live children and those it reaped."""
        master = self.pid()
        return proc_cpu(master, True) + sum(proc_cpu(p) for p in tree_pids(master)[1:])


# ------------------------------------------------------------------ tern ----

class Tern:
    name = "tern"

    def __init__(self, work, build, sink, domains, conc):
        self.bin = os.path.join(build, "tern")
        self.dir = os.path.join(work, "tern")
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "tern.toml")
        self.port = free_port()
        self.sink = sink
        self.domains = domains
        self.conc = conc
        self.proc = None
        self.logf = None
        # SERVFAIL for every name while filling; the real zone at release
        self.zone = {}
        self.dns = dnsserver.DNSServer(self.zone)
        self.version = ""

    def real_zone(self):
        z = {}
        for k in range(1, self.domains + 1):
            z[f"d{k}.test"] = {"MX": [(10, f"mx.d{k}.test")]}
            z[f"mx.d{k}.test"] = {"A": ["127.0.0.1"]}
        return z

    def hold(self):
        self.zone.clear()
        for k in range(1, self.domains + 1):
            self.zone[f"d{k}.test"] = "SERVFAIL"

    def setup(self):
        os.makedirs(self.dir)
        dns_port = self.dns.start()
        self.hold()
        conns = max(1000, self.domains * self.conc + 100)
        with open(self.conf, "w") as f:
            f.write(f'# written by bench/outbound/bench.py\n'
                    f'hostname = "outbound.invalid"\n'
                    f'data_dir = "{self.data}"\n'
                    f'domains = ["outbound.invalid"]\n'
                    # run as root: keep root on purpose (tern refuses root
                    # without a user); postmaster is required
                    f'user = "{"root" if os.geteuid() == 0 else ""}"\n'
                    f'postmaster = "postmaster@outbound.invalid"\n'
                    f'[listen]\n'
                    f'smtp = ["127.0.0.1:{self.port}"]\n'
                    f'[relay]\n'
                    f'networks = ["127.0.0.0/8"]\n'
                    f'[delivery]\n'
                    f'nameserver = "127.0.0.1:{dns_port}"\n'
                    f'mx_port = {self.sink.port}\n'
                    f'connections_per_destination = {self.conc}\n'
                    f'retry = ["1h"]\n'
                    f'[limits]\n'
                    f'connections = {conns}\n'
                    f'connections_per_ip = {conns}\n')
        r = subprocess.run([self.bin, "--version"], capture_output=True, text=True)
        self.version = (r.stdout.strip() or r.stderr.strip()).split("\n")[0]

    def start(self):
        self.logf = open(os.path.join(self.dir, "tern.log"), "a")
        self.proc = subprocess.Popen([self.bin, "serve", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        wait_greeting(self.port, "tern serve", self.proc)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.dns.stop()

    def queued(self):
        q = os.path.join(self.data, "queue")
        return count_files_deep(os.path.join(q, "env")) + count_files_deep(os.path.join(q, "msg"))

    def ready(self, count):
        """Filled: count messages queued, every one tried (and deferred)."""
        if self.queued() != 2 * count:
            return False
        # each message's envelope has a state line once its recipient has
        # been deferred: the delivery attempts during filling are over
        env = os.path.join(self.data, "queue", "env")
        for name in os.listdir(env):
            try:
                with open(os.path.join(env, name), "rb") as f:
                    if b"\nstate " not in f.read():
                        return False
            except FileNotFoundError:
                return False
        return True

    def release(self):
        self.zone.update(self.real_zone())
        r = subprocess.run([self.bin, "queue", "flush", "-c", self.conf],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            die(f"tern queue flush failed: {r.stderr.strip()}")

    def cpu(self):
        return proc_cpu(self.proc.pid)


# ------------------------------------------------------------------ runs ----

def one_round(srv, sink, messages, rnd, raw):
    n = len(messages)
    if srv.queued() != 0:
        die(f"{srv.name}'s queue is not empty before round {rnd}")
    if srv.name == "tern":
        srv.hold()
    log(f"outbound: filling {srv.name} with {n} messages (round {rnd})...")
    t_fill = fill(srv.port, messages, srv.name)
    if not wait_until(lambda: srv.ready(n), 120, 0.5):
        die(f"{srv.name}: {srv.queued()} queue files after filling, not the {n} messages held")
    # the filling's writes reach the disk before the clock starts
    os.sync()
    time.sleep(1)
    log(f"outbound: {srv.name} delivering...")
    want = sink.mesg + n
    cpu0, sink0, sess0 = srv.cpu(), sink.cpu(), sink.sess
    dns0 = len(srv.dns.queries) if srv.name == "tern" else 0
    t0 = time.monotonic()
    srv.release()
    done = wait_until(lambda: sink.mesg >= want, DELIVER_TIMEOUT, POLL)
    t_sink = time.monotonic() - t0
    done = done and wait_until(lambda: srv.queued() == 0, DELIVER_TIMEOUT, POLL)
    secs = time.monotonic() - t0
    cpu, sink_cpu = srv.cpu() - cpu0, sink.cpu() - sink0
    got = sink.mesg - (want - n)
    # SMTP sessions the sink saw end, once the idle ones are closed (tern
    # keeps an idle connection 5 s, Postfix's connection cache 2 s)
    time.sleep(6)
    sessions = sink.sess - sess0
    dns = len(srv.dns.queries) - dns0 if srv.name == "tern" else 0
    line = (f"test=outbound server={srv.name} round={rnd} messages={n} fill_s={t_fill:.2f} "
            f"sink_s={t_sink:.3f} deliver_s={secs:.3f} received={got} "
            f"msgs_s={(n / secs) if done else 0:.1f} cpu_s={cpu:.2f} "
            f"cpu_ms_per_msg={cpu * 1000 / n:.3f} sink_cpu_s={sink_cpu:.2f} "
            f"sink_sessions={sessions} dns_queries={dns} complete={1 if done else 0}")
    raw.write(line + "\n")
    raw.flush()
    if not done:
        log(f"warning: {srv.name}: after {secs:.0f} s the sink has {got} of {n} messages, "
            f"{srv.queued()} queue files left")
    return dict(f.split("=", 1) for f in line.split())


def main():
    if len(sys.argv) != 2:
        print("usage: bench/outbound.sh BUILD_DIR", file=sys.stderr)
        return 2
    build = sys.argv[1]
    count = int(os.environ.get("OUTBOUND_MESSAGES", "10000"))
    domains = int(os.environ.get("OUTBOUND_DOMAINS", "50"))
    size = int(os.environ.get("OUTBOUND_SIZE", "4096"))
    conc = int(os.environ.get("OUTBOUND_CONCURRENCY", "10"))
    rounds = int(os.environ.get("OUTBOUND_ROUNDS", "2"))
    which = os.environ.get("OUTBOUND_SERVERS", "tern postfix").split()
    keep = os.environ.get("BENCH_KEEP") == "1"

    if os.geteuid() != 0:
        log("bench/outbound: must run as root: Postfix's master starts as root")
        return 1
    for f in (SMTP_SINK, POSTFIX, POSTSUPER, POSTQUEUE):
        if not os.access(f, os.X_OK):
            log(f"bench/outbound: {f} missing: install Debian's postfix (scripts/deps.sh bench)")
            return 1
    if "tern" in which and not os.access(os.path.join(build, "tern"), os.X_OK):
        log(f"bench/outbound: {build}/tern missing: build it first (make bench)")
        return 1

    tmp = os.environ.get("BENCH_TMP", "/var/tmp")
    work = tempfile.mkdtemp(prefix="tern-bench-outbound.", dir=tmp)
    os.chmod(work, 0o755)  # Postfix's daemons must reach their directories
    fstype = subprocess.run(["stat", "-f", "-c", "%T", work], capture_output=True,
                            text=True).stdout.strip()
    if fstype in ("tmpfs", "ramfs"):
        log(f"warning: {work} is on {fstype}: fsync costs nothing there; set BENCH_TMP to a disk")

    messages = make_messages(count, domains, size)
    sink = Sink(work)
    servers = []
    if "tern" in which:
        servers.append(Tern(work, build, sink, domains, conc))
    if "postfix" in which:
        servers.append(Postfix(work, sink, domains, conc))
    raw = open(os.path.join(build, "bench-outbound.txt"), "w")
    raw.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} work={work} fs={fstype} messages={count} "
              f"domains={domains} size={size} concurrency={conc} rounds={rounds}\n")
    best = {}
    status = 0
    try:
        sink.start(max(1000, domains * conc * 2))
        for srv in servers:
            srv.setup()
            srv.start()
        for rnd in range(1, rounds + 1):
            # taking turns; the order flips each round
            for srv in (servers if rnd % 2 else list(reversed(servers))):
                res = one_round(srv, sink, messages, rnd, raw)
                b = best.get(srv.name)
                if b is None or float(res["msgs_s"]) > float(b["msgs_s"]):
                    best[srv.name] = res
    except BenchError as e:
        log(f"bench/outbound: {e}")
        status = 1
    finally:
        for srv in servers:
            srv.stop()
        sink.stop()
        raw.close()
        if keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    pf = next((s for s in servers if s.name == "Postfix"), None)
    report(best, count, domains, size, conc, rounds, pf.version if pf else "-", build)
    return status


def report(best, count, domains, size, conc, rounds, pf_version, build):
    print(f"== outbound: tern vs Postfix {pf_version} - {count} queued messages of {size} bytes "
          f"to {domains} domains -> smtp-sink, {conc} connections per domain"
          f"{f', best of {rounds} rounds' if rounds > 1 else ''}")
    print(f"{'server':8} {'msgs':>6} {'seconds':>8} {'msgs/s':>8} {'CPU s':>6} {'CPU ms/msg':>10} "
          f"{'sink CPU s':>10}")
    for name in ("tern", "Postfix"):
        r = best.get(name)
        if r is None:
            continue
        print(f"{name:8} {r['received']:>6} {r['deliver_s']:>8} {r['msgs_s']:>8} {r['cpu_s']:>6} "
              f"{r['cpu_ms_per_msg']:>10} {r['sink_cpu_s']:>10}"
              f"{'' if r['complete'] == '1' else '  INCOMPLETE'}")
    t, p = best.get("tern"), best.get("Postfix")
    if t and p and float(p["msgs_s"]) > 0:
        ratio = float(t["msgs_s"]) / float(p["msgs_s"])
        cpu_ratio = (float(p["cpu_ms_per_msg"]) / float(t["cpu_ms_per_msg"])
                     if float(t["cpu_ms_per_msg"]) > 0 else 0.0)
        print(f"   ratio tern/Postfix msgs/s: {ratio:.2f} (goal >= 1.00: "
              f"{'met' if ratio >= 1.0 and t['complete'] == '1' else 'below'}); "
              f"CPU per message, Postfix over tern: {cpu_ratio:.2f}")
    print("   seconds: from the release (tern: zone switched + `tern queue flush`; Postfix: postsuper -H ALL")
    print("   + postqueue -f) until the queue is empty and the sink has counted every message.")
    print("   tern resolves MX and A through DNS per domain; Postfix has a transport map (no DNS).")
    print(f"   raw results: {os.path.join(build, 'bench-outbound.txt')}")


if __name__ == "__main__":
    sys.exit(main())
