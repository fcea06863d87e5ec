"""Masking for conformance runs: the broker secret and every token, in every spelling.

A token is shown as a short fingerprint (`‹token 1a2b3c4d›`, the start of its SHA-256), so a
reader can tell which token an exchange used without holding it. Credentials found in an
Authorization header and tokens in a `/generate/token` answer are learnt before the exchange
is kept, and any other token-like run of characters is fingerprinted by the same heuristic
the activity log uses.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from console.services.client import RawExchange
from console.services.redaction import (
    CREDENTIAL_HEADERS,
    OPAQUE_HEADERS,
    REDACTED,
    TOKEN_LIKE,
    is_sensitive_key,
    spellings,
)
from console.verify.model import Exchange

SECRET_LABEL = "‹broker secret›"  # noqa: S105 (a label, not a password)
WRONG_SECRET_LABEL = "‹wrong secret›"  # noqa: S105 (a label, not a password)
"""A secret a check made up to be refused: a secret all the same, and not the broker's."""
MIN_LEARNT_LENGTH = 8
"""Shorter Authorization credentials are stand-ins (`garbage`), not worth fingerprinting."""
MIN_SECRET_LENGTH = 8
"""A shorter broker secret would be masked inside ordinary words; runs refuse it."""


def _more_spellings(value: str) -> set[str]:
    """Lower-case percent-encoding and HTML's entities (named, decimal and hex)."""
    encoded = quote(value, safe="")
    lower = re.sub(r"%[0-9A-F]{2}", lambda match: match.group().lower(), encoded)
    numeric = "".join(c if c.isalnum() else f"&#{ord(c)};" for c in value)
    hexa = "".join(c if c.isalnum() else f"&#x{ord(c):X};" for c in value)
    return {lower, html.escape(value), html.escape(value, quote=False), numeric, hexa}


def _strings(value: Any) -> list[str]:
    """Every string inside a JSON value (a token may come as `d`, or inside an object)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def token_label(token: str) -> str:
    return f"‹token {fingerprint(token)}›"


class Masker:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._labels: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str) -> None:
        self._learn(value, SECRET_LABEL)

    def add_wrong_secret(self, value: str) -> None:
        """Learnt before it is sent, so the Authorization header does not call it a token."""
        self._learn(value, WRONG_SECRET_LABEL)

    def add_token(self, value: str) -> None:
        if value and value not in self._labels:
            self._learn(value, token_label(value))

    def _learn(self, value: str, label: str) -> None:
        if not value:
            return
        for spelling in spellings(value) | _more_spellings(value):
            if spelling:
                self._labels[spelling] = label
        self._pattern = None

    def text(self, text: str) -> str:
        if not text:
            return text
        if self._labels:
            if self._pattern is None:
                alternatives = sorted(self._labels, key=len, reverse=True)
                self._pattern = re.compile("|".join(map(re.escape, alternatives)))
            text = self._pattern.sub(lambda match: self._labels[match.group()], text)
        return TOKEN_LIKE.sub(lambda match: token_label(match.group()), text)

    def body(self, body: str) -> str:
        """A body with its JSON strings decoded before masking, so no escaping the masker does
        not know (`\\/`, `\\u003c`, upper-case hex) can carry a secret past it; the values of
        sensitive keys (`token`, `secret`, ...) are masked whatever they are."""
        try:
            document = json.loads(body)
        except ValueError:
            return self.text(body)
        return json.dumps(self._walk(document), ensure_ascii=False, separators=(",", ":"))

    def _walk(self, value: Any, sensitive: bool = False) -> Any:
        if isinstance(value, dict):
            return {
                self.text(str(key)): self._walk(item, is_sensitive_key(str(key)))
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self._walk(item, sensitive) for item in value]
        if isinstance(value, str):
            if sensitive and value:
                self.add_token(value)
            return self.text(value)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        shown: dict[str, str] = {}
        for name, value in headers.items():
            lowered = name.lower()
            if lowered in CREDENTIAL_HEADERS:
                scheme, _, credential = value.strip().partition(" ")
                shown[name] = f"{scheme} {self.text(credential)}" if credential else REDACTED
            elif lowered in OPAQUE_HEADERS:
                shown[name] = REDACTED
            else:
                shown[name] = self.text(value)
        return shown

    def learn_from(self, exchange: RawExchange) -> None:
        """Credentials the exchange sent, and a token it received, become known values."""
        for name, value in exchange.request_headers.items():
            if name.lower() in CREDENTIAL_HEADERS:
                credential = value.strip().partition(" ")[2].strip()
                if len(credential) >= MIN_LEARNT_LENGTH and credential not in self._labels:
                    self.add_token(credential)
        answered = exchange.status is not None and 200 <= exchange.status < 300
        if answered and exchange.path.split("?", 1)[0].endswith("/generate/token"):
            try:
                document = json.loads(exchange.response_body)
            except ValueError:
                return
            if isinstance(document, dict):
                for value in _strings(document.get("d")):
                    if len(value) >= MIN_LEARNT_LENGTH:
                        self.add_token(value)

    def exchange(self, exchange: RawExchange) -> Exchange:
        self.learn_from(exchange)
        return Exchange(
            method=exchange.method,
            url=self.text(exchange.url or exchange.path),
            request_headers=self.headers(exchange.request_headers),
            request_body=self.body(exchange.request_body),
            status=exchange.status,
            response_headers=self.headers(exchange.response_headers),
            response_body=self.body(exchange.response_body),
            duration_ms=round(exchange.duration_ms, 1),
            error=self.text(exchange.error) if exchange.error else None,
        )
