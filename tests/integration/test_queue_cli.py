"""`tern queue list|flush|del` (shared/DESIGN.md "Commands", issue 4
"Programs"). Messages are put in the queue with `tern sendmail`; remote
recipients stay there because no server (and no outbound client) runs."""
import json
import os
import signal
import subprocess
import time

import pytest

from ternserver import TernServer, servers  # noqa: F401  (servers: pytest fixture)

MSG = b"Subject: q\n\nbody\n"


@pytest.fixture
def srv(tern_bin, tmp_path):
    s = TernServer(tern_bin, tmp_path / "srv")
    s.add_user("alice@example.test", "pw")
    return s


def send(srv, *rcpts, sender="me@example.test"):
    res = subprocess.run([srv.tern_bin, "sendmail", "-c", str(srv.config), "-f", sender,
                          *rcpts], input=MSG, capture_output=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return res


def listing(srv):
    return json.loads(srv.cli("queue", "list", args=["--json"]).stdout)


def append_state(srv, qid, line):
    """Append a recipient state line as the queue manager would (the
    format of src/store/queue.c), to make a deferred recipient."""
    with open(srv.data_dir / "queue" / "env" / qid, "a") as f:
        f.write(line + "\n")


def test_list_empty(srv):
    res = srv.cli("queue", "list")
    assert res.stdout.strip() == "Mail queue is empty"
    assert listing(srv) == []


def test_list_human_and_json(srv):
    send(srv, "x@remote.test", "y@far.test", "alice@example.test", sender="boss@example.test")
    q = listing(srv)
    assert len(q) == 1
    m = q[0]
    assert m["sender"] == "boss@example.test"
    assert m["size"] > len(MSG)
    assert 0 <= m["age"] < 60
    rc = {r["address"]: r for r in m["recipients"]}
    assert rc["x@remote.test"]["state"] == "pending"
    assert rc["y@far.test"]["state"] == "pending"
    assert rc["alice@example.test"]["state"] == "delivered"
    assert rc["x@remote.test"]["last_error"] is None

    out = srv.cli("queue", "list").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "AGE", "SIZE", "SENDER"]
    assert lines[1].split()[0] == m["id"]
    assert lines[1].endswith("<boss@example.test>")
    assert any(ln.split() == ["pending", "x@remote.test"] for ln in lines)
    assert lines[-1] == "-- 1 message in the queue"


def test_list_shows_last_error(srv):
    send(srv, "x@remote.test")
    qid = listing(srv)[0]["id"]
    now = int(time.time())
    # a deferred recipient as the queue manager records it (queue.c format)
    append_state(srv, qid, f"state 0 deferred 2 {now - 60} {now + 300} 0 "
                           "smtp;%20451%204.7.1%20greylisted")
    r = listing(srv)[0]["recipients"][0]
    assert r["state"] == "deferred" and r["attempts"] == 2
    assert r["last_error"] == "smtp; 451 4.7.1 greylisted"
    assert r["next_attempt"] == now + 300
    out = srv.cli("queue", "list").stdout
    assert "deferred  x@remote.test attempts=2 retry in 4m" in out \
        or "deferred  x@remote.test attempts=2 retry in 5m" in out
    assert "smtp; 451 4.7.1 greylisted" in out


def test_del(srv):
    send(srv, "x@remote.test")
    send(srv, "y@remote.test")
    q = listing(srv)
    assert len(q) == 2
    res = srv.cli("queue", "del", args=[q[0]["id"]])
    assert res.stdout.strip() == f"deleted {q[0]['id']}"
    assert [m["id"] for m in listing(srv)] == [q[1]["id"]]
    assert not (srv.data_dir / "queue" / "msg" / q[0]["id"]).exists()
    res = srv.cli("queue", "del", args=[q[0]["id"]], check=False)
    assert res.returncode == 1 and "no such message" in res.stderr
    res = srv.cli("queue", "del", args=["../../etc/passwd"], check=False)
    assert res.returncode == 1
    assert len(listing(srv)) == 1


def test_usage(srv):
    assert srv.cli("queue", "bogus", check=False).returncode == 64
    assert srv.cli("queue", "del", check=False).returncode == 64
    assert srv.cli("queue", "list", args=["extra"], check=False).returncode == 64


def test_flush_without_server(srv):
    send(srv, "x@remote.test")
    res = srv.cli("queue", "flush")
    assert "no server running" in res.stdout
    assert "1 remote recipient wait for the server" in res.stdout
    assert listing(srv)[0]["recipients"][0]["state"] == "pending"


class StandIn:
    """A process that records each SIGUSR1 and SIGUSR2 it gets, in order, in
    a file. With lock=True it holds a POSIX write lock on tern.pid as
    `tern serve` does (a stand-in server); without, it is an unrelated
    process whose pid a stale tern.pid happens to name."""

    # os.write, not a file object: a handler that runs while the other one
    # is inside a buffered write gets "reentrant call" (seen once in a full run)
    SCRIPT = ("import fcntl, os, signal, sys, time\n"
              "log = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)\n"
              "for s in (signal.SIGUSR1, signal.SIGUSR2):\n"
              "    signal.signal(s, lambda n, f:\n"
              "                  os.write(log, signal.Signals(n).name.encode() + b'\\n'))\n"
              "if len(sys.argv) > 2:\n"
              "    fd = os.open(sys.argv[2], os.O_RDWR | os.O_CREAT, 0o644)\n"
              "    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
              "    os.write(fd, b'%d\\n' % os.getpid())\n"
              "print('ready', flush=True)\n"
              "while True:\n"
              "    time.sleep(1)\n")

    def __init__(self, srv, tmp_path, lock):
        self.log = tmp_path / "signals"
        self.log.write_text("")
        self.usr2_sent = 0
        srv.data_dir.mkdir(parents=True, exist_ok=True)
        pidfile = srv.data_dir / "tern.pid"
        args = [str(self.log)] + ([str(pidfile)] if lock else [])
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", self.SCRIPT, *args],
                                     stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == b"ready"
        if not lock:
            # the stale file a crashed server left, its pid reused since
            pidfile.write_text(f"{self.proc.pid}\n")

    def signals(self):
        """Every signal received until now. A SIGUSR2 sent here is handled
        after any SIGUSR1 already sent (pending signals are delivered
        lowest number first), so the answer includes every SIGUSR1 that
        the command under test sent before it returned."""
        self.usr2_sent += 1
        os.kill(self.proc.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 10
        while self.log.read_text().split().count("SIGUSR2") < self.usr2_sent:
            assert time.monotonic() < deadline, "stand-in never saw SIGUSR2"
            time.sleep(0.02)
        return self.log.read_text().split()

    def close(self):
        self.proc.kill()
        self.proc.wait()


def test_flush_signals_server(srv, tmp_path):
    # a stand-in server: holds the lock on tern.pid as tern serve does
    standin = StandIn(srv, tmp_path, lock=True)
    try:
        res = srv.cli("queue", "flush")
        assert f"pid {standin.proc.pid}" in res.stdout
        assert standin.signals() == ["SIGUSR1", "SIGUSR2"]
    finally:
        standin.close()


def test_flush_stale_pid_names_live_process(srv, tmp_path):
    """Issue 8: after a crash and pid reuse, tern.pid names an unrelated
    live process. Nobody holds the file's lock, so nobody is signalled."""
    send(srv, "x@remote.test")
    standin = StandIn(srv, tmp_path, lock=False)
    try:
        res = srv.cli("queue", "flush")
        assert "no server running" in res.stdout
        assert standin.signals() == ["SIGUSR2"]
        # tern sendmail's nudge after queueing a remote recipient likewise
        send(srv, "y@remote.test")
        assert standin.signals() == ["SIGUSR2", "SIGUSR2"]
        assert standin.proc.poll() is None
    finally:
        standin.close()


def test_flush_real_server(servers):
    """The real server's lock names the real server."""
    srv = servers.start()
    res = srv.cli("queue", "flush")
    assert res.stdout.strip() == f"queue flush requested from the server (pid {srv.proc.pid})"
    srv.stop()
    assert "no server running" in srv.cli("queue", "flush").stdout


def test_flush_stale_pid_file(srv):
    send(srv, "x@remote.test")
    # a pid that is certainly not running
    p = subprocess.Popen(["/bin/true"])
    p.wait()
    (srv.data_dir / "tern.pid").write_text(f"{p.pid}\n")
    res = srv.cli("queue", "flush")
    assert "no server running" in res.stdout
