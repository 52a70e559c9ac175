"""The user's settings, kept in QSettings: microphone, model, service on/off and port,
UI language, idle time after which the microphone is released."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from tingxie.server.config import DEFAULT_PORT


class AppSettings:
    """Typed access to a ``QSettings`` (injected: tests pass one on a temporary ini file)."""

    def __init__(self, store: QSettings) -> None:
        self.store = store

    def _str(self, key: str, default: str) -> str:
        value = self.store.value(key, default)
        return str(value) if value is not None else default

    @property
    def microphone(self) -> str | None:
        """Device name; None means the system default."""
        value = self._str("audio/microphone", "")
        return value or None

    @microphone.setter
    def microphone(self, name: str | None) -> None:
        self.store.setValue("audio/microphone", name or "")

    @property
    def idle_release_s(self) -> float:
        try:
            return max(0.0, float(self._str("audio/idle_release_s", "0")))
        except ValueError:
            return 0.0

    @idle_release_s.setter
    def idle_release_s(self, seconds: float) -> None:
        self.store.setValue("audio/idle_release_s", str(seconds))

    @property
    def model(self) -> str | None:
        """A model name or local folder the user chose; None: the default."""
        return self._str("engine/model", "") or None

    @model.setter
    def model(self, model: str | None) -> None:
        self.store.setValue("engine/model", model or "")

    @property
    def service_enabled(self) -> bool:
        return self._str("service/enabled", "true").lower() in ("true", "1", "yes")

    @service_enabled.setter
    def service_enabled(self, on: bool) -> None:
        self.store.setValue("service/enabled", "true" if on else "false")

    @property
    def service_port(self) -> int:
        try:
            port = int(self._str("service/port", str(DEFAULT_PORT)))
        except ValueError:
            return DEFAULT_PORT
        return port if 0 < port < 65536 else DEFAULT_PORT

    @service_port.setter
    def service_port(self, port: int) -> None:
        self.store.setValue("service/port", str(int(port)))

    @property
    def language(self) -> str:
        """"auto" (follow the system locale), "en" or "zh"."""
        value = self._str("ui/language", "auto")
        return value if value in ("auto", "en", "zh") else "auto"

    @language.setter
    def language(self, value: str) -> None:
        self.store.setValue("ui/language", value)

    def sync(self) -> None:
        self.store.sync()
