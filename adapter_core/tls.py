"""HTTPS for the adapter: TradingView calls brokers over TLS only, from the trader's browser.

The context is ours, not uvicorn's, so a renewed certificate can be loaded into it while
serving: handshakes from then on present the new one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from adapter_core.reload import file_stamp

log = logging.getLogger(__name__)

CERTIFICATE_CHECK_INTERVAL = 2.0
"""Seconds between looks at the certificate and key files."""


class TlsError(RuntimeError):
    """The certificate or key cannot be used; the message is meant for the operator."""


def tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server context over the certificate chain and key (TLS 1.2 or later)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    load_certificate(context, cert_file, key_file)
    return context


def load_certificate(context: ssl.SSLContext, cert_file: Path, key_file: Path) -> None:
    """(Re)load the chain and key: handshakes from now on present them."""
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(
            f"cannot use the certificate {cert_file} with the key {key_file}: {exc}"
        ) from exc


RENEWAL_GRACE = 60.0
"""Seconds a certificate and key that do not match may stay so before it is an error: a
renewal writes two files, and between the two they do not match."""


class CertificateWatcher:
    """Loads a renewed certificate and key into the serving context once they match.

    Until they do, the previous pair goes on being presented; that is logged at INFO, and as
    an ERROR only if it lasts past RENEWAL_GRACE (a renewal that went wrong, not one under way).
    """

    def __init__(
        self,
        context: ssl.SSLContext,
        cert_file: Path,
        key_file: Path,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._context = context
        self._files = (cert_file, key_file)
        self._clock = clock
        self._stamps = self._read_stamps()
        self._unusable_since: float | None = None
        self._reported = False

    def _read_stamps(self) -> tuple[tuple[int, int, int] | None, ...]:
        return tuple(file_stamp(path) for path in self._files)

    def check(self) -> None:
        stamps = self._read_stamps()
        if stamps == self._stamps:
            self._report_if_stuck()
            return
        self._stamps = stamps
        try:
            load_certificate(self._context, *self._files)
        except TlsError as exc:
            if self._unusable_since is None:
                self._unusable_since = self._clock()
                log.info(
                    "serving the previous TLS certificate until the new pair is usable: %s", exc
                )
            self._report_if_stuck(exc)
            return
        self._unusable_since = None
        self._reported = False
        log.info("reloaded the TLS certificate and key from %s and %s", *self._files)

    def _report_if_stuck(self, exc: TlsError | None = None) -> None:
        if self._unusable_since is None or self._reported:
            return
        stuck = self._clock() - self._unusable_since
        if stuck > RENEWAL_GRACE:
            self._reported = True
            log.error(
                "the TLS certificate %s and key %s have not been usable together for %.0f s; "
                "still serving the previous pair%s",
                *self._files,
                stuck,
                f": {exc}" if exc is not None else "",
            )

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.check()


def certificate_reloaders(
    context: ssl.SSLContext, cert_file: Path, key_file: Path
) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    """The background job that loads a renewed certificate or key into `context`."""
    watcher = CertificateWatcher(context, cert_file, key_file)
    return [functools.partial(watcher.watch, CERTIFICATE_CHECK_INTERVAL)]
