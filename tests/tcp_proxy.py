"""A TCP proxy on loopback between the browser and the app: it can cut the network, and it
counts what the app sends back.

Playwright's offline mode only holds websocket frames back; closing the sockets here is
what a dropped connection really looks like to the page (the socket closes, reconnects fail
until `restore()`).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable


class TcpProxy:
    """Forwards 127.0.0.1:`port` to the app's port. `down` counts bytes app -> browser, keyed by
    `route(request_line_path)` of the last request sent on each connection."""

    def __init__(self, port: int, target_port: int,
                 route: Callable[[bytes], str] = lambda path: "all") -> None:
        self.port, self.target_port, self.route = port, target_port, route
        self.down: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._cut = False

    def start(self) -> TcpProxy:
        ready = threading.Event()

        async def serve() -> None:
            await asyncio.start_server(self._connection, "127.0.0.1", self.port)
            ready.set()
            await asyncio.Event().wait()

        threading.Thread(target=self._loop.run_until_complete, args=(serve(),), daemon=True).start()
        if not ready.wait(10):
            raise TimeoutError("proxy did not start")
        return self

    def cut(self) -> None:
        """Drop every open connection and refuse new ones, as a lost network would."""
        self._cut = True
        self._loop.call_soon_threadsafe(self._close_all)

    def restore(self) -> None:
        self._cut = False

    def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self._cut:
            client_w.transport.abort()
            return
        try:
            app_r, app_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        self._writers |= {client_w, app_w}
        route = ["other"]
        await asyncio.gather(self._pipe(client_r, app_w, route, False),
                             self._pipe(app_r, client_w, route, True))
        self._writers -= {client_w, app_w}

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, route: list[str],
                    down: bool) -> None:
        try:
            while data := await src.read(65536):
                if down:
                    self.down[route[0]] += len(data)
                elif data[:8].split(b" ", 1)[0] in (b"GET", b"POST", b"PUT", b"DELETE", b"HEAD"):
                    route[0] = self.route(data.split(b" ", 2)[1])
                dst.write(data)
                await dst.drain()
        except (OSError, IndexError):
            pass
        finally:
            dst.close()
