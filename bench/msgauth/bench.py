#!/usr/bin/python3
"""Sender-authentication benchmark: what SPF + DKIM + DMARC (+ ARC) checks
cost on port 25, and what DKIM signing costs outbound, each measured
against the same tern with them off, in one run.

Run through bench/msgauth.sh (or `bench/run.sh BUILD_DIR msgauth`):

    bench/msgauth.sh BUILD_DIR

Inbound: two `tern serve` instances, one with [spf] [dkim] [dmarc] [arc]
verify = false, one with the defaults (all on), both asking a private
dnsmasq (Debian's package) on 127.0.0.1 that publishes example.org's SPF
record (ip4:127.0.0.1), its DKIM key and DMARC p=reject. bench/msgauth/blast
(a C client, built by make bench) sends the same message, signed by dkimpy
(rsa-sha256, relaxed/relaxed, MSGAUTH_SIZE bytes), from 127.0.0.1 (not in
relay.networks: a stranger, so every check runs) with MAIL FROM
bounce@example.org; the servers take turns:

  accepted/s = messages / wall time of blast (every 250 to DATA in)
  cost       = 1 - accepted/s(on) / accepted/s(off)       goal: < 25%

Every message of the "on" run is checked (spf, dkim, dmarc pass, taken from
the server's log) so that a broken setup cannot look fast.

Outbound: bench/outbound/bench.py's measurement (the same messages queued
while DNS fails, released, timed until the queue is empty at smtp-sink),
for one tern with [dkim] sign = false and one with a key made by `tern dkim
keygen` for the senders' domain (RSA-2048 and Ed25519: two signatures per
message):

  cost = 1 - msgs/s(signing) / msgs/s(not signing)      goal: < 10%

Environment (defaults in brackets):
  MSGAUTH_MESSAGES    messages per inbound run [5000]
  MSGAUTH_SESSIONS    concurrent sessions, space-separated ["1 20"]
  MSGAUTH_SIZE        bytes per inbound message [4096]
  MSGAUTH_ROUNDS      runs of each (server, sessions); the best counts [2]
  MSGAUTH_OUTBOUND    outbound messages per run [5000]; 0: skip outbound
  MSGAUTH_PARTS       which parts ["inbound outbound"]
  BENCH_TMP           the work directory's parent; a disk, not tmpfs [/var/tmp]
  BENCH_KEEP          1: keep the work directory

Raw results, one key=value line per run, go to BUILD_DIR/bench-msgauth.txt.
"""
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from benchlib import BenchError, die, free_port, log, proc_cpu, wait_greeting, wait_until  # noqa: E402

DNSMASQ = "/usr/sbin/dnsmasq"
KEYS = os.path.join(ROOT, "tests", "data", "msgauth")
RCPT = "bob@bench.test"
SENDER = "bounce@example.org"


def load_outbound_module():
    spec = importlib.util.spec_from_file_location("outbound_bench",
                                                  os.path.join(BENCH, "outbound", "bench.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------- DNS ----

class Dnsmasq:
    """A private dnsmasq answering example.org's records and nothing else."""

    def __init__(self, work, records):
        self.port = free_port()
        self.log = open(os.path.join(work, "dnsmasq.log"), "w")
        args = [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1",
                f"--port={self.port}", "--user=nobody", "--local=/example.org/",
                "--local=/bench.test/", "--cache-size=0", "--pid-file="]
        for name, text in records:
            chunks = [text[i:i + 255] for i in range(0, len(text), 255)]
            # one argument: no shell, so no quotes; a comma separates strings
            args.append(f"--txt-record={name}," + ",".join(chunks))
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        time.sleep(0.3)
        if self.proc.poll() is not None:
            die(f"dnsmasq exited with status {self.proc.returncode}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def key_record(pem):
    import base64
    der = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def make_message(path, size):
    import dkim
    head = ("From: Alice <alice@example.org>\r\nTo: <bob@bench.test>\r\n"
            "Subject: sender authentication bench\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
            "Message-ID: <msgauth.bench@example.org>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    line = "The quick brown fox jumps over the lazy dog, again and again.\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    msg = (head + body).encode()
    with open(os.path.join(KEYS, "rsa2048.pem"), "rb") as f:
        key = f.read()
    sig = dkim.sign(msg, b"rsa", b"example.org", key, canonicalize=(b"relaxed", b"relaxed"))
    with open(path, "wb") as f:
        f.write(sig + msg)


# --------------------------------------------------------------- inbound ----

class Tern:
    def __init__(self, work, build, name, dns_port, checks):
        self.name = name
        self.bin = os.path.join(build, "tern")
        self.dir = os.path.join(work, name)
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "tern.toml")
        self.logpath = os.path.join(self.dir, "tern.log")
        self.port = free_port()
        os.makedirs(self.dir)
        off = "" if checks else ("[spf]\nverify = false\n[dkim]\nverify = false\n"
                                 "[dmarc]\nverify = false\n[arc]\nverify = false\n")
        with open(self.conf, "w") as f:
            f.write(f'# written by bench/msgauth/bench.py\n'
                    f'hostname = "mx.bench.test"\n'
                    f'data_dir = "{self.data}"\n'
                    f'domains = ["bench.test"]\n'
                    # run as root: keep root on purpose (tern refuses root
                    # without a user); postmaster is required
                    f'user = "{"root" if os.geteuid() == 0 else ""}"\n'
                    f'postmaster = "postmaster@bench.test"\n'
                    f'[listen]\nsmtp = ["127.0.0.1:{self.port}"]\n'
                    f'[delivery]\nnameserver = "127.0.0.1:{dns_port}"\n'
                    f'[limits]\nconnections = 1000\nconnections_per_ip = 1000\n' + off)
        r = subprocess.run([self.bin, "user", "add", "-c", self.conf, RCPT], input="pw\n",
                           capture_output=True, text=True)
        if r.returncode != 0:
            die(f"tern user add: {r.stderr.strip()}")
        self.proc = None

    def start(self):
        self.logf = open(self.logpath, "a")
        self.proc = subprocess.Popen([self.bin, "serve", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        wait_greeting(self.port, f"tern serve ({self.name})", self.proc)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def verdicts(self):
        with open(self.logpath, errors="replace") as f:
            return re.findall(r"smtp authentication .* (spf=\S+ dkim=\S+ arc=\S+ dmarc=\S+)",
                              f.read())


def blast(build, srv, sessions, messages, msgfile):
    t_cpu = srv.cpu()
    r = subprocess.run([os.path.join(build, "bench", "blast"), "-p", str(srv.port),
                        "-s", str(sessions), "-m", str(messages), "-f", SENDER, "-t", RCPT,
                        msgfile], capture_output=True, text=True, timeout=600)
    cpu = srv.cpu() - t_cpu
    if r.returncode != 0:
        die(f"blast against {srv.name}: {r.stdout.strip()} {r.stderr.strip()}")
    res = dict(f.split("=", 1) for f in r.stdout.split())
    res["cpu_ms_per_msg"] = f"{cpu * 1000 / messages:.3f}"
    return res


def inbound(build, work, raw):
    messages = int(os.environ.get("MSGAUTH_MESSAGES", "5000"))
    sessions_list = [int(s) for s in os.environ.get("MSGAUTH_SESSIONS", "1 20").split()]
    size = int(os.environ.get("MSGAUTH_SIZE", "4096"))
    rounds = int(os.environ.get("MSGAUTH_ROUNDS", "2"))
    msgfile = os.path.join(work, "message.eml")
    make_message(msgfile, size)
    dns = Dnsmasq(work, [
        ("example.org", "v=spf1 ip4:127.0.0.1 -all"),
        ("rsa._domainkey.example.org", key_record(os.path.join(KEYS, "rsa2048.pem"))),
        ("_dmarc.example.org", "v=DMARC1; p=reject"),
    ])
    servers = [Tern(work, build, "checks-off", dns.port, False),
               Tern(work, build, "checks-on", dns.port, True)]
    best = {}
    try:
        for s in servers:
            s.start()
        for sessions in sessions_list:
            for rnd in range(1, rounds + 1):
                for s in (servers if rnd % 2 else list(reversed(servers))):
                    log(f"msgauth inbound: {s.name}, {sessions} session(s), round {rnd}...")
                    res = blast(build, s, sessions, messages, msgfile)
                    raw.write(f"test=inbound server={s.name} sessions={sessions} round={rnd} "
                              + " ".join(f"{k}={v}" for k, v in res.items()) + "\n")
                    raw.flush()
                    key = (s.name, sessions)
                    if key not in best or float(res["msgs_s"]) > float(best[key]["msgs_s"]):
                        best[key] = res
        verdicts = servers[1].verdicts()
        good = sum(1 for v in verdicts if v == "spf=pass dkim=pass arc=none dmarc=pass")
        if good != len(verdicts) or good == 0:
            die(f"checks-on: {len(verdicts) - good} of {len(verdicts)} messages did not pass "
                f"every check (see {servers[1].logpath})")
    finally:
        for s in servers:
            s.stop()
        dns.stop()
    return best, messages, sessions_list, size, rounds, len(verdicts)


# -------------------------------------------------------------- outbound ----

def outbound(build, work, raw):
    ob = load_outbound_module()
    count = int(os.environ.get("MSGAUTH_OUTBOUND", "5000"))
    rounds = int(os.environ.get("MSGAUTH_ROUNDS", "2"))
    domains, size, conc = 50, 4096, 10

    class SigningTern(ob.Tern):
        def __init__(self, label, sign):
            super().__init__(os.path.join(work, label), build, sink, domains, conc)
            self.label = label
            self.sign = sign

        def setup(self):
            super().setup()
            with open(self.conf, "a") as f:
                f.write(f"[dkim]\nsign = {'true' if self.sign else 'false'}\n")
            if self.sign:
                r = subprocess.run([self.bin, "dkim", "keygen", "source.test", "-c", self.conf],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    die(f"tern dkim keygen: {r.stderr.strip()}")

    os.makedirs(os.path.join(work, "ob"))
    sink = ob.Sink(os.path.join(work, "ob"))
    messages = ob.make_messages(count, domains, size)
    servers = [SigningTern("not-signing", False), SigningTern("signing", True)]
    best = {}
    try:
        sink.start(max(1000, domains * conc * 2))
        for s in servers:
            s.setup()
            s.start()
        for rnd in range(1, rounds + 1):
            for s in (servers if rnd % 2 else list(reversed(servers))):
                res = ob.one_round(s, sink, messages, rnd, raw)
                raw.write(f"# the line above: outbound {s.label}\n")
                if s.label not in best or float(res["msgs_s"]) > float(best[s.label]["msgs_s"]):
                    best[s.label] = res
    finally:
        for s in servers:
            s.stop()
        sink.stop()
    return best, count


def pct(on, off):
    return (1 - float(on) / float(off)) * 100 if float(off) > 0 else 0.0


def main():
    if len(sys.argv) != 2:
        print("usage: bench/msgauth.sh BUILD_DIR", file=sys.stderr)
        return 2
    build = sys.argv[1]
    parts = os.environ.get("MSGAUTH_PARTS", "inbound outbound").split()
    if int(os.environ.get("MSGAUTH_OUTBOUND", "5000")) == 0 and "outbound" in parts:
        parts.remove("outbound")
    for f in [os.path.join(build, "tern"), os.path.join(build, "bench", "blast")]:
        if not os.access(f, os.X_OK):
            log(f"bench/msgauth: {f} missing: build with -DTERN_BENCH=ON (make bench)")
            return 1
    if "inbound" in parts and not os.access(DNSMASQ, os.X_OK):
        log("bench/msgauth: dnsmasq missing: install Debian's dnsmasq (scripts/deps.sh bench)")
        return 1
    tmp = os.environ.get("BENCH_TMP", "/var/tmp")
    work = tempfile.mkdtemp(prefix="tern-bench-msgauth.", dir=tmp)
    os.chmod(work, 0o755)
    raw = open(os.path.join(build, "bench-msgauth.txt"), "w")
    raw.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} work={work}\n")
    status = 0
    try:
        if "inbound" in parts:
            best, messages, sessions_list, size, rounds, checked = inbound(build, work, raw)
            print(f"== msgauth inbound: port 25 accepted/s with SPF + DKIM + DMARC + ARC checks "
                  f"on vs off - {messages} messages of {size} bytes (dkimpy rsa-sha256), "
                  f"DNS from dnsmasq, best of {rounds}")
            print(f"{'sessions':>8} | {'off msg/s':>10} {'on msg/s':>10} | {'cost':>7} {'(<25%)':<6} |"
                  f" {'CPU ms/msg off':>14} {'on':>6}")
            for sessions in sessions_list:
                off, on = best[("checks-off", sessions)], best[("checks-on", sessions)]
                c = pct(on["msgs_s"], off["msgs_s"])
                print(f"{sessions:>8} | {off['msgs_s']:>10} {on['msgs_s']:>10} | {c:>6.1f}% "
                      f"{'met' if c < 25 else 'above':<6} | {off['cpu_ms_per_msg']:>14} "
                      f"{on['cpu_ms_per_msg']:>6}")
            print(f"   every one of the {checked} checked messages passed SPF, DKIM and DMARC")
            print()
        if "outbound" in parts:
            best, count = outbound(build, work, raw)
            off, on = best["not-signing"], best["signing"]
            c = pct(on["msgs_s"], off["msgs_s"])
            print(f"== msgauth outbound: {count} queued messages -> smtp-sink, DKIM signing "
                  f"(RSA-2048 + Ed25519) on vs off, best of "
                  f"{os.environ.get('MSGAUTH_ROUNDS', '2')}")
            print(f"   delivery: not signing {off['msgs_s']} msg/s ({off['cpu_ms_per_msg']} CPU ms/msg), "
                  f"signing {on['msgs_s']} msg/s ({on['cpu_ms_per_msg']} CPU ms/msg): "
                  f"cost {c:.1f}% ({'met' if c < 10 else 'above'} the 10% goal)")
            fo, fs = count / float(off["fill_s"]), count / float(on["fill_s"])
            print(f"   acceptance (the fill over SMTP, where tern signs, in its job pool): "
                  f"not signing {fo:.0f} msg/s, signing {fs:.0f} msg/s: cost {pct(fs, fo):.1f}%")
            both_off = count / (float(off["fill_s"]) + float(off["deliver_s"]))
            both_on = count / (float(on["fill_s"]) + float(on["deliver_s"]))
            print(f"   end to end (accept, then deliver): {both_off:.0f} vs {both_on:.0f} msg/s: "
                  f"cost {pct(both_on, both_off):.1f}%")
    except BenchError as e:
        log(f"bench/msgauth: {e}")
        status = 1
    finally:
        raw.close()
        if os.environ.get("BENCH_KEEP") == "1":
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"   raw results: {os.path.join(build, 'bench-msgauth.txt')}")
    return status


if __name__ == "__main__":
    sys.exit(main())
