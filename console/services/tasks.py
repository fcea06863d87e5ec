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
        self._told: set[asyncio.Task[Any]] = set()
        """Tasks already cancelled here: a second cancellation would cut their clean-up short."""
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
        self._told.discard(task)
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
        self._tell_all()

    async def cancel_all(self) -> None:
        """Cancel every task held and wait until each has ended (each cleans up in `finally`).

        A task is cancelled once: a second cancellation lands in its clean-up (an HTTP
        response being closed, say) and cuts it short, leaving a connection open. Waiting
        with `asyncio.wait` does not pass a cancellation of this caller on to the tasks.
        """
        tasks = self._tell_all()
        if tasks:
            await asyncio.wait(tasks)

    def cancel(self, task: asyncio.Task[Any]) -> None:
        """Cancel one task spawned here, once however often this is asked."""
        if task not in self._told and not task.done():
            self._told.add(task)
            task.cancel()

    def _tell_all(self) -> list[asyncio.Task[Any]]:
        """Cancel each held task not cancelled here before; returns them all."""
        tasks = list(self._tasks)
        for task in tasks:
            self.cancel(task)
        return tasks

    async def aclose(self) -> None:
        """No new tasks from now on; cancel and wait for the running ones."""
        self.close()
        await self.cancel_all()


async def off_thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking work (files, the keyring) in the loop's executor, never on the GUI thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(call, *args, **kwargs))
