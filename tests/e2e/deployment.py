"""The operator's split deployment, started by its make targets: `make export` (static frontend),
`make backend` and `make serve-export`, each on a free port."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.servers import ROOT, Command, DatabaseServer, free_port

LOGS = ROOT / "test-results"


@dataclass(frozen=True)
class Deployment:
    site: str  # the origin serving the exported frontend
    api: str  # the backend's origin, baked into the export
    backend_log: Path
    database: dict[str, str]  # MONGODB_URI and MONGODB_DB of the backend


def make_export(api: str, site: str, dist: Path) -> float:
    """Runs `make export` and returns how long it took, in seconds."""
    started = time.monotonic()
    with (LOGS / "export.log").open("ab") as log:
        result = subprocess.run(
            ["make", "-s", "export", f"API_URL={api}", f"EXPORT_DIR={dist}"], cwd=ROOT,
            env={**os.environ, "FRONTEND_ORIGINS": site}, stdout=log, stderr=subprocess.STDOUT,
            timeout=900,
        )
    assert result.returncode == 0, "make export failed; see test-results/export.log"
    return time.monotonic() - started


@contextlib.contextmanager
def deployed(database: DatabaseServer, dist: Path, name: str, make_args: list[str] = (),
             env: dict[str, str] | None = None) -> Iterator[Deployment]:
    """The export served on one origin and `make backend <make_args>` on another; the backend's
    log is test-results/<name>.log."""
    LOGS.mkdir(exist_ok=True)
    site_port, api_port = free_port(), free_port()
    db = {"MONGODB_URI": database.uri, "MONGODB_DB": f"{name}_{uuid.uuid4().hex[:8]}"}
    deployment = Deployment(site=f"http://localhost:{site_port}", api=f"http://localhost:{api_port}",
                            backend_log=LOGS / f"{name}.log", database=db)
    print(f"make export: {make_export(deployment.api, deployment.site, dist):.1f} s")
    backend = Command(
        ["make", "-s", "backend", f"BACKEND_PORT={api_port}", *make_args],
        {**db, "JWT_SECRET": "export-" + "x" * 41, "API_URL": deployment.api,
         "FRONTEND_ORIGINS": deployment.site, "OPEN_ROUTER": "",
         # The backend compiles the app at start: keep that out of the .web `make run` uses.
         "REFLEX_WEB_WORKDIR": str(dist / "web"), **(env or {})},
        deployment.backend_log, f"{deployment.api}/readyz",
    ).start(timeout=180)
    static = Command(
        ["make", "-s", "serve-export", f"EXPORT_PORT={site_port}", f"EXPORT_DIR={dist}"],
        {}, LOGS / f"{name}-site.log", f"{deployment.site}/login",
    ).start(timeout=30)
    try:
        yield deployment
    finally:
        static.stop()
        backend.stop()
        shutil.rmtree(dist / "web")  # the build's work directory: 150 MB of frontend packages
