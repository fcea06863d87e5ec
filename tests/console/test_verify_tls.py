"""`tls.certificate` against a real HTTPS server on 127.0.0.1 with certificates made here."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapter_core.server import bind_socket
from console.verify.context import RunOptions, Target
from console.verify.model import Status
from console.verify.runner import Run
from tests.support.certificates import make_certificates


class HttpsServer:
    """Answers /generate/token like a refusing adapter, over TLS, so the run can start."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        async def refuse(_: object) -> JSONResponse:
            return JSONResponse({"s": "error", "errmsg": "bad body"}, 400)

        app = Starlette(routes=[Route("/generate/token", refuse, methods=["POST"])])
        self.sock = bind_socket("127.0.0.1", 0)
        port = self.sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{port}"
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            ssl_certfile=str(cert_file),
            ssl_keyfile=str(key_file),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self) -> HttpsServer:
        self.thread.start()
        deadline = 100
        while not self.server.started and deadline:
            threading.Event().wait(0.05)
            deadline -= 1
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def https(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[HttpsServer, Path]]:
    days: int = getattr(request, "param", 200)
    ca_file, cert_file, key_file = make_certificates(tmp_path, days)
    with HttpsServer(cert_file, key_file) as server:
        yield server, ca_file


def tls_result(url: str, verify: bool | str) -> tuple[Status, str]:
    target = Target(url, "any-secret-will-do-here", verify=verify, timeout=5)
    options = RunOptions(("browser",), only=frozenset({"tls.certificate"}))
    report = asyncio.run(Run(target, options).run())
    [check] = report.checks
    return check.status, check.actual


def test_a_certificate_from_the_given_ca_passes_with_its_expiry(
    https: tuple[HttpsServer, Path],
) -> None:
    server, ca_file = https
    status, actual = tls_result(server.url, str(ca_file))
    assert status is Status.PASSED, actual
    assert "valid for 127.0.0.1" in actual
    assert "days left" in actual


@pytest.mark.parametrize("https", [10], indirect=True)
def test_a_certificate_close_to_expiry_is_a_warning(https: tuple[HttpsServer, Path]) -> None:
    server, ca_file = https
    status, actual = tls_result(server.url, str(ca_file))
    assert status is Status.WARNING, actual
    assert "days left" in actual


def test_a_certificate_nobody_trusts_fails(https: tuple[HttpsServer, Path]) -> None:
    server, _ = https
    status, actual = tls_result(server.url, False)  # the run itself may connect insecurely
    assert status is Status.FAILED, actual
    assert "not valid for 127.0.0.1" in actual


def test_plain_http_elsewhere_than_loopback_is_a_warning_never_a_failure() -> None:
    from console.verify.checks_browser import _is_loopback

    assert _is_loopback("127.0.0.1")
    assert _is_loopback("::1")
    assert _is_loopback("localhost")
    assert not _is_loopback("adapter.example-broker.com")
    assert not _is_loopback("10.0.0.5")


def test_a_ca_file_that_cannot_be_read_is_an_answer_not_a_crash(tmp_path: Path) -> None:
    missing = tmp_path / "gone.pem"
    status, actual = tls_result("https://127.0.0.1:9", str(missing))
    assert status is Status.ERROR
    assert "cannot be used" in actual
