"""Chat text components: block-memoised Markdown, the live answer that follows the stream, and
the messages added in this tab.

All three are React components in `markdown_stream.jsx` beside this file. Raw HTML in chat
text is shown as text and never runs.
"""

from __future__ import annotations

import reflex as rx


class _ChatText(rx.Component):
    library = rx.asset("markdown_stream.jsx", shared=True).importable_path
    lib_dependencies: list[str] = ["react-markdown@10.1.0", "remark-gfm@4.0.1"]


class Markdown(_ChatText):
    """A finished message: its props never change, so it renders once."""

    tag = "Markdown"
    text: rx.Var[str]


class LiveAnswer(_ChatText):
    """The answer being written, read from `src` (GET /api/chats/<id>/live)."""

    tag = "LiveAnswer"
    src: rx.Var[str]
    waiting: rx.Var[str]


class Turns(_ChatText):
    """The messages added in this tab since the thread was opened (`view`), each sent once."""

    tag = "Turns"
    view: rx.Var[int]


markdown = Markdown.create
turns = Turns.create
live_answer = LiveAnswer.create
