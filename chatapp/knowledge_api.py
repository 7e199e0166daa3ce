"""The knowledge base's one HTTP route: every article as a zip of knowledge/ files, for admins
(a download is a plain GET with the session cookie, which an event handler cannot answer)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatapp import cookies
from chatapp.runtime import services
from chatapp.services.conversations import NotAllowed
from chatapp.services.store import StoreUnavailable


async def export(request: Request) -> Response:
    app, user = services(), None
    try:
        user = await app.accounts.authenticate(cookies.session_token(app.settings, request.cookies))
        archive = await app.desk.export_zip(user)
    except NotAllowed as refused:
        return JSONResponse({"ok": False, "message": str(refused)}, status_code=401 if user is None else 403)
    except StoreUnavailable:
        return JSONResponse({"ok": False, "message": "The database is not reachable; try again soon."},
                            status_code=503, headers={"Retry-After": "5"})
    name = f"knowledge-{datetime.now(UTC):%Y-%m-%d}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(archive, media_type="application/zip", headers=headers)


ROUTES = [Route("/api/knowledge/export", export, methods=["GET"])]
