"""Running the service on its own thread and event loop, for the desktop app."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Optional

from tingxie.engine.handle import EngineHandle

from .app import AsrServer, ConnectionsListener
from .config import ServerConfig
from .errors import ServerError
from .protocols import seed
from .stats import StatsSnapshot

log = logging.getLogger(__name__)


class BackgroundServer:
    """The ASR service on a daemon thread with its own asyncio loop.

    ``start()`` returns once the port is bound, or raises ``ServerError`` (e.g. "port 9999
    is already in use ..."). ``stop()`` shuts down gracefully (utterances in flight get
    their final) and joins the thread. ``on_connections(n)`` is called on the server's
    thread whenever the number of open WebSocket connections changes; a GUI must hop to
    its own thread (e.g. emit a Qt signal). May be started again after ``stop()``.
    """

    def __init__(
        self,
        handle: EngineHandle,
        config: ServerConfig,
        *,
        on_connections: Optional[ConnectionsListener] = None,
    ) -> None:
        self.handle = handle
        self.config = config
        self._on_connections = on_connections
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._server: Optional[AsrServer] = None
        self._stop: Optional[asyncio.Event] = None
        self._error: Optional[BaseException] = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def url(self) -> str:
        """``http://host:port`` of the running service (WebSocket at ``/ws/asr``)."""
        if self._server is None:
            raise ServerError("the server is not running")
        return self._server.url

    @property
    def ws_url(self) -> str:
        """``ws://host:port/ws/asr``: the seed protocol's endpoint."""
        return "ws" + self.url[len("http"):] + seed.PATH

    @property
    def port(self) -> int:
        if self._server is None:
            raise ServerError("the server is not running")
        return self._server.port

    @property
    def active_connections(self) -> int:
        return 0 if self._server is None else self._server.active_connections

    def stats(self) -> Optional[StatsSnapshot]:
        return None if self._server is None else self._server.stats.snapshot()

    def start(self, timeout: float = 15.0) -> None:
        """Bind and serve in the background. Raises ``ServerError`` if it cannot."""
        with self._lock:
            if self.running:
                raise ServerError("the server is already running")
            started = threading.Event()
            self._error = None
            self._thread = threading.Thread(
                target=self._run, args=(started,), name="tingxie-server", daemon=True
            )
            self._thread.start()
        if not started.wait(timeout):
            raise ServerError(f"the server did not start within {timeout:g} s")
        if self._error is not None:
            self._thread.join(timeout)
            error, self._error = self._error, None
            self._server = None
            if isinstance(error, ServerError):
                raise ServerError(str(error)) from error
            raise ServerError(f"the server failed to start: {error!r}") from error

    def stop(self, timeout: Optional[float] = None) -> None:
        """Graceful shutdown; returns when the thread has ended. Safe to call twice."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop closed between the check and the call
                log.debug("server loop already closed")
        thread.join(timeout if timeout is not None else self.config.shutdown_grace_s + 10)
        if thread.is_alive():
            log.error("the server thread did not stop in time")
            return
        self._thread = None
        self._server = None

    def _run(self, started: threading.Event) -> None:
        try:
            asyncio.run(self._main(started))
        except BaseException as exc:  # reported to start(); the thread must not die silently
            if not started.is_set():
                self._error = exc
                started.set()
            else:
                log.exception("the server thread failed")

    async def _main(self, started: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = AsrServer(self.handle, self.config, on_connections=self._on_connections)
        try:
            await server.start()
        except BaseException as exc:
            self._error = exc
            started.set()
            return
        self._server = server
        started.set()
        await self._stop.wait()
        await server.shutdown()
