"""Profiles: the built-in one, validation, a private atomic file, export/import without secrets."""

from __future__ import annotations

import json
import math
import re
import stat
from pathlib import Path
from typing import Any

import pytest

import console.services.profiles as profiles_module
from console.paths import config_dir
from console.services.profiles import (
    EMBEDDED_PROFILE_ID,
    PALETTE,
    PRODUCTION_COLOUR,
    PROFILES_FILE,
    Profile,
    ProfileError,
    ProfileStore,
    builtin_embedded,
    default_colour,
)
from console.services.secrets import (
    KeyringSecretStore,
    SecretStoreError,
    SessionSecretStore,
    profile_key,
)
from tests.support.keyring_env import MemoryKeyring

FIELDS = {"id", "name", "base_url", "tls", "ca_file", "timeout", "colour", "production", "embedded"}


def loaded(path: Path | None = None) -> ProfileStore:
    store = ProfileStore(path)
    store.load()
    return store


def remote(name: str = "Staging", url: str = "https://staging.example.com", **kw: Any) -> Profile:
    return Profile.create(name, url, **kw)


def file_document(store: ProfileStore) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(store.path.read_text(encoding="utf-8"))
    return document


class FailingSecrets(SessionSecretStore):
    """A secret store whose delete fails, like a keyring that went away mid-operation."""

    def __init__(self) -> None:
        super().__init__("test")

    def delete(self, key: str) -> None:
        raise SecretStoreError("The keyring refused to delete the secret: gone")


# The built-in profile


def test_without_a_file_there_is_only_the_builtin_profile_and_nothing_is_written(
    console_home: Path,
) -> None:
    store = loaded()
    assert store.path == config_dir() / PROFILES_FILE
    assert str(store.path).startswith(str(console_home))
    [embedded] = store.list()
    assert embedded.id == EMBEDDED_PROFILE_ID == "embedded"
    assert (embedded.name, embedded.base_url, embedded.tls) == ("Embedded", "", "verify")
    assert embedded.embedded
    assert not embedded.production
    assert embedded.colour.startswith("#")
    assert not store.path.exists()


def test_the_builtin_profile_cannot_be_removed_duplicated_or_added(tmp_path: Path) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    with pytest.raises(ProfileError, match="cannot be removed"):
        store.remove(EMBEDDED_PROFILE_ID, SessionSecretStore("test"))
    with pytest.raises(ProfileError, match="cannot be duplicated"):
        store.duplicate(EMBEDDED_PROFILE_ID)
    with pytest.raises(ProfileError, match="always present"):
        store.add(store.get(EMBEDDED_PROFILE_ID))
    assert [p.id for p in loaded(store.path).list()] == [EMBEDDED_PROFILE_ID]


def test_the_builtin_profile_keeps_colour_and_timeout_but_never_its_run_time_url(
    tmp_path: Path,
) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    running = Profile(
        id="embedded",
        name="Embedded",
        base_url="http://127.0.0.1:41234",
        colour="#123456",
        timeout=3,
        embedded=True,
    )
    store.update(running)
    [entry] = file_document(store)["profiles"]
    assert entry["base_url"] == ""
    again = loaded(store.path).get(EMBEDDED_PROFILE_ID)
    assert (again.colour, again.timeout, again.base_url) == ("#123456", 3.0, "")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "Local"}, "name"),
        ({"tls": "insecure"}, "tls"),
        ({"production": True}, "production"),
        ({"embedded": False}, "id"),
        ({"id": "0" * 32}, "id"),
    ],
)
def test_the_builtin_profile_keeps_its_identity(changes: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {
        "id": "embedded",
        "name": "Embedded",
        "base_url": "",
        "embedded": True,
    }
    with pytest.raises(ProfileError) as caught:
        Profile(**{**values, **changes})
    assert caught.value.field == field


# Creating and validating


def test_create_gives_a_fresh_uuid4_hex_id_and_tidies_what_was_typed() -> None:
    first = Profile.create("  Staging ", " HTTPS://Staging.Example.com:8443/base/ ")
    second = Profile.create("Staging", "https://staging.example.com")
    assert len(first.id) == 32
    assert int(first.id, 16) >= 0
    assert first.id != second.id
    assert first.name == "Staging"
    assert first.base_url == "https://staging.example.com:8443/base"
    assert (first.tls, first.ca_file, first.timeout, first.production) == (
        "verify",
        None,
        10,
        False,
    )
    assert first.secret_key == profile_key(first.id)
    assert Profile.create("P", "https://p.example.com", production=True).colour == "#c62828"


# Colours


def test_each_new_profile_starts_in_the_first_colour_nobody_uses() -> None:
    existing = [builtin_embedded()]
    for expected in PALETTE:
        profile = Profile.create(f"P{len(existing)}", "https://p.example.com", others=existing)
        assert profile.colour == expected
        existing.append(profile)
    assert len({profile.colour for profile in existing}) == len(PALETTE) + 1


def test_colours_cycle_once_every_palette_colour_is_used() -> None:
    existing = [remote(f"P{n}", colour=colour) for n, colour in enumerate(PALETTE)]
    assert default_colour(existing) == PALETTE[0]
    existing.append(remote("Again", colour=PALETTE[0]))
    assert default_colour(existing) == PALETTE[1]


def test_a_freed_colour_is_offered_again_and_case_does_not_matter() -> None:
    existing = [remote("A", colour=PALETTE[0].upper()), remote("C", colour=PALETTE[2])]
    assert default_colour(existing) == PALETTE[1]


def test_production_profiles_default_to_red_and_explicit_colours_win() -> None:
    existing = [remote("A", colour=PALETTE[0])]
    assert default_colour(existing, production=True) == PRODUCTION_COLOUR
    assert (
        Profile.create("Prod", "https://p.example.com", production=True, others=existing).colour
        == PRODUCTION_COLOUR
    )
    chosen = Profile.create("Mine", "https://m.example.com", colour="#ABCDEF", others=existing)
    assert chosen.colour == "#abcdef"


def test_red_is_never_a_default_for_an_ordinary_profile() -> None:
    existing = [remote(f"P{n}", colour=colour) for n, colour in enumerate(PALETTE)] * 3
    assert PRODUCTION_COLOUR not in PALETTE
    assert default_colour(existing) != PRODUCTION_COLOUR


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"name": ""}, "name", "empty"),
        ({"name": "   "}, "name", "empty"),
        ({"name": "x" * 65}, "name", "longer than 64"),
        ({"name": "a\tb"}, "name", "control"),
        ({"url": ""}, "base_url", "empty"),
        ({"url": "staging.example.com"}, "base_url", "http:// or https://"),
        ({"url": "ftp://staging.example.com"}, "base_url", "http:// or https://"),
        ({"url": "https://"}, "base_url", "no host"),
        ({"url": "https://:8443"}, "base_url", "no host"),
        ({"url": "https://user:pw@example.com"}, "base_url", "user name or password"),
        ({"url": "https://example.com/?a=1"}, "base_url", "query"),
        ({"url": "https://example.com/#top"}, "base_url", "fragment"),
        ({"url": "https://example.com:99999"}, "base_url", "not a valid URL"),
        ({"url": "https://exa mple.com"}, "base_url", "spaces"),
        ({"tls": "maybe"}, "tls", "verify, insecure, ca"),
        ({"tls": "ca"}, "ca_file", "required"),
        ({"tls": "ca", "ca_file": "relative/ca.pem"}, "ca_file", "absolute"),
        ({"tls": "insecure", "ca_file": "/etc/ca.pem"}, "ca_file", "only used"),
        ({"timeout": 0}, "timeout", "above 0"),
        ({"timeout": -1.5}, "timeout", "above 0"),
        ({"timeout": math.nan}, "timeout", "above 0"),
        ({"timeout": math.inf}, "timeout", "above 0"),
        ({"timeout": 601}, "timeout", "at most 600"),
        ({"timeout": True}, "timeout", "seconds"),
        ({"colour": "red"}, "colour", "#rrggbb"),
        ({"colour": "#12345g"}, "colour", "#rrggbb"),
    ],
)
def test_bad_fields_are_refused_with_the_field_named(
    tmp_path: Path, kwargs: dict[str, Any], field: str, fragment: str
) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    store.add(remote("Existing"))
    before = store.path.read_bytes()
    name = kwargs.pop("name", "New")
    url = kwargs.pop("url", "https://new.example.com")
    with pytest.raises(ProfileError, match=re.escape(fragment)) as caught:
        store.add(Profile.create(name, url, **kwargs))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert store.path.read_bytes() == before
    assert [p.name for p in store.list()] == ["Embedded", "Existing"]


@pytest.mark.parametrize("name", ["staging", "STAGING", " Staging ", "Embedded", "embedded"])
def test_names_are_unique_ignoring_case(tmp_path: Path, name: str) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    store.add(remote("Staging"))
    with pytest.raises(ProfileError, match="already used") as caught:
        store.add(remote(name, "https://other.example.com"))
    assert caught.value.field == "name"
    with pytest.raises(ProfileError, match="already used"):
        store.check_new(remote(name, "https://other.example.com"))
    assert len(store.list()) == 2


# The file


def test_profiles_persist_privately_with_a_version_and_no_secret_field(tmp_path: Path) -> None:
    path = tmp_path / "config" / PROFILES_FILE
    store = loaded(path)
    added = store.add(remote(tls="ca", ca_file="/etc/ssl/ca.pem", timeout=2.5, production=True))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    document = file_document(store)
    assert document["version"] == 1
    assert [set(entry) for entry in document["profiles"]] == [FIELDS, FIELDS]
    again = loaded(path)
    assert again.list() == store.list()
    assert again.get(added.id) == added
    assert not list(path.parent.glob(".*"))  # no temporary file left behind


def test_an_existing_config_directory_is_made_private(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    loaded(directory / PROFILES_FILE).add(remote())
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_lookup_by_id_and_by_name(tmp_path: Path) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    added = store.add(remote("Staging"))
    assert store.get(added.id) == added
    assert store.get_by_name("sTaGiNg") == added
    assert store.find_by_name("nope") is None
    with pytest.raises(ProfileError, match="no profile with id 'nope'"):
        store.get("nope")
    with pytest.raises(ProfileError, match="no profile named 'nope'"):
        store.get_by_name("nope")


def test_the_store_must_be_loaded_first() -> None:
    with pytest.raises(RuntimeError, match="load"):
        ProfileStore().list()


def test_a_change_made_by_another_process_meanwhile_is_kept(tmp_path: Path) -> None:
    path = tmp_path / PROFILES_FILE
    gui, cli = loaded(path), loaded(path)
    from_cli = cli.add(remote("From CLI", "https://cli.example.com"))
    from_gui = gui.add(remote("From GUI", "https://gui.example.com"))
    assert [p.id for p in loaded(path).list()][1:] == [from_cli.id, from_gui.id]
    assert gui.get(from_cli.id) == from_cli
    with pytest.raises(ProfileError, match="already used"):
        gui.add(remote("from cli", "https://x.example.com"))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON (line 1"),
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "must hold a JSON object"),
        (b'{"profiles": []}', "no integer 'version'"),
        (b'{"version": "1", "profiles": []}', "no integer 'version'"),
        (b'{"version": 2, "profiles": []}', "newer console (version 2)"),
        (b'{"version": 1}', "no 'profiles' list"),
        (b'{"version": 1, "profiles": [], "extra": 1}', "unknown top-level fields"),
        (b'{"version": 1, "profiles": [3]}', "profile 1: must be a JSON object"),
        (b'{"version": 1, "profiles": [{"name": "A", "base_url": "https://a"}]}', "'id'"),
    ],
)
def test_a_corrupt_file_is_an_error_naming_it_and_is_never_overwritten(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / PROFILES_FILE
    path.write_bytes(content)
    store = ProfileStore(path)
    with pytest.raises(ProfileError, match=re.escape(fragment)) as caught:
        store.load()
    assert str(path) in str(caught.value)
    with pytest.raises(RuntimeError, match="load"):
        store.add(remote())
    assert path.read_bytes() == content


GOOD = remote("Good", "https://good.example.com").to_json()
EMBEDDED_ENTRY = Profile(id="embedded", name="Embedded", base_url="", embedded=True).to_json()


def entry(**overrides: Any) -> dict[str, Any]:
    return {**GOOD, **overrides}


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        ([entry(secret="hunter2")], "never carry a secret"),
        ([entry(bearerToken="x")], "never carry a secret"),
        ([entry(comment="x")], "unknown field 'comment'"),
        ([entry(base_url="ftp://x")], "profile 1 ('Good'): base_url:"),
        ([entry(timeout="10")], "timeout:"),
        ([entry(production="yes")], "production:"),
        ([entry(id="not-hex")], "id:"),
        ([entry(), entry(name="Other")], "appears twice"),
        ([entry(), entry(id="f" * 32, name="GOOD")], "already used"),
        ([entry(id="f" * 32, name="embedded")], "belongs to the built-in"),
        ([{**EMBEDDED_ENTRY, "base_url": "http://127.0.0.1:1"}], "must be empty in the file"),
    ],
)
def test_a_file_with_a_bad_profile_is_refused_whole(
    tmp_path: Path, entries: list[dict[str, Any]], fragment: str
) -> None:
    path = tmp_path / PROFILES_FILE
    content = json.dumps({"version": 1, "profiles": entries}).encode()
    path.write_bytes(content)
    with pytest.raises(ProfileError, match=re.escape(fragment)) as caught:
        loaded(path)
    assert str(path) in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert path.read_bytes() == content


def test_a_failed_save_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    kept = store.add(remote("Kept"))

    def refuse(path: Path, content: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(profiles_module, "write_private_file", refuse)
    with pytest.raises(ProfileError, match="could not be saved: No space left"):
        store.add(remote("Lost", "https://lost.example.com"))
    assert [p.name for p in store.list()] == ["Embedded", "Kept"]
    monkeypatch.undo()
    assert loaded(store.path).list() == [store.get(EMBEDDED_PROFILE_ID), kept]


# Update, duplicate, remove


def test_update_renames_and_keeps_names_unique(tmp_path: Path) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    staging = store.add(remote("Staging"))
    store.add(remote("Prod", "https://prod.example.com"))
    renamed = store.update(Profile(**{**staging.to_json(), "name": "STAGING", "timeout": 30}))
    assert loaded(store.path).get(staging.id) == renamed
    with pytest.raises(ProfileError, match="already used") as caught:
        store.update(Profile(**{**staging.to_json(), "name": "prod"}))
    assert caught.value.field == "name"
    with pytest.raises(ProfileError, match="no profile with id"):
        store.update(remote("Unknown", "https://u.example.com"))


def test_duplicate_gets_a_new_id_and_a_copy_name_but_not_the_secret(tmp_path: Path) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    secrets = KeyringSecretStore(MemoryKeyring())
    original = store.add(remote("Staging", production=True, timeout=4))
    secrets.set(original.secret_key, "s3cret")
    first = store.duplicate(original.id)
    second = store.duplicate(original.id)
    assert (first.name, second.name) == ("Staging copy", "Staging copy 2")
    assert len({original.id, first.id, second.id}) == 3
    assert (first.base_url, first.production, first.timeout) == (original.base_url, True, 4)
    assert secrets.get(first.secret_key) is None
    long_name = store.add(remote("L" * 64, "https://l.example.com"))
    assert store.duplicate(long_name.id).name == "L" * 59 + " copy"


def test_a_duplicate_gets_a_colour_of_its_own(tmp_path: Path) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    original = store.add(remote("Staging", colour=PALETTE[0]))
    copy = store.duplicate(original.id)
    assert copy.colour == PALETTE[1]
    production = store.add(remote("Prod", "https://prod.example.com", production=True))
    assert store.duplicate(production.id).colour == PRODUCTION_COLOUR


def test_remove_deletes_the_profile_and_its_secret(tmp_path: Path) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    backend = MemoryKeyring()
    secrets = KeyringSecretStore(backend)
    doomed = store.add(remote("Doomed"))
    kept = store.add(remote("Kept", "https://kept.example.com"))
    secrets.set(doomed.secret_key, "doomed-secret")
    secrets.set(kept.secret_key, "kept-secret")
    assert store.remove(doomed.id, secrets) == doomed
    assert secrets.get(doomed.secret_key) is None
    assert secrets.get(kept.secret_key) == "kept-secret"
    assert [p.id for p in loaded(store.path).list()] == [EMBEDDED_PROFILE_ID, kept.id]
    with pytest.raises(ProfileError, match="no profile with id"):
        store.remove(doomed.id, secrets)
    store.remove(kept.id, SessionSecretStore("no keyring"))  # no secret there: still removed


def test_remove_changes_nothing_when_the_secret_cannot_be_deleted(tmp_path: Path) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    profile = store.add(remote())
    with pytest.raises(ProfileError, match="was not removed: its secret could not be deleted"):
        store.remove(profile.id, FailingSecrets())
    assert loaded(store.path).get(profile.id) == profile


def test_remove_puts_the_secret_back_when_the_file_cannot_be_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    secrets = KeyringSecretStore(MemoryKeyring())
    profile = store.add(remote())
    secrets.set(profile.secret_key, "keep-me")

    def refuse(path: Path, content: bytes) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(profiles_module, "write_private_file", refuse)
    with pytest.raises(ProfileError, match="Read-only file system"):
        store.remove(profile.id, secrets)
    assert secrets.get(profile.secret_key) == "keep-me"
    assert store.get(profile.id) == profile


# Export and import


def test_export_writes_remote_profiles_only_and_never_a_secret(tmp_path: Path) -> None:
    store = loaded(tmp_path / "config" / PROFILES_FILE)
    secrets = KeyringSecretStore(MemoryKeyring())
    a = store.add(remote("A", "https://a.example.com"))
    b = store.add(remote("B", "https://b.example.com", tls="insecure", production=True))
    for profile in (a, b):
        secrets.set(profile.secret_key, f"secret-of-{profile.name}-{profile.id}")
    target = tmp_path / "export.json"
    assert store.export(target) == 2
    content = target.read_text(encoding="utf-8")
    assert "secret-of" not in content
    document = json.loads(content)
    assert document["version"] == 1
    assert [p["name"] for p in document["profiles"]] == ["A", "B"]
    assert all(set(p) == FIELDS and not p["embedded"] for p in document["profiles"])
    with pytest.raises(ProfileError, match="profiles file itself"):
        store.export(store.path)
    with pytest.raises(ProfileError, match="could not be written"):
        store.export(tmp_path / "missing-dir" / "export.json")


def test_import_into_a_fresh_store_keeps_ids_and_settings(tmp_path: Path) -> None:
    source = loaded(tmp_path / "a" / PROFILES_FILE)
    a = source.add(remote("A", "https://a.example.com", tls="ca", ca_file="/etc/ca.pem"))
    b = source.add(remote("B", "https://b.example.com", production=True))
    source.export(tmp_path / "export.json")
    target = loaded(tmp_path / "b" / PROFILES_FILE)
    report = target.import_(tmp_path / "export.json")
    assert report.added == [a, b]
    assert report.lines() == ["'A': added", "'B': added"]
    assert loaded(target.path).list()[1:] == [a, b]


def test_import_skips_identical_profiles_renames_different_ones_and_reissues_ids(
    tmp_path: Path,
) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    same = store.add(remote("Same", "https://same.example.com"))
    taken = store.add(remote("Taken", "https://taken.example.com"))
    export = tmp_path / "export.json"
    store.export(export)
    document = json.loads(export.read_text())
    document["profiles"][1]["base_url"] = "https://elsewhere.example.com"  # same id, name
    document["profiles"].append({"name": "Fresh", "base_url": "https://fresh.example.com"})
    export.write_text(json.dumps(document))
    report = store.import_(export)
    assert [o.action for o in report.outcomes] == ["skipped", "renamed", "added"]
    assert report.lines()[0] == "'Same': skipped: already present as 'Same'"
    renamed = report.outcomes[1].profile
    assert renamed is not None
    assert renamed.name == "Taken (imported)"
    assert renamed.id != taken.id
    assert "new id" in report.lines()[1]
    assert "different profile named 'Taken'" in report.lines()[1]
    assert [p.name for p in loaded(store.path).list()] == [
        "Embedded",
        "Same",
        "Taken",
        "Taken (imported)",
        "Fresh",
    ]
    assert store.get(same.id) == same

    again = store.import_(export, on_duplicate_name="skip")
    assert [o.action for o in again.outcomes] == ["skipped", "skipped", "skipped"]
    assert "a different profile named 'Taken' exists" in again.lines()[1]
    assert len(store.list()) == 5


def test_import_never_takes_the_builtin_profile(tmp_path: Path) -> None:
    store = loaded(tmp_path / PROFILES_FILE)
    store.update(
        Profile(id="embedded", name="Embedded", base_url="", colour="#010101", embedded=True)
    )
    report = loaded(tmp_path / "other.json").import_(store.path)
    assert [o.action for o in report.outcomes] == ["skipped"]
    assert "never imported" in report.lines()[0]


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d["profiles"][1].update(secret="hunter2"), "never carry a secret"),
        (lambda d: d["profiles"][1].update(password="hunter2"), "never carry a secret"),
        (lambda d: d["profiles"][1].update(base_url="file:///etc"), "base_url:"),
        (lambda d: d.update(version=9), "newer console"),
    ],
)
def test_a_bad_import_file_imports_nothing(tmp_path: Path, mutate: Any, fragment: str) -> None:
    source = loaded(tmp_path / "a" / PROFILES_FILE)
    source.add(remote("A", "https://a.example.com"))
    source.add(remote("B", "https://b.example.com"))
    export = tmp_path / "export.json"
    source.export(export)
    document = json.loads(export.read_text())
    mutate(document)
    export.write_text(json.dumps(document))
    target = loaded(tmp_path / "b" / PROFILES_FILE)
    with pytest.raises(ProfileError, match=re.escape(fragment)) as caught:
        target.import_(export)
    assert str(export) in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert [p.id for p in target.list()] == [EMBEDDED_PROFILE_ID]
    assert not target.path.exists()
