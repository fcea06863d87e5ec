"""Saving a profile together with its bearer secret: both are changed, or neither.

The settings live in the profiles file and the secret in the keyring; the console's dialog and
`tv-adapter-console profile add` both save through `save_profile`, so a failure on either side
never leaves a profile without its secret or a secret without its profile. (Removal has the
same rule and lives in `ProfileStore.remove`.) Blocking: run it off the GUI thread.
"""

from __future__ import annotations

from console.services.profiles import Profile, ProfileError, ProfileStore
from console.services.secrets import SecretStore, SecretStoreError


def save_profile(
    profiles: ProfileStore,
    secrets: SecretStore,
    profile: Profile,
    secret: str | None,
    *,
    is_new: bool,
) -> Profile:
    """Add or update `profile`, storing `secret` if one is given (None keeps the stored one).

    Raises `ProfileError` or `SecretStoreError`, with both stores as they were before.
    """
    key = profile.secret_key
    if is_new:
        profiles.check_new(profile)
        if secret:
            secrets.set(key, secret)
        try:
            return profiles.add(profile)
        except ProfileError:
            if secret:
                _forget(secrets, key)
            raise
    previous = secrets.get(key) if secret else None
    if secret:
        secrets.set(key, secret)
    try:
        return profiles.update(profile)
    except ProfileError:
        if secret:
            if previous:
                secrets.set(key, previous)
            else:
                _forget(secrets, key)
        raise


def _forget(secrets: SecretStore, key: str) -> None:
    try:
        secrets.delete(key)
    except SecretStoreError as exc:
        raise ProfileError(
            f"the profile was not saved, and the secret already stored for it could not be "
            f"removed again: {exc}"
        ) from exc
