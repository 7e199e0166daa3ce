"""Downloads for the insights page and the conversations, as plain GETs with the session cookie
(a download is a document request, which an event handler cannot answer):

- /api/insights/conversations.csv and /api/insights/feedback.csv, for the range the page names
  (`?days=30`, or `?from=2026-11-01&to=2026-11-30`), for the support team only;
- /api/insights/gaps/<n>.md: the n-th knowledge-gap topic of that range as a draft article in
  Markdown, for agents, who cannot make drafts in the knowledge base;
- /api/conversations/<id>/transcript.md: a conversation as Markdown, for its customer and the
  team; anyone else gets 404, whether or not it exists.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatapp import cookies
from chatapp.models import User
from chatapp.runtime import services
from chatapp.services.conversations import NotAllowed, ThreadNotFound
from chatapp.services.insights import Export, InvalidPeriod
from chatapp.services.knowledge.articles import slugify
from chatapp.services.store import StoreUnavailable
from chatapp.services.transcript import MARKDOWN_TYPE

_CHAT_ID = re.compile(r"[0-9a-f]{16}")
_TOPIC = re.compile(r"\d{1,4}")


def _refuse(status: int, message: str) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if status == 503:
        headers["Retry-After"] = "5"
    return JSONResponse({"ok": False, "message": message}, status_code=status, headers=headers)


def _unavailable() -> JSONResponse:
    return _refuse(503, "The database is not reachable; try again soon.")


def _attachment(content: bytes, filename: str, media_type: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    return Response(content, media_type=media_type, headers=headers)


async def _user(request: Request) -> User | None:
    """Raises StoreUnavailable."""
    app = services()
    return await app.accounts.authenticate(cookies.session_token(app.settings, request.cookies))


async def _team_file(request: Request, make) -> Response:
    """`make(user, period)` for the team member the cookie names, with the query's range."""
    app = services()
    try:
        user = await _user(request)
        if user is None:
            return _refuse(401, "Log in to download this.")
        if not user.on_team:
            return _refuse(403, "Only the support team can download insights.")
        period = app.insights.period(request.query_params, ZoneInfo(app.settings.support_timezone))
        return await make(user, period)
    except InvalidPeriod as wrong:
        return _refuse(400, str(wrong))
    except NotAllowed as refused:
        return _refuse(403, str(refused))
    except StoreUnavailable:
        return _unavailable()


def _csv(export: Export) -> Response:
    return _attachment(export.content, export.filename, export.media_type)


async def conversations_csv(request: Request) -> Response:
    async def make(user, period):
        return _csv(await services().insights.conversations_csv(user, period))
    return await _team_file(request, make)


async def feedback_csv(request: Request) -> Response:
    async def make(user, period):
        return _csv(await services().insights.feedback_csv(user, period))
    return await _team_file(request, make)


async def gap_draft(request: Request) -> Response:
    number = request.path_params["n"]

    async def make(user, period):
        topics = (await services().insights.gaps(user, period)).topics
        index = int(number) if _TOPIC.fullmatch(number) else -1
        if not 0 <= index < len(topics):
            return _refuse(404, "There is no such topic in this range.")
        topic = topics[index]
        name = slugify(topic.title)[:60].strip("-") or "knowledge-gap"
        text = f"# {topic.title}\n\n{topic.body}"
        return _attachment(text.encode("utf-8"), f"draft-{name}.md", MARKDOWN_TYPE)
    return await _team_file(request, make)


async def transcript(request: Request) -> Response:
    app, chat_id = services(), request.path_params["chat_id"]
    missing = _refuse(404, "Conversation not found.")
    try:
        user = await _user(request)
        if user is None or not _CHAT_ID.fullmatch(chat_id):
            return missing
        found = await app.transcripts.markdown(user, chat_id, base_url=app.settings.frontend_origins[0],
                                               tz=ZoneInfo(app.settings.support_timezone))
    except ThreadNotFound:
        return missing
    except StoreUnavailable:
        return _unavailable()
    return _attachment(found.content, found.filename, found.media_type)


ROUTES = [
    Route("/api/insights/conversations.csv", conversations_csv, methods=["GET"]),
    Route("/api/insights/feedback.csv", feedback_csv, methods=["GET"]),
    Route("/api/insights/gaps/{n}.md", gap_draft, methods=["GET"]),
    Route("/api/conversations/{chat_id}/transcript.md", transcript, methods=["GET"]),
]
