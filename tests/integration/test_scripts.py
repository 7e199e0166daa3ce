"""The setup scripts, run for real in a throwaway copy of the checkout's scripts: the embedded
database never takes another checkout's server for its own, and `.env` is private."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.servers import ROOT, DatabaseServer


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A second checkout: the scripts, the env template, and this checkout's venv."""
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    yield tmp_path
    subprocess.run(["scripts/db.sh", "stop"], cwd=tmp_path, capture_output=True, timeout=30)


def run(checkout: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=checkout, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_a_port_held_by_another_server_is_never_taken_for_our_own(checkout, tmp_path_factory):
    other = DatabaseServer(str(tmp_path_factory.mktemp("other") / "other.db")).start()
    try:
        result = run(checkout, "scripts/db.sh", "start", DB_PORT=str(other.port))
        assert result.returncode == 0, result.stderr
        port = int((checkout / "data" / "nx-27017.port").read_text())
        assert port != other.port
        assert f"127.0.0.1:{other.port} is held by another server" in result.stdout
        assert f"using 127.0.0.1:{port} instead (set DB_PORT to choose)" in result.stdout
        owner = run(checkout, ".venv/bin/python", "scripts/db_owner.py", str(port),
                    str(checkout / "data" / "helpdesk.db"))
        assert owner.stdout.startswith("ours ")
        again = run(checkout, "scripts/db.sh", "start", DB_PORT=str(other.port))
        assert f"embedded database on 127.0.0.1:{port}" in again.stdout  # the same, reused
        assert run(checkout, "scripts/db.sh", "status").returncode == 0
    finally:
        other.stop()


def test_env_is_created_private_and_an_existing_one_is_tightened(checkout):
    (checkout / "scripts" / "setup.sh").write_text("#!/bin/sh\n")  # the venv is already there
    prepare = ". scripts/prepare.sh APP_PORT"
    result = run(checkout, "bash", "-c", prepare, MONGODB_URI="mongodb://127.0.0.1:1")
    assert result.returncode == 0, result.stderr
    env_file = checkout / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "JWT_SECRET=change-me" not in env_file.read_text()
    env_file.chmod(0o644)
    run(checkout, "bash", "-c", prepare, MONGODB_URI="mongodb://127.0.0.1:1")
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
