"""The embedded WebSocket service, as the window sees it: on/off, address, clients, error.

The server itself lives in ``server/`` (no Qt). This adapter only needs an object with
``start()`` (raising on failure, e.g. the port in use), ``stop()``, ``url`` and
``active_connections``; ``ServerFactory`` builds one for a host and port.
Starting and stopping run on a helper thread so the GUI never waits on a socket.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class ServiceState(enum.Enum):
    OFF = "off"
    STARTING = "starting"
    RUNNING = "running"
    FAILED = "failed"


@dataclass(frozen=True)
class ServiceStatus:
    state: ServiceState
    url: str = ""
    clients: int = 0
    error: str = ""


class EmbeddedServer(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    @property
    def url(self) -> str: ...
    @property
    def active_connections(self) -> int: ...


ConnectionsListener = Callable[[int], None]

ServerFactory = Callable[[str, int, ConnectionsListener], EmbeddedServer]
"""``(host, port, on_connections) -> server`` (not started); ``on_connections(n)`` is called
from any thread when the number of connected clients changes."""

StatusListener = Callable[[ServiceStatus], None]


class ServiceController:
    """Starts/stops the embedded server off the GUI thread and reports ``ServiceStatus``."""

    def __init__(self, factory: ServerFactory | None, on_status: StatusListener) -> None:
        self._factory = factory
        self._on_status = on_status
        self._server: EmbeddedServer | None = None
        self._status = ServiceStatus(ServiceState.OFF)
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def status(self) -> ServiceStatus:
        return self._status

    @property
    def available(self) -> bool:
        return self._factory is not None

    def start(self, host: str, port: int) -> threading.Thread:
        """(Re)start on ``host:port``; the outcome arrives as a status."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            old, self._server = self._server, None
        url = f"ws://{host}:{port}/ws/asr"
        self._set(ServiceStatus(ServiceState.STARTING, url))

        def run() -> None:
            if old is not None:
                _stop_quietly(old)
            if self._factory is None:
                self._set(ServiceStatus(ServiceState.FAILED, url, error="server not available"))
                return
            try:
                server = self._factory(host, port, self._connections_changed)
                server.start()
            except Exception as exc:  # noqa: BLE001 - ServerError (port in use...) is shown, never fatal
                log.warning("the embedded service did not start: %s", exc)
                self._set(ServiceStatus(ServiceState.FAILED, url, error=str(exc) or repr(exc)))
                return
            with self._lock:
                if generation != self._generation:  # stopped or restarted meanwhile
                    stale = True
                else:
                    stale = False
                    self._server = server
            if stale:
                _stop_quietly(server)
                return
            self._set(ServiceStatus(ServiceState.RUNNING, _url_of(server, url), 0))

        thread = threading.Thread(target=run, name="tingxie-service-start", daemon=True)
        thread.start()
        return thread

    def stop(self, wait: bool = False) -> threading.Thread | None:
        with self._lock:
            self._generation += 1
            server, self._server = self._server, None
        self._set(ServiceStatus(ServiceState.OFF))
        if server is None:
            return None
        thread = threading.Thread(target=_stop_quietly, args=(server,), daemon=True)
        thread.start()
        if wait:
            thread.join(timeout=5)
        return thread

    def _connections_changed(self, clients: int) -> None:
        status = self._status
        if status.state is ServiceState.RUNNING and clients != status.clients:
            self._set(ServiceStatus(ServiceState.RUNNING, status.url, clients))

    def refresh(self) -> None:
        """Re-read the client count (called periodically from the GUI)."""
        server = self._server
        status = self._status
        if server is None or status.state is not ServiceState.RUNNING:
            return
        try:
            clients = int(server.active_connections)
        except Exception:  # noqa: BLE001
            return
        if clients != status.clients:
            self._set(ServiceStatus(ServiceState.RUNNING, status.url, clients))

    def _set(self, status: ServiceStatus) -> None:
        self._status = status
        self._on_status(status)


def _url_of(server: EmbeddedServer, fallback: str) -> str:
    try:
        return str(getattr(server, "ws_url", None) or server.url) or fallback
    except Exception:  # noqa: BLE001
        return fallback


def _stop_quietly(server: EmbeddedServer) -> None:
    try:
        server.stop()
    except Exception:
        log.exception("stopping the embedded service failed")


class FakeServer:
    """An ``EmbeddedServer`` for tests; ``fail`` makes ``start`` raise it."""

    def __init__(
        self,
        host: str,
        port: int,
        on_connections: ConnectionsListener | None = None,
        fail: Exception | None = None,
    ) -> None:
        self.host, self.port, self.fail = host, port, fail
        self.on_connections = on_connections
        self.active_connections = 0
        self.running = False

    def connect(self, clients: int) -> None:
        """Pretend ``clients`` clients are now connected."""
        self.active_connections = clients
        if self.on_connections is not None:
            self.on_connections(clients)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/asr"

    def start(self) -> None:
        if self.fail is not None:
            raise self.fail
        self.running = True

    def stop(self) -> None:
        self.running = False
