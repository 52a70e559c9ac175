"""Tingxie's ``/ws/asr`` service (the seed service's interface), embedded or ``--server-only``.

- ``tingxie.server.protocol``: the wire protocol and per-connection state machine, no I/O.
- ``tingxie.server.app.AsrServer``: the websockets server on the running event loop.
- ``tingxie.server.background.BackgroundServer``: the same on its own thread, for the desktop app.
- ``tingxie.server.cli``: ``add_arguments``, ``config_from_args``, ``run_server_only``.

Never imports Qt.
"""

from .config import EngineEnv, ServerConfig
from .errors import ProtocolError, ServerError

__all__ = ["EngineEnv", "ProtocolError", "ServerConfig", "ServerError"]
