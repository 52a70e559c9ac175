"""The app built with a fake desktop (a fake inserter and fake global keys): holding the
global key dictates into the focused application, Settings changes keys and modes live,
Tingxie's own window is never typed into, a focus change keeps the text for "paste last"."""

from __future__ import annotations

import os
from typing import Any

import pytest
from PySide6.QtCore import Qt

from tingxie.desktop.hotkey import KeySpec
from tingxie.desktop.insertion.base import FakeInserter, Target
from tingxie.desktop.push_to_talk import FakeHoldKeySource, TalkMode
from tingxie.engine.fake import tone

EDITOR = Target(11, "gedit", "notes", pid=99999)
TINGXIE = Target(12, "tingxie", "Tingxie", pid=os.getpid())


class Keys:
    """The global key factory of a fake desktop: the sources it made, by name."""

    def __init__(self) -> None:
        self.made: dict[str, FakeHoldKeySource] = {}

    def __call__(self, spec: KeySpec) -> FakeHoldKeySource:
        self.made[str(spec)] = FakeHoldKeySource(str(spec))
        return self.made[str(spec)]


@pytest.fixture
def desk(make_app: Any) -> Any:
    fake, keys = FakeInserter(focus=EDITOR), Keys()
    app = make_app(inserter=fake, global_source=keys)
    return app, fake, keys


def hold(qtbot: Any, source: FakeHoldKeySource, audio: Any, level: float = 0.2) -> None:
    import time

    source.down(time.monotonic())
    audio.push(tone(level, 0.6))
    source.up(time.monotonic())


def test_the_global_key_types_the_final_into_the_focused_application(
    qtbot: Any, desk: Any, fake_audio: Any, history: Any
) -> None:
    app, fake, keys = desk
    assert set(keys.made) == {"right ctrl", "ctrl+alt+v"}  # the defaults
    hold(qtbot, keys.made["right ctrl"], fake_audio)
    qtbot.waitUntil(lambda: fake.typed == {11: ["四"]}, timeout=5000)
    assert [u.text for u in history.read()] == ["四"]
    qtbot.waitUntil(lambda: app.window.transcript_texts() == ["四"])


def test_speaking_into_tingxies_own_window_types_nothing_else(
    qtbot: Any, desk: Any, fake_audio: Any
) -> None:
    app, fake, keys = desk
    fake.focus = TINGXIE
    qtbot.mousePress(app.window.talk_button, Qt.MouseButton.LeftButton)
    fake_audio.push(tone(0.2, 0.6))
    qtbot.mouseRelease(app.window.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.window.transcript_texts() == ["四"])
    assert app.insert_sink.drain(5) and fake.calls == []


def test_where_the_platform_cannot_tell_the_focus_the_window_button_types_nothing(
    qtbot: Any, make_app: Any, fake_audio: Any
) -> None:
    """Wayland: no focused window is known, so the press's own source decides."""
    fake, keys = FakeInserter(focus=None), Keys()
    app = make_app(inserter=fake, global_source=keys)
    qtbot.mousePress(app.window.talk_button, Qt.MouseButton.LeftButton)
    fake_audio.push(tone(0.2, 0.6))
    qtbot.mouseRelease(app.window.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.window.transcript_texts() == ["四"])
    assert app.insert_sink.drain(5) and fake.calls == []
    fake.focus = EDITOR  # the global key's text still goes to the other application
    hold(qtbot, keys.made["right ctrl"], fake_audio)
    qtbot.waitUntil(lambda: fake.typed == {11: ["四"]}, timeout=5000)


def test_focus_moved_is_shown_and_the_paste_last_key_inserts_it(
    qtbot: Any, desk: Any, fake_audio: Any
) -> None:
    import time

    app, fake, keys = desk

    source = keys.made["right ctrl"]
    source.down(time.monotonic())
    fake_audio.push(tone(0.2, 0.6))
    fake.focus = Target(13, "firefox", "web", pid=88888)  # the user clicked elsewhere
    source.up(time.monotonic())
    qtbot.waitUntil(lambda: "Paste last" in app.window.problem_label.text(), timeout=5000)
    assert fake.typed == {}
    paste = keys.made["ctrl+alt+v"]
    paste.down(time.monotonic())
    paste.up(time.monotonic())
    qtbot.waitUntil(lambda: fake.typed == {13: ["四"]}, timeout=5000)


def test_settings_change_the_keys_and_the_mode_live_and_refuse_unusable_names(
    qtbot: Any, desk: Any, app_settings: Any, fake_audio: Any
) -> None:
    from tingxie.desktop.window import SettingsDialog

    app, fake, keys = desk
    old = keys.made["right ctrl"]
    dialog = SettingsDialog(app_settings, app.window.t, app.window)
    qtbot.addWidget(dialog)
    dialog.hold_key.setText("ctrl+ctrl+a")
    dialog.accept()
    assert not dialog.key_error.isHidden() and "twice" in dialog.key_error.text()
    assert dialog.result() == 0  # still open
    dialog.hold_key.setText("F8")
    dialog.talk_mode.setCurrentIndex(dialog.talk_mode.findData(TalkMode.TOGGLE))
    dialog.accept()
    dialog.apply()
    app.window._on_settings_applied()
    assert app_settings.hold_key == "F8" and old.closed and "f8" in keys.made
    assert app.push_to_talk.mode is TalkMode.TOGGLE
    import time

    f8 = keys.made["f8"]
    f8.down(time.monotonic())
    f8.up(time.monotonic())
    fake_audio.push(tone(0.2, 0.6))
    qtbot.wait(100)  # past the key's debounce: the next press is a new one
    assert app.dictation.listening  # toggle: still talking after the key came up
    f8.down(time.monotonic())
    f8.up(time.monotonic())
    qtbot.waitUntil(lambda: fake.typed == {11: ["四"]}, timeout=5000)


def test_switching_insertion_off_keeps_the_text_in_the_window_only(
    qtbot: Any, desk: Any, app_settings: Any, fake_audio: Any
) -> None:
    app, fake, keys = desk
    app_settings.insert_enabled = False
    app.window._on_settings_applied()
    hold(qtbot, keys.made["right ctrl"], fake_audio)
    qtbot.waitUntil(lambda: app.window.transcript_texts() == ["四"])
    assert app.insert_sink.drain(5) and fake.calls == []


def test_hands_free_a_press_starts_and_the_pause_after_speech_stops(
    qtbot: Any, make_app: Any, app_settings: Any, fake_audio: Any, history: Any
) -> None:
    import time

    import numpy as np

    from tingxie.engine.vad import FakeSpeechProbability

    app_settings.talk_mode = TalkMode.HANDS_FREE
    app_settings.hands_free_silence_s = 0.5
    fake, keys = FakeInserter(focus=EDITOR), Keys()
    app = make_app(inserter=fake, global_source=keys, speech_model=FakeSpeechProbability)
    key = keys.made["right ctrl"]
    key.down(time.monotonic())
    key.up(time.monotonic())
    qtbot.waitUntil(lambda: app.dictation.listening)
    fake_audio.push(tone(0.2, 0.6))
    qtbot.wait(100)
    assert app.dictation.listening  # speaking, and the key is up: still listening
    fake_audio.push(np.zeros(int(0.3 * 16000), dtype=np.int16))
    qtbot.wait(100)
    assert app.dictation.listening  # a short pause does not stop it
    fake_audio.push(np.zeros(int(0.4 * 16000), dtype=np.int16))
    qtbot.waitUntil(lambda: not app.dictation.listening, timeout=5000)
    qtbot.waitUntil(lambda: fake.typed == {11: ["四"]}, timeout=5000)
    assert [u.text for u in history.read()] == ["四"]
