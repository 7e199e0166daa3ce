"""Assistant actions without a database: how a declaration becomes a schema, how the model's
arguments are checked, what the built-in responder offers, and how tool calls travel through the
OpenRouter provider (against the fake OpenRouter, over real sockets)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal

import httpx
import pytest
import pytest_asyncio

from chatapp.actions import (
    ActionDefinitionError,
    Context,
    Database,
    Field,
    Registry,
    Result,
    registry,
)
from chatapp.actions.registry import build, card_data
from chatapp.models import CUSTOMER, GUEST, User
from chatapp.services.knowledge import Retrieval
from chatapp.services.llm.base import Delta, Question, Step, Tool, ToolCall, ToolResult, paced
from chatapp.services.llm.fake import FakeModel
from chatapp.services.llm.local import LocalResponder, matching_call
from chatapp.services.llm.openrouter import OpenRouterProvider, make_client
from tests.fakes.fake_openrouter import FakeOpenRouter, ok, status, tool_call

CUSTOMER_ALEX = User("u1", "alex", "alex@example.com", 0, datetime.now(UTC))
NOTHING = Retrieval(hits=(), covered=False)


async def ticket_lookup(ticket: Annotated[str, Field(title="Ticket", pattern=r"^T-\d{3}$",
                                                  examples=["T-123"])],
                  customer: User, db: Database, urgent: bool = False,
                  channel: Literal["email", "phone"] = "email") -> Result:
    """Find a support ticket of the customer.

    A second paragraph the model reads too.

    Args:
        ticket: The ticket number,
            like T-123.
        urgent: Whether to flag it.
        channel: How to reply.

    Returns:
        Not part of the description.
    """
    return Result({"ticket": ticket, "customer": customer.id, "urgent": urgent}, f"Ticket {ticket}.")


# Declarations -----------------------------------------------------------------------------------

def test_the_schema_comes_from_the_type_hints_and_the_description_from_the_docstring():
    declared = build(ticket_lookup, title="Ticket lookup")
    tool = declared.tool()
    assert tool.name == "ticket_lookup" and tool.title == "Ticket lookup"
    assert declared.description == ("Find a support ticket of the customer.\n\n"
                                    "A second paragraph the model reads too.")
    props = tool.parameters["properties"]
    assert set(props) == {"ticket", "urgent", "channel"}  # customer and db are injected, never asked
    assert props["ticket"] == {"type": "string", "pattern": r"^T-\d{3}$",
                               "description": "The ticket number, like T-123."}
    assert props["urgent"]["type"] == "boolean" and props["urgent"]["description"] == "Whether to flag it."
    assert props["channel"]["enum"] == ["email", "phone"]
    assert tool.parameters["required"] == ["ticket"]
    assert tool.parameters["additionalProperties"] is False
    assert declared.labels["ticket"] == "Ticket" and declared.labels["urgent"] == "Urgent"
    assert declared.injected == {"customer": "customer", "db": "db"}


def test_the_shipped_actions_are_registered_with_their_schemas():
    order, invoice = registry.get("order_status"), registry.get("resend_invoice")
    assert order is not None and invoice is not None
    assert not order.confirm and invoice.confirm
    assert order.tool().parameters == {
        "type": "object", "additionalProperties": False, "required": ["order_id"],
        "properties": {"order_id": {"type": "string", "pattern": r"^ORD-\d{6}$", "description":
                                    "The order number, like ORD-104233 (in the order confirmation email)."}}}
    assert "required" not in invoice.tool().parameters  # the latest invoice when left out
    assert invoice.tool().parameters["properties"]["invoice_id"]["type"] == "string"
    assert order.button == "Check order status" and order.title == "Order status"


def test_arguments_are_checked_normalised_and_unknown_ones_dropped():
    order = registry.get("order_status")
    assert order.validate({"order_id": "ord 123456", "customer_id": "someone-else"}) == (
        {"order_id": "ORD-123456"}, {})
    assert order.validate({"order_id": "#123456"})[0] == {"order_id": "ORD-123456"}
    values, problems = order.validate({"order_id": "12345"})
    assert values is None
    assert problems == {"order_id": "That doesn't look like a valid order number. It should look "
                                    "like ORD-104233."}
    assert order.validate({}) == (None, {"order_id": "Order number is needed."})
    assert order.validate({"order_id": ""}) == (None, {"order_id": "Order number is needed."})


def test_a_proposed_form_lists_every_field_with_what_is_known():
    order = registry.get("order_status")
    assert order.fields({"order_id": "12345"}, {"order_id": "Wrong."}) == [{
        "name": "order_id", "label": "Order number", "type": "text", "required": True,
        "value": "12345", "placeholder": "ORD-104233", "error": "Wrong.",
        "help": "The order number, like ORD-104233 (in the order confirmation email)."}]


def test_a_parameter_that_names_a_customer_is_refused_at_registration():
    async def peek(customer_id: str) -> dict:
        """Read any customer's orders."""
        return {}

    with pytest.raises(ActionDefinitionError, match="verified customer"):
        build(peek)


def test_declarations_must_be_async_documented_and_typed():
    def not_async(order_id: str) -> dict:
        """Sync."""
        return {}

    async def undocumented(order_id: str) -> dict:
        return {}

    async def untyped(order_id) -> dict:
        """No hint."""
        return {}

    for fn, problem in ((not_async, "async"), (undocumented, "docstring"), (untyped, "type hint")):
        with pytest.raises(ActionDefinitionError, match=problem):
            build(fn)


async def test_the_decorator_registers_and_calls_with_injected_dependencies():
    mine = Registry()

    @mine.action(title="Echo", timeout=1)
    async def echo(words: str, context: Context) -> dict:
        """Say the words back."""
        return {"words": words, "who": context.customer.id, "chat": context.chat_id}

    declared = mine.get("echo")
    assert declared is not None and declared.timeout == 1
    assert await echo("still callable", Context(CUSTOMER_ALEX, None)) == {  # type: ignore[arg-type]
        "words": "still callable", "who": "u1", "chat": ""}
    result = await declared.call({"words": "hi"}, Context(CUSTOMER_ALEX, None, "c1"))  # type: ignore[arg-type]
    assert result == Result({"words": "hi", "who": "u1", "chat": "c1"}, "")


def test_actions_are_offered_to_customers_and_to_guests_only_when_declared():
    guest = User("g1", "guest", "", 0, datetime.now(UTC), role=GUEST)
    agent = User("a1", "alex", "a@example.com", 0, datetime.now(UTC), role="agent")
    assert {a.name for a in registry.for_customer(CUSTOMER_ALEX)} >= {"order_status", "resend_invoice"}
    assert registry.for_customer(guest) == [] and registry.for_customer(agent) == []
    assert CUSTOMER_ALEX.role == CUSTOMER


def test_results_are_cut_down_to_card_size():
    data = card_data({f"k{i}": "x" * 1000 for i in range(20)} | {"k0": [1, 2, {"a": 1}] * 10})
    assert len(data) == 12
    assert len(data["k1"]) == 300 and data["k1"].endswith("…")
    assert data["k0"] == [1, 2, '{"a": 1}', 1, 2, '{"a": 1}', 1, 2, '{"a": 1}', 1]


# The built-in responder ------------------------------------------------------------------------

def question(text: str, **options) -> Question:
    tools = tuple(a.tool() for a in registry.for_customer(CUSTOMER_ALEX))
    return Question(text, [], NOTHING, **({"tools": tools} | options))


@pytest.mark.parametrize(("text", "action", "arguments"), [
    ("Where is my order ORD-123456?", "order_status", {"order_id": "ORD-123456"}),
    ("what's the status of order ord-654321", "order_status", {"order_id": "ord-654321"}),
    ("Where is my order?", "order_status", {}),
    ("my package hasn't arrived", "order_status", {}),
    ("Can you resend my invoice INV-204511?", "resend_invoice", {"invoice_id": "INV-204511"}),
    ("I never got the invoice for May", "resend_invoice", {}),
])
def test_the_built_in_responder_offers_the_action_a_question_fits(text, action, arguments):
    call = matching_call(question(text))
    assert call is not None and call.name == action
    assert json.loads(call.arguments) == arguments


@pytest.mark.parametrize("text", ["How do I reset my password?", "In order to set up webhooks, what do I do?",
                                  "How do I download my invoices?", "What does the Pro plan cost?"])
def test_the_built_in_responder_offers_nothing_for_other_questions(text):
    assert matching_call(question(text)) is None


def test_no_offer_without_tools_or_once_the_calls_are_used():
    assert matching_call(Question("Where is my order ORD-123456?", [], NOTHING)) is None
    assert matching_call(question("Where is my order ORD-123456?", may_call=False)) is None


async def test_after_the_call_the_built_in_responder_says_what_came_of_it():
    local = LocalResponder(pause=0)
    asked = question("Where is my order ORD-123456?")
    items = [item async for item in local.answer(asked)]
    assert len(items) == 1 and isinstance(items[0], ToolCall)
    result = ToolResult(items[0], "{}", "done", "Order ORD-123456 shipped.")
    after = question("Where is my order ORD-123456?", steps=(Step("", (result,)),))
    assert "".join([d.text async for d in local.answer(after)]) == "Order ORD-123456 shipped."


async def test_the_dev_fake_model_streams_and_calls_like_a_model():
    fake = FakeModel(delay=0, first_delay=0)
    items = [item async for item in fake.answer(question("where is my order ORD-123456"))]
    assert isinstance(items[-1], ToolCall) and items[-1].name == "order_status"
    lead = items[:-1]
    assert all(isinstance(i, Delta) for i in lead) and "look that up" in "".join(i.text for i in lead)
    told = ToolResult(items[-1], json.dumps({"status": "done", "summary": "It shipped."}), "done", "x")
    text = "".join([d.text async for d in fake.answer(question("where is my order ORD-123456",
                                                                steps=(Step("", (told,)),)))])
    assert text.startswith("It shipped.")
    plain = [item async for item in fake.answer(Question("How do I reset my password?", [], NOTHING))]
    assert plain and all(isinstance(i, Delta) and len(i.text) <= 6 for i in plain)


async def test_paced_never_waits_after_a_tool_call():
    async def items() -> AsyncIterator[Delta | ToolCall]:
        await asyncio.sleep(0.01)  # a fresh read
        yield ToolCall("c", "order_status", "{}")

    started = asyncio.get_running_loop().time()
    assert [i async for i in paced(items(), pause=0.5)] == [ToolCall("c", "order_status", "{}")]
    assert asyncio.get_running_loop().time() - started < 0.3


# OpenRouter tool calling ------------------------------------------------------------------------

@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter(text="It shipped on Monday.", chunk_size=5, delay=0.001) as server:
        yield server


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as http:
        yield http


def openrouter(fake: FakeOpenRouter, client: httpx.AsyncClient, models=("model/a",)) -> OpenRouterProvider:
    return OpenRouterProvider(api_key="k", base_url=fake.base_url, models=models, client=client,
                              max_retry_after=0.1)


async def test_a_streamed_tool_call_is_put_together_and_the_answer_continues_with_its_result(fake, client):
    fake.script("model/a", tool_call("order_status", {"order_id": "ORD-123456"}, text="Checking. ",
                                     call_id="call_9", pieces=4))
    llm = openrouter(fake, client)
    asked = question("Where is my order ORD-123456?")
    items = [item async for item in llm.answer(asked)]
    assert items[0] == Delta("Check", "model/a") and "".join(
        i.text for i in items if isinstance(i, Delta)) == "Checking. "
    call = items[-1]
    assert call == ToolCall("call_9", "order_status", '{"order_id": "ORD-123456"}', "model/a")
    first = fake.requests[0]
    assert {"order_status", "resend_invoice"} <= {t["function"]["name"] for t in first["tools"]}
    assert first["tool_choice"] == "auto"
    order_tool = next(t for t in first["tools"] if t["function"]["name"] == "order_status")
    assert order_tool["function"]["parameters"]["required"] == ["order_id"]

    result = ToolResult(call, '{"status":"done","summary":"It shipped."}', "done", "It shipped.")
    more = [item async for item in llm.answer(question(asked.text, steps=(Step("Checking. ", (result,)),),
                                                       may_call=False))]
    assert "".join(d.text for d in more) == "It shipped on Monday."
    follow_up = fake.requests[1]
    assert follow_up["messages"][-2:] == [
        {"role": "assistant", "content": "Checking. ", "tool_calls": [
            {"id": "call_9", "type": "function",
             "function": {"name": "order_status", "arguments": '{"order_id": "ORD-123456"}'}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": '{"status":"done","summary":"It shipped."}'}]
    assert follow_up["tools"] == first["tools"] and follow_up["tool_choice"] == "none"


async def test_several_calls_in_one_response_come_in_order(fake, client):
    fake.script("model/a", tool_call("order_status", {"order_id": "ORD-1"}, call_id="a",
                                     more=(("b", "resend_invoice", {}),)))
    items = [item async for item in openrouter(fake, client).answer(question("Where is my order?"))]
    assert [(i.id, i.name) for i in items] == [("a", "order_status"), ("b", "resend_invoice")]


async def test_a_model_without_tool_support_is_asked_without_tools(fake, client):
    fake.script("model/a", status(404))
    llm = openrouter(fake, client, models=("model/a", "model/b"))
    text = "".join([d.text async for d in llm.answer(question("Where is my order?"))])
    assert text == "It shipped on Monday."
    assert "tools" in fake.requests[0] and "tools" in fake.requests[1]  # b was asked with tools
    fake.script("model/b", ok())
    [d async for d in llm.answer(question("Where is my order?"))]  # next rotation: b, then a
    [d async for d in llm.answer(question("Where is my order?"))]
    asked_a = [r for r in fake.requests[2:] if r["model"] == "model/a"]
    assert asked_a and all("tools" not in r for r in asked_a)


async def test_without_tools_the_request_is_as_before(fake, client):
    [d async for d in openrouter(fake, client).answer(Question("Hi there", [], NOTHING))]
    assert "tools" not in fake.requests[0] and "tool_choice" not in fake.requests[0]
    assert all(set(m) == {"role", "content"} for m in fake.requests[0]["messages"])


def test_tool_descriptions_are_what_the_model_is_told():
    tool = registry.get("order_status").tool()
    assert isinstance(tool, Tool) and tool.description.startswith("Look up one of the customer's orders")
