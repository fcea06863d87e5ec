"""The OpenAPI document describes exactly what the running app serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from adapter_core.api.openapi import openapi_document
from adapter_core.headless import HeadlessOptions, headless_app, open_headless
from tests.support.adapter_process import AdapterProcess

SECRET = "s" * 40


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    data_dir: Path = tmp_path_factory.mktemp("openapi") / "data"
    with AdapterProcess(data_dir, ["--demo"]) as process:
        yield process


def served_operations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_crm: bool) -> set[str]:
    monkeypatch.setenv("TV_ADAPTER_BROKER_SECRET", SECRET)
    adapter = open_headless(HeadlessOptions(data_dir=tmp_path, token_ttl_seconds=3600))
    app = headless_app(adapter, demo_crm=demo_crm)
    return {
        f"{method.lower()} {route.path}"
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    }


def documented_operations(document: dict[str, Any]) -> set[str]:
    return {f"{method} {path}" for path, item in document["paths"].items() for method in item}


@pytest.mark.parametrize("demo_crm", [False, True])
def test_the_document_lists_every_served_operation_and_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_crm: bool
) -> None:
    served = served_operations(tmp_path, monkeypatch, demo_crm)
    assert documented_operations(openapi_document(demo_crm)) == served


def test_the_running_server_serves_a_3_1_document(demo: AdapterProcess) -> None:
    response = httpx.get(f"{demo.url}/openapi.json", timeout=10)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert "/demo/users" in document["paths"]
    assert "/admin/events" in document["paths"]
