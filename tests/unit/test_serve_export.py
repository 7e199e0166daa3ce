"""scripts/serve_export.py: the static-host rules, on a tiny stand-in for an exported site."""

from __future__ import annotations

import importlib.util
import json
from http import HTTPStatus

import pytest

from tests.servers import ROOT

spec = importlib.util.spec_from_file_location("serve_export", ROOT / "scripts" / "serve_export.py")
serve_export = importlib.util.module_from_spec(spec)
spec.loader.exec_module(serve_export)


@pytest.fixture
def site(tmp_path):
    frontend = tmp_path / "frontend"
    for name in ("index.html", "login.html", "chat/index.html", "404.html", "__spa-fallback.html",
                 "assets/app-1234.js"):
        (frontend / name).parent.mkdir(parents=True, exist_ok=True)
        (frontend / name).write_text(name)
    (tmp_path / "secret.txt").write_text("outside the site")
    (tmp_path / "routes.json").write_text(
        json.dumps(["index", "login", "chat", "chat/[chat_id]", "help/[slug]", "404"]))
    return serve_export.Site(tmp_path)


@pytest.mark.parametrize(("path", "file", "status"), [
    ("/", "index.html", HTTPStatus.OK),
    ("/login", "login.html", HTTPStatus.OK),
    ("/login/", "login.html", HTTPStatus.OK),
    ("/chat/", "chat/index.html", HTTPStatus.OK),
    ("/chat/abc123/", "__spa-fallback.html", HTTPStatus.OK),
    ("/help/reset-password?x=1", "__spa-fallback.html", HTTPStatus.OK),
    ("/assets/app-1234.js", "assets/app-1234.js", HTTPStatus.OK),
    ("/chat/abc/extra", "404.html", HTTPStatus.NOT_FOUND),
    ("/no-such-page/", "404.html", HTTPStatus.NOT_FOUND),
    ("/../secret.txt", "404.html", HTTPStatus.NOT_FOUND),
    ("/%2e%2e/routes.json", "404.html", HTTPStatus.NOT_FOUND),
])
def test_paths_resolve_as_a_production_static_host_must(site, path, file, status):
    resolved, got = site.resolve(path)
    assert (resolved.relative_to(site.root).as_posix(), got) == (file, status)
