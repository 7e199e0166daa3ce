"""The Content-Security-Policy and framing headers on every response."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from chatapp.security_headers import policy, script_hashes, security_headers

PAGE = b"<html><head><script>window.a=1</script><script src='/x.js'></script></head></html>"


def app(tmp_path):
    (tmp_path / "index.html").write_bytes(PAGE)
    inner = Starlette(routes=[Route("/page", lambda r: HTMLResponse(PAGE.decode())),
                              Route("/widget/", lambda r: HTMLResponse(PAGE.decode())),
                              Route("/api", lambda r: JSONResponse({})),
                              Route("/assets/app-3f2a.js",
                                    lambda r: Response("1", media_type="text/javascript"))])
    return security_headers("https://api.example.com", ["https://shop.example.com"], lambda: tmp_path)(inner)


async def test_pages_allow_only_their_own_inline_scripts_and_no_framing(tmp_path):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app(tmp_path)),
                                 base_url="http://test") as client:
        page, widget, api, script = [await client.get(path) for path in
                                     ("/page", "/widget/", "/api", "/assets/app-3f2a.js")]
    csp = page.headers["content-security-policy"]
    assert script_hashes([PAGE])[0] in csp and "'unsafe-inline'" not in csp.split(";")[1]
    assert "'unsafe-eval'" not in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'self';" in csp + ";" and page.headers["x-frame-options"] == "SAMEORIGIN"
    assert "connect-src 'self' https://api.example.com wss://api.example.com" in csp
    assert "frame-ancestors 'self' https://shop.example.com" in widget.headers["content-security-policy"]
    assert "x-frame-options" not in widget.headers  # the widget may be framed by listed sites
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in api.headers and "content-security-policy" not in script.headers
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "cache-control" not in page.headers


def test_only_inline_scripts_are_hashed():
    assert len(script_hashes([PAGE])) == 1
    assert script_hashes([b"<p>no scripts</p>"]) == ()
    assert "script-src 'self';" in policy("http://localhost:3000", (), ()) + ";"
