#!/usr/bin/python3
"""Memory per idle SMTP connection.

Opens COUNT TCP connections to 127.0.0.1:PORT, reads the 220 greeting on each
and then leaves them idle; the server's memory is read before the first
connection and again once every connection has been greeted and the server
had SETTLE seconds to go quiet. Then every connection is closed.

    idle-conns.py --port PORT --count N --pid PID          one process (tern)
    idle-conns.py --port PORT --count N --tree PID         PID and all its
                                                           descendants (Postfix)

Prints one line of key=value fields on stdout:
  conns greeted failed secs procs_before procs_after
  rss_before_kb rss_after_kb rss_per_conn_kb     (VmRSS, summed over processes)
  pss_before_kb pss_after_kb pss_per_conn_kb     (Pss from smaps_rollup, summed)
For one process RSS is the figure to read; for a process per connection the
RSS sum counts the shared libraries and text once per process, so Pss (each
shared page divided among the processes that map it) is the fair one.

Loopback only: the address is always 127.0.0.1. Bounded: gives up after
--timeout seconds (default 120) waiting for greetings, exit status 1.
"""
import argparse
import errno
import os
import resource
import selectors
import socket
import sys
import time


def children_of(pid):
    """Every descendant of pid (from /proc/PID/task/*/children)."""
    out = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(args):
    pids = [args.pid] if args.pid else [args.tree] + children_of(args.tree)
    rss = sum(status_kb(p, "VmRSS") for p in pids)
    pss = sum(pss_kb(p) for p in pids)
    return len(pids), rss, pss


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    return soft


def open_idle(port, count, timeout):
    """count connections, each greeted with a 220 line; returns (socks, greeted, failed)."""
    sel = selectors.DefaultSelector()
    socks = []
    pending = {}  # socket -> bytes read so far
    greeted = failed = 0
    deadline = time.monotonic() + timeout
    started = 0
    batch = 100  # connections in flight at once, so the listen queue never overflows
    while greeted + failed < count:
        while started < count and len(pending) < batch:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                failed += 1
                started += 1
                continue
            pending[s] = b""
            socks.append(s)
            sel.register(s, selectors.EVENT_READ)
            started += 1
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(min(left, 1.0)):
            s = key.fileobj
            try:
                data = s.recv(512)
            except (ConnectionError, OSError):
                data = None
            if not data:
                sel.unregister(s)
                del pending[s]
                failed += 1
                continue
            pending[s] += data
            buf = pending[s]
            # The greeting may be several lines (220-... 220 ...); the last
            # one has a space after the code (RFC 5321 4.2.1).
            lines = buf.split(b"\r\n")
            done = [l for l in lines[:-1] if l[3:4] == b" "]
            if done:
                sel.unregister(s)
                del pending[s]
                if done[0].startswith(b"220"):
                    greeted += 1
                else:
                    failed += 1
    sel.close()
    return socks, greeted, failed + len(pending)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=2000)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--pid", type=int, help="the server is this one process")
    g.add_argument("--tree", type=int, help="the server is this process and its descendants")
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()

    limit = raise_fd_limit(args.count + 64)
    if limit < args.count + 16:
        print(f"idle-conns: open file limit {limit} is below {args.count} connections", file=sys.stderr)
        return 2

    procs0, rss0, pss0 = measure(args)
    t0 = time.monotonic()
    socks, greeted, failed = open_idle(args.port, args.count, args.timeout)
    secs = time.monotonic() - t0
    time.sleep(args.settle)
    procs1, rss1, pss1 = measure(args)
    n = max(greeted, 1)
    print(f"conns={args.count} greeted={greeted} failed={failed} secs={secs:.2f} "
          f"procs_before={procs0} procs_after={procs1} "
          f"rss_before_kb={rss0} rss_after_kb={rss1} rss_per_conn_kb={(rss1 - rss0) / n:.1f} "
          f"pss_before_kb={pss0} pss_after_kb={pss1} pss_per_conn_kb={(pss1 - pss0) / n:.1f}")
    for s in socks:
        s.close()
    return 0 if greeted == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
