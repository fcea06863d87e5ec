"""The broker-level bearer secret(s) that guard /generate/token and the admin API.

Several secrets may be accepted at once so one can be rotated in before the old one is
retired. Comparison is over SHA-256 digests with `hmac.compare_digest` against every accepted
secret, so neither a secret's length nor which secret matched shows in the timing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

SECRET_ENV_VAR = "TV_ADAPTER_BROKER_SECRET"  # noqa: S105 (a variable name)
MIN_SECRET_LENGTH = 16


class BrokerSecretError(ValueError):
    """No usable secret was configured; the message says how to configure one."""


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class BrokerSecrets:
    """A set of accepted secrets, held only as digests."""

    __slots__ = ("_digests",)

    def __init__(self, accepted: Iterable[str]) -> None:
        values = [value for value in accepted if value]
        if not values:
            raise BrokerSecretError("no broker secret is configured")
        short = [value for value in values if len(value) < MIN_SECRET_LENGTH]
        if short:
            raise BrokerSecretError(
                f"a broker secret must be at least {MIN_SECRET_LENGTH} characters long"
            )
        self._digests = tuple(_digest(value) for value in values)

    def __repr__(self) -> str:
        return f"BrokerSecrets(<{len(self._digests)} accepted>)"

    def __len__(self) -> int:
        return len(self._digests)

    def accepts(self, presented: str) -> bool:
        presented_digest = _digest(presented)
        matches = [hmac.compare_digest(presented_digest, digest) for digest in self._digests]
        return any(matches)


def generate_secret() -> str:
    """A new broker secret in the seed's style (URL-safe, 96 characters)."""
    return secrets.token_urlsafe(72)


def parse_secret_lines(text: str) -> list[str]:
    """One secret per line; blank lines and lines starting with '#' are ignored."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def secrets_from_environment() -> list[str]:
    """`TV_ADAPTER_BROKER_SECRET`, several accepted secrets separated by commas."""
    return [part.strip() for part in os.environ.get(SECRET_ENV_VAR, "").split(",") if part.strip()]


def read_secret_file(path: Path) -> list[str]:
    try:
        return parse_secret_lines(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BrokerSecretError(
            f"cannot read the broker secret file {path}: {exc.strerror}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise BrokerSecretError(f"the broker secret file {path} is not UTF-8 text") from exc
