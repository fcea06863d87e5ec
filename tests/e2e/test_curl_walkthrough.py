"""The curl walkthrough: the acceptance script run against a real `tv-adapter serve`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("curl_walkthrough.sh")
TV_ADAPTER = Path(sys.executable).parent / "tv-adapter"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_walkthrough_passes() -> None:
    assert TV_ADAPTER.exists(), f"{TV_ADAPTER} is missing; install the project into this venv"
    env = {key: value for key, value in os.environ.items() if key != "TV_ADAPTER_BROKER_SECRET"}
    env["TV_ADAPTER"] = str(TV_ADAPTER)
    # Its own session, so a timeout can take the servers it started down with it.
    with subprocess.Popen(
        ["bash", str(SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    ) as script:
        try:
            stdout, stderr = script.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(script.pid, signal.SIGKILL)
            stdout, stderr = script.communicate()
            pytest.fail(f"{SCRIPT.name} ran over 120 s\n{stdout}{stderr}")
    assert script.returncode == 0, (
        f"{SCRIPT.name} exited with {script.returncode}\n"
        f"--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
    )
