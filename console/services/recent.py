"""Recent /generate/token request bodies per profile, so an operator can mint again quickly.

Only the bodies are kept (userId, brokerNames, ctidTraderAccountIds, isVerified): they hold
no secret, so plain JSON is fine. Each entry is checked with the adapter's own validation on
load; a file that fails is moved aside, never overwritten, and the operator is told.
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from adapter_core.datadir import write_private_file
from adapter_core.token_request import (
    TokenRequest,
    TokenRequestError,
    parse_token_request_body,
    request_body,
)
from console.paths import data_dir, ensure_dir
from console.services.vault import set_aside

RECENT_FILE = "recent-token-requests.json"
DEFAULT_CAPACITY = 20
_VERSION = 1


class RecentError(Exception):
    """The recent-requests file could not be read or saved; the message is for the operator."""


def _parse(document: Any) -> dict[str, list[TokenRequest]]:
    """Raises ValueError for anything but what `RecentRequests` wrote."""
    if not isinstance(document, dict) or document.get("version") != _VERSION:
        raise ValueError("not a recent-requests file of a known version")
    profiles = document.get("profiles")
    if not isinstance(profiles, dict):
        raise ValueError("'profiles' is missing")
    parsed: dict[str, list[TokenRequest]] = {}
    for profile_id, bodies in profiles.items():
        if not isinstance(bodies, list):
            raise ValueError(f"the entry of profile {profile_id} is not a list")
        try:
            parsed[profile_id] = [
                parse_token_request_body(json.dumps(body).encode()) for body in bodies
            ]
        except TokenRequestError as exc:
            raise ValueError(f"a request of profile {profile_id} is invalid: {exc}") from None
    return parsed


class RecentRequests:
    """Newest-first, deduplicated, capped request bodies per profile, saved on every change.

    Call `load` once before anything else. A failed save raises `RecentError` but keeps the
    change in memory for this run. Safe to call from several threads.
    """

    def __init__(self, path: Path | None = None, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._path = path
        self._capacity = capacity
        self._requests: dict[str, builtins.list[TokenRequest]] = {}
        self._loaded = False
        self._read_only = False
        self._lock = threading.RLock()

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else data_dir() / RECENT_FILE

    def load(self) -> None:
        """Read the file; if it is unreadable, move it aside, start empty, raise RecentError."""
        with self._lock:
            self._requests = {}
            self._read_only = False
            self._loaded = True
            path = self.path
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                return
            except OSError as exc:
                self._read_only = True
                raise RecentError(
                    f"Recent requests cannot be read from {path}: {exc.strerror or exc}. "
                    "New ones are kept for this run only."
                ) from exc
            try:
                document = json.loads(raw)
            except (ValueError, RecursionError):
                self._set_aside(path, "it is not valid JSON")
            try:
                parsed = _parse(document)
            except ValueError as exc:
                self._set_aside(path, str(exc))
            self._requests = {
                profile: requests[: self._capacity] for profile, requests in parsed.items()
            }

    def _set_aside(self, path: Path, reason: str) -> NoReturn:
        try:
            aside = set_aside(path)
        except OSError as exc:
            self._read_only = True
            raise RecentError(
                f"Recent requests in {path} cannot be read ({reason}) and the file could not "
                f"be moved aside ({exc.strerror or exc}); new ones are kept for this run only."
            ) from exc
        raise RecentError(
            f"Recent requests could not be read ({reason}); the file was kept as {aside} "
            "and the list starts empty."
        )

    def _require_loaded(self) -> None:
        if not self._loaded:
            raise RuntimeError("RecentRequests.load() must be called first")

    def _save(self) -> None:
        if self._read_only:
            return
        path = self.path
        document = {
            "version": _VERSION,
            "profiles": {
                profile: [request_body(request) for request in requests]
                for profile, requests in self._requests.items()
                if requests
            },
        }
        try:
            ensure_dir(path.parent)
            write_private_file(path, json.dumps(document, indent=2).encode() + b"\n")
        except OSError as exc:
            raise RecentError(
                f"Recent requests could not be saved to {path}: {exc.strerror or exc}. "
                "They are kept for this run only."
            ) from exc

    def list(self, profile_id: str) -> builtins.list[TokenRequest]:
        """Newest first."""
        with self._lock:
            self._require_loaded()
            return builtins.list(self._requests.get(profile_id, ()))

    def remember(self, profile_id: str, request: TokenRequest | Mapping[str, Any]) -> None:
        """Put `request` first; an equal older entry moves up rather than repeating.

        A body mapping is validated by the adapter's own rules first (TokenRequestError), so
        nothing the adapter would refuse is offered again.
        """
        if not isinstance(request, TokenRequest):
            request = parse_token_request_body(json.dumps(dict(request)).encode())
        with self._lock:
            self._require_loaded()
            others = [r for r in self._requests.get(profile_id, ()) if r != request]
            self._requests[profile_id] = [request, *others][: self._capacity]
            self._save()

    def forget(self, profile_id: str, request: TokenRequest) -> None:
        with self._lock:
            self._require_loaded()
            current = self._requests.get(profile_id, [])
            if request in current:
                self._requests[profile_id] = [r for r in current if r != request]
                self._save()

    def forget_profile(self, profile_id: str) -> None:
        """Drop a deleted profile's history."""
        with self._lock:
            self._require_loaded()
            if self._requests.pop(profile_id, None) is not None:
                self._save()
