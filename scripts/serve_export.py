"""`make serve-export`: serve an exported frontend by the rules a production static host needs.

- A file, or a prerendered page (`/login/` -> login.html or login/index.html), is served as is.
- A path matching one of the app's dynamic routes (listed in routes.json beside the site, e.g.
  `/chat/<id>`) gets the SPA shell, `__spa-fallback.html`, with 200; the browser renders the route.
- Anything else gets `404.html`, which renders the app's own not-found page, with 404.
- Hashed files under /assets/ may be cached for ever; pages are revalidated on every load.

The README gives the same rules for nginx and Caddy. Usage: serve_export.py DIST_DIR [--port N]
"""

from __future__ import annotations

import argparse
import json
import mimetypes
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from reflex.route import get_router

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class Site:
    """Maps a request path to the file to send and its status, as the static host must."""

    def __init__(self, dist: Path) -> None:
        self.root = (dist / "frontend").resolve()
        routes = json.loads((dist / "routes.json").read_text())
        self.dynamic_route = get_router([route for route in routes if "[" in route])

    def resolve(self, url_path: str) -> tuple[Path, HTTPStatus]:
        path = unquote(urlsplit(url_path).path).strip("/")
        for candidate in (path, f"{path}.html", f"{path}/index.html") if path else ("index.html",):
            file = (self.root / candidate).resolve()
            if file.is_file() and file.is_relative_to(self.root):
                return file, HTTPStatus.OK
        if self.dynamic_route(path):
            return self.root / "__spa-fallback.html", HTTPStatus.OK
        return self.root / "404.html", HTTPStatus.NOT_FOUND


class Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args, site: Site, **kwargs) -> None:
        self.site = site
        super().__init__(*args, **kwargs)

    def send_head(self):
        file, status = self.site.resolve(self.path)
        body = file
        gzipped = file.with_name(file.name + ".gz")
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if accepts_gzip and gzipped.is_file():
            body = gzipped
        handle = body.open("rb")
        self.send_response(status)
        self.send_header("Content-Type", mimetypes.guess_type(file.name)[0] or "application/octet-stream")
        self.send_header("Content-Length", str(body.stat().st_size))
        self.send_header("Vary", "Accept-Encoding")
        if body is gzipped:
            self.send_header("Content-Encoding", "gzip")
        immutable = file.parent.name == "assets" and status == HTTPStatus.OK
        self.send_header("Cache-Control", IMMUTABLE if immutable else REVALIDATE)
        self.end_headers()
        return handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist", type=Path, help="the export directory (frontend/ and routes.json)")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), partial(Handler, site=Site(args.dist)))
    print(f"serve-export: http://localhost:{args.port} ({args.dist / 'frontend'})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
