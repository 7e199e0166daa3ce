"""Chat text components: block-memoised Markdown, and the live answer that follows the stream.

Both are React components in `markdown_stream.jsx` beside this file. Raw HTML in chat text is
shown as text and never runs.
"""

from __future__ import annotations

import reflex as rx

_LIBRARY = rx.asset("markdown_stream.jsx", shared=True).importable_path
_DEPENDENCIES = ["react-markdown@10.1.0", "remark-gfm@4.0.1"]


class Markdown(rx.Component):
    """A finished message: its props never change, so it renders once."""

    library = _LIBRARY
    tag = "Markdown"
    lib_dependencies: list[str] = _DEPENDENCIES

    text: rx.Var[str]


class LiveAnswer(rx.Component):
    """The answer being written, read from `src` (GET /api/chats/<id>/live)."""

    library = _LIBRARY
    tag = "LiveAnswer"
    lib_dependencies: list[str] = _DEPENDENCIES

    src: rx.Var[str]
    waiting: rx.Var[str]


class Turns(rx.Component):
    """The messages added in this tab since the thread was opened (`view`), each sent once."""

    library = _LIBRARY
    tag = "Turns"
    lib_dependencies: list[str] = _DEPENDENCIES

    view: rx.Var[int]


markdown = Markdown.create
turns = Turns.create
live_answer = LiveAnswer.create
