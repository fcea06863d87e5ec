"""`tv-adapter`: documented options, clear refusals, key management output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adapter_core import __version__
from adapter_core.cli import duration, main
from adapter_core.tokens.keyfile import load_key_ring, load_or_create_key_ring


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapter_core.cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def test_help_documents_every_serve_option() -> None:
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    for option in (
        "--host",
        "--port",
        "--data-dir",
        "--broker-secret-file",
        "--generate-secret",
        "--token-ttl",
        "--log-level",
        "TV_ADAPTER_BROKER_SECRET",
        "SIGTERM",
    ):
        assert option in result.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out


def test_serve_refuses_to_start_without_a_broker_secret(tmp_path: Path) -> None:
    result = run_cli("serve", "--port", "0", "--data-dir", str(tmp_path), env={"PATH": ""})
    assert result.returncode == 2
    assert "no broker secret is configured" in result.stderr
    assert "TV_ADAPTER_BROKER_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("source", "named"),
    [
        (["--broker-secret-file", "SECRET_FILE"], "--broker-secret-file"),
        (["--generate-secret"], "--generate-secret"),
    ],
)
def test_serve_refuses_two_secret_sources(source: list[str], named: str, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s" * 32)
    options = [str(secret_file) if arg == "SECRET_FILE" else arg for arg in source]
    result = run_cli(
        "serve",
        "--data-dir",
        str(tmp_path / "data"),
        *options,
        env={"TV_ADAPTER_BROKER_SECRET": "e" * 32},
    )
    assert result.returncode == 2
    assert f"TV_ADAPTER_BROKER_SECRET and {named}" in result.stderr
    assert "use only one" in result.stderr


@pytest.mark.parametrize(("text", "seconds"), [("30d", 2_592_000), ("12h", 43_200), ("90", 90)])
def test_durations(text: str, seconds: int) -> None:
    assert duration(text) == seconds


def test_a_bad_duration_is_refused_by_name() -> None:
    result = run_cli("serve", "--token-ttl", "soon")
    assert result.returncode == 2
    assert "'soon' is not a duration" in result.stderr


def test_keys_commands_never_print_key_material(tmp_path: Path) -> None:
    missing = run_cli("keys", "list", "--data-dir", str(tmp_path))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    load_or_create_key_ring(tmp_path / "token-keys.json")
    added = run_cli("keys", "add", "--data-dir", str(tmp_path))
    ring = load_key_ring(tmp_path / "token-keys.json")
    assert added.returncode == 0
    assert len(ring.keys) == 2
    assert "mints and opens" in added.stdout
    for key in ring.keys:
        assert key.secret.hex() not in added.stdout
    bad = run_cli("keys", "retire", "nothex", "--data-dir", str(tmp_path))
    assert (bad.returncode, "not a key id" in bad.stderr) == (2, True)
