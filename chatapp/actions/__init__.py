"""Assistant actions: async functions the assistant may call for a customer (see registry.py).

Importing this package registers every action module in it (each module under chatapp/actions/
whose name does not start with "_"), so a new action is a new module with `@action` functions.

    from chatapp.actions import Actions, registry
    actions = Actions(db, threads, users, cache, feed, limiter)   # the service: handle, confirm...
"""

from __future__ import annotations

import importlib
import pkgutil

from chatapp.actions.calls import Calls, card_fields
from chatapp.actions.orders import seed_demo_orders
from chatapp.actions.registry import (
    Action,
    ActionDefinitionError,
    ActionError,
    Context,
    Database,
    Field,
    Registry,
    Result,
    action,
    registry,
)
from chatapp.actions.service import Actions, CallNotFound

_FRAMEWORK = {"calls", "registry", "service"}


def discover() -> None:
    """Import every action module of this package (they register themselves)."""
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _FRAMEWORK and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


discover()

__all__ = ["Action", "ActionDefinitionError", "ActionError", "Actions", "CallNotFound", "Calls",
           "Context", "Database", "Field", "Registry", "Result", "action", "card_fields",
           "discover", "registry", "seed_demo_orders"]
