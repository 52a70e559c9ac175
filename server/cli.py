"""``tingxie --server-only``: command-line options and the foreground runner."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from dataclasses import replace
from typing import Mapping, Optional

from tingxie.engine.handle import EngineHandle

from .app import AsrServer
from .config import ServerConfig
from .errors import ServerError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--host --port --max-connections --token`` (defaults None: the environment, then
    ``ServerConfig``'s defaults, apply)."""
    group = parser.add_argument_group("service")
    group.add_argument("--host", default=None,
                       help="address to listen on (default 127.0.0.1; env HOST; "
                            "0.0.0.0 for other machines)")
    group.add_argument("--port", type=int, default=None,
                       help="port for WebSocket and HTTP (default 9999; env PORT)")
    group.add_argument("--max-connections", type=int, default=None,
                       help="WebSocket clients at once (default 20; env MAX_CONNECTIONS)")
    group.add_argument("--token", default=None,
                       help="shared secret clients must send as ?token= or "
                            "'Authorization: Bearer' (env TINGXIE_TOKEN)")


def config_from_args(
    args: argparse.Namespace, environ: Mapping[str, str], base: Optional[ServerConfig] = None
) -> ServerConfig:
    """``base`` < environment < command line. Raises ``ServerError`` for bad values."""
    config = ServerConfig.from_env(environ, base)
    changes: dict[str, object] = {}
    for option, name in (("host", "host"), ("port", "port"),
                         ("max_connections", "max_connections"), ("token", "token")):
        value = getattr(args, option, None)
        if value is not None:
            changes[name] = value
    return replace(config, **changes)  # type: ignore[arg-type]


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
        log.info("serving on %s (WebSocket %s/ws/asr); Ctrl+C to stop",
                 server.url, server.url.replace("http", "ws", 1))
        await stop.wait()
        log.info("shutting down")
        await server.shutdown()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    return 0
