"""A run's reports: JSON (the documented format), JUnit XML for CI, one self-contained HTML file.

All three are made from the `RunReport` alone, whose text was masked when it was recorded;
they are written atomically and privately through the console's export module.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from console.services.export import write_json, write_text
from console.verify.catalogue import SUITE_TITLES
from console.verify.model import (
    Category,
    CheckResult,
    Exchange,
    RunReport,
    Status,
    Verdict,
    judge,
)

CATEGORY_COLOURS = {
    Category.PASSED: "#1e7b34",
    Category.FAILED: "#b3261e",
    Category.WARNING: "#a35c00",
    Category.SKIPPED: "#5f6368",
    Category.INCONCLUSIVE: "#7b1fa2",
    Category.NOT_RUN: "#455a64",
}
VERDICT_COLOURS = {
    Verdict.PASSED: CATEGORY_COLOURS[Category.PASSED],
    Verdict.FAILED: CATEGORY_COLOURS[Category.FAILED],
    Verdict.INCONCLUSIVE: CATEGORY_COLOURS[Category.INCONCLUSIVE],
    Verdict.SKIPPED: CATEGORY_COLOURS[Category.SKIPPED],
    Verdict.CANCELLED: CATEGORY_COLOURS[Category.NOT_RUN],
    Verdict.INCOMPLETE: CATEGORY_COLOURS[Category.NOT_RUN],
}


def write_json_report(report: RunReport, path: Path) -> None:
    write_json(path, report.to_json())


def write_junit_report(report: RunReport, path: Path) -> None:
    write_text(path, junit_xml(report))


def write_html_report(report: RunReport, path: Path) -> None:
    write_text(path, html_report(report))


# JUnit


def _exchange_lines(exchanges: list[Exchange]) -> str:
    lines = []
    for exchange in exchanges:
        answer = exchange.error or f"HTTP {exchange.status}"
        lines.append(
            f"{exchange.method} {exchange.url} -> {answer} ({exchange.duration_ms:.0f} ms)"
        )
        if exchange.response_body:
            lines.append(f"  {exchange.response_body[:500]}")
    return "\n".join(lines)


def _run_cases(root: ET.Element, report: RunReport) -> None:
    """The run itself as a suite, so CI that reads only JUnit sees an incomplete run or
    tokens left live, not a green build."""
    problems = []
    if report.aborted:
        problems.append(("completed", f"the run did not complete: {report.aborted}"))
    leftover = ", ".join(report.not_logged_out)
    if report.not_logged_out:
        problems.append(("tokens logged out", f"tokens left live (fingerprints): {leftover}"))
    suite = ET.SubElement(
        root, "testsuite", name="run", tests="2", failures=str(len(problems)), errors="0"
    )
    failed = dict(problems)
    for name in ("completed", "tokens logged out"):
        case = ET.SubElement(suite, "testcase", classname="verify.run", name=f"run {name}")
        if name in failed:
            ET.SubElement(case, "failure", message=failed[name], type="failed").text = failed[name]


def junit_xml(report: RunReport) -> str:
    root = ET.Element("testsuites", name=f"tv-adapter-console verify {report.target}")
    suites: dict[str, list[CheckResult]] = {}
    for check in report.checks:
        suites.setdefault(check.suite, []).append(check)
    for suite, checks in suites.items():
        counts = {status: sum(c.status is status for c in checks) for status in Status}
        element = ET.SubElement(
            root,
            "testsuite",
            name=suite,
            tests=str(len(checks)),
            failures=str(counts[Status.FAILED]),
            errors=str(counts[Status.ERROR]),
            skipped=str(counts[Status.SKIPPED]),
            time=f"{sum(c.duration_ms for c in checks) / 1000:.3f}",
            timestamp=report.started,
        )
        properties = ET.SubElement(element, "properties")
        for name, value in (("target", report.target), ("adapter_version", report.adapter_version)):
            ET.SubElement(properties, "property", name=name, value=value or "unknown")
        for check in checks:
            case = ET.SubElement(
                element,
                "testcase",
                classname=f"verify.{suite}",
                name=f"{check.id}: {check.title}",
                time=f"{check.duration_ms / 1000:.3f}",
            )
            text = f"expected: {check.expected}\nactual: {check.actual}"
            if check.status is Status.FAILED:
                failure = ET.SubElement(case, "failure", message=check.actual, type="failed")
                failure.text = f"{text}\n\n{_exchange_lines(check.exchanges)}"
            elif check.status is Status.ERROR:
                error = ET.SubElement(case, "error", message=check.actual, type="inconclusive")
                error.text = f"{text}\n\n{_exchange_lines(check.exchanges)}"
            elif check.status is Status.SKIPPED:
                ET.SubElement(case, "skipped", message=check.actual)
            elif check.status is Status.WARNING:
                ET.SubElement(case, "system-out").text = f"warning: {check.actual}"
    _run_cases(root, report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f1f1f;margin:24px auto;
max-width:1100px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;
border-bottom:1px solid #e3e3e3;vertical-align:top}th{background:#f5f5f5}
.badge{display:inline-block;min-width:64px;text-align:center;border-radius:10px;color:#fff;
font-size:12px;padding:1px 8px;font-weight:600}
.env td:first-child{width:180px;color:#555}
details.check{border:1px solid #ddd;border-radius:6px;margin:6px 0;padding:6px 10px}
details.check summary{cursor:pointer}
.id{font-family:ui-monospace,monospace;color:#444}.muted{color:#666}
pre{background:#f7f7f7;border:1px solid #e5e5e5;padding:8px;white-space:pre-wrap;
word-break:break-all;font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;margin:4px 0}
.exchange{margin:10px 0 4px;border-top:1px dashed #ddd;padding-top:6px}
.counts span{margin-right:14px}
.note{background:#fff7e0;border:1px solid #f0d48a;padding:8px;border-radius:6px}
@media print{details.check{break-inside:avoid}body{margin:0}}
"""

_SCRIPT = (
    "window.addEventListener('beforeprint',()=>document.querySelectorAll('details')"
    ".forEach(d=>d.open=true));"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _badge(category: Category) -> str:
    colour = CATEGORY_COLOURS[category]
    return f'<span class="badge" style="background:{colour}">{_e(category)}</span>'


def _verdict_badge(verdict: Verdict) -> str:
    colour = VERDICT_COLOURS[verdict]
    return f'<span class="badge" style="background:{colour}">{_e(verdict)}</span>'


def _exchange_html(exchange: Exchange) -> str:
    request_headers = "\n".join(f"{k}: {v}" for k, v in exchange.request_headers.items())
    response_headers = "\n".join(f"{k}: {v}" for k, v in exchange.response_headers.items())
    answer = exchange.error or f"HTTP {exchange.status}"
    parts = [
        '<div class="exchange">',
        f"<b>{_e(exchange.method)} {_e(exchange.url)}</b> → {_e(answer)} "
        f'<span class="muted">({exchange.duration_ms:.0f} ms)</span>',
        f"<div>Request</div><pre>{_e(request_headers)}"
        + (f"\n\n{_e(pretty_body(exchange.request_body))}" if exchange.request_body else "")
        + "</pre>",
        f"<div>Response</div><pre>{_e(response_headers)}"
        + (f"\n\n{_e(pretty_body(exchange.response_body))}" if exchange.response_body else "")
        + "</pre>",
        f'<div class="muted">curl</div><pre>{_e(exchange.curl())}</pre></div>',
    ]
    return "".join(parts)


def pretty_body(body: str) -> str:
    """A JSON body indented for reading; any other body as it is."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


def _latency_svg(details: dict[str, Any]) -> str:
    endpoints: dict[str, dict[str, Any]] = details.get("endpoints") or {}
    if not endpoints:
        return ""
    top = max(max(f["p99"], f["interval_ms"]) for f in endpoints.values()) or 1.0
    width, row, label = 640, 34, 90
    scale = (width - label - 60) / top
    bars = []
    for index, (name, figures) in enumerate(endpoints.items()):
        y = 10 + index * row
        for offset, key, colour in (
            (0, "p50", "#4e79a7"),
            (8, "p95", "#f28e2b"),
            (16, "p99", "#e15759"),
        ):
            bars.append(
                f'<rect x="{label}" y="{y + offset}" width="{figures[key] * scale:.1f}" height="7" '
                f'fill="{colour}"><title>{_e(name)} {key} {figures[key]} ms</title></rect>'
            )
        limit = label + figures["interval_ms"] * scale
        bars.append(
            f'<line x1="{limit:.1f}" x2="{limit:.1f}" y1="{y - 2}" y2="{y + 25}" stroke="#333" '
            f'stroke-dasharray="3,2"><title>polling interval {figures["interval_ms"]:.0f} ms'
            "</title></line>"
        )
        bars.append(f'<text x="0" y="{y + 17}" font-size="12">{_e(name)}</text>')
    height = 20 + row * len(endpoints)
    legend = (
        f'<text x="{label}" y="{height + 4}" font-size="11" fill="#555">p50 (blue), p95 (orange), '
        "p99 (red) in ms; dashed line: the polling interval</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 12}" '
        f'role="img" aria-label="latency per endpoint">{"".join(bars)}{legend}</svg>'
    )


def _latency_table(details: dict[str, Any]) -> str:
    endpoints: dict[str, dict[str, Any]] = details.get("endpoints") or {}
    if not endpoints:
        return ""
    rows = "".join(
        f"<tr><td>{_e(name)}</td><td>{f['interval_ms']:.0f}</td><td>{f['count']}</td>"
        f"<td>{f['errors']}</td><td>{f['p50']}</td><td>{f['p95']}</td><td>{f['p99']}</td></tr>"
        for name, f in endpoints.items()
    )
    return (
        f"<p>{details.get('tabs')} tabs for {details.get('seconds')} s</p>"
        "<table><tr><th>endpoint</th><th>interval ms</th><th>requests</th><th>errors</th>"
        f"<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr>{rows}</table>{_latency_svg(details)}"
    )


def _check_html(check: CheckResult) -> str:
    exchanges = "".join(_exchange_html(exchange) for exchange in check.exchanges)
    opened = " open" if check.status in (Status.FAILED, Status.ERROR) else ""
    return (
        f'<details class="check" id="{_e(check.id)}"{opened}><summary>{_badge(check.category)} '
        f'<span class="id">{_e(check.id)}</span> {_e(check.title)} '
        f'<span class="muted">{check.duration_ms:.0f} ms</span></summary>'
        f"<table><tr><th>Expected</th><td>{_e(check.expected)}</td></tr>"
        f"<tr><th>Actual</th><td>{_e(check.actual)}</td></tr></table>"
        f"{_latency_table(check.details)}"
        f"{exchanges or '<p class=muted>No exchange recorded.</p>'}</details>"
    )


def html_report(report: RunReport) -> str:
    counts = "".join(
        f"<span>{_badge(category)} {n}</span>" for category, n in report.tally().items()
    )
    suites = report.suite_tallies()
    suite_rows = "".join(
        f"<tr><td>{_e(SUITE_TITLES.get(suite, suite))}</td><td>{_verdict_badge(judge(tally))}</td>"
        + "".join(f"<td>{n}</td>" for n in tally.values())
        + "</tr>"
        for suite, tally in suites.items()
    )
    environment = [
        ("Target", report.target),
        ("Profile", report.profile or "none (a URL given on the command line)"),
        ("Adapter version", report.adapter_version or "not known (the adapter does not say)"),
        ("Started", report.started),
        ("Finished", report.finished),
        ("Test identity", json.dumps(report.identity)),
        ("Suites", ", ".join(report.suites)),
    ]
    env_rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in environment)
    notes = []
    if report.aborted:
        notes.append(f"The run did not complete: {report.aborted}.")
    if report.not_logged_out:
        notes.append(
            "Tokens the run minted and could not log out (fingerprints): "
            + ", ".join(report.not_logged_out)
        )
    note_html = "".join(f'<p class="note">{_e(note)}</p>' for note in notes)
    sections = []
    for suite in suites:
        checks = "".join(_check_html(c) for c in report.checks if c.suite == suite)
        sections.append(f"<h2>{_e(SUITE_TITLES.get(suite, suite))}</h2>{checks}")
    failing = [c for c in report.checks if c.status in (Status.FAILED, Status.ERROR)]
    attention = ""
    if failing:
        rows = "".join(
            f'<tr><td>{_badge(c.category)}</td><td class="id" style="white-space:nowrap">'
            f'<a href="#{_e(c.id)}">{_e(c.id)}</a></td>'
            f"<td>{_e(c.actual)}</td></tr>"
            for c in failing
        )
        attention = f"<h2>Needs attention</h2><table>{rows}</table>"
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>Verify {_e(report.verdict)}: {_e(report.target)}</title><style>{_CSS}</style>"
        f"<script>{_SCRIPT}</script></head><body>"
        f"<h1>Adapter verification: {_e(report.headline())}</h1>"
        f'<p class="counts">{counts}</p>{note_html}'
        f'<table class="env">{env_rows}</table>'
        "<h2>Summary per suite</h2><table><tr><th>Suite</th><th>Verdict</th>"
        + "".join(f"<th>{_e(category)}</th>" for category in Category)
        + f"</tr>{suite_rows}</table>{attention}{''.join(sections)}"
        '<p class="muted">Secrets and tokens are masked: a token is shown by the first 8 hex '
        "digits of its SHA-256. Made by tv-adapter-console verify.</p></body></html>\n"
    )
