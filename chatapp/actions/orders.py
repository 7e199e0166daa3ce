"""The shipped example actions, over demo data: a customer's orders and invoices.

`order_status` looks one of the customer's orders up; `resend_invoice` emails one of their
invoices again, and so runs only once the customer pressed Confirm. Both read only the
verified customer's documents: every query names `customer.id`, whatever the model asked for.

The demo data lives in `demo_orders`, `demo_invoices` and `demo_outbox` (the "emails" that
resend_invoice sends). Each customer gets three orders and three invoices the first time an
action needs them (or from `make demo-data`, through `seed_demo_orders`); the numbers are drawn
from the customer's id, so seeding twice, or from two workers at once, changes nothing, and two
customers get different numbers.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pymongo import ASCENDING, DESCENDING

from chatapp.actions.registry import ActionError, Database, Result, action
from chatapp.models import User

ORDERS, INVOICES, OUTBOX = "demo_orders", "demo_invoices", "demo_outbox"
_CATALOGUE = (  # (item, price in USD)
    ("Ellavox desk phone", 129.00), ("USB headset", 59.00), ("Extra local number", 4.00),
    ("Call-recording add-on (annual)", 96.00), ("Number porting, 3 numbers", 30.00),
    ("Conference speaker", 189.00), ("Toll-free number", 8.00),
)
_CARRIERS = ("UPS", "DHL", "FedEx")
_indexed: set[str] = set()  # databases whose demo indexes this process made


def _order_number(value: Any) -> Any:
    """"ord 104233", "#104233", "104233" -> "ORD-104233" (anything else is left to the pattern)."""
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return value
    text = value.strip().upper().replace(" ", "").lstrip("#")
    digits = text.removeprefix("ORDER").removeprefix("ORD").lstrip("-#")
    return f"ORD-{digits}" if digits.isdigit() and len(digits) == 6 else text


def _invoice_number(value: Any) -> Any:
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return value
    text = value.strip().upper().replace(" ", "").lstrip("#")
    digits = text.removeprefix("INVOICE").removeprefix("INV").lstrip("-#")
    return f"INV-{digits}" if digits.isdigit() and len(digits) == 6 else text


# (The validator comes after the Field: it still runs first, and the pattern stays in the schema.)
OrderNumber = Annotated[str, Field(
    title="Order number", pattern=r"^ORD-\d{6}$", examples=["ORD-104233"],
    description="The order number, like ORD-104233 (in the order confirmation email)."),
    BeforeValidator(_order_number)]
InvoiceNumber = Annotated[str, Field(
    title="Invoice number", pattern=r"^INV-\d{6}$", examples=["INV-204511"],
    description="The invoice number, like INV-204511; leave it out for the latest invoice."),
    BeforeValidator(_invoice_number)]


@action(title="Order status", button="Check order status",
        offer=r"\b(?:my|the|an?|this|our|that) (?:order|package|parcel|shipment)\b"
              r"|\border (?:status|number|no\.?|#)|\bORD-?\d{6}\b"
              r"|\btrack(?:ing)?\b.{0,20}\b(?:order|package|parcel)\b")
async def order_status(order_id: OrderNumber, customer: User, db: Database) -> Result:
    """Look up one of the customer's orders (hardware, phone numbers, add-ons): its status,
    what is in it, and when it ships or arrives. Use it when the customer asks where an order
    is or what happened to it.

    Args:
        order_id: The order number, like ORD-104233 (in the order confirmation email).
    """
    await seed_demo_orders(db, customer.id)
    order = await db[ORDERS].find_one({"customer_id": customer.id, "order_id": order_id})
    if order is None:
        raise ActionError(f"I couldn't find order {order_id} on your account. Please check the "
                          "number in your order confirmation email.")
    data: dict[str, Any] = {"order": order["order_id"], "status": order["status"].capitalize(),
                            "placed": _day(order["placed_at"]), "items": order["items"],
                            "total": f"{order['total']:.2f} USD"}
    if order["status"] == "processing":
        data["ships"] = _day(order["ships_at"])
        summary = (f"Order {order_id} is being prepared and should ship on "
                   f"{_day(order['ships_at'])}.")
    elif order["status"] == "shipped":
        data |= {"carrier": order["carrier"], "tracking": order["tracking"],
                 "arriving": _day(order["arrives_at"])}
        summary = (f"Order {order_id} shipped with {order['carrier']} (tracking "
                   f"{order['tracking']}) and should arrive on {_day(order['arrives_at'])}.")
    else:
        data["delivered"] = _day(order["arrives_at"])
        summary = f"Order {order_id} was delivered on {_day(order['arrives_at'])}."
    return Result(data, summary)


@action(title="Resend invoice", button="Resend invoice", confirm=True,
        offer=r"\b(?:re-?send|send (?:me )?(?:it |the |my )?(?:again|another|a copy|(?:the |my )?invoice)"
              r"|another copy|a copy of|(?:didn'?t|did not|never) (?:get|receive|got))\b.{0,40}\binvoice"
              r"|\binvoice\b.{0,40}\b(?:again|re-?send|resent|copy|(?:didn'?t|did not|never|hasn'?t|has not)"
              r" (?:arrive|arrived|get|receive|come|came))\b")
async def resend_invoice(customer: User, db: Database, invoice_id: InvoiceNumber | None = None
                         ) -> Result:
    """Email one of the customer's invoices again, to the address on their account. Use it when
    the customer did not get an invoice, lost it, or wants another copy. The customer confirms
    before it is sent.

    Args:
        invoice_id: The invoice number, like INV-204511; leave it out for the latest invoice.
    """
    await seed_demo_orders(db, customer.id)
    query: dict[str, Any] = {"customer_id": customer.id}
    if invoice_id:
        query["invoice_id"] = invoice_id
    invoice = await db[INVOICES].find_one(query, sort=[("issued_at", DESCENDING)])
    if invoice is None:
        raise ActionError(f"I couldn't find invoice {invoice_id} on your account." if invoice_id
                          else "There is no invoice on your account yet.")
    now = datetime.now(UTC)
    to = _masked(customer.email)
    await db[OUTBOX].insert_one({"customer_id": customer.id, "to": customer.email,
                                 "invoice_id": invoice["invoice_id"], "sent_at": now,
                                 "subject": f"Your Ellavox invoice {invoice['invoice_id']}"})
    await db[INVOICES].update_one({"_id": invoice["_id"]},
                                  {"$inc": {"resent": 1}, "$set": {"last_sent_at": _ms(now)}})
    return Result({"invoice": invoice["invoice_id"], "period": invoice["period"],
                   "amount": f"{invoice['amount']:.2f} USD", "sent_to": to},
                  f"Invoice {invoice['invoice_id']} ({invoice['period']}) is on its way to {to}.")


# Demo data ---------------------------------------------------------------------------------------

async def seed_demo_orders(db: Database, customer_id: str, *, now: datetime | None = None) -> bool:
    """Give a customer their three demo orders and three invoices, unless they have them: True
    when it added them. Safe to call again, and from several workers at once."""
    if db.name not in _indexed:
        await db[ORDERS].create_index([("customer_id", ASCENDING), ("order_id", ASCENDING)],
                                      unique=True, name="customer_order")
        await db[INVOICES].create_index([("customer_id", ASCENDING), ("invoice_id", ASCENDING)],
                                        unique=True, name="customer_invoice")
        _indexed.add(db.name)
    if await db[ORDERS].find_one({"customer_id": customer_id}, {"_id": 1}) is not None:
        return False
    orders, invoices = demo_documents(customer_id, now or datetime.now(UTC))
    for doc in orders:
        await db[ORDERS].update_one({"customer_id": customer_id, "order_id": doc["order_id"]},
                                    {"$setOnInsert": doc}, upsert=True)
    for doc in invoices:
        await db[INVOICES].update_one({"customer_id": customer_id, "invoice_id": doc["invoice_id"]},
                                      {"$setOnInsert": doc}, upsert=True)
    return True


def demo_documents(customer_id: str, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The customer's demo orders (delivered, shipped, processing) and last three monthly
    invoices; the same numbers every time for the same customer."""
    rng = random.Random(f"helpdesk-demo:{customer_id}")
    order_numbers = rng.sample(range(100_000, 1_000_000), 3)
    invoice_numbers = rng.sample(range(200_000, 1_000_000), 3)
    orders = []
    for number, (status, placed_days) in zip(order_numbers, (("delivered", 24), ("shipped", 3),
                                                             ("processing", 1)), strict=True):
        items = rng.sample(_CATALOGUE, rng.randint(1, 2))
        placed = now - timedelta(days=placed_days)
        doc: dict[str, Any] = {"customer_id": customer_id, "order_id": f"ORD-{number}",
                               "status": status, "placed_at": _ms(placed),
                               "items": [name for name, _ in items],
                               "total": round(sum(price for _, price in items), 2)}
        if status == "processing":
            doc["ships_at"] = _ms(now + timedelta(days=1))
        else:
            doc |= {"carrier": rng.choice(_CARRIERS),
                    "tracking": f"1Z{rng.randrange(10**9, 10**10)}",
                    "arrives_at": _ms(placed + timedelta(days=5 if status == "shipped" else 4))}
        orders.append(doc)
    invoices = []
    for back, number in enumerate(invoice_numbers):  # this month's, and the two before
        year, month = divmod(now.year * 12 + now.month - 1 - back, 12)
        issued = datetime(year, month + 1, 1, 9, tzinfo=UTC)
        invoices.append({"customer_id": customer_id, "invoice_id": f"INV-{number}",
                         "issued_at": _ms(issued), "period": issued.strftime("%B %Y"),
                         "amount": rng.choice((49.0, 99.0, 149.0)), "status": "paid", "resent": 0})
    return orders, invoices


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _day(stamp: int) -> str:
    return datetime.fromtimestamp(stamp / 1000, UTC).strftime("%-d %B %Y")


def _masked(email: str) -> str:
    """"alex@example.com" -> "a***@example.com"."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "the address on your account"
