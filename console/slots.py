"""`@task_slot`: a Qt slot that runs a coroutine method as a task its object owns.

The object keeps a `TaskOwner` as `self.tasks` (see `console.services.tasks`), so the task
is held until it ends and is cancelled when the object is closed. Signal arguments beyond
what the method takes (`clicked`'s `checked`, say) are dropped, as Qt does for plain slots.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

from console.services.tasks import TaskOwner

P = ParamSpec("P")


class OwnsTasks(Protocol):
    tasks: TaskOwner


Owner = TypeVar("Owner", bound=OwnsTasks)


def task_slot(
    method: Callable[Concatenate[Owner, P], Coroutine[Any, Any, None]],
) -> Callable[Concatenate[Owner, P], None]:
    positional = [
        parameter
        for parameter in inspect.signature(method).parameters.values()
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    accepted = len(positional) - 1

    @functools.wraps(method)
    def slot(self: Owner, *args: P.args, **kwargs: P.kwargs) -> None:
        self.tasks.spawn(method(self, *args[:accepted], **kwargs))  # type: ignore[arg-type]

    return cast(Callable[Concatenate[Owner, P], None], slot)
