"""The team's knowledge base in the browser: an admin writes and edits help articles, and the
help centre and the assistant answer from the new text at once; history, import, export, roles."""

from __future__ import annotations

import io
import re
import uuid
import zipfile

import pytest
from playwright.sync_api import Page, expect
from pymongo import MongoClient

from chatapp.state.article_editor import ArticleEditorState
from chatapp.state.knowledge_list import KnowledgeListState
from tests.e2e.conftest import answers, ask, at, make_admin, open_inbox, sign_up, unique_name
from tests.e2e.test_hardening import request, sign_up_over_http
from tests.socket_client import EventSocket, event_name


@pytest.fixture(scope="module")
def admin(app_server) -> str:
    email = f"kb_admin_{uuid.uuid4().hex[:8]}@example.com"
    make_admin({k: app_server.env[k] for k in ("MONGODB_URI", "MONGODB_DB")}, email)
    return email


def place() -> str:
    """A made-up office name, so each test's article is the only one that answers it."""
    return "Quill" + uuid.uuid4().hex[:4].translate(str.maketrans("0123456789", "ghijklmnop"))


def write_article(page: Page, title: str, body: str, *, category: str = "Offices",
                  publish: bool = True) -> str:
    """Through the editor, as an admin: the new article's id."""
    page.goto("/inbox/knowledge")
    page.get_by_role("button", name="New article").click()
    page.wait_for_url(at("/inbox/knowledge/new"))
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Category", exact=True).fill(category)
    if publish:
        page.get_by_label("Status", exact=True).select_option("published")
    page.get_by_label("Body", exact=True).fill(body)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/inbox/knowledge/[0-9a-f]{32}/?$"))
    expect(page.get_by_role("status").filter(has_text="Saved as version 1")).to_be_visible()
    return page.url.rstrip("/").rsplit("/", 1)[1]


def edit_body(page: Page, article_id: str, change: tuple[str, str], version: int) -> None:
    page.goto(f"/inbox/knowledge/{article_id}")
    body = page.get_by_label("Body", exact=True)
    expect(body).to_have_value(re.compile(re.escape(change[0])))
    body.fill(body.input_value().replace(*change))
    expect(page.get_by_role("region", name="Preview")).to_contain_text(change[1])  # live preview
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text=f"Saved as version {version}")).to_be_visible()


def parking(office: str, garage: str) -> str:
    return (f"## Where to park\n\nVisitors to the {office} office park in the {garage}, level 2. "
            "Ask reception for a free exit ticket.\n\n## Bikes\n\nBike racks are by the main door.")


def test_an_admins_edit_is_what_the_assistant_and_the_help_centre_answer_from_at_once(
        new_context, app_server, admin):
    editor = new_context().new_page()
    open_inbox(editor, admin)
    office = place()
    article_id = write_article(editor, f"Parking at the {office} office", parking(office, "Blue Garage"))

    customer = new_context().new_page()
    sign_up(customer, unique_name())
    ask(customer, f"Where do I park when I visit the {office} office?")
    expect(answers(customer).last).to_contain_text("Blue Garage", timeout=20_000)
    expect(answers(customer).last.get_by_role("group", name="Sources")).to_contain_text(
        f"Parking at the {office} office")

    edit_body(editor, article_id, ("Blue Garage", "Green Garage on Mill Lane"), 2)
    customer.get_by_role("button", name="New chat").click()
    ask(customer, f"Where do I park when I visit the {office} office?")
    expect(answers(customer).last).to_contain_text("Green Garage on Mill Lane", timeout=20_000)
    customer.goto("/help?q=" + office)
    customer.get_by_role("link", name=f"Parking at the {office} office").click()
    expect(customer.locator(".help-article-body")).to_contain_text("Green Garage on Mill Lane")


def test_history_shows_who_changed_what_and_restores_a_version(new_context, admin):
    page = new_context().new_page()
    open_inbox(page, admin)
    office = place()
    article_id = write_article(page, f"Visiting the {office} office", parking(office, "Blue Garage"))
    edit_body(page, article_id, ("level 2", "level 3"), 2)
    edit_body(page, article_id, ("Blue Garage", "Red Garage"), 3)

    page.get_by_role("button", name="History").click()
    versions = page.get_by_role("list", name="Versions, newest first").get_by_role("listitem")
    expect(versions).to_have_count(3)
    expect(versions.first).to_contain_text("Version 3")
    changes = page.get_by_label("Changes")  # the last save against the one before
    expect(changes.locator(".diff-removed")).to_contain_text(["Blue Garage"])
    expect(changes.locator(".diff-added")).to_contain_text(["Red Garage"])
    page.get_by_label("Compare").select_option("1")
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(changes.locator(".diff-removed")).to_contain_text(["Blue Garage, level 2"])
    expect(changes.locator(".diff-added")).to_contain_text(["Red Garage, level 3"])

    versions.nth(2).get_by_role("button", name="Restore this version").click()
    restored = page.get_by_role("status").filter(has_text="Restored version 1, saved as version 4")
    expect(restored).to_be_visible()
    expect(page.get_by_label("Body", exact=True)).to_have_value(re.compile("Blue Garage, level 2"))
    expect(versions).to_have_count(4)
    page.goto(f"/help/visiting-the-{office.lower()}-office")
    expect(page.locator(".help-article-body")).to_contain_text("Blue Garage, level 2")


def test_a_stored_answer_keeps_citing_its_article_after_edits_and_a_rename(new_context, admin):
    editor = new_context().new_page()
    open_inbox(editor, admin)
    office = place()
    article_id = write_article(editor, f"Parking near {office}", (
        f"## Deliveries\n\nCouriers for the {office} office leave parcels at the loading dock on "
        "Pier Road, beside the tyre shop."))
    customer = new_context().new_page()
    sign_up(customer, unique_name())
    ask(customer, f"Where do couriers leave parcels for the {office} office?")
    expect(answers(customer)).to_have_count(1, timeout=20_000)
    conversation = customer.url

    editor.goto(f"/inbox/knowledge/{article_id}")  # new sections before the cited one, a new name
    editor.get_by_label("Title", exact=True).fill(f"Getting to the {office} office")
    editor.get_by_label("Slug", exact=True).fill(f"getting-to-{office.lower()}")
    body = editor.get_by_label("Body", exact=True)
    body.fill("## By train\n\nThe station is five minutes away.\n\n## By bus\n\nLines 4 and 9 stop "
              "outside.\n\n" + body.input_value())
    editor.get_by_role("button", name="Save").click()
    expect(editor.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()

    customer.goto(conversation)
    source = answers(customer).first.get_by_role("group", name="Sources").get_by_role("link")
    expect(source).to_have_text([f"Getting to the {office} office"])
    source.click()
    expect(customer).to_have_url(at(f"/help/getting-to-{office.lower()}"))
    customer.goto(f"/help/parking-near-{office.lower()}")  # the old address still leads there
    expect(customer).to_have_url(at(f"/help/getting-to-{office.lower()}"))

    editor.goto(f"/inbox/knowledge/{article_id}")
    editor.get_by_role("button", name="Delete").click()
    editor.get_by_role("button", name="Delete article").click()
    editor.wait_for_url(at("/inbox/knowledge"))
    expect(editor.get_by_text(f"“Getting to the {office} office” was deleted. Restore it under “Deleted”")
           ).to_be_visible()  # a toast, under the app's CSP
    customer.goto(conversation)
    sources = answers(customer).first.get_by_role("group", name="Sources")
    expect(sources).to_contain_text(f"Getting to the {office} office (removed from the help centre)")
    expect(sources.get_by_role("link")).to_have_count(0)

    editor.get_by_label("Status").click()  # deleted articles can be brought back
    editor.get_by_role("option", name="Deleted").click()
    editor.get_by_role("button", name=f"Restore Getting to the {office} office").click()
    expect(editor.get_by_text(f"“Getting to the {office} office” is back")).to_be_visible()
    customer.reload()
    expect(sources.get_by_role("link")).to_have_text([f"Getting to the {office} office"])


def test_imported_files_become_drafts_without_scripts_and_export_holds_every_article(
        new_context, admin):
    page = new_context().new_page()
    open_inbox(page, admin)
    office = place()
    page.goto("/inbox/knowledge")
    markdown = f"# Opening hours in {office}\n\nWe are open 9 to 5 on weekdays.\n".encode()
    html = (f"<html><head><title>Lost property in {office}</title><script>alert('x')</script></head>"
            f"<body><h1>Lost property in {office}</h1><p>Ask at <b>reception</b>.</p>"
            "<script>document.cookie</script><style>p{}</style></body></html>").encode()
    page.locator(".knowledge-import input[type=file]").set_input_files([
        {"name": "hours.md", "mimeType": "text/markdown", "buffer": markdown},
        {"name": "lost.html", "mimeType": "text/html", "buffer": html}])
    drafts = page.get_by_role("status").filter(has_text="New drafts to review")
    expect(drafts.get_by_role("link")).to_have_text([f"Opening hours in {office}",
                                                     f"Lost property in {office}"])

    drafts.get_by_role("link", name=f"Lost property in {office}").click()
    body = page.get_by_label("Body", exact=True)
    expect(body).to_have_value(re.compile(r"Ask at \*\*reception\*\*"))
    assert "script" not in body.input_value() and "alert" not in body.input_value()
    expect(page.get_by_label("Status", exact=True)).to_have_value("draft")
    page.goto(f"/help?q={office}")  # a draft is not in the help centre
    expect(page.get_by_text(f"No articles match “{office}”")).to_be_visible()

    page.goto("/inbox/knowledge")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export all articles").click()
    with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as archive:
        names = archive.namelist()
        hours = archive.read(f"opening-hours-in-{office.lower()}.md").decode()
    assert "reset-password.md" in names and len(names) >= 41
    assert hours.startswith("---\n") and "status: draft" in hours and "open 9 to 5" in hours


def test_customers_and_agents_cannot_change_articles(app_server, new_context):
    db = MongoClient(app_server.env["MONGODB_URI"])[app_server.db_name]
    before = sorted((a["_id"], a["version"], a.get("deleted_at") is None) for a in db["kb_articles"].find())
    article_id = db["kb_articles"].find_one({"slug": "reset-password"})["_id"]
    _, customer = sign_up_over_http(app_server)
    agent_name, agent = sign_up_over_http(app_server)
    db["users"].update_one({"username_key": agent_name}, {"$set": {"role": "agent"}})
    calls = [
        (ArticleEditorState, "save", {"form_data": {"title": "Hacked", "category": "x", "slug": "hacked",
                                                    "status": "published", "body": "Owned."}}),
        (ArticleEditorState, "restore_version", {"number": 1}),
        (ArticleEditorState, "delete", {}),
        (KnowledgeListState, "restore", {"article_id": article_id}),
        (KnowledgeListState, "import_files", {"files": []}),
    ]
    for token in (customer, agent):
        socket = EventSocket(app_server.url, cookie=f"helpdesk_session={token}", origin=app_server.origin)
        try:
            path = f"/inbox/knowledge/{article_id}"
            socket.emit(event_name(ArticleEditorState, "load"), {}, path=path)
            for state, handler, payload in calls:
                socket.emit(event_name(state, handler), payload, path=path)
            socket.read(3)
        finally:
            socket.close()
        status, _, _ = request(app_server.url, "GET", "/api/knowledge/export",
                               headers={"Cookie": f"helpdesk_session={token}"})
        assert status == 403
    assert request(app_server.url, "GET", "/api/knowledge/export")[0] == 401
    after = sorted((a["_id"], a["version"], a.get("deleted_at") is None) for a in db["kb_articles"].find())
    assert after == before

    agent_page = new_context().new_page()  # an agent reads, drafts too, and cannot save
    agent_page.goto("/login")
    agent_page.get_by_label("Email or username").fill(agent_name)
    agent_page.get_by_label("Password").fill("correct horse")
    agent_page.get_by_role("button", name="Log in").click()
    agent_page.wait_for_url(at("/inbox"))
    agent_page.goto("/inbox/knowledge")
    expect(agent_page.get_by_role("link", name="Resetting your password")).to_be_visible()
    expect(agent_page.get_by_role("button", name="New article")).to_have_count(0)
    agent_page.get_by_role("link", name="Resetting your password").click()
    expect(agent_page.get_by_label("Title", exact=True)).to_have_attribute("readonly", "")
    expect(agent_page.get_by_role("button", name="Save")).to_have_count(0)
