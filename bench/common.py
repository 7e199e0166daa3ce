"""What the benchmarks share: raw clients of the app's two channels, read as a page reads them,
and the helpers that start the app, find which worker holds a connection, and count CPU.

- `Socket`: the Reflex event socket (socket.io over a websocket, spoken by hand), with a reader
  thread that answers pings, counts the bytes of every frame and queues the state updates.
- `EventStream`: one events route (`/api/conversations/<id>/events` or `/api/inbox/events`) as
  `EventSource` reads it: gzip asked for, the raw body counted (wire) and inflated (decoded),
  `id:` / `data:` blocks parsed, each event stamped with `time.time()` when its last byte was read.
- `Follower`: an `EventStream` read by a thread of its own, so a benchmark can wait for "the
  event that shows X" with a deadline while other things happen.
- `web_workdir()`: a `REFLEX_WEB_WORKDIR` of the benchmarks' own (never the checkout's `.web`,
  which the test runs use), kept between runs under the system temp dir, and locked while an app
  built from it runs; a second benchmark running at the same time gets a fresh one.
- `worker_of(sock, pids)`: which worker process holds the server side of one of our TCP
  connections (psutil), since the websocket handshake carries no X-Served-By header.
"""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import json
import queue
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import websocket

NAMESPACE = "/_event"
Event = dict[str, Any]


def event_name(state: type, handler: str) -> str:
    return f"{state.get_full_name()}.{handler}"


def state_key(state: type) -> str:
    return state.get_full_name()


# Processes and CPU ------------------------------------------------------------------------------

def tree_cpu(process: psutil.Process) -> float:
    """user + system seconds of a process and all its descendants."""
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def pct(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (q = 0.99 of 200 values is the 198th smallest)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def worker_pids(root_pid: int) -> list[int]:
    """The processes under `root_pid` that listen on a TCP port: granian's workers (and, with
    one worker, the one serving process)."""
    found = []
    for proc in [psutil.Process(root_pid), *psutil.Process(root_pid).children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            if any(c.status == psutil.CONN_LISTEN for c in proc.net_connections("tcp")):
                found.append(proc.pid)
    return found


def worker_of(sock: socket.socket, pids: list[int]) -> int | None:
    """The pid among `pids` holding the server end of our connected socket `sock`."""
    mine = sock.getsockname()[:2]
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            for conn in psutil.Process(pid).net_connections("tcp"):
                if conn.raddr and (conn.raddr.ip, conn.raddr.port) == mine:
                    return pid
    return None


def worker_ids(log_path: Path) -> dict[str, int]:
    """X-Served-By value -> worker pid, from the "worker id" lines of a JSON log."""
    ids = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"worker id"' in line:
            with contextlib.suppress(ValueError, KeyError):
                record = json.loads(line)
                ids[record["worker_id"]] = record["pid"]
    return ids


# The build directory ------------------------------------------------------------------------------

@contextlib.contextmanager
def bench_dir(name: str = "web") -> Iterator[str]:
    """A directory kept between benchmark runs under the system temp dir (helpdesk-bench-<name>),
    locked for this run; if another run holds it, a fresh one, removed afterwards."""
    shared = Path(tempfile.gettempdir()) / f"helpdesk-bench-{name}"
    lock = open(f"{shared}.lock", "w")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        fresh = tempfile.mkdtemp(prefix=f"helpdesk-bench-{name}-")
        try:
            yield fresh
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
        return
    try:
        shared.mkdir(exist_ok=True)
        yield str(shared)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def web_workdir() -> contextlib.AbstractContextManager[str]:
    """A REFLEX_WEB_WORKDIR for one app run (never the checkout's .web, which test runs use)."""
    return bench_dir("web")


class Watchdog:
    """Notices a process of the app dying while a benchmark runs (a crash, or a kill from
    outside: the machine is shared), so its figures are not mistaken for the app's. Watches the
    processes present when it starts; `deaths` lists (pid, name, time, exit status)."""

    def __init__(self, root_pid: int) -> None:
        root = psutil.Process(root_pid)
        self._procs = {p.pid: p.name() for p in [root, *root.children(recursive=True)]}
        self.deaths: list[tuple[int, str, str, str]] = []
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for pid, name in list(self._procs.items()):
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    fields = ["X", "?"]
                if fields[0] in "ZX":
                    status = int(fields[-1]) if fields[-1].isdigit() else -1
                    how = (f"signal {status & 0x7F}" if status & 0x7F else f"exit {status >> 8}"
                           ) if status >= 0 else "gone"
                    self.deaths.append((pid, name, time.strftime("%H:%M:%S"), how))
                    self._procs.pop(pid)
                    print(f"WATCHDOG: app process {name} {pid} died at {self.deaths[-1][2]} ({how})",
                          file=sys.stderr, flush=True)

    def stop(self) -> str:
        """Stop watching; a warning line if something died, else ""."""
        self._stop.set()
        if not self.deaths:
            return ""
        return "WARNING: app processes died during the run, figures are not the app's: " + ", ".join(
            f"{name} {pid} at {at} ({how})" for pid, name, at, how in self.deaths)


# Accounts ----------------------------------------------------------------------------------------

def sign_up(http: httpx.Client, prefix: str = "bench") -> tuple[str, str]:
    """A new customer account over HTTP: (username, cookie header)."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    response = http.post("/api/auth/signup", json={
        "username": name, "email": f"{name}@example.com", "password": "bench-password-1"})
    response.raise_for_status()
    return name, cookie_header(http)


def log_in(http: httpx.Client, login: str, password: str) -> str:
    response = http.post("/api/auth/login", json={"login": login, "password": password})
    response.raise_for_status()
    return cookie_header(http)


def cookie_header(http: httpx.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in http.cookies.items())


# The event socket --------------------------------------------------------------------------------

class Socket:
    """One tab's event socket. `updates` queues (time, frame bytes, update) for every state update
    pushed; `bytes` counts every frame received (text frames, as sent: granian negotiates no
    websocket compression)."""

    def __init__(self, base_url: str, cookie: str, origin: str | None = None,
                 token: str | None = None, timeout: float = 60) -> None:
        self.token = token or str(uuid.uuid4())
        url = base_url.replace("http", "ws", 1) + f"/_event/?EIO=4&transport=websocket&token={self.token}"
        self.ws = websocket.create_connection(url, header=[f"Cookie: {cookie}"], origin=origin or base_url,
                                              timeout=timeout, enable_multithread=True)
        self.ws.recv()  # engine.io open
        self.ws.send(f"40{NAMESPACE},")
        self.ws.recv()  # socket.io connect
        self.bytes = 0
        self.updates: queue.Queue[tuple[float, int, dict]] = queue.Queue()
        self.closed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                frame = self.ws.recv()
                if not frame:
                    break
                at = time.time()
                size = len(frame.encode()) if isinstance(frame, str) else len(frame)
                self.bytes += size
                if frame == "2":  # engine.io ping
                    self.ws.send("3")
                    continue
                if isinstance(frame, str) and frame.startswith(f"42{NAMESPACE},"):
                    _, update = json.loads(frame[len(NAMESPACE) + 3:])
                    self.updates.put((at, size, update))
        except (websocket.WebSocketException, OSError, ValueError):
            pass
        finally:
            self.closed.set()

    def emit(self, name: str, payload: Any, path: str = "/chat") -> float:
        """Send an event as the page does; the time.time() just before it went out."""
        event = {"name": name, "payload": payload,
                 "router_data": {"pathname": path.split("?")[0], "asPath": path}}
        frame = f"42{NAMESPACE}," + json.dumps(["event", event])
        at = time.time()
        self.ws.send(frame)
        return at

    def wait_update(self, check: Callable[[dict], Any], timeout: float = 30) -> Any:
        """The first truthy check(delta) of the updates pushed from now on (older ones are kept
        in the queue only until read)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                _, _, update = self.updates.get(timeout=left)
            except queue.Empty:
                break
            found = check(update.get("delta", {}))
            if found:
                return found
        raise TimeoutError("no matching state update")

    def drain(self) -> None:
        while not self.updates.empty():
            self.updates.get_nowait()

    @property
    def sock(self) -> socket.socket:
        return self.ws.sock

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


def delta_field(state: type, name: str) -> Callable[[dict], Any]:
    """A check for `Socket.wait_update`: the value of `name` in `state`'s delta, if there."""
    key, field = state_key(state), f"{name}_rx_state_"

    def check(delta: dict) -> Any:
        return delta.get(key, {}).get(field)

    return check


# The events route --------------------------------------------------------------------------------

class EventStream:
    """An events route read as the page's EventSource reads it. `wire` counts the body's bytes as
    they arrived (gzip; HTTP headers and chunk framing not included), `decoded` the inflated
    text."""

    def __init__(self, http: httpx.Client, path: str, cookie: str = "", after: str | None = None,
                 gzip: bool = True, read_timeout: float = 60) -> None:
        headers = {"Accept-Encoding": "gzip" if gzip else "identity", "Accept": "text/event-stream"}
        if cookie:
            headers["Cookie"] = cookie
        if after:
            headers["Last-Event-ID"] = after
        self._context = http.stream("GET", path, headers=headers,
                                    timeout=httpx.Timeout(30, read=read_timeout))
        self.opened_at = time.time()
        self.response = self._context.__enter__()
        if self.response.status_code != 200:
            text = self.response.read().decode(errors="replace")
            self._context.__exit__(None, None, None)
            raise RuntimeError(f"GET {path}: {self.response.status_code} {text}")
        self.served_by = self.response.headers.get("x-served-by", "")
        self.wire = self.decoded = 0
        gzipped = self.response.headers.get("content-encoding") == "gzip"
        self._inflate = zlib.decompressobj(31) if gzipped else None
        self._text = codecs.getincrementaldecoder("utf-8")()
        self._raw = self.response.iter_raw()
        self._buffer = ""
        self.last_id: str | None = None

    def next(self) -> tuple[float, str | None, Event]:
        """The next event: (arrival time, its id, its data); comments and `retry:` are skipped."""
        while True:
            while "\n\n" not in self._buffer:
                chunk = next(self._raw)
                at = time.time()
                self.wire += len(chunk)
                data = self._inflate.decompress(chunk) if self._inflate else chunk
                self.decoded += len(data)
                self._buffer += self._text.decode(data)
            block, self._buffer = self._buffer.split("\n\n", 1)
            event_id, data = None, []
            for line in block.split("\n"):
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
            if data:
                if event_id is not None:
                    self.last_id = event_id
                return at, event_id, json.loads("\n".join(data))

    @property
    def sock(self) -> socket.socket | None:
        stream = self.response.extensions.get("network_stream")
        return stream.get_extra_info("socket") if stream is not None else None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._context.__exit__(None, None, None)


class Follower:
    """An EventStream read by its own thread; every event is kept as (time, id, event)."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.events: list[tuple[float, str | None, Event]] = []
        self.error: BaseException | None = None
        self._grew = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                item = self.stream.next()
                with self._grew:
                    self.events.append(item)
                    self._grew.notify_all()
        except BaseException as error:  # noqa: BLE001 - the stream ended or was closed
            self.error = error
            with self._grew:
                self._grew.notify_all()

    def wait_for(self, check: Callable[[Event], bool], start: int = 0,
                 timeout: float = 30) -> tuple[float, int]:
        """(arrival time, index) of the first event at or after index `start` with check(event)."""
        deadline = time.monotonic() + timeout
        with self._grew:
            index = start
            while True:
                while index < len(self.events):
                    at, _, event = self.events[index]
                    if check(event):
                        return at, index
                    index += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self.error is not None and index >= len(self.events)):
                    raise TimeoutError(f"no matching event (stream error: {self.error!r})")
                self._grew.wait(left)

    def close(self) -> None:
        self.stream.close()


def app_env(**extra: str) -> dict[str, str]:
    """The settings every benchmark gives the app (the environment wins over .env): JSON logs
    (they name each line's worker pid), the team always in, no rate limit in the way."""
    return {"TRUSTED_PROXY_HOPS": "1", "LOG_FORMAT": "json", "SUPPORT_HOURS": "",
            "AI_MESSAGES_PER_MINUTE": "100000", "SIGNUPS_PER_HOUR": "100000",
            "JWT_SECRET": "bench-" + "x" * 44, "REFLEX_USE_SYSTEM_BUN": "1", **extra}


# CPU by process kind, for the benchmarks that report where the CPU went.
def cpu_snapshot(processes: list[tuple[psutil.Process, str]]) -> dict[int, tuple[str, float]]:
    """{pid: (kind, user+system seconds)} for (process, kind) pairs that are still alive."""
    seconds = {}
    for proc, kind in processes:
        try:
            times = proc.cpu_times()
            seconds[proc.pid] = (kind, times.user + times.system)
        except psutil.Error:
            pass
    return seconds


def cpu_used(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> Counter:
    """CPU seconds by kind between two snapshots; processes started in between count from zero."""
    used = Counter()
    for pid, (kind, seconds) in after.items():
        used[kind] += max(0.0, seconds - before.get(pid, (kind, 0.0))[1])
    return used


def chromium_procs() -> list[tuple[psutil.Process, str]]:
    """Chromium processes started by this script's Playwright (not other people's browsers), by
    their --type (renderer, gpu-process, utility; the browser process has none)."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "chrom" in proc.name().lower():
                kind = next((arg[7:] for arg in proc.cmdline() if arg.startswith("--type=")), "browser")
                found.append((proc, kind))
        except psutil.Error:
            pass
    return found
