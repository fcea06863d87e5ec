"""Connection health of the active profile, checked in the background so it is never stale.

The status bar used to show the answer of the last Test connection for as long as the
console ran: `reachable` 40 s after the adapter stopped. The monitor checks again every
`HEALTH_INTERVAL` seconds and at once when the active profile (or its adapter) changes; a
report for a profile that is no longer active is dropped, never shown under another's name.
"""

from __future__ import annotations

import asyncio

from psygnal import Signal

from console.services.operations import AdapterOps, HealthReport
from console.services.tasks import TaskOwner
from console.services.workspace import Workspace

HEALTH_INTERVAL = 10.0


class HealthMonitor:
    checking = Signal(object)
    """A check of this `AdapterOps` started."""
    changed = Signal(object, object)
    """(ops, HealthReport): the newest answer of the active profile's adapter."""

    def __init__(self, workspace: Workspace, interval: float = HEALTH_INTERVAL) -> None:
        self._workspace = workspace
        self._interval = interval
        self.tasks = TaskOwner("the health monitor")
        self._loop: asyncio.Task[None] | None = None
        self.last: HealthReport | None = None

    def start(self) -> None:
        """(Re)start checking the active profile: now, then every `interval` seconds."""
        if self._loop is not None:
            self.tasks.cancel(self._loop)
        self.last = None
        self._loop = self.tasks.spawn(self._run(self._workspace.active))

    async def check_now(self, *, background: bool = False) -> HealthReport:
        """One check of the active profile, reported like the periodic ones."""
        ops = self._workspace.active
        self.checking.emit(ops)
        report = await ops.check_health(background=background)
        if ops is self._workspace.active:
            self.last = report
            self.changed.emit(ops, report)
        return report

    async def _run(self, ops: AdapterOps) -> None:
        while ops is self._workspace.active:
            await self.check_now(background=True)
            await asyncio.sleep(self._interval)

    async def aclose(self) -> None:
        await self.tasks.aclose()
