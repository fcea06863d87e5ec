"""The latency chart of `latency.polling`: each endpoint's response times over the run.

pyqtgraph (with numpy) takes most of a second to import, so it is imported the first time
a chart is shown, not when the console starts.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

ENDPOINT_COLOURS = {
    "orders": "#4e79a7",
    "positions": "#59a14f",
    "state": "#f28e2b",
    "quotes": "#e15759",
}


HEADROOM = 1.25
"""The y axis reaches this far past the highest line or sample: room for its label."""


class LatencyChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph  # type: ignore[import-untyped]

        self._pg = pyqtgraph
        pyqtgraph.setConfigOptions(antialias=True, foreground="#333333", background="w")
        self.plot = pyqtgraph.PlotWidget(self)
        self.plot.setObjectName("latencyPlot")
        self.plot.setLabel("bottom", "s since the start")
        self.plot.setLabel("left", "ms")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setMinimumHeight(140)
        self.key = QLabel(self)
        """The endpoints' colours and p99s, under the plot: inside it, a legend covered the
        interval lines' labels at the size the Verify page gives the chart."""
        self.key.setObjectName("latencyKey")
        self.key.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        layout.addWidget(self.key)

    def show_figures(self, details: dict[str, Any]) -> None:
        """One series per endpoint (its samples), and a dashed line at each polling interval
        labelled with the endpoints polled that often: an answer slower than its line comes
        after TradingView's next poll is due."""
        self.plot.clear()
        key: list[str] = []
        endpoints: dict[str, dict[str, Any]] = details.get("endpoints") or {}
        intervals: dict[float, list[str]] = {}
        top = 0.0
        for name, figures in endpoints.items():
            interval = float(figures["interval_ms"])
            intervals.setdefault(interval, []).append(name)
            top = max(top, interval)
            colour = ENDPOINT_COLOURS.get(name, "#76b7b2")
            samples = sorted(figures.get("samples") or [])
            if samples:
                xs = [float(t) for t, _ in samples]
                ys = [float(ms) for _, ms in samples]
                top = max(top, *ys)
                key.append(
                    f'<span style="color:{colour}">●</span>&nbsp;{name} p99 {figures["p99"]:.0f} ms'
                )
                self.plot.plot(
                    xs,
                    ys,
                    pen=None,
                    symbol="o",
                    symbolSize=4,
                    symbolBrush=colour,
                    symbolPen=None,
                )
        pairs = [" &nbsp; ".join(key[start : start + 2]) for start in range(0, len(key), 2)]
        self.key.setText("<br>".join(pairs))  # two a line: no wrapping, so no height to guess
        if top:
            self.plot.setYRange(0, top * HEADROOM, padding=0)
        for interval, names in sorted(intervals.items()):
            line = self._pg.InfiniteLine(
                pos=interval,
                angle=0,
                pen=self._pg.mkPen("#757575", width=1, style=Qt.PenStyle.DashLine),
                label=f"{', '.join(names)} polled every {interval:.0f} ms",
                labelOpts={"position": 0.02, "anchors": [(0, 0), (0, 0)], "color": "#555555"},
            )
            self.plot.addItem(line)
