"""The websockets server: a thin I/O adapter around the protocols of ``tingxie.server.protocols``.

One port serves the WebSocket endpoints of a ``Router`` (by default the seed protocol on
``/ws/asr``) and the HTTP pages ``/``, ``/health``, ``/stats``, ``/test``. A handshake's
path picks the protocol; each connection gets its own state machine from that protocol's
factory and is driven the same way whatever the protocol: a reader (client messages to
protocol actions; engine calls return futures at once) and a writer that sends replies in
order, awaiting engine results as it reaches them. Neither ever waits on inference while
holding up another connection: a stalled client fills only its own bounded reply queue.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from concurrent.futures import Future
from dataclasses import dataclass
from importlib import resources
from typing import Any, Callable, Optional, Sequence, Union
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from tingxie.engine.errors import EngineError
from tingxie.engine.handle import EngineHandle, EngineState
from tingxie.engine.interface import SAMPLE_RATE, ModelInfo, Recognizer, Result, Session
from tingxie.engine.streaming import StreamingRecognizer

from . import handshake
from .config import ServerConfig
from .errors import ServerError
from .protocols import funasr_runtime, seed
from .protocols.base import (
    Action,
    BeginUtterance,
    Compute,
    ConnectionProtocol,
    Counted,
    Discard,
    Feed,
    Finish,
    IgnoredAudio,
    Outgoing,
    Reply,
)
from .router import Router, default_router, normalize_path
from .stats import ServerStats

log = logging.getLogger(__name__)

SERVICE_NAME = "Tingxie ASR service"
PAGES = {"info": "/", "health": "/health", "stats": "/stats", "test": "/test"}
"""The HTTP pages beside the WebSocket endpoints, by the name ``/`` lists them under."""
ENDPOINTS = {"websocket": seed.PATH, "funasr_websocket": funasr_runtime.PATH, **PAGES}

ConnectionsListener = Callable[[int], None]
"""Called with the number of open WebSocket connections whenever it changes (on the
server's event loop thread)."""


def _version() -> str:
    try:
        from tingxie import __version__
    except ImportError:  # the service used without the app package
        return "unknown"
    return __version__


@dataclass
class _Pending:
    """An engine result the writer must wait for, in queue order."""

    utterance: int
    future: "asyncio.Future[Result]"
    final: bool
    report: bool
    stop_at: float = 0.0  # monotonic time the client's stop arrived (finals)


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


_Item = Union[Outgoing, _Pending, _Close]


class _Connection:
    """One WebSocket client: its protocol state, engine session and reply queue."""

    def __init__(
        self, server: "AsrServer", ws: ServerConnection, protocol: ConnectionProtocol
    ) -> None:
        self.server = server
        self.ws = ws
        config = server.config
        self.protocol = protocol
        self.outbox: asyncio.Queue[_Item] = asyncio.Queue(maxsize=config.max_pending_replies)
        self.session: Optional[Session] = None
        self._session_owner: Any = None  # the recognizer the session came from
        self.peer = f"{ws.remote_address}" if ws.remote_address else "?"

    async def run(self) -> None:
        writer = asyncio.create_task(self._write_loop(), name=f"tingxie-writer {self.peer}")
        try:
            await self._execute(self.protocol.connected())
            reason = await self._read_loop()
            if reason == "closed":
                return
            # Idle timeout or server shutdown: deliver the final of an utterance in flight.
            await self._execute(self.protocol.close())
            if reason == "idle":
                await self._put(self.protocol.idle_timeout(self.server.config.idle_timeout_s))
                await self._put(_Close(1000, "idle timeout"))
            else:
                await self._put(_Close(1001, "server shutting down"))
            await asyncio.wait({writer}, timeout=self.server.config.shutdown_grace_s)
        finally:
            if not writer.done():
                writer.cancel()
            if self.session is not None:
                self.session.close()

    # --- reading ------------------------------------------------------------------
    async def _read_loop(self) -> str:
        """Handle client messages until the client leaves ("closed"), stays silent too
        long ("idle"), or the server shuts down ("shutdown")."""
        idle = self.server.config.idle_timeout_s
        stopping = asyncio.ensure_future(self.server.stopping.wait())
        try:
            while True:
                recv = asyncio.ensure_future(self.ws.recv())
                done, _ = await asyncio.wait(
                    {recv, stopping}, timeout=idle, return_when=asyncio.FIRST_COMPLETED
                )
                if recv not in done:
                    recv.cancel()  # websockets: cancelling recv() loses no data
                    await asyncio.wait({recv})
                    if stopping in done:
                        return "shutdown"
                    log.info("%s idle for %g s: closing", self.peer, idle)
                    return "idle"
                try:
                    data = recv.result()
                except ConnectionClosed:
                    return "closed"
                ready = self.server.handle.recognizer is not None
                await self._execute(self.protocol.receive(data, engine_ready=ready))
        finally:
            stopping.cancel()

    async def _execute(self, actions: list[Action]) -> None:
        """Carry out protocol actions in order; engine calls return at once."""
        for action in actions:
            if isinstance(action, Reply):
                await self._put(action.message)
            elif isinstance(action, Feed):
                if self.session is None:
                    continue  # the utterance was dropped when the engine went away
                try:
                    future = self.session.feed(action.pcm)
                except EngineError as exc:
                    log.warning("%s: engine refused audio: %s", self.peer, exc)
                    await self._drop_session()
                    await self._execute(self.protocol.engine_lost())
                    return
                self.server.stats.audio_received(len(action.pcm))
                await self._put(
                    _Pending(action.utterance, self._wrap(future), final=False,
                             report=action.report)
                )
            elif isinstance(action, Finish):
                await self._finish(action)
            elif isinstance(action, BeginUtterance):
                if not await self._ensure_session():
                    await self._execute(self.protocol.engine_lost())
                    return
            elif isinstance(action, Discard):
                if self.session is not None:
                    self.session.reset()
            elif isinstance(action, IgnoredAudio):
                self.server.stats.audio_ignored()
            elif isinstance(action, Compute):
                result = await asyncio.to_thread(action.work)
                await self._execute(action.then(result))

    async def _finish(self, action: Finish) -> None:
        stop_at = time.monotonic()
        future: "Future[Result]"
        try:
            if self.session is None:
                raise EngineError("no engine session")
            future = self.session.finish(action.options)
        except EngineError as exc:
            future = Future()
            future.set_exception(exc)
        await self._put(
            _Pending(action.utterance, self._wrap(future), final=True, report=True,
                     stop_at=stop_at)
        )

    async def _ensure_session(self) -> bool:
        recognizer = self.server.handle.recognizer
        if recognizer is None:
            return False
        if self.session is not None and self._session_owner is recognizer:
            return True
        await self._drop_session()
        try:
            self.session = recognizer.open_session()
        except EngineError as exc:
            log.warning("%s: cannot open a session: %s", self.peer, exc)
            return False
        self._session_owner = recognizer
        return True

    async def _drop_session(self) -> None:
        if self.session is not None:
            self.session.close()
        self.session = None
        self._session_owner = None

    @staticmethod
    def _wrap(future: "Future[Result]") -> "asyncio.Future[Result]":
        wrapped = asyncio.wrap_future(future)
        # Whoever never awaits it (a client that left) must not leave an unretrieved error.
        wrapped.add_done_callback(lambda f: f.cancelled() or f.exception())
        return wrapped

    async def _put(self, item: _Item) -> None:
        # Bounded: a client that does not read stops being read (TCP backpressure) instead
        # of growing memory; other connections are unaffected.
        await self.outbox.put(item)

    # --- writing ------------------------------------------------------------------
    async def _write_loop(self) -> None:
        gone = False
        while True:
            item = await self.outbox.get()
            if isinstance(item, _Close):
                if not gone:
                    await self.ws.close(item.code, item.reason)
                return
            if gone:
                continue  # keep draining so the reader never blocks on a full queue
            messages = await self._messages_for(item)
            for message in messages:
                try:
                    await self.ws.send(message.serialize())
                except ConnectionClosed:
                    gone = True
                    break
                self._sent(message, item)

    async def _messages_for(self, item: _Item) -> list[Outgoing]:
        if not isinstance(item, _Pending):
            return [item]
        try:
            # shield: cancelling the writer must never cancel the engine's future.
            result = await asyncio.shield(item.future)
        except EngineError as exc:
            log.warning("%s: recognition failed: %s", self.peer, exc)
            return list(self.protocol.engine_failed(item.utterance, str(exc), item.final))
        if item.final:
            self.server.stats.processed(result.compute_ms, result.audio_ms)
            return [self.protocol.final_ready(
                item.utterance, result.text, result.confidence, result.processing_time_ms,
                refined=result.refined)]
        if not item.report:
            return []
        partial = self.protocol.partial_ready(
            item.utterance, result.text, result.confidence, result.processing_time_ms)
        return [] if partial is None else [partial]

    def _sent(self, message: Outgoing, item: _Item) -> None:
        stats = self.server.stats
        counted = self.protocol.counts_as(message)
        if counted is Counted.ERROR:
            stats.error_sent()
        elif counted is Counted.FINAL and isinstance(item, _Pending) and item.final:
            stats.final_sent((time.monotonic() - item.stop_at) * 1000.0)


class AsrServer:
    """The service on the running event loop. ``await start()``, later ``await shutdown()``.

    ``handle`` gives the model (sessions open once it is ``READY``); ``on_connections`` is
    told the number of open WebSocket connections whenever it changes. ``routes`` says
    which protocol each WebSocket path speaks (``default_router()``: the seed protocol on
    ``/ws/asr``); ``max_connections`` counts the connections of every path together.
    Raises ``ServerError`` if a route takes the path of an HTTP page.
    """

    def __init__(
        self,
        handle: EngineHandle,
        config: ServerConfig,
        *,
        on_connections: Optional[ConnectionsListener] = None,
        routes: Optional[Router] = None,
    ) -> None:
        self.handle = handle
        self.config = config
        self.routes = default_router() if routes is None else routes
        # `/` is both: FunASR's clients open their WebSocket there, a plain GET gets the info.
        taken = sorted(set(self.routes) & set(PAGES.values()) - {PAGES["info"]})
        if taken:
            raise ServerError(f"{', '.join(taken)} is an HTTP page, not a WebSocket path")
        self.stats = ServerStats()
        self._on_connections = on_connections
        self._server: Optional[Server] = None
        self._slots: set[ServerConnection] = set()
        self._handlers: set["asyncio.Task[None]"] = set()
        self._watchers: set["asyncio.Task[None]"] = set()
        self._stopping: Optional[asyncio.Event] = None
        self._started = time.monotonic()
        self._process: Any = None
        self._page: Optional[bytes] = None

    # --- lifecycle ------------------------------------------------------------------
    @property
    def stopping(self) -> asyncio.Event:
        if self._stopping is None:
            raise ServerError("the server is not started")
        return self._stopping

    async def start(self) -> None:
        """Listen on ``config.host:config.port``. Raises ``ServerError`` (e.g. the port is
        in use) with a message for a person."""
        import psutil

        self._stopping = asyncio.Event()
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # prime: the next call measures since now
        config = self.config
        try:
            self._server = await serve(
                self._handler,
                config.host,
                config.port,
                process_request=self._process_request,
                select_subprotocol=_select_subprotocol,
                max_size=config.websocket_max_size,
                # messages read ahead per connection: with the reply queue bounded too, a
                # client cannot make the server hold more than a few MB for it
                max_queue=4,
                ping_interval=config.ping_interval_s,
                ping_timeout=config.ping_timeout_s,
                close_timeout=config.close_timeout_s,
                open_timeout=10,
            )
        except OSError as exc:
            raise ServerError(_bind_error(config.host, config.port, exc)) from exc
        self._started = time.monotonic()
        log.info("ASR service listening on %s", self.url)

    @property
    def port(self) -> int:
        if self._server is None:
            return self.config.port
        for sock in self._server.sockets:
            return int(sock.getsockname()[1])
        return self.config.port

    @property
    def url(self) -> str:
        """``http://host:port`` (the WebSocket is ``ws://host:port/ws/asr``)."""
        host = self.config.host
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def active_connections(self) -> int:
        return len(self._slots)

    async def shutdown(self, grace_s: Optional[float] = None) -> None:
        """Refuse new connections, let each connection deliver the final of its utterance
        in flight and close (1001), then stop listening. Waits at most ``grace_s``
        (default ``config.shutdown_grace_s``) for connections before closing them anyway."""
        if self._server is None:
            return
        grace = self.config.shutdown_grace_s if grace_s is None else grace_s
        self.stopping.set()
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=grace)
        self._server.close(close_connections=True)
        await self._server.wait_closed()
        for task in list(self._watchers):
            task.cancel()
        log.info("ASR service stopped")

    # --- connections ----------------------------------------------------------------
    async def _handler(self, ws: ServerConnection) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.stats.connection_accepted()
        try:
            connection = _Connection(self, ws, self._protocol_for(ws))
            log.info("client %s connected (%d open)", connection.peer, self.active_connections)
            await connection.run()
        finally:
            self._handlers.discard(task)
            self._release(ws)
            log.info("client %s left (%d open)", ws.remote_address, self.active_connections)

    def _protocol_for(self, ws: ServerConnection) -> ConnectionProtocol:
        # Matched again rather than remembered from the handshake: nothing to keep per socket.
        request = ws.request
        factory = None if request is None else self.routes.match(_route_path(request))
        if factory is None:  # cannot happen: _process_request admits routed paths only
            raise ServerError("a WebSocket was admitted on a path without a protocol")
        return factory(self.config)

    def _reserve(self, ws: ServerConnection) -> None:
        self._slots.add(ws)
        watcher = asyncio.ensure_future(self._release_when_closed(ws))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        self._connections_changed()

    async def _release_when_closed(self, ws: ServerConnection) -> None:
        # A handshake can still fail after process_request; the slot goes with the socket.
        await ws.wait_closed()
        self._release(ws)

    def _release(self, ws: ServerConnection) -> None:
        if ws in self._slots:
            self._slots.discard(ws)
            self._connections_changed()

    def _connections_changed(self) -> None:
        self.stats.set_active(len(self._slots))
        if self._on_connections is not None:
            try:
                self._on_connections(len(self._slots))
            except Exception:  # a listener's bug must not break the server
                log.exception("connections listener failed")

    # --- handshake and HTTP ---------------------------------------------------------
    def _process_request(self, ws: ServerConnection, request: Request) -> Optional[Response]:
        """Runs on the loop, synchronously: checking and reserving a slot here is atomic,
        so simultaneous handshakes can never exceed ``max_connections``."""
        url = urlsplit(request.path)
        path = normalize_path(url.path)
        headers = request.headers
        upgrade = handshake.is_websocket_upgrade(headers)
        if self.routes.match(path) is not None and (upgrade or path not in PAGES.values()):
            if not upgrade:
                return None  # websockets answers 426 Upgrade Required
            origin = headers.get("Origin")
            if not handshake.origin_allowed(origin, headers.get("Host"), self.config.allowed_origins):
                log.warning("refused a WebSocket from foreign origin %r", origin)
                return handshake.error_response(403, f"origin {origin} is not allowed")
            if not self._authorized(url.query, request):
                return handshake.error_response(
                    401, "a valid token is required", [("WWW-Authenticate", "Bearer")]
                )
            if self.stopping.is_set():
                return handshake.error_response(503, "the service is shutting down")
            if len(self._slots) >= self.config.max_connections:
                self.stats.connection_refused()
                log.warning("refused a connection: %d open", len(self._slots))
                return handshake.error_response(
                    503, f"too many connections (limit {self.config.max_connections})"
                )
            self._reserve(ws)
            return None
        if path == "/":
            return handshake.json_response(200, self._info())
        if path == "/health":
            ready = self.handle.status.state is EngineState.READY
            return handshake.json_response(200 if ready else 503, self._health())
        if path == "/stats":
            if not self._authorized(url.query, request):
                return handshake.error_response(
                    401, "a valid token is required", [("WWW-Authenticate", "Bearer")]
                )
            return handshake.json_response(200, self._stats())
        if path == "/test":
            return handshake.response(200, self._test_page(), "text/html; charset=utf-8")
        return handshake.error_response(404, f"no such endpoint: {url.path}")

    def _authorized(self, query: str, request: Request) -> bool:
        presented = handshake.token_presented(query, request.headers)
        return handshake.token_ok(self.config.token, presented)

    def _info(self) -> dict[str, Any]:
        status = self.handle.status
        return {
            "name": SERVICE_NAME,
            "service": "tingxie",
            "version": _version(),
            "model": status.model,
            "model_state": status.state.value,
            "endpoints": ENDPOINTS,
            "audio": {"sample_rate": SAMPLE_RATE, "channels": 1, "format": "pcm_s16le",
                      "transport": "base64 in JSON, or binary frames"},
            "token_required": self.config.token is not None,
        }

    def _health(self) -> dict[str, Any]:
        status = self.handle.status
        ready = status.state is EngineState.READY
        body: dict[str, Any] = {
            "status": "healthy" if ready else (
                "unhealthy" if status.state is EngineState.FAILED else "starting"),
            "model_loaded": ready,
            "model": status.model,
            "model_state": status.state.value,
            "uptime_s": round(time.monotonic() - self._started, 1),
            "version": _version(),
        }
        if status.detail:
            body["detail"] = status.detail
        if status.state is EngineState.DOWNLOADING:
            body["download"] = {"done": status.done, "total": status.total}
        if ready:
            body["load_seconds"] = round(status.load_seconds, 2)
            recognizer = self.handle.recognizer
            if recognizer is not None:
                info = recognizer.info
                body["engine"] = {"backend": info.backend, "device": info.device,
                                  "precision": info.precision}
                body.update(_loaded_models(recognizer))
        return body

    def _stats(self) -> dict[str, Any]:
        body = self.stats.as_json()
        body["active_connections"] = self.active_connections
        body["max_connections"] = self.config.max_connections
        body["model"] = self.handle.status.model
        body["model_state"] = self.handle.status.state.value
        process = self._process
        if process is not None:
            rss = process.memory_info().rss
            body["memory_mb"] = round(rss / (1 << 20), 1)
            body["memory_percent"] = round(process.memory_percent(), 2)
            body["cpu_percent"] = process.cpu_percent(None)
        return body

    def _test_page(self) -> bytes:
        if self._page is None:
            self._page = resources.files("tingxie.server.static").joinpath("test.html").read_bytes()
        return self._page


def _model_json(role: str, info: ModelInfo) -> dict[str, Any]:
    # No path: /health answers without a token, and a path says more about the machine
    # than a client needs.
    return {"role": role, "name": info.name, "backend": info.backend, "device": info.device,
            "precision": info.precision}


def _loaded_models(recognizer: Recognizer) -> dict[str, Any]:
    """``/health``'s ``models`` (every loaded model, the streaming one first, each with its
    role: streaming, refine, punc, vad) and ``second_pass``: ``status`` "ok", "degraded"
    (a model it was asked to use is missing: finals are then the live draft, finished as far
    as the remaining steps allow; ``problems`` says why) or "off" (none configured)."""
    models = [_model_json("streaming", recognizer.info)]
    second = recognizer.second_pass if isinstance(recognizer, StreamingRecognizer) else None
    if second is None:
        return {"models": models, "second_pass": {"status": "off", "problems": []}}
    for role, model in (("refine", second.decoder), ("punc", second.punctuator),
                        ("vad", second.segmenter)):
        if model is not None:
            models.append(_model_json(role, model.info))
    problems = list(second.problems)
    return {"models": models,
            "second_pass": {"status": "degraded" if problems else "ok", "problems": problems}}


def _select_subprotocol(
    connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Optional[Subprotocol]:
    """FunASR's clients ask for ``binary`` (and browsers fail without the answer); other
    clients get no subprotocol, whatever they offer."""
    return Subprotocol("binary") if "binary" in offered else None


def _route_path(request: Request) -> str:
    return normalize_path(urlsplit(request.path).path)


def _bind_error(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is already in use (another program, or Tingxie already running?)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"not allowed to listen on port {port} (ports below 1024 need privileges)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: this machine has no such address"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
