"""Shared fixtures: where the tern binary is, temporary data dirs, free ports."""
import os
import pathlib
import socket

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tern_bin():
    path = os.environ.get("TERN_BIN", str(ROOT / "build" / "tern"))
    if not os.path.exists(path):
        pytest.fail(f"tern binary not found at {path}: run make first")
    return path


@pytest.fixture(scope="session")
def data_dir_root(tmp_path_factory):
    return tmp_path_factory.mktemp("tern")


def free_port(host="127.0.0.1"):
    """A port that was free a moment ago on host."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def pytest_collection_modifyitems(config, items):
    """The IMAP suite's known tern defects (imapbackends.TERN_KNOWN_BUGS)
    are strict xfails of their tern runs: a fix shows up as XPASS."""
    known = None
    for item in items:
        if not item.nodeid.split("::")[0].rsplit("/", 1)[-1].startswith("test_imap_"):
            continue
        if known is None:
            from imapbackends import TERN_KNOWN_BUGS as known
        name = getattr(item, "originalname", item.name)
        callspec = getattr(item, "callspec", None)
        is_tern = ("tern" in callspec.params.values()) if callspec else False
        if not callspec or "backend" not in callspec.params:
            # tests of tern alone use the tern_* fixtures
            is_tern = is_tern or any(f.startswith("tern_") for f in item.fixturenames)
        if is_tern and name in known:
            item.add_marker(pytest.mark.xfail(reason="tern: " + known[name], strict=True))
