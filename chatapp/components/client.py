"""The React side of conversations, wrapped for Python: props in, event handlers out.

`conversation.jsx` (beside this file) reads a conversation's one stream of events and renders
it; `inbox.jsx` reads the team's queue; `notices.jsx` shows the server's notices as toasts;
`markdown_stream.jsx` renders chat text (raw HTML shown as text, never run). They are
registered from this module so they sit side by side in the build.
"""

from __future__ import annotations

import reflex as rx
from reflex.components.core.banner import has_connection_errors
from reflex.event import no_args_event_spec, passthrough_event_spec

CONNECTED = rx.State.is_hydrated & ~has_connection_errors  # the `ready` the components take

_CONVERSATION = rx.asset("conversation.jsx", shared=True).importable_path
_INBOX = rx.asset("inbox.jsx", shared=True).importable_path
_WIDGET = rx.asset("widget.jsx", shared=True).importable_path
rx.asset("markdown_stream.jsx", shared=True)  # imported by conversation.jsx
rx.asset("feedback.jsx", shared=True)  # imported by conversation.jsx
rx.asset("reveal.js", shared=True)  # imported by conversation.jsx
rx.asset("action_card.jsx", shared=True)  # imported by conversation.jsx
_NOTICES = rx.asset("notices.jsx", shared=True).importable_path


class _Client(rx.Component):
    library = _CONVERSATION
    lib_dependencies: list[str] = ["react-markdown@10.1.0", "remark-gfm@4.0.1"]


class ConversationView(_Client):
    """The conversation's messages and state; `src` is its events route ("" for none yet)."""

    tag = "ConversationView"
    src: rx.Var[str]
    chat_id: rx.Var[str]
    draft: rx.Var[bool]  # a new chat: named by the page, stored with its first message
    path: rx.Var[str]  # the page's address once the conversation exists
    viewer: rx.Var[str]  # "customer" or "agent": whose messages are "mine"
    owner: rx.Var[str]  # the outbox key of the signed-in user
    ready: rx.Var[bool]
    on_retry: rx.EventHandler[no_args_event_spec]
    on_talk: rx.EventHandler[no_args_event_spec]
    on_rate: rx.EventHandler[passthrough_event_spec(dict)]  # {message_id, rating, reasons, comment}
    on_rate_conversation: rx.EventHandler[passthrough_event_spec(dict)]  # {score, comment}
    on_solved: rx.EventHandler[no_args_event_spec]
    on_action: rx.EventHandler[passthrough_event_spec(dict)]  # {message_id, op, fields}


class Composer(_Client):
    """The composer and its outbox; `on_send` gets {client_id, chat_id, text}."""

    tag = "Composer"
    chat_id: rx.Var[str]
    draft: rx.Var[bool]
    owner: rx.Var[str]
    ready: rx.Var[bool]
    refused: rx.Var[list[dict[str, str]]]  # [{client_id, reason}] the server would not store
    label: rx.Var[str]
    send_label: rx.Var[str]
    placeholder: rx.Var[str]
    viewer: rx.Var[str]
    suggestion: rx.Var[dict[str, str]]  # {text, nonce}: put a drafted reply in the text area
    on_send: rx.EventHandler[passthrough_event_spec(dict)]
    on_stop: rx.EventHandler[no_args_event_spec]
    on_talk: rx.EventHandler[no_args_event_spec]
    on_unsent: rx.EventHandler[passthrough_event_spec(int)]


class Queue(rx.Component):
    """The team's queue and presence; `on_change` gets the open conversation's new row."""

    library = _INBOX
    tag = "Queue"
    src: rx.Var[str]
    me: rx.Var[str]
    selected: rx.Var[str]
    query: rx.Var[str]
    results: rx.Var[list[dict]]
    on_change: rx.EventHandler[passthrough_event_spec(dict)]


class WidgetBridge(rx.Component):
    """The frame's side of the website widget: postMessage with the host page, "Close chat"."""

    library = _WIDGET
    tag = "WidgetBridge"
    allowed: rx.Var[list[str]]  # the sites that may embed the widget
    ready: rx.Var[bool]
    identify_url: rx.Var[str]


class GuestSession(rx.Component):
    """Asks for a guest's session when the page has none (then loads again)."""

    library = _WIDGET
    tag = "GuestSession"
    need: rx.Var[bool]
    url: rx.Var[str]


class Notices(rx.Component):
    """The server's notices as toasts (state/notices.py), in the page's existing toaster."""

    library = _NOTICES
    tag = "Notices"
    lib_dependencies: list[str] = ["sonner@2.0.8"]  # the toaster Reflex renders
    notice: rx.Var[dict]


conversation_view = ConversationView.create
composer = Composer.create
queue = Queue.create
widget_bridge = WidgetBridge.create
guest_session = GuestSession.create
notices = Notices.create
