"""The console's Qt-free root: profiles, secrets, stores, and one `AdapterOps` per profile.

The workspace decides which profile is active and hands out its operations. When a profile's
settings or secret change, or the embedded adapter moves, that profile's operations are
retired (their client closed) and new ones built, and `active_changed` tells every page to
drop what it shows and start over from the new ones: no page can keep another profile's state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from psygnal import Signal

from console.services.activity import ActivityLog
from console.services.client import ConnectionReport
from console.services.operations import AdapterOps, KnownSecrets
from console.services.profile_secrets import save_profile
from console.services.profiles import EMBEDDED_PROFILE_ID, ImportReport, Profile, ProfileStore
from console.services.recent import RecentRequests
from console.services.secrets import AsyncSecrets, SecretStore, profile_key
from console.services.tasks import off_thread
from console.services.vault import MintedTokenVault

log = logging.getLogger(__name__)


def _constant(value: str | None) -> Callable[[], Awaitable[str | None]]:
    async def secret() -> str | None:
        return value

    return secret


class Workspace:
    active_changed = Signal(object)
    """The active profile, or its settings, changed: the new active `AdapterOps`."""
    profiles_changed = Signal()
    """Profiles were added, removed or renamed: the profile list must be shown again."""

    def __init__(
        self,
        secret_store: SecretStore,
        profiles: ProfileStore,
        activity: ActivityLog,
        vault: MintedTokenVault,
        recent: RecentRequests,
    ) -> None:
        self.secret_store = secret_store
        self.secrets = AsyncSecrets(secret_store)
        self.profiles = profiles
        self.activity = activity
        self.vault = vault
        self.recent = recent
        self.known = KnownSecrets()
        self._active_id = EMBEDDED_PROFILE_ID
        self._embedded_url: str | None = None
        self._embedded_secret: str | None = None
        self._ops: dict[str, AdapterOps] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._closed = False
        """Set by `aclose`: operations asked for after it are closed ones, which send nothing."""

    # The active profile

    @property
    def active(self) -> AdapterOps:
        return self.ops(self._active_id)

    def active_profile(self) -> Profile:
        return self.active.profile

    def profile_list(self) -> list[Profile]:
        return self.profiles.list()

    def ops(self, profile_id: str) -> AdapterOps:
        """The operations of a profile, built on first use (raises ProfileError if unknown)."""
        current = self._ops.get(profile_id)
        if current is None:
            current = AdapterOps(
                self._resolved(self.profiles.get(profile_id)),
                secret=functools.partial(self._secret_of, profile_id),
                activity=self.activity,
                vault=self.vault,
                recent=self.recent,
                known=self.known,
            )
            if self._closed:
                current.client.close_unused()
            self._ops[profile_id] = current
        return current

    def set_active(self, profile_id: str) -> None:
        self.profiles.get(profile_id)
        if profile_id == self._active_id:
            return
        self._active_id = profile_id
        log.info("active profile: %s", self.active_profile().name)
        self.active_changed.emit(self.active)

    def _resolved(self, profile: Profile) -> Profile:
        if profile.embedded:
            return dataclasses.replace(profile, base_url=self._embedded_url or "")
        return profile

    async def _secret_of(self, profile_id: str) -> str | None:
        if profile_id == EMBEDDED_PROFILE_ID:
            return self._embedded_secret
        return await self.secrets.get(profile_key(profile_id))

    def _retire(self, profile_id: str) -> None:
        """Close a profile's operations (in the background); the next use builds them anew
        from what is saved."""
        retired = self._ops.pop(profile_id, None)
        if retired is not None and not self._closed:
            task = asyncio.ensure_future(retired.aclose())
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    def _renew(self, profile_id: str) -> None:
        """Retire a profile's operations and tell the pages if it is the active one."""
        self._retire(profile_id)
        if profile_id == self._active_id:
            self.active_changed.emit(self.active)

    # The embedded adapter

    def set_embedded(self, url: str | None, secret: str | None) -> None:
        """The embedded adapter started (its URL and secret) or stopped (None, None)."""
        if (url, secret) == (self._embedded_url, self._embedded_secret):
            return
        self._embedded_url = url
        self._embedded_secret = secret
        if secret:
            self.known.add(secret)
        self._renew(EMBEDDED_PROFILE_ID)

    # Changing profiles

    async def save_profile(self, profile: Profile, secret: str | None, *, is_new: bool) -> Profile:
        """Save settings and secret (both or neither), then make the profile the active one."""
        saved: Profile = await off_thread(
            save_profile, self.profiles, self.secret_store, profile, secret, is_new=is_new
        )
        log.info("profile %s %s", saved.name, "added" if is_new else "saved")
        self.profiles_changed.emit()
        if saved.id == self._active_id:
            self._renew(saved.id)
        else:
            self._retire(saved.id)
            self.set_active(saved.id)
        return saved

    async def test_draft(self, profile: Profile, secret: str | None) -> ConnectionReport:
        """Test connection for settings not saved yet (the profile dialog), recorded under
        the profile's name like every other exchange."""
        ops = AdapterOps(
            profile,
            secret=_constant(secret),
            activity=self.activity,
            vault=self.vault,
            recent=self.recent,
            known=self.known,
        )
        try:
            return (await ops.check_health(background=False)).report
        finally:
            await ops.aclose()

    async def stored_secret(self, profile_id: str) -> str | None:
        """The secret the profile dialog shows masked, for editing."""
        return await self._secret_of(profile_id)

    async def duplicate_profile(self, profile_id: str) -> Profile:
        copy: Profile = await off_thread(self.profiles.duplicate, profile_id)
        log.info("profile %s added as a copy of %s", copy.name, self.profiles.get(profile_id).name)
        self.profiles_changed.emit()
        self.set_active(copy.id)
        return copy

    async def remove_profile(self, profile_id: str) -> None:
        """Remove a profile and its secret (both or neither); the Embedded one becomes active."""
        removed: Profile = await off_thread(self.profiles.remove, profile_id, self.secret_store)
        log.info("profile %s removed, with its secret", removed.name)
        retired = self._ops.pop(profile_id, None)
        if retired is not None:
            await retired.aclose()
        if profile_id == self._active_id:
            self._active_id = EMBEDDED_PROFILE_ID
            log.info("active profile: %s", self.active_profile().name)
            self.active_changed.emit(self.active)
        self.profiles_changed.emit()

    async def import_profiles(self, path: Path) -> ImportReport:
        """Add the profiles of an exported file (never a secret); the report says what."""
        report: ImportReport = await off_thread(self.profiles.import_, path)
        log.info("imported profiles from %s: %s", path, "; ".join(report.lines()))
        self.profiles_changed.emit()
        return report

    async def export_profiles(self, path: Path) -> int:
        """Write the remote profiles, never a secret; returns how many."""
        count: int = await off_thread(self.profiles.export, path)
        log.info("exported %d profiles to %s", count, path)
        return count

    def profiles_imported(self) -> None:
        """Profiles were added to the store directly (tests, the command line)."""
        self.profiles_changed.emit()

    async def aclose(self) -> None:
        """Close every profile's client. A page still asking afterwards (a late signal while
        the console quits) gets closed operations, never a new client left open."""
        self._closed = True
        for ops in list(self._ops.values()):
            await ops.aclose()
        await asyncio.gather(*self._retiring, return_exceptions=True)
