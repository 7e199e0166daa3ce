"""A TCP proxy in front of the database that counts the commands the app sends, by name and
collection, so a benchmark can say how many database writes one answer costs (the embedded
nx-27017 keeps no opcounters). It reads the MongoDB wire protocol just enough: each OP_MSG's
body section names the command as its first key and the collection as that key's value.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections import Counter

OP_MSG = 2013
WRITES = frozenset({"insert", "update", "delete", "findAndModify", "findandmodify"})


def command_of(message: bytes) -> tuple[str, str] | None:
    """(command, collection) of one OP_MSG, or None for anything else."""
    if len(message) < 26 or struct.unpack_from("<i", message, 12)[0] != OP_MSG or message[20] != 0:
        return None
    body = 21  # header (16), flag bits (4), section kind 0 (1): then the command's BSON document
    kind = message[body + 4]
    end = message.index(b"\0", body + 5)
    name = message[body + 5:end].decode("utf-8", "replace")
    collection = ""
    if kind == 0x02:  # a string: the collection
        length = struct.unpack_from("<i", message, end + 1)[0]
        collection = message[end + 5:end + 4 + length].decode("utf-8", "replace")
    return name, collection


class MongoCounter:
    """`uri` reaches the database through the proxy; `writes()` counts write commands so far."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.port = 0
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def writes(self) -> int:
        with self._lock:
            return sum(n for (name, _), n in self.counts.items() if name in WRITES)

    def by_collection(self) -> Counter[str]:
        with self._lock:
            return Counter({c: n for (name, c), n in self.counts.items() if name in WRITES})

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(self._requests(client_r, server_w), self._pipe(server_r, client_w),
                             return_exceptions=True)
        client_w.close()
        server_w.close()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readexactly(4)
                message = head + await reader.readexactly(struct.unpack("<i", head)[0] - 4)
                found = command_of(message)
                if found:
                    with self._lock:
                        self.counts[found] += 1
                writer.write(message)
                await writer.drain()
        finally:
            writer.close()  # the server's side ends too, and with it the reply pipe

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()
