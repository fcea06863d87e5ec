"""Durable state behind a small interface: issued-token records and the revocation list.

SQLite is the embedded default; a Redis implementation for several adapter instances can sit
behind the same `TokenStore` protocol.
"""

from adapter_core.store.base import IssuedToken, StoreUnavailable, TokenStore

__all__ = ["IssuedToken", "StoreUnavailable", "TokenStore"]
