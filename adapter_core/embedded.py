"""The whole adapter inside another program (the console), on its own thread and event loop.

A busy GUI thread (a modal dialog, a long repaint) must never stall TradingView's requests, so
the server never shares the host's loop: each start gets a fresh thread, loop and uvicorn
server, and a stop tears all three down. The token keys and the broker secret arrive as values
(the host keeps them in the OS keyring); only the token store, and the port the adapter last
listened on, live on disk in `data_dir`. Asking for that port again at the next start keeps a
copied curl line or a configured TradingView URL working from one launch to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from adapter_core.broker_auth import BrokerSecretError, BrokerSecrets
from adapter_core.datadir import (
    STORE_FILE,
    DataDirError,
    DataDirLock,
    ensure_private_dir,
    write_private_file,
)
from adapter_core.headless import adapter_services, build_app
from adapter_core.server import (
    AnnouncingServer,
    ServerStartError,
    base_url,
    bind_socket,
    server_config,
)
from adapter_core.services import AdapterServices
from adapter_core.store.base import StoreUnavailable
from adapter_core.store.sqlite import SqliteTokenStore
from adapter_core.tokens.codec import DEFAULT_TTL_SECONDS
from adapter_core.tokens.keyring import KeyRing

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 5
"""How long uvicorn lets requests in flight finish: below `stop()`'s default timeout, so a slow
request still ends in a graceful stop rather than a forced one."""
FORCE_GRACE_SECONDS = 2.0
"""The part of a stop's time kept back for cutting off a server that did not stop gracefully."""
THREAD_NAME = "tv-adapter-embedded"
PORT_FILE = "embedded-port"
"""In the data directory: the port the adapter last listened on, asked for first next time."""


class _Exit(enum.IntEnum):
    """How hard a stop pushes: each step is tried only once the one before ran out of time."""

    GRACEFUL = 0
    """uvicorn's should_exit: stop accepting, let requests finish, run the app's shutdown."""
    CANCEL_REQUESTS = 1
    """Cancel the requests still running; the app's shutdown (closing the store) still runs."""
    CUT_OFF = 2
    """Cancel the whole server task: nothing waits for anything any more."""


class AdapterState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    FAILED = "failed"


def _log_state(state: AdapterState, url: str | None, error: str | None) -> None:
    """One line per state, so the log tells when the adapter ran and why it stopped."""
    if state is AdapterState.RUNNING:
        log.info("embedded adapter running at %s", url)
    elif state is AdapterState.FAILED:
        log.warning("embedded adapter failed: %s", error or "no reason was given")
    else:
        log.info("embedded adapter %s", state.value)


class EmbeddedAdapterError(RuntimeError):
    """The adapter cannot start or stop; the message is meant for the operator."""


class _PortTaken(EmbeddedAdapterError):
    """Another program listens on the port: fatal for a given port, not for a remembered one."""


StateListener = Callable[[AdapterState], None]


def _remembered_port(data_dir: Path) -> int | None:
    """The port in `PORT_FILE`; None if there is none or it does not hold a port number."""
    try:
        text = (data_dir / PORT_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not (text.isdigit() and len(text) <= 5 and 0 < int(text) < 65536):
        return None
    return int(text)


def _remember_port(data_dir: Path, port: int) -> None:
    try:
        write_private_file(data_dir / PORT_FILE, f"{port}\n".encode())
    except OSError as exc:
        log.warning("cannot remember the embedded adapter's port in %s: %s", data_dir, exc)


def _accepted_secret(broker_secret: str) -> BrokerSecrets:
    try:
        return BrokerSecrets([broker_secret])
    except BrokerSecretError as exc:
        raise EmbeddedAdapterError(
            f"the embedded adapter's broker secret is unusable: {exc}"
        ) from exc


class _ThreadServer(AnnouncingServer):
    """uvicorn's server without signal handling: signals belong to the host's main thread.

    uvicorn already skips signals outside the main thread; this makes it independent of that.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Run:
    """One start-to-stop lifetime: its thread, loop and server, never reused.

    The host's threads reach the loop only through `request_exit` and `call_on_loop`, which
    hand work over with `call_soon_threadsafe`.
    """

    def __init__(self) -> None:
        self.ready = threading.Event()
        """Set once the server accepts connections, or once the thread has given up."""
        self.thread: threading.Thread | None = None
        self.url: str | None = None
        self.error: str | None = None
        self.services: AdapterServices | None = None
        self.server: _ThreadServer | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._exit_requested = False

    def attach(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[None]) -> bool:
        """Called on the loop once it runs; False if a stop was requested before that."""
        with self._lock:
            self._loop = loop
            self._task = task
            return not self._exit_requested

    def detach(self) -> None:
        """Called on the loop as serving ends: later callers find no loop to hand work to."""
        with self._lock:
            self._loop = None

    def call_on_loop(self, callback: Callable[[], None]) -> bool:
        with self._lock:
            loop = self._loop
        if loop is None:
            return False
        try:
            loop.call_soon_threadsafe(callback)
        except RuntimeError:  # the loop has closed: the thread is on its way out
            return False
        return True

    def request_exit(self, on_stopping: Callable[[], None], how: _Exit) -> None:
        with self._lock:
            self._exit_requested = True

        def on_loop() -> None:
            on_stopping()
            server, task = self.server, self._task
            if self.services is not None:
                # Ends the admin event streams now; they would hold a graceful shutdown open.
                self.services.events.close()
            if server is not None and server.started and how < _Exit.CUT_OFF:
                server.should_exit = True
                if how is _Exit.CANCEL_REQUESTS:
                    for request in list(server.server_state.tasks):
                        request.cancel()
                return
            if server is not None:
                server.should_exit = server.force_exit = True
            if task is not None:
                task.cancel()

        self.call_on_loop(on_loop)


class EmbeddedAdapter:
    """The adapter's HTTP server (TradingView, admin, OpenAPI, optional demo CRM) in-process.

    `start`, `stop` and `restart` may be called from any thread and are serialised; state
    listeners run on the adapter's thread (or, if that thread is stuck, on the thread that gave
    up on it), so a GUI host marshals them to its own thread.

    With `port=0` (the default) each start asks for the port the adapter listened on last time
    (kept in `data_dir`); if another program holds it, the adapter takes a free port, remembers
    that one instead, and says so in `port_moved_from` and `port_note`. A port given explicitly
    is used as it is, or the start fails.
    """

    def __init__(
        self,
        data_dir: Path,
        key_ring: KeyRing,
        broker_secret: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        demo_crm: bool = True,
        token_ttl_seconds: int = DEFAULT_TTL_SECONDS,
        log_level: str = "info",
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.demo_crm = demo_crm
        self.token_ttl_seconds = token_ttl_seconds
        self.log_level = log_level
        self._key_ring = key_ring
        self._broker_secrets = _accepted_secret(broker_secret)  # digests only, never the value
        self._lifecycle = threading.Lock()
        self._guard = threading.Lock()
        self._state = AdapterState.STOPPED
        self._url: str | None = None
        self._last_error: str | None = None
        self._port_moved_from: int | None = None
        self._port_note: str | None = None
        self._listeners: list[StateListener] = []
        self._run: _Run | None = None

    def __repr__(self) -> str:
        return f"EmbeddedAdapter({self.data_dir}, state={self.state.value}, url={self.url})"

    @property
    def state(self) -> AdapterState:
        with self._guard:
            return self._state

    @property
    def running(self) -> bool:
        return self.state is AdapterState.RUNNING

    @property
    def url(self) -> str | None:
        """The base URL while running, e.g. http://127.0.0.1:41234; None otherwise."""
        with self._guard:
            return self._url

    @property
    def last_error(self) -> str | None:
        """Why the last start failed, or the server stopped on its own; None after a clean start."""
        with self._guard:
            return self._last_error

    @property
    def port_moved_from(self) -> int | None:
        """The remembered port the last start could not have because it was taken, else None.

        Set before the state turns RUNNING, so a state listener can read it; cleared by the
        next start.
        """
        with self._guard:
            return self._port_moved_from

    @property
    def port_note(self) -> str | None:
        """Why the adapter does not listen where it did last time, for the operator; else None.

        For example "port 8731 was taken, so the adapter listens on 8742 this time". Set with
        `port_moved_from` and cleared by the next start.
        """
        with self._guard:
            return self._port_note

    def add_state_listener(self, listener: StateListener) -> None:
        with self._guard:
            self._listeners.append(listener)

    def remove_state_listener(self, listener: StateListener) -> None:
        with self._guard, contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def start(self, timeout: float = 20.0) -> str:
        """Start and block until connections are accepted; the base URL.

        Raises `EmbeddedAdapterError` with the reason (port in use, data directory held by
        another adapter, store unusable, too slow) and leaves nothing running. A start that
        hangs is cut off at `timeout`, and cleaning up after it takes at most 2 s more.
        """
        with self._lifecycle:
            return self._start(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (requests in flight finish), cutting off whatever is left at the end.

        Does nothing if the adapter is not running. Raises `EmbeddedAdapterError` only if the
        server thread could not be stopped at all within `timeout`.
        """
        with self._lifecycle:
            self._stop(timeout)

    def restart(self, timeout: float = 20.0) -> str:
        """Stop and start again: tokens and revocations persist in the store in `data_dir`.

        The new server listens on the same port unless another program took it in between
        (then `port_note` says so); the returned URL is always the one in use.
        """
        with self._lifecycle:
            self._stop(min(timeout, 10.0))
            return self._start(timeout)

    def set_credentials(self, key_ring: KeyRing, broker_secret: str, timeout: float = 5.0) -> None:
        """Use another key ring and broker secret from now on, without a restart.

        Tokens keep opening as long as the new ring still holds the key that sealed them.
        Returns once a running server uses them, so the next request already sees them.
        """
        accepted = _accepted_secret(broker_secret)
        with self._lifecycle:
            self._key_ring = key_ring
            self._broker_secrets = accepted
            run = self._run
            if run is None or run.services is None:
                return
            services = run.services
            applied = threading.Event()

            def swap() -> None:  # on the adapter's loop, between two requests
                services.codec.key_ring = key_ring
                services.broker_secrets = accepted
                applied.set()

            if run.call_on_loop(swap) and not applied.wait(timeout):
                raise EmbeddedAdapterError(
                    f"the embedded adapter did not take the new credentials within {timeout:g} "
                    "seconds; they apply from its next start"
                )

    def _start(self, timeout: float) -> str:
        previous = self._run
        if previous is not None and previous.thread is not None and previous.thread.is_alive():
            if self.running and previous.url is not None:
                return previous.url
            raise EmbeddedAdapterError(
                "the previous embedded adapter has not stopped yet; try again in a moment"
            )
        deadline = time.monotonic() + timeout
        run = _Run()
        run.thread = threading.Thread(
            target=self._thread_main, args=(run,), name=THREAD_NAME, daemon=True
        )
        with self._guard:
            self._last_error = None
            self._port_moved_from = None
            self._port_note = None
        self._run = run
        run.thread.start()
        if run.ready.wait(timeout) and run.url is not None and run.error is None:
            return run.url
        if run.error is None:
            run.error = f"the adapter did not start within {timeout:g} seconds"
            run.request_exit(self._on_stopping, _Exit.CUT_OFF)
        run.thread.join(max(deadline - time.monotonic(), FORCE_GRACE_SECONDS))
        if run.thread.is_alive():
            self._give_up(run.error)
        raise EmbeddedAdapterError(run.error)

    def _stop(self, timeout: float) -> None:
        run = self._run
        if run is None or run.thread is None or not run.thread.is_alive():
            return
        deadline = time.monotonic() + timeout
        run.request_exit(self._on_stopping, _Exit.GRACEFUL)
        run.thread.join(max(timeout - FORCE_GRACE_SECONDS, timeout / 2))
        if run.thread.is_alive():
            log.warning("requests still running as the embedded adapter stops; cancelling them")
            run.request_exit(self._on_stopping, _Exit.CANCEL_REQUESTS)
            run.thread.join(max(deadline - time.monotonic(), 0.0) / 2)
        if run.thread.is_alive():
            log.warning("the embedded adapter did not stop in time; cutting it off")
            run.request_exit(self._on_stopping, _Exit.CUT_OFF)
            run.thread.join(max(deadline - time.monotonic(), 0.0))
        if run.thread.is_alive():
            message = f"the embedded adapter did not stop within {timeout:g} seconds"
            self._give_up(message)
            raise EmbeddedAdapterError(message)

    def _give_up(self, message: str) -> None:
        with self._guard:
            self._url = None
            self._last_error = message
        log.error("%s; its thread is abandoned until the program exits", message)
        self._set_state(AdapterState.FAILED)

    def _set_state(self, state: AdapterState) -> None:
        with self._guard:
            if self._state is state:
                return
            self._state = state
            listeners = list(self._listeners)
            url, error = self._url, self._last_error
        _log_state(state, url, error)
        for listener in listeners:
            try:
                listener(state)
            except Exception:
                log.exception("an embedded adapter state listener failed")

    def _on_stopping(self) -> None:
        if self.state in (AdapterState.STARTING, AdapterState.RUNNING):
            self._set_state(AdapterState.STOPPING)

    def _on_started(self, run: _Run, sock: socket.socket) -> None:
        _remember_port(self.data_dir, sock.getsockname()[1])
        url = base_url(sock)
        run.url = url
        with self._guard:
            self._url = url
        self._set_state(AdapterState.RUNNING)
        run.ready.set()

    def _thread_main(self, run: _Run) -> None:
        """Everything from taking the data directory to giving it back, on the adapter thread."""
        self._set_state(AdapterState.STARTING)
        try:
            data_dir = ensure_private_dir(self.data_dir)
            lock = DataDirLock(data_dir)
            try:
                lock.acquire()
            except OSError as exc:
                raise DataDirError(
                    f"cannot lock the data directory {data_dir}: {exc.strerror}"
                ) from exc
            try:
                sock = self._bind(data_dir)
                try:
                    self._serve_blocking(run, data_dir, sock)
                finally:
                    sock.close()
            finally:
                lock.release()
        except (DataDirError, StoreUnavailable, EmbeddedAdapterError) as exc:
            run.error = run.error or str(exc)
        except sqlite3.Error as exc:
            run.error = run.error or f"the token store in {self.data_dir} is unusable: {exc}"
        except SystemExit:  # uvicorn's answer to an application that failed to start up
            run.error = run.error or (
                "the adapter failed while starting its services; the log has the details"
            )
        except asyncio.CancelledError:
            if run.error is None:
                log.warning("the embedded adapter was cut off while stopping")
        except Exception as exc:
            log.exception("the embedded adapter stopped on an unexpected error")
            run.error = run.error or f"the adapter stopped on an unexpected error: {exc}"
        finally:
            with self._guard:
                self._url = None
                if run.error is not None:
                    self._last_error = run.error
            self._set_state(AdapterState.FAILED if run.error else AdapterState.STOPPED)
            run.ready.set()

    def _bind(self, data_dir: Path) -> socket.socket:
        """The configured port; with port 0, last time's port if it is free, else a free one."""
        remembered = None if self.port else _remembered_port(data_dir)
        if remembered is None:
            return self._bind_port(self.port)
        try:
            return self._bind_port(remembered)
        except _PortTaken:
            pass
        sock = self._bind_port(0)
        note = (
            f"port {remembered} was taken, so the adapter listens on "
            f"{sock.getsockname()[1]} this time"
        )
        log.info("%s", note)
        with self._guard:
            self._port_moved_from = remembered
            self._port_note = note
        return sock

    def _bind_port(self, port: int) -> socket.socket:
        try:
            return bind_socket(self.host, port)
        except ServerStartError as exc:
            cause = exc.__cause__
            if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
                raise _PortTaken(
                    f"port {port} on {self.host} is already in use by another program; "
                    "choose another port for the embedded adapter (0 picks a free one)"
                ) from exc
            raise EmbeddedAdapterError(str(exc)) from exc

    def _serve_blocking(self, run: _Run, data_dir: Path, sock: socket.socket) -> None:
        store = SqliteTokenStore(data_dir / STORE_FILE)
        try:
            services = adapter_services(
                store, self._key_ring, self._broker_secrets, self.token_ttl_seconds
            )
            config = self._config(build_app(services, demo_crm=self.demo_crm))
        except BaseException:
            asyncio.run(store.close())
            raise
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(self._serve(run, services, config, sock))

    def _config(self, app: Starlette) -> uvicorn.Config:
        config = server_config(app, self.log_level)
        config.timeout_graceful_shutdown = GRACEFUL_SHUTDOWN_SECONDS
        return config

    async def _serve(
        self, run: _Run, services: AdapterServices, config: uvicorn.Config, sock: socket.socket
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        server = _ThreadServer(config, lambda: self._on_started(run, sock), services.events.close)
        run.services = services
        run.server = server
        try:
            if run.attach(asyncio.get_running_loop(), task):
                await server.serve(sockets=[sock])
        finally:
            await services.store.close()  # the app's shutdown closes it too; twice is harmless
            run.detach()
        if not server.started and run.error is None:
            run.error = "the adapter did not start; the log has the details"
