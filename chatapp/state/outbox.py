"""What states tell a page's outbox (components/conversation.jsx) about the messages it sent:
only refusals, since a stored message shows up in the conversation's own stream."""

from __future__ import annotations

MAX_REFUSALS = 5  # the outbox reads each once; older ones need not be sent again


def with_refusal(refused: list[dict[str, str]], client_id: str, reason: str) -> list[dict[str, str]]:
    return [*refused[-(MAX_REFUSALS - 1):], {"client_id": client_id, "reason": reason}]
