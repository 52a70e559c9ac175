"""The real window (built by ``tingxie.desktop.app.build``) on the fake recognizer and a fake mic."""

from __future__ import annotations

import json
import threading
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from tingxie.desktop.dictation import DictationState
from tingxie.desktop.service import FakeServer
from tingxie.engine.errors import ModelLoadError
from tingxie.engine.fake import fake_recognizer, tone
from tingxie.engine.handle import EngineHandle, EngineState


def test_button_hold_shows_partials_and_the_final_and_writes_history(
    qtbot: Any, make_app: Any, fake_audio: Any, history: Any
) -> None:
    app = make_app()
    w = app.window
    assert w.state_label.text() == "Idle"
    qtbot.mousePress(w.talk_button, Qt.MouseButton.LeftButton)
    assert w.state_label.text() == "Listening…"
    fake_audio.push(tone(0.2, 1.2))
    qtbot.waitUntil(lambda: "四" in w.partial_label.text())
    with qtbot.waitSignal(app.bridge.final_text, timeout=5000) as final:
        qtbot.mouseRelease(w.talk_button, Qt.MouseButton.LeftButton)
    assert final.args[0].text == "四四"
    qtbot.waitUntil(lambda: w.transcript_texts() == ["四四"])
    qtbot.waitUntil(lambda: w.state_label.text() == "Idle")
    assert "ms" in w.latency_label.text() and "real-time factor" in w.latency_label.text()
    assert app.history_sink.drain(5)  # written on the history's own thread
    (line,) = history.path.read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert set(record) == {"time", "text", "duration", "audio", "latency", "rtf"}
    assert record["text"] == "四四" and record["latency"] >= 0 and record["duration"] >= 0


def test_holding_space_with_x11_repeat_pairs_makes_exactly_one_utterance(
    qtbot: Any, make_app: Any, fake_audio: Any, history: Any
) -> None:
    app = make_app()
    w = app.window
    states: list[DictationState] = []
    app.bridge.dictation_state.connect(states.append)
    done = threading.Event()
    speech = iter(tone(0.2, 1.2).reshape(30, -1))  # one 40 ms piece per repeat pair

    def repeat_pair(left: int) -> None:
        # What X11 sends every ~40 ms while a key is held: a release, a press 2 ms later.
        QTest.keyRelease(w, Qt.Key.Key_Space)
        QTimer.singleShot(2, lambda: press_again(left))
        fake_audio.push(next(speech))

    def press_again(left: int) -> None:
        QTest.keyPress(w, Qt.Key.Key_Space)
        if left > 1:
            QTimer.singleShot(38, lambda: repeat_pair(left - 1))
        else:  # the key really goes up
            QTimer.singleShot(40, lambda: (QTest.keyRelease(w, Qt.Key.Key_Space), done.set()))

    QTest.keyPress(w, Qt.Key.Key_Space)
    QTimer.singleShot(40, lambda: repeat_pair(30))  # 30 pairs: 1.2 s of holding
    with qtbot.waitSignal(app.bridge.final_text, timeout=8000) as final:
        qtbot.waitUntil(done.is_set, timeout=5000)
    assert final.args[0].text == "四四"
    qtbot.waitUntil(lambda: w.state_label.text() == "Idle")
    assert states.count(DictationState.LISTENING) == 1
    assert app.history_sink.drain(5)
    lines = history.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert 1.1 < json.loads(lines[0])["duration"] < 2.0


def test_space_is_push_to_talk_even_when_a_button_has_focus(qtbot: Any, make_app: Any) -> None:
    app = make_app()
    w = app.window
    w.mic_combo.setFocus()
    QTest.keyPress(w.mic_combo, Qt.Key.Key_Space)
    assert app.dictation.state is DictationState.LISTENING
    QTest.keyRelease(w.mic_combo, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: app.dictation.state is not DictationState.LISTENING, timeout=2000)


def test_no_microphone_is_shown_and_a_plugged_in_one_is_picked_up(
    qtbot: Any, make_app: Any, fake_audio: Any
) -> None:
    fake_audio.device_names = []
    app = make_app()
    w = app.window
    qtbot.waitUntil(lambda: "No microphone" in w.problem_label.text())
    assert w.problem_label.isVisible()
    qtbot.mousePress(w.talk_button, Qt.MouseButton.LeftButton)  # does nothing harmful
    qtbot.mouseRelease(w.talk_button, Qt.MouseButton.LeftButton)
    assert app.dictation.state is DictationState.IDLE
    fake_audio.device_names = ["USB headset"]
    qtbot.waitUntil(lambda: not w.problem_label.isVisible(), timeout=3000)  # retried by the timer
    assert "USB headset" in [w.mic_combo.itemText(i) for i in range(w.mic_combo.count())]


def test_microphone_lost_mid_utterance_keeps_its_final(
    qtbot: Any, make_app: Any, fake_audio: Any, history: Any
) -> None:
    app = make_app()
    w = app.window
    qtbot.mousePress(w.talk_button, Qt.MouseButton.LeftButton)
    fake_audio.push(tone(0.3, 0.6))
    with qtbot.waitSignal(app.bridge.final_text, timeout=5000):
        fake_audio.unplug("the USB microphone was unplugged")
    qtbot.waitUntil(lambda: w.transcript_texts() == ["六"])
    assert "unplugged" in w.problem_label.text()
    qtbot.mouseRelease(w.talk_button, Qt.MouseButton.LeftButton)
    assert app.history_sink.drain(5)
    assert [u.text for u in history.read()] == ["六"]
    fake_audio.plug()
    qtbot.waitUntil(lambda: not w.problem_label.isVisible(), timeout=3000)
    qtbot.mousePress(w.talk_button, Qt.MouseButton.LeftButton)
    fake_audio.push(tone(0.1, 0.6))
    with qtbot.waitSignal(app.bridge.final_text, timeout=5000):
        qtbot.mouseRelease(w.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.transcript_texts() == ["六", "二"])


def test_model_download_and_loading_states_then_ready(qtbot: Any, make_app: Any) -> None:
    downloading, go = threading.Event(), threading.Event()

    def loader(progress: Any) -> Any:
        progress("model.pt", 25, 100)
        downloading.set()
        go.wait(10)
        return fake_recognizer()

    handle = EngineHandle("paraformer-zh-streaming", loader)
    app = make_app(handle)
    w = app.window
    qtbot.waitUntil(lambda: "downloading model.pt" in w.model_label.text())
    assert w.model_progress.isVisible() and w.model_progress.value() == 250
    qtbot.mousePress(w.talk_button, Qt.MouseButton.LeftButton)
    qtbot.mouseRelease(w.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "not ready" in w.problem_label.text())
    go.set()
    qtbot.waitUntil(lambda: "ready (" in w.model_label.text())
    assert not w.model_progress.isVisible()
    assert not w.problem_label.isVisible()


def test_failed_model_shows_the_reason_and_a_local_folder_can_be_chosen(
    qtbot: Any, make_app: Any, fake_audio: Any, tmp_path: Any
) -> None:
    def broken(progress: Any) -> Any:
        raise ModelLoadError("model.pt is corrupt")

    chosen: list[str] = []

    def loader_for(folder: str) -> Any:
        chosen.append(folder)
        return lambda progress: fake_recognizer()

    handle = EngineHandle("paraformer-zh-streaming", broken)
    app = make_app(
        handle, loader_for=loader_for, choose_model_folder=lambda parent, title: str(tmp_path)
    )
    w = app.window
    qtbot.waitUntil(lambda: "failed" in w.model_label.text())
    assert "model.pt is corrupt" in w.model_label.text()
    assert w.choose_model_button.isVisible()
    qtbot.mouseClick(w.choose_model_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: handle.status.state is EngineState.READY)
    assert chosen == [str(tmp_path)] and app.settings.model == str(tmp_path)
    qtbot.waitUntil(lambda: "ready" in w.model_label.text())
    qtbot.mousePress(w.talk_button, Qt.MouseButton.LeftButton)
    fake_audio.push(tone(0.2, 0.6))
    with qtbot.waitSignal(app.bridge.final_text, timeout=5000):
        qtbot.mouseRelease(w.talk_button, Qt.MouseButton.LeftButton)


def test_recognition_failure_is_shown_and_the_app_goes_on(
    qtbot: Any, make_app: Any, fake_audio: Any
) -> None:
    app = make_app(EngineHandle.ready(fake_recognizer(fail_on="四")))
    w = app.window
    qtbot.mousePress(w.talk_button, Qt.MouseButton.LeftButton)
    fake_audio.push(tone(0.2, 0.6))
    qtbot.mouseRelease(w.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Recognition failed" in w.problem_label.text())
    qtbot.waitUntil(lambda: w.state_label.text() == "Idle")
    qtbot.mousePress(w.talk_button, Qt.MouseButton.LeftButton)
    assert not w.problem_label.isVisible()
    fake_audio.push(tone(0.1, 0.6))
    with qtbot.waitSignal(app.bridge.final_text, timeout=5000):
        qtbot.mouseRelease(w.talk_button, Qt.MouseButton.LeftButton)


def test_closing_mid_utterance_writes_its_final(
    qtbot: Any, make_app: Any, fake_audio: Any, history: Any
) -> None:
    app = make_app(EngineHandle.ready(fake_recognizer(delay_s=0.05)))
    w = app.window
    qtbot.mousePress(w.talk_button, Qt.MouseButton.LeftButton)
    fake_audio.push(tone(0.3, 1.2))
    w.close()
    assert [u.text for u in history.read()] == ["六六"]
    assert not fake_audio.running


def test_copy_one_copy_all_and_clear(qtbot: Any, make_app: Any, fake_audio: Any) -> None:
    app = make_app()
    w = app.window
    for level in (0.1, 0.2):
        qtbot.mousePress(w.talk_button, Qt.MouseButton.LeftButton)
        fake_audio.push(tone(level, 0.6))
        with qtbot.waitSignal(app.bridge.final_text, timeout=5000):
            qtbot.mouseRelease(w.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.transcript.count() == 2)
    clipboard = QGuiApplication.clipboard()
    w.transcript.setCurrentRow(0)
    qtbot.mouseClick(w.copy_button, Qt.MouseButton.LeftButton)
    assert clipboard.text() == "二"
    qtbot.mouseClick(w.copy_all_button, Qt.MouseButton.LeftButton)
    assert clipboard.text() == "二\n四"
    qtbot.mouseClick(w.clear_button, Qt.MouseButton.LeftButton)
    assert w.transcript.count() == 0


def test_service_running_with_clients_and_port_in_use(
    qtbot: Any, make_app: Any, app_settings: Any
) -> None:
    servers: list[FakeServer] = []

    def factory(handle: Any, host: str, port: int, on_connections: Any) -> FakeServer:
        fail = OSError(f"port {port} is already in use") if port == 9999 else None
        servers.append(FakeServer(host, port, on_connections, fail=fail))
        return servers[-1]

    app = make_app(server_factory=factory)
    w = app.window
    qtbot.waitUntil(lambda: "port 9999 is already in use" in w.service_label.text())
    assert app.dictation.state is DictationState.IDLE  # the app goes on
    app_settings.service_port = 9998
    w.apply_service_settings()
    qtbot.waitUntil(lambda: "running at ws://127.0.0.1:9998/ws/asr" in w.service_label.text())
    servers[-1].connect(2)
    qtbot.waitUntil(lambda: "2 client(s)" in w.service_label.text())
    app_settings.service_enabled = False
    w.apply_service_settings()
    qtbot.waitUntil(lambda: w.service_label.text() == "off")
    assert not servers[-1].running


def test_microphone_picker_switches_device_and_remembers_it(
    qtbot: Any, make_app: Any, fake_audio: Any, app_settings: Any
) -> None:
    fake_audio.device_names = ["Built-in", "USB headset"]
    app = make_app()
    w = app.window
    index = w.mic_combo.findText("USB headset")
    w.mic_combo.setCurrentIndex(index)
    w.mic_combo.activated.emit(index)
    assert fake_audio.opened[-1] == "USB headset"
    assert app_settings.microphone == "USB headset"
    qtbot.waitUntil(lambda: "USB headset" in w.mic_label.text())


def test_level_meter_follows_the_input(qtbot: Any, make_app: Any, fake_audio: Any) -> None:
    app = make_app()
    fake_audio.push(tone(0.5, 0.1))
    qtbot.waitUntil(lambda: app.window.level_meter.value() >= 85)
    fake_audio.push(tone(0.0, 0.1))
    qtbot.waitUntil(lambda: app.window.level_meter.value() == 0)


def test_chinese_ui(qtbot: Any, make_app: Any) -> None:
    app = make_app(language="zh")
    w = app.window
    assert w.windowTitle() == "听写"
    assert w.state_label.text() == "空闲"
    assert "按住说话" in w.talk_button.text()
    assert not w.windowIcon().isNull()


def test_settings_dialog_saves_service_language_and_idle_release(
    qtbot: Any, make_app: Any, app_settings: Any
) -> None:
    from tingxie.desktop.window import SettingsDialog

    app = make_app()
    dialog = SettingsDialog(app_settings, app.window.t, app.window)
    qtbot.addWidget(dialog)
    dialog.service_enabled.setChecked(False)
    dialog.port.setValue(12345)
    dialog.language.setCurrentIndex(dialog.language.findData("zh"))
    dialog.idle_release.setValue(60)
    dialog.apply()
    assert (app_settings.service_enabled, app_settings.service_port) == (False, 12345)
    assert (app_settings.language, app_settings.idle_release_s) == ("zh", 60.0)
