"""The customer's verdicts in the conversation they are looking at: "Helpful" / "Not helpful"
(with reasons) on an answer, "This solved my problem", and the 1-5 rating of a closed
conversation. Each change is announced, so every page on the conversation shows it at once."""

from __future__ import annotations

from typing import Any

import reflex as rx

from chatapp.runtime import services
from chatapp.services.conversations import NotAllowed, ThreadNotFound
from chatapp.services.feedback import AnswerNotFound, InvalidFeedback
from chatapp.services.store import StoreUnavailable
from chatapp.state import args
from chatapp.state.chat import ChatState
from chatapp.state.notices import notify
from chatapp.state.session import signed_in

REFUSED = (NotAllowed, ThreadNotFound, AnswerNotFound, InvalidFeedback)


class FeedbackState(rx.State):
    @rx.event
    async def rate_answer(self, rating: Any):
        """{message_id, rating: "up" | "down" | null, reasons: [...], comment}."""
        form = args.fields(rating, "message_id", "rating", "reasons", "comment")
        message_id = args.object_id(form and form["message_id"])
        value = form and form["rating"]
        reasons = form and form["reasons"]
        comment = args.text(form and form["comment"], 2000)
        if (message_id is None or value not in ("up", "down", None) or comment is None
                or not isinstance(reasons, list) or len(reasons) > 10
                or not all(isinstance(r, str) for r in reasons)):
            return
        customer, chat = await signed_in(self), await self.get_state(ChatState)
        if customer is None or not chat.thread_id:
            return
        try:
            await services().feedback.rate_answer(customer, message_id, value, reasons, comment)
            await services().conversations.announce(customer, chat.thread_id, message_id)
        except REFUSED as refused:
            return notify(str(refused) or "That answer can't be rated.")
        except StoreUnavailable:
            return notify("Your rating could not be saved right now. Please try again.")
        if value == "down" and (reasons or comment):
            return notify("Thank you: this helps us fix the answer.", "success")

    @rx.event
    async def rate_conversation(self, rating: Any):
        """{score: 1-5, comment} for the closed conversation on the page."""
        form = args.fields(rating, "score", "comment")
        score = args.number(form and form["score"], 1, 5)
        comment = args.text(form and form["comment"], 4000)
        customer, chat = await signed_in(self), await self.get_state(ChatState)
        if score is None or comment is None or customer is None or not chat.thread_id:
            return
        try:
            await services().feedback.rate_conversation(customer, chat.thread_id, score, comment)
            await services().conversations.announce(customer, chat.thread_id)
        except REFUSED as refused:
            return notify(str(refused) or "This conversation can't be rated.")
        except StoreUnavailable:
            return notify("Your rating could not be saved right now. Please try again.")

    @rx.event
    async def solved(self):
        """"This solved my problem": the customer closes the conversation themselves."""
        customer, chat = await signed_in(self), await self.get_state(ChatState)
        if customer is None or not chat.thread_id or chat.not_found:
            return
        try:
            await services().conversations.close(customer, chat.thread_id)
        except ThreadNotFound:
            return
        except StoreUnavailable:
            return notify("That didn't go through. Please try again in a moment.")
