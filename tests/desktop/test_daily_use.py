"""The desktop app a daily user trusts (issue 15): the real window (``build``) on the fake
recognizer and a fake microphone; each test is one thing a user saw go wrong."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialog

from tingxie.desktop.service import FakeServer
from tingxie.desktop.window import SettingsDialog


def fake_servers() -> tuple[list[FakeServer], Any]:
    servers: list[FakeServer] = []

    def factory(handle: Any, host: str, port: int, on_connections: Any) -> FakeServer:
        servers.append(FakeServer(host, port, on_connections))
        return servers[-1]

    return servers, factory


def accept_settings(monkeypatch: Any, change: Any = None) -> list[SettingsDialog]:
    """Settings' ``exec`` answers OK at once (after ``change(dialog)``, if given)."""
    opened: list[SettingsDialog] = []

    def accept(dialog: SettingsDialog) -> QDialog.DialogCode:
        opened.append(dialog)
        if change is not None:
            change(dialog)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SettingsDialog, "exec", accept)
    return opened


# --- 2. Settings → OK with no change touches nothing ------------------------------------
def test_settings_ok_without_a_change_keeps_the_service_on_the_command_lines_port(
    qtbot: Any, make_app: Any, app_settings: Any, monkeypatch: Any
) -> None:
    servers, factory = fake_servers()
    app = make_app(server_factory=factory, service_port=9871)
    w = app.window
    qtbot.waitUntil(lambda: "ws://127.0.0.1:9871/ws/asr" in w.service_label.text())
    opened = accept_settings(monkeypatch)
    w.open_settings()
    (dialog,) = opened
    assert dialog.port.value() == 9871  # what runs, not the stored 9999
    assert dialog.port_note is not None and "9871" in dialog.port_note.text()
    assert "command line" in dialog.port_note.text()
    qtbot.wait(50)
    assert len(servers) == 1 and servers[0].running and servers[0].port == 9871
    assert "9871" in w.service_label.text()
    app_settings.store.sync()
    assert app_settings.store.value("service/port") is None  # nothing was saved


def test_a_port_changed_in_settings_is_saved_and_the_service_moves(
    qtbot: Any, make_app: Any, app_settings: Any, monkeypatch: Any
) -> None:
    servers, factory = fake_servers()
    app = make_app(server_factory=factory, service_port=9871)
    w = app.window
    qtbot.waitUntil(lambda: "9871" in w.service_label.text())
    accept_settings(monkeypatch, lambda dialog: dialog.port.setValue(9872))
    w.open_settings()
    qtbot.waitUntil(lambda: "ws://127.0.0.1:9872/ws/asr" in w.service_label.text())
    assert app_settings.service_port == 9872
    assert not servers[0].running and servers[-1].running
