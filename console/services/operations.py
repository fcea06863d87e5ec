"""Every workflow against one adapter profile, in one object: `AdapterOps`.

Pages never build an adapter URL or look up a secret: they ask the active profile's
operations and render the typed result. "Profile → secret → client → call" is written here
once, and so are minting (with introspection, the vault and recent requests), logging out
(audit and vault in one path for every page), the session listing, a session's detail,
connection health and what the adapter offers. Qt-free, so tests drive it without a window.
File and keyring work runs in an executor, never on the GUI thread.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psygnal import Signal

from adapter_core.admin.sessions_view import TokenState
from adapter_core.token_request import TokenRequest, request_body
from console.services.activity import ActivityLog
from console.services.client import (
    AdapterClient,
    AdapterUnavailable,
    ClientSettings,
    ConnectionReport,
    RawExchange,
)
from console.services.logouts import LogoutOutcome, LogoutResult, LogoutTarget
from console.services.minted import MintedToken, StateSource, probe_all, recorded_state
from console.services.profiles import Profile
from console.services.recent import RecentError, RecentRequests
from console.services.redaction import redact_text
from console.services.session_feed import SessionFeed
from console.services.session_rows import RowDecodeError, RowSource, SessionRow, decode_row
from console.services.store_status import StoreStatus, decode_store
from console.services.tasks import off_thread
from console.services.vault import DEFAULT_LIFETIME, MintedRecord, MintedTokenVault, VaultError

BROKER_ONLY = frozenset({"broker"})
"""What every adapter offers: `/generate/token` and `/logout`."""
SESSIONS_PATH = "/admin/sessions"
LISTING_LIMIT = 500
EMBEDDED_STOPPED = "The embedded adapter is not running: Adapter › Start starts it."


@dataclass(frozen=True, slots=True)
class Expiry:
    at: float
    told: bool
    """True when the adapter said it (introspection); False when the usual lifetime is assumed."""


@dataclass(frozen=True, slots=True)
class MintResult:
    ok: bool
    message: str
    """One sentence for the operator: what was minted and how fast, or what went wrong."""
    status: int | None
    raw: str
    """The adapter's answer with every secret and token masked."""
    token: str | None = None
    expiry: Expiry | None = None
    claims: SessionRow | None = None
    claims_note: str = ""
    """Why there are no claims (no introspection, or it failed)."""
    remember_problem: str | None = None
    """The token was minted but could not be remembered (vault or recent requests)."""


@dataclass(frozen=True, slots=True)
class HealthReport:
    report: ConnectionReport
    checked_at: float

    @property
    def ok(self) -> bool:
        return self.report.reachable and bool(self.report.secret_accepted)

    @property
    def summary(self) -> str:
        latency = self.report.latency_ms
        timing = f" ({latency:.0f} ms)" if latency is not None else ""
        if not self.report.reachable:
            return "unreachable"
        if self.report.secret_missing:
            return f"no secret stored{timing}"
        if self.report.secret_accepted is False:
            return f"secret refused{timing}"
        return f"reachable{timing}"


@dataclass(frozen=True, slots=True)
class Suggestions:
    accounts: list[str]
    brokers: list[str]


class KnownSecrets:
    """Every secret and token seen this run, so each log line and export masks it."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str) -> None:
        if value:
            self._values.add(value)

    def all(self) -> frozenset[str]:
        return frozenset(self._values)


class AdapterOps:
    """One profile's workflows. Built and retired by the `Workspace`; never shared across
    profiles, so no page can show one profile's answer under another's name."""

    minted = Signal(object)
    """A token was minted and remembered (its `MintedRecord`, or None if not remembered)."""
    logged_out = Signal(object)
    """Logouts finished (a list of `LogoutResult`)."""
    store_changed = Signal(object)
    """`/admin/info` was asked again: what it said of the token store (`StoreStatus`, or None
    when it said nothing or could not be asked)."""

    def __init__(
        self,
        profile: Profile,
        *,
        secret: Callable[[], Awaitable[str | None]],
        activity: ActivityLog,
        vault: MintedTokenVault,
        recent: RecentRequests,
        known: KnownSecrets,
    ) -> None:
        self.profile = profile
        self._secret = secret
        self._activity = activity
        self._vault = vault
        self._recent = recent
        self._known = known
        self._capabilities: frozenset[str] | None = None
        self.store: StoreStatus | None = None
        """What the adapter last said of its token store (`/admin/info`)."""
        self.client = AdapterClient(profile_settings(profile), self.record_exchange)

    # Plumbing

    def record_exchange(self, exchange: RawExchange) -> None:
        """Into the activity log under this profile (redacted there, before it is kept)."""
        self._activity.record_raw(
            exchange,
            profile_id=self.profile.id,
            profile_name=self.profile.name,
            secrets=self._known.all() | self._vault.known_tokens(),
        )

    @property
    def running(self) -> bool:
        """False for the embedded profile while its adapter is stopped."""
        return bool(self.profile.base_url)

    def no_secret_reason(self) -> str:
        """Why there is no secret to send. The embedded profile has its secret only while its
        adapter runs, and its profile cannot be edited: "edit the profile" would mislead."""
        if not self.running:
            return EMBEDDED_STOPPED
        return f"No bearer secret is stored for {self.profile.name}. Edit the profile to add it."

    async def secret(self) -> str | None:
        value: str | None = await self._secret()
        if value:
            self._known.add(value)
        return value

    async def aclose(self) -> None:
        await self.client.aclose()

    # What the adapter offers

    @property
    def capabilities_known(self) -> bool:
        """The adapter answered what it offers; else `capabilities` only assumes the two
        documented endpoints (it was not asked, or did not answer)."""
        return self._capabilities is not None

    async def capabilities(self, *, refresh: bool = False) -> frozenset[str]:
        """What the adapter offers beyond the two documented endpoints (asked once, or anew)."""
        if self._capabilities is not None and not refresh:
            return self._capabilities
        secret = await self.secret()
        if not secret or not self.running:
            self._set_store(None)
            return BROKER_ONLY
        try:
            answer = await self.client.admin_info(secret)
        except AdapterUnavailable:
            self._set_store(None)
            return BROKER_ONLY
        offered = BROKER_ONLY
        if answer.ok and isinstance(answer.data, dict):
            offered |= frozenset(map(str, answer.data.get("capabilities", [])))
        self._set_store(decode_store(answer.data) if answer.ok else None)
        self._capabilities = offered
        return offered

    async def _recheck_store(self, *, failed: bool) -> None:
        """Ask what the store says now after a write it may have refused, or one that went
        through while it said it could not write: the status bar then follows at once rather
        than at the next health check."""
        if self.store is not None and (failed or self.store.problem):
            await self.capabilities(refresh=True)

    def _set_store(self, store: StoreStatus | None) -> None:
        self.store = store
        self.store_changed.emit(store)

    async def check_health(self, *, background: bool = True) -> HealthReport:
        """Reachable, and the secret accepted, without minting anything; then what the
        adapter says of its token store (asked anew, so it is never older than this check)."""
        if not self.running:
            report = ConnectionReport(False, None, None, "The embedded adapter is not running.")
            self._set_store(None)
            return HealthReport(report, time.time())
        secret = await self.secret()
        report = await self.client.test_connection(secret, background=background)
        if report.reachable and report.secret_accepted:
            await self.capabilities(refresh=True)
        else:
            self._set_store(None)
        return HealthReport(report, time.time())

    # Minting

    async def mint(self, request: TokenRequest) -> MintResult:
        secret = await self.secret()
        if not secret:
            return MintResult(False, self.no_secret_reason(), None, "")
        try:
            answer = await self.client.generate_token(secret, request)
        except AdapterUnavailable as exc:
            return MintResult(False, str(exc), None, "")
        await self._recheck_store(failed=answer.status == 503)
        if not answer.ok or not isinstance(answer.data, str) or not answer.data:
            raw = redact_text(answer.raw, self._known.all())
            return MintResult(False, f"HTTP {answer.status}: {answer.errmsg}", answer.status, raw)
        token = answer.data
        self._known.add(token)
        raw = redact_text(answer.raw, self._known.all())
        claims, note = await self._introspect(secret, token)
        told = claims is not None and claims.expires_at > 0
        expires_at = claims.expires_at if claims is not None and told else None
        expiry = Expiry(expires_at or time.time() + DEFAULT_LIFETIME.total_seconds(), told)
        record, problem = await self._remember(request, token, claims, expires_at)
        result = MintResult(
            True,
            f"HTTP {answer.status}, token minted in {answer.duration_ms:.0f} ms.",
            answer.status,
            raw,
            token=token,
            expiry=expiry,
            claims=claims,
            claims_note=note,
            remember_problem=problem,
        )
        self.minted.emit(record)
        return result

    async def _introspect(self, secret: str, token: str) -> tuple[SessionRow | None, str]:
        if "admin" not in await self.capabilities():
            return None, "This adapter offers no introspection: claims and expiry are not known."
        try:
            answer = await self.client.introspect(secret, token)
        except AdapterUnavailable as exc:
            return None, str(exc)
        data = answer.data.get("token") if answer.ok and isinstance(answer.data, dict) else None
        if data is None:
            return None, answer.errmsg or "Introspection failed."
        try:
            return decode_row(data), ""
        except RowDecodeError as exc:
            return None, str(exc)

    async def _remember(
        self,
        request: TokenRequest,
        token: str,
        claims: SessionRow | None,
        expires_at: float | None,
    ) -> tuple[MintedRecord | None, str | None]:
        try:
            record = await off_thread(
                self._vault.add,
                self.profile.id,
                token,
                user_id=request.user_id,
                broker_names=request.broker_names,
                account_ids=request.account_ids,
                is_verified=request.is_verified,
                token_id=claims.token_id if claims is not None else None,
                expires_at=None if expires_at is None else datetime.fromtimestamp(expires_at, UTC),
            )
            await off_thread(self._recent.remember, self.profile.id, request)
        except (VaultError, RecentError) as exc:
            return None, str(exc)
        return record, None

    async def recent_requests(self) -> list[dict[str, Any]]:
        requests = await off_thread(self._recent.list, self.profile.id)
        return [request_body(request) for request in requests]

    async def suggestions(self, user_id: int) -> Suggestions | None:
        """The user's linked accounts and their brokers, where the adapter tells them."""
        if "demo-crm" not in await self.capabilities():
            return None
        secret = await self.secret()
        if not secret:
            return None
        try:
            answer = await self.client.user_accounts(secret, user_id)
        except AdapterUnavailable:
            return None
        if not answer.ok or not isinstance(answer.data, list):
            return None
        accounts = [a for a in answer.data if isinstance(a, dict)]
        return Suggestions(
            [str(a.get("ctidTraderAccountId")) for a in accounts],
            sorted({str(a.get("brokerName")) for a in accounts}),
        )

    # Logging out

    async def logout(
        self,
        targets: Sequence[LogoutTarget],
        progress: Callable[[LogoutResult], None] | None = None,
    ) -> list[LogoutResult]:
        """Log out each target in turn; each is audited and its vault record marked."""
        results: list[LogoutResult] = []
        for target in targets:
            result = await self._logout_one(target)
            await self._note_logout(result)
            results.append(result)
            if progress is not None:
                progress(result)
        await self._recheck_store(failed=not all(result.ok for result in results))
        self.logged_out.emit(results)
        return results

    async def _logout_one(self, target: LogoutTarget) -> LogoutResult:
        token = target.token
        if token is None and target.record_id is not None:
            record = await off_thread(self._vault.get, target.record_id)
            token = record.token if record is not None else None
        try:
            if token is not None:
                self._known.add(token)
                answer = await self.client.logout(token)
            elif target.token_id is not None:
                secret = await self.secret()
                if not secret:
                    return LogoutResult(
                        target, LogoutOutcome.UNREACHABLE, "no bearer secret for this profile"
                    )
                answer = await self.client.request(
                    "POST", f"{SESSIONS_PATH}/{target.token_id}/logout", bearer=secret
                )
            else:
                return LogoutResult(
                    target, LogoutOutcome.UNREACHABLE, "the console holds neither token nor id"
                )
        except AdapterUnavailable as exc:
            return LogoutResult(target, LogoutOutcome.UNREACHABLE, str(exc))
        if answer.ok:
            return LogoutResult(target, LogoutOutcome.LOGGED_OUT, "logged out")
        return LogoutResult(target, LogoutOutcome.REFUSED, answer.errmsg or f"HTTP {answer.status}")

    async def _note_logout(self, result: LogoutResult) -> None:
        """Audit the attempt and mark the token's vault record, however the token was named:
        a pasted token minted here is the same token as the one listed, and is audited by the
        id the Tokens and Sessions pages show."""
        target = result.target
        record = await off_thread(self._record_of, target)
        self._activity.audit(
            profile_id=self.profile.id,
            profile_name=self.profile.name,
            token=target.token or "",
            token_id=target.token_id or (record.token_id if record is not None else None),
            ok=result.ok,
            result=result.audit_text,
            secrets=self._known.all(),
        )
        if result.outcome is LogoutOutcome.UNREACHABLE or record is None:
            return
        if record.logged_out_at is not None and not result.ok:
            return  # "already revoked" for a token logged out before: that logout stands
        text = "logged out" if result.ok else result.audit_text
        try:
            await off_thread(self._vault.mark_logged_out, record.record_id, text)
        except (VaultError, KeyError):
            return

    async def held_token(self, token_id: str) -> str | None:
        """The token itself, where this console minted it for this profile (from the vault)."""
        record = await off_thread(self._vault.find_token_id, self.profile.id, token_id)
        return record.token if record is not None else None

    # Sessions

    def session_feed(self, secret: str, **callbacks: Any) -> SessionFeed:
        """The live listing (admin API): see `SessionFeed` for the callbacks."""
        return SessionFeed(self.client, secret, **callbacks)

    async def session_detail(self, row: SessionRow) -> SessionRow:
        """A token with its cached positions, orders and deals; the row itself without an
        admin API. Raises `AdapterUnavailable` when the adapter cannot be asked."""
        if row.source is RowSource.CONSOLE or row.token_id is None:
            return row
        secret = await self.secret()
        if not secret:
            return row
        answer = await self.client.request(
            "GET", f"{SESSIONS_PATH}/{row.token_id}", bearer=secret, background=True
        )
        if not answer.ok or not isinstance(answer.data, dict):
            raise AdapterUnavailable(answer.errmsg or f"HTTP {answer.status}")
        try:
            return decode_row(answer.data)
        except RowDecodeError as exc:
            raise AdapterUnavailable(str(exc)) from None

    async def user_sessions(self, user_id: int) -> list[SessionRow]:
        """Every token of a user that a logout can still end (up to the listing's page size)."""
        secret = await self.secret()
        if not secret:
            raise AdapterUnavailable(self.no_secret_reason())
        answer = await self.client.request(
            "GET",
            SESSIONS_PATH,
            bearer=secret,
            params={"userId": str(user_id), "limit": str(LISTING_LIMIT)},
        )
        rows = answer.data.get("rows") if answer.ok and isinstance(answer.data, dict) else None
        if not isinstance(rows, list):
            raise AdapterUnavailable(answer.errmsg or f"HTTP {answer.status}")
        decoded = [decode_row(row) for row in rows]
        return [row for row in decoded if row.can_log_out]

    def token_id_of(self, token: str) -> str | None:
        """The id the adapter gave a token this console minted on this profile, if it did."""
        record = self._minted_record(token)
        return record.token_id if record is not None else None

    def _minted_record(self, token: str) -> MintedRecord | None:
        return next((r for r in self._vault.list(self.profile.id) if r.token == token), None)

    def _record_of(self, target: LogoutTarget) -> MintedRecord | None:
        """The vault record a logout is aimed at: by record, token id, or the token itself."""
        if target.record_id is not None:
            return self._vault.get(target.record_id)
        if target.token_id is not None:
            return self._vault.find_token_id(self.profile.id, target.token_id)
        return self._minted_record(target.token) if target.token is not None else None

    @property
    def earlier_minted_unlisted(self) -> str | None:
        """Why tokens minted in earlier runs are not listed (kept in memory only this run),
        or None when they are."""
        return None if self._vault.persistent else self._vault.status_message

    async def minted_tokens(self) -> list[MintedToken]:
        """This profile's minted tokens, each with the state the adapter gives it now."""
        records = await off_thread(self._vault.list, self.profile.id)
        if not self.running:
            now = time.time()
            return [MintedToken(r, recorded_state(r), StateSource.RECORD, now) for r in records]
        if "admin" in await self.capabilities():
            told = await self._admin_states(records)
            rest = [record for record in records if record.record_id not in told]
            probed = {token.record.record_id: token for token in await probe_all(self.client, rest)}
            return [told.get(r.record_id) or probed[r.record_id] for r in records]
        return await probe_all(self.client, records)

    async def _admin_states(self, records: list[MintedRecord]) -> dict[str, MintedToken]:
        """States from the admin listing, for the records whose token id is known."""
        by_id = {record.token_id: record for record in records if record.token_id}
        secret = await self.secret()
        if not by_id or not secret:
            return {}
        found: dict[str, MintedToken] = {}
        ids = list(by_id)
        for start in range(0, len(ids), LISTING_LIMIT):
            chunk = ids[start : start + LISTING_LIMIT]
            params = {"tokenIds": ",".join(chunk), "limit": str(len(chunk))}
            try:
                answer = await self.client.request(
                    "GET", SESSIONS_PATH, bearer=secret, params=params, background=True
                )
            except AdapterUnavailable:
                return found
            rows = answer.data.get("rows") if answer.ok and isinstance(answer.data, dict) else []
            for document in rows or []:
                try:
                    row = decode_row(document)
                except RowDecodeError:
                    continue
                record = by_id.get(row.token_id or "")
                if record is not None:
                    state = row.state or TokenState.ISSUED
                    found[record.record_id] = MintedToken(
                        record, state, StateSource.ADAPTER, time.time()
                    )
        return found


def profile_settings(profile: Profile) -> ClientSettings:
    """The HTTP client's settings for a profile (TLS mode, CA bundle, timeout)."""
    verify: bool | str = {"verify": True, "insecure": False}.get(
        profile.tls, profile.ca_file or True
    )
    return ClientSettings(profile.base_url.rstrip("/"), verify, profile.timeout)
