"""`tv-adapter-console demo`: the integration flow with no window, against a fresh adapter.

The adapter runs in-process on a temporary data directory with a throw-away secret and keys
(no keyring needed), so the run can be repeated anywhere. Each stage is printed as it happens;
the transcript (JSON, tokens masked) is written at the end. Exit 0 when the flow completed,
2 when it could not be acted out.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import textwrap
from pathlib import Path

from adapter_core.embedded import EmbeddedAdapter, EmbeddedAdapterError
from adapter_core.tokens.keyring import KeyRing
from console.cli import PROG
from console.demo.flow import ClientAreaForm, DemoError, DemoFlow
from console.demo.stages import CASE_TITLES, STAGES, Case
from console.services.export import ExportError, write_json

EXIT_DONE, EXIT_NOT_DONE = 0, 2
WIDTH = 96


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} demo",
        description="Act out the TradingView integration flow (the source document's 21 "
        "stages) against a fresh embedded adapter, with no window.",
    )
    parser.add_argument("--case", required=True, choices=[str(c) for c in Case], help=", ".join(
        CASE_TITLES.values()
    ))  # fmt: skip
    parser.add_argument(
        "--logout",
        choices=("tradingview", "crm"),
        default="tradingview",
        help="who ends the session: the trader in TradingView, or the broker's CRM",
    )
    parser.add_argument("--link", type=int, action="append", metavar="N",
                        help="case C: an account to link (repeatable; default: all of the "
                        "trader's accounts with the broker)")  # fmt: skip
    parser.add_argument("--transcript", type=Path, metavar="FILE", help="write the JSON transcript")
    return parser


def demo_main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_NOT_DONE
    with tempfile.TemporaryDirectory(prefix="tv-adapter-demo-") as data:
        secret = secrets.token_urlsafe(32)
        adapter = EmbeddedAdapter(Path(data), KeyRing.generate(), secret, log_level="warning")
        try:
            url = adapter.start()
        except EmbeddedAdapterError as exc:
            print(f"{PROG} demo: the adapter did not start: {exc}", file=sys.stderr)
            return EXIT_NOT_DONE
        try:
            form = ClientAreaForm(link=tuple(args.link or ()))
            return asyncio.run(_act(url, secret, Case(args.case), form, args))
        finally:
            adapter.stop()


def _say(text: str, indent: str = "") -> None:
    print(textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent), flush=True)


async def _act(
    url: str, secret: str, case: Case, form: ClientAreaForm, args: argparse.Namespace
) -> int:
    flow = DemoFlow(url, secret, case, form=form)
    _say(f"Case {CASE_TITLES[case]} (adapter {url})")
    try:
        await flow.prepare()
        for exchange in flow.setup:
            _say(f"set-up: {exchange.method} {_path(exchange.url)} → {exchange.status}", "  ")
        while not flow.finished:
            stage = await flow.advance()
            _say(f"{stage.number:2}/{len(STAGES)} {stage.title}")
            if not stage.applies(case):
                _say(f"(does not apply to case {case}: {stage.skipped_because})", "      ")
                continue
            _say(stage.narration, "      ")
            for exchange in flow.exchanges[stage.number]:
                _say(f"→ {exchange.method} {_path(exchange.url)} → {exchange.status}", "      ")
        who = "the trader in TradingView" if args.logout == "tradingview" else "the broker's CRM"
        _say(f"Logout by {who}")
        await flow.logout(args.logout)
        for exchange in flow.logout_exchanges:
            _say(f"→ {exchange.method} {_path(exchange.url)} → {exchange.status}", "      ")
    except DemoError as exc:
        print(f"{PROG} demo: {exc}", file=sys.stderr)
        return EXIT_NOT_DONE
    finally:
        await flow.aclose()
        if args.transcript is not None:
            try:
                write_json(args.transcript, flow.transcript())
                _say(f"Wrote {args.transcript}")
            except ExportError as exc:
                print(f"{PROG} demo: {exc}", file=sys.stderr)
    refused = flow.logout_exchanges[-1].status == 401
    _say("The session ended: the adapter refused the token (401)." if refused else
         "The adapter still accepted the token after the logout.")  # fmt: skip
    return EXIT_DONE if refused else EXIT_NOT_DONE


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].partition("/")[2]
