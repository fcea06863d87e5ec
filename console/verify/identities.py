"""Each profile's test identity (who a verification run mints for), kept beside the profiles.

Not a secret: a user id, broker names and account ids, as in the source document's example.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapter_core.datadir import write_private_file
from adapter_core.token_request import TokenRequestError, validate_token_request
from console.paths import config_dir, ensure_dir
from console.verify.context import Identity


class IdentityError(Exception):
    """The identity is not a valid /generate/token body, or could not be kept."""


def identity_from_body(body: dict[str, Any]) -> Identity:
    """An identity from a /generate/token body, checked by the adapter's own rules."""
    try:
        request = validate_token_request(body)
    except TokenRequestError as exc:
        raise IdentityError(str(exc)) from None
    return Identity(request.user_id, request.broker_names, request.account_ids, request.is_verified)


class IdentityStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else config_dir() / "verify-identities.json"

    def _all(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return document if isinstance(document, dict) else {}

    def get(self, profile_id: str) -> Identity:
        """The profile's identity; the source document's example if none (or a bad one) is kept."""
        body = self._all().get(profile_id)
        if not isinstance(body, dict):
            return Identity()
        try:
            return identity_from_body(body)
        except IdentityError:
            return Identity()

    def set(self, profile_id: str, identity: Identity) -> None:
        document = self._all()
        document[profile_id] = identity.body()
        self._write(document)

    def forget(self, profile_id: str) -> None:
        """Drop a removed profile's identity."""
        document = self._all()
        if document.pop(profile_id, None) is not None:
            self._write(document)

    def _write(self, document: dict[str, Any]) -> None:
        try:
            ensure_dir(self.path.parent)
            write_private_file(self.path, json.dumps(document, indent=2).encode())
        except OSError as exc:
            raise IdentityError(
                f"Could not keep the test identity: {exc.strerror or exc}."
            ) from exc
