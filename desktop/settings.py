"""The user's settings, kept in QSettings: microphone, model, service on/off and port,
UI language, idle time after which the microphone is released; the global keys, the talk
mode, how text goes into other applications, the floating preview; the second pass
(offline model and punctuation model, each on or off per utterance, ITN)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from tingxie.server.config import DEFAULT_PORT

from .hotkey import DEFAULT_HOLD_KEY
from .insertion.base import Method
from .push_to_talk import TalkMode

DEFAULT_PASTE_LAST_KEY = "ctrl+alt+v"


class AppSettings:
    """Typed access to a ``QSettings`` (injected: tests pass one on a temporary ini file)."""

    def __init__(self, store: QSettings) -> None:
        self.store = store

    def _str(self, key: str, default: str) -> str:
        value = self.store.value(key, default)
        return str(value) if value is not None else default

    def _bool(self, key: str, default: bool) -> bool:
        return self._str(key, "true" if default else "false").lower() in ("true", "1", "yes")

    def _set_bool(self, key: str, on: bool) -> None:
        self.store.setValue(key, "true" if on else "false")

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

    # --- the second pass (``tingxie.desktop.engine_settings``) -----------------------------
    @property
    def refine(self) -> bool:
        """Decode each utterance again with the offline model at release."""
        return self._bool("second_pass/refine", True)

    @refine.setter
    def refine(self, on: bool) -> None:
        self._set_bool("second_pass/refine", on)

    @property
    def punctuate(self) -> bool:
        return self._bool("second_pass/punctuate", True)

    @punctuate.setter
    def punctuate(self, on: bool) -> None:
        self._set_bool("second_pass/punctuate", on)

    @property
    def itn(self) -> bool:
        """Inverse text normalization: 一百二十三 -> 123."""
        return self._bool("second_pass/itn", True)

    @itn.setter
    def itn(self, on: bool) -> None:
        self._set_bool("second_pass/itn", on)

    @property
    def refine_model(self) -> str | None:
        """The offline model's name or folder; None: the default; "none": no model."""
        return self._str("second_pass/refine_model", "").strip() or None

    @refine_model.setter
    def refine_model(self, model: str | None) -> None:
        self.store.setValue("second_pass/refine_model", (model or "").strip())

    @property
    def punc_model(self) -> str | None:
        """The punctuation model's name or folder; None: the default; "none": no model."""
        return self._str("second_pass/punc_model", "").strip() or None

    @punc_model.setter
    def punc_model(self, model: str | None) -> None:
        self.store.setValue("second_pass/punc_model", (model or "").strip())

    # --- dictating into other applications --------------------------------------------
    @property
    def hold_key(self) -> str:
        """The global hold key's name (``tingxie.desktop.hotkey``); "" for none."""
        return self._str("keys/hold", DEFAULT_HOLD_KEY)

    @hold_key.setter
    def hold_key(self, name: str) -> None:
        self.store.setValue("keys/hold", name)

    @property
    def paste_last_key(self) -> str:
        return self._str("keys/paste_last", DEFAULT_PASTE_LAST_KEY)

    @paste_last_key.setter
    def paste_last_key(self, name: str) -> None:
        self.store.setValue("keys/paste_last", name)

    @property
    def global_keys(self) -> bool:
        """Watch the global keys at all (off: only Space and the button, in the window)."""
        return self._bool("keys/global", True)

    @global_keys.setter
    def global_keys(self, on: bool) -> None:
        self._set_bool("keys/global", on)

    @property
    def talk_mode(self) -> TalkMode:
        value = self._str("keys/mode", TalkMode.HOLD.value)
        return next((m for m in TalkMode if m.value == value), TalkMode.HOLD)

    @talk_mode.setter
    def talk_mode(self, mode: TalkMode) -> None:
        self.store.setValue("keys/mode", mode.value)

    @property
    def hands_free_silence_s(self) -> float:
        """Hands-free: this long without speech, after speech, ends the utterance."""
        try:
            return min(10.0, max(0.3, float(self._str("keys/hands_free_silence_s", "1.5"))))
        except ValueError:
            return 1.5

    @hands_free_silence_s.setter
    def hands_free_silence_s(self, seconds: float) -> None:
        self.store.setValue("keys/hands_free_silence_s", str(seconds))

    @property
    def insert_enabled(self) -> bool:
        """Type each final into the application focused at key-down."""
        return self._bool("insert/enabled", True)

    @insert_enabled.setter
    def insert_enabled(self, on: bool) -> None:
        self._set_bool("insert/enabled", on)

    @property
    def insert_method(self) -> Method:
        value = self._str("insert/method", Method.AUTO.value)
        return next((m for m in Method if m.value == value), Method.AUTO)

    @insert_method.setter
    def insert_method(self, method: Method) -> None:
        self.store.setValue("insert/method", method.value)

    @property
    def paste_apps(self) -> tuple[str, ...]:
        """Application names always pasted into (comma-separated in the file)."""
        raw = self._str("insert/paste_apps", "")
        return tuple(a.strip().lower() for a in raw.split(",") if a.strip())

    @paste_apps.setter
    def paste_apps(self, apps: tuple[str, ...] | list[str]) -> None:
        self.store.setValue("insert/paste_apps", ",".join(a.strip() for a in apps if a.strip()))

    @property
    def preview_enabled(self) -> bool:
        return self._bool("ui/preview", True)

    @preview_enabled.setter
    def preview_enabled(self, on: bool) -> None:
        self._set_bool("ui/preview", on)

    @property
    def sound_cues(self) -> bool:
        return self._bool("ui/sound_cues", False)

    @sound_cues.setter
    def sound_cues(self, on: bool) -> None:
        self._set_bool("ui/sound_cues", on)

    @property
    def close_to_tray(self) -> bool:
        """Closing the window keeps Tingxie running in the tray (where there is one)."""
        return self._bool("ui/close_to_tray", True)

    @close_to_tray.setter
    def close_to_tray(self, on: bool) -> None:
        self._set_bool("ui/close_to_tray", on)

    def sync(self) -> None:
        self.store.sync()
