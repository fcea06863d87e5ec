"""The headless adapter's token keys on disk: a JSON key ring, mode 0600, replaced atomically."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from adapter_core.datadir import create_private_file, write_private_file
from adapter_core.tokens.keyring import KeyRing, KeyRingError


class KeyFileError(RuntimeError):
    """The key file is unusable; the message says what to do and never shows key material."""


def check_private(path: Path) -> None:
    """Refuse files that others can read, as ssh does with private keys."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path} can be read by other users (mode {stat.S_IMODE(mode):04o}); "
            f"run 'chmod 600 {path}' and start again"
        )


def load_key_ring(path: Path) -> KeyRing:
    try:
        check_private(path)
        return KeyRing.from_json(json.loads(path.read_bytes()))
    except FileNotFoundError as exc:
        raise KeyFileError(f"the token key file {path} does not exist") from exc
    except (OSError, ValueError, KeyRingError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise KeyFileError(f"cannot use the token key file {path}: {reason}") from exc


def load_or_create_key_ring(path: Path) -> tuple[KeyRing, bool]:
    """The ring in `path`, creating one with a fresh key if the file is absent."""
    ring = KeyRing.generate()
    created = create_private_file(path, _serialise(ring))
    return (ring, True) if created else (load_key_ring(path), False)


def save_key_ring(path: Path, ring: KeyRing) -> None:
    write_private_file(path, _serialise(ring))


def _serialise(ring: KeyRing) -> bytes:
    return json.dumps(ring.to_json(), indent=2).encode() + b"\n"
