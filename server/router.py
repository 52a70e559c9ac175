"""Which WebSocket path speaks which protocol: a table of paths to protocol factories.

The websockets adapter (``tingxie.server.app``) looks up each WebSocket handshake's path
here and gives the connection a state machine from the factory found; a path not in the
table is not a WebSocket endpoint. Serving a second protocol is one ``add``.
"""

from __future__ import annotations

from typing import Iterator, Optional

from .errors import ServerError
from .protocols import funasr_runtime, seed
from .protocols.base import ProtocolFactory

__all__ = ["Router", "default_router", "normalize_path"]


def normalize_path(path: str) -> str:
    """The path a request is routed by: without a trailing slash (``/ws/asr/`` is
    ``/ws/asr``), ``/`` for the root."""
    return path.rstrip("/") or "/"


class Router:
    """WebSocket paths to the factories of the protocols spoken there, matched exactly."""

    def __init__(self) -> None:
        self._routes: dict[str, ProtocolFactory] = {}

    def add(self, path: str, factory: ProtocolFactory) -> None:
        """Serve the protocol ``factory`` makes on ``path`` (normalized). Raises
        ``ServerError`` for a path that does not start with ``/`` or already has one."""
        if not path.startswith("/"):
            raise ServerError(f"a WebSocket path starts with '/', got {path!r}")
        path = normalize_path(path)
        if path in self._routes:
            raise ServerError(f"{path} already serves a protocol")
        self._routes[path] = factory

    def match(self, path: str) -> Optional[ProtocolFactory]:
        """The factory for a normalized request path, or None (no WebSocket there)."""
        return self._routes.get(path)

    def __iter__(self) -> Iterator[str]:
        """The paths, in the order they were added."""
        return iter(self._routes)


def default_router() -> Router:
    """What Tingxie serves: the seed protocol on ``/ws/asr``, FunASR's runtime protocol on
    ``/`` (a plain HTTP ``GET /`` is still the info page)."""
    router = Router()
    router.add(seed.PATH, seed.SeedProtocol.for_config)
    router.add(funasr_runtime.PATH, funasr_runtime.FunasrRuntimeProtocol.for_config)
    return router
