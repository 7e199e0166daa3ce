"""A raw client of Reflex's event socket (socket.io over a websocket, spoken by hand), for tests
that send what a page never would: unknown events, wrong types, other tabs' tokens."""

from __future__ import annotations

import json
import time
import uuid

import websocket

NAMESPACE = "/_event"


def event_name(state: type, handler: str) -> str:
    return f"{state.get_full_name()}.{handler}"


class EventSocket:
    def __init__(self, base_url: str, cookie: str = "", token: str | None = None,
                 origin: str | None = None) -> None:
        self.token = token or str(uuid.uuid4())
        url = base_url.replace("http", "ws", 1) + f"/_event/?EIO=4&transport=websocket&token={self.token}"
        headers = [f"Cookie: {cookie}"] if cookie else []
        self.ws = websocket.create_connection(url, header=headers, origin=origin or base_url, timeout=10)
        self.ws.recv()  # engine.io open
        self.ws.send(f"40{NAMESPACE},")
        self.ws.recv()  # socket.io connect
        self.received: list[str] = []

    def emit(self, name: str, payload, path: str = "/chat") -> None:
        event = {"name": name, "payload": payload, "router_data": {"pathname": path, "asPath": path}}
        self.ws.send(f"42{NAMESPACE}," + json.dumps(["event", event]))

    def send_raw(self, frame: str) -> None:
        self.ws.send(frame)

    def read(self, seconds: float) -> list[dict]:
        """The state updates pushed within `seconds` (the frames are also kept in `received`)."""
        updates, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.ws.settimeout(left)
            try:
                frame = self.ws.recv()
            except (websocket.WebSocketTimeoutException, TimeoutError):
                break
            if frame == "2":  # engine.io ping
                self.ws.send("3")
                continue
            self.received.append(frame)
            if frame.startswith(f"42{NAMESPACE},"):
                _, update = json.loads(frame[len(NAMESPACE) + 3:])
                updates.append(update)
        return updates

    def close(self) -> None:
        self.ws.close()
