"""The service layer every protocol shares (issue 8): the failed-login
throttle across connections and listeners, connection limits with the
relay.networks exemption, stress mode, and the SMTP policy that depends on
who the client is (VRFY/EXPN, sender ownership after AUTH on port 25).

All against the real `tern serve`, with raw sockets and smtplib."""
import base64
import socket
import subprocess
import threading
import time

import pytest

from ternserver import Closed, RawSMTP, servers, wait_until  # noqa: F401

ALICE = "alice@example.test"
BOB = "bob@example.test"
PW = "correct horse"
USERS = {ALICE: PW, BOB: "bob pw"}

# fast numbers for the tests: 2 failures from an address, then each try
# waits; 4, then the address is refused for 10 minutes
THROTTLE = {"throttle_delay_after": 2, "throttle_block_after": 4,
            "throttle_window": "10m", "throttle_block_time": "10m"}


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def one_try(srv, listener, source, user, password):
    """One login on a fresh connection (as a guesser does); the reply (an
    SMTP Reply, or for IMAP the tagged line)."""
    if listener == "imap":
        with socket.create_connection((srv.host, srv.port("imap")), timeout=40,
                                      source_address=(source, 0)) as s:
            f = s.makefile("rwb")
            f.readline()
            f.write(f'a LOGIN "{user}" "{password}"\r\n'.encode())
            f.flush()
            while True:
                line = f.readline().decode()
                if line.startswith("a ") or not line:
                    return line
    with srv.raw(listener, source=source, timeout=40) as c:
        c.ehlo()
        return c.cmd(f"AUTH PLAIN {plain(user, password)}")


def refused(reply):
    """Was the login refused as throttled (SMTP 454, IMAP NO [UNAVAILABLE])?"""
    if isinstance(reply, str):
        return reply.startswith("a NO [UNAVAILABLE]")
    return reply.code == 454


def failed(reply):
    if isinstance(reply, str):
        return reply.startswith("a NO [AUTHENTICATIONFAILED]")
    return reply.code == 535


def test_guesser_reconnecting_and_switching_protocols_is_throttled(servers):
    srv = servers.start(users=USERS, auth=THROTTLE,
                        listeners=("smtp", "submission", "submissions", "imap"))
    guesser = "127.0.0.20"
    replies = []
    # alternate SMTP on port 25, IMAP LOGIN and the submission port, one
    # connection per try: the failures count together
    for i, listener in enumerate(("smtp", "imap", "submission", "imap")):
        replies.append(one_try(srv, listener, guesser, ALICE, f"guess{i}"))
    assert all(failed(r) for r in replies), replies
    # the address is refused now, whatever it tries, even the right password
    r = one_try(srv, "smtp", guesser, ALICE, PW)
    assert refused(r) and r.enhanced == "4.7.0", r
    assert refused(one_try(srv, "imap", guesser, ALICE, PW))
    assert refused(one_try(srv, "submission", guesser, BOB, "bob pw"))
    log = srv.log()
    assert "auth delayed" in log and "ip=127.0.0.20" in log
    assert "auth throttled" in log
    # the right password from an address without failures works at once,
    # even for the account under attack, over either protocol
    r = one_try(srv, "submission", "127.0.0.21", ALICE, PW)
    assert r.code == 235, r
    assert one_try(srv, "imap", "127.0.0.21", ALICE, PW).startswith("a OK")
    sessions = [l for l in srv.log().splitlines() if "ip=127.0.0.21" in l]
    assert not any("auth delayed" in l or "auth throttled" in l for l in sessions), sessions


def test_parallel_guessers_do_not_stop_the_listener(servers):
    """Eight guessers in parallel, one connection per try: afterwards the
    submission listener still accepts and a correct login works."""
    srv = servers.start(users=USERS, auth=THROTTLE)
    codes = []
    lock = threading.Lock()

    def guesser(n):
        for i in range(6):
            try:
                r = one_try(srv, "submission", f"127.0.1.{n}", ALICE, f"g{n}.{i}")
                with lock:
                    codes.append(r.code)
            except (Closed, OSError) as e:
                with lock:
                    codes.append(repr(e))

    threads = [threading.Thread(target=guesser, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert len(codes) == 48
    # every try got an answer: a refusal of the login, never of the connection
    assert set(codes) <= {535, 454}, codes
    assert codes.count(454) >= 8  # each guesser ended up refused
    for listener in ("submission", "smtp"):
        with srv.raw(listener, source="127.0.0.40") as c:
            assert c.greeting.code == 220
            c.ehlo()
            assert c.cmd(f"AUTH PLAIN {plain(ALICE, PW)}").code == 235
    assert srv.alive()


def test_relay_networks_exempt_from_per_address_limit(servers):
    srv = servers.start(users=USERS, relay_networks=["127.0.0.30/32"],
                        limits={"connections_per_ip": 5})
    trusted, others = [], []
    try:
        for _ in range(12):
            trusted.append(srv.raw(source="127.0.0.30"))
        assert all(c.greeting.code == 220 for c in trusted)
        for _ in range(5):
            others.append(srv.raw(source="127.0.0.31"))
        assert all(c.greeting.code == 220 for c in others)
        # every other address keeps the limit, loopback included
        try:
            with srv.raw(source="127.0.0.31") as c:
                assert c.greeting.code == 421, c.greeting
        except (Closed, ConnectionError):
            pass
        assert trusted[0].cmd("NOOP").code == 250
    finally:
        for c in trusted + others:
            c.close()


def test_stress_mode_shortens_idle_timeouts(servers):
    """Past 80% of limits.connections, sessions without a transaction get
    limits.stress_timeout; a session in a transaction keeps its own."""
    srv = servers.start(users=USERS, limits={"connections": 10, "stress_timeout": "1s"})
    busy = srv.raw(source="127.0.0.50")
    idle = []
    try:
        busy.ehlo()
        assert busy.cmd("MAIL FROM:<someone@remote.test>").code == 250
        for i in range(8):
            idle.append(srv.raw(source=f"127.0.0.{51 + i}"))
        wait_until(lambda: "stress on" in srv.log(), what="stress mode")
        timed_out = 0
        for c in idle:
            # closed for idleness within seconds, with a 421; stress ends
            # once fewer than 60% of the limit are left, and the rest then
            # keep their normal timeout
            c.sock.settimeout(15)
            try:
                r = c.reply()
            except (Closed, OSError):
                continue
            assert r.code == 421 and r.enhanced == "4.4.2", r
            assert c.closed()
            timed_out += 1
        assert timed_out >= 4
        assert busy.cmd(f"RCPT TO:<{ALICE}>").code == 250
        wait_until(lambda: "stress off" in srv.log(), what="stress mode over")
    finally:
        busy.close()
        for c in idle:
            c.close()


def test_vrfy_expn_truthful_only_for_trusted(servers):
    srv = servers.start(users=USERS, relay_networks=["127.0.0.60/32"],
                        aliases={"team@example.test": [ALICE, BOB]})
    # a stranger: 252 for everything (no harvesting)
    with srv.raw(source="127.0.0.61") as c:
        c.ehlo()
        for cmd in ("VRFY alice", f"VRFY <{ALICE}>", "VRFY nobody", "EXPN team@example.test"):
            r = c.cmd(cmd)
            assert r.code == 252, (cmd, r)
    # an authenticated user and a relay.networks client get the truth
    with srv.raw("submission", source="127.0.0.62") as a, srv.raw(source="127.0.0.60") as t:
        a.ehlo()
        assert a.cmd(f"AUTH PLAIN {plain(ALICE, PW)}").code == 235
        t.ehlo()
        for c in (a, t):
            r = c.cmd("VRFY alice")
            assert r.code == 250 and ALICE in r.text, r
            r = c.cmd(f"VRFY <{BOB}>")
            assert r.code == 250 and BOB in r.text, r
            r = c.cmd("VRFY nobody@example.test")
            assert r.code == 550 and r.enhanced == "5.1.1", r
            r = c.cmd("EXPN team@example.test")
            assert r.code == 250 and sorted(r.lines) == sorted(
                [f"2.1.5 <{ALICE}>", f"2.1.5 <{BOB}>"]), r
            r = c.cmd("VRFY someone@remote.test")
            assert r.code == 252, r
            r = c.cmd("VRFY")
            assert r.code == 501, r


def test_auth_on_port_25_sends_only_as_itself(servers):
    srv = servers.start(users=USERS, aliases={"sales@example.test": [ALICE]})
    with srv.raw("smtp", source="127.0.0.70") as c:
        c.ehlo()
        assert c.cmd(f"AUTH PLAIN {plain(ALICE, PW)}").code == 235
        for sender in (BOB, "someone@remote.test", ""):
            r = c.cmd(f"MAIL FROM:<{sender}>")
            assert r.code == 553 and r.enhanced == "5.7.1", (sender, r)
        assert c.cmd("MAIL FROM:<sales@example.test>").code == 250
        assert c.cmd("RSET").code == 250
        assert c.cmd(f"MAIL FROM:<{ALICE}>").code == 250
    # without AUTH, port 25 takes any sender (mail from the Internet)
    with srv.raw("smtp", source="127.0.0.71") as c:
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{BOB}>").code == 250


@pytest.mark.parametrize("key,value", [
    ("throttle_window", '"0s"'),
    ("throttle_block_after", "0"),
    ("throttle_delay_after", '"3"'),
    ("throttle_block_time", '"forever"'),
])
def test_throttle_config_errors(tern_bin, tmp_path, key, value):
    cfg = tmp_path / "tern.toml"
    cfg.write_text(f'data_dir = "{tmp_path}/data"\n[auth]\n{key} = {value}\n')
    res = subprocess.run([tern_bin, "serve", "--check", "-c", str(cfg)],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode != 0
    assert f"{cfg}:3:" in res.stderr and key in res.stderr, res.stderr
    assert not (tmp_path / "data").exists()
