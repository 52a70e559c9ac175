"""The tray icon: its state decision, one distinct icon per state, the tooltip, the menu's
signals, and working on where there is no system tray (this offscreen platform)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QColor, QIcon, QImage
from PySide6.QtWidgets import QSystemTrayIcon

from tingxie.desktop.bridge import EngineBridge
from tingxie.desktop.dictation import DictationState
from tingxie.desktop.events import AudioStatus
from tingxie.desktop.i18n import Texts
from tingxie.desktop.push_to_talk import TalkMode
from tingxie.desktop.tray import BADGE_COLOURS, ICON_SIZE, Tray, TrayState, state_icon, tray_state
from tingxie.desktop.window import asset_path
from tingxie.engine.handle import EngineState, EngineStatus

D, E = DictationState, EngineState


@pytest.mark.parametrize(
    ("dictation", "engine", "audio_ok", "expected"),
    [
        (D.IDLE, E.READY, True, TrayState.IDLE),
        (D.LISTENING, E.READY, True, TrayState.LISTENING),
        (D.FINISHING, E.READY, True, TrayState.FINISHING),
        (D.IDLE, E.LOADING, True, TrayState.LOADING),
        (D.IDLE, E.DOWNLOADING, True, TrayState.LOADING),
        (D.IDLE, E.NOT_LOADED, True, TrayState.LOADING),
        (D.IDLE, E.FAILED, True, TrayState.ERROR),
        (D.IDLE, E.READY, False, TrayState.ERROR),
        (D.IDLE, E.LOADING, False, TrayState.ERROR),
        (D.LISTENING, E.READY, False, TrayState.LISTENING),  # what the user is doing wins
    ],
)
def test_tray_state(dictation: D, engine: E, audio_ok: bool, expected: TrayState) -> None:
    assert tray_state(dictation, engine, audio_ok) is expected


def image(icon: QIcon) -> QImage:
    return icon.pixmap(ICON_SIZE, ICON_SIZE).toImage().convertToFormat(QImage.Format.Format_ARGB32)


def app_icon() -> QIcon:
    icon = QIcon(str(asset_path("tingxie.png")))
    assert not icon.isNull()
    return icon


@pytest.mark.parametrize("base", ["app", "empty"])
def test_each_state_has_its_own_icon_with_its_badge_colour(qtbot: Any, base: str) -> None:
    icon = app_icon() if base == "app" else QIcon()
    images = {state: image(state_icon(icon, state)) for state in TrayState}
    states = list(TrayState)
    for i, a in enumerate(states):
        for b in states[i + 1:]:
            assert images[a] != images[b], (a, b)
    # The badge's centre (bottom right) is the state's colour; idle keeps the plain icon.
    centre = int(ICON_SIZE * 0.75) - 1
    for state in (TrayState.LISTENING, TrayState.FINISHING, TrayState.LOADING):
        pixel = images[state].pixelColor(centre, centre)
        assert pixel.name() == QColor(BADGE_COLOURS[state]).name(), state
    if base == "app":
        plain = app_icon().pixmap(ICON_SIZE, ICON_SIZE).toImage().convertToFormat(
            QImage.Format.Format_ARGB32)
        assert images[TrayState.IDLE] == plain


def test_without_a_system_tray_it_still_works(qtbot: Any) -> None:
    # The offscreen platform (like Xvfb) has no tray: asked, the desktop says so.
    assert not QSystemTrayIcon.isSystemTrayAvailable()
    tray = Tray(app_icon(), Texts("en"))
    assert tray.available is False and tray.icon is None
    tray.show()
    tray.set_state(TrayState.LISTENING)
    assert tray.state is TrayState.LISTENING and tray.tooltip == "Tingxie — Listening…"
    assert tray.notify("Tingxie", "hello") is False
    with qtbot.waitSignal(tray.quit_requested, timeout=1000):
        tray.quit_action.trigger()


def test_menu_items_emit_their_signals(qtbot: Any) -> None:
    tray = Tray(app_icon(), Texts("en"), mode=TalkMode.HOLD, available=False)
    texts = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert texts == ["Show window", "Mode", "Pause the hotkey", "Paste last result",
                     "Settings…", "Quit"]
    for action, signal in [
        (tray.show_action, tray.show_window_requested),
        (tray.paste_last_action, tray.paste_last_requested),
        (tray.settings_action, tray.settings_requested),
        (tray.quit_action, tray.quit_requested),
    ]:
        with qtbot.waitSignal(signal, timeout=1000):
            action.trigger()
    with qtbot.waitSignal(tray.pause_toggled, timeout=1000) as paused:
        tray.pause_action.trigger()
    assert paused.args == [True] and tray.paused
    assert tray.tooltip == "Tingxie — Idle (hotkey paused)"
    with qtbot.waitSignal(tray.pause_toggled, timeout=1000) as resumed:
        tray.pause_action.trigger()
    assert resumed.args == [False] and not tray.paused


def test_mode_items_are_radio_items_emitting_the_mode(qtbot: Any) -> None:
    tray = Tray(app_icon(), Texts("zh"), mode=TalkMode.HOLD, available=False)
    assert list(tray.mode_actions) == list(TalkMode)
    assert tray.mode_actions[TalkMode.HOLD].text() == "按住说话"
    # Every mode has its words (none falls back to its raw setting value).
    assert all(a.text() != m.value for m, a in tray.mode_actions.items())
    assert tray.mode is TalkMode.HOLD
    with qtbot.waitSignal(tray.mode_chosen, timeout=1000) as chosen:
        tray.mode_actions[TalkMode.TOGGLE].trigger()
    assert chosen.args == [TalkMode.TOGGLE]
    assert tray.mode is TalkMode.TOGGLE and not tray.mode_actions[TalkMode.HOLD].isChecked()


def test_set_mode_and_set_paused_emit_nothing(qtbot: Any) -> None:
    tray = Tray(app_icon(), Texts("en"), mode=TalkMode.HOLD, available=False)
    with qtbot.assertNotEmitted(tray.mode_chosen), qtbot.assertNotEmitted(tray.pause_toggled):
        tray.set_mode(TalkMode.TOGGLE)
        tray.set_paused(True)
    assert tray.mode is TalkMode.TOGGLE and tray.pause_action.isChecked()


def test_follows_the_bridge(qtbot: Any) -> None:
    bridge = EngineBridge()
    tray = Tray(app_icon(), Texts("en"), available=False)
    tray.follow(bridge, engine=EngineStatus(EngineState.LOADING, "paraformer"),
                audio=AudioStatus(ok=True, device="mic", open=True))
    assert tray.state is TrayState.LOADING and tray.tooltip == "Tingxie — Loading the model…"
    bridge.engine_changed(EngineStatus(EngineState.READY, "paraformer"))
    assert tray.state is TrayState.IDLE
    bridge.state_changed(DictationState.LISTENING)
    assert tray.state is TrayState.LISTENING
    bridge.state_changed(DictationState.FINISHING)
    assert tray.state is TrayState.FINISHING
    bridge.state_changed(DictationState.IDLE)
    bridge.audio_changed(AudioStatus(ok=False, detail="device unplugged"))
    assert tray.state is TrayState.ERROR
    assert tray.tooltip == "Tingxie — Problem: device unplugged"
    bridge.audio_changed(AudioStatus(ok=True, device="mic", open=True))
    bridge.engine_changed(EngineStatus(EngineState.FAILED, "paraformer", detail="out of memory"))
    assert tray.state is TrayState.ERROR and "out of memory" in tray.tooltip


def test_with_a_tray_the_icon_and_tooltip_follow_the_state(qtbot: Any) -> None:
    # Forced on: the QSystemTrayIcon is made and kept in step (it shows nothing offscreen).
    tray = Tray(app_icon(), Texts("en"), available=True)
    assert tray.icon is not None and tray.icon.contextMenu() is tray.menu
    tray.set_state(TrayState.FINISHING)
    assert tray.icon.toolTip() == "Tingxie — Finishing…"
    assert image(tray.icon.icon()) == image(tray.state_icon(TrayState.FINISHING))
    with qtbot.waitSignal(tray.show_window_requested, timeout=1000):
        tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    with qtbot.assertNotEmitted(tray.show_window_requested):
        tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Context)
