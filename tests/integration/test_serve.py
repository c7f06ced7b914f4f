"""`tern serve`: starting, stopping on signals, and config errors.

Each test runs the real binary in its own temporary directory.
"""
import os
import pathlib
import pwd
import select
import shutil
import signal
import subprocess
import tempfile
import time

import pytest


def start(tern_bin, cwd, *args):
    return subprocess.Popen(
        [tern_bin, "serve", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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
            if line.startswith("serve started ") and line.endswith("\n"):
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


def run(tern_bin, cwd, *args, timeout=10.0):
    return subprocess.run(
        [tern_bin, "serve", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGINT])
def test_dev_starts_and_stops(tern_bin, tmp_path, signo):
    proc = start(tern_bin, tmp_path, "--dev")
    lines = wait_for_start(proc)
    started = lines[-1]
    assert "data_dir=./var" in started
    assert "config=dev-defaults" in started
    assert "hostname=" in started
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


def test_no_config_uses_dev_defaults(tern_bin, tmp_path):
    # no -c and no ./tern.toml: the --dev defaults (DESIGN.md "Commands")
    proc = start(tern_bin, tmp_path)
    wait_for_start(proc)
    assert (tmp_path / "var").is_dir()
    rc, _, err = stop(proc)
    assert rc == 0, err


def test_config_file_and_local_tern_toml(tern_bin, tmp_path):
    data = tmp_path / "data" / "nested"
    conf = tmp_path / "tern.toml"
    conf.write_text(
        f'hostname = "mx.example.test"\ndata_dir = "{data}"\ndomains = ["example.test"]\n'
        '[limits]\nmessage_size = 1_000_000\n'
    )
    # ./tern.toml is read without -c
    proc = start(tern_bin, tmp_path)
    started = wait_for_start(proc)[-1]
    assert "hostname=mx.example.test" in started
    assert f"data_dir={data}" in started
    assert "config=tern.toml" in started
    assert data.is_dir()
    rc, _, err = stop(proc)
    assert rc == 0, err

    # and -c FILE from elsewhere
    other = tmp_path / "elsewhere"
    other.mkdir()
    proc = start(tern_bin, other, "-c", str(conf))
    started = wait_for_start(proc)[-1]
    assert f"config={conf}" in started
    rc, _, err = stop(proc)
    assert rc == 0, err


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
    good.write_text('data_dir = "/nonexistent/never/created"\n[auth]\nplaintext_on_loopback = false\n')
    res = run(tern_bin, tmp_path, "-c", str(good), "--check")
    assert res.returncode == 0, res.stderr
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
        conf.write_text(f'user = "nobody"\ndata_dir = "{data}"\n')
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
