"""The activity log keeps only redacted exchanges, stays bounded, filters and exports safely."""

from __future__ import annotations

import csv
import json
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from psygnal import EmitLoopError

from console.paths import HOME_ENV
from console.services.activity import (
    MAX_BODY_CHARS,
    ActivityLog,
    Exchange,
    RawParts,
    StatusClass,
    export_csv,
    export_json,
    matches,
)
from console.services.audit import AuditEntry, AuditTrail
from console.services.export import ExportError
from console.services.redaction import REDACTED, mask

SECRET = "broker-secret-" + "s" * 24
TOKEN = secrets.token_urlsafe(48)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(path))
    return path


@dataclass(frozen=True)
class Reported:
    """What the HTTP client reports, with the fields `RawParts` asks for (and no more)."""

    method: str
    path: str
    request_headers: Mapping[str, str]
    request_body: str
    status: int | None
    response_body: str
    duration_ms: float
    error: str | None
    background: bool = False
    expected_statuses: frozenset[int] = frozenset()


def record_mint(log: ActivityLog, *, status: int | None = 200, profile: str = "p1") -> Exchange:
    return log.record(
        profile_id=profile,
        profile_name=f"Profile {profile}",
        method="POST",
        path="/generate/token",
        request_headers={"Authorization": f"Bearer {SECRET}", "Accept": "application/json"},
        request_body=json.dumps({"userId": 7, "brokerNames": ["demo"], "isVerified": True}),
        status=status,
        response_body=json.dumps({"s": "ok", "d": TOKEN}) if status else "",
        duration_ms=12.5,
        error=None if status else f"Cannot connect (sent {SECRET})",
        secrets=[SECRET],
    )


def test_record_keeps_only_redacted_data() -> None:
    log = ActivityLog()
    exchange = record_mint(log)
    assert exchange.request_headers == {
        "Authorization": f"Bearer {REDACTED}",
        "Accept": "application/json",
    }
    assert json.loads(exchange.response_body) == {"s": "ok", "d": mask(TOKEN)}
    assert TOKEN not in repr(log.exchanges())
    assert SECRET not in repr(log.exchanges())
    failed = record_mint(log, status=None)
    assert failed.status is None
    assert failed.error is not None
    assert SECRET not in failed.error


def test_the_bearer_credential_is_redacted_wherever_it_is_echoed() -> None:
    log = ActivityLog()
    exchange = log.record(
        profile_id="p",
        profile_name="P",
        method="POST",
        path="/logout",
        request_headers={"Authorization": "Bearer short-tok"},
        request_body="",
        status=401,
        response_body=json.dumps({"s": "error", "errmsg": "bad short-tok"}),
        duration_ms=1.0,
        error=None,
        secrets=[],
    )
    assert "short-tok" not in exchange.response_body
    assert exchange.refusal is not None
    assert exchange.refusal.startswith("bad ")
    assert "short-tok" not in exchange.refusal


def test_headers_of_a_recorded_exchange_cannot_be_changed() -> None:
    exchange = record_mint(ActivityLog())
    with pytest.raises(TypeError):
        exchange.request_headers["Authorization"] = SECRET  # type: ignore[index]


def test_record_raw_takes_what_the_client_reports() -> None:
    raw: RawParts = Reported(
        method="POST",
        path="/admin/tokens/introspect",
        request_headers={"Authorization": f"Bearer {SECRET}"},
        request_body=json.dumps({"token": TOKEN}),
        status=200,
        response_body=json.dumps({"s": "ok", "d": {"valid": True}}),
        duration_ms=3.0,
        error=None,
    )
    exchange = ActivityLog().record_raw(raw, profile_id="p", profile_name="P", secrets=[])
    assert json.loads(exchange.request_body) == {"token": mask(TOKEN)}
    assert (exchange.method, exchange.status, exchange.duration_ms) == ("POST", 200, 3.0)
    assert (exchange.background, exchange.expected) == (False, False)
    assert SECRET not in repr(exchange)


def probe(
    log: ActivityLog, status: int | None, expected: frozenset[int], *, background: bool = False
) -> Exchange:
    """A capability probe or connection test as the client reports it."""
    raw = Reported(
        method="GET",
        path="/admin/info",
        request_headers={},
        request_body="",
        status=status,
        response_body="" if status is None else json.dumps({"s": "error", "errmsg": "no"}),
        duration_ms=2.0,
        error="Cannot connect" if status is None else None,
        background=background,
        expected_statuses=expected,
    )
    return log.record_raw(raw, profile_id="p", profile_name="P", secrets=[])


def test_record_raw_keeps_whether_it_was_background_polling_and_expected() -> None:
    log = ActivityLog()
    health = probe(log, 200, frozenset(), background=True)
    assert (health.background, health.expected) == (True, False)
    refused_as_asked = probe(log, 400, frozenset({400}))
    assert (refused_as_asked.background, refused_as_asked.expected) == (False, True)
    no_admin_api = probe(log, 404, frozenset({400, 404}), background=True)
    assert (no_admin_api.background, no_admin_api.expected) == (True, True)


def test_only_the_statuses_asked_for_are_expected() -> None:
    log = ActivityLog()
    assert not probe(log, 401, frozenset({400})).expected
    assert not probe(log, 500, frozenset({400, 404})).expected
    assert not probe(log, None, frozenset({400})).expected
    assert not probe(log, 400, frozenset()).expected


def test_record_defaults_to_the_operators_own_request() -> None:
    exchange = record_mint(ActivityLog(), status=400)
    assert (exchange.background, exchange.expected) == (False, False)


def test_long_bodies_are_cut_after_redaction() -> None:
    """A token straddling the cut must be masked whole, not half-kept."""
    filler = "lorem ipsum " * (MAX_BODY_CHARS // 12)
    body = filler[: MAX_BODY_CHARS - 10] + " " + TOKEN + " " + filler
    exchange = ActivityLog().record(
        profile_id="p",
        profile_name="P",
        method="GET",
        path="/big",
        request_headers={},
        request_body="",
        status=200,
        response_body=body,
        duration_ms=1.0,
        error=None,
        secrets=[TOKEN],
    )
    assert TOKEN[:20] not in exchange.response_body
    assert exchange.response_body.endswith("more characters not kept)")


def test_the_log_is_bounded_and_tells_listeners_what_fell_out() -> None:
    log = ActivityLog(capacity=3)
    seen: list[tuple[int, int | None]] = []

    def listener(new: Exchange, old: Exchange | None) -> None:
        seen.append((new.seq, None if old is None else old.seq))

    log.recorded.connect(listener)
    for _ in range(5):
        record_mint(log)
    assert [e.seq for e in log.exchanges()] == [3, 4, 5]
    assert seen == [(1, None), (2, None), (3, None), (4, 1), (5, 2)]
    log.recorded.disconnect(listener)
    record_mint(log)
    assert len(seen) == 5
    assert len(log) == 3


def test_each_log_has_its_own_listeners() -> None:
    """The signals are declared on the class; a listener must still hear only its own log."""
    first, second = ActivityLog(), ActivityLog()
    heard: list[Exchange] = []
    first.recorded.connect(lambda new, old: heard.append(new))
    record_mint(second)
    assert heard == []


def test_a_failing_listener_is_not_swallowed_but_the_exchange_is_kept() -> None:
    """One policy for every listener: psygnal's. The error reaches whoever recorded."""
    log = ActivityLog()

    def broken(new: Exchange, old: Exchange | None) -> None:
        raise RuntimeError("listener bug")

    log.recorded.connect(broken)
    with pytest.raises(EmitLoopError) as raised:
        record_mint(log)
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert len(log) == 1


def test_clear_empties_the_log_and_notifies() -> None:
    log = ActivityLog()
    cleared: list[bool] = []
    log.cleared.connect(lambda: cleared.append(True))
    record_mint(log)
    log.clear()
    assert log.exchanges() == []
    assert cleared == [True]
    assert record_mint(log).seq == 2


def test_filter_by_text_profile_and_status_class() -> None:
    log = ActivityLog()
    ok_one = record_mint(log, profile="one")
    ok_two = record_mint(log, profile="two")
    failed = record_mint(log, status=None, profile="two")
    refused = record_mint(log, status=401, profile="one")
    assert log.filter() == [ok_one, ok_two, failed, refused]
    assert log.filter(profile_id="two") == [ok_two, failed]
    assert log.filter(status_class=StatusClass.FAILED) == [failed]
    assert log.filter(status_class=StatusClass.SUCCESS) == [ok_one, ok_two]
    assert log.filter(status_class=4) == [refused]
    assert log.filter(status_class=0) == [failed]
    assert log.filter("CANNOT connect") == [failed]
    assert log.filter("401", profile_id="one") == [refused]
    assert log.filter("profile TWO", status_class=StatusClass.SUCCESS) == [ok_two]
    assert not matches(ok_one, "no such text")


def record_logout(
    log: ActivityLog, answer: str, status: int = 200, expected: frozenset[int] = frozenset()
) -> Exchange:
    return log.record(
        profile_id="p",
        profile_name="P",
        method="POST",
        path="/logout",
        request_headers={"Authorization": f"Bearer {TOKEN}"},
        request_body="",
        status=status,
        response_body=answer,
        duration_ms=1.0,
        error=None,
        secrets=[],
        expected_statuses=expected,
    )


def test_an_error_envelope_is_a_failure_whatever_the_status() -> None:
    """`/logout` refuses with HTTP 200 and `s: "error"`: the status filter counts it as failed."""
    log = ActivityLog()
    done = record_logout(log, json.dumps({"s": "ok"}))
    refused = record_logout(log, json.dumps({"s": "error", "errmsg": "Token revoked."}))
    bare = record_logout(log, json.dumps({"s": "error"}))
    unauthorised = record_logout(log, json.dumps({"s": "error", "errmsg": "No."}), status=401)
    probe = record_logout(log, json.dumps({"s": "error", "errmsg": "bad"}), 400, frozenset({400}))
    not_json = record_logout(log, "plain text")
    assert (refused.refusal, bare.refusal, done.refusal, not_json.refusal) == (
        "Token revoked.",
        "",
        None,
        None,
    )
    assert [e.failed for e in (done, refused, bare, unauthorised, probe, not_json)] == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    assert log.filter(status_class=StatusClass.FAILED) == [refused, bare]
    assert log.filter(status_class=StatusClass.SUCCESS) == [done, not_json]
    assert log.filter(status_class=StatusClass.CLIENT_ERROR) == [unauthorised, probe]


def test_filter_cannot_find_a_secret_because_none_is_held() -> None:
    log = ActivityLog()
    record_mint(log)
    assert log.filter(SECRET) == []
    assert log.filter(TOKEN) == []


def test_audit_keeps_the_token_masked_and_notifies() -> None:
    log = ActivityLog()
    seen: list[AuditEntry] = []
    log.audit_trail.added.connect(lambda new, old: seen.append(new))
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    entry = log.audit(
        profile_id="p",
        profile_name="Prod",
        token=TOKEN,
        token_id="ab" * 16,
        ok=False,
        result=f"Adapter refused {TOKEN}",
        when=when,
    )
    assert entry.token_hint == mask(TOKEN)
    assert TOKEN not in repr(entry)
    assert log.audit_entries() == [entry] == seen
    assert entry.when == when


def test_the_audit_trail_is_bounded_and_tells_listeners_what_fell_out() -> None:
    trail = AuditTrail(capacity=2)
    seen: list[tuple[int, int | None]] = []

    def listener(new: AuditEntry, old: AuditEntry | None) -> None:
        seen.append((new.seq, None if old is None else old.seq))

    trail.added.connect(listener)
    for n in range(3):
        trail.add(
            profile_id="p", profile_name="P", token=f"t{n}", token_id=None, ok=True, result=""
        )
    assert [e.seq for e in trail.entries()] == [2, 3]
    assert seen == [(1, None), (2, None), (3, 1)]


def test_a_failing_audit_listener_is_not_swallowed() -> None:
    trail = AuditTrail()

    def broken(new: AuditEntry, old: AuditEntry | None) -> None:
        raise RuntimeError("view bug")

    trail.added.connect(broken)
    with pytest.raises(EmitLoopError):
        trail.add(profile_id="p", profile_name="P", token="t", token_id=None, ok=True, result="")
    assert len(trail.entries()) == 1


def test_json_export_is_private_and_redacted(home: Path) -> None:
    log = ActivityLog()
    record_mint(log)
    target = home / "export.json"
    home.mkdir()
    export_json(target, log.exchanges())
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    rows = json.loads(target.read_text())
    assert rows[0]["path"] == "/generate/token"
    assert rows[0]["requestHeaders"]["Authorization"] == f"Bearer {REDACTED}"
    assert rows[0]["when"].endswith("Z")
    assert TOKEN not in target.read_text()


def test_exports_say_which_exchanges_were_background_and_expected(home: Path) -> None:
    log = ActivityLog()
    record_mint(log)
    probe(log, 404, frozenset({404}), background=True)
    home.mkdir()
    export_json(home / "a.json", log.exchanges())
    written = export_csv(home / "a.csv", log.exchanges())
    rows = json.loads((home / "a.json").read_text())
    assert [(r["background"], r["expected"]) for r in rows] == [(False, False), (True, True)]
    with (home / "a.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert written == 2
    assert [(r["background"], r["expected"]) for r in table] == [
        ("false", "false"),
        ("true", "true"),
    ]
    assert [r["status"] for r in table] == ["200", "404"]


def test_export_replaces_an_existing_file_with_a_private_one(home: Path) -> None:
    home.mkdir()
    target = home / "export.csv"
    target.write_text("old")
    target.chmod(0o644)
    export_csv(target, [])
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().startswith("when,profileId")


def test_csv_export_defuses_spreadsheet_formulas(home: Path) -> None:
    log = ActivityLog()
    log.record(
        profile_id="p",
        profile_name='=HYPERLINK("http://evil")',
        method="GET",
        path="/x",
        request_headers={},
        request_body="",
        status=200,
        response_body="@SUM(1)",
        duration_ms=1.0,
        error=None,
        secrets=[],
    )
    home.mkdir()
    target = home / "export.csv"
    export_csv(target, log.exchanges())
    with target.open(newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["profileName"].startswith("'=")
    assert row["responseBody"] == "'@SUM(1)"


def test_exports_scrub_exchanges_built_outside_the_log(home: Path) -> None:
    """Defence in depth: an Exchange constructed by hand still leaves no token in a file."""
    rogue = Exchange(
        seq=1,
        when=datetime.now(UTC),
        profile_id="p",
        profile_name="P",
        method="GET",
        path=f"/x/{TOKEN}",
        status=200,
        duration_ms=1.0,
        request_headers={"Authorization": f"Bearer {TOKEN}"},
        request_body="",
        response_body=TOKEN,
        error=TOKEN,
    )
    home.mkdir()
    export_json(home / "a.json", [rogue])
    export_csv(home / "a.csv", [rogue])
    for path in home.iterdir():
        assert TOKEN.encode() not in path.read_bytes()


def test_export_to_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="Could not write"):
        export_json(tmp_path / "missing" / "export.json", [])
