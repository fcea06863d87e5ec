"""`tv-adapter-console profile ...`: manage connection profiles from a shell, without a window.

Qt is never imported here (nor by what this imports), so the command works over SSH, in CI and
in provisioning scripts. A secret given with --secret-stdin goes only to the OS keyring; with no
usable keyring the command refuses instead of keeping the secret anywhere weaker.
"""

from __future__ import annotations

import argparse
import getpass
import ssl
import sys
from collections.abc import Callable
from pathlib import Path

from console.services.profile_secrets import save_profile
from console.services.profiles import Profile, ProfileError, ProfileStore, TlsMode
from console.services.secrets import (
    EMBEDDED_BROKER_SECRET,
    SecretStore,
    SecretStoreError,
    SessionSecretStore,
    open_secret_store,
)

PROG = "tv-adapter-console"
MAX_SECRET_LENGTH = 1024
"""Longer than any broker secret needs; some keyrings (Windows) cannot store much more."""

_OPTION_FOR_FIELD = {
    "name": "NAME",
    "base_url": "--url",
    "ca_file": "--ca",
    "timeout": "--timeout",
    "colour": "--colour",
}


class CliError(Exception):
    """A refusal for the operator: printed as one line, exit status 2."""


def profile_main(argv: list[str]) -> int:
    """Run `profile add|list|remove`; return the exit status (0, or 2 after one error line)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage (or --help)
        return exc.code if isinstance(exc.code, int) else 2
    handler: Callable[[argparse.Namespace], None] = args.handler
    try:
        handler(args)
    except ProfileError as exc:
        field = _OPTION_FOR_FIELD.get(exc.field or "", exc.field)
        return _fail(f"{field}: {exc.problem}" if field else exc.problem)
    except (CliError, SecretStoreError) as exc:
        return _fail(str(exc))
    return 0


def _fail(message: str) -> int:
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} profile",
        description="Manage the console's connection profiles (no window is opened).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add = commands.add_parser("add", help="add a remote adapter profile")
    add.add_argument("name", metavar="NAME", help="display name, unique ignoring case")
    add.add_argument("--url", required=True, help="the adapter's base URL, http(s)://host[:port]")
    add.add_argument(
        "--secret-stdin",
        action="store_true",
        help="read the broker bearer secret from standard input into the OS keyring",
    )
    tls = add.add_mutually_exclusive_group()
    tls.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    tls.add_argument("--ca", metavar="FILE", help="verify TLS against this CA certificate file")
    add.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds (10)")
    add.add_argument("--production", action="store_true", help="mark as a production adapter")
    add.add_argument("--colour", metavar="#rrggbb", help="the profile's colour in the console")
    add.set_defaults(handler=_add)

    listing = commands.add_parser("list", help="list the profiles (never their secrets)")
    listing.set_defaults(handler=_list)

    remove = commands.add_parser("remove", help="remove a profile and its stored secret")
    remove.add_argument("name", metavar="NAME", help="the profile's name (any letter case)")
    remove.set_defaults(handler=_remove)
    return parser


def _add(args: argparse.Namespace) -> None:
    tls: TlsMode = "verify"
    ca_file: str | None = None
    if args.insecure:
        tls = "insecure"
    elif args.ca is not None:
        tls, ca_file = "ca", checked_ca_file(args.ca)
    store = _loaded_store()
    profile = Profile.create(
        args.name,
        args.url,
        tls=tls,
        ca_file=ca_file,
        timeout=args.timeout,
        colour=args.colour,
        production=args.production,
        others=store.list(),
    )
    store.check_new(profile)
    if not args.secret_stdin:
        store.add(profile)
        print(f"Added profile {profile.name!r} ({profile.base_url}); no secret stored.")
        return
    secret = read_secret()
    secrets = _persistent_store(f"the secret cannot be kept, so {profile.name!r} was not added")
    save_profile(store, secrets, profile, secret, is_new=True)
    print(
        f"Added profile {profile.name!r} ({profile.base_url}); its secret is in the "
        f"{secrets.backend_name} keyring."
    )


def _list(args: argparse.Namespace) -> None:
    store = _loaded_store()
    secrets = open_secret_store()
    unknown_reason: str | None = None
    if isinstance(secrets, SessionSecretStore):
        unknown_reason = secrets.reason
    rows = [("NAME", "URL", "TLS", "PRODUCTION", "SECRET")]
    for profile in store.list():
        key = EMBEDDED_BROKER_SECRET if profile.embedded else profile.secret_key
        stored = "unknown"
        if unknown_reason is None:
            try:
                stored = "yes" if secrets.get(key) else "no"
            except SecretStoreError as exc:
                unknown_reason = str(exc)
        url = profile.base_url or "(the console's own adapter)"
        tls = f"ca {profile.ca_file}" if profile.tls == "ca" else profile.tls
        rows.append((profile.name, url, tls, "yes" if profile.production else "no", stored))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
    if unknown_reason is not None:
        print(
            f"{PROG}: note: secrets shown as unknown: {' '.join(unknown_reason.split())}",
            file=sys.stderr,
        )


def _remove(args: argparse.Namespace) -> None:
    store = _loaded_store()
    profile = store.get_by_name(args.name)
    if profile.embedded:
        raise CliError("the built-in Embedded profile cannot be removed")
    secrets = _persistent_store(
        f"its secret could not be deleted, so {profile.name!r} was not removed"
    )
    had_secret = secrets.get(profile.secret_key) is not None
    store.remove(profile.id, secrets)
    extra = " and its secret" if had_secret else " (it had no stored secret)"
    print(f"Removed profile {profile.name!r}{extra}.")


def _loaded_store() -> ProfileStore:
    store = ProfileStore()
    store.load()
    return store


def _persistent_store(consequence: str) -> SecretStore:
    """The OS keyring, or a CliError: a session store would lose the secret at exit."""
    secrets = open_secret_store()
    if not secrets.persistent:
        reason = (
            secrets.reason
            if isinstance(secrets, SessionSecretStore)
            else f"the {secrets.backend_name} store keeps secrets for this run only"
        )
        raise CliError(f"{reason}; {consequence}")
    return secrets


def checked_ca_file(value: str) -> str:
    """An absolute path to a file Python's TLS stack accepts as CA certificates."""
    path = Path(value).expanduser()
    if not path.is_file():
        raise CliError(f"--ca: {value!r} is not a file")
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise CliError(f"--ca: {value!r} holds no usable CA certificate ({exc})") from exc
    return str(path.resolve())


def read_secret() -> str:
    """The secret from stdin (a prompt without echo on a terminal), minus one trailing newline."""
    stream = sys.stdin
    if stream is None:
        raise CliError("--secret-stdin: there is no standard input")
    if stream.isatty():
        try:
            text = getpass.getpass("Broker secret: ")
        except EOFError:
            text = ""
    else:
        limit = 4 * MAX_SECRET_LENGTH + 2  # UTF-8 needs at most 4 bytes a character, plus CRLF
        data = stream.buffer.read(limit + 1)
        if len(data) > limit:
            raise CliError(
                f"--secret-stdin: the secret is longer than {MAX_SECRET_LENGTH} characters"
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CliError("--secret-stdin: the secret is not UTF-8 text") from exc
    return _checked_secret(text)


def _checked_secret(text: str) -> str:
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            text = text[: -len(ending)]
            break
    if not text:
        raise CliError("--secret-stdin: the secret is empty")
    if len(text) > MAX_SECRET_LENGTH:
        raise CliError(f"--secret-stdin: the secret is longer than {MAX_SECRET_LENGTH} characters")
    if not all(char.isprintable() for char in text):
        raise CliError(
            "--secret-stdin: the secret contains a line break or control character "
            "(only one trailing newline is removed)"
        )
    if text != text.strip():
        raise CliError("--secret-stdin: the secret starts or ends with a space")
    return text
