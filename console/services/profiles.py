"""Connection profiles: which adapter the console talks to, and how.

Profiles live in `config_dir()/profiles.json`, private (0600 in a 0700 directory) and replaced
atomically. The file has no field for a secret: a profile's bearer secret lives only in the
keyring under `profile_key(id)`, keyed by the stable id so a rename never orphans it. Nothing
here imports Qt, so the command line (`console.cli`) can use it without a display.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import math
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from adapter_core.datadir import write_private_file
from console.paths import config_dir, ensure_dir
from console.services.secrets import SecretStore, SecretStoreError, profile_key

TlsMode = Literal["verify", "insecure", "ca"]
TLS_MODES: tuple[TlsMode, ...] = ("verify", "insecure", "ca")

PROFILES_FILE = "profiles.json"
FILE_VERSION = 1
EMBEDDED_PROFILE_ID = "embedded"
EMBEDDED_NAME = "Embedded"
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 600.0
MAX_NAME_LENGTH = 64
EMBEDDED_COLOUR = "#2e7d32"
PRODUCTION_COLOUR = "#c62828"
PALETTE = ("#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#5d4037", "#37474f")
"""Colours for new non-production profiles; red is kept for production."""


def default_colour(others: Iterable[Profile], *, production: bool = False) -> str:
    """The colour a new profile starts with: red for production, otherwise the first palette
    colour no other profile uses (the least used once all are, so they cycle).

    The colour is how an operator tells profiles apart at a glance, so two new profiles
    should not both start out blue.
    """
    if production:
        return PRODUCTION_COLOUR
    uses = Counter(profile.colour.lower() for profile in others)
    return min(PALETTE, key=lambda colour: uses[colour])


_FIELDS = (
    "id",
    "name",
    "base_url",
    "tls",
    "ca_file",
    "timeout",
    "colour",
    "production",
    "embedded",
)
_SECRET_LIKE = ("secret", "token", "password", "bearer", "key", "credential")
_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
_COLOUR_PATTERN = re.compile(r"#[0-9a-fA-F]{6}")

_T = TypeVar("_T")


class ProfileError(Exception):
    """A profile or the profiles file was refused; the message names the field or the file."""

    def __init__(self, problem: str, field: str | None = None) -> None:
        self.problem = problem
        self.field = field
        super().__init__(f"{field}: {problem}" if field else problem)


def check_base_url(url: object) -> None:
    """Refuse anything but an http(s) URL with a host, and URLs that would carry a credential."""
    if not isinstance(url, str):
        raise ProfileError(f"must be text, not {type(url).__name__}", "base_url")
    if not url:
        raise ProfileError("must not be empty", "base_url")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ProfileError(f"{url!r} contains spaces or control characters", "base_url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ProfileError(f"{url!r} is not a valid URL ({exc})", "base_url") from exc
    if parts.scheme not in ("http", "https"):
        raise ProfileError(f"{url!r} must start with http:// or https://", "base_url")
    if not parts.hostname:
        raise ProfileError(f"{url!r} has no host name", "base_url")
    if parts.username is not None or parts.password is not None:
        raise ProfileError(
            "must not contain a user name or password; the secret belongs in the keyring",
            "base_url",
        )
    if port == 0:
        raise ProfileError(f"{url!r} has port 0", "base_url")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ProfileError(f"{url!r} must not have a query (?...) or fragment (#...)", "base_url")


def normalise_base_url(url: str) -> str:
    """What an operator typed, checked, without surrounding spaces, trailing slashes or capitals
    in the host (so the same adapter typed twice compares equal)."""
    url = url.strip()
    check_base_url(url)
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.lower(), path=parts.path.rstrip("/")))


@dataclass(frozen=True)
class Profile:
    """One adapter to talk to. Immutable, and valid by construction: `__post_init__` checks."""

    id: str
    name: str
    base_url: str
    tls: TlsMode = "verify"
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    colour: str = PALETTE[0]
    production: bool = False
    embedded: bool = False

    def __post_init__(self) -> None:
        _check_profile(self)
        if isinstance(self.timeout, int):
            object.__setattr__(self, "timeout", float(self.timeout))

    @classmethod
    def create(
        cls,
        name: str,
        base_url: str,
        *,
        tls: TlsMode = "verify",
        ca_file: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        colour: str | None = None,
        production: bool = False,
        others: Iterable[Profile] = (),
    ) -> Profile:
        """A new remote profile with a fresh id, from what an operator typed.

        Without a `colour` it gets `default_colour` among `others` (the existing profiles).
        """
        if colour is None:
            colour = default_colour(others, production=production)
        return cls(
            id=uuid.uuid4().hex,
            name=name.strip(),
            base_url=normalise_base_url(base_url),
            tls=tls,
            ca_file=ca_file,
            timeout=timeout,
            colour=colour.lower(),
            production=production,
        )

    @property
    def secret_key(self) -> str:
        """Where this profile's bearer secret lives in the `SecretStore`."""
        return profile_key(self.id)

    def to_json(self) -> dict[str, Any]:
        document = dataclasses.asdict(self)
        if self.embedded:
            document["base_url"] = ""
        return document

    def same_settings(self, other: Profile) -> bool:
        """Equal apart from the id and the case of the name (what import calls 'already there')."""
        mine = {**self.to_json(), "id": None, "name": self.name.casefold()}
        theirs = {**other.to_json(), "id": None, "name": other.name.casefold()}
        return mine == theirs


def builtin_embedded(colour: str = EMBEDDED_COLOUR, timeout: float = DEFAULT_TIMEOUT) -> Profile:
    """The always-present profile of the adapter the console runs itself (URL set at run time)."""
    return Profile(
        id=EMBEDDED_PROFILE_ID,
        name=EMBEDDED_NAME,
        base_url="",
        colour=colour,
        timeout=timeout,
        embedded=True,
    )


def _check_profile(profile: Profile) -> None:
    """Every field of a profile, with an error that names the field.

    Fields are read as plain objects: profiles also come from JSON, whatever the type hints say.
    """
    fields: dict[str, object] = vars(profile)
    embedded, profile_id, tls, ca_file = (fields[f] for f in ("embedded", "id", "tls", "ca_file"))
    if not isinstance(embedded, bool):
        raise ProfileError("must be true or false", "embedded")
    if not isinstance(profile_id, str):
        raise ProfileError("must be text", "id")
    if embedded:
        if profile_id != EMBEDDED_PROFILE_ID:
            raise ProfileError(f"the built-in profile's id is {EMBEDDED_PROFILE_ID!r}", "id")
    elif profile_id == EMBEDDED_PROFILE_ID:
        raise ProfileError(f"{EMBEDDED_PROFILE_ID!r} is reserved for the built-in profile", "id")
    elif not _ID_PATTERN.fullmatch(profile_id):
        raise ProfileError(f"{profile_id!r} is not 32 lower-case hex digits (a uuid4)", "id")
    check_name(fields["name"])
    if not (embedded and fields["base_url"] == ""):
        check_base_url(fields["base_url"])
    if tls not in TLS_MODES:
        raise ProfileError(f"must be one of {', '.join(TLS_MODES)}, not {tls!r}", "tls")
    if tls == "ca":
        if not isinstance(ca_file, str) or not ca_file:
            raise ProfileError("a CA file is required when tls is 'ca'", "ca_file")
        if not Path(ca_file).is_absolute():
            raise ProfileError(f"{ca_file!r} must be an absolute path", "ca_file")
    elif ca_file is not None:
        raise ProfileError(f"is only used when tls is 'ca' (tls is {tls!r})", "ca_file")
    timeout = fields["timeout"]
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise ProfileError(
            f"must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}, not {timeout!r}",
            "timeout",
        )
    colour = fields["colour"]
    if not isinstance(colour, str) or not _COLOUR_PATTERN.fullmatch(colour):
        raise ProfileError(f"must look like #rrggbb, not {colour!r}", "colour")
    if not isinstance(fields["production"], bool):
        raise ProfileError("must be true or false", "production")
    if embedded:
        builtin = {"name": EMBEDDED_NAME, "tls": "verify", "ca_file": None, "production": False}
        for field, value in builtin.items():
            if fields[field] != value:
                raise ProfileError(
                    f"the built-in Embedded profile's {field} is always {value!r}", field
                )


def check_name(name: object) -> None:
    if not isinstance(name, str):
        raise ProfileError("must be text", "name")
    if not name.strip():
        raise ProfileError("must not be empty", "name")
    if name != name.strip():
        raise ProfileError(f"{name!r} starts or ends with spaces", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise ProfileError(f"is longer than {MAX_NAME_LENGTH} characters", "name")
    if not all(char.isprintable() for char in name):
        raise ProfileError(f"{name!r} contains control characters", "name")


def _profile_from_json(document: object, where: str, *, new_id_if_missing: bool) -> Profile:
    """One profile from parsed JSON; errors say where (file and position) and which field."""
    if not isinstance(document, dict):
        raise ProfileError(f"{where}: must be a JSON object")
    for field in document:
        if field in _FIELDS:
            continue
        if any(word in str(field).lower() for word in _SECRET_LIKE):
            raise ProfileError(
                f"{where}: has a field {field!r}; profiles never carry a secret (secrets live "
                "only in the OS keyring), so this file is refused"
            )
        raise ProfileError(f"{where}: unknown field {field!r}")
    values = dict(document)
    if "id" not in values and new_id_if_missing:
        values["id"] = uuid.uuid4().hex
    for required in ("id", "name", "base_url"):
        if required not in values:
            raise ProfileError(f"{where}: the field {required!r} is missing")
    label = f"{where} ({values['name']!r})" if isinstance(values["name"], str) else where
    try:
        return Profile(**values)
    except ProfileError as exc:
        raise ProfileError(f"{label}: {exc}") from exc


def _read_document(path: Path, what: str) -> list[Any]:
    """The "profiles" list of a versioned JSON file; any defect is a ProfileError naming it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"{what} {path} cannot be read: {exc.strerror or exc}") from exc
    advice = "fix or move the file; the console does not overwrite it"
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{what} {path} is not UTF-8 text; {advice}") from exc
    except json.JSONDecodeError as exc:
        raise ProfileError(
            f"{what} {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); {advice}"
        ) from exc
    except RecursionError as exc:
        raise ProfileError(f"{what} {path} is nested too deeply; {advice}") from exc
    if not isinstance(document, dict):
        raise ProfileError(f"{what} {path} must hold a JSON object; {advice}")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProfileError(f"{what} {path} has no integer 'version' field; {advice}")
    if version > FILE_VERSION:
        raise ProfileError(
            f"{what} {path} was written by a newer console (version {version}); this one "
            f"reads version {FILE_VERSION}"
        )
    if version < 1:
        raise ProfileError(f"{what} {path} has an impossible version {version}; {advice}")
    unknown = sorted(set(document) - {"version", "profiles"})
    if unknown:
        raise ProfileError(f"{what} {path} has unknown top-level fields {unknown}; {advice}")
    profiles = document.get("profiles")
    if not isinstance(profiles, list):
        raise ProfileError(f"{what} {path} has no 'profiles' list; {advice}")
    return profiles


def _serialise(profiles: Iterable[Profile]) -> bytes:
    document = {"version": FILE_VERSION, "profiles": [p.to_json() for p in profiles]}
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


@dataclass(frozen=True)
class ImportOutcome:
    """What happened to one profile of an import file."""

    source_name: str
    action: Literal["added", "renamed", "skipped"]
    detail: str
    profile: Profile | None = None

    def describe(self) -> str:
        return f"{self.source_name!r}: {self.detail}"


@dataclass(frozen=True)
class ImportReport:
    outcomes: tuple[ImportOutcome, ...]

    @property
    def added(self) -> list[Profile]:
        """Every profile now in the store because of this import (renamed ones included)."""
        return [o.profile for o in self.outcomes if o.profile is not None]

    @property
    def skipped(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.action == "skipped"]

    def lines(self) -> list[str]:
        return [outcome.describe() for outcome in self.outcomes]


class ProfileStore:
    """The profiles file. Call `load` first; every change re-reads the file, then saves.

    Re-reading before each change means a profile added meanwhile by `tv-adapter-console
    profile add` (another process) is kept rather than overwritten. A refused change raises
    ProfileError and leaves both the file and this object as they were.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._profiles: dict[str, Profile] = {}
        self._loaded = False
        self._lock = threading.RLock()

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else config_dir() / PROFILES_FILE

    def load(self) -> None:
        """Read the file: missing means only the built-in profile; corrupt raises ProfileError."""
        with self._lock:
            self._profiles = self._read()
            self._loaded = True

    def list(self) -> builtins.list[Profile]:
        """The built-in Embedded profile first, then the others in the order they were added."""
        with self._lock:
            self._require_loaded()
            return builtins.list(self._profiles.values())

    def get(self, profile_id: str) -> Profile:
        with self._lock:
            self._require_loaded()
            try:
                return self._profiles[profile_id]
            except KeyError:
                raise ProfileError(f"there is no profile with id {profile_id!r}") from None

    def find_by_name(self, name: str) -> Profile | None:
        """Names are unique ignoring case, so at most one matches."""
        with self._lock:
            self._require_loaded()
            return _by_name(self._profiles, name)

    def get_by_name(self, name: str) -> Profile:
        found = self.find_by_name(name)
        if found is None:
            raise ProfileError(f"there is no profile named {name!r}")
        return found

    def check_new(self, profile: Profile) -> None:
        """Raise the ProfileError `add` would raise, without saving (to validate a form early)."""
        with self._lock:
            self._require_loaded()
            _check_addable(self._profiles, profile)

    def add(self, profile: Profile) -> Profile:
        def change(profiles: dict[str, Profile]) -> Profile:
            _check_addable(profiles, profile)
            profiles[profile.id] = profile
            return profile

        return self._change(change)

    def update(self, profile: Profile) -> Profile:
        """Replace the profile with the same id. The built-in one takes only colour and timeout."""

        def change(profiles: dict[str, Profile]) -> Profile:
            current = profiles.get(profile.id)
            if current is None:
                raise ProfileError(f"there is no profile with id {profile.id!r} to update")
            if current.embedded:
                stored = builtin_embedded(profile.colour, profile.timeout)
            else:
                _check_name_free(profiles, profile.name, except_id=profile.id)
                stored = profile
            profiles[profile.id] = stored
            return stored

        return self._change(change)

    def duplicate(self, profile_id: str) -> Profile:
        """A copy with a new id named "X copy", in a colour of its own (`default_colour`) so
        the two are not mistaken for each other. The secret is not copied: a copy is usually
        pointed at another adapter, and an old secret sent there would leak it."""

        def change(profiles: dict[str, Profile]) -> Profile:
            original = _existing(profiles, profile_id)
            if original.embedded:
                raise ProfileError("the built-in Embedded profile cannot be duplicated")
            copy = dataclasses.replace(
                original,
                id=uuid.uuid4().hex,
                name=_free_name(profiles, original.name, "copy"),
                colour=default_colour(profiles.values(), production=original.production),
            )
            profiles[copy.id] = copy
            return copy

        return self._change(change)

    def remove(self, profile_id: str, secrets: SecretStore) -> Profile:
        """Remove a profile and its secret, both or neither."""
        with self._lock:
            self._require_loaded()
            profiles = self._read()
            profile = _existing(profiles, profile_id)
            if profile.embedded:
                raise ProfileError("the built-in Embedded profile cannot be removed")
            key = profile.secret_key
            try:
                previous = secrets.get(key)
                secrets.delete(key)
            except SecretStoreError as exc:
                raise ProfileError(
                    f"profile {profile.name!r} was not removed: its secret could not be "
                    f"deleted: {exc}"
                ) from exc
            del profiles[profile_id]
            try:
                self._write(profiles)
            except ProfileError as exc:
                if previous is not None:
                    try:
                        secrets.set(key, previous)
                    except SecretStoreError as restore:
                        raise ProfileError(
                            f"{exc}; and its secret, already deleted, could not be put back: "
                            f"{restore}"
                        ) from exc
                raise
            self._profiles = profiles
            return profile

    def export(self, path: Path) -> int:
        """Write the remote profiles (never the built-in one, never a secret); return how many."""
        with self._lock:
            self._require_loaded()
            remote = [p for p in self._profiles.values() if not p.embedded]
        if path.resolve() == self.path.resolve():
            raise ProfileError(f"{path} is the profiles file itself; export to another file")
        try:
            write_private_file(path, _serialise(remote))
        except OSError as exc:
            raise ProfileError(f"{path} could not be written: {exc.strerror or exc}") from exc
        return len(remote)

    def import_(
        self, path: Path, *, on_duplicate_name: Literal["rename", "skip"] = "rename"
    ) -> ImportReport:
        """Add the profiles of an export file; all or nothing, with a line per profile.

        A profile identical to one already here (apart from id and letter case) is skipped; one
        whose name is taken by a different profile is renamed "X (imported)" or skipped, as
        asked; a clashing or missing id is replaced by a new one.
        """
        entries = _read_document(path, "The import file")
        incoming = [
            _profile_from_json(entry, f"{path}: profile {number}", new_id_if_missing=True)
            for number, entry in enumerate(entries, start=1)
        ]

        def change(profiles: dict[str, Profile]) -> ImportReport:
            outcomes = [_import_one(profiles, p, on_duplicate_name) for p in incoming]
            return ImportReport(tuple(outcomes))

        return self._change(change)

    def _change(self, change: Callable[[dict[str, Profile]], _T]) -> _T:
        with self._lock:
            self._require_loaded()
            profiles = self._read()
            result = change(profiles)
            self._write(profiles)
            self._profiles = profiles
            return result

    def _read(self) -> dict[str, Profile]:
        path = self.path
        if not path.exists():
            return {EMBEDDED_PROFILE_ID: builtin_embedded()}
        entries = _read_document(path, "The profiles file")
        profiles: dict[str, Profile] = {}
        for number, entry in enumerate(entries, start=1):
            where = f"The profiles file {path}: profile {number}"
            profile = _profile_from_json(entry, where, new_id_if_missing=False)
            if profile.embedded and isinstance(entry, dict) and entry.get("base_url") != "":
                raise ProfileError(
                    f"{where}: the Embedded profile's base_url is set at run time and must be "
                    "empty in the file"
                )
            if profile.id in profiles:
                raise ProfileError(f"{where}: the id {profile.id!r} appears twice")
            clash = _by_name(profiles, profile.name)
            if clash is not None:
                raise ProfileError(
                    f"{where}: the name {profile.name!r} is already used by {clash.name!r}"
                )
            profiles[profile.id] = profile
        embedded = profiles.pop(EMBEDDED_PROFILE_ID, None) or builtin_embedded()
        if _by_name(profiles, EMBEDDED_NAME) is not None:
            raise ProfileError(
                f"The profiles file {path}: the name {EMBEDDED_NAME!r} belongs to the built-in "
                "profile"
            )
        return {EMBEDDED_PROFILE_ID: embedded, **profiles}

    def _write(self, profiles: dict[str, Profile]) -> None:
        path = self.path
        try:
            ensure_dir(path.parent).chmod(0o700)
            write_private_file(path, _serialise(profiles.values()))
        except OSError as exc:
            raise ProfileError(
                f"The profiles file {path} could not be saved: {exc.strerror or exc}; "
                "nothing was changed"
            ) from exc

    def _require_loaded(self) -> None:
        if not self._loaded:
            raise RuntimeError("ProfileStore.load() must be called first")


def _by_name(profiles: dict[str, Profile], name: str) -> Profile | None:
    wanted = name.strip().casefold()
    return next((p for p in profiles.values() if p.name.casefold() == wanted), None)


def _existing(profiles: dict[str, Profile], profile_id: str) -> Profile:
    try:
        return profiles[profile_id]
    except KeyError:
        raise ProfileError(f"there is no profile with id {profile_id!r}") from None


def _check_name_free(profiles: dict[str, Profile], name: str, except_id: str | None) -> None:
    clash = _by_name(profiles, name)
    if clash is not None and clash.id != except_id:
        raise ProfileError(
            f"{name!r} is already used by the profile {clash.name!r} (names ignore case)", "name"
        )


def _check_addable(profiles: dict[str, Profile], profile: Profile) -> None:
    if profile.embedded:
        raise ProfileError("the built-in Embedded profile is always present and cannot be added")
    if profile.id in profiles:
        raise ProfileError(f"a profile with id {profile.id!r} already exists", "id")
    _check_name_free(profiles, profile.name, except_id=None)


def _free_name(profiles: dict[str, Profile], base: str, word: str) -> str:
    """ "X copy", then "X copy 2", ...: the first unused name, shortening X if needed."""
    counter = 1
    while True:
        suffix = f" {word}" if counter == 1 else f" {word} {counter}"
        candidate = base[: MAX_NAME_LENGTH - len(suffix)].rstrip() + suffix
        if _by_name(profiles, candidate) is None:
            return candidate
        counter += 1


def _import_one(
    profiles: dict[str, Profile], incoming: Profile, on_duplicate_name: Literal["rename", "skip"]
) -> ImportOutcome:
    name = incoming.name
    if incoming.embedded:
        return ImportOutcome(
            name, "skipped", "skipped: the built-in Embedded profile is never imported"
        )
    same_name = _by_name(profiles, name)
    if same_name is not None and same_name.same_settings(incoming):
        return ImportOutcome(name, "skipped", f"skipped: already present as {same_name.name!r}")
    notes: builtins.list[str] = []
    action: Literal["added", "renamed"] = "added"
    if same_name is not None:
        if on_duplicate_name == "skip":
            return ImportOutcome(
                name, "skipped", f"skipped: a different profile named {same_name.name!r} exists"
            )
        incoming = dataclasses.replace(incoming, name=_free_name(profiles, name, "(imported)"))
        action = "renamed"
        notes.append(
            f"added as {incoming.name!r} because a different profile named "
            f"{same_name.name!r} exists"
        )
    if incoming.id in profiles:
        incoming = dataclasses.replace(incoming, id=uuid.uuid4().hex)
        notes.append("given a new id because its id is already used")
    profiles[incoming.id] = incoming
    detail = "; ".join(notes) if notes else "added"
    if action == "added" and notes:
        detail = f"added, {detail}"
    return ImportOutcome(name, action, detail, incoming)
