"""What an acknowledged answer promises across crashes, restarts and rotations."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.adapter_process import AdapterProcess

pytestmark = pytest.mark.slow
SEED_BODY = {
    "userId": 14601,
    "brokerNames": ["BESTBROKER"],
    "ctidTraderAccountIds": [137780091, 137792301],
    "isVerified": True,
}
RELOAD_DEADLINE = 10.0


def mint(adapter: AdapterProcess, secret: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{adapter.url}/generate/token",
        json=SEED_BODY,
        headers={"Authorization": f"Bearer {secret or adapter.broker_secret}"},
        timeout=10,
    )


def logout(adapter: AdapterProcess, token: str) -> dict[str, str]:
    response = httpx.post(
        f"{adapter.url}/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    answer: dict[str, str] = response.json()
    return answer


def eventually(condition: Callable[[], bool]) -> bool:
    """Poll until true or the deadline passes (the server re-reads files every 2 s)."""
    deadline = time.monotonic() + RELOAD_DEADLINE
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def keys_command(data_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "adapter_core.cli", "keys", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def test_an_acknowledged_logout_survives_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first_run = AdapterProcess(data_dir).start()
    try:
        logged_out = mint(first_run).json()["d"]
        kept = mint(first_run).json()["d"]
        assert logout(first_run, logged_out) == {"s": "ok"}
    finally:
        first_run.kill()
    with AdapterProcess(data_dir) as second_run:
        assert logout(second_run, logged_out)["errmsg"] == "The token has already been revoked."
        assert logout(second_run, kept) == {"s": "ok"}


def test_sigterm_stops_gracefully(tmp_path: Path) -> None:
    adapter = AdapterProcess(tmp_path / "data").start()
    token = mint(adapter).json()["d"]
    # uvicorn finishes its shutdown, then re-raises SIGTERM so the parent sees the signal.
    assert adapter.terminate() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in adapter.stderr_text()
    with AdapterProcess(tmp_path / "data") as restarted:
        assert logout(restarted, token) == {"s": "ok"}


def test_a_second_adapter_on_the_same_data_directory_is_refused(tmp_path: Path) -> None:
    with AdapterProcess(tmp_path / "data"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "adapter_core.cli",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(tmp_path / "data"),
                "--generate-secret",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert "another adapter" in result.stderr


def test_keys_rotate_and_retire_without_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with AdapterProcess(data_dir) as adapter:
        old_token = mint(adapter).json()["d"]
        old_key = keys_command(data_dir, "list").split()[0]
        added = keys_command(data_dir, "add")
        new_key = re.search(r"added key ([0-9a-f]{8})", added)[1]  # type: ignore[index]
        assert new_key != old_key

        def mints_with_new_key() -> bool:
            token: str = mint(adapter).json()["d"]
            return token[2:10] == new_key  # hex text: version byte, then the key id

        assert eventually(mints_with_new_key)
        survivor = mint(adapter).json()["d"]
        keys_command(data_dir, "retire", old_key)
        assert eventually(lambda: adapter.stderr_text().count("reloaded the token key ring") == 2)
        assert logout(adapter, old_token)["errmsg"] == "The token is not valid."
        assert logout(adapter, survivor) == {"s": "ok"}


def test_broker_secrets_rotate_without_a_restart(tmp_path: Path) -> None:
    with AdapterProcess(tmp_path / "data") as adapter:
        old = adapter.broker_secret
        new = "rotated-secret-" + "n" * 32
        adapter.secret_file.write_text(f"{new}\n{old}\n")
        assert eventually(lambda: mint(adapter, new).status_code == 200)
        assert mint(adapter, old).status_code == 200
        adapter.secret_file.write_text(f"{new}\n")
        assert eventually(lambda: mint(adapter, old).status_code == 401)
        assert mint(adapter, new).status_code == 200


def test_a_broken_key_file_edit_keeps_the_last_good_ring(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with AdapterProcess(data_dir) as adapter:
        token = mint(adapter).json()["d"]
        (data_dir / "token-keys.json").write_text("{ broken")
        assert eventually(lambda: "kept the previous token key ring" in adapter.stderr_text())
        assert logout(adapter, token) == {"s": "ok"}
