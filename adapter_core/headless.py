"""Wire a headless adapter from its data directory, files and environment."""

from __future__ import annotations

import functools
import logging
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette

from adapter_core.api.app import BackgroundJob, create_app
from adapter_core.api.demo_crm import demo_crm_routes
from adapter_core.api.openapi import openapi_route
from adapter_core.backend.simulated.backend import SimulatedBackend
from adapter_core.broker_auth import (
    SECRET_ENV_VAR,
    BrokerSecretError,
    BrokerSecrets,
    generate_secret,
    read_secret_file,
    secrets_from_environment,
)
from adapter_core.cluster import Cluster
from adapter_core.datadir import (
    KEYS_FILE,
    SECRET_FILE,
    STORE_FILE,
    create_private_file,
    ensure_private_dir,
)
from adapter_core.reload import FileReloader
from adapter_core.revocation import RevocationList, SharedRevocations
from adapter_core.services import AdapterServices
from adapter_core.store.base import TokenStore
from adapter_core.store.redis_store import RedisTokenStore, connect
from adapter_core.store.sqlite import SqliteTokenStore
from adapter_core.tokens.codec import TokenCodec
from adapter_core.tokens.keyfile import load_key_ring, load_or_create_key_ring
from adapter_core.tokens.keyring import KeyRing
from adapter_core.tradingview.stack import TradingStack

log = logging.getLogger(__name__)
RELOAD_INTERVAL = 2.0


@dataclass(frozen=True)
class HeadlessOptions:
    data_dir: Path
    token_ttl_seconds: int
    broker_secret_file: Path | None = None
    generate_secret: bool = False
    store_url: str | None = None
    """A `redis://` or `rediss://` address to share tokens and revocations with other
    instances; None keeps them in the data directory's SQLite file."""


@dataclass(frozen=True)
class HeadlessAdapter:
    services: AdapterServices
    background: list[BackgroundJob]
    secret_origin: str
    """Where the broker secret comes from, for the start-up banner (never the secret)."""
    secret_file: Path | None
    keys_created: bool


def _secret_source(options: HeadlessOptions) -> tuple[Path | None, str]:
    from_env = secrets_from_environment()
    chosen = [
        name
        for name, given in (
            (SECRET_ENV_VAR, bool(from_env)),
            ("--broker-secret-file", options.broker_secret_file is not None),
            ("--generate-secret", options.generate_secret),
        )
        if given
    ]
    if len(chosen) > 1:
        raise BrokerSecretError(
            f"{' and '.join(chosen)} both name a broker secret; use only one of them"
        )
    if options.broker_secret_file:
        return options.broker_secret_file, f"the file {options.broker_secret_file}"
    if from_env:
        return None, f"the environment variable {SECRET_ENV_VAR}"
    if options.generate_secret:
        path = options.data_dir / SECRET_FILE
        created = create_private_file(path, (generate_secret() + "\n").encode())
        state = "generated on this start" if created else "kept from an earlier start"
        return path, f"the file {path} (mode 0600, {state})"
    raise BrokerSecretError(
        f"no broker secret is configured: set {SECRET_ENV_VAR}, pass --broker-secret-file FILE, "
        "or pass --generate-secret to keep a generated one in the data directory"
    )


def _load_secrets(path: Path | None) -> BrokerSecrets:
    if path is None:
        return BrokerSecrets(secrets_from_environment())
    if path.exists() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the broker secret file %s can be read by other users", path)
    return BrokerSecrets(read_secret_file(path))


def open_headless(options: HeadlessOptions) -> HeadlessAdapter:
    """Everything the server needs; raises with an operator-facing message on any problem."""
    data_dir = ensure_private_dir(options.data_dir)
    secret_file, origin = _secret_source(options)
    broker_secrets = _load_secrets(secret_file)
    keys_path = data_dir / KEYS_FILE
    ring, keys_created = load_or_create_key_ring(keys_path)
    cluster = None
    if options.store_url is None:
        store: TokenStore = SqliteTokenStore(data_dir / STORE_FILE)
    else:
        store = RedisTokenStore(connect(options.store_url), connect(options.store_url, retries=0))
        cluster = Cluster(store)
    services = adapter_services(store, ring, broker_secrets, options.token_ttl_seconds)

    def reload_keys(path: Path) -> None:
        services.codec.key_ring = load_key_ring(path)

    def reload_secrets(path: Path) -> None:
        services.broker_secrets = _load_secrets(path)

    reloaders = [FileReloader(keys_path, reload_keys, "token key ring")]
    if secret_file is not None:
        reloaders.append(FileReloader(secret_file, reload_secrets, "broker secrets"))
    background: list[BackgroundJob] = [
        functools.partial(reloader.watch, RELOAD_INTERVAL) for reloader in reloaders
    ]
    if cluster is not None:
        background.append(share_through(services, cluster))
    return HeadlessAdapter(services, background, origin, secret_file, keys_created)


def share_through(services: AdapterServices, cluster: Cluster) -> BackgroundJob:
    """Wire the revocation list to the other instances; the job that keeps the link."""
    revocations = services.revocations
    store = cluster.store
    revocations.shared = SharedRevocations(store.revoked_at, lambda: cluster.health.trusted)
    cluster.on_revoked = revocations.learn
    cluster.on_reload = revocations.load
    services.events.relay = cluster.relay
    services.events.number_from(secrets.randbelow(1 << 40) << 12)
    cluster.on_event = services.events.publish_relayed
    services.cluster = cluster
    return cluster.run


def adapter_services(
    store: TokenStore, key_ring: KeyRing, broker_secrets: BrokerSecrets, ttl_seconds: int
) -> AdapterServices:
    """The services over an open store; shared by `tv-adapter serve` and the embedded adapter."""
    return AdapterServices(
        codec=TokenCodec(key_ring, ttl_seconds=ttl_seconds),
        broker_secrets=broker_secrets,
        store=store,
        revocations=RevocationList(store),
    )


def build_app(
    services: AdapterServices,
    *,
    demo_crm: bool,
    background: Sequence[BackgroundJob] = (),
    cors_origins: Sequence[str] = (),
) -> Starlette:
    """The whole HTTP surface over the simulated cTrader backend, however it is hosted."""
    backend = SimulatedBackend()
    trading = TradingStack(backend, services, ("demo-crm",) if demo_crm else ())
    routes = [*trading.routes(), openapi_route(demo_crm)]
    if demo_crm:
        routes += demo_crm_routes(services, backend)
    return create_app(
        services,
        extra_routes=routes,
        background=background,
        hooks=[trading.running],
        cors_origins=cors_origins,
    )


def headless_app(
    adapter: HeadlessAdapter, *, demo_crm: bool, cors_origins: Sequence[str] = ()
) -> Starlette:
    """The app `tv-adapter serve` runs: `build_app` plus the key and secret file reloaders."""
    return build_app(
        adapter.services,
        demo_crm=demo_crm,
        background=adapter.background,
        cors_origins=cors_origins,
    )
