"""/inbox/knowledge: the help articles, for the team (admins edit, agents read), and
/inbox/knowledge/<id>: one article's editor, its live preview and its history."""

import reflex as rx

from chatapp.components.team_header import team_header
from chatapp.config import get_settings
from chatapp.state.article_editor import ArticleEditorState as Editor
from chatapp.state.knowledge_list import VIEWS
from chatapp.state.knowledge_list import KnowledgeListState as List

IMPORT_ID = "knowledge-import"
ACCEPT = {"text/markdown": [".md", ".markdown"], "text/html": [".html", ".htm"], "text/plain": [".txt"],
          "application/zip": [".zip"]}
VIEW_NAMES = {"all": "All", "published": "Published", "draft": "Drafts", "deleted": "Deleted"}
BADGES = {"published": ("Published", "green"), "draft": ("Draft", "amber"), "deleted": ("Deleted", "red")}


def page(*children: rx.Component) -> rx.Component:
    return rx.vstack(
        team_header("Knowledge"),
        rx.vstack(*children, width="100%", max_width="1200px", margin_x="auto", padding="1rem",
                  spacing="4", as_="main"),
        min_height="100dvh", spacing="0",
    )


def status_badge(status: rx.Var[str]) -> rx.Component:
    cases = [(s, rx.badge(label, color_scheme=colour)) for s, (label, colour) in BADGES.items()]
    return rx.match(status, *cases, rx.badge(status))


def article_row(article: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.cond(
            List.view == "deleted",
            rx.text(article["title"], weight="medium"),
            rx.link(article["title"], href="/inbox/knowledge/" + article["id"], weight="medium"),
        ),
        rx.flex(
            status_badge(article["status"]),
            rx.text(article["category"], size="2", color_scheme="gray"),
            rx.text(rx.cond(List.view == "deleted", "Deleted ", "Saved "), article["when"],
                    rx.cond(article["editor"] != "", " by " + article["editor"], ""),
                    size="2", color_scheme="gray"),
            rx.cond((List.view == "deleted") & List.can_edit,
                    rx.button("Restore", size="1", variant="soft", on_click=List.restore(article["id"]),
                              aria_label="Restore " + article["title"])),
            spacing="3", align="center", wrap="wrap",
        ),
        class_name="knowledge-row",
    )


def filters() -> rx.Component:
    return rx.flex(
        rx.form(
            rx.hstack(
                rx.input(name="q", type="search", aria_label="Search articles", placeholder="Search titles",
                         default_value=List.query, max_length=200, flex="1"),
                rx.button("Search", type="submit", variant="soft"),
                width="100%",
            ),
            on_submit=List.search, role="search", flex="1", min_width="220px",
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Category"),
            rx.select.content(
                rx.select.item("All categories", value="all"),
                rx.foreach(List.categories, lambda name: rx.select.item(name, value=name)),
            ),
            value=List.category, on_change=List.show_category,
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Status"),
            rx.select.content(*[rx.select.item(VIEW_NAMES[v], value=v) for v in VIEWS]),
            value=List.view, on_change=List.show_view,
        ),
        spacing="2", wrap="wrap", width="100%", align="center",
    )


def import_box() -> rx.Component:
    return rx.vstack(
        rx.upload.root(
            rx.button("Import files", type="button", variant="soft"),
            id=IMPORT_ID, accept=ACCEPT, multiple=True, max_size=5_000_000,
            on_drop=List.import_files(rx.upload_files(upload_id=IMPORT_ID)),
            aria_label="Import files", class_name="knowledge-import",
        ),
        rx.text("Markdown, HTML, text, or a zip of them (as Export makes). Each file becomes a draft.",
                size="1", color_scheme="gray"),
        rx.cond(List.imported.length() > 0, rx.vstack(
            rx.text("New drafts to review:", size="2", weight="medium"),
            rx.el.ul(rx.foreach(List.imported, lambda a: rx.el.li(
                rx.link(a["title"], href="/inbox/knowledge/" + a["id"])))),
            spacing="1", role="status",
        )),
        rx.cond(List.import_problems.length() > 0,
                rx.el.ul(rx.foreach(List.import_problems, lambda text: rx.el.li(text)),
                         class_name="knowledge-notes")),
        spacing="1",
    )


def list_page() -> rx.Component:
    return page(
        rx.flex(
            rx.heading("Help articles", size="6", as_="h1"),
            rx.spacer(),
            rx.cond(List.can_edit, rx.flex(
                rx.link(rx.button("New article"), href="/inbox/knowledge/new"),
                rx.link("Export all articles", href=f"{get_settings().api_url}/api/knowledge/export",
                        download="", size="2", reload_document=True),  # not a page: a document request
                spacing="3", align="center", wrap="wrap",
            )),
            width="100%", align="center", wrap="wrap", spacing="2",
        ),
        rx.cond(List.can_edit, import_box(),
                rx.text("Agents can read every article, drafts too; admins edit them.", size="2",
                        color_scheme="gray")),
        rx.cond(List.error != "", rx.callout(List.error, color_scheme="red", role="alert")),
        filters(),
        rx.cond(
            List.articles.length() > 0,
            rx.el.ul(rx.foreach(List.articles, article_row), class_name="knowledge-list",
                     aria_label="Articles"),
            rx.cond(List.loaded, rx.text("No articles match.", color_scheme="gray")),
        ),
    )


def field(label: str, name: str, value: rx.Var, **props) -> rx.Component:
    return rx.el.label(
        rx.text(label, size="2", weight="medium"),
        rx.input(name=name, default_value=value, read_only=~Editor.can_edit, **props),
        class_name="knowledge-field",
    )


def editor_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            field("Title", "title", Editor.title, required=True, max_length=200),
            rx.flex(
                field("Category", "category", Editor.category, required=True, max_length=100),
                field("Slug", "slug", Editor.slug, placeholder="made from the title", max_length=120,
                      pattern="[a-z0-9]+(-[a-z0-9]+)*",
                      title="lowercase letters and digits joined by hyphens"),
                rx.box(  # labelled by id: a label around a select would take its options into the name
                    rx.el.label(rx.text("Status", size="2", weight="medium"), html_for="knowledge-status"),
                    rx.el.select(rx.el.option("Draft", value="draft"),
                                 rx.el.option("Published", value="published"),
                                 name="status", id="knowledge-status", default_value=Editor.status,
                                 disabled=~Editor.can_edit, class_name="knowledge-select"),
                    class_name="knowledge-field",
                ),
                spacing="3", wrap="wrap", width="100%", class_name="knowledge-fields",
            ),
            rx.cond(Editor.old_slugs != "",
                    rx.text("Earlier addresses, which still lead here: ", Editor.old_slugs, size="1",
                            color_scheme="gray")),
            rx.box(  # labelled by id: a label around a textarea would take its text into the name
                rx.el.label(rx.text("Body", size="2", weight="medium"), html_for="knowledge-body"),
                rx.text_area(name="body", id="knowledge-body", default_value=Editor.body,
                             read_only=~Editor.can_edit, on_change=Editor.show_preview.debounce(250),
                             rows="18", class_name="knowledge-body", spell_check=True,
                             aria_describedby="knowledge-body-hint"),
                rx.text("Markdown. No HTML; links to http(s) addresses or to pages here (/help/...).",
                        id="knowledge-body-hint", size="1", color_scheme="gray"),
                class_name="knowledge-field",
            ),
            rx.cond(Editor.can_edit, rx.flex(
                rx.button("Save", type="submit"),
                rx.cond(Editor.conflict,
                        rx.button("Load their version", type="button", variant="soft",
                                  on_click=Editor.load_theirs)),
                spacing="2",
            )),
            width="100%", spacing="3",
        ),
        key=Editor.form_key, on_submit=Editor.save, width="100%",
    )


def preview() -> rx.Component:
    return rx.el.section(
        rx.heading("Preview", size="2", as_="h2", color_scheme="gray"),
        rx.el.article(
            rx.markdown(Editor.preview, use_raw=False, class_name="help-article-body"),
            class_name="knowledge-preview-body",
        ),
        class_name="knowledge-preview", aria_label="Preview",
    )


def version_item(version: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.text("Version ", version["number"], " · ", version["editor"], " · ", version["when"],
                weight="medium", size="2"),
        rx.text(version["note"], size="1", color_scheme="gray"),
        rx.cond(Editor.can_edit & (version["number"] != Editor.version.to_string()),
                rx.button("Restore this version", size="1", variant="soft",
                          on_click=Editor.restore_version(version["number"]))),
        class_name="knowledge-version",
    )


def diff_view() -> rx.Component:
    numbers = rx.foreach(Editor.versions, lambda v: rx.el.option("Version " + v["number"], value=v["number"]))
    return rx.vstack(
        rx.form(
            rx.flex(
                rx.el.label("Compare ", rx.el.select(numbers, name="from", default_value=Editor.diff_from,
                                                     class_name="knowledge-select"),
                            class_name="knowledge-inline"),
                rx.el.label("with ", rx.el.select(numbers, name="to", default_value=Editor.diff_to,
                                                  class_name="knowledge-select"),
                            class_name="knowledge-inline"),
                rx.button("Compare", type="submit", size="1", variant="soft"),
                spacing="2", align="center", wrap="wrap",
            ),
            key=Editor.diff_from + "-" + Editor.diff_to, on_submit=Editor.compare,
        ),
        rx.el.pre(rx.foreach(Editor.diff, lambda line: rx.el.span(line["text"],
                                                                  class_name="diff-" + line["kind"])),
                  class_name="knowledge-diff", aria_label="Changes"),
        width="100%", spacing="2",
    )


def history() -> rx.Component:
    return rx.el.section(
        rx.heading("History", size="3", as_="h2"),
        rx.el.ol(rx.foreach(Editor.versions, version_item), class_name="knowledge-versions",
                 aria_label="Versions, newest first"),
        rx.cond(Editor.versions.length() > 1, diff_view()),
        class_name="knowledge-history", aria_label="History",
    )


def delete_button() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button("Delete", variant="soft", color_scheme="red")),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete this article?"),
            rx.alert_dialog.description(
                "It leaves the help centre and the assistant's answers at once. You can restore it "
                "from “Deleted” for 30 days."),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Delete article", color_scheme="red",
                                                 on_click=Editor.delete)),
                spacing="3", justify="end", margin_top="1rem",
            ),
        ),
    )


def editor_page() -> rx.Component:
    return page(
        rx.link("← All articles", href="/inbox/knowledge", size="2"),
        rx.cond(
            Editor.not_found,
            rx.vstack(rx.heading("Article not found", size="6", as_="h1"),
                      rx.text("It may have been deleted. Deleted articles are listed under “Deleted”.")),
            rx.cond(Editor.loaded, rx.vstack(
                rx.flex(
                    rx.heading(rx.cond(Editor.article_id == "", "New article", Editor.title), size="6",
                               as_="h1"),
                    rx.spacer(),
                    rx.cond(Editor.help_link != "",
                            rx.link("View in the help centre", href=Editor.help_link, size="2",
                                    target="_blank")),
                    rx.cond(Editor.article_id != "", rx.button(
                        rx.cond(Editor.history_open, "Hide history", "History"), variant="soft",
                        aria_expanded=Editor.history_open.to_string(), on_click=Editor.toggle_history)),
                    rx.cond(Editor.can_edit & (Editor.article_id != ""), delete_button()),
                    spacing="2", align="center", wrap="wrap", width="100%",
                ),
                rx.cond(Editor.updated != "", rx.text(Editor.updated, size="2", color_scheme="gray")),
                rx.cond(Editor.error != "", rx.callout(Editor.error, color_scheme="red", role="alert")),
                rx.cond(Editor.saved != "", rx.callout(Editor.saved, color_scheme="green", role="status")),
                rx.cond(Editor.history_open, history()),
                rx.box(editor_form(), preview(), class_name="knowledge-editor"),
                width="100%", spacing="3",
            ), rx.center(rx.spinner(size="3"), width="100%", padding="3rem")),
        ),
    )


TITLE = "Knowledge · Helpdesk"
PAGE = dict(component=list_page, route="/inbox/knowledge", title=TITLE, on_load=List.load)
EDITOR_PAGE = dict(component=editor_page, route="/inbox/knowledge/[article]", title=TITLE,
                   on_load=Editor.load)
