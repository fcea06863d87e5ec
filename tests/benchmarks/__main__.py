"""`make bench`: every benchmark group, a printed table, and .bench/results.json."""

from __future__ import annotations

from tests.benchmarks import (
    cluster,
    endpoints,
    sessions_view,
    slow_connections,
    token_open,
    tradingview_tabs,
)
from tests.benchmarks.results import RESULTS_FILE, print_table, write_results


def main() -> None:
    figures = token_open.measure() + endpoints.measure() + tradingview_tabs.measure()
    figures += slow_connections.measure() + sessions_view.measure() + cluster.measure()
    print()
    print_table(figures)
    write_results(figures)
    print(f"\nwritten to {RESULTS_FILE}")


if __name__ == "__main__":
    main()
