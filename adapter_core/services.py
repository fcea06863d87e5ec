"""The adapter's working parts, wired once and shared by every route.

Attributes that rotate at run time (the key ring inside the codec, the accepted broker
secrets) are replaced whole, so a request in flight sees the old or the new set, never a mix.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from adapter_core.broker_auth import BrokerSecrets
from adapter_core.cluster import Cluster
from adapter_core.events import EventHub
from adapter_core.revocation import RevocationList
from adapter_core.store.base import TokenStore
from adapter_core.tokens.codec import TokenCodec


@dataclass
class AdapterServices:
    codec: TokenCodec
    broker_secrets: BrokerSecrets
    store: TokenStore
    revocations: RevocationList
    clock: Callable[[], float] = time.time
    started_at: float = field(default_factory=time.time)
    events: EventHub = field(default_factory=EventHub)
    cluster: Cluster | None = None
    """The link to the other instances, with a store shared in Redis; None with SQLite."""
