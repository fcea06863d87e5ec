"""The built bundle, dist/tv-adapter-console/, as an operator's machine runs it (after
`make package`; see conftest): no Python environment needed, nothing of the build machine or
of the tests inside, both programs working, the real window on X, the real Secret Service."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.services.profiles import PROFILES_FILE
from console.services.redaction import TOKEN_LIKE
from console.services.secrets import KeyringSecretStore, profile_key
from tests.packaging.conftest import ROOT
from tests.support.keyring_env import secret_service_keyring, subprocess_env
from tests.support.xvfb import (
    Xvfb,
    isolated_environment,
    missing_tools,
    start_window_program,
    stop_process,
    wait_for_window,
    xdotool,
)

BARE_PATH = "/usr/bin:/bin"
WM_CLASS = "TradingView Adapter Console"
SETTLE_SECONDS = 2.0
"""As tests/e2e/test_real_window.py: the embedded adapter is up before the operator quits."""
FORBIDDEN_NAMES = re.compile(
    r"(^|/)(tests?|conftest\.py|test_[^/]*\.py|pytest|_pytest|hypothesis|schemathesis|\.venv"
    r"|broker-secret|token-keys\.json|\.data)(/|$)"
)
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def _version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def _bare(home: Path, **extra: str) -> dict[str, str]:
    """What `env -i PATH=/usr/bin:/bin HOME=...` leaves: no venv, no Python of ours on PATH."""
    return {"PATH": BARE_PATH, "HOME": str(home), **extra}


def test_both_programs_are_there_and_say_the_projects_version(bundle: Path, tmp_path: Path) -> None:
    for program in ("tv-adapter-console", "tv-adapter"):
        path = bundle / program
        assert os.access(path, os.X_OK), path
        result = subprocess.run(
            [str(path), "--version"], env=_bare(tmp_path), capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{program} {_version()}"
    assert (bundle / "_internal").is_dir()


def test_the_self_test_passes_with_no_python_environment(bundle: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(bundle / "tv-adapter-console"), "--self-test"],
        env=_bare(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"tv-adapter-console {_version()} (bundle," in result.stdout
    assert "ok   latency chart" in result.stdout
    assert not TOKEN_LIKE.search(result.stdout + result.stderr)


def test_the_bundle_holds_no_tests_no_venv_path_and_no_secret(bundle: Path) -> None:
    for path in bundle.rglob("*"):
        relative = path.relative_to(bundle).as_posix()
        assert not FORBIDDEN_NAMES.search(relative), relative
        if path.is_file() and not path.is_symlink():
            content = path.read_bytes()
            assert b".venv" not in content, f"{relative} names a .venv"
            assert not PRIVATE_KEY.search(content), f"{relative} holds a private key"
            assert str(ROOT).encode() not in content, f"{relative} names the source tree"


def test_no_link_in_the_bundle_points_nowhere(bundle: Path) -> None:
    dangling = [
        p.relative_to(bundle) for p in bundle.rglob("*") if p.is_symlink() and not p.exists()
    ]
    assert not dangling


@pytest.fixture
def headless(bundle: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`tv-adapter serve` from the bundle on a free port: (its URL, its broker secret)."""
    data = tmp_path / "data"
    serve = ["serve", "--port", "0", "--generate-secret", "--data-dir", str(data)]
    errors = tmp_path / "stderr.txt"
    with (
        errors.open("w") as stderr,
        subprocess.Popen(
            [str(bundle / "tv-adapter"), *serve],
            env=_bare(tmp_path),
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        ) as process,
    ):
        try:
            assert process.stdout is not None
            banner = process.stdout.readline().decode()
            match = re.search(r"listening on (http://\S+)", banner)
            assert match, banner + errors.read_text()
            yield match[1], (data / "broker-secret").read_text().splitlines()[0]
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0, errors.read_text()
        finally:
            stop_process(process)


def test_the_headless_adapter_serves_from_the_bundle(headless: tuple[str, str]) -> None:
    url, secret = headless
    body = {
        "userId": 14601,
        "brokerNames": ["BESTBROKER"],
        "ctidTraderAccountIds": [137780091, 137792301],
        "isVerified": True,
    }
    with httpx.Client(base_url=url, timeout=10) as http:
        minted = http.post(
            "/generate/token", json=body, headers={"Authorization": f"Bearer {secret}"}
        )
        assert minted.status_code == 200, minted.text
        bearer = {"Authorization": f"Bearer {minted.json()['d']}"}
        accounts = http.get("/accounts", params={"locale": "en"}, headers=bearer)
        assert accounts.status_code == 200
        assert {a["id"] for a in accounts.json()["d"]} == {"137780091", "137792301"}
        assert http.post("/logout", headers=bearer).status_code == 200
        assert http.get("/accounts", params={"locale": "en"}, headers=bearer).status_code == 401


@pytest.mark.skipif(
    bool(missing_tools()), reason="Xvfb and xdotool are needed (Debian: xvfb, xdotool)"
)
def test_the_real_window_opens_on_x_with_its_class_and_quits_with_ctrl_q(
    bundle: Path, tmp_path: Path
) -> None:
    """The xcb platform plugin and the system libraries the .deb depends on, for real; the
    window's class is the one the desktop entry's StartupWMClass names (packaging/tools/
    linux_files.py), so a desktop ties the window to the menu entry and its icon."""
    with Xvfb(tmp_path / "xvfb.log") as server:
        env = isolated_environment(
            tmp_path,
            server.display,
            {
                "TV_ADAPTER_CONSOLE_HOME": str(tmp_path / "console-home"),
                "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            },
        )
        env["PATH"] = BARE_PATH
        errors = tmp_path / "stderr.txt"
        process = start_window_program(bundle / "tv-adapter-console", env, tmp_path, errors)
        try:
            window = wait_for_window(
                server.display, "TradingView Adapter Console", 60, lambda: process.poll() is None
            )
            by_class = xdotool(server.display, "search", "--class", f"^{WM_CLASS}$").split()
            assert window in by_class, f"StartupWMClass={WM_CLASS} would not match"
            time.sleep(SETTLE_SECONDS)
            xdotool(server.display, "windowfocus", "--sync", window, "key", "ctrl+q")
            assert process.wait(30) == 0, errors.read_text(errors="replace")
        finally:
            stop_process(process)
    assert "Traceback" not in errors.read_text(errors="replace")


@pytest.mark.keyring
def test_the_bundle_keeps_a_profile_secret_in_the_real_secret_service(
    bundle: Path, tmp_path: Path
) -> None:
    """keyring's entry points made it into the bundle: it finds the Secret Service."""
    with secret_service_keyring() as backend:
        home = tmp_path / "console-home"
        env = {**subprocess_env(str(home)), "PATH": BARE_PATH}
        program = str(bundle / "tv-adapter-console")
        secret = f"frozen-{uuid.uuid4().hex}"
        add = ["add", "Frozen", "--secret-stdin", "--url", "https://adapter.example"]
        added = subprocess.run(
            [program, "profile", *add],
            input=f"{secret}\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        assert "SecretService keyring" in added.stdout
        document = json.loads((home / "config" / PROFILES_FILE).read_text())
        [profile_id] = [p["id"] for p in document["profiles"] if p["name"] == "Frozen"]
        store = KeyringSecretStore(backend)
        try:
            assert store.get(profile_key(profile_id)) == secret
        finally:
            removed = subprocess.run(
                [program, "profile", "remove", "Frozen"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
        assert removed.returncode == 0, removed.stderr
        assert store.get(profile_key(profile_id)) is None
