"""Secrets and tokens made safe to show, log and export.

Everything the console displays or writes about an exchange passes through here first, so a
broker bearer secret or a minted token never reaches a table, a log line or an export file.
Known values are replaced exactly; a heuristic also catches token-like text nobody declared
(a token pasted into an error message, a token from a foreign adapter).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from urllib.parse import quote, quote_plus

MASK_SHORT = "••••"
"""What any value shorter than MASK_MIN_LENGTH becomes: not one character, not its length."""
MASK_MIN_LENGTH = 24
"""From this length on, `mask` shows 4 + 4 characters: at most a third of the value."""
MASK_SHOWN = 4
REDACTED = "<redacted>"
"""Replaces credentials that have no use in a display at all (header values, URL passwords)."""
TOKEN_LIKE_MIN_LENGTH = 40
"""Our tokens are lower-case hex of at least 120 characters (version 1 ones base64url of at
least 100); ids (32 hex) stay readable."""

MIN_DERIVED_SECRET_LENGTH = 8
"""Shortest Authorization credential that `bearer_credentials` reports."""

CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
"""Headers of the form `<scheme> <credential>`: the scheme is kept, the credential is not."""
OPAQUE_HEADERS = frozenset({"cookie", "set-cookie", "x-api-key", "x-auth-token", "x-broker-secret"})
SENSITIVE_KEYS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passwd",
        "authorization",
        "accesstoken",
        "refreshtoken",
        "apikey",
        "clientsecret",
        "brokersecret",
    }
)
"""JSON keys (compared lower-case, without '_' and '-') whose string values are masked."""

TOKEN_LIKE = re.compile(
    rf"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{{{TOKEN_LIKE_MIN_LENGTH},}}(?![A-Za-z0-9_-])"
)
_URL_USERINFO = re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+@")

Part = Literal["request", "response"]


def mask(value: str) -> str:
    """A recognisable but useless form of a secret, for telling values apart on screen.

    Values of MASK_MIN_LENGTH characters or more become their first and last four characters
    around "…" (`abcd…wxyz`); shorter ones become "••••", since 4 + 4 shown characters would
    give most of them away. The empty string stays empty: there is nothing to hide.
    """
    if not value:
        return ""
    if len(value) < MASK_MIN_LENGTH:
        return MASK_SHORT
    return f"{value[:MASK_SHOWN]}…{value[-MASK_SHOWN:]}"


def spellings(secret: str) -> set[str]:
    """The ways a secret appears in a body or URL: as is, JSON-escaped, percent-encoded."""
    return {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}


def mask_token_like(text: str) -> str:
    """Mask base64url-looking runs of TOKEN_LIKE_MIN_LENGTH+ characters and URL passwords."""
    text = _URL_USERINFO.sub(f"{REDACTED}@", text)
    return TOKEN_LIKE.sub(lambda match: mask(match.group()), text)


def redact_text(text: str, secrets: Iterable[str], *, heuristic: bool = True) -> str:
    """Replace every occurrence of each known secret by its mask, then apply the heuristic.

    All secrets are matched in one pass, longest first, so a secret that contains another is
    masked whole and a mask is never re-read as text. Short secrets are replaced too: a
    garbled log line is better than a leaked secret.
    """
    masks: dict[str, str] = {}
    for secret in secrets:
        if secret:
            for spelling in spellings(secret):
                masks.setdefault(spelling, mask(secret))
    if masks and text:
        alternatives = sorted(masks, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(spelling) for spelling in alternatives))
        text = pattern.sub(lambda match: masks[match.group()], text)
    return mask_token_like(text) if heuristic else text


def _split_credential(value: str) -> tuple[str | None, str]:
    """`Bearer abc` -> ("Bearer", "abc"); a single word is all credential, no scheme."""
    scheme, separator, credential = value.strip().partition(" ")
    return (scheme, credential.strip()) if separator else (None, scheme)


def redact_headers(headers: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    """Headers for display: credentials gone, the authentication scheme kept for debugging."""
    known = list(secrets)
    redacted: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in CREDENTIAL_HEADERS:
            scheme, _ = _split_credential(value)
            redacted[name] = REDACTED if scheme is None else f"{scheme} {REDACTED}"
        elif lowered in OPAQUE_HEADERS:
            redacted[name] = REDACTED
        else:
            redacted[name] = redact_text(value, known)
    return redacted


def bearer_credentials(headers: Mapping[str, str]) -> set[str]:
    """Credentials in authorization headers, to redact wherever else they appear.

    Values under MIN_DERIVED_SECRET_LENGTH are left out: they are stand-ins (the console
    probes with `Bearer -`), and masking every `-` would garble the log. The header itself
    is redacted whatever its length, and declared secrets are masked at any length.
    """
    found: set[str] = set()
    for name, value in headers.items():
        if name.lower() in CREDENTIAL_HEADERS:
            _, credential = _split_credential(value)
            if len(credential) >= MIN_DERIVED_SECRET_LENGTH:
                found.add(credential)
    return found


def is_sensitive_key(key: str) -> bool:
    return key.lower().replace("_", "").replace("-", "") in SENSITIVE_KEYS


def _mask_sensitive(value: Any) -> Any:
    if isinstance(value, dict):
        masked: dict[str, Any] = {}
        for key, item in value.items():
            sensitive = isinstance(item, str) and is_sensitive_key(key)
            masked[key] = mask(item) if sensitive else _mask_sensitive(item)
        return masked
    if isinstance(value, list):
        return [_mask_sensitive(item) for item in value]
    return value


def _endpoint(path: str) -> str:
    return path.split("?", 1)[0].rstrip("/")


def redact_json_body(body: str, *, path: str, part: Part, secrets: Iterable[str] = ()) -> str:
    """A request or response body for display, parsed when it is JSON so fields can be masked.

    The token a `/generate/token` response carries in `d` is masked, and so is every string
    under a sensitive key (`token` of an introspect request, `secret`, `password`, ...). The
    result is re-serialised compactly, then known secrets and token-like text are masked in
    the whole text (keys included). A body that is not JSON gets the text treatment only.
    """
    known = list(secrets)
    if not body:
        return ""
    try:
        document = json.loads(body)
    except ValueError:
        return redact_text(body, known)
    document = _mask_sensitive(document)
    if (
        part == "response"
        and _endpoint(path).endswith("/generate/token")
        and isinstance(document, dict)
        and isinstance(document.get("d"), str)
    ):
        document["d"] = mask(document["d"])
    return redact_text(json.dumps(document, ensure_ascii=False), known)


def redact_url_path(path: str, secrets: Iterable[str] = ()) -> str:
    """A request path for display: query values under sensitive names masked, others scrubbed."""
    known = list(secrets)
    route, separator, query = path.partition("?")
    route = redact_text(route, known)
    if not separator:
        return route
    pairs = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        if equals and is_sensitive_key(name):
            value = REDACTED
        pairs.append(f"{redact_text(name, known)}{equals}{redact_text(value, known)}")
    return f"{route}?{'&'.join(pairs)}"
