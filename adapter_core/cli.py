"""`tv-adapter`: run the adapter headless and manage its token keys."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import re
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from adapter_core import __version__
from adapter_core.broker_auth import SECRET_ENV_VAR, BrokerSecretError
from adapter_core.datadir import (
    KEYS_FILE,
    DataDirError,
    DataDirLock,
    default_data_dir,
    ensure_private_dir,
)
from adapter_core.headless import HeadlessAdapter, HeadlessOptions, headless_app, open_headless
from adapter_core.server import ServerStartError, bind_socket, run
from adapter_core.store.base import StoreUnavailable
from adapter_core.store.redis_store import PASSWORD_ENV_VAR, STORE_ENV_VAR, RedisConfigError
from adapter_core.tls import TlsError, certificate_reloaders, tls_context
from adapter_core.tokens.codec import DEFAULT_TTL_SECONDS
from adapter_core.tokens.keyfile import KeyFileError, load_key_ring, save_key_ring
from adapter_core.tokens.keyring import KeyRingError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700
_DURATION = re.compile(r"(\d+)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_OPERATOR_ERRORS = (
    BrokerSecretError,
    DataDirError,
    KeyFileError,
    KeyRingError,
    ServerStartError,
    RedisConfigError,
    StoreUnavailable,
    TlsError,
)


def duration(text: str) -> int:
    """'30d', '12h', '15m', '90s' or plain seconds."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 30d, 12h or 90s")
    return int(match[1]) * _UNIT_SECONDS[match[2]]


def _origin(text: str) -> str:
    """scheme://host[:port], nothing more: the form browsers send in the Origin header."""
    parts = urllib.parse.urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or text != f"{parts.scheme}://{parts.netloc}"
    ):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an origin such as https://tv.example-broker.com"
        )
    return text


def _proxy(text: str) -> str:
    """An IP address or network (CIDR) whose forwarding headers are believed."""
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an IP address or network such as 10.0.0.5 or 10.0.0.0/24"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tv-adapter",
        description="A cTrader-style TradingView adapter: POST /generate/token and POST /logout.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the adapter's HTTP server",
        description=(
            f"Run the adapter. The broker secret comes from {SECRET_ENV_VAR} (several may be "
            "separated by commas), from --broker-secret-file (one per line), or is generated "
            "into the data directory with --generate-secret. Token keys live in the data "
            f"directory ({KEYS_FILE}, created on first start). Key and secret files are "
            "re-read when they change, so both can be rotated without a restart. "
            "SIGTERM stops the server gracefully."
        ),
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help="listen address (default: %(default)s)")
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="listen port, 0 for any (default: %(default)s)",
    )
    _data_dir_option(serve)
    serve.add_argument(
        "--broker-secret-file", type=Path, metavar="FILE", help="file of accepted broker secrets"
    )
    serve.add_argument(
        "--generate-secret",
        action="store_true",
        help="use DATA_DIR/broker-secret, creating it (mode 0600) on first start",
    )
    serve.add_argument(
        "--token-ttl",
        type=duration,
        default=DEFAULT_TTL_SECONDS,
        metavar="DURATION",
        help="lifetime of minted tokens, e.g. 30d, 12h, 90s (default: 30d)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        type=_origin,
        metavar="ORIGIN",
        help="a browser origin allowed besides https://*.tradingview.com (repeatable), "
        "e.g. https://tv.example-broker.com",
    )
    serve.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        type=_proxy,
        metavar="ADDRESS",
        help="a reverse proxy (IP address or network, repeatable) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed: sessions and the access log then show the client's "
        "address, not the proxy's (default: believe no one)",
    )
    serve.add_argument(
        "--tls-cert",
        type=Path,
        metavar="FILE",
        help="serve HTTPS with this certificate chain (PEM); re-read when it changes",
    )
    serve.add_argument(
        "--tls-key",
        type=Path,
        metavar="FILE",
        help="the private key of --tls-cert (PEM); re-read when it changes",
    )
    serve.add_argument(
        "--store",
        default=os.environ.get(STORE_ENV_VAR) or None,
        metavar="URL",
        help="share tokens, revocations, sessions and events with other instances through "
        f"Redis: redis://HOST:PORT/DB or rediss:// (also {STORE_ENV_VAR}; the password from "
        f"the URL or {PASSWORD_ENV_VAR}); default: the data directory's SQLite file",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="also offer the demo CRM (/demo/...) to create users and accounts and link them",
    )
    serve.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="log verbosity; info includes the access log (default: %(default)s)",
    )

    keys = commands.add_parser("keys", help="list, add or retire token keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    for name, text in (
        ("list", "show the key ring (ids and creation times, never key material)"),
        ("add", "add a new key; it mints from now on, older keys still open their tokens"),
    ):
        _data_dir_option(key_commands.add_parser(name, help=text, description=text))
    retire = key_commands.add_parser(
        "retire",
        help="remove a key; tokens it sealed stop opening",
        description="Remove a key from the ring; tokens it sealed stop opening.",
    )
    retire.add_argument("key_id", help="the key id as shown by 'keys list'")
    _data_dir_option(retire)
    return parser


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="where keys, the token store and a generated secret live (default: %(default)s)",
    )


def _banner(adapter: HeadlessAdapter, url: str, data_dir: Path) -> str:
    if adapter.secret_file is not None:
        bearer = f'"Authorization: Bearer $(head -n1 {adapter.secret_file})"'
    else:
        bearer = f'"Authorization: Bearer ${{{SECRET_ENV_VAR}%%,*}}"'
    return "\n".join(
        [
            f"TradingView adapter {__version__} listening on {url}",
            f"  data directory: {data_dir}",
            f"  broker secret:  from {adapter.secret_origin}",
            "Mint a token (the source document's example):",
            f"  curl -X POST '{url}/generate/token' -H 'Content-Type: application/json' \\",
            f"    -H {bearer} \\",
            '    -d \'{"userId":14601,"brokerNames":["BESTBROKER"],'
            '"ctidTraderAccountIds":[137780091,137792301],"isVerified":true}\'',
            "Log it out:",
            f"  curl -X POST '{url}/logout' -H 'Authorization: Bearer <token>'",
            "Stop with Ctrl+C or SIGTERM.",
        ]
    )


def _serve(args: argparse.Namespace) -> int:
    options = HeadlessOptions(
        data_dir=args.data_dir,
        token_ttl_seconds=args.token_ttl,
        broker_secret_file=args.broker_secret_file,
        generate_secret=args.generate_secret,
        store_url=args.store,
    )
    if (args.tls_cert is None) != (args.tls_key is None):
        raise TlsError("--tls-cert and --tls-key go together")
    tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert is not None else None
    data_dir = ensure_private_dir(args.data_dir)
    lock = DataDirLock(data_dir, shared=args.store is not None)
    lock.acquire()
    try:
        sock = bind_socket(args.host, args.port)
        adapter = open_headless(options)
        if tls is not None:
            adapter.background.extend(certificate_reloaders(tls, args.tls_cert, args.tls_key))
        app = headless_app(adapter, demo_crm=args.demo, cors_origins=args.cors_origin)

        def announce(url: str) -> None:
            print(_banner(adapter, url, data_dir), flush=True)

        run(
            app,
            sock,
            announce,
            args.log_level,
            adapter.services.events.close,
            tls,
            args.trusted_proxy,
        )
    finally:
        lock.release()
    return 0


def _keys(args: argparse.Namespace) -> int:
    path = args.data_dir / KEYS_FILE
    ring = load_key_ring(path)
    if args.keys_command == "add":
        ring = ring.with_new_key()
        save_key_ring(path, ring)
        print(f"added key {ring.minting_key.key_id:08x} (it mints from now on)")
    elif args.keys_command == "retire":
        try:
            key_id = int(args.key_id, 16)
        except ValueError:
            raise KeyRingError(f"{args.key_id!r} is not a key id (8 hex digits)") from None
        ring = ring.without(key_id)
        save_key_ring(path, ring)
        print(f"retired key {key_id:08x} (tokens it sealed no longer open)")
    minting = ring.minting_key.key_id
    for key in ring.keys:
        role = "mints and opens" if key.key_id == minting else "opens"
        print(f"{key.key_id:08x}  created {key.created_at}  {role}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(args, "log_level", "info").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return _serve(args) if args.command == "serve" else _keys(args)
    except _OPERATOR_ERRORS as exc:
        print(f"tv-adapter: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
