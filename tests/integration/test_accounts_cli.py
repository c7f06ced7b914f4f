"""`tern user|alias|domain ... -c FILE` (shared/DESIGN.md "Commands", issue 3
"Accounts"): driven as a program; accounts.db read back with Python's own
sqlite3 module to check how passwords are stored."""
import sqlite3

import pytest

from ternserver import TernServer


@pytest.fixture
def srv(tern_bin, tmp_path):
    # no server process: the CLI alone works on data_dir/accounts.db
    return TernServer(tern_bin, tmp_path / "srv")


def lines(res):
    return res.stdout.splitlines()


def db_rows(srv, sql, *args):
    con = sqlite3.connect(srv.data_dir / "accounts.db")
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def test_user_add_list_del(srv):
    res = srv.add_user("alice@example.test", "s3cret")
    assert "alice@example.test" in res.stdout
    srv.add_user("Bob@EXAMPLE.test", "pw2")
    assert sorted(lines(srv.cli("user", "list"))) == ["alice@example.test", "bob@example.test"]
    srv.del_user("BOB@example.test")
    assert lines(srv.cli("user", "list")) == ["alice@example.test"]
    res = srv.cli("user", "del", args=["bob@example.test"], check=False)
    assert res.returncode == 1
    assert "no such user" in res.stderr


def test_user_add_duplicate_refused(srv):
    srv.add_user("alice@example.test", "a")
    res = srv.cli("user", "add", args=["ALICE@example.test"], input="b\n", check=False)
    assert res.returncode == 1
    assert "exists" in res.stderr
    assert lines(srv.cli("user", "list")) == ["alice@example.test"]


def test_user_add_needs_local_domain(srv):
    res = srv.cli("user", "add", args=["bob@other.test"], input="pw\n", check=False)
    assert res.returncode == 1
    assert "not in a local domain" in res.stderr
    srv.add_domain("other.test")
    srv.add_user("bob@other.test", "pw")
    assert lines(srv.cli("user", "list")) == ["bob@other.test"]


@pytest.mark.parametrize("address", ["not an address", "nodomain", "@example.test", "a@",
    # RFC 5321 4.1.2: '@' is not atext, so an unquoted local part cannot hold it
    "a@b@example.test",
])
def test_user_add_bad_address(srv, address):
    res = srv.cli("user", "add", args=[address], input="pw\n", check=False)
    assert res.returncode == 1
    assert lines(srv.cli("user", "list")) == []


@pytest.mark.parametrize("stdin", ["", "\n"])
def test_user_add_needs_password(srv, stdin):
    res = srv.cli("user", "add", args=["alice@example.test"], input=stdin, check=False)
    assert res.returncode == 1
    assert "password" in res.stderr
    assert lines(srv.cli("user", "list")) == []


def test_passwords_stored_as_salted_hashes(srv):
    srv.add_user("alice@example.test", "same-password-1")
    srv.add_user("bob@example.test", "same-password-1")
    rows = dict(db_rows(srv, "SELECT address, hash FROM users"))
    assert set(rows) == {"alice@example.test", "bob@example.test"}
    for h in rows.values():
        assert "same-password-1" not in h
        # crypt(3) yescrypt/bcrypt or libsodium argon2id formats
        assert h.startswith(("$y$", "$2b$", "$2y$", "$argon2id$", "$7$", "$gy$")), h
    # salted: the same password gives different hashes
    assert rows["alice@example.test"] != rows["bob@example.test"]
    # nothing else in the file holds the password in clear
    raw = (srv.data_dir / "accounts.db").read_bytes()
    assert b"same-password-1" not in raw


def test_passwd_changes_hash(srv):
    srv.add_user("alice@example.test", "old-pw")
    before = db_rows(srv, "SELECT hash FROM users")[0][0]
    srv.cli("user", "passwd", args=["alice@example.test"], input="new-pw\n")
    after = db_rows(srv, "SELECT hash FROM users")[0][0]
    assert before != after
    res = srv.cli("user", "passwd", args=["nobody@example.test"], input="x\n", check=False)
    assert res.returncode == 1
    assert "no such user" in res.stderr


def test_apop_flag(srv):
    srv.add_user("alice@example.test", "pw", apop=True)
    srv.add_user("bob@example.test", "pw")
    assert sorted(lines(srv.cli("user", "list"))) == ["alice@example.test apop", "bob@example.test"]
    rows = dict(db_rows(srv, "SELECT address, apop_secret FROM users"))
    assert rows["alice@example.test"]
    assert rows["bob@example.test"] is None


def test_alias_add_list_del(srv):
    srv.add_user("alice@example.test", "pw")
    srv.add_user("carol@example.test", "pw")
    srv.add_alias("team@example.test", "alice@example.test", "carol@example.test", "x@remote.test")
    srv.add_alias("@example.test", "alice@example.test")
    got = sorted(lines(srv.cli("alias", "list")))
    assert got == [
        "@example.test alice@example.test",
        "team@example.test alice@example.test",
        "team@example.test carol@example.test",
        "team@example.test x@remote.test",
    ]
    srv.del_alias("team@example.test", "x@remote.test")
    got = sorted(lines(srv.cli("alias", "list")))
    assert "team@example.test x@remote.test" not in got
    assert "team@example.test alice@example.test" in got
    srv.del_alias("team@example.test")
    assert lines(srv.cli("alias", "list")) == ["@example.test alice@example.test"]


def test_alias_must_be_in_local_domain(srv):
    res = srv.cli("alias", "add", args=["a@nowhere.test", "alice@example.test"], check=False)
    assert res.returncode == 1
    assert "not in a local domain" in res.stderr
    assert lines(srv.cli("alias", "list")) == []


def test_domain_add_list_del(srv):
    srv.add_domain("other.test")
    srv.add_domain("Third.TEST")
    got = lines(srv.cli("domain", "list"))
    assert got[0] == "example.test (config)"
    assert sorted(got[1:]) == ["other.test", "third.test"]
    srv.cli("domain", "del", args=["other.test"])
    assert "other.test" not in lines(srv.cli("domain", "list"))
    # a domain from the config file can only be removed there
    res = srv.cli("domain", "del", args=["example.test"], check=False)
    assert res.returncode == 1
    assert "config" in res.stderr


@pytest.mark.parametrize("words", [["user"], ["user", "bogus"], ["alias", "add"], ["domain"],
                                   ["user", "add"], ["alias", "add", "a@example.test"]])
def test_usage_errors(srv, words):
    res = srv.cli(*words, check=False)
    assert res.returncode == 64
    assert "usage:" in res.stderr


def test_missing_config(tern_bin, tmp_path):
    import subprocess
    res = subprocess.run([tern_bin, "user", "list", "-c", str(tmp_path / "nope.toml")],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 1
    assert "nope.toml" in res.stderr
