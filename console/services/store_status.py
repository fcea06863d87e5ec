"""What an adapter says of its token store in `/admin/info`: which, where, how healthy, and
which instances share it. Read by the status bar and the Sessions page (its Instance column).

An adapter that says nothing of it (no admin API, or an older version) has no status: the
console shows nothing rather than guess.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class StoreStatus(msgspec.Struct, frozen=True):
    kind: str
    """`sqlite` (one instance) or `redis` (several may share it)."""
    healthy: bool
    address: str | None = None
    """The shared store's address, never with a password."""
    instance: str | None = None
    """The id of the instance that answered."""
    problem: str | None = None
    """Why it is unhealthy; or, while healthy, what it cannot do (a full Redis takes no
    mints or logouts but still answers polls)."""
    instances: tuple[str, ...] = ()
    """The live instances sharing the store, the one that answered included."""

    @property
    def several_instances(self) -> bool:
        return len(self.instances) > 1

    @property
    def severity(self) -> Literal["error", "warning", "ok"]:
        """Unhealthy; healthy but unable to do something; or fine."""
        if not self.healthy:
            return "error"
        return "warning" if self.problem else "ok"

    @property
    def summary(self) -> str:
        """One line for the status bar."""
        if not self.healthy:
            return f"store: {self.kind} — unhealthy: {self.problem or 'no reason given'}"
        if self.problem:
            return f"store: {self.kind} — {self.problem}"
        return "store: sqlite" if self.kind == "sqlite" else f"store: {self.kind} (healthy)"

    @property
    def detail(self) -> str:
        """The status bar's tooltip: where the store is and who shares it."""
        parts = [f"Token store: {self.kind}"]
        if self.address:
            parts.append(f"at {self.address}")
        if self.instance:
            parts.append(f"answered by instance {self.instance}")
        if self.instances:
            parts.append(f"instances sharing it: {', '.join(self.instances)}")
        if self.problem:
            parts.append(f"problem: {self.problem}")
        return "; ".join(parts)


def decode_store(info: Any) -> StoreStatus | None:
    """The `store` of an `/admin/info` answer's data; None if it has none or it is unreadable."""
    document = info.get("store") if isinstance(info, dict) else None
    if document is None:
        return None
    try:
        return msgspec.convert(document, StoreStatus)
    except msgspec.ValidationError:
        return None
