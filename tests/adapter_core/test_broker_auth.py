"""Broker secrets: several accepted, short ones refused, files and environment parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapter_core.broker_auth import (
    SECRET_ENV_VAR,
    BrokerSecretError,
    BrokerSecrets,
    generate_secret,
    parse_secret_lines,
    read_secret_file,
    secrets_from_environment,
)

OLD = "old-secret-0123456789"
NEW = "new-secret-0123456789"


def test_every_configured_secret_is_accepted_and_nothing_else() -> None:
    accepted = BrokerSecrets([OLD, NEW])
    assert accepted.accepts(OLD)
    assert accepted.accepts(NEW)
    for wrong in ["", OLD[:-1], OLD + "x", OLD.upper(), NEW + " "]:
        assert not accepted.accepts(wrong)


def test_no_secret_or_a_short_one_is_refused() -> None:
    with pytest.raises(BrokerSecretError, match="no broker secret"):
        BrokerSecrets([])
    with pytest.raises(BrokerSecretError, match="at least 16"):
        BrokerSecrets(["short"])


def test_secrets_are_not_kept_in_clear_or_shown() -> None:
    accepted = BrokerSecrets([OLD])
    assert OLD not in repr(accepted)
    assert not any(OLD.encode() in digest for digest in accepted._digests)


def test_generated_secrets_are_long_and_distinct() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert len(first) >= 64


def test_secret_file_lines(tmp_path: Path) -> None:
    assert parse_secret_lines(f"# rotated 2026-11\n{NEW}\n\n  {OLD}  \n") == [NEW, OLD]
    path = tmp_path / "secret"
    path.write_text(f"{NEW}\n")
    assert read_secret_file(path) == [NEW]
    with pytest.raises(BrokerSecretError, match="cannot read"):
        read_secret_file(tmp_path / "missing")


def test_environment_holds_several_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV_VAR, f"{OLD}, {NEW},")
    assert secrets_from_environment() == [OLD, NEW]
