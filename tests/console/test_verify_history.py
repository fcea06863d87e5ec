"""Run history (kept runs, comparison with the previous one) and per-profile test identities."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from console.paths import config_dir
from console.verify.context import Identity
from console.verify.history import (
    KEEP_RUNS,
    HistoryError,
    RunHistory,
    compare,
    comparison_sentence,
)
from console.verify.identities import IdentityError, IdentityStore, identity_from_body
from console.verify.model import CANCELLED, NOT_RUN, CheckResult, Exchange, RunReport, Status

STARTED = "2026-12-03T10:00:00+00:00"


def check(check_id: str, status: Status, *, exchanges: list[Exchange] | None = None) -> CheckResult:
    return CheckResult(
        id=check_id,
        suite="broker",
        title=f"title of {check_id}",
        status=status,
        expected="what a conforming adapter does",
        actual=f"{check_id} was {status}",
        duration_ms=12.5,
        exchanges=exchanges or [],
    )


def report(
    *checks: CheckResult, target: str = "http://127.0.0.1:8731", started: str = STARTED
) -> RunReport:
    return RunReport(target=target, started=started, finished=started, checks=list(checks))


# compare()


def test_compare_names_what_changed_since_the_previous_run() -> None:
    previous = report(
        check("a", Status.PASSED),
        check("b", Status.FAILED),
        check("c", Status.PASSED),
        check("d", Status.ERROR),
        check("e", Status.PASSED),
        check("g", Status.WARNING),
        check("h", Status.FAILED),
        check("i", Status.PASSED),
    )
    current = report(
        check("a", Status.FAILED),  # newly failing
        check("b", Status.PASSED),  # newly passing
        check("c", Status.PASSED),  # unchanged
        check("d", Status.WARNING),  # a warning passes
        check("f", Status.FAILED),  # added: not "newly failing", it never ran before
        check("g", Status.ERROR),  # inconclusive counts as failing
        check("h", Status.SKIPPED),  # skipped is neither
        check("i", Status.SKIPPED),
    )
    comparison = compare(previous, current)
    assert comparison.newly_failing == ["a", "g"]
    assert comparison.newly_passing == ["b", "d"]
    assert comparison.added == ["f"]
    assert comparison.removed == ["e"]
    assert not comparison.unchanged
    assert comparison.sentence() == (
        "Since the previous run: newly failing: a, g; newly passing: b, d; added: f; removed: e."
    )


def test_compare_with_an_identical_run_is_unchanged() -> None:
    run = report(check("a", Status.PASSED), check("b", Status.FAILED), check("c", Status.SKIPPED))
    again = report(check("a", Status.PASSED), check("b", Status.FAILED), check("c", Status.SKIPPED))
    comparison = compare(run, again)
    assert comparison.unchanged
    assert comparison.sentence() == "Same results as the previous run."
    assert compare(report(), run).added == ["a", "b", "c"]
    assert compare(run, report()).removed == ["a", "b", "c"]


def cancelled_after(passed: int) -> RunReport:
    """A cancelled run: `passed` checks passed, the last one never ran (kept as skipped)."""
    checks = [check(f"c{i}", Status.PASSED) for i in range(passed)]
    stopped = check(f"c{passed}", Status.SKIPPED)
    stopped.actual = f"{NOT_RUN}: {CANCELLED}"
    cancelled = report(*checks, stopped)
    cancelled.aborted = CANCELLED
    return cancelled


def test_a_cancelled_run_is_not_called_the_same_as_a_complete_one() -> None:
    complete = report(*(check(f"c{i}", Status.PASSED) for i in range(3)))
    cancelled = cancelled_after(2)
    assert comparison_sentence(cancelled, [complete]) == (
        "This run did not complete (CANCELLED), so it is not compared."
    )


def test_a_complete_run_is_compared_with_the_previous_complete_one() -> None:
    first = report(
        check("c0", Status.PASSED), check("c1", Status.FAILED), check("c2", Status.PASSED)
    )
    again = report(
        check("c0", Status.PASSED), check("c1", Status.PASSED), check("c2", Status.PASSED)
    )
    assert comparison_sentence(again, [cancelled_after(2), first]) == (
        "Since the previous complete run: newly passing: c1."
    )
    assert comparison_sentence(again, [first]) == "Since the previous run: newly passing: c1."
    assert comparison_sentence(again, [cancelled_after(1)]) == (
        "No earlier complete run of this profile to compare with."
    )
    assert comparison_sentence(again, []) == "No earlier run of this profile to compare with."


# RunHistory


def a_full_report(target: str, started: str = STARTED) -> RunReport:
    exchange = Exchange(
        method="POST",
        url=f"{target}/generate/token",
        request_headers={"Authorization": "Bearer ‹broker secret›"},
        request_body='{"userId":14601}',
        status=200,
        response_headers={"content-type": "application/json"},
        response_body='{"s":"ok","d":"‹token 1a2b3c4d›"}',
        duration_ms=4.2,
    )
    result = check("mint.seed-example", Status.PASSED, exchanges=[exchange])
    result.details = {"p99": 12.5}
    full = report(result, check("tls.certificate", Status.SKIPPED), target=target, started=started)
    full.profile = "Staging"
    full.adapter_version = "0.1.0"
    full.identity = {"userId": 14601, "brokerNames": ["BESTBROKER"], "isVerified": True}
    full.suites = ["broker", "browser"]
    full.not_logged_out = ["1a2b3c4d"]
    return full


def test_a_saved_run_reads_back_as_it_was(tmp_path: Path) -> None:
    history = RunHistory(tmp_path / "runs")
    saved = a_full_report("http://127.0.0.1:8731")
    path = history.save("profile-1", saved)
    assert path.parent.parent == tmp_path / "runs"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text("utf-8")) == saved.to_json()
    (back,) = history.runs("profile-1")
    assert back.to_json() == saved.to_json()
    assert back.checks[0].exchanges[0].curl().startswith("curl -X POST")
    assert history.runs("profile-2") == []


def test_runs_are_newest_first_and_kept_apart_per_profile(tmp_path: Path) -> None:
    history = RunHistory(tmp_path)
    for second, target in ((5, "middle"), (1, "oldest"), (9, "newest")):
        history.save("one", report(target=target, started=f"2026-12-03T10:00:0{second}+00:00"))
    history.save("two", report(target="other profile"))
    assert [run.target for run in history.runs("one")] == ["newest", "middle", "oldest"]
    assert [run.target for run in history.runs("two")] == ["other profile"]


def test_only_the_newest_runs_are_kept_even_within_one_second(tmp_path: Path) -> None:
    history = RunHistory(tmp_path)
    total = KEEP_RUNS + 7
    for number in range(total):
        history.save("p", report(target=f"run {number}"))  # all with the same start second
    kept = [run.target for run in history.runs("p")]
    assert kept == [f"run {number}" for number in reversed(range(total - KEEP_RUNS, total))]
    assert len(list((tmp_path / "p").glob("*.json"))) == KEEP_RUNS


def test_pruning_keeps_the_newest_across_seconds(tmp_path: Path) -> None:
    history = RunHistory(tmp_path)
    total = KEEP_RUNS + 3
    for number in range(total):
        started = f"2026-12-03T10:{number // 60:02d}:{number % 60:02d}+00:00"
        history.save("p", report(target=f"run {number}", started=started))
    kept = [run.target for run in history.runs("p")]
    assert len(kept) == KEEP_RUNS
    assert kept[0] == f"run {total - 1}"
    assert kept[-1] == f"run {total - KEEP_RUNS}"


def test_a_profile_id_cannot_leave_the_history_folder(tmp_path: Path) -> None:
    history = RunHistory(tmp_path / "runs")
    path = history.save("../../escape", report())
    assert path.resolve().is_relative_to((tmp_path / "runs").resolve())
    assert [run.target for run in history.runs("../../escape")] == [report().target]
    assert not (tmp_path / "escape").exists()


def test_unreadable_runs_are_left_out(tmp_path: Path) -> None:
    history = RunHistory(tmp_path)
    history.save("p", report(target="good"))
    (tmp_path / "p" / "99999999T999999-0000.json").write_text("{not json")
    (tmp_path / "p" / "99999999T999998-0000.json").write_text(json.dumps({"checks": []}))
    assert [run.target for run in history.runs("p")] == ["good"]


def test_a_history_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(HistoryError, match="Could not keep the run"):
        RunHistory(blocker).save("p", report())


def test_the_default_history_lives_in_the_console_home(console_home: Path) -> None:
    path = RunHistory().save("p", report())
    assert path.resolve().is_relative_to(console_home.resolve())


# IdentityStore


def test_a_profile_without_an_identity_gets_the_source_documents_example(tmp_path: Path) -> None:
    store = IdentityStore(tmp_path / "identities.json")
    assert store.get("anyone") == Identity()
    assert Identity().body() == {
        "userId": 14601,
        "brokerNames": ["BESTBROKER"],
        "ctidTraderAccountIds": [137780091, 137792301],
        "isVerified": True,
    }


def test_identities_are_kept_per_profile(tmp_path: Path) -> None:
    path = tmp_path / "config" / "identities.json"
    store = IdentityStore(path)
    wide = Identity(61001, ("BESTBROKER", "OTHERBROKER"), None, False)
    narrow = Identity(61002, ("BESTBROKER",), (137780091,), True)
    store.set("p1", wide)
    store.set("p2", narrow)
    again = IdentityStore(path)
    assert again.get("p1") == wide
    assert again.get("p2") == narrow
    assert again.get("p3") == Identity()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text("utf-8"))["p1"] == {
        "userId": 61001,
        "brokerNames": ["BESTBROKER", "OTHERBROKER"],
        "isVerified": False,
    }
    store.set("p1", narrow)
    assert IdentityStore(path).get("p1") == narrow
    assert IdentityStore(path).get("p2") == narrow


def test_the_default_store_lives_in_the_console_config(console_home: Path) -> None:
    store = IdentityStore()
    store.set("p", Identity(61003))
    assert store.path.parent == config_dir()
    assert store.path.resolve().is_relative_to(console_home.resolve())
    assert IdentityStore().get("p") == Identity(61003)


def test_a_bad_or_unreadable_stored_identity_falls_back_to_the_example(tmp_path: Path) -> None:
    path = tmp_path / "identities.json"
    path.write_text(json.dumps({"bad": {"userId": "14601", "brokerNames": []}, "odd": [1, 2]}))
    store = IdentityStore(path)
    assert store.get("bad") == Identity()
    assert store.get("odd") == Identity()
    path.write_text("{truncated")
    assert store.get("bad") == Identity()
    store.set("new", Identity(61004))  # a corrupt file is replaced, not a reason to fail
    assert IdentityStore(path).get("new") == Identity(61004)


def test_a_valid_body_becomes_an_identity() -> None:
    body: dict[str, Any] = {
        "userId": 61005,
        "brokerNames": ["BESTBROKER"],
        "ctidTraderAccountIds": [137780091],
        "isVerified": False,
    }
    assert identity_from_body(body) == Identity(61005, ("BESTBROKER",), (137780091,), False)
    assert identity_from_body(body).body() == body
    del body["ctidTraderAccountIds"]
    assert identity_from_body(body).account_ids is None


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"userId": "14601"}, "userId"),
        ({"userId": 0}, "userId"),
        ({"userId": True}, "userId"),
        ({"brokerNames": []}, "brokerNames"),
        ({"ctidTraderAccountIds": ["137780091"]}, "ctidTraderAccountIds"),
        ({"isVerified": "true"}, "isVerified"),
        ({"comment": "extra"}, "comment"),
    ],
)
def test_an_invalid_body_is_refused_naming_the_field(changes: dict[str, Any], named: str) -> None:
    body = Identity().body() | changes
    with pytest.raises(IdentityError, match=named):
        identity_from_body(body)


def test_an_identity_that_cannot_be_kept_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "config"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(IdentityError, match="Could not keep the test identity"):
        IdentityStore(blocker / "identities.json").set("p", Identity())


def test_the_schema_refuses_numbers_json_allows_but_tradingview_cannot_use() -> None:
    from console.verify import schema

    state = {"balance": float("nan"), "unrealizedPl": float("inf")}
    assert schema.problems(state, schema.STATE, "d") == [
        "d.balance: expected a finite number, got nan",
        "d.unrealizedPl: expected a finite number, got inf",
    ]
    assert schema.problems({"balance": 1, "unrealizedPl": -2.5}, schema.STATE, "d") == []
