"""`tern serve`: starting, stopping on signals, and config errors.

Each test runs the real binary in its own temporary directory.
"""
import os
import pathlib
import pwd
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import free_port


# a log line: an ISO 8601 UTC timestamp (stderr is not the journal here)
# then the tag (docs/logging.md)
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*)$")

# what every config below needs to start: the administrator's address, and
# as root an explicit user (tern serve refuses to stay root by accident)
BASE = 'postmaster = "admin@example.test"\n' + ('user = "root"\n' if os.geteuid() == 0 else "")


def env_without_config():
    env = dict(os.environ)
    env.pop("TERN_CONFIG", None)
    env.pop("JOURNAL_STREAM", None)
    return env


def start(tern_bin, cwd, *args, env=None):
    return subprocess.Popen(
        [tern_bin, "serve", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or env_without_config(),
    )


def dev_ports_config():
    """[listen] with every listener of the --dev defaults on a free port."""
    names = ("smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s")
    return "[listen]\n" + "".join(f'{n} = ["127.0.0.1:{free_port()}"]\n' for n in names)


def wait_for_start(proc, timeout=10.0):
    """Read stderr until the start line; returns the lines read."""
    data = b""
    fd = proc.stderr.fileno()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # raw reads with select: never block past the deadline
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        lines = data.decode(errors="replace").splitlines(keepends=True)
        for i, line in enumerate(lines):
            m = LOG_LINE.match(line.rstrip("\n"))
            if m and m.group(1).startswith("serve started ") and line.endswith("\n"):
                return lines[: i + 1]
    proc.kill()
    out, err = proc.communicate()
    pytest.fail(f"server did not start: {data.decode(errors='replace')}{err}")


def stop(proc, signo=signal.SIGTERM, timeout=10.0):
    proc.send_signal(signo)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("server did not stop")
    return proc.returncode, out, err


def run(tern_bin, cwd, *args, timeout=10.0, env=None):
    return subprocess.run(
        [tern_bin, "serve", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or env_without_config(),
    )


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGINT])
def test_dev_starts_and_stops(tern_bin, tmp_path, signo):
    # --dev with a file over its defaults: every listener on a free port
    # (the dev ports belong to `make run`, which may be running)
    conf = tmp_path / "ports.toml"
    conf.write_text(dev_ports_config())
    proc = start(tern_bin, tmp_path, "--dev", "-c", str(conf))
    lines = wait_for_start(proc)
    started = lines[-1]
    assert "data_dir=./var" in started
    assert f"config={conf}" in started
    assert "hostname=" in started
    # the demo account and how to use it, at every start
    out = proc.stdout.readline() + proc.stdout.readline()
    assert "demo@example.test, password " in out and "swaks --server 127.0.0.1:" in out
    var = tmp_path / "var"
    assert var.is_dir()
    # others may pass through to the maildrop (sticky, writable, not
    # listable), nothing else is theirs to read (docs/security.md)
    assert (var.stat().st_mode & 0o777) == 0o711
    assert (var / "maildrop").stat().st_mode & 0o7777 == 0o1733
    assert (var / "corrupt").stat().st_mode & 0o777 == 0o700
    for entry in var.iterdir():
        if entry.name not in ("maildrop", "tern.pid"):
            assert entry.lstat().st_mode & 0o077 == 0, entry
    rc, out, err = stop(proc, signo)
    assert rc == 0, err
    assert "serve stopped" in err


@pytest.mark.skipif(os.path.exists("/etc/tern/tern.toml"),
                    reason="this machine has /etc/tern/tern.toml, the default config")
def test_no_config_is_an_error(tern_bin, tmp_path):
    # DESIGN.md "Commands": no -c, no $TERN_CONFIG, no /etc/tern/tern.toml:
    # a clear error, and ./tern.toml or ./var are never used on their own
    (tmp_path / "tern.toml").write_text(BASE + 'data_dir = "elsewhere"\n')
    res = run(tern_bin, tmp_path)
    assert res.returncode == 1
    assert "no config file" in res.stderr
    assert "/etc/tern/tern.toml" in res.stderr and "-c FILE" in res.stderr
    assert "TERN_CONFIG" in res.stderr and "--dev" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tern.toml"]


def test_config_file_from_c_and_environment(tern_bin, tmp_path):
    data = tmp_path / "data" / "nested"
    conf = tmp_path / "tern.toml"
    conf.write_text(
        BASE + f'hostname = "mx.example.test"\ndata_dir = "{data}"\ndomains = ["example.test"]\n'
        '[limits]\nmessage_size = 1_000_000\n'
    )
    # $TERN_CONFIG names it
    env = env_without_config()
    env["TERN_CONFIG"] = str(conf)
    proc = start(tern_bin, tmp_path, env=env)
    started = wait_for_start(proc)[-1]
    assert "hostname=mx.example.test" in started
    assert f"data_dir={data}" in started
    assert f"config={conf}" in started
    assert data.is_dir()
    rc, _, err = stop(proc)
    assert rc == 0, err

    # and -c FILE from elsewhere, over $TERN_CONFIG
    other = tmp_path / "elsewhere"
    other.mkdir()
    env["TERN_CONFIG"] = str(tmp_path / "missing.toml")
    proc = start(tern_bin, other, "-c", str(conf), env=env)
    started = wait_for_start(proc)[-1]
    assert f"config={conf}" in started
    rc, _, err = stop(proc)
    assert rc == 0, err
    # a $TERN_CONFIG that names no file is an error of its own
    res = run(tern_bin, other, env=env)
    assert res.returncode == 1
    assert "missing.toml: No such file or directory" in res.stderr


@pytest.mark.parametrize(
    "text,line,message",
    [
        ('hostname = "a.test"\nbogus = 1\n', 2, "unknown key 'bogus'"),
        ('[listen]\nsmtp = ["127.0.0.1:25"]\n[nope]\n', 3, "unknown section [nope]"),
        ('hostname = 42\n', 1, "hostname: expected a string, got integer"),
        ('[limits]\nmessage_size = "big"\n', 2, "limits.message_size: expected an integer"),
        ('[listen]\nsmtp = [\n  "127.0.0.1:2525",\n  "1.2.3:25",\n]\n', 4, "bad address '1.2.3:25'"),
        ('[listen]\nimap = ["::1:143"]\n', 2, "IPv6 addresses need brackets"),
        ('hostname = "unterminated\n', 1, "unterminated string"),
        ('[relay]\nnetworks = ["10.0.0.0/40"]\n', 2, "bad CIDR '10.0.0.0/40'"),
        ('[delivery]\nretry = ["1m", "soon"]\n', 2, "'soon': bad duration"),
        ('[limits]\nrecipients = 0\n', 2, "limits.recipients: 0 out of range"),
        ('a = 1\na = 2\n', 2, "duplicate key 'a'"),
    ],
)
def test_config_errors(tern_bin, tmp_path, text, line, message):
    conf = tmp_path / "bad.toml"
    conf.write_text(text)
    res = run(tern_bin, tmp_path, "-c", "bad.toml")
    assert res.returncode == 1
    assert f"bad.toml:{line}: " in res.stderr
    assert message in res.stderr
    # nothing was started or created
    assert "serve started" not in res.stderr
    assert not (tmp_path / "var").exists()


def test_check(tern_bin, tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(BASE + 'data_dir = "/nonexistent/never/created"\n'
                    '[auth]\nplaintext_on_loopback = false\n')
    res = run(tern_bin, tmp_path, "-c", str(good), "--check")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"{good}: ok")
    assert not pathlib.Path("/nonexistent/never/created").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text("[auth]\nplaintext_on_loopback = 1\n")
    res = run(tern_bin, tmp_path, "-c", str(bad), "--check")
    assert res.returncode == 1
    assert "bad.toml:2: auth.plaintext_on_loopback: expected a boolean" in res.stderr


def test_missing_config_file(tern_bin, tmp_path):
    res = run(tern_bin, tmp_path, "-c", "missing.toml")
    assert res.returncode == 1
    assert "missing.toml: No such file or directory" in res.stderr


@pytest.mark.parametrize("args", [["--bogus"], ["-c"], ["extra"]])
def test_bad_usage(tern_bin, tmp_path, args):
    res = run(tern_bin, tmp_path, *args)
    assert res.returncode == 64
    assert "usage: tern serve" in res.stderr


def test_unusable_data_dir(tern_bin, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    conf = tmp_path / "c.toml"
    conf.write_text(f'data_dir = "{blocker}"\n')
    res = run(tern_bin, tmp_path, "-c", str(conf))
    assert res.returncode == 1
    assert f"data_dir {blocker}" in res.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_drops_privileges(tern_bin, tmp_path):
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    # pytest's tmp_path sits under a 0700 directory: use one nobody can reach
    top = pathlib.Path(tempfile.mkdtemp(prefix="tern-privs-", dir="/tmp"))
    try:
        os.chmod(top, 0o755)
        data = top / "data"
        conf = tmp_path / "c.toml"
        conf.write_text(f'user = "nobody"\npostmaster = "a@b.test"\ndata_dir = "{data}"\n')
        proc = start(tern_bin, tmp_path, "-c", str(conf))
        wait_for_start(proc)
        status = pathlib.Path(f"/proc/{proc.pid}/status").read_text()
        uids = next(l for l in status.splitlines() if l.startswith("Uid:")).split()[1:]
        assert all(int(u) == nobody.pw_uid for u in uids)
        assert data.stat().st_uid == nobody.pw_uid
        rc, _, err = stop(proc)
        assert rc == 0, err
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_unknown_user(tern_bin, tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text(f'user = "no-such-user-tern"\ndata_dir = "{tmp_path / "d"}"\n')
    res = run(tern_bin, tmp_path, "-c", str(conf))
    assert res.returncode == 1
    assert "no-such-user-tern" in res.stderr
