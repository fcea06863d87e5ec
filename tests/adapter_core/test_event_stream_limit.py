"""A real adapter refuses the event stream beyond its limit with a readable 503."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

import adapter_core.events as events_module
from adapter_core.embedded import EmbeddedAdapter
from adapter_core.tokens.keyring import KeyRing


def test_the_stream_beyond_the_limit_is_refused_with_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_module, "MAX_SUBSCRIBERS", 1)
    secret = secrets.token_urlsafe(32)
    adapter = EmbeddedAdapter(tmp_path / "data", KeyRing.generate(), secret, log_level="warning")
    url = adapter.start()
    headers = {"Authorization": f"Bearer {secret}"}
    try:
        with (
            httpx.Client(base_url=url, timeout=10) as http,
            http.stream("GET", "/admin/events", headers=headers) as first,
        ):
            lines = first.iter_lines()  # kept: a dropped iterator closes the stream
            assert next(lines) == "event: hello"
            refused = http.get("/admin/events", headers=headers)
            assert refused.status_code == 503
            assert refused.json() == {
                "s": "error",
                "errmsg": "1 event streams are already open; close one and try again.",
            }
    finally:
        adapter.stop()
