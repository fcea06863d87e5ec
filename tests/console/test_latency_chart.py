"""The latency chart of latency.polling: every line on it says what it is, and its key
names each endpoint's colour and p99."""

from __future__ import annotations

from typing import Any

from pyqtgraph import InfiniteLine  # type: ignore[import-untyped]
from pytestqt.qtbot import QtBot

from console.views.latency_chart import LatencyChart


def figures(interval_ms: int) -> dict[str, Any]:
    return {"interval_ms": interval_ms, "p99": 12.0, "samples": [[0.5, 10.0], [1.5, 12.0]]}


def test_each_polling_interval_is_one_labelled_line(qtbot: QtBot) -> None:
    chart = LatencyChart()
    qtbot.addWidget(chart)
    endpoints = {"orders": 1000, "quotes": 1000, "positions": 1500, "state": 1500}
    chart.show_figures({"endpoints": {name: figures(ms) for name, ms in endpoints.items()}})
    lines = [item for item in chart.plot.items() if isinstance(item, InfiniteLine)]
    assert sorted((line.value(), line.label.format) for line in lines) == [
        (1000.0, "orders, quotes polled every 1000 ms"),
        (1500.0, "positions, state polled every 1500 ms"),
    ]
    for name in endpoints:
        assert f"{name} p99 12 ms" in chart.key.text()
