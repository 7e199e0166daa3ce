"""Real servers for tests: the embedded database and the app itself, on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll `check` until it returns truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class DatabaseServer:
    """An nx-27017 process (MongoDB wire protocol over SQLite) that can be stopped and restarted."""

    def __init__(self, path: str = "memory") -> None:
        self.port = free_port()
        self.path = path
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> DatabaseServer:
        """Start, and on a restart keep trying while the old socket still holds the port."""
        deadline = time.monotonic() + timeout
        while True:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "nx-27017"), "--db", self.path, "--host", "127.0.0.1",
                 "-p", str(self.port), "--log-file", os.devnull,
                 "--pid-file", f"{tempfile.gettempdir()}/nx-27017-test-{self.port}.pid"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            while self.process.poll() is None and not port_open(self.port):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"database server not ready after {timeout:.0f} s")
                time.sleep(0.2)
            if self.process.poll() is None:
                return self
            if time.monotonic() > deadline:
                raise TimeoutError(f"database server could not bind port {self.port}")
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop, and return only once nothing listens on the port (a restart reuses it)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
        wait_for(lambda: not port_open(self.port), 20, f"port {self.port} to close")


class RedisServer:
    """Debian's redis-server on a free port, in memory only (installed by `make test`)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), 20, "redis-server")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


class Command:
    """A long-running command (a make target) in its own process group, ready when `url` answers."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path, url: str) -> None:
        self.args = args
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.ready_url = url
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> Command:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.args} exited early; see {self.log_path}")
            with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                return response.status == 200

        wait_for(ready, timeout, f"{self.ready_url} (log: {self.log_path})", 0.5)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None


class AppServer(Command):
    """The app started exactly as `make run` starts it (scripts/run.sh), with test settings;
    ready when it serves the log-in page (its lifespan, database included, has run)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        super().__init__([str(ROOT / "scripts" / "run.sh")], {**env, "APP_PORT": str(self.port)},
                         log_path, f"http://localhost:{self.port}/login")

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self, timeout: float = 420) -> AppServer:
        return super().start(timeout)
