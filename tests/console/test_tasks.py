"""Task owners cancel each task once, so its clean-up (closing a response, say) runs whole."""

from __future__ import annotations

import asyncio

from console.services.tasks import TaskOwner


async def _closed_then_closed_again() -> list[bool]:
    owner = TaskOwner("test")
    cleaned = [False, False]
    started = asyncio.Event()

    async def work(index: int) -> None:
        try:
            started.set()
            await asyncio.sleep(3600)
        finally:
            for _ in range(3):  # a clean-up that awaits, as closing a connection does
                await asyncio.sleep(0)
            cleaned[index] = True

    for index in range(2):
        owner.spawn(work(index))
    await started.wait()
    owner.close()  # a window closing tells the tasks to stop...
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # ...they are cleaning up when the owner is closed for good
    await owner.aclose()
    return cleaned


def test_closing_an_owner_twice_lets_every_task_clean_up_whole() -> None:
    assert asyncio.run(_closed_then_closed_again()) == [True, True]


async def _closer_cancelled_while_waiting() -> bool:
    owner = TaskOwner("test")
    cleaned = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.05)
            cleaned.set()

    owner.spawn(work())
    await asyncio.sleep(0)
    closer = asyncio.ensure_future(owner.aclose())
    await asyncio.sleep(0.01)
    closer.cancel()  # the one closing gives up waiting: the task still cleans up whole
    await asyncio.wait([closer])
    await asyncio.wait_for(cleaned.wait(), 5)
    return cleaned.is_set()


def test_a_closer_that_stops_waiting_does_not_cut_the_clean_up_short() -> None:
    assert asyncio.run(_closer_cancelled_while_waiting())
