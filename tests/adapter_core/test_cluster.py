"""Several `tv-adapter serve --store redis://` instances on one Redis behave as one adapter:
a token minted on one works on the others, a logout on one is refused by every other, events
cross over, nothing acknowledged is lost to `kill -9`, and a Redis that goes away makes every
instance fail closed, then resume by itself. Real processes, a real redis-server, loopback."""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis as redis_client

from adapter_core.store.redis_store import ISSUED_INDEX, REVOKED_INDEX, REVOKED_KEY
from tests.support.adapter_process import AdapterProcess
from tests.support.redis_server import RedisServer
from tests.support.tradingview_client import mint

ACCOUNT = 137780091
WAIT = 10.0
"""Seconds any bounded wait below may take before the test fails."""


def _wait_for(probe: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not probe():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {WAIT}s")
        time.sleep(0.02)


@contextlib.contextmanager
def _cluster(tmp_path: Path, redis: RedisServer, count: int) -> Iterator[list[AdapterProcess]]:
    instances: list[AdapterProcess] = []
    try:
        for _ in range(count):
            process = AdapterProcess(tmp_path / "data", ["--demo", "--store", redis.url])
            instances.append(process.start())
        yield instances
    finally:
        for process in instances:
            process.kill()


def _accounts(instance: AdapterProcess, token: str) -> httpx.Response:
    return httpx.get(
        f"{instance.url}/accounts", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )


def _refuses(instance: AdapterProcess, token: str) -> bool:
    return _accounts(instance, token).status_code == 401


def _try_mint(instance: AdapterProcess, timeout: float) -> httpx.Response:
    """A /generate/token call whatever it answers (`mint` asserts success)."""
    return httpx.post(
        f"{instance.url}/generate/token",
        headers={"Authorization": f"Bearer {instance.broker_secret}"},
        json={"userId": 14601, "brokerNames": ["BESTBROKER"], "isVerified": True},
        timeout=timeout,
    )


def _logout(instance: AdapterProcess, token: str) -> httpx.Response:
    return httpx.post(
        f"{instance.url}/logout", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


def test_a_token_minted_on_one_works_on_the_others_and_a_logout_ends_it_everywhere(
    tmp_path: Path, redis: RedisServer
) -> None:
    with _cluster(tmp_path, redis, 3) as (first, second, third):
        token = mint(first.url, first.broker_secret, ctidTraderAccountIds=[ACCOUNT])
        for instance in (first, second, third):
            assert _accounts(instance, token).status_code == 200
        assert _logout(second, token).json() == {"s": "ok"}
        for instance in (first, third):
            _wait_for(
                functools.partial(_refuses, instance, token),
                "the logout reaching another instance",
            )
        assert _logout(third, token).json()["s"] == "error"


def test_an_instance_started_later_knows_earlier_logouts(
    tmp_path: Path, redis: RedisServer
) -> None:
    with _cluster(tmp_path, redis, 1) as (first,):
        token = mint(first.url, first.broker_secret, ctidTraderAccountIds=[ACCOUNT])
        assert _logout(first, token).json() == {"s": "ok"}
        with _cluster(tmp_path, redis, 1) as (later,):
            _wait_for(lambda: _healthy(later), "the new instance's link to Redis")
            assert _accounts(later, token).status_code == 401


def _listen(instance: AdapterProcess, kinds: list[str], opened: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {instance.broker_secret}"}
    with (
        httpx.Client(timeout=WAIT) as http,
        http.stream("GET", f"{instance.url}/admin/events", headers=headers) as stream,
    ):
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kinds.append(line.removeprefix("event: "))
                opened.set()
            if "token.logged_out" in kinds:
                return


def test_one_instances_events_reach_another_instances_stream(
    tmp_path: Path, redis: RedisServer
) -> None:
    with _cluster(tmp_path, redis, 2) as (first, second):
        kinds: list[str] = []
        opened = threading.Event()
        listener = threading.Thread(target=_listen, args=(second, kinds, opened), daemon=True)
        listener.start()
        assert opened.wait(WAIT)
        token = mint(first.url, first.broker_secret, ctidTraderAccountIds=[ACCOUNT])
        _accounts(first, token)
        httpx.get(
            f"{first.url}/accounts/{ACCOUNT}/state",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        _logout(first, token)
        listener.join(WAIT)
        assert not listener.is_alive(), kinds
    assert kinds[0] == "hello"
    assert {"token.issued", "session.opened", "token.logged_out"} <= set(kinds)


def test_kill_9_of_every_instance_and_of_redis_loses_nothing_acknowledged(
    tmp_path: Path, redis: RedisServer
) -> None:
    with _cluster(tmp_path, redis, 2) as (first, second):
        logged_out = [mint(first.url, first.broker_secret) for _ in range(20)]
        kept = [mint(second.url, second.broker_secret) for _ in range(20)]
        for number, token in enumerate(logged_out):
            assert _logout((first, second)[number % 2], token).json() == {"s": "ok"}
        first.kill()
        second.kill()
        redis.kill()
    redis.start()
    with _cluster(tmp_path, redis, 1) as (restarted,):
        _wait_for(lambda: _healthy(restarted), "the restarted instance's link to Redis")
        assert {_accounts(restarted, token).status_code for token in logged_out} == {401}
        statuses = {_accounts(restarted, token).status_code for token in kept}
        assert 401 not in statuses  # the demo user has accounts: 200 (or a business error)


def _healthy(instance: AdapterProcess) -> bool:
    return httpx.get(f"{instance.url}/healthz", timeout=5).status_code == 200


def test_redis_gone_means_fail_closed_then_recovery_without_a_restart(
    tmp_path: Path, redis: RedisServer
) -> None:
    with _cluster(tmp_path, redis, 1) as (instance,):
        token = mint(instance.url, instance.broker_secret, ctidTraderAccountIds=[ACCOUNT])
        with ThreadPoolExecutor(8) as pool:  # several pooled connections to Redis
            assert all(pool.map(lambda _: mint(instance.url, instance.broker_secret), range(16)))
        assert _accounts(instance, token).status_code == 200
        redis.kill()
        _wait_for(lambda: _accounts(instance, token).status_code == 503, "failing closed")
        refused = _accounts(instance, token).json()
        assert refused["s"] == "error"
        assert "unreachable" in refused["errmsg"]
        health = httpx.get(f"{instance.url}/healthz", timeout=5)
        assert health.status_code == 503
        assert "Redis" in health.json()["errmsg"]
        minting = _try_mint(instance, timeout=5)
        assert minting.status_code == 503
        assert minting.json()["s"] == "error"
        logout = _logout(instance, token).json()
        assert logout["s"] == "error"
        assert "could not be recorded" in logout["errmsg"]
        redis.start()
        _wait_for(lambda: _healthy(instance), "the instance resuming")
        assert _accounts(instance, token).status_code == 200
        # Connections pooled before Redis went away are not the next calls' problem.
        for _ in range(5):
            fresh = mint(instance.url, instance.broker_secret)
            assert _logout(instance, fresh).json() == {"s": "ok"}


def test_a_lost_subscription_is_followed_by_a_re_read_of_every_revocation(
    tmp_path: Path, redis: RedisServer
) -> None:
    """A logout announced while an instance was not listening is still learnt."""
    with (
        redis_client.Redis.from_url(redis.url) as client,
        _cluster(tmp_path, redis, 1) as (instance,),
    ):
        token = mint(instance.url, instance.broker_secret, ctidTraderAccountIds=[ACCOUNT])
        assert _accounts(instance, token).status_code == 200
        record = _token_id_of(client)
        client.client_kill_filter(_type="pubsub")
        # Revoked behind the instance's back: written, never announced.
        client.set(REVOKED_KEY + record, int(time.time()), exat=int(time.time()) + 3600)
        client.zadd(REVOKED_INDEX, {record: int(time.time()) + 3600})
        _wait_for(functools.partial(_refuses, instance, token), "the re-read after the loss")


def _token_id_of(client: redis_client.Redis) -> str:
    (member,) = client.zrange(ISSUED_INDEX, 0, -1)
    assert isinstance(member, bytes)
    return member.decode()


def test_a_slow_redis_never_blocks_the_instance(tmp_path: Path, redis: RedisServer) -> None:
    with (
        redis_client.Redis.from_url(redis.url) as client,
        _cluster(tmp_path, redis, 1) as (instance,),
    ):
        token = mint(instance.url, instance.broker_secret, ctidTraderAccountIds=[ACCOUNT])
        client.client_pause(3000)  # every other client's command waits 3 s
        try:
            minting = _try_mint(instance, timeout=2.5)
            assert minting.status_code == 503
            # The loop is free meanwhile: endpoints that need no Redis answer at once.
            config = httpx.get(f"{instance.url}/openapi.json", timeout=2.5)
            assert config.status_code == 200
        finally:
            client.client_unpause()
        _wait_for(lambda: _healthy(instance), "recovery after the pause")
        assert _accounts(instance, token).status_code == 200


def _first_event_id(instance: AdapterProcess) -> str:
    headers = {"Authorization": f"Bearer {instance.broker_secret}"}
    with (
        httpx.Client(timeout=WAIT) as http,
        http.stream("GET", f"{instance.url}/admin/events", headers=headers) as stream,
    ):
        mint(instance.url, instance.broker_secret)
        for line in stream.iter_lines():
            if line.startswith("id: "):
                return line.removeprefix("id: ")
    pytest.fail("the stream ended without an event id")


def _hello(instance: AdapterProcess, last_event_id: str) -> dict[str, object]:
    headers = {
        "Authorization": f"Bearer {instance.broker_secret}",
        "Last-Event-ID": last_event_id,
    }
    with (
        httpx.Client(timeout=WAIT) as http,
        http.stream("GET", f"{instance.url}/admin/events", headers=headers) as stream,
    ):
        for line in stream.iter_lines():
            if line.startswith("data: "):
                hello: dict[str, object] = json.loads(line.removeprefix("data: "))
                return hello
    pytest.fail("the stream ended without its hello")


def test_an_event_id_from_one_instance_never_resumes_a_stream_on_another(
    tmp_path: Path, redis: RedisServer
) -> None:
    """Behind a balancer a reconnecting console may reach another instance: it starts afresh
    rather than skip events under numbers that meant something else there."""
    with _cluster(tmp_path, redis, 2) as (first, second):
        event_id = _first_event_id(first)
        assert _hello(first, event_id)["resumed"] is True
        assert _hello(second, event_id)["resumed"] is False


def test_a_full_redis_refuses_mints_and_logouts_clearly_and_says_so_until_it_has_room(
    tmp_path: Path, redis: RedisServer
) -> None:
    with _cluster(tmp_path, redis, 1) as [instance]:
        token = mint(instance.url, instance.broker_secret)
        control = redis_client.Redis.from_url(redis.url)
        control.config_set("maxmemory-policy", "noeviction")
        control.config_set("maxmemory", "1")
        try:
            refused = _try_mint(instance, 5)
            assert refused.status_code == 503
            assert refused.json()["errmsg"] == (  # trying again would fail alike
                "The token store is full, so no token was issued. It takes tokens again once "
                "its operator frees room."
            )
            assert _logout(instance, token).json()["errmsg"] == (
                "The logout could not be recorded: the token store is full. It takes logouts "
                "again once its operator frees room."
            )
            admin = {"Authorization": f"Bearer {instance.broker_secret}"}
            with httpx.Client(base_url=instance.url, headers=admin, timeout=5) as operator:
                found = operator.post("/admin/tokens/introspect", json={"token": token})
                token_id = found.json()["d"]["token"]["tokenId"]
                forced = operator.post(f"/admin/sessions/{token_id}/logout")
            assert forced.status_code == 503
            assert forced.json()["errmsg"] == (
                "The token store is full and refuses writes, so nothing was changed. It takes "
                "them again once its operator frees room."
            )
            assert _accounts(instance, token).status_code == 200  # reads still work
            health = httpx.get(f"{instance.url}/healthz", timeout=5)
            assert health.status_code == 200
            assert "Redis is full (maxmemory)" in health.json()["d"]["problem"]
            info = httpx.get(f"{instance.url}/admin/info", headers=admin, timeout=5).json()["d"]
            assert info["store"]["healthy"] is True
            assert "no logout recorded" in info["store"]["problem"]
            assert instance.stderr_text().count("Redis is full (maxmemory)") == 1
        finally:
            control.config_set("maxmemory", "0")
        assert _try_mint(instance, 5).status_code == 200
        assert "problem" not in httpx.get(f"{instance.url}/healthz", timeout=5).json()["d"]
        assert "Redis takes writes again" in instance.stderr_text()
        assert _logout(instance, token).json() == {"s": "ok"}
        control.close()
