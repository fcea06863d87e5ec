"""`tv-adapter serve --tls-cert --tls-key`: HTTPS on loopback, and a renewed certificate is
presented without a restart."""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from adapter_core.tls import RENEWAL_GRACE, CertificateWatcher, tls_context
from tests.support.adapter_process import AdapterProcess
from tests.support.certificates import make_certificates

RELOAD_WAIT = 10.0


def _presented_serial(url: str) -> int:
    host, port = url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_serve_over_https_and_pick_up_a_renewed_certificate(tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    ca_file, cert_file, key_file = make_certificates(first, 200)
    live_cert, live_key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(cert_file, live_cert)
    shutil.copy(key_file, live_key)
    args = ["--tls-cert", str(live_cert), "--tls-key", str(live_key)]
    with AdapterProcess(tmp_path / "data", args) as process:
        assert process.url.startswith("https://127.0.0.1:")
        with httpx.Client(verify=ssl.create_default_context(cafile=ca_file)) as http:
            answer = http.post(
                f"{process.url}/generate/token",
                json={},
                headers={"Authorization": f"Bearer {process.broker_secret}"},
            )
        assert answer.status_code == 400  # reached the adapter over verified TLS
        before = _presented_serial(process.url)
        second = tmp_path / "second"
        second.mkdir()
        _, new_cert, new_key = make_certificates(second, 300)
        shutil.copy(new_key, live_key)
        shutil.copy(new_cert, live_cert)
        renewed = x509.load_pem_x509_certificate(new_cert.read_bytes()).serial_number
        deadline = time.monotonic() + RELOAD_WAIT
        while _presented_serial(process.url) != renewed and time.monotonic() < deadline:
            time.sleep(0.2)
        assert before != renewed
        assert _presented_serial(process.url) == renewed


@pytest.mark.parametrize("given", [["--tls-cert"], ["--tls-key"]])
def test_a_certificate_without_its_key_is_refused(tmp_path: Path, given: list[str]) -> None:
    from adapter_core.cli import main

    code = main(["serve", "--data-dir", str(tmp_path / "data"), *given, str(tmp_path / "x.pem")])
    assert code == 2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _rewrite(target: Path, source: Path) -> None:
    """Replace the file with another's content and a new stamp, as a renewal tool does."""
    staged = target.with_suffix(".new")
    shutil.copyfile(source, staged)
    staged.replace(target)


def _serving_and_renewed(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """The certificate and key being served, and a renewed pair beside them."""
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    _, cert, key = make_certificates(tmp_path / "old", days=30)
    _, new_cert, new_key = make_certificates(tmp_path / "new", days=60)
    live_cert, live_key = tmp_path / "c.pem", tmp_path / "k.pem"
    shutil.copyfile(cert, live_cert)
    shutil.copyfile(key, live_key)
    return live_cert, live_key, new_cert, new_key


def test_a_renewal_half_written_is_no_error_and_completes_when_the_key_arrives(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A renewal writes two files; between them the pair does not match, which is normal."""
    live_cert, live_key, new_cert, new_key = _serving_and_renewed(tmp_path)
    clock = Clock()
    watcher = CertificateWatcher(tls_context(live_cert, live_key), live_cert, live_key, clock)
    with caplog.at_level(logging.INFO, "adapter_core.tls"):
        _rewrite(live_cert, new_cert)
        watcher.check()
        clock.now += RENEWAL_GRACE / 2
        watcher.check()
        _rewrite(live_key, new_key)
        watcher.check()
    levels = [(record.levelno, record.getMessage()) for record in caplog.records]
    assert all(level == logging.INFO for level, _ in levels), levels
    assert "serving the previous TLS certificate" in levels[0][1]
    assert "reloaded the TLS certificate and key" in levels[-1][1]


@pytest.mark.expect_log("adapter_core.tls", "have not been usable together")
def test_a_pair_that_stays_unusable_past_the_grace_is_one_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live_cert, live_key, new_cert, _ = _serving_and_renewed(tmp_path)
    clock = Clock()
    watcher = CertificateWatcher(tls_context(live_cert, live_key), live_cert, live_key, clock)
    with caplog.at_level(logging.INFO, "adapter_core.tls"):
        _rewrite(live_cert, new_cert)
        watcher.check()
        for _ in range(5):
            clock.now += RENEWAL_GRACE
            watcher.check()
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
