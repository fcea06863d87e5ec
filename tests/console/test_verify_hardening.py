"""The review's findings on the conformance engine, each proved against a real HTTP server.

The server is tests/support/quirky_adapter.py: a small independent adapter on 127.0.0.1 whose
quirks (how it escapes JSON, what it echoes, how it shapes tokens, what it grants...) a test
switches on. Without quirks it passes every check; each test below switches on the quirk a
finding was about and looks at what the run did and at everything a person would read
afterwards: the JSON, HTML and JUnit reports and the GUI's exchange pane.

Runs poll for under two seconds with two tabs, so the module takes a few seconds.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from console.verify.catalogue import DEFAULT_SUITES, SUITES, Check, catalogue
from console.verify.cli import verify_main
from console.verify.context import RunOptions, Target
from console.verify.masking import SECRET_LABEL, Masker, token_label
from console.verify.model import CANCELLED, CheckResult, RunReport, Status
from console.verify.reports import html_report, junit_xml
from console.verify.runner import Run
from console.views.verify_detail import exchange_text
from tests.support.quirky_adapter import (
    DEFAULT_SECRET,
    Quirks,
    QuirkyAdapter,
    encode,
    path_is_orders,
)

LATENCY_TABS = 2
LATENCY_SECONDS = 1.0
RUN_TIMEOUT = 15.0
"""No run here may take longer; a regression that sleeps through a 60 s interval fails fast."""
FOLLOWER_FAILED = "A follower of the verify run failed"
CANARY = re.compile(r"[A-Za-z0-9]{10,}")
"""Letter runs of a secret or token this long are unique: finding one anywhere is a leak,
whatever punctuation (escaped or not) surrounds it."""
NON_ASCII_SECRET = "Qk/CanarySecret7Xw-pässwörd-Tail9Zr4Qm"
WRONG_SECRET = "Wrong/SecretCanary42<&>x"
POLL_EVERY_MINUTE = {"quotes": 60000, "orders": 60000, "positions": 60000, "accountManager": 60000}
TRADINGVIEW_MAXIMA = {"orders": 1000.0, "positions": 1500.0, "state": 1500.0, "quotes": 1000.0}
"""TradingView's longest intervals, per polled endpoint (`state` is paced by accountManager)."""


@pytest.fixture(scope="module")
def served() -> Iterator[QuirkyAdapter]:
    with QuirkyAdapter() as adapter:
        yield adapter


@pytest.fixture
def quirky(served: QuirkyAdapter) -> Iterator[QuirkyAdapter]:
    """The module's adapter without quirks and with nothing minted yet; reset after the test."""
    served.use()
    yield served
    served.use()


def new_run(
    url: str,
    secret: str,
    suites: tuple[str, ...],
    *,
    allow_trading: bool = False,
    seconds: float = LATENCY_SECONDS,
    only: Iterable[str] | None = None,
    on_started: Callable[[Check], None] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> Run:
    options = RunOptions(
        suites,
        allow_trading=allow_trading,
        latency_tabs=LATENCY_TABS,
        latency_seconds=seconds,
        only=frozenset(only) if only is not None else None,
    )
    return Run(Target(url, secret), options, on_started=on_started, on_result=on_result)


def finish(run: Run) -> RunReport:
    return asyncio.run(asyncio.wait_for(run.run(), RUN_TIMEOUT))


def run_checks(url: str, secret: str, suites: tuple[str, ...], **options: Any) -> RunReport:
    return finish(new_run(url, secret, suites, **options))


def result(report: RunReport, check_id: str) -> CheckResult:
    return next(check for check in report.checks if check.id == check_id)


def not_passed(report: RunReport) -> dict[str, tuple[Status, str]]:
    return {c.id: (c.status, c.actual) for c in report.checks if c.status is not Status.PASSED}


def ids(suites: tuple[str, ...]) -> list[str]:
    return [check.id for check in catalogue() if check.suite in suites]


# Looking for leaks


def _escaped(value: str, escape: Callable[[str], str]) -> str:
    return "".join(escape(char) for char in value)


def spellings(value: str) -> set[str]:
    """The ways `value` can be written in a JSON body, a URL or an HTML page."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        *(encode(value, style).decode()[1:-1] for style in ("php", "go", "upper", "all")),
        _escaped(value, lambda c: f"\\u{ord(c):04X}" if c in "<>&" else c),
        _escaped(value, lambda c: f"\\u{ord(c):04x}" if not c.isalnum() else c),
        quote(value, safe=""),
        quote_plus(value),
    }
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), form) for form in forms}
    forms |= {html.escape(form) for form in forms} | {html.escape(form, False) for form in forms}
    return forms


def shown(report: RunReport) -> dict[str, str]:
    """Everything a person reads about the run: the three reports and the GUI exchange pane."""
    texts = {
        "JSON report": json.dumps(report.to_json(), ensure_ascii=False),
        "JSON report (ASCII)": json.dumps(report.to_json()),
        "HTML report": html_report(report),
        "JUnit report": junit_xml(report),
    }
    for check in report.checks:
        for number, exchange in enumerate(check.exchanges):
            texts[f"GUI pane, {check.id} exchange {number}"] = exchange_text(exchange)
    return texts


def leaks(texts: dict[str, str], values: Iterable[str]) -> list[str]:
    """Where a value (secret or token), in any spelling, or a letter run of one, shows."""
    found = []
    for value in values:
        pieces = spellings(value) | set(CANARY.findall(value))
        for where, text in texts.items():
            found += [f"{where}: {piece!r}" for piece in pieces if piece in text]
    return found


def test_leaks_sees_every_spelling_and_not_the_labels() -> None:
    secret = DEFAULT_SECRET
    for style in ("php", "go", "upper", "all"):
        document = encode({"errmsg": f"bad {secret}"}, style).decode()
        assert leaks({"body": document}, [secret]), style
        assert leaks({"page": html.escape(document)}, [secret]), style
    assert leaks({"url": f"?s={quote(secret, safe='')}"}, [secret])
    assert leaks({"half": secret[:20]}, [secret]), "a letter run alone is a leak"
    masker = Masker([secret])
    assert leaks({"masked": masker.text(secret), "label": token_label(secret)}, [secret]) == []


def test_the_quirky_adapter_conforms_without_quirks(quirky: QuirkyAdapter) -> None:
    """The baseline: every failure below is its quirk's, not the test adapter's."""
    report = run_checks(quirky.url, quirky.secret, SUITES, allow_trading=True)
    assert [check.id for check in report.checks] == ids(SUITES)
    assert not_passed(report) == {
        "tls.certificate": (Status.SKIPPED, result(report, "tls.certificate").actual)
    }
    assert report.aborted is None
    assert report.not_logged_out == []
    assert len(quirky.issued) > 5
    assert quirky.live_tokens == []
    assert quirky.working_orders == []
    assert leaks(shown(report), [quirky.secret, *quirky.issued]) == []


# 1. A secret escaped in a way the masker did not know


@pytest.mark.parametrize("escape", ["php", "go", "upper", "all"])
def test_a_secret_and_tokens_echoed_with_foreign_escaping_are_masked_everywhere(
    quirky: QuirkyAdapter, escape: str
) -> None:
    quirks = Quirks(escape=escape, echo_credentials=True)  # type: ignore[arg-type]
    quirky.use(quirks)
    secret = quirky.secret
    assert encode(secret, quirks.escape) != json.dumps(secret).encode(), "a foreign spelling"
    report = run_checks(quirky.url, secret, ("broker", "tradingview"))
    assert not_passed(report) == {}
    assert report.aborted is None
    assert leaks(shown(report), [secret, *quirky.issued]) == []
    # ...because they were labelled where the adapter echoed them, not because it did not
    bodies = [e.response_body for c in report.checks for e in c.exchanges]
    assert sum(SECRET_LABEL in body for body in bodies) >= 9, "each invalid body's errmsg"
    assert any("‹token " in body and "logged out" in body for body in bodies)


# 2. A token wrapped in an object, too short for the token-like heuristic


@pytest.mark.parametrize("key", ["token", "access"])
def test_a_short_token_inside_an_object_is_masked_and_named(
    quirky: QuirkyAdapter, key: str
) -> None:
    quirky.use(Quirks(token_shape="object", token_key=key, short_tokens=True))
    report = run_checks(quirky.url, quirky.secret, ("broker", "tradingview"))
    seed = result(report, "mint.seed-example")
    assert seed.status is Status.FAILED
    assert "HTTP 200 with s:ok, but d is not a token string (dict)" in seed.actual
    issued = quirky.issued
    assert issued
    assert all(len(token) == 16 for token in issued)
    assert leaks(shown(report), [quirky.secret, *issued]) == []
    minted = json.loads(seed.exchanges[0].response_body)
    assert minted == {"s": "ok", "d": {key: token_label(issued[0])}}


def test_a_token_inside_an_object_is_logged_out_or_reported(quirky: QuirkyAdapter) -> None:
    quirky.use(Quirks(token_shape="object"))
    report = run_checks(quirky.url, quirky.secret, ("broker",))
    assert quirky.issued
    assert quirky.live_tokens == [] or report.not_logged_out


# 3. A broker secret shorter than 8 characters


def test_a_short_secret_aborts_before_anything_is_sent(quirky: QuirkyAdapter) -> None:
    short = "Ab/<&x7"
    quirky.use(secret=short)
    report = run_checks(quirky.url, short, DEFAULT_SUITES)
    assert quirky.requests == []
    assert report.aborted is not None
    assert "shorter than 8 characters" in report.aborted
    assert "nothing was sent" in report.aborted
    assert [check.id for check in report.checks] == ids(DEFAULT_SUITES)
    assert {check.status for check in report.checks} == {Status.ERROR}
    assert all(check.actual == report.aborted and not check.exchanges for check in report.checks)


def test_a_secret_of_8_characters_is_used(quirky: QuirkyAdapter) -> None:
    eight = "Ab/<&x7y"
    quirky.use(secret=eight)
    report = run_checks(quirky.url, eight, ("broker",))
    assert report.aborted is None
    assert not_passed(report) == {}
    assert quirky.live_tokens == []


# 4. A secret no HTTP header can carry


def test_a_non_ascii_secret_aborts_cleanly_without_showing_it(
    quirky: QuirkyAdapter, capsys: pytest.CaptureFixture[str]
) -> None:
    quirky.use(secret=NON_ASCII_SECRET)
    report = run_checks(quirky.url, NON_ASCII_SECRET, DEFAULT_SUITES)
    assert quirky.requests == [], "refused before the first request left"
    assert report.aborted is not None
    assert "characters an HTTP header cannot carry" in report.aborted
    assert {check.status for check in report.checks} == {Status.ERROR}
    texts = shown(report) | dict(zip(("stdout", "stderr"), capsys.readouterr(), strict=True))
    assert leaks(texts, [NON_ASCII_SECRET]) == []
    for text in texts.values():
        for word in ("Traceback", "UnicodeEncodeError", "codec", "ä", "ö"):
            assert word not in text
        assert not re.search(r"in position \d", text)


@pytest.mark.parametrize(
    "secret",
    ['Qk/Canary"Secret7Xw\nTail9Zr4Qm', "Qk/CanarySecret7Xw\x00Tail9Zr4Qm"],
    ids=["quote-and-newline", "nul"],
)
def test_a_secret_with_a_control_character_aborts_without_showing_it(
    quirky: QuirkyAdapter, secret: str
) -> None:
    """Not from the command (it refuses such a secret) but from a profile's stored secret:
    h11 refuses the header and quotes it whole (`Illegal header value b'Bearer ...'`), in a
    spelling (bytes repr) the masker does not know."""
    quirky.use(secret=secret)
    report = run_checks(quirky.url, secret, DEFAULT_SUITES)
    assert quirky.requests == []
    assert report.aborted is not None
    assert "characters an HTTP header cannot carry" in report.aborted
    assert {check.status for check in report.checks} == {Status.ERROR}
    assert leaks(shown(report), [secret]) == []


def test_the_command_exits_2_on_a_non_ascii_secret(
    quirky: QuirkyAdapter,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    quirky.use(secret=NON_ASCII_SECRET)
    out, err, written = verify_command(
        monkeypatch, capsys, tmp_path, quirky.url, NON_ASCII_SECRET, status=2
    )
    assert "characters an HTTP header cannot carry" in err
    assert quirky.requests == []
    assert leaks({"stdout": out, "stderr": err, "report": written}, [NON_ASCII_SECRET]) == []
    assert "Traceback" not in out + err


def verify_command(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    url: str,
    secret: str,
    *,
    status: int,
) -> tuple[str, str, str]:
    """`printf SECRET | verify --url URL --secret-stdin --json FILE`, in-process: (out, err,
    the JSON report); the exit status must be `status`."""
    stdin = io.TextIOWrapper(io.BytesIO(secret.encode("utf-8") + b"\n"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    path = tmp_path / "report.json"
    argv = ["--url", url, "--secret-stdin", "--json", str(path), "--tabs", "2", "--seconds", "1"]
    assert verify_main(argv) == status
    out, err = capsys.readouterr()
    return out, err, path.read_text("utf-8")


# 5. A wrong secret or a wrong base URL


@pytest.mark.parametrize("refusal", [401, 403])
def test_a_refused_secret_stops_the_run_after_the_probe(
    quirky: QuirkyAdapter, refusal: int
) -> None:
    quirky.use(Quirks(refusal_status=refusal, echo_credentials=True))
    report = run_checks(quirky.url, WRONG_SECRET, DEFAULT_SUITES)
    assert report.aborted is not None
    assert f"refuses this broker secret (HTTP {refusal})" in report.aborted
    assert {check.status for check in report.checks} == {Status.ERROR}
    assert quirky.requests == [("POST", "/generate/token")], "the probe alone"
    assert quirky.issued == []
    assert leaks(shown(report), [WRONG_SECRET]) == []


@pytest.mark.parametrize("unknown", [404, 405])
def test_a_wrong_base_url_stops_the_run_after_the_probe(
    quirky: QuirkyAdapter, unknown: int
) -> None:
    quirky.use(Quirks(unknown_status=unknown))
    report = run_checks(f"{quirky.url}/api/v1", quirky.secret, DEFAULT_SUITES)
    assert report.aborted is not None
    assert f"answered HTTP {unknown}" in report.aborted
    assert f"{quirky.url}/api/v1 is not the adapter's base URL" in report.aborted
    assert {check.status for check in report.checks} == {Status.ERROR}
    assert quirky.requests == [("POST", "/api/v1/generate/token")]
    assert leaks(shown(report), [quirky.secret]) == []


@pytest.mark.parametrize("mistake", ["secret", "prefix"])
def test_the_command_exits_2_on_a_refused_secret_or_a_wrong_base_url(
    quirky: QuirkyAdapter,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    mistake: str,
) -> None:
    url, secret = quirky.url, quirky.secret
    if mistake == "secret":
        secret, reason = WRONG_SECRET, "refuses this broker secret (HTTP 401)"
    else:
        url, reason = f"{url}/api", "is not the adapter's base URL"
    out, err, written = verify_command(monkeypatch, capsys, tmp_path, url, secret, status=2)
    assert "the run could not be completed: " in err
    assert reason in err
    results = [line for line in out.splitlines() if line[:1].isupper() and "  " in line]
    assert results
    assert all(line.startswith("ERROR") for line in results), results
    document = json.loads(written)
    assert reason in document["aborted"]
    assert {check["status"] for check in document["checks"]} == {"error"}
    assert leaks({"stdout": out, "stderr": err, "report": written}, [secret]) == []
    assert quirky.issued == []


# 6. A follower that fails


@pytest.mark.expect_log("console.verify.runner", FOLLOWER_FAILED)
@pytest.mark.parametrize("follower", ["on_result", "on_started"])
def test_a_failing_follower_neither_ends_the_run_nor_keeps_its_tokens(
    quirky: QuirkyAdapter, caplog: pytest.LogCaptureFixture, follower: str
) -> None:
    told: list[object] = []

    def closed_pipe(value: object) -> None:
        told.append(value)
        raise BrokenPipeError(32, "Broken pipe")

    suites = ("broker", "tradingview")
    report = run_checks(quirky.url, quirky.secret, suites, **{follower: closed_pipe})
    assert [check.id for check in report.checks] == ids(suites), "every check ran"
    assert len(told) == len(report.checks), "and the follower was still told of each"
    assert not_passed(report) == {}
    assert report.aborted is None
    assert report.not_logged_out == []
    assert len(quirky.issued) > 5
    assert quirky.live_tokens == []
    failures = [r for r in caplog.records if FOLLOWER_FAILED in r.getMessage()]
    assert len(failures) == len(report.checks)
    assert all(r.levelno == logging.ERROR and "BrokenPipeError" in r.getMessage() for r in failures)


# 7. A token minted for the connection probe's empty body


def test_a_token_minted_for_the_probe_is_logged_out(quirky: QuirkyAdapter) -> None:
    quirky.use(Quirks(lax_empty_body=True))
    report = run_checks(quirky.url, quirky.secret, ("broker",))
    assert quirky.requests[0] == ("POST", "/generate/token")
    probe_token = quirky.issued[0]
    assert report.aborted is None
    assert report.not_logged_out == []
    assert probe_token not in quirky.live_tokens
    assert quirky.live_tokens == []
    assert leaks(shown(report), [quirky.secret, *quirky.issued]) == []


# 8. Polling with a long pullingInterval


def test_polling_clamps_a_long_interval_and_stops_at_its_deadline(quirky: QuirkyAdapter) -> None:
    quirky.use(Quirks(pulling_interval=POLL_EVERY_MINUTE))
    seconds = 1.8
    report = run_checks(quirky.url, quirky.secret, ("performance",), seconds=seconds)
    polling = result(report, "latency.polling")
    assert polling.status is Status.PASSED, polling.actual
    endpoints = polling.details["endpoints"]
    assert {name: f["interval_ms"] for name, f in endpoints.items()} == TRADINGVIEW_MAXIMA
    for name, figures in endpoints.items():
        assert figures["errors"] == 0, name
        assert figures["count"] >= 2 * LATENCY_TABS, f"{name} polled once per tab, then slept"
    assert polling.duration_ms < (seconds + 0.9) * 1000, "slept past the deadline"
    assert quirky.live_tokens == []


def test_cancelling_wakes_polling_from_its_sleep(quirky: QuirkyAdapter) -> None:
    quirky.use(Quirks(pulling_interval=POLL_EVERY_MINUTE))
    run: Run | None = None

    def cancel_soon(check: Check) -> None:
        if check.id == "latency.polling":
            assert run is not None
            asyncio.get_running_loop().call_later(0.2, run.cancel)

    run = new_run(quirky.url, quirky.secret, ("performance",), seconds=30, on_started=cancel_soon)
    report = finish(run)
    polling = result(report, "latency.polling")
    assert polling.status is Status.SKIPPED
    assert "cancelled" in polling.actual
    assert polling.duration_ms < 1000, "the clamped intervals (1-1.5 s) were slept through"
    assert report.aborted == CANCELLED
    assert quirky.live_tokens == []


def test_polling_that_measured_fewer_answers_than_tabs_fails(quirky: QuirkyAdapter) -> None:
    report = run_checks(quirky.url, quirky.secret, ("performance",), seconds=1e-9)
    polling = result(report, "latency.polling")
    assert polling.status is Status.FAILED
    for name in TRADINGVIEW_MAXIMA:
        assert f"{name} answered only 0 times for {LATENCY_TABS} tabs" in polling.actual


# 9. Quotes that answer nothing for an asked symbol


@pytest.mark.parametrize(
    ("quotes", "unquoted"),
    [
        ("empty", "EURUSD, GBPUSD, USDJPY"),
        ("no-v", "EURUSD, GBPUSD, USDJPY"),
        ("one-error", "GBPUSD"),
    ],
)
def test_quotes_must_answer_each_symbol_with_a_value(
    quirky: QuirkyAdapter, quotes: str, unquoted: str
) -> None:
    quirky.use(Quirks(quotes=quotes))  # type: ignore[arg-type]
    report = run_checks(quirky.url, quirky.secret, ("tradingview",), only=["quotes.schema"])
    checked = result(report, "quotes.schema")
    assert checked.status is Status.FAILED
    assert checked.actual == (f"no quote (s:ok with v) for {unquoted}, which the account lists")
    assert checked.exchanges
    assert quirky.live_tokens == []


# 10. A preflight cache of zero seconds


@pytest.mark.parametrize(("max_age", "shown_as"), [("0", "0"), ("-5", "-5"), (None, "missing")])
def test_the_preflight_must_be_cached_for_a_positive_time(
    quirky: QuirkyAdapter, max_age: str | None, shown_as: str
) -> None:
    quirky.use(Quirks(max_age=max_age))
    report = run_checks(quirky.url, quirky.secret, ("browser",), only=["cors.tradingview-origin"])
    checked = result(report, "cors.tradingview-origin")
    assert checked.status is Status.FAILED
    assert checked.actual == (
        f"the preflight's Access-Control-Max-Age is {shown_as} "
        "(browsers then repeat it before every call)"
    )


# 11. The trading check's order


def test_the_limit_order_is_cancelled_even_when_the_check_fails_before(
    quirky: QuirkyAdapter,
) -> None:
    quirky.use(Quirks(orders_fail_after_placing=True))
    report = run_checks(quirky.url, quirky.secret, ("trading",), allow_trading=True)
    trading = result(report, "trading.limit-order")
    assert trading.status is Status.FAILED
    assert "answered HTTP 500" in trading.actual
    placed = [r for r in quirky.requests if r[0] == "POST" and r[1].endswith("/orders")]
    assert len(placed) == 1
    assert quirky.working_orders == [], "the order was left working on the account"
    assert quirky.live_tokens == []


def test_the_limit_order_is_cancelled_when_the_run_is_cancelled_meanwhile(
    quirky: QuirkyAdapter,
) -> None:
    """The console quitting cancels the run's task while the order list is being read."""
    quirky.use(Quirks(orders_delay=0.5))

    def reading_orders() -> bool:
        """The order was placed, its id received, and the (slow) order list asked for."""
        return any(m == "GET" and path_is_orders(path) for m, path in quirky.requests)

    async def quit_while_the_order_works() -> None:
        task = asyncio.create_task(
            new_run(quirky.url, quirky.secret, ("trading",), allow_trading=True).run()
        )
        deadline = asyncio.get_running_loop().time() + RUN_TIMEOUT
        while not reading_orders() and not task.done():
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
        assert quirky.working_orders
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(quit_while_the_order_works())
    assert len(quirky.issued) == 1
    assert quirky.working_orders == [], "the order was left working on the account"
    assert quirky.live_tokens == []
