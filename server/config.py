"""The service's settings, and reading them from the seed service's environment variables."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Mapping, Optional

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

    @classmethod
    def from_env(cls, environ: Mapping[str, str], base: "ServerConfig | None" = None) -> "ServerConfig":
        """``base`` (default: the defaults) overridden by the seed's HOST, PORT, WS_TIMEOUT,
        MAX_CONNECTIONS and by TINGXIE_TOKEN, TINGXIE_MAX_UTTERANCE_S. Empty values are
        ignored. Raises ``ServerError`` naming the variable for an unusable value."""
        config = base or cls()
        changes: dict[str, object] = {}
        if environ.get("HOST"):
            changes["host"] = environ["HOST"].strip()
        if environ.get("PORT"):
            changes["port"] = _int(environ, "PORT")
        if environ.get("WS_TIMEOUT"):
            changes["idle_timeout_s"] = _float(environ, "WS_TIMEOUT")
        if environ.get("MAX_CONNECTIONS"):
            changes["max_connections"] = _int(environ, "MAX_CONNECTIONS")
        if environ.get("TINGXIE_TOKEN"):
            changes["token"] = environ["TINGXIE_TOKEN"]
        if environ.get("TINGXIE_MAX_UTTERANCE_S"):
            changes["max_utterance_s"] = _float(environ, "TINGXIE_MAX_UTTERANCE_S")
        try:
            return replace(config, **changes)  # type: ignore[arg-type]
        except ServerError as exc:
            raise ServerError(f"bad environment: {exc}") from None


@dataclass(frozen=True)
class EngineEnv:
    """The seed's engine variables, for the composition root to put into ``EngineConfig``
    (MODEL_NAME, MODEL_REVISION, DEVICE, HOTWORDS, TORCH_NUM_THREADS) and logging
    (LOG_LEVEL). None where unset."""

    model: Optional[str] = None
    revision: Optional[str] = None
    device: Optional[str] = None
    hotwords: tuple[str, ...] = ()
    threads: Optional[int] = None
    log_level: Optional[int] = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "EngineEnv":
        """Raises ``ServerError`` naming the variable for an unusable value."""
        level: Optional[int] = None
        if environ.get("LOG_LEVEL"):
            name = environ["LOG_LEVEL"].strip().upper()
            value = logging.getLevelName(name)
            if not isinstance(value, int):
                raise ServerError(
                    f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {name!r}"
                )
            level = value
        hotwords = tuple(
            w.strip() for w in environ.get("HOTWORDS", "").split(",") if w.strip()
        )
        return cls(
            model=environ.get("MODEL_NAME") or None,
            revision=environ.get("MODEL_REVISION") or None,
            device=environ.get("DEVICE") or None,
            hotwords=hotwords,
            threads=_int(environ, "TORCH_NUM_THREADS") if environ.get("TORCH_NUM_THREADS") else None,
            log_level=level,
        )


def _int(environ: Mapping[str, str], name: str) -> int:
    try:
        return int(environ[name].strip())
    except ValueError:
        raise ServerError(f"{name} must be a whole number, got {environ[name]!r}") from None


def _float(environ: Mapping[str, str], name: str) -> float:
    try:
        return float(environ[name].strip())
    except ValueError:
        raise ServerError(f"{name} must be a number, got {environ[name]!r}") from None
