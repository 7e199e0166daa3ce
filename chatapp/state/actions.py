"""The customer's buttons on an action's card: "Confirm", "Cancel", and the card's form (its
button sends what the customer typed). The service checks the card is theirs and moves it once;
the card's new state reaches every open page through the conversation's stream.

A background event: a confirmed action may run for seconds, and the tab's other events (its
messages) must not wait behind it.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chatapp.actions import CallNotFound
from chatapp.runtime import services
from chatapp.services.store import StoreUnavailable
from chatapp.state import args
from chatapp.state.notices import notify
from chatapp.state.session import signed_in

MAX_FIELDS = 20
MAX_VALUE = 500
OFF = "Actions are turned off on this site."


def _typed(fields: Any) -> dict[str, Any] | None:
    """The form's values: a few short texts, numbers or booleans by field name."""
    if not isinstance(fields, dict) or len(fields) > MAX_FIELDS:
        return None
    ok = all(isinstance(k, str) and len(k) <= 64 and (
        isinstance(v, bool | int | float) or (isinstance(v, str) and len(v) <= MAX_VALUE))
        for k, v in fields.items())
    return fields if ok else None


class ActionState(rx.State):
    @rx.event(background=True)
    async def act(self, request: Any):
        """{message_id, op: "confirm" | "cancel" | "submit", fields: {name: value}}."""
        form = args.fields(request, "message_id", "op", "fields")
        message_id = args.object_id(form and form.get("message_id"))
        op = form and form.get("op")
        fields = _typed((form or {}).get("fields", {}))
        if message_id is None or op not in ("confirm", "cancel", "submit") or fields is None:
            return
        async with self:
            customer = await signed_in(self)
        if customer is None or customer.on_team:
            return
        actions = services().actions
        if actions is None:
            return notify(OFF)
        try:
            if op == "confirm":
                await actions.confirm(customer, message_id)
            elif op == "cancel":
                await actions.cancel(customer, message_id)
            else:
                await actions.submit(customer, message_id, fields)
        except CallNotFound as gone:
            return notify(str(gone))
        except StoreUnavailable:
            return notify("That didn't go through. Please try again in a moment.")
