"""Helpers shared by the benchmark drivers (bench/smtp/bench.py and
bench/outbound/bench.py): ports, greetings, bounded waits, /proc accounting.
Standard library only; every wait is bounded."""
import os
import socket
import sys
import time


class BenchError(Exception):
    """A benchmark step failed; the driver reports it and stops."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    raise BenchError(msg)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def greeting(port, timeout=1.0):
    """The first line the server sends, or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            data = s.recv(512)
            s.sendall(b"QUIT\r\n")
            return data.split(b"\r\n")[0].decode("ascii", "replace")
    except OSError:
        return None


def wait_greeting(port, what, proc=None, secs=30):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            die(f"{what} exited with status {proc.returncode} while starting")
        g = greeting(port)
        if g and g.startswith("220"):
            return g
        time.sleep(0.1)
    die(f"{what} gave no 220 greeting on 127.0.0.1:{port} within {secs} s")


def wait_until(pred, secs, step=0.05):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def count_files(d):
    try:
        return sum(1 for e in os.scandir(d) if not e.name.startswith("."))
    except FileNotFoundError:
        return 0


def count_files_deep(d):
    n = 0
    for _, _, files in os.walk(d):
        n += len(files)
    return n


def proc_cpu(pid, children=False):
    """CPU seconds of pid (all threads), plus its reaped children's if asked."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # fields[0] is field 3 (state): utime, stime, cutime, cstime are 14-17
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_pids(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out
