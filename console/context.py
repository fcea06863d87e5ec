"""Everything the pages share: profiles, secrets, one client per profile, the logs and stores.

Qt-free: the views hold a context and call it; tests can drive it without a window.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from adapter_core.token_request import TokenRequest, request_body
from console.services.activity import ActivityLog
from console.services.client import AdapterClient, AdapterUnavailable, ClientSettings, RawExchange
from console.services.profiles import EMBEDDED_PROFILE_ID, Profile, ProfileStore
from console.services.recent import RecentError, RecentRequests
from console.services.secrets import AsyncSecrets, SecretStore, profile_key
from console.services.vault import MintedTokenVault, VaultError

TOKEN_LIFETIME = 30 * 24 * 3600
"""What the source document promises; introspection gives the real expiry where offered."""
BROKER_ONLY = frozenset({"broker"})


def client_settings(profile: Profile) -> ClientSettings:
    verify: bool | str = {"verify": True, "insecure": False}.get(
        profile.tls, profile.ca_file or True
    )
    return ClientSettings(profile.base_url.rstrip("/"), verify, profile.timeout)


class ConsoleContext:
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
        self._active_id = EMBEDDED_PROFILE_ID
        self._embedded_url: str | None = None
        self._embedded_secret: str | None = None
        self._clients: dict[str, AdapterClient] = {}
        self._retired: list[AdapterClient] = []
        self._capabilities: dict[str, frozenset[str]] = {}
        self._known: set[str] = set()
        self._profile_listeners: list[Callable[[Profile], None]] = []

    # Profiles

    def active_profile(self) -> Profile:
        profile = self.profiles.get(self._active_id)
        if profile.embedded:
            profile = dataclasses.replace(profile, base_url=self._embedded_url or "")
        return profile

    def set_active(self, profile_id: str) -> None:
        self.profiles.get(profile_id)
        self._active_id = profile_id
        for listener in self._profile_listeners:
            listener(self.active_profile())

    def on_profile_changed(self, listener: Callable[[Profile], None]) -> None:
        self._profile_listeners.append(listener)

    def profile_updated(self, profile_id: str) -> None:
        """A profile's settings or secret changed: forget its client and what it offers."""
        client = self._clients.pop(profile_id, None)
        if client is not None:
            self._retired.append(client)
        self._capabilities.pop(profile_id, None)
        if profile_id == self._active_id:
            for listener in self._profile_listeners:
                listener(self.active_profile())

    # The embedded adapter

    def embedded_url(self) -> str | None:
        return self._embedded_url

    def set_embedded(self, url: str | None, secret: str | None) -> None:
        self._embedded_url = url
        self._embedded_secret = secret
        if secret:
            self.note_secret(secret)
        self.profile_updated(EMBEDDED_PROFILE_ID)

    # Secrets and clients

    async def secret(self, profile: Profile) -> str | None:
        if profile.embedded:
            return self._embedded_secret
        value = await self.secrets.get(profile_key(profile.id))
        if value:
            self.note_secret(value)
        return value

    def note_secret(self, value: str) -> None:
        """Remember a secret or token seen this run, so every log and export masks it."""
        self._known.add(value)

    def known_secrets(self) -> frozenset[str]:
        return frozenset(self._known)

    def client(self, profile: Profile) -> AdapterClient:
        client = self._clients.get(profile.id)
        settings = client_settings(profile)
        if client is None or client.settings != settings:
            if client is not None:
                self._retired.append(client)
            client = AdapterClient(settings, self.recorder(profile))
            self._clients[profile.id] = client
        return client

    def recorder(self, profile: Profile) -> Callable[[RawExchange], None]:
        def record(exchange: RawExchange) -> None:
            self.activity.record_raw(
                exchange,
                profile_id=profile.id,
                profile_name=profile.name,
                secrets=self.known_secrets() | self.vault.known_tokens(),
            )

        return record

    async def capabilities(self, profile: Profile) -> frozenset[str]:
        """What the adapter offers beyond the two documented endpoints (asked once)."""
        known = self._capabilities.get(profile.id)
        if known is not None:
            return known
        secret = await self.secret(profile)
        offered = BROKER_ONLY
        if secret:
            try:
                answer = await self.client(profile).admin_info(secret)
            except AdapterUnavailable:
                return BROKER_ONLY
            if answer.ok and isinstance(answer.data, dict):
                offered = BROKER_ONLY | frozenset(map(str, answer.data.get("capabilities", [])))
        self._capabilities[profile.id] = offered
        return offered

    def token_lifetime(self) -> int:
        return TOKEN_LIFETIME

    # What the console remembers

    async def remember_minted(
        self, profile: Profile, request: TokenRequest, token: str, expires_at: float
    ) -> str | None:
        """Keep the token (encrypted) and the request body; a problem comes back as text."""
        self.note_secret(token)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                None,
                functools.partial(
                    self.vault.add,
                    profile.id,
                    token,
                    user_id=request.user_id,
                    broker_names=request.broker_names,
                    account_ids=request.account_ids,
                    is_verified=request.is_verified,
                    expires_at=datetime.fromtimestamp(expires_at, UTC),
                ),
            )
            await loop.run_in_executor(None, self.recent.remember, profile.id, request)
        except (VaultError, RecentError) as exc:
            return str(exc)
        return None

    def recent_requests(self, profile: Profile) -> list[dict[str, Any]]:
        return [request_body(request) for request in self.recent.list(profile.id)]

    def audit_logout(self, profile: Profile, token: str, ok: bool, result: str) -> None:
        self.activity.audit(
            profile_id=profile.id,
            profile_name=profile.name,
            token=token,
            token_id=None,
            ok=ok,
            result=result,
            secrets=self.known_secrets(),
        )

    async def close(self) -> None:
        for client in [*self._clients.values(), *self._retired]:
            await client.aclose()
        self._clients.clear()
        self._retired.clear()
