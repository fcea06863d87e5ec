"""The demo's transcript as one self-contained HTML page (no external assets, printable)."""

from __future__ import annotations

import html
import json
from typing import Any

from console.demo.stages import CASE_TITLES, Case

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f1f1f;max-width:980px;
margin:24px auto;padding:0 16px}h1{font-size:22px}h2{font-size:17px;margin:22px 0 4px}
.skip{color:#888}.n{display:inline-block;min-width:2.2em;color:#666}
pre{background:#f6f6f6;border:1px solid #e4e4e4;padding:8px;white-space:pre-wrap;
word-break:break-all;font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
.x{margin:4px 0 4px 2.2em}.bad{color:#c62828}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _exchanges(items: list[dict[str, Any]]) -> str:
    parts = []
    for item in items:
        status = item.get("status")
        cls = ' class="bad"' if isinstance(status, int) and status >= 400 else ""
        request = json.dumps(item.get("request"), indent=2, ensure_ascii=False)
        response = json.dumps(item.get("response"), indent=2, ensure_ascii=False)
        parts.append(
            f'<div class="x"><b>{_e(item.get("method"))} {_e(item.get("path"))}</b> → '
            f"<span{cls}>{_e(status)}</span><details><summary>request and answer</summary>"
            f"<pre>{_e(request)}</pre><pre>{_e(response)}</pre></details></div>"
        )
    return "".join(parts)


def transcript_html(transcript: dict[str, Any]) -> str:
    case = Case(transcript["case"])
    steps = []
    for step in transcript["steps"]:
        cls = "" if step["applies"] else ' class="skip"'
        steps.append(
            f'<h2{cls}><span class="n">{step["number"]}.</span>{_e(step["title"])}</h2>'
            f"<p{cls}>{_e(step['narration'])}</p>{_exchanges(step['exchanges'])}"
        )
    logout = transcript.get("logout")
    logout_html = ""
    if logout:
        who = "the trader in TradingView" if logout["by"] == "tradingview" else "the broker's CRM"
        logout_html = f"<h2>Logout by {_e(who)}</h2>{_exchanges(logout['exchanges'])}"
    setup = transcript.get("setup") or []
    setup_html = f"<h2>Set-up</h2>{_exchanges(setup)}" if setup else ""
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>TradingView integration flow, case {_e(case)}</title><style>{_CSS}</style>"
        "</head><body><h1>TradingView integration flow</h1>"
        f"<p>Case {_e(CASE_TITLES[case])}. User {_e(transcript.get('userId'))}, accounts "
        f"{_e(', '.join(map(str, transcript.get('accounts') or [])))}.</p>"
        f"{setup_html}{''.join(steps)}{logout_html}"
        "<p class=skip>Secrets and tokens are masked (a token by the first 8 hex digits of its "
        "SHA-256). Made by tv-adapter-console.</p></body></html>\n"
    )
