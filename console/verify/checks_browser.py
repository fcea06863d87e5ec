"""Suite `browser`: what a TradingView tab needs from the adapter, CORS and TLS.

TradingView's pages call the adapter straight from the trader's browser, so the adapter must
grant `https://www.tradingview.com` (with a preflight cache) and nobody who merely looks
like it. The certificate check asks the server itself, with Python's TLS stack.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509

from console.services.client import Answer
from console.services.tasks import off_thread
from console.verify.catalogue import Check
from console.verify.context import Failed, Outcome, RunContext, Skip
from console.verify.model import Status

TRADINGVIEW_ORIGIN = "https://www.tradingview.com"
LOOK_ALIKE_ORIGINS = (
    "https://tradingview.com.example.net",
    "https://eviltradingview.com",
    "http://www.tradingview.com",
)
EXPIRY_WARNING_DAYS = 30
REFUSED_PREFLIGHT = frozenset({400})
"""What Starlette's CORS middleware answers a preflight from an origin it does not grant."""


async def _preflight(
    ctx: RunContext, origin: str, expected: frozenset[int] = frozenset()
) -> Answer:
    """`expected`: the refusals the check wants (a look-alike origin's 400), which the
    Activity log then shows as expected rather than as failures."""
    return await ctx.client.request(
        "OPTIONS",
        "/accounts",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        expected=expected,
    )


async def _authorised(ctx: RunContext, origin: str) -> Answer:
    return await ctx.client.request(
        "GET",
        "/accounts",
        bearer=await ctx.token(),
        params={"locale": "en"},
        headers={"Origin": origin},
    )


def _granted(answer: Answer, origin: str) -> bool:
    allowed = answer.headers.get("access-control-allow-origin")
    return allowed in (origin, "*")


async def cors_tradingview(ctx: RunContext) -> Outcome:
    await ctx.tradingview()
    preflight = await _preflight(ctx, TRADINGVIEW_ORIGIN)
    call = await _authorised(ctx, TRADINGVIEW_ORIGIN)
    problems: list[str] = []
    if preflight.status >= 400 or not _granted(preflight, TRADINGVIEW_ORIGIN):
        problems.append(f"the preflight (HTTP {preflight.status}) does not grant the origin")
    if "authorization" not in preflight.headers.get("access-control-allow-headers", "").lower():
        problems.append("the preflight does not allow the Authorization header")
    max_age = preflight.headers.get("access-control-max-age", "")
    if not max_age.isdigit() or int(max_age) <= 0:
        problems.append(
            f"the preflight's Access-Control-Max-Age is {max_age or 'missing'} "
            "(browsers then repeat it before every call)"
        )
    if not _granted(call, TRADINGVIEW_ORIGIN):
        problems.append(f"the authorised call (HTTP {call.status}) does not grant the origin")
    if problems:
        raise Failed("; ".join(problems))
    return Outcome(f"granted on the preflight (max age {max_age} s) and on the call")


async def cors_foreign(ctx: RunContext) -> Outcome:
    await ctx.tradingview()
    granted: list[str] = []
    for origin in LOOK_ALIKE_ORIGINS:
        where = []
        for kind, answer in (
            ("preflight", await _preflight(ctx, origin, expected=REFUSED_PREFLIGHT)),
            ("call", await _authorised(ctx, origin)),
        ):
            if _granted(answer, origin):
                value = answer.headers.get("access-control-allow-origin")
                where.append(kind if value == origin else f"{kind}, as {value}")
        if where:
            granted.append(f"{origin} ({'; '.join(where)})")
    if granted:
        raise Failed(f"granted {len(granted)} of {len(LOOK_ALIKE_ORIGINS)}: " + ", ".join(granted))
    return Outcome(f"none of {len(LOOK_ALIKE_ORIGINS)} look-alike origins granted")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _certificate_expiry(host: str, port: int, cafile: str | None, timeout: float) -> datetime:
    """The expiry of the certificate the server presents, verified for `host`."""
    context = ssl.create_default_context(cafile=cafile)
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError("the server presented no certificate")
    return x509.load_der_x509_certificate(der).not_valid_after_utc


async def tls_certificate(ctx: RunContext) -> Outcome:
    parts = urlsplit(ctx.target.base_url)
    host = parts.hostname or ""
    if parts.scheme != "https":
        if _is_loopback(host):
            raise Skip("the target is plain HTTP on a loopback address: no certificate to check")
        return Outcome(
            "the target is plain HTTP: TradingView's pages can only call HTTPS adapters",
            Status.WARNING,
        )
    cafile = ctx.target.verify if isinstance(ctx.target.verify, str) else None
    try:
        expiry = await off_thread(
            _certificate_expiry, host, parts.port or 443, cafile, ctx.target.timeout
        )
    except ssl.SSLCertVerificationError as exc:
        raise Failed(f"the certificate is not valid for {host}: {exc.verify_message}") from None
    except (OSError, ssl.SSLError) as exc:
        raise Failed(f"no TLS connection to {host}: {exc}") from None
    days = (expiry - datetime.now(UTC)).days
    actual = f"valid for {host}, expires {expiry:%Y-%m-%d} ({days} days left)"
    if days < EXPIRY_WARNING_DAYS:
        return Outcome(actual, Status.WARNING)
    return Outcome(actual)


CHECKS = (
    Check(
        "cors.tradingview-origin",
        "browser",
        "TradingView's origin is granted",
        f"Origin {TRADINGVIEW_ORIGIN} is granted on an authorised call and on its preflight, "
        "which allows Authorization and has Access-Control-Max-Age",
        cors_tradingview,
    ),
    Check(
        "cors.foreign-origin-refused",
        "browser",
        "Look-alike origins are not granted",
        "no Access-Control-Allow-Origin for " + ", ".join(LOOK_ALIKE_ORIGINS),
        cors_foreign,
    ),
    Check(
        "tls.certificate",
        "browser",
        "The TLS certificate is valid for the host",
        f"an HTTPS certificate valid for the host, more than {EXPIRY_WARNING_DAYS} days from "
        "expiry (plain HTTP warns unless the host is loopback)",
        tls_certificate,
    ),
)
