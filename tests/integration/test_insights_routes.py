"""The insights downloads and the transcript download through the real routes (chatapp.api.api)
and services built by runtime.build: who may download what, and what the files hold for a
fixed set of conversations seeded as threads.py and feedback.py write them."""

from __future__ import annotations

import csv
import io

from chatapp.models import ADMIN, AGENT
from chatapp.services.guests import new_guest
from tests.insights_seed import DOWNLOADS, RANGE, WHATSAPP, WHATSAPP_TOO, seed_week
from tests.integration.conftest import QUESTION, answered, client, new_chat_id


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def assert_download(response, filename: str, media_type: str) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert response.headers["cache-control"] == "no-store"


async def test_only_the_team_downloads_insights(app, sign_in):
    await seed_week(app.store.db)
    ann = await sign_in(app, "ann")
    guest = client({app.settings.cookie_name: app.accounts.guest_session(new_guest())})
    forged = client({app.settings.cookie_name: "not-a-token"})
    async with client() as anonymous, guest, forged:
        for path in DOWNLOADS:
            assert (await anonymous.get(path, params=RANGE)).status_code == 401
            assert (await forged.get(path, params=RANGE)).status_code == 401
            for refused in (ann.client, guest):
                response = await refused.get(path, params=RANGE)
                assert response.status_code == 403 and "Whats" not in response.text
                assert response.headers["cache-control"] == "no-store"


async def test_agents_and_admins_get_the_csvs_of_the_range(app, sign_in):
    ids = await seed_week(app.store.db)
    for member in (await sign_in(app, "alex", AGENT), await sign_in(app, "ada", ADMIN)):
        response = await member.client.get("/api/insights/conversations.csv", params=RANGE)
        assert_download(response, "conversations-2026-03-02-to-2026-03-08.csv", "text/csv; charset=utf-8")
        assert response.content.startswith("\ufeff".encode())
        header, *found = rows(response)
        assert header[:4] == ["conversation", "started (Etc/UTC)", "last activity (Etc/UTC)",
                              "closed (Etc/UTC)"]
        by_id = {row[0]: dict(zip(header, row, strict=True)) for row in found}
        assert [row[0] for row in found] == ids  # oldest first; the week before is not in it
        assert (by_id[ids[1]]["handoff"], by_id[ids[1]]["agent"], by_id[ids[1]]["csat"],
                by_id[ids[1]]["declined"]) == ("yes", "Alex", "4", "1")
        assert by_id[ids[0]]["started (Etc/UTC)"] == "2026-03-02 10:00:00"
        assert by_id[ids[0]]["thumbs up"] == "1" and by_id[ids[2]]["state"] == "bot"

        response = await member.client.get("/api/insights/feedback.csv", params=RANGE)
        assert_download(response, "feedback-2026-03-02-to-2026-03-08.csv", "text/csv; charset=utf-8")
        header, *found = rows(response)
        assert header[:5] == ["kind", "rated (Etc/UTC)", "conversation", "customer", "question"]
        assert [(r[0], r[2], r[4], r[6]) for r in found] == [
            ("answer", ids[0], QUESTION, "up"), ("conversation", ids[1], WHATSAPP, "4")]
        assert found[0][9] == "Resetting your password"

    days = await member.client.get("/api/insights/conversations.csv", params={"days": "7"})
    assert days.status_code == 200 and len(rows(days)) == 1  # today's week: only the header


async def test_a_range_that_is_not_one_is_refused_with_what_to_change(app, sign_in):
    alex = await sign_in(app, "alex", AGENT)
    for params, said in (({"from": "2026-03-08", "to": "2026-03-01"}, "before its start"),
                         ({"from": "2026-03-08"}, "both a start and an end"),
                         ({"from": "8 March", "to": "2026-03-09"}, "YYYY-MM-DD"),
                         ({"from": "2024-01-01", "to": "2026-03-09"}, "at most 366 days"),
                         ({"from": "0001-01-01", "to": "0001-01-02"}, "from 1971"),
                         ({"days": "0"}, "from 1 to 366"), ({"days": "²"}, "from 1 to 366"),
                         ({"days": "9" * 50}, "from 1 to 366")):
        response = await alex.client.get("/api/insights/conversations.csv", params=params)
        assert response.status_code == 400 and said in response.json()["message"], (params, response.text)


async def test_an_agent_downloads_a_knowledge_gap_as_a_draft_article(app, sign_in):
    await seed_week(app.store.db)
    alex = await sign_in(app, "alex", AGENT)
    response = await alex.client.get("/api/insights/gaps/0.md", params=RANGE)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="draft-') and "whatsapp" in disposition
    text = response.text
    assert text.startswith(f"# {WHATSAPP}\n") or text.startswith(f"# {WHATSAPP_TOO}\n")
    assert "## What customers asked" in text and WHATSAPP in text and WHATSAPP_TOO in text
    for missing in ("1", "99", "x", "-1", "0" * 20):
        assert (await alex.client.get(f"/api/insights/gaps/{missing}.md", params=RANGE)).status_code == 404


async def test_a_transcript_is_its_customers_and_the_teams_and_nobody_elses(app, sign_in):
    ann, bob = await sign_in(app, "ann"), await sign_in(app, "bob")
    alex = await sign_in(app, "alex", AGENT)
    chat_id = new_chat_id()
    await answered(app, await ann.say(chat_id, QUESTION))
    path = f"/api/conversations/{chat_id}/transcript.md"

    mine = await ann.client.get(path)
    assert_download(mine, "conversation-how-do-i-reset-my-password.md", "text/markdown; charset=utf-8")
    assert mine.text.startswith(f"# {QUESTION}\n") and "**You** · " in mine.text
    assert "](http://localhost:3000/help/reset-password)" in mine.text  # absolute source links
    team = await alex.client.get(path)
    assert team.status_code == 200 and "**ann** · " in team.text

    nobody = await bob.client.get(f"/api/conversations/{new_chat_id()}/transcript.md")
    theirs = await bob.client.get(path)
    assert theirs.status_code == nobody.status_code == 404 and theirs.content == nobody.content
    async with client() as anonymous:
        assert (await anonymous.get(path)).status_code == 404
    for malformed in ("x", chat_id.upper(), chat_id + "0", "..%2F.."):
        assert (await ann.client.get(f"/api/conversations/{malformed}/transcript.md")).status_code == 404
