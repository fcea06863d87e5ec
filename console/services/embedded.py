"""The embedded adapter's credentials and data directory.

The token key ring and the broker secret live in the OS keyring (the console never writes a
secret to a file); they are generated on the first start. A stored value that cannot be read is
reported and left alone: a new key ring would silently log out every TradingView user, and a new
broker secret would lock out the broker's CRM.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from adapter_core.broker_auth import BrokerSecretError, BrokerSecrets, generate_secret
from adapter_core.tokens.keyring import KeyRing, KeyRingError
from console import paths
from console.services.secrets import (
    EMBEDDED_BROKER_SECRET,
    EMBEDDED_TOKEN_KEYS,
    SERVICE,
    SecretStore,
)

log = logging.getLogger(__name__)

EMBEDDED_DIR_NAME = "embedded-adapter"


class EmbeddedCredentialsError(Exception):
    """A stored credential is unusable; the message is for the operator and names no secret."""


def embedded_data_dir() -> Path:
    """Where the embedded adapter keeps its token store (and its lock file)."""
    return paths.data_dir() / EMBEDDED_DIR_NAME


def _unusable(store: SecretStore, key: str, what: str, reason: str, consequence: str) -> str:
    return (
        f"The embedded adapter's {what} stored in the keyring ({store.backend_name}, "
        f"service {SERVICE!r}, entry {key!r}) cannot be used: {reason}. It was left unchanged, "
        f"because replacing it would {consequence}. Restore the entry, or delete it to start "
        "over with a new one."
    )


def _parse_key_ring(store: SecretStore, text: str) -> KeyRing:
    try:
        return KeyRing.from_json(json.loads(text))
    except (json.JSONDecodeError, KeyRingError) as exc:
        reason = "it is not JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise EmbeddedCredentialsError(
            _unusable(
                store,
                EMBEDDED_TOKEN_KEYS,
                "token key ring",
                reason,
                "invalidate every token it has issued",
            )
        ) from None  # the decoder's message may quote the stored text


def _check_secret(store: SecretStore, secret: str) -> str:
    try:
        BrokerSecrets([secret])
    except BrokerSecretError as exc:
        raise EmbeddedCredentialsError(
            _unusable(
                store,
                EMBEDDED_BROKER_SECRET,
                "broker secret",
                str(exc),
                "lock out every system that mints tokens with it",
            )
        ) from None
    return secret


def load_embedded_credentials(store: SecretStore) -> tuple[KeyRing, str]:
    """The key ring and broker secret, generating and storing whichever is missing.

    Both stored values are checked before anything is written, so an error never leaves one
    credential replaced. Raises `EmbeddedCredentialsError` for an unusable stored value and
    lets `SecretStoreError` through when the keyring refuses.
    """
    stored_ring = store.get(EMBEDDED_TOKEN_KEYS)
    stored_secret = store.get(EMBEDDED_BROKER_SECRET)
    ring = None if stored_ring is None else _parse_key_ring(store, stored_ring)
    secret = None if stored_secret is None else _check_secret(store, stored_secret)
    if ring is None:
        ring = KeyRing.generate()
        store.set(EMBEDDED_TOKEN_KEYS, json.dumps(ring.to_json()))
        log.info("generated the embedded adapter's token key ring (%s)", store.backend_name)
    if secret is None:
        secret = generate_secret()
        store.set(EMBEDDED_BROKER_SECRET, secret)
        log.info("generated the embedded adapter's broker secret (%s)", store.backend_name)
    return ring, secret
