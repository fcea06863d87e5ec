"""Recent token requests: per profile, newest first, deduplicated, capped, kept safely."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from adapter_core.token_request import TokenRequest, TokenRequestError, request_body
from console.paths import HOME_ENV, data_dir
from console.services.recent import RECENT_FILE, RecentError, RecentRequests


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(path))
    return path


def request(user_id: int, accounts: tuple[int, ...] | None = None) -> TokenRequest:
    return TokenRequest(user_id, ("demo",), accounts, True)


def loaded(capacity: int = 20) -> RecentRequests:
    recent = RecentRequests(capacity=capacity)
    recent.load()
    return recent


def test_newest_first_per_profile_and_saved(home: Path) -> None:
    recent = loaded()
    recent.remember("p1", request(1))
    recent.remember("p1", request(2, (5, 6)))
    recent.remember("p2", request(3))
    assert recent.list("p1") == [request(2, (5, 6)), request(1)]
    assert loaded().list("p1") == [request(2, (5, 6)), request(1)]
    assert loaded().list("p2") == [request(3)]
    assert loaded().list("nobody") == []
    path = data_dir() / RECENT_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_file_holds_bodies_as_the_source_document_spells_them(home: Path) -> None:
    recent = loaded()
    recent.remember("p1", request(1))
    recent.remember("p1", request(2, (5,)))
    document = json.loads((data_dir() / RECENT_FILE).read_text())
    assert document["profiles"]["p1"] == [
        {"userId": 2, "brokerNames": ["demo"], "ctidTraderAccountIds": [5], "isVerified": True},
        {"userId": 1, "brokerNames": ["demo"], "isVerified": True},
    ]
    assert request_body(request(1)) == document["profiles"]["p1"][1]


def test_a_repeated_request_moves_to_the_front_instead_of_repeating(home: Path) -> None:
    recent = loaded()
    for user in (1, 2, 1):
        recent.remember("p1", request(user))
    assert recent.list("p1") == [request(1), request(2)]


def test_the_list_is_capped(home: Path) -> None:
    recent = loaded(capacity=3)
    for user in range(1, 6):
        recent.remember("p1", request(user))
    assert recent.list("p1") == [request(5), request(4), request(3)]
    assert loaded(capacity=2).list("p1") == [request(5), request(4)]


def test_bodies_are_accepted_after_the_adapters_own_validation(home: Path) -> None:
    recent = loaded()
    recent.remember("p1", request_body(request(1, (5,))))
    assert recent.list("p1") == [request(1, (5,))]
    with pytest.raises(TokenRequestError, match="userId"):
        recent.remember("p1", {"userId": "x", "brokerNames": ["demo"], "isVerified": True})
    assert recent.list("p1") == [request(1, (5,))]


def test_forget_one_and_forget_a_profile(home: Path) -> None:
    recent = loaded()
    recent.remember("p1", request(1))
    recent.remember("p1", request(2))
    recent.remember("p2", request(3))
    recent.forget("p1", request(1))
    recent.forget("p1", request(99))
    recent.forget_profile("p2")
    assert loaded().list("p1") == [request(2)]
    assert loaded().list("p2") == []


def test_use_before_load_is_a_programming_error(home: Path) -> None:
    with pytest.raises(RuntimeError, match="load"):
        RecentRequests().remember("p1", request(1))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b'{"version": 99, "profiles": {}}', "known version"),
        (b'{"version": 1, "profiles": {"p1": {}}}', "not a list"),
        (b'{"version": 1, "profiles": {"p1": [{"userId": -1}]}}', "invalid"),
    ],
)
def test_a_corrupt_file_is_kept_aside_and_the_list_starts_empty(
    home: Path, content: bytes, reason: str
) -> None:
    path = data_dir() / RECENT_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    recent = RecentRequests()
    with pytest.raises(RecentError, match=reason) as caught:
        recent.load()
    [aside] = [p for p in path.parent.iterdir() if ".unreadable-" in p.name]
    assert str(aside) in str(caught.value)
    assert aside.read_bytes() == content
    assert recent.list("p1") == []
    recent.remember("p1", request(1))
    assert loaded().list("p1") == [request(1)]
    assert aside.read_bytes() == content


def test_a_failed_save_keeps_the_request_for_this_run(home: Path) -> None:
    recent = loaded()
    home.mkdir()
    (home / "data").write_text("a file where the directory should be")
    with pytest.raises(RecentError, match="kept for this run only"):
        recent.remember("p1", request(1))
    assert recent.list("p1") == [request(1)]
