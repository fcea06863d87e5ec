"""Shared fixtures: a real adapter server on loopback and a broker client for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.adapter_process import AdapterProcess


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    """One `tv-adapter serve` per test module (start-up costs about half a second)."""
    data_dir: Path = tmp_path_factory.mktemp("adapter") / "data"
    with AdapterProcess(data_dir) as process:
        yield process


@pytest.fixture
def client(adapter: AdapterProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=adapter.url, timeout=10) as http:
        yield http
