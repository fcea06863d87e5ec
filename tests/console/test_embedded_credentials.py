"""The embedded adapter's key ring and broker secret: made once, kept in the keyring, never lost."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import httpx
import pytest

from adapter_core.embedded import EmbeddedAdapter
from adapter_core.tokens.keyring import KeyRing
from console.paths import HOME_ENV
from console.services.embedded import (
    EmbeddedCredentialsError,
    embedded_data_dir,
    load_embedded_credentials,
)
from console.services.secrets import (
    EMBEDDED_BROKER_SECRET,
    EMBEDDED_TOKEN_KEYS,
    SecretStoreError,
    SessionSecretStore,
)


@pytest.fixture
def store() -> SessionSecretStore:
    return SessionSecretStore("tests")


def key_material(ring: KeyRing) -> list[str]:
    return [base64.urlsafe_b64encode(key.secret).decode() for key in ring.keys]


def test_the_first_call_generates_and_stores_both(store: SessionSecretStore) -> None:
    ring, secret = load_embedded_credentials(store)
    stored_ring = store.get(EMBEDDED_TOKEN_KEYS)
    assert stored_ring is not None
    assert KeyRing.from_json(json.loads(stored_ring)).to_json() == ring.to_json()
    assert store.get(EMBEDDED_BROKER_SECRET) == secret
    assert len(secret) >= 64


def test_later_calls_return_what_was_stored(store: SessionSecretStore) -> None:
    ring, secret = load_embedded_credentials(store)
    again_ring, again_secret = load_embedded_credentials(store)
    assert again_ring.to_json() == ring.to_json()
    assert again_secret == secret


def test_a_rotated_ring_in_the_store_is_used_as_it_is(store: SessionSecretStore) -> None:
    rotated = KeyRing.generate().with_new_key()
    store.set(EMBEDDED_TOKEN_KEYS, json.dumps(rotated.to_json()))
    ring, _ = load_embedded_credentials(store)
    assert ring.to_json() == rotated.to_json()
    assert ring.minting_key.key_id == rotated.minting_key.key_id


@pytest.mark.parametrize(
    "stored",
    [
        "not json at all: SECRET-MATERIAL",
        "",
        json.dumps({"version": 2, "keys": []}),
        json.dumps({"version": 1, "keys": [{"id": "zz", "key": "SECRET-MATERIAL"}]}),
        json.dumps({"version": 1, "keys": []}),
    ],
)
def test_a_corrupt_key_ring_is_reported_and_left_alone(
    store: SessionSecretStore, stored: str
) -> None:
    store.set(EMBEDDED_TOKEN_KEYS, stored)
    with pytest.raises(EmbeddedCredentialsError, match="token key ring") as caught:
        load_embedded_credentials(store)
    message = str(caught.value)
    assert EMBEDDED_TOKEN_KEYS in message
    assert "left unchanged" in message
    assert "SECRET-MATERIAL" not in message
    assert caught.value.__cause__ is None
    assert store.get(EMBEDDED_TOKEN_KEYS) == stored
    assert store.get(EMBEDDED_BROKER_SECRET) is None  # nothing was written on the way


def test_an_unusable_broker_secret_is_reported_and_left_alone(store: SessionSecretStore) -> None:
    store.set(EMBEDDED_BROKER_SECRET, "too-short")
    with pytest.raises(EmbeddedCredentialsError, match="broker secret") as caught:
        load_embedded_credentials(store)
    assert "too-short" not in str(caught.value)
    assert store.get(EMBEDDED_BROKER_SECRET) == "too-short"
    assert store.get(EMBEDDED_TOKEN_KEYS) is None


def test_a_refusing_keyring_is_not_papered_over() -> None:
    class RefusingStore(SessionSecretStore):
        def set(self, key: str, value: str) -> None:
            raise SecretStoreError("The keyring refused to store the secret: locked")

    with pytest.raises(SecretStoreError, match="locked"):
        load_embedded_credentials(RefusingStore("tests"))


def test_secrets_are_never_logged_or_printed(
    store: SessionSecretStore, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    ring, secret = load_embedded_credentials(store)
    load_embedded_credentials(store)
    assert "generated" in caplog.text  # it does say what happened
    captured = capsys.readouterr()
    for text in (caplog.text, captured.out, captured.err, repr(ring)):
        assert secret not in text
        for material in key_material(ring):
            assert material not in text


def test_the_data_dir_is_under_the_console_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    assert embedded_data_dir() == tmp_path / "data" / "embedded-adapter"


def test_the_credentials_run_an_embedded_adapter(store: SessionSecretStore, tmp_path: Path) -> None:
    ring, secret = load_embedded_credentials(store)
    adapter = EmbeddedAdapter(tmp_path / "embedded-adapter", ring, secret)
    url = adapter.start()
    try:
        response = httpx.post(
            f"{url}/generate/token",
            json={"userId": 14601, "brokerNames": ["BESTBROKER"], "isVerified": True},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.json()["s"] == "ok"
    finally:
        adapter.stop()
