"""Talking to one adapter over HTTP: the same code for the embedded adapter and remote ones.

One `httpx.AsyncClient` per profile (building one is slow: it loads TLS certificates). Every
exchange is reported to `on_exchange` with its raw parts; the activity log redacts them before
keeping anything. Failures become `AdapterUnavailable` with a sentence for the operator.
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from httpx_sse import ServerSentEvent, SSEError, aconnect_sse

from adapter_core.token_request import TokenRequest, request_body


class AdapterUnavailable(Exception):
    """The adapter could not be asked (unreachable, TLS, timeout, not an adapter)."""


class EventStreamRefused(AdapterUnavailable):
    """The adapter answered the event stream request with an HTTP error (401, 404, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


EVENTS_PATH = "/admin/events"
EVENT_IDLE_TIMEOUT = 45.0
"""The adapter sends a heartbeat every 15 s: this long without a byte means the stream is dead."""
MAX_EVENT_BYTES = 1024 * 1024
"""One event (or one line) larger than this ends the stream: nothing the adapter sends is."""
_ERROR_BODY_BYTES = 64 * 1024
CLOSED = "The console has closed its connection to this adapter: nothing more is sent."


@dataclass(frozen=True, slots=True)
class StreamEvent:
    kind: str
    data: dict[str, Any]
    id: str | None
    """The adapter's sequence number, sent back as `Last-Event-ID` to resume after it."""


def _stream_event(sse: ServerSentEvent) -> StreamEvent | None:
    """One dispatched event with a JSON object as its data; None for anything else."""
    if not sse.data:
        return None
    try:
        document = json.loads(sse.data)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    return StreamEvent(sse.event or "message", document, sse.id or None)


class _CappedEvents(httpx.AsyncByteStream):
    """The event stream's bytes, refused once one event grows past MAX_EVENT_BYTES.

    httpx-sse buffers an event until its closing blank line; this bounds that buffer.
    """

    def __init__(self, stream: httpx.AsyncByteStream | httpx.SyncByteStream, where: str) -> None:
        assert isinstance(stream, httpx.AsyncByteStream)
        self._stream = stream
        self._where = where
        self._since_boundary = 0
        self._tail = b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            window = self._tail + chunk
            ends = [window.rfind(end) + len(end) for end in _EVENT_ENDS if end in window]
            if ends:
                self._since_boundary = len(window) - max(ends)
            else:
                self._since_boundary += len(chunk)
            if self._since_boundary > MAX_EVENT_BYTES:
                raise AdapterUnavailable(
                    f"{self._where} sent an event larger than {MAX_EVENT_BYTES} bytes."
                )
            self._tail = window[-3:]
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


_EVENT_ENDS = (b"\n\n", b"\r\n\r\n", b"\r\r")


async def _read_capped(response: httpx.Response) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= _ERROR_BODY_BYTES:
            break
    return bytes(body[:_ERROR_BODY_BYTES])


def _with_query(path: str, params: dict[str, str] | None) -> str:
    """The path as the adapter saw it, so the activity log shows what was asked."""
    return f"{path}?{urlencode(params)}" if params else path


@dataclass(frozen=True, slots=True)
class RawExchange:
    """One request and its answer as sent and received; only the activity log sees this."""

    method: str
    path: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None
    response_body: str
    duration_ms: float
    error: str | None
    background: bool = False
    """The console's own polling (health, live refreshes, probes), not an operator's action."""
    expected_statuses: frozenset[int] = frozenset()
    """Answers that are the point of a probe (Test connection's 400), not failures."""
    url: str = ""
    """The full URL asked, for reports that must name the environment."""
    response_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Answer:
    """An adapter's answer: HTTP status, the envelope's parts, and how long it took."""

    status: int
    ok: bool
    data: Any
    errmsg: str | None
    duration_ms: float
    raw: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConnectionReport:
    reachable: bool
    secret_accepted: bool | None
    """None when the adapter could not be asked."""
    latency_ms: float | None
    message: str
    secret_missing: bool = False
    """Refused because no secret is stored for the profile, not because the adapter refuses
    the stored one: the operator's fix differs."""


@dataclass(frozen=True, slots=True)
class ClientSettings:
    base_url: str
    verify: bool | str
    """True, False, or the path of a CA bundle."""
    timeout: float


def _illegal_header(exc: Exception) -> bool:
    """h11 refuses a header with a line break or a control character and quotes it whole
    (`Illegal header value b'Bearer ...'`), credential included: that text is never shown."""
    return isinstance(exc, httpx.LocalProtocolError) and "header" in str(exc).lower()


def _describe_failure(exc: Exception, base_url: str) -> str:
    if isinstance(exc, UnicodeEncodeError) or _illegal_header(exc):
        return (
            "A secret or token holds characters an HTTP header cannot carry "
            "(only printable ASCII can)."
        )
    if isinstance(exc, httpx.ConnectError):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ssl.SSLError) or "SSL" in str(exc) or "CERTIFICATE" in str(exc):
            return f"The TLS connection to {base_url} failed: {exc}"
        return f"Cannot connect to {base_url}: nothing answers there (is the adapter running?)."
    if isinstance(exc, httpx.TimeoutException):
        return f"{base_url} did not answer in time."
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"{base_url} is not a usable adapter URL."
    return f"The request to {base_url} failed: {str(exc) or type(exc).__name__}"


class AdapterClient:
    def __init__(
        self,
        settings: ClientSettings,
        on_exchange: Callable[[RawExchange], None],
    ) -> None:
        self.settings = settings
        self._on_exchange = on_exchange
        self._tls_problem: str | None = None
        verify: bool | ssl.SSLContext = True
        if isinstance(settings.verify, str):
            try:
                verify = ssl.create_default_context(cafile=settings.verify)
            except (OSError, ssl.SSLError, ValueError) as exc:
                self._tls_problem = f"The CA file {settings.verify} cannot be used: {exc}."
        else:
            verify = settings.verify
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            verify=verify,
            timeout=settings.timeout,
            headers={"User-Agent": "tv-adapter-console"},
        )
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True
        await self._http.aclose()

    def close_unused(self) -> None:
        """Closed before it ever sent anything (so it holds no connection): from now on every
        request is refused as after `aclose`, without awaiting anything."""
        self._closed = True

    @property
    def is_closed(self) -> bool:
        """Whether it was closed: a retired profile's client must be, or its sockets leak."""
        return self._closed or self._http.is_closed

    def _refusal(self) -> str | None:
        """Why nothing can be sent, if something stops it."""
        return CLOSED if self.is_closed else self._tls_problem

    async def request(
        self,
        method: str,
        path: str,
        *,
        bearer: str | None = None,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        background: bool = False,
        expected: frozenset[int] = frozenset(),
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> Answer:
        """One exchange, reported to `on_exchange`; `background` and `expected` label it there.

        `headers` and `content` (a raw body, instead of `json_body`) let a conformance run
        send what a well-behaved caller never would: no credential, a foreign Origin, bad JSON.
        """
        sent = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
        if json_body is not None:
            content = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        content = content or b""
        report = functools.partial(self._report, background=background, expected=expected)
        url = f"{self.settings.base_url}{_with_query(path, params)}"
        started = time.perf_counter()

        def unanswered(message: str) -> AdapterUnavailable:
            report(
                method,
                _with_query(path, params),
                sent,
                content,
                None,
                "",
                started,
                message,
                url=url,
            )
            return AdapterUnavailable(message)

        refusal = self._refusal()
        if refusal is not None:
            raise unanswered(refusal)
        try:
            response = await self._http.request(
                method, path, content=content or None, headers=sent, params=params
            )
        except (httpx.HTTPError, UnicodeEncodeError) as exc:
            raise unanswered(_describe_failure(exc, self.settings.base_url)) from exc
        text = response.text
        path = _with_query(path, params)
        report(
            method,
            path,
            sent,
            content,
            response.status_code,
            text,
            started,
            None,
            url=url,
            response_headers=dict(response.headers),
        )
        return self._answer(response.status_code, text, started, response.headers)

    def _report(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        content: bytes,
        status: int | None,
        text: str,
        started: float,
        error: str | None,
        *,
        background: bool = False,
        expected: frozenset[int] = frozenset(),
        url: str = "",
        response_headers: dict[str, str] | None = None,
    ) -> None:
        self._on_exchange(
            RawExchange(
                method=method,
                path=path,
                request_headers=headers,
                request_body=content.decode("utf-8", "replace"),
                status=status,
                response_body=text,
                duration_ms=(time.perf_counter() - started) * 1000,
                error=error,
                background=background,
                expected_statuses=expected,
                url=url,
                response_headers=response_headers or {},
            )
        )

    @staticmethod
    def _answer(
        status: int, text: str, started: float, headers: Mapping[str, str] | None = None
    ) -> Answer:
        duration = (time.perf_counter() - started) * 1000
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("s") not in ("ok", "error"):
            return Answer(
                status,
                False,
                None,
                f"The adapter answered HTTP {status} without the expected JSON envelope.",
                duration,
                text,
                headers or {},
            )
        is_ok = body["s"] == "ok"
        errmsg = None if is_ok else str(body.get("errmsg") or f"HTTP {status}")
        return Answer(status, is_ok, body.get("d"), errmsg, duration, text, headers or {})

    async def stream_events(
        self,
        secret: str,
        *,
        last_event_id: str | None = None,
        idle_timeout: float = EVENT_IDLE_TIMEOUT,
    ) -> AsyncGenerator[StreamEvent, None]:
        """The admin event stream (`GET /admin/events`), `hello` first.

        `last_event_id` asks the adapter to resume after that event (`Last-Event-ID`); its
        `hello` says whether it could. Heartbeats and events without a JSON object are
        skipped. Opening the stream is reported to `on_exchange` once (its events are not).
        Raises `EventStreamRefused` for an HTTP error and `AdapterUnavailable` when the
        connection fails, breaks, or stays silent for `idle_timeout` seconds; ends when the
        adapter closes the stream. Close it with `aclose()` to drop the connection at once.
        """
        headers = {"Authorization": f"Bearer {secret}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(self.settings.timeout, read=idle_timeout)
        started = time.perf_counter()
        report = functools.partial(self._report, "GET", EVENTS_PATH, headers, b"", background=True)
        opened = False
        refusal = self._refusal()
        if refusal is not None:
            report(None, "", started, refusal)
            raise AdapterUnavailable(refusal)
        try:
            async with aconnect_sse(
                self._http, "GET", EVENTS_PATH, headers=headers, timeout=timeout
            ) as source:
                response = source.response
                status = response.status_code
                if status != 200:
                    text = (await _read_capped(response)).decode("utf-8", "replace")
                    report(status, text, started, None)
                    opened = True
                    answer = self._answer(status, text, started)
                    raise EventStreamRefused(status, answer.errmsg or f"HTTP {status}")
                report(status, "", started, None)
                opened = True
                response.stream = _CappedEvents(response.stream, self.settings.base_url)
                try:
                    async for sse in source.aiter_sse():
                        event = _stream_event(sse)
                        if event is not None:
                            yield event
                except SSEError:
                    content_type = response.headers.get("content-type", "")
                    raise AdapterUnavailable(
                        f"{self.settings.base_url}{EVENTS_PATH} is not an event stream "
                        f"(it answered {content_type or 'without a content type'})."
                    ) from None
        except (httpx.HTTPError, UnicodeEncodeError) as exc:
            message = _describe_failure(exc, self.settings.base_url)
            if not opened:
                report(None, "", started, message)
            raise AdapterUnavailable(message) from exc

    async def generate_token(self, secret: str, request: TokenRequest) -> Answer:
        return await self.request(
            "POST", "/generate/token", bearer=secret, json_body=request_body(request)
        )

    async def logout(self, token: str) -> Answer:
        return await self.request("POST", "/logout", bearer=token)

    async def introspect(self, secret: str, token: str) -> Answer:
        return await self.request(
            "POST", "/admin/tokens/introspect", bearer=secret, json_body={"token": token}
        )

    async def admin_info(self, secret: str) -> Answer:
        """A capability probe: 404 means the adapter has no admin API, an expected answer."""
        return await self.request(
            "GET", "/admin/info", bearer=secret, background=True, expected=frozenset({404})
        )

    async def user_accounts(self, secret: str, user_id: int) -> Answer:
        return await self.request("GET", f"/demo/users/{user_id}/accounts", bearer=secret)

    async def test_connection(
        self, secret: str | None, *, background: bool = False
    ) -> ConnectionReport:
        """Reachable, and the secret accepted, without minting anything.

        A deliberately incomplete body must earn a validation error (400) from an adapter
        that accepts the secret, and 401 from one that does not.
        """
        try:
            answer = await self.request(
                "POST",
                "/generate/token",
                bearer=secret or "-",
                json_body={},
                background=background,
                expected=frozenset({400}),
            )
        except AdapterUnavailable as exc:
            return ConnectionReport(False, None, None, str(exc))
        latency = answer.duration_ms
        if answer.status == 400:
            return ConnectionReport(
                True, True, latency, f"Reachable; the secret is accepted ({latency:.0f} ms)."
            )
        if answer.status == 401:
            if not secret:
                message = "Reachable, but no secret is stored for this profile."
            else:
                message = "Reachable, but the adapter refuses this secret (HTTP 401)."
            return ConnectionReport(True, False, latency, message, secret_missing=not secret)
        return ConnectionReport(
            True,
            None,
            latency,
            f"Reachable, but it answered HTTP {answer.status}: is this a TradingView adapter?",
        )
