"""The latency chart of `latency.polling`: each endpoint's response times over the run.

pyqtgraph (with numpy) takes most of a second to import, so it is imported the first time
a chart is shown, not when the console starts.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

ENDPOINT_COLOURS = {
    "orders": "#4e79a7",
    "positions": "#59a14f",
    "state": "#f28e2b",
    "quotes": "#e15759",
}


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
        self.legend = self.plot.addLegend(offset=(-4, 4), colCount=2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def show_figures(self, details: dict[str, Any]) -> None:
        """One series per endpoint (its samples), and a dashed line at each polling interval
        labelled with the endpoints polled that often: an answer slower than its line comes
        after TradingView's next poll is due."""
        self.plot.clear()
        self.legend.clear()
        endpoints: dict[str, dict[str, Any]] = details.get("endpoints") or {}
        intervals: dict[float, list[str]] = {}
        for name, figures in endpoints.items():
            intervals.setdefault(float(figures["interval_ms"]), []).append(name)
            colour = ENDPOINT_COLOURS.get(name, "#76b7b2")
            samples = sorted(figures.get("samples") or [])
            if samples:
                xs = [float(t) for t, _ in samples]
                ys = [float(ms) for _, ms in samples]
                label = f"{name} p99 {figures['p99']:.0f} ms"
                self.plot.plot(
                    xs,
                    ys,
                    pen=None,
                    symbol="o",
                    symbolSize=4,
                    symbolBrush=colour,
                    symbolPen=None,
                    name=label,
                )
        for interval, names in sorted(intervals.items()):
            line = self._pg.InfiniteLine(
                pos=interval,
                angle=0,
                pen=self._pg.mkPen("#757575", width=1, style=Qt.PenStyle.DashLine),
                label=f"{', '.join(names)} polled every {interval:.0f} ms",
                labelOpts={"position": 0.02, "anchors": [(0, 0), (0, 0)], "color": "#555555"},
            )
            self.plot.addItem(line)
