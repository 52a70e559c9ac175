"""The app's tray, preview, cues and start-on-login as build() wires them (fake desktop):
the tray's menu drives the mode, the pause and "paste last"; closing the window keeps the
app in the tray only where there is one; Settings turns start-on-login on and off."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tingxie.desktop.autostart import Autostart
from tingxie.desktop.hotkey import KeySpec
from tingxie.desktop.insertion.base import FakeInserter, Target
from tingxie.desktop.push_to_talk import FakeHoldKeySource, TalkMode

EDITOR = Target(21, "gedit", "notes", pid=os.getpid() + 1)


def keys() -> tuple[dict[str, FakeHoldKeySource], Any]:
    made: dict[str, FakeHoldKeySource] = {}

    def factory(spec: KeySpec) -> FakeHoldKeySource:
        made[str(spec)] = FakeHoldKeySource(str(spec))
        return made[str(spec)]

    return made, factory


def test_the_tray_menu_changes_the_mode_pauses_the_keys_and_pastes_the_last(
    qtbot: Any, make_app: Any, app_settings: Any
) -> None:
    made, factory = keys()
    fake = FakeInserter(focus=EDITOR)
    app = make_app(inserter=fake, global_source=factory, tray_available=False)
    tray = app.tray
    tray.mode_actions[TalkMode.TOGGLE].trigger()
    assert app.push_to_talk.mode is TalkMode.TOGGLE and app_settings.talk_mode is TalkMode.TOGGLE
    hold = made["right ctrl"]
    tray.pause_action.trigger()
    assert hold.closed and app.global_keys.paused
    tray.pause_action.trigger()
    assert not app.global_keys.paused and made["right ctrl"] is not hold
    assert not app.insert_sink.paste_last()  # nothing dictated yet
    tray.paste_last_action.trigger()
    assert app.insert_sink.drain(5) and fake.calls == []


def test_closing_keeps_the_app_in_the_tray_only_where_there_is_one(
    qtbot: Any, make_app: Any, app_settings: Any
) -> None:
    app = make_app(tray_available=False)
    app.window.close()
    assert app.window._closed  # no tray: closing quits

    app2 = make_app(tray_available=True)
    app2.window.close()
    assert not app2.window._closed and not app2.window.isVisible()  # in the tray
    app2.tray.show_action.trigger()
    qtbot.waitUntil(app2.window.isVisible)
    app_settings.close_to_tray = False
    app2.window.close()
    assert app2.window._closed


def test_the_tray_quit_ends_the_app_even_with_close_to_tray(
    qtbot: Any, make_app: Any
) -> None:
    app = make_app(tray_available=True)
    with qtbot.waitSignal(app.window.closed, timeout=5000):
        app.tray.quit_action.trigger()
    assert app.window._closed


def test_settings_turn_start_on_login_on_and_off(
    qtbot: Any, make_app: Any, app_settings: Any, tmp_path: Path
) -> None:
    from tingxie.desktop.window import SettingsDialog

    autostart = Autostart(platform="linux", command=["/opt/tingxie/tingxie"],
                          env={"XDG_CONFIG_HOME": str(tmp_path / "cfg")}, home=tmp_path)
    app = make_app(autostart=autostart)
    dialog = SettingsDialog(app_settings, app.window.t, app.window, autostart=autostart)
    qtbot.addWidget(dialog)
    assert not dialog.start_on_login.isChecked()
    dialog.start_on_login.setChecked(True)
    dialog.apply()
    entry = tmp_path / "cfg" / "autostart" / "tingxie.desktop"
    assert entry.is_file() and "Exec=/opt/tingxie/tingxie" in entry.read_text()
    dialog = SettingsDialog(app_settings, app.window.t, app.window, autostart=autostart)
    qtbot.addWidget(dialog)
    assert dialog.start_on_login.isChecked()
    dialog.start_on_login.setChecked(False)
    dialog.apply()
    assert not autostart.enabled()


def test_preview_and_cues_follow_the_settings(
    qtbot: Any, make_app: Any, app_settings: Any
) -> None:
    app = make_app(preview=True)
    assert app.preview.enabled and not app.cues.enabled
    app_settings.preview_enabled = False
    app_settings.sound_cues = True
    app.window._on_settings_applied()
    assert not app.preview.enabled and app.cues.enabled
