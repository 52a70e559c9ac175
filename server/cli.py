"""``tingxie --server-only``: the service in the foreground until a signal stops it.

Its options and environment variables are read by the composition root
(``tingxie.config``) into a ``ServerConfig``."""

from __future__ import annotations

import asyncio
import logging
import signal

from tingxie.engine.handle import EngineHandle

from .app import AsrServer
from .config import ServerConfig
from .errors import ServerError
from .protocols import seed

log = logging.getLogger(__name__)


def run_server_only(handle: EngineHandle, config: ServerConfig) -> int:
    """Serve in the foreground until SIGINT/SIGTERM, then shut down gracefully (utterances
    in flight get their final). The caller starts loading the model (e.g.
    ``handle.load_in_background()``); until it is ready ``/health`` answers 503 and ``start``
    gets error 503. Returns the exit status: 0, or 2 if the service could not start."""
    try:
        return asyncio.run(_serve(handle, config))
    except ServerError as exc:
        log.error("cannot start the service: %s", exc)
        return 2


async def _serve(handle: EngineHandle, config: ServerConfig) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
            log.debug("cannot install a handler for %s", sig.name)
    server = AsrServer(handle, config)
    try:
        await server.start()
        log.info("serving on %s (WebSocket %s%s); Ctrl+C to stop",
                 server.url, server.url.replace("http", "ws", 1), seed.PATH)
        await stop.wait()
        log.info("shutting down")
        await server.shutdown()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    return 0
