"""A typed `qasync.asyncSlot`: qasync ships no type hints, mypy strict needs them."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, cast

from qasync import asyncSlot

P = ParamSpec("P")
AsyncMethod = Callable[P, Coroutine[Any, Any, None]]


def async_slot(*types: type) -> Callable[[AsyncMethod[P]], Callable[P, None]]:
    """`@asyncSlot(*types)`: runs the coroutine as a task on the qasync loop when called."""
    return cast(Callable[[AsyncMethod[P]], Callable[P, None]], asyncSlot(*types))
