"""Assistant actions, declared like FastAPI path operations.

An action is an async function. Its signature is its schema: the parameters the model fills in
are described by their type hints (JSON schema through pydantic) and the docstring (the action's
description, and an "Args:" section for each parameter's); the parameters the framework fills
in are recognised by their type and never appear in the schema:

    customer: User       the verified customer whose conversation it is (never the model's idea)
    db: Database         the app's MongoDB database
    context: Context     both, and the conversation's id

    @action(title="Order status", button="Check order status", offer=r"\\border\\b")
    async def order_status(order_id: Annotated[str, Field(pattern=...)], customer: User,
                           db: Database) -> Result:
        \"\"\"Look up one of the customer's orders.

        Args:
            order_id: The order number, e.g. ORD-123456.
        \"\"\"

It returns a `Result` (a small dict for the card, and one plain sentence), or a plain dict;
it raises `ActionError("a sentence for the customer")` when it cannot do what was asked. Any
other exception, and a run longer than its timeout, become a plain sentence too.

The registry, not the provider, owns what happens around a call (chatapp/actions/service.py):
checking the model's arguments, the confirmation, the per-customer rate limit, the timeout, and
storing each call.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import inspect
import json
import re
import time
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import pydantic
from motor.motor_asyncio import AsyncIOMotorDatabase
from pydantic import ConfigDict, Field
from pydantic.fields import FieldInfo

from chatapp.models import CUSTOMER, GUEST, User
from chatapp.services.llm.base import Tool

Database = AsyncIOMotorDatabase
ActionFunction = Callable[..., Awaitable[Any]]
DEFAULT_TIMEOUT = 5.0
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # OpenAI-style function names
# Parameters that would let the model say whose data to touch: an action takes `customer: User`.
IDENTITY_NAMES = frozenset({"customer", "customer_id", "user", "user_id", "owner", "owner_id",
                            "account", "account_id", "email"})
MAX_RESULT_ITEMS = 12
MAX_TEXT = 300
MAX_LIST = 10


class ActionError(Exception):
    """The action could not do what was asked; `str(error)` is a plain sentence for the customer
    ("I couldn't find order ORD-123456 on your account.")."""


class ActionDefinitionError(TypeError):
    """An action is declared wrongly (found when it is registered, at import)."""


@dataclass(frozen=True)
class Result:
    """What an action returns: `data`, a small dict the card shows (and the model reads), and
    `summary`, one plain sentence for the customer."""

    data: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""


@dataclass(frozen=True)
class Context:
    """What the framework hands an action: the verified customer, the database, the conversation."""

    customer: User
    db: Database
    chat_id: str = ""


_INJECTED: dict[Any, str] = {User: "customer", Database: "db", Context: "context"}


@dataclass(frozen=True)
class Action:
    """A registered action: what the model is told, and how to call it."""

    name: str
    title: str
    description: str
    button: str
    confirm: bool
    offer: str
    timeout: float | None
    guests: bool
    fn: Callable[..., Awaitable[Any]] = field(repr=False)
    arguments: type[pydantic.BaseModel] = field(repr=False)
    injected: Mapping[str, str] = field(repr=False)  # parameter name -> "customer" / "db" / "context"
    schema: Mapping[str, Any] = field(repr=False)
    labels: Mapping[str, str] = field(repr=False)

    def tool(self) -> Tool:
        """What a model is told: the schema without `examples` (the form's placeholders), which
        some providers' schema dialects refuse; the example is in each description anyway."""
        parameters = {**self.schema, "properties": {
            name: {k: v for k, v in spec.items() if k != "examples"}
            for name, spec in self.schema.get("properties", {}).items()}}
        return Tool(self.name, self.description, parameters, self.title, self.offer)

    def allowed(self, customer: User) -> bool:
        return customer.active and (customer.role == CUSTOMER or (self.guests and customer.role == GUEST))

    def validate(self, arguments: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """The model's (or the customer's) arguments checked against the schema: (values, {})
        or (None, {parameter: a plain sentence saying what is wrong}). Unknown keys are dropped."""
        given = {k: v for k, v in arguments.items() if v != ""}  # an empty field is a missing one
        try:
            checked = self.arguments.model_validate(given)
        except pydantic.ValidationError as error:
            problems: dict[str, str] = {}
            for item in error.errors():
                name = str(item["loc"][0]) if item["loc"] else ""
                problems.setdefault(name, self._sentence(name, item))
            return None, problems
        return checked.model_dump(mode="json"), {}

    def _sentence(self, name: str, error: Mapping[str, Any]) -> str:
        label = self.labels.get(name, name.replace("_", " ")) or "A value"
        example = (self.schema.get("properties", {}).get(name, {}).get("examples") or [None])[0]
        kind = error.get("type", "")
        if kind == "missing":
            return f"{label} is needed."
        if kind == "string_pattern_mismatch":
            hint = f" It should look like {example}." if example else ""
            return f"That doesn't look like a valid {label[:1].lower() + label[1:]}.{hint}"
        return f"{label}: {error.get('msg', 'not valid')}."

    def fields(self, values: Mapping[str, Any], problems: Mapping[str, str]) -> list[dict[str, Any]]:
        """The form a proposed card shows: every parameter, with what is known of it."""
        out = []
        required = set(self.schema.get("required", ()))
        for name, spec in self.schema.get("properties", {}).items():
            kind = spec.get("type")
            options = spec.get("enum")
            row = {"name": name, "label": self.labels.get(name, name),
                   "type": "select" if options else {"integer": "number", "number": "number",
                                                     "boolean": "checkbox"}.get(kind, "text"),
                   "required": name in required, "value": values.get(name, ""),
                   "placeholder": str((spec.get("examples") or [""])[0]),
                   "help": spec.get("description", ""), "error": problems.get(name, "")}
            if options:
                row["options"] = list(options)
            out.append(row)
        return out

    async def call(self, values: Mapping[str, Any], context: Context) -> Result:
        """Run the action with checked `values` and the injected dependencies (no timeout here:
        the service sets it)."""
        checked = self.arguments.model_validate(dict(values))
        kwargs = {name: getattr(checked, name) for name in type(checked).model_fields}
        for name, kind in self.injected.items():
            kwargs[name] = {"customer": context.customer, "db": context.db, "context": context}[kind]
        returned = await self.fn(**kwargs)
        if isinstance(returned, Result):
            return Result(card_data(returned.data), returned.summary.strip())
        if returned is None:
            return Result({}, "")
        if isinstance(returned, Mapping):
            return Result(card_data(returned), "")
        raise TypeError(f"action {self.name} returned {type(returned).__name__}, not a Result or dict")


def card_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """A result small enough for a card: at most 12 entries of short text, numbers, booleans or
    short lists of them; anything else as its text."""
    out: dict[str, Any] = {}
    for key, value in list(data.items())[:MAX_RESULT_ITEMS]:
        if isinstance(value, list | tuple):
            out[str(key)[:60]] = [_scalar(v) for v in value[:MAX_LIST]]
        else:
            out[str(key)[:60]] = _scalar(value)
    return out


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


_SECTION = re.compile(r"^(?:Args|Arguments|Parameters):[ \t]*$", re.M)


def _doc_parts(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The docstring's description (its paragraphs before "Args:") and, from a Google-style
    "Args:" section, each parameter's description."""
    doc = inspect.getdoc(fn) or ""
    section = _SECTION.search(doc)
    head, rest = (doc[:section.start()], doc[section.end():]) if section else (doc, "")
    described: dict[str, str] = {}
    current, base = "", 0
    for line in rest.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            break  # the next section ("Returns:")
        indent = len(line) - len(line.lstrip())
        found = re.match(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
        if found and (not current or indent <= base):
            current, base = found.group(1), indent
            described[current] = found.group(2).strip()
        elif current:
            described[current] = f"{described[current]} {line.strip()}".strip()
    description = "\n\n".join(" ".join(p.split()) for p in head.strip().split("\n\n") if p.strip())
    return description, described


def _field_info(annotation: Any) -> FieldInfo | None:
    """The parameter's `Field(...)`, also inside an optional type (`Annotated[str, Field()] | None`)."""
    if typing.get_origin(annotation) is Annotated:
        for extra in typing.get_args(annotation)[1:]:
            if isinstance(extra, FieldInfo):
                return extra
    for inner in typing.get_args(annotation) if typing.get_origin(annotation) is not Annotated else ():
        found = _field_info(inner)
        if found is not None:
            return found
    return None


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as models read it best: without pydantic's generated titles, and an optional
    parameter (`str | None = None`) as its own type, simply not required."""
    schema.pop("title", None)
    for name, spec in list(schema.get("properties", {}).items()):
        spec.pop("title", None)
        branches = spec.get("anyOf")
        if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches \
                and name not in schema.get("required", ()):
            (kept,) = [b for b in branches if b != {"type": "null"}]
            spec.pop("anyOf")
            if spec.get("default", "") is None:
                spec.pop("default")
            schema["properties"][name] = {k: v for k, v in {**kept, **spec}.items() if k != "title"}
    for spec in schema.get("$defs", {}).values():
        _plain(spec)
    return schema


def build(fn: Callable[..., Awaitable[Any]], *, name: str | None = None, title: str | None = None,
          button: str | None = None, confirm: bool = False, offer: str = "",
          timeout: float | None = None, guests: bool = False) -> Action:
    """Read an action's declaration from its function: see the module docstring."""
    name = name or fn.__name__
    if not inspect.iscoroutinefunction(fn):
        raise ActionDefinitionError(f"action {name} must be an async function")
    if not NAME.match(name):
        raise ActionDefinitionError(f"action name {name!r}: lowercase letters, digits and _")
    hints = typing.get_type_hints(fn, include_extras=True)
    description, described = _doc_parts(fn)
    if not description:
        raise ActionDefinitionError(f"action {name} needs a docstring: it is what the model reads")
    if offer:
        re.compile(offer)
    fields: dict[str, Any] = {}
    injected: dict[str, str] = {}
    labels: dict[str, str] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ActionDefinitionError(f"action {name}: *args and **kwargs are not supported")
        if param.name not in hints:
            raise ActionDefinitionError(f"action {name}: parameter {param.name} needs a type hint")
        annotation = hints[param.name]
        plain = typing.get_args(annotation)[0] if typing.get_origin(annotation) is Annotated else annotation
        if plain in _INJECTED:
            injected[param.name] = _INJECTED[plain]
            continue
        if param.name in IDENTITY_NAMES:
            raise ActionDefinitionError(
                f"action {name}: parameter {param.name} would let the model choose whose data to "
                "touch; take `customer: User`, which the framework fills in with the verified customer")
        info = _field_info(annotation)
        if param.name in described and not (info and info.description):
            annotation = Annotated[annotation, Field(description=described[param.name])]
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
        labels[param.name] = (info.title if info and info.title
                              else param.name.replace("_", " ").capitalize())
    model = pydantic.create_model(
        f"{name}_arguments", __config__=ConfigDict(extra="ignore", str_strip_whitespace=True), **fields)
    schema = _plain(model.model_json_schema())
    schema.setdefault("properties", {})
    schema["additionalProperties"] = False
    title = title or name.replace("_", " ").capitalize()
    return Action(name=name, title=title, description=description, button=button or title,
                  confirm=confirm, offer=offer, timeout=timeout, guests=guests, fn=fn,
                  arguments=model, injected=injected, schema=schema, labels=labels)


class Registry:
    """The actions the assistant may call, by name."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def action(self, *, name: str | None = None, title: str | None = None, button: str | None = None,
               confirm: bool = False, offer: str = "", timeout: float | None = None,
               guests: bool = False) -> Callable[[ActionFunction], ActionFunction]:
        """Register the decorated async function as an action (it stays callable as it was).

        title: what the card says ("Order status"); button: what the offer's button says ("Check
        order status"); confirm: run only after the customer presses Confirm; offer: a regular
        expression of the questions the built-in responder offers it for (no key, no model);
        timeout: seconds (default: the service's); guests: offer it to visitors without an account.
        """
        def register(fn: ActionFunction) -> ActionFunction:
            self.add(build(fn, name=name, title=title, button=button, confirm=confirm, offer=offer,
                           timeout=timeout, guests=guests))
            return fn
        return register

    def add(self, declared: Action) -> Action:
        existing = self._actions.get(declared.name)
        if existing is not None and existing.fn is not declared.fn and (
                existing.fn.__module__, existing.fn.__qualname__) != (declared.fn.__module__,
                                                                      declared.fn.__qualname__):
            raise ActionDefinitionError(f"two actions are named {declared.name}")
        self._actions[declared.name] = declared
        return declared

    def get(self, name: str) -> Action | None:
        return self._actions.get(name)

    def all(self) -> list[Action]:
        return list(self._actions.values())

    def for_customer(self, customer: User) -> list[Action]:
        return [a for a in self._actions.values() if a.allowed(customer)]


registry = Registry()  # the app's actions: modules under chatapp/actions/ register here
action = registry.action


async def run_with_timeout(declared: Action, values: Mapping[str, Any], context: Context,
                           default_seconds: float) -> tuple[Result, int]:
    """Call the action within its own timeout, or `default_seconds`: (result, duration in ms).
    Raises what it raised, or TimeoutError."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(declared.timeout or default_seconds):
            result = await declared.call(values, context)
    finally:
        elapsed = round((time.perf_counter() - started) * 1000)
    return result, elapsed
