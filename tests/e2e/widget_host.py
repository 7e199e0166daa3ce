"""Two loopback origins for the widget loader's tests and benchmark, on free ports.

- `FakeHelpdesk` (http://localhost:P1) plays the Helpdesk side of the widget contract: it serves
  assets/widget.js (read from disk on every request, gzip when the browser asks for it), a stub
  `GET /api/widget/config` (allowed only for the origins in `allowed`, 403 {"allowed": false}
  otherwise, readable cross-origin), a stub chat frame at `/widget/` and `/rogue.html` (a page
  of the Helpdesk origin that is not the chat frame and posts to its parent anyway).
- `Site` (http://127.0.0.1:P2) is the company's site: pages registered with `page()`, plus
  `/evil.html`, which posts a widget message to its parent from the host's own origin.

Both are `http.server` servers in daemon threads and record every request they answer.
"""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
WIDGET_JS = ROOT / "assets" / "widget.js"
DEMO_HTML = ROOT / "examples" / "widget-demo.html"

# The frame side of the contract: posts "ready" at once, "close" on its own "Close chat" button
# or Escape, and whatever a test passes to send(); records every widget message from its host.
FRAME_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Support chat (stub)</title>
<style>body{margin:0;padding:16px;font:16px system-ui;background:#fff;color:#111}</style></head>
<body><h1>Support chat</h1><button id="close" type="button">Close chat</button>
<label>Message <input id="message"></label>
<script>
const host = new URLSearchParams(location.search).get("host");
const received = [];
const send = (message) => parent.postMessage({helpdesk: 1, ...message}, host);
addEventListener("message", (event) => {
  if (event.origin === host && event.source === parent && event.data && event.data.helpdesk === 1)
    received.push(event.data);
});
addEventListener("keydown", (event) => { if (event.key === "Escape") send({type: "close"}); });
document.getElementById("close").addEventListener("click", () => send({type: "close"}));
send({type: "ready"});
</script></body></html>"""

# Posts a widget message to the parent with targetOrigin "*" as soon as it loads.
POSTER_HTML = """<!doctype html><meta charset="utf-8"><title>poster</title>
<script>parent.postMessage({helpdesk: 1, type: "unread", count: %d}, "*");
parent.postMessage({helpdesk: 1, type: "close"}, "*");</script>"""


class Site:
    """A tiny static site on 127.0.0.1; `host` names it in URLs ("localhost" or "127.0.0.1")."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port  # 0: any free one
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.requests: list[dict] = []  # {"path", "origin", "cookie", "encoding"} per request
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.page("/evil.html", POSTER_HTML % 9)
        self.pages["/favicon.ico"] = ("image/x-icon", (ROOT / "assets" / "favicon.ico").read_bytes())

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}"

    def page(self, path: str, body: str, content_type: str = "text/html; charset=utf-8") -> str:
        """Serve `body` at `path`; returns the page's URL once started (the path before)."""
        self.pages[path] = (content_type, body.encode())
        return f"{self.origin}{path}" if self.server else path

    def hits(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def respond(self, path: str, headers) -> tuple[int, dict[str, str], bytes]:
        if path in self.pages:
            content_type, body = self.pages[path]
            return 200, {"Content-Type": content_type, "Cache-Control": "no-store"}, body
        return 404, {"Content-Type": "text/plain"}, b"not found"

    def start(self) -> Site:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with site.lock:
                    site.requests.append({"path": path, "origin": self.headers.get("Origin"),
                                          "cookie": self.headers.get("Cookie"),
                                          "encoding": self.headers.get("Accept-Encoding", "")})
                status, headers, body = site.respond(path, self.headers)
                if "gzip" in self.headers.get("Accept-Encoding", "") and headers.get(
                        "Content-Type", "").startswith("text/javascript"):
                    body = gzip.compress(body, compresslevel=6, mtime=0)
                    headers = {**headers, "Content-Encoding": "gzip", "Vary": "Accept-Encoding, Origin"}
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


class FakeHelpdesk(Site):
    """The Helpdesk origin, as the loader sees it (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__("localhost")
        self.allowed: set[str] = set()
        self.config = {"title": "Acme support", "accent": "#0f766e", "greeting": "Hi! Ask us anything.",
                       "position": "right"}
        self.refused_status = 403
        self.config_body: bytes | None = None  # replaces the config route's JSON when set
        self.page("/widget/", FRAME_HTML)
        self.page("/rogue.html", POSTER_HTML % 7)

    @property
    def script_url(self) -> str:
        return f"{self.origin}/widget.js"

    def respond(self, path: str, headers) -> tuple[int, dict[str, str], bytes]:
        if path == "/widget.js":
            return 200, {"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache"}, \
                WIDGET_JS.read_bytes()
        if path == "/widget-demo":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, DEMO_HTML.read_bytes()
        if path == "/api/widget/config":
            # A same-origin GET carries no Origin header (the demo page): Sec-Fetch-Site says so.
            same = headers.get("Sec-Fetch-Site") == "same-origin"
            allowed = headers.get("Origin", self.origin if same else "") in self.allowed
            body = {"allowed": True, **self.config} if allowed else {"allowed": False}
            cors = {"Access-Control-Allow-Origin": headers["Origin"],
                    "Access-Control-Allow-Credentials": "true"} if headers.get("Origin") else {}
            return (200 if allowed else self.refused_status), {
                "Content-Type": "application/json", **cors, "Vary": "Origin, Cookie",
                "Cache-Control": "no-store"}, self.config_body or json.dumps(body).encode()
        return super().respond(path, headers)


def host_page(script_src: str | None, attributes: str = "", *, head: str = "", before: str = "",
              stub: bool = True, scripts: int = 1, nonce: str = "") -> str:
    """A company page with the loader's one line (`scripts` times; none if `script_src` is None).

    Its own script keeps, in global lexical bindings (which add nothing to `window`), `events`:
    the widget's events as they fire (["unread", 3], ["opened"], ...), and `seen`: every message
    the page receives. With `stub`, it subscribes through the `Helpdesk.q` stub before load and
    runs `before` (more stub calls) there. `nonce` goes on that inline script (for a CSP)."""
    subscribe = """window.Helpdesk = window.Helpdesk || {q: []};
for (const name of ["ready", "opened", "closed", "unread"])
  Helpdesk.q.push(["on", name, (detail) => events.push(detail ? [name, detail.count] : [name])]);
""" if stub else ""
    loader = f'<script src="{script_src}" async {attributes}></script>\n' * scripts if script_src else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Host site</title>{head}</head>
<body>
<h1>Host site</h1>
<p>Some of the company's own text, with <a id="own-link" href="#top">a link</a>.</p>
<button id="own-button" type="button">Own button</button>
<script{f' nonce="{nonce}"' if nonce else ""}>
const events = [], seen = [];
addEventListener("message", (event) => seen.push({{origin: event.origin, data: event.data}}));
{subscribe}{before}
</script>
{loader}</body></html>"""
