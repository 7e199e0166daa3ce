"""/help and /help/<slug>: the public help centre, readable without logging in."""

import reflex as rx

from chatapp.models import ArticleLink
from chatapp.state.help import MAX_QUERY_CHARS, Category, HelpState


def layout(*children: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.link("Helpdesk help centre", href="/help", size="5", weight="bold",
                    color_scheme="gray", high_contrast=True, underline="none"),
            rx.spacer(),
            rx.link("Ask the assistant", href="/chat"),
            rx.color_mode.button(aria_label="Toggle dark mode"),
            align="center", width="100%", padding="0.75rem 1rem", border_bottom="1px solid var(--gray-a5)",
        ),
        rx.vstack(*children, width="100%", max_width="820px", margin_x="auto", padding="1.5rem 1rem",
                  spacing="5", as_="main"),
        min_height="100vh", spacing="0",
    )


def article_item(article: rx.Var[ArticleLink]) -> rx.Component:
    return rx.el.li(rx.link(article["title"], href="/help/" + article["slug"]))


def article_list(articles: rx.Var[list[ArticleLink]]) -> rx.Component:
    return rx.el.ul(rx.foreach(articles, article_item), class_name="help-articles",
                    style={"margin": 0, "padding_left": "1.25em", "line_height": "1.9"})


def category_section(category: rx.Var[Category]) -> rx.Component:
    return rx.el.section(
        rx.heading(category["name"], as_="h2", size="5", margin_bottom="0.5rem"),
        article_list(category["articles"]),
        width="100%",
    )


def search_form() -> rx.Component:
    """Uncontrolled input (no round-trip per keystroke); `key` refills it when `?q=` changes."""
    return rx.form(
        rx.hstack(
            rx.input(name="q", type="search", aria_label="Search help articles",
                     placeholder="Search help articles", default_value=HelpState.query,
                     key=HelpState.query, max_length=MAX_QUERY_CHARS, flex="1", size="3"),
            rx.button("Search", type="submit", size="3"),
            width="100%",
        ),
        on_submit=HelpState.search,
        role="search",
        width="100%",
    )


def search_results() -> rx.Component:
    return rx.vstack(
        rx.heading("Results for “", HelpState.query, "”", as_="h2", size="5"),
        rx.cond(
            HelpState.results.length() > 0,
            article_list(HelpState.results),
            rx.text("No articles match “", HelpState.query, "”. Try other words, or ",
                    rx.link("ask the assistant", href="/chat"), "."),
        ),
        rx.link("Show all articles", href="/help"),
        width="100%",
    )


def index_page() -> rx.Component:
    return layout(
        rx.heading("How can we help?", as_="h1", size="8"),
        search_form(),
        rx.cond(HelpState.query != "", search_results(),
                rx.foreach(HelpState.categories, category_section)),
    )


def article_page() -> rx.Component:
    return layout(
        rx.link("← All help articles", href="/help"),
        rx.cond(
            HelpState.not_found,
            rx.vstack(
                rx.heading("Article not found", as_="h1", size="7"),
                rx.text("It may have been moved or removed. ",
                        rx.link("Browse all help articles", href="/help"), "."),
            ),
            rx.cond(
                HelpState.title != "",
                rx.el.article(
                    rx.heading(HelpState.title, as_="h1", size="8"),
                    rx.text(HelpState.category, " · Updated ", HelpState.updated,
                            color_scheme="gray", size="2", margin_top="0.5rem"),
                    # Raw HTML off: an operator's article (or a planted one) can't run script.
                    rx.markdown(HelpState.body, use_raw=False, class_name="help-article-body"),
                    width="100%",
                ),
                rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
            ),
        ),
    )


TITLE = "Help centre · Helpdesk"
PAGE = dict(component=index_page, route="/help", title=TITLE, on_load=HelpState.load_index)
ARTICLE_PAGE = dict(component=article_page, route="/help/[slug]", title=TITLE,
                    on_load=HelpState.load_article)
