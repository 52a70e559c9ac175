"""Tingxie's ``/ws/asr`` service (the seed service's interface), embedded or ``--server-only``.

- ``tingxie.server.protocols``: the wire protocols, per-connection state machines without
  I/O (``seed``: the seed's ``/ws/asr``; ``base``: what every protocol shares).
- ``tingxie.server.router``: which WebSocket path speaks which protocol.
- ``tingxie.server.app.AsrServer``: the websockets server on the running event loop.
- ``tingxie.server.background.BackgroundServer``: the same on its own thread, for the desktop app.
- ``tingxie.server.cli``: ``run_server_only`` (options are read by ``tingxie.config``).

Never imports Qt.
"""

from .config import ServerConfig
from .errors import ProtocolError, ServerError

__all__ = ["ProtocolError", "ServerConfig", "ServerError"]
