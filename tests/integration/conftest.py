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
