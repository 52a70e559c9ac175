"""The service's settings (read from the command line and the seed's environment variables
by the composition root, ``tingxie.config``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .errors import ServerError

DEFAULT_PORT = 9999


@dataclass(frozen=True)
class ServerConfig:
    """Everything the service needs besides the engine. Built once, in the composition root.

    ``host`` defaults to loopback: other machines can reach the service only when told
    (``--host 0.0.0.0`` / ``HOST``). ``token``, when set, is required from WebSocket and
    ``/stats`` clients (``?token=`` or ``Authorization: Bearer``). ``allowed_origins`` are
    browser origins (``scheme://host[:port]``) allowed besides localhost and the server's
    own host.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_connections: int = 20
    idle_timeout_s: float = 300.0
    token: Optional[str] = None
    max_message_bytes: int = 1 << 20
    max_utterance_s: float = 300.0
    ping_interval_s: Optional[float] = 20.0
    ping_timeout_s: Optional[float] = 20.0
    shutdown_grace_s: float = 10.0
    close_timeout_s: float = 5.0  # how long a closing handshake may take before the socket is cut
    allowed_origins: tuple[str, ...] = field(default=())
    max_pending_replies: int = 64

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ServerError(f"port must be between 0 and 65535, got {self.port}")
        if self.max_connections < 1:
            raise ServerError(f"max connections must be at least 1, got {self.max_connections}")
        if self.idle_timeout_s <= 0:
            raise ServerError(f"idle timeout must be positive, got {self.idle_timeout_s}")
        if self.max_message_bytes < 1024:
            raise ServerError(f"max message size too small: {self.max_message_bytes}")
        if self.max_utterance_s <= 0:
            raise ServerError(f"max utterance length must be positive: {self.max_utterance_s}")

    @property
    def websocket_max_size(self) -> int:
        """Frames up to this size are read and answered (413 above ``max_message_bytes``);
        larger ones make websockets close the connection (1009) without reading them."""
        return max(8 * self.max_message_bytes, 8 << 20)
