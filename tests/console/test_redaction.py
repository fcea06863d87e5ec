"""Redaction: masks, headers, free text, JSON bodies and paths never show a secret."""

from __future__ import annotations

import json
import secrets

import pytest

from adapter_core.tokens.codec import TokenCodec
from adapter_core.tokens.keyring import KeyRing
from console.services.redaction import (
    MASK_SHORT,
    REDACTED,
    bearer_credentials,
    mask,
    mask_token_like,
    redact_headers,
    redact_json_body,
    redact_text,
    redact_url_path,
)


def real_token() -> str:
    return TokenCodec(KeyRing.generate()).mint(42, ["demo"], None, True).token


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("", ""),
        ("x", MASK_SHORT),
        ("a" * 23, MASK_SHORT),
        ("abcd" + "-" * 16 + "wxyz", "abcd…wxyz"),
        ("0123456789abcdefghijklmnopqrstuvwxyz", "0123…wxyz"),
    ],
)
def test_mask_shows_at_most_four_plus_four_and_only_for_long_values(value: str, shown: str) -> None:
    assert mask(value) == shown


def test_mask_of_a_short_value_does_not_give_its_length_away() -> None:
    assert mask("ab") == mask("abcdefghij")


def test_authorization_keeps_its_scheme_and_loses_the_credential() -> None:
    token = real_token()
    headers = {
        "Authorization": f"Bearer {token}",
        "proxy-authorization": "Basic dXNlcjpwYXNz",
        "Cookie": "session=abc",
        "Content-Type": "application/json",
    }
    redacted = redact_headers(headers)
    assert redacted == {
        "Authorization": f"Bearer {REDACTED}",
        "proxy-authorization": f"Basic {REDACTED}",
        "Cookie": REDACTED,
        "Content-Type": "application/json",
    }
    assert redact_headers({"Authorization": "just-a-secret"}) == {"Authorization": REDACTED}


def test_other_headers_are_scrubbed_of_known_secrets() -> None:
    secret = "broker-secret-value-0123456789"
    redacted = redact_headers({"X-Note": f"uses {secret}"}, [secret])
    assert secret not in redacted["X-Note"]


def test_bearer_credentials_are_found_for_redaction_elsewhere() -> None:
    headers = {"authorization": "Bearer s3cret-value", "Accept": "x"}
    assert bearer_credentials(headers) == {"s3cret-value"}
    assert bearer_credentials({"Authorization": "raw-secret-value"}) == {"raw-secret-value"}


@pytest.mark.parametrize("value", ["Bearer ", "Bearer -", "Bearer", ""])
def test_stand_in_credentials_are_not_treated_as_secrets(value: str) -> None:
    """The connection probe sends `Bearer -`: masking every '-' would garble the log."""
    assert bearer_credentials({"Authorization": value}) == set()


def test_every_occurrence_of_every_secret_is_replaced() -> None:
    long_secret = secrets.token_urlsafe(32)
    short_secret = "hunter2"
    text = f"a {long_secret} b {short_secret} c {long_secret}{short_secret}"
    redacted = redact_text(text, [long_secret, short_secret, ""])
    assert long_secret not in redacted
    assert short_secret not in redacted
    assert redacted.count(mask(long_secret)) == 2
    assert redacted.count(MASK_SHORT) == 2


def test_a_secret_containing_another_is_masked_whole() -> None:
    inner = "inner-secret-000000000000"
    outer = f"prefix-{inner}-suffix"
    redacted = redact_text(f"[{outer}]", [inner, outer], heuristic=False)
    assert redacted == f"[{mask(outer)}]"


@pytest.mark.parametrize(
    "spelling",
    [
        lambda s: json.dumps(s)[1:-1],
        lambda s: s.replace("/", "%2F").replace(" ", "%20").replace('"', "%22"),
    ],
)
def test_escaped_spellings_of_a_secret_are_caught(spelling: object) -> None:
    secret = 'my "broker" secret / with specials'
    assert callable(spelling)
    text = f"before {spelling(secret)} after"
    assert "broker" not in redact_text(text, [secret])


def test_the_heuristic_masks_tokens_nobody_declared() -> None:
    token = real_token()
    assert len(token) >= 60
    redacted = redact_text(f"error: token {token} was refused", [])
    assert token not in redacted
    assert mask(token) in redacted


def test_the_heuristic_leaves_ids_words_and_paths_alone() -> None:
    token_id = secrets.token_hex(16)
    text = f"/admin/sessions/{token_id} logged out; expected 39 chars: {'a' * 39}"
    assert mask_token_like(text) == text


def test_the_heuristic_hides_passwords_in_urls() -> None:
    redacted = mask_token_like("Cannot connect to https://ops:pa55word@adapter.example:8443/")
    assert "pa55word" not in redacted
    assert f"https://{REDACTED}@adapter.example:8443/" in redacted


def test_generate_token_response_masks_the_token() -> None:
    token = "short-foreign-token"
    body = json.dumps({"s": "ok", "d": token})
    redacted = redact_json_body(body, path="/generate/token", part="response")
    assert json.loads(redacted) == {"s": "ok", "d": mask(token)}
    prefixed = redact_json_body(body, path="/adapter/generate/token/", part="response")
    assert token not in prefixed


def test_other_responses_keep_their_d_field() -> None:
    body = json.dumps({"s": "ok", "d": "plain value"})
    assert json.loads(redact_json_body(body, path="/admin/info", part="response"))["d"] == (
        "plain value"
    )


def test_introspect_request_masks_the_token_field() -> None:
    token = real_token()
    body = json.dumps({"token": token})
    redacted = redact_json_body(body, path="/admin/tokens/introspect", part="request")
    assert json.loads(redacted) == {"token": mask(token)}


def test_sensitive_keys_anywhere_are_masked_but_objects_under_them_are_walked() -> None:
    body = json.dumps(
        {"d": {"token": {"tokenId": "ab" * 16, "client_secret": "x" * 30}, "password": "pw"}}
    )
    redacted = json.loads(redact_json_body(body, path="/x", part="response"))
    assert redacted["d"]["token"]["tokenId"] == "ab" * 16
    assert redacted["d"]["token"]["client_secret"] == mask("x" * 30)
    assert redacted["d"]["password"] == MASK_SHORT


def test_json_bodies_are_scrubbed_of_known_secrets_in_keys_and_values() -> None:
    secret = "the-broker-secret"
    body = json.dumps({secret: [f"echo {secret}"]})
    redacted = redact_json_body(body, path="/x", part="request", secrets=[secret])
    assert secret not in redacted


def test_non_json_bodies_get_the_text_treatment() -> None:
    token = real_token()
    redacted = redact_json_body(f"<html>{token}</html>", path="/x", part="response")
    assert token not in redacted
    assert redact_json_body("", path="/generate/token", part="response") == ""


def test_paths_lose_sensitive_query_values_and_known_secrets() -> None:
    secret = "s3cr3t-value"
    path = f"/demo/users/7/accounts?locale=en&token=abc&note={secret}"
    assert redact_url_path(path, [secret]) == (
        f"/demo/users/7/accounts?locale=en&token={REDACTED}&note={MASK_SHORT}"
    )
    assert redact_url_path("/logout") == "/logout"
