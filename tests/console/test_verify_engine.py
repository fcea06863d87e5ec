"""The conformance engine against the real adapter, in-process, with and without defects.

One adapter serves the module (tests/support/defective_adapter.py); a test switches on the
defect it needs, and each defect must fail exactly the check written for it. Runs poll for
about a second with two tabs, so the whole module takes a few seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import re
import shlex
import socket
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest

from adapter_core import __version__
from console.services.client import RawExchange
from console.verify.catalogue import DEFAULT_SUITES, SUITES, Check, catalogue
from console.verify.checks_browser import LOOK_ALIKE_ORIGINS
from console.verify.context import RunOptions, Target
from console.verify.masking import (
    SECRET_LABEL,
    WRONG_SECRET_LABEL,
    Masker,
    fingerprint,
    token_label,
)
from console.verify.model import (
    CANCELLED,
    Category,
    CheckResult,
    RunReport,
    Status,
    Verdict,
    judge,
)
from console.verify.reports import (
    html_report,
    junit_xml,
    write_html_report,
    write_json_report,
    write_junit_report,
)
from console.verify.runner import Run
from tests.support.defective_adapter import DEFECTS, DefectiveAdapter

LATENCY_TABS = 2
LATENCY_SECONDS = 1.0
ALL_IDS = [check.id for check in catalogue()]
LOOPBACK_SKIP = "tls.certificate"
"""Plain HTTP on 127.0.0.1: the one check a loopback adapter skips, with a reason."""
FRAGMENT = 24
"""A run of this many characters of a secret or token in a report counts as a leak."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DefectiveAdapter]:
    with DefectiveAdapter(tmp_path_factory.mktemp("verify") / "data") as adapter:
        yield adapter


@pytest.fixture
def adapter(served: DefectiveAdapter) -> Iterator[DefectiveAdapter]:
    """The module's adapter without a defect; whatever a test switches on is switched off."""
    served.use(None)
    yield served
    served.use(None)


def run_checks(
    url: str,
    secret: str,
    suites: tuple[str, ...] = DEFAULT_SUITES,
    *,
    allow_trading: bool = False,
    on_result: Callable[[CheckResult], None] | None = None,
) -> RunReport:
    options = RunOptions(
        suites,
        allow_trading=allow_trading,
        latency_tabs=LATENCY_TABS,
        latency_seconds=LATENCY_SECONDS,
    )
    return asyncio.run(Run(Target(url, secret), options, on_result=on_result).run())


def statuses(report: RunReport) -> dict[str, Status]:
    return {check.id: check.status for check in report.checks}


def result(report: RunReport, check_id: str) -> CheckResult:
    return next(check for check in report.checks if check.id == check_id)


def refused_by_tradingview(url: str, token: str) -> bool:
    """The token no longer opens /accounts: it was logged out."""
    response = httpx.get(
        f"{url}/accounts",
        params={"locale": "en"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return response.status_code == 401


@pytest.fixture(scope="module")
def conforming(served: DefectiveAdapter) -> tuple[RunReport, list[str]]:
    """Every suite, trading included, against the adapter as it is; and the tokens it issued."""
    served.use(None)
    before = len(served.issued)
    report = run_checks(served.url, served.secret, SUITES, allow_trading=True)
    return report, served.issued[before:]


# (a) A conforming adapter


def test_a_conforming_adapter_passes_every_check(
    adapter: DefectiveAdapter, conforming: tuple[RunReport, list[str]]
) -> None:
    report, _ = conforming
    assert [check.id for check in report.checks] == ALL_IDS
    not_passed = {i: s for i, s in statuses(report).items() if s is not Status.PASSED}
    assert not_passed == {LOOPBACK_SKIP: Status.SKIPPED}, [
        (c.id, c.actual) for c in report.checks if c.status is not Status.PASSED
    ]
    assert "loopback" in result(report, LOOPBACK_SKIP).actual
    assert "working, then cancelled" in result(report, "trading.limit-order").actual
    assert report.aborted is None
    assert not report.failed
    assert report.adapter_version == __version__
    assert report.summary() == {
        "passed": len(ALL_IDS) - 1,
        "failed": 0,
        "warning": 0,
        "skipped": 1,
        "error": 0,
    }
    latency = result(report, "latency.polling").details
    assert latency["tabs"] == LATENCY_TABS
    assert set(latency["endpoints"]) == {"orders", "positions", "state", "quotes"}
    assert all(figures["count"] > 0 for figures in latency["endpoints"].values())


def test_the_run_logs_out_every_token_it_minted(
    adapter: DefectiveAdapter, conforming: tuple[RunReport, list[str]]
) -> None:
    report, issued = conforming
    assert report.not_logged_out == []
    assert len(issued) > 1
    still_valid = [token for token in issued if not refused_by_tradingview(adapter.url, token)]
    assert still_valid == []


# (b) Each defect fails its check, and only it


DEFECT_MATRIX = [
    ("logout-keeps-token", "token.revoked-refused"),
    ("cors-any-origin", "cors.foreign-origin-refused"),
    ("accounts-beyond-token", "accounts.scope"),
    ("lax-bodies", "mint.invalid-bodies"),
    ("missing-field", "accounts.schema"),
    ("any-secret", "mint.wrong-secret"),
]


def test_the_matrix_covers_every_defect() -> None:
    assert sorted(defect for defect, _ in DEFECT_MATRIX) == sorted(DEFECTS)


@pytest.mark.parametrize(("defect", "failing"), DEFECT_MATRIX, ids=[d for d, _ in DEFECT_MATRIX])
def test_a_defect_fails_exactly_its_check(
    adapter: DefectiveAdapter, defect: str, failing: str
) -> None:
    adapter.use(defect)
    report = run_checks(adapter.url, adapter.secret)
    expected = [check.id for check in catalogue() if check.suite in DEFAULT_SUITES]
    assert [check.id for check in report.checks] == expected
    not_passed = {i: s for i, s in statuses(report).items() if s is not Status.PASSED}
    assert not_passed == {failing: Status.FAILED, LOOPBACK_SKIP: Status.SKIPPED}, [
        (c.id, c.status, c.actual) for c in report.checks if c.status is not Status.PASSED
    ]
    failed = result(report, failing)
    assert failed.actual
    assert failed.exchanges, "a failed check shows the exchanges that failed it"
    assert report.failed
    assert report.aborted is None


# (c) An adapter with only the broker endpoints


def test_the_look_alike_preflights_are_recorded_as_expected_refusals(
    served: DefectiveAdapter,
) -> None:
    """The Activity log shows them as "400 (expected)", not as red failures."""
    served.use(None)
    recorded: list[RawExchange] = []
    options = RunOptions(("browser",), only=frozenset({"cors.foreign-origin-refused"}))
    run = Run(Target(served.url, served.secret), options, also_record=recorded.append)
    report = asyncio.run(run.run())
    assert statuses(report) == {"cors.foreign-origin-refused": Status.PASSED}
    preflights = [e for e in recorded if e.method == "OPTIONS"]
    assert len(preflights) == len(LOOK_ALIKE_ORIGINS)
    assert {(e.status, e.expected_statuses) for e in preflights} == {(400, frozenset({400}))}


def test_a_broker_only_adapter_passes_the_broker_suite_and_skips_the_rest(
    tmp_path: Path,
) -> None:
    with DefectiveAdapter(tmp_path / "data", broker_only=True) as broker:
        report = run_checks(broker.url, broker.secret, SUITES, allow_trading=True)
        issued = list(broker.issued)
        assert issued
        assert [token for token in issued if not _logged_out_already(broker.url, token)] == []
    assert [check.id for check in report.checks] == ALL_IDS
    for check in report.checks:
        if check.suite == "broker":
            assert check.status is Status.PASSED, (check.id, check.actual)
        elif check.id == LOOPBACK_SKIP:
            assert check.status is Status.SKIPPED
            assert "loopback" in check.actual
        else:
            assert check.status is Status.SKIPPED, (check.id, check.status, check.actual)
            assert "not offered" in check.actual, (check.id, check.actual)
    assert not report.failed
    assert report.not_logged_out == []


def _logged_out_already(url: str, token: str) -> bool:
    """A logout of the token now is refused: the run logged it out before."""
    response = httpx.post(f"{url}/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    document = response.json()
    return document.get("s") == "error" and "already" in str(document.get("errmsg", "")).lower()


# (d) Reports hold no secret and no token


def spellings(value: str) -> set[str]:
    return {
        value,
        quote(value, safe=""),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(json.dumps(value))[3:-3],
        html.escape(value),
    }


def fragments(values: Iterable[str]) -> set[str]:
    return {value[i : i + FRAGMENT] for value in values for i in range(len(value) - FRAGMENT + 1)}


_RUN = re.compile(rf"[A-Za-z0-9_-]{{{FRAGMENT},}}")


def leaks(text: str, values: list[str]) -> list[str]:
    """Each secret or token (any spelling), or any FRAGMENT characters of one, found in text."""
    found = [spelling for value in values for spelling in spellings(value) if spelling in text]
    pieces = fragments(values)
    for match in _RUN.finditer(text):
        run = match.group()
        for i in range(len(run) - FRAGMENT + 1):
            if run[i : i + FRAGMENT] in pieces:
                found.append(run[i : i + FRAGMENT])
                break
    return found


def test_leaks_finds_a_token_in_any_spelling_or_a_piece_of_one() -> None:
    token = "AXblmP33whTPA4nDM-AUvJ1kddojBlB--gG9EM0Q2HCvQFCmh2rhsNWBlnQngmWbK6W+x/y"
    assert leaks(f"url?t={quote(token, safe='')}", [token])
    assert leaks(json.dumps({"d": token}), [token])
    assert leaks(f"<pre>{token[10:40]}…</pre>", [token])
    assert not leaks(f"<pre>{token_label(token)} {token[: FRAGMENT - 1]}</pre>", [token])


def test_reports_hold_neither_the_secret_nor_any_token(
    adapter: DefectiveAdapter, conforming: tuple[RunReport, list[str]], tmp_path: Path
) -> None:
    report, minted = conforming
    issued = list(adapter.issued)
    assert minted
    write_json_report(report, tmp_path / "r.json")
    write_junit_report(report, tmp_path / "r.xml")
    write_html_report(report, tmp_path / "r.html")
    documents = {
        "json file": (tmp_path / "r.json").read_text("utf-8"),
        "junit file": (tmp_path / "r.xml").read_text("utf-8"),
        "html file": (tmp_path / "r.html").read_text("utf-8"),
        "to_json": json.dumps(report.to_json(), ensure_ascii=False),
        "to_json ascii": json.dumps(report.to_json()),
        "round trip": json.dumps(RunReport.from_json(report.to_json()).to_json()),
    }
    for name, text in documents.items():
        assert leaks(text, [adapter.secret, *issued]) == [], name
    # ...because they were masked, not left out: the exchanges are there, labelled.
    shown = documents["to_json"]
    assert shown.count(SECRET_LABEL) >= 3
    labelled = [token for token in minted if token_label(token) in shown]
    assert len(labelled) == len(minted)
    assert "Bearer ‹token " in documents["html file"]
    assert html_report(report) == documents["html file"]
    assert junit_xml(report) == documents["junit file"]


# (e) Masking


def exchange(**changes: object) -> RawExchange:
    fields: dict[str, object] = {
        "method": "GET",
        "path": "/accounts",
        "request_headers": {},
        "request_body": "",
        "status": 200,
        "response_body": "",
        "duration_ms": 3.0,
        "error": None,
        "url": "http://127.0.0.1:8731/accounts",
    }
    fields.update(changes)
    return RawExchange(**fields)  # type: ignore[arg-type]


ODD_TOKEN = "tok+en/with=odd&chars é"
"""A credential whose URL-encoded and JSON-escaped spellings differ from it."""


def test_a_known_token_is_masked_in_every_spelling() -> None:
    masker = Masker()
    masker.add_token(ODD_TOKEN)
    text = " | ".join(
        [
            ODD_TOKEN,
            quote(ODD_TOKEN, safe=""),
            quote_plus(ODD_TOKEN),
            json.dumps(ODD_TOKEN)[1:-1],
        ]
    )
    shown = masker.text(text)
    assert shown == " | ".join([token_label(ODD_TOKEN)] * 4)
    for spelling in spellings(ODD_TOKEN):
        assert spelling not in shown


def test_a_token_in_a_query_string_is_masked_url_encoded() -> None:
    masker = Masker()
    masker.add_token(ODD_TOKEN)
    url = f"http://127.0.0.1:8731/accounts?token={quote_plus(ODD_TOKEN)}&locale=en"
    kept = masker.exchange(exchange(url=url, path=f"/accounts?token={quote_plus(ODD_TOKEN)}"))
    assert kept.url == f"http://127.0.0.1:8731/accounts?token={token_label(ODD_TOKEN)}&locale=en"


def test_the_curl_line_shows_labels_and_still_parses() -> None:
    secret = "the-broker-secret-0123456789"
    token = "opaque.token.v1+" + "A" * 20
    masker = Masker([secret])
    minted = masker.exchange(
        exchange(
            method="POST",
            path="/generate/token",
            url="http://127.0.0.1:8731/generate/token",
            request_headers={"Authorization": f"Bearer {secret}"},
            request_body='{"userId":14601}',
            response_body=json.dumps({"s": "ok", "d": token}),
        )
    )
    assert json.loads(minted.response_body) == {"s": "ok", "d": token_label(token)}
    used = masker.exchange(
        exchange(
            method="POST",
            path="/logout",
            url=f"http://127.0.0.1:8731/logout?echo={quote(token, safe='')}",
            request_headers={"Authorization": f"Bearer {token}", "Cookie": "session=abc"},
            request_body=json.dumps({"token": token}),
        )
    )
    for line in (minted.curl(), used.curl()):
        assert secret not in line
        assert token not in line
        assert quote(token, safe="") not in line
    words = shlex.split(used.curl())
    assert words[:4] == [
        "curl",
        "-X",
        "POST",
        f"http://127.0.0.1:8731/logout?echo={token_label(token)}",
    ]
    assert words[4:6] == ["-H", f"Authorization: Bearer {token_label(token)}"]
    assert words[6:8] == ["-H", "Cookie: <redacted>"]
    assert words[8] == "--data-raw"
    assert json.loads(words[9]) == {"token": token_label(token)}
    assert shlex.split(minted.curl())[5] == f"Authorization: Bearer {SECRET_LABEL}"


def test_a_bearer_credential_is_learnt_and_masked_everywhere_after() -> None:
    masker = Masker()
    credential = "short.but+long-enough"
    masker.exchange(exchange(request_headers={"Authorization": f"Bearer {credential}"}))
    assert masker.text(f"echo {credential}") == f"echo {token_label(credential)}"
    stand_in = masker.exchange(exchange(request_headers={"Authorization": "Bearer garbage"}))
    assert stand_in.request_headers == {"Authorization": "Bearer garbage"}
    assert masker.text("garbage in, garbage out") == "garbage in, garbage out"


def test_an_unknown_token_like_run_is_fingerprinted_too() -> None:
    foreign = "Zm9yZWlnbi10b2tlbi1ub2JvZHktZGVjbGFyZWQtaXQtMTIzNDU2"
    assert (
        Masker().text(f"error: bad token {foreign}.") == f"error: bad token {token_label(foreign)}."
    )
    identifier = "3f2b8c1e9a7d4e6f8b0c2d4e6f8a0b1c"  # 32 hex: an id, left readable
    assert Masker().text(identifier) == identifier


def test_the_fingerprint_is_stable_and_tells_tokens_apart() -> None:
    token = "AXblmP0zdzqhT3HMq5DL5lQI94I9vr3w1IRFolNmfwqaZE-LuhkzyEcR_UILxpAXfQMQmu1VZ"
    assert fingerprint(token) == hashlib.sha256(token.encode()).hexdigest()[:8]
    assert token_label(token) == f"‹token {fingerprint(token)}›"
    first, second = Masker(), Masker()
    first.add_token(token)
    assert first.text(token) == second.text(token) == token_label(token)
    other = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert fingerprint(other) != fingerprint(token)
    assert re.fullmatch(r"[0-9a-f]{8}", fingerprint(ODD_TOKEN))


def test_the_secret_is_labelled_not_fingerprinted() -> None:
    secret = "s3cret+with/odd=chars-and-length"
    masker = Masker([secret])
    shown = masker.text(f"{secret} {quote(secret, safe='')} {json.dumps(secret)}")
    assert shown == f'{SECRET_LABEL} {SECRET_LABEL} "{SECRET_LABEL}"'
    headers = masker.headers({"Authorization": f"Bearer {secret}", "X-Api-Key": secret})
    assert headers == {"Authorization": f"Bearer {SECRET_LABEL}", "X-Api-Key": "<redacted>"}


def test_the_made_up_wrong_secret_is_labelled_a_secret_not_a_token(
    adapter: DefectiveAdapter, conforming: tuple[RunReport, list[str]], tmp_path: Path
) -> None:
    report, _ = conforming
    [sent] = result(report, "mint.wrong-secret").exchanges
    assert sent.request_headers["Authorization"] == f"Bearer {WRONG_SECRET_LABEL}"
    write_html_report(report, tmp_path / "report.html")
    write_json_report(report, tmp_path / "report.json")
    for path in (tmp_path / "report.html", tmp_path / "report.json"):
        assert WRONG_SECRET_LABEL in path.read_text("utf-8")


# (f) An unreachable target


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_target_aborts_with_every_check_inconclusive() -> None:
    seen: list[CheckResult] = []
    report = run_checks(
        f"http://127.0.0.1:{closed_port()}",
        "a-secret-nobody-checks",
        SUITES,
        allow_trading=True,
        on_result=seen.append,
    )
    assert report.aborted is not None
    assert "Cannot connect" in report.aborted
    assert [check.id for check in report.checks] == ALL_IDS
    assert {check.status for check in report.checks} == {Status.ERROR}
    assert all(check.actual == report.aborted for check in report.checks)
    assert seen == report.checks
    assert report.failed
    assert report.adapter_version is None


def test_an_unreachable_target_s_suites_count_their_checks_as_inconclusive() -> None:
    report = run_checks(f"http://127.0.0.1:{closed_port()}", "a-secret-nobody-checks")
    suites = report.suite_tallies()
    for suite, counts in suites.items():
        total = sum(counts.values())
        assert counts == {**dict.fromkeys(Category, 0), Category.INCONCLUSIVE: total}, suite
        assert judge(counts) is Verdict.INCONCLUSIVE, suite
    markup = html_report(report)
    assert markup.count(">INCONCLUSIVE</span>") == len(suites)
    assert ">FAILED</span>" not in markup
    assert report.verdict is Verdict.INCOMPLETE
    assert report.headline() == (
        f"INCOMPLETE — the run did not complete: {len(report.checks)} inconclusive"
    )


# (g) Cancelling


def test_cancelling_skips_the_rest_and_still_logs_out(adapter: DefectiveAdapter) -> None:
    before = len(adapter.issued)
    seen: list[str] = []
    run: Run | None = None

    def cancel_after_the_first(finished: CheckResult) -> None:
        seen.append(finished.id)
        assert run is not None
        run.cancel()

    options = RunOptions(DEFAULT_SUITES, latency_tabs=LATENCY_TABS, latency_seconds=LATENCY_SECONDS)
    run = Run(Target(adapter.url, adapter.secret), options, on_result=cancel_after_the_first)
    report = asyncio.run(run.run())

    expected: list[Check] = run.checks
    assert seen == [check.id for check in expected]
    first, *rest = report.checks
    assert first.id == "mint.seed-example"
    assert first.status is Status.PASSED
    assert rest
    for check in rest:
        assert check.status is Status.SKIPPED, check.id
        assert CANCELLED in check.actual
        assert check.exchanges == []
    assert report.aborted == CANCELLED
    minted = adapter.issued[before:]
    assert len(minted) == 1, "only the first check ran"
    assert report.not_logged_out == []
    assert refused_by_tradingview(adapter.url, minted[0])


def test_cancelling_while_polling_stops_within_an_interval_and_measures_nothing(
    adapter: DefectiveAdapter,
) -> None:
    run: Run | None = None

    def cancel_soon_after(check: Check) -> None:
        if check.id == "latency.polling":
            assert run is not None
            asyncio.get_running_loop().call_later(0.2, run.cancel)

    options = RunOptions(DEFAULT_SUITES, latency_tabs=LATENCY_TABS, latency_seconds=30.0)
    run = Run(Target(adapter.url, adapter.secret), options, on_started=cancel_soon_after)
    report = asyncio.run(run.run())

    polling = result(report, "latency.polling")
    assert report.checks[-1] is polling
    assert polling.status is Status.SKIPPED
    assert "cancelled" in polling.actual
    assert polling.duration_ms < 5000, "polling stops within one interval (1 s at most)"
    assert report.aborted == CANCELLED
    assert report.not_logged_out == []
    not_passed = {i: s for i, s in statuses(report).items() if s is not Status.PASSED}
    assert not_passed == {LOOPBACK_SKIP: Status.SKIPPED, "latency.polling": Status.SKIPPED}


def test_a_cancelled_run_is_never_headlined_passed_in_any_report(
    adapter: DefectiveAdapter, tmp_path: Path
) -> None:
    run: Run | None = None

    def cancel_while_polling(check: Check) -> None:
        if check.id == "latency.polling":
            assert run is not None
            asyncio.get_running_loop().call_later(0.2, run.cancel)

    options = RunOptions(DEFAULT_SUITES, latency_tabs=LATENCY_TABS, latency_seconds=30.0)
    run = Run(Target(adapter.url, adapter.secret), options, on_started=cancel_while_polling)
    report = asyncio.run(run.run())

    passed = len(report.checks) - 2
    headline = f"CANCELLED — incomplete: {passed} passed, 1 skipped, 1 not run"
    markup = html_report(report)
    assert "Adapter verification: PASSED" not in markup
    assert f"<h1>Adapter verification: {headline}</h1>" in markup
    assert report.verdict is Verdict.CANCELLED
    assert report.headline() == headline
    assert result(report, "latency.polling").category is Category.NOT_RUN
    assert result(report, LOOPBACK_SKIP).category is Category.SKIPPED
    performance = report.suite_tallies()["performance"]
    assert judge(performance) is Verdict.INCOMPLETE
    assert f"the run did not complete: {CANCELLED}" in junit_xml(report)
    write_json_report(report, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text("utf-8"))["aborted"] == CANCELLED
