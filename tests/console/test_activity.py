"""The activity log keeps only redacted exchanges, stays bounded, filters and exports safely."""

from __future__ import annotations

import csv
import json
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.paths import HOME_ENV
from console.services.activity import (
    MAX_BODY_CHARS,
    ActivityLog,
    Exchange,
    ExportError,
    StatusClass,
    export_csv,
    export_json,
    matches,
)
from console.services.audit import AuditEntry, AuditTrail
from console.services.client import RawExchange
from console.services.redaction import REDACTED, mask

SECRET = "broker-secret-" + "s" * 24
TOKEN = secrets.token_urlsafe(48)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(path))
    return path


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


def test_headers_of_a_recorded_exchange_cannot_be_changed() -> None:
    exchange = record_mint(ActivityLog())
    with pytest.raises(TypeError):
        exchange.request_headers["Authorization"] = SECRET  # type: ignore[index]


def test_record_raw_takes_what_the_client_reports() -> None:
    raw = RawExchange(
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
    assert SECRET not in repr(exchange)


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
    unsubscribe = log.add_listener(
        lambda new, old: seen.append((new.seq, None if old is None else old.seq))
    )
    for _ in range(5):
        record_mint(log)
    assert [e.seq for e in log.exchanges()] == [3, 4, 5]
    assert seen == [(1, None), (2, None), (3, None), (4, 1), (5, 2)]
    unsubscribe()
    record_mint(log)
    assert len(seen) == 5
    assert len(log) == 3


def test_a_failing_listener_does_not_stop_recording_or_other_listeners(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = ActivityLog()
    received: list[Exchange] = []

    def broken(new: Exchange, old: Exchange | None) -> None:
        raise RuntimeError("listener bug")

    log.add_listener(broken)
    log.add_listener(lambda new, old: received.append(new))
    record_mint(log)
    assert len(received) == 1
    assert len(log) == 1
    assert "activity listener failed" in caplog.text


def test_clear_empties_the_log_and_notifies() -> None:
    log = ActivityLog()
    cleared: list[bool] = []
    log.add_cleared_listener(lambda: cleared.append(True))
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


def test_filter_cannot_find_a_secret_because_none_is_held() -> None:
    log = ActivityLog()
    record_mint(log)
    assert log.filter(SECRET) == []
    assert log.filter(TOKEN) == []


def test_audit_keeps_the_token_masked_and_notifies() -> None:
    log = ActivityLog()
    seen: list[AuditEntry] = []
    log.add_audit_listener(lambda new, old: seen.append(new))
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


def test_the_audit_trail_is_bounded() -> None:
    trail = AuditTrail(capacity=2)
    for n in range(3):
        trail.add(
            profile_id="p", profile_name="P", token=f"t{n}", token_id=None, ok=True, result=""
        )
    assert [e.seq for e in trail.entries()] == [2, 3]


def test_json_export_is_private_and_redacted(home: Path) -> None:
    log = ActivityLog()
    record_mint(log)
    target = home / "export.json"
    home.mkdir()
    log.export_json(target, log.exchanges())
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    rows = json.loads(target.read_text())
    assert rows[0]["path"] == "/generate/token"
    assert rows[0]["requestHeaders"]["Authorization"] == f"Bearer {REDACTED}"
    assert rows[0]["when"].endswith("Z")
    assert TOKEN not in target.read_text()


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
