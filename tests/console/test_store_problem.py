"""A store that refuses writes while it still answers reads (a full Redis): the status bar says
so as soon as a mint is refused, and stops saying so as soon as one goes through, without
waiting for the next health check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_client
from pytestqt.qtbot import QtBot

from console.controller import Controller
from console.services.profiles import Profile
from tests.support.adapter_process import AdapterProcess
from tests.support.console_driver import WAIT_MS, running_console, send_token_request
from tests.support.redis_server import RedisServer

FULL = "store: redis — Redis is full (maxmemory) and refuses writes"


@pytest.fixture
def controller(qtbot: QtBot, qloop: object, console_home: Path) -> Iterator[Controller]:
    with running_console(qtbot, console_home, "tokens") as built:
        yield built


def test_the_status_bar_follows_a_full_redis_at_the_next_mint(
    qtbot: QtBot, controller: Controller, tmp_path: Path
) -> None:
    label = controller.window.store_label
    with (
        RedisServer(tmp_path / "redis") as redis,
        AdapterProcess(tmp_path / "data", ["--store", redis.url]) as adapter,
    ):
        workspace = controller.workspace
        profile = workspace.profiles.add(Profile.create("Cluster", adapter.url))
        workspace.secret_store.set(profile.secret_key, adapter.broker_secret)
        workspace.profiles_imported()
        workspace.set_active(profile.id)
        qtbot.waitUntil(lambda: label.text() == "store: redis (healthy)", timeout=WAIT_MS)
        control = redis_client.Redis.from_url(redis.url)
        try:
            control.config_set("maxmemory-policy", "noeviction")
            control.config_set("maxmemory", "1")
            assert send_token_request(qtbot, controller).startswith("HTTP 503")
            assert label.text().startswith(FULL)  # asked again before the answer was shown
            assert "#b26a00" in label.styleSheet()
            control.config_set("maxmemory", "0")
            assert send_token_request(qtbot, controller).startswith("HTTP 200")
            assert label.text() == "store: redis (healthy)"
        finally:
            control.close()
