"""Who owns a task: the object that spawned it, through its `TaskOwner`, and nobody else.

asyncio keeps only weak references to tasks and logs a failed one only when it is collected.
The rule in the console: every task is spawned through the owner of the thing it works for (a
page, a profile's operations, the health monitor), that owner cancels its tasks when it is
closed or its profile changes, and a task that fails unexpectedly is logged once, with its
traceback, by the owner.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

_log = logging.getLogger(__name__)
T = TypeVar("T")


class TaskOwner:
    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run `coroutine` as a task held here until it ends."""
        if self._closed:
            coroutine.close()
            raise RuntimeError(f"{self.name} is closed: no new task may start")
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            _log.error("A task of %s failed", self.name, exc_info=error)

    @property
    def running(self) -> int:
        return len(self._tasks)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """No new tasks from now on, and every running one is told to stop (not waited for):
        for when what the tasks would update is going away, such as a closed window."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()

    async def cancel_all(self) -> None:
        """Cancel every task held and wait until each has ended (each cleans up in `finally`)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """No new tasks from now on; cancel and wait for the running ones."""
        self.close()
        await self.cancel_all()


async def off_thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking work (files, the keyring) in the loop's executor, never on the GUI thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(call, *args, **kwargs))
