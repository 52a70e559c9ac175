"""Desktop tests run Qt offscreen (set before anything imports Qt)."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tingxie.desktop.audio import FakeAudioSource
from tingxie.desktop.dictation import DictationConfig
from tingxie.desktop.history import History
from tingxie.desktop.microphone import MicrophoneConfig
from tingxie.engine.fake import fake_recognizer
from tingxie.engine.handle import EngineHandle


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "data" / "history.jsonl")


@pytest.fixture
def app_settings(tmp_path: Path) -> Any:
    from PySide6.QtCore import QSettings

    from tingxie.desktop.settings import AppSettings

    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def fake_audio() -> FakeAudioSource:
    return FakeAudioSource()


@pytest.fixture
def make_app(qtbot: Any, app_settings: Any, fake_audio: FakeAudioSource, history: History) -> Iterator[Callable[..., Any]]:
    """Builds the real window (``tingxie.desktop.app.build``) on a fake recognizer and fake mic."""
    from tingxie.desktop.app import build

    built: list[Any] = []
    handles: list[EngineHandle] = []

    def make(
        handle: EngineHandle | None = None,
        *,
        audio: Any | None = None,
        config: DictationConfig | None = None,
        microphone_config: MicrophoneConfig | None = None,
        **kwargs: Any,
    ) -> Any:
        # Offscreen, every window shown becomes the active one, so the floating preview
        # would end a Space hold; on X11 it never takes the focus (test_preview_x11.py).
        app_settings.preview_enabled = kwargs.pop("preview", False)
        if handle is None:
            handle = EngineHandle.ready(fake_recognizer())
        handles.append(handle)
        app = build(
            handle,
            settings=app_settings,
            audio=audio if audio is not None else fake_audio,
            history=history,
            config=config or DictationConfig(final_timeout_s=2.0),
            microphone_config=microphone_config or MicrophoneConfig(stall_s=None, retry_s=0.05),
            language=kwargs.pop("language", "en"),
            **kwargs,
        )
        qtbot.addWidget(app.window)
        app.window.show()
        built.append(app)
        return app

    yield make
    for app in built:
        app.window.shutdown()
    for handle in handles:
        handle.close()


# The end-to-end fixtures (Xvfb + PulseAudio, a synthetic model, spoken Chinese).
from tests.desktop.e2e import desktop_env, speech, synthetic_model  # noqa: E402, F401
