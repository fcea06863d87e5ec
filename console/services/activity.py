"""The request log: every exchange with an adapter, redacted the moment it is recorded.

Redaction happens in `ActivityLog.record`, before anything is stored, so the log (and the
table, filters and exports built on it) never holds a secret or a token: there is no raw copy
to leak later. The log is bounded so a long session cannot grow memory without limit.

The console's own polling (health checks, the session feed's refreshes, capability probes) is
recorded too, marked `background`, so the page can fold it away without losing it; an answer a
probe asks for (Test connection's 400, a capability probe's 404) is marked `expected`, so it is
not mistaken for a failure. An answer whose envelope says `s: "error"` keeps its `errmsg` as
`refusal`: the adapter's `/logout` refuses with HTTP 200, so the status alone would call the
refusal a success.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from psygnal import Signal

from console.services.audit import AuditEntry, AuditTrail
from console.services.export import write_csv, write_json
from console.services.redaction import (
    bearer_credentials,
    redact_headers,
    redact_json_body,
    redact_text,
    redact_url_path,
)

ACTIVITY_CAPACITY = 5000
MAX_BODY_CHARS = 64 * 1024
"""Bodies longer than this are cut (after redaction, so no secret is cut in half unmasked)."""


class StatusClass(Enum):
    """What the status filter offers. FAILED is a request that got no HTTP answer at all, or a
    2xx/3xx answer whose envelope refuses (`/logout` says no with HTTP 200); such an answer
    leaves its status's class, so the classes still split the log without overlap."""

    SUCCESS = 2
    REDIRECT = 3
    CLIENT_ERROR = 4
    SERVER_ERROR = 5
    FAILED = 0

    def matches(self, exchange: Exchange) -> bool:
        status = exchange.status
        if status is None:
            return self is StatusClass.FAILED
        refused_as_success = status < 400 and exchange.failed
        if self is StatusClass.FAILED:
            return refused_as_success
        return status // 100 == self.value and not refused_as_success


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer, redacted; build them with `ActivityLog.record` only."""

    seq: int
    """Increases by one per exchange: the stable key a Qt model keeps rows by."""
    when: datetime
    """UTC."""
    profile_id: str
    profile_name: str
    method: str
    path: str
    """Query values under sensitive names are masked."""
    status: int | None
    """None when the request got no answer (see `error`)."""
    duration_ms: float
    request_headers: Mapping[str, str] = field(hash=False)
    request_body: str
    response_body: str
    error: str | None
    background: bool = False
    """The console's own polling, not something the operator asked for."""
    expected: bool = False
    """The status is the answer the request was made to get (a probe's 400 or 404): a
    success, whatever its number."""
    refusal: str | None = None
    """The (redacted) `errmsg` of an answer whose envelope says `s: "error"`, "" when it has
    none; None for any other answer. Kept whatever the status, since `/logout` refuses with
    HTTP 200."""

    @property
    def failed(self) -> bool:
        """No answer, or an error status or refusing envelope the request was not made to
        get: what the page draws red and the FAILED filter counts."""
        if self.status is None:
            return True
        return not self.expected and (self.status >= 400 or self.refusal is not None)

    def to_json(self) -> dict[str, Any]:
        return {
            "when": self.when.isoformat().replace("+00:00", "Z"),
            "profileId": self.profile_id,
            "profileName": self.profile_name,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "durationMs": round(self.duration_ms, 3),
            "requestHeaders": dict(self.request_headers),
            "requestBody": self.request_body,
            "responseBody": self.response_body,
            "error": self.error,
            "background": self.background,
            "expected": self.expected,
        }


class RawParts(Protocol):
    """What the HTTP client reports (its `RawExchange`); only `record_raw` reads it."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def request_headers(self) -> Mapping[str, str]: ...
    @property
    def request_body(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def response_body(self) -> str: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def error(self) -> str | None: ...
    @property
    def background(self) -> bool:
        """The console's own polling (health checks, feed refreshes, capability probes)."""
        ...

    @property
    def expected_statuses(self) -> frozenset[int]:
        """Statuses that are the expected outcome of a probe, not failures."""
        ...


def _refusal(response_body: str) -> str | None:
    """The `errmsg` of an `s: "error"` envelope ("" without one), None for any other body."""
    try:
        document = json.loads(response_body)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("s") != "error":
        return None
    errmsg = document.get("errmsg")
    return _truncate(errmsg) if isinstance(errmsg, str) else ""


def _truncate(text: str) -> str:
    if len(text) <= MAX_BODY_CHARS:
        return text
    return f"{text[:MAX_BODY_CHARS]}… ({len(text) - MAX_BODY_CHARS} more characters not kept)"


def matches(
    exchange: Exchange,
    text: str = "",
    profile_id: str | None = None,
    status_class: StatusClass | int | None = None,
) -> bool:
    """The filter for one row, so a Qt proxy model can apply it without copying the log.

    `text` is a case-insensitive substring of the method, path, profile name, status, bodies
    or error; an int `status_class` n means statuses n00-n99 (0: no answer at all).
    """
    if profile_id is not None and exchange.profile_id != profile_id:
        return False
    if status_class is not None and not StatusClass(status_class).matches(exchange):
        return False
    if not text:
        return True
    needle = text.casefold()
    haystack = (
        exchange.method,
        exchange.path,
        exchange.profile_name,
        "" if exchange.status is None else str(exchange.status),
        exchange.request_body,
        exchange.response_body,
        exchange.error or "",
    )
    return any(needle in part.casefold() for part in haystack)


class ActivityLog:
    """Bounded, newest-last log of exchanges and the audit trail of console logouts.

    Use it from one thread (the GUI's): listeners run synchronously inside `record` and
    `clear`. A listener's exception propagates from there as `psygnal.EmitLoopError`, after
    the log has changed: a view that cannot follow the log is a bug to see, not to log away.
    """

    recorded = Signal(Exchange, object)
    """(exchange, evicted): the new exchange and the oldest one it pushed out (None below
    capacity), so a model can drop the same row instead of reloading."""
    cleared = Signal()
    """Every exchange was forgotten: a model resets."""

    def __init__(self, capacity: int = ACTIVITY_CAPACITY, audit_trail: AuditTrail | None = None):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._exchanges: deque[Exchange] = deque(maxlen=capacity)
        self._next_seq = 1
        self.audit_trail = audit_trail or AuditTrail()

    def exchanges(self) -> list[Exchange]:
        """Oldest first."""
        return list(self._exchanges)

    def __len__(self) -> int:
        return len(self._exchanges)

    def record(
        self,
        *,
        profile_id: str,
        profile_name: str,
        method: str,
        path: str,
        request_headers: Mapping[str, str],
        request_body: str,
        status: int | None,
        response_body: str,
        duration_ms: float,
        error: str | None,
        secrets: Iterable[str],
        when: datetime | None = None,
        background: bool = False,
        expected_statuses: frozenset[int] = frozenset(),
    ) -> Exchange:
        """Redact the raw parts and keep only the redacted exchange.

        `secrets` are the values known to be secret (profile secrets, minted tokens); any
        credential in the request's Authorization header is added to them. `background` marks
        the console's own polling; a status in `expected_statuses` is what the request was
        made to get. The refusal is read from the redacted answer, so it holds no secret.
        """
        known = {*secrets, *bearer_credentials(request_headers)}
        response = redact_json_body(response_body, path=path, part="response", secrets=known)
        exchange = Exchange(
            seq=self._next_seq,
            when=when or datetime.now(UTC),
            profile_id=profile_id,
            profile_name=profile_name,
            method=method,
            path=redact_url_path(path, known),
            status=status,
            duration_ms=duration_ms,
            request_headers=MappingProxyType(redact_headers(request_headers, known)),
            request_body=_truncate(
                redact_json_body(request_body, path=path, part="request", secrets=known)
            ),
            response_body=_truncate(response),
            error=None if error is None else redact_text(error, known),
            background=background,
            expected=status is not None and status in expected_statuses,
            refusal=None if status is None else _refusal(response),
        )
        self._next_seq += 1
        full = len(self._exchanges) == self._exchanges.maxlen
        evicted = self._exchanges[0] if full else None
        self._exchanges.append(exchange)
        self.recorded.emit(exchange, evicted)
        return exchange

    def record_raw(
        self,
        raw: RawParts,
        *,
        profile_id: str,
        profile_name: str,
        secrets: Iterable[str],
        when: datetime | None = None,
    ) -> Exchange:
        """`record` for what the HTTP client reports."""
        return self.record(
            profile_id=profile_id,
            profile_name=profile_name,
            method=raw.method,
            path=raw.path,
            request_headers=raw.request_headers,
            request_body=raw.request_body,
            status=raw.status,
            response_body=raw.response_body,
            duration_ms=raw.duration_ms,
            error=raw.error,
            secrets=secrets,
            when=when,
            background=raw.background,
            expected_statuses=raw.expected_statuses,
        )

    def filter(
        self,
        text: str = "",
        profile_id: str | None = None,
        status_class: StatusClass | int | None = None,
    ) -> list[Exchange]:
        """The exchanges `matches` accepts, oldest first."""
        return [e for e in self._exchanges if matches(e, text, profile_id, status_class)]

    def clear(self) -> None:
        """Forget every exchange (the audit trail stays)."""
        self._exchanges.clear()
        self.cleared.emit()

    def audit(
        self,
        *,
        profile_id: str,
        profile_name: str,
        token: str,
        token_id: str | None,
        ok: bool,
        result: str,
        secrets: Iterable[str] = (),
        when: datetime | None = None,
    ) -> AuditEntry:
        """Record a logout done from the console; the token itself is masked, not kept."""
        return self.audit_trail.add(
            profile_id=profile_id,
            profile_name=profile_name,
            token=token,
            token_id=token_id,
            ok=ok,
            result=result,
            secrets=secrets,
            when=when,
        )

    def audit_entries(self) -> list[AuditEntry]:
        return self.audit_trail.entries()


_CSV_COLUMNS = (
    "when",
    "profileId",
    "profileName",
    "method",
    "path",
    "status",
    "durationMs",
    "requestHeaders",
    "requestBody",
    "responseBody",
    "error",
    "background",
    "expected",
)


def _export_row(exchange: Exchange) -> dict[str, Any]:
    """The exchange's JSON form, scrubbed once more in case one was built outside `record`."""
    row = exchange.to_json()
    for key in ("path", "requestBody", "responseBody", "error"):
        if isinstance(row[key], str):
            row[key] = redact_text(row[key], ())
    row["requestHeaders"] = redact_headers(row["requestHeaders"])
    return row


def export_json(path: Path, exchanges: Iterable[Exchange]) -> None:
    """Write the exchanges as a JSON array (redacted data only; mode 0600; atomic)."""
    write_json(path, [_export_row(exchange) for exchange in exchanges])


def export_csv(path: Path, exchanges: Iterable[Exchange]) -> int:
    """Write the exchanges as CSV, headers as a JSON cell (redacted; mode 0600; atomic);
    the number written."""
    return write_csv(path, _CSV_COLUMNS, (_csv_row(exchange) for exchange in exchanges))


def _csv_row(exchange: Exchange) -> list[object]:
    row = _export_row(exchange)
    row["requestHeaders"] = json.dumps(row["requestHeaders"], ensure_ascii=False)
    return [row[column] for column in _CSV_COLUMNS]
