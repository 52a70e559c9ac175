"""The second pass as the app wires it (``build``): the final of a hold is refined with the
user's hotwords, edited rules apply from the next utterance without a restart, Settings
switch the second pass's steps per utterance and reload the engine for other models, and
what the command line set wins over Settings (and shows so).

The recognizer runs the real worker and second pass around the fakes of
``tingxie.engine.fake`` (the offline fake writes ``<letter>`` per 600 ms and ``[hotword]``
for each hotword; the punctuation fake ends the text with 。), with the real text steps
(``finisher_for``: the rules file re-read when it changes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from tests.desktop.test_settings_engine import CommandLine
from tingxie.desktop.engine_settings import EngineSettings
from tingxie.desktop.window import SettingsDialog
from tingxie.engine.fake import FakeDecoder, FakePunctuator, FakeSegmentDecoder, tone
from tingxie.engine.handle import EngineHandle, EngineState
from tingxie.engine.loader import EngineConfig
from tingxie.engine.second_pass import Refinement, SecondPass
from tingxie.engine.streaming import StreamingRecognizer
from tingxie.engine.text_steps import finisher_for


class Engines:
    """Builds a recognizer for an ``EngineConfig`` (the app's ``load``), remembering each."""

    def __init__(self) -> None:
        self.loaded: list[EngineConfig] = []
        self.recognizers: list[StreamingRecognizer] = []

    def recognizer(self, config: EngineConfig) -> StreamingRecognizer:
        self.loaded.append(config)
        second = SecondPass(
            FakeSegmentDecoder() if config.refine else None,
            FakePunctuator() if config.punc else None,
            None,
            finisher_for(itn=config.itn, language="zh", rules=config.rules),
            defaults=Refinement(hotwords=config.hotwords),
        )
        recognizer = StreamingRecognizer(FakeDecoder(), second_pass=second)
        self.recognizers.append(recognizer)
        return recognizer

    def load(self, config: EngineConfig) -> Any:
        return lambda _progress: self.recognizer(config)

    def close(self) -> None:
        for recognizer in self.recognizers:
            recognizer.close()


def start(make_app: Any, app_settings: Any, history: Any, cli: CommandLine, engines: Engines) -> Any:
    engine = EngineSettings(cli, app_settings, history.path.parent)
    handle = EngineHandle.ready(engines.recognizer(engine.loaded))
    return make_app(handle, engine_settings=engine, load=engines.load)


def say(qtbot: Any, app: Any, fake_audio: Any) -> str:
    """Hold the button for 1.2 s of speech; the final's text."""
    w = app.window
    qtbot.mousePress(w.talk_button, Qt.MouseButton.LeftButton)
    fake_audio.push(tone(0.2, 1.2))
    qtbot.waitUntil(lambda: w.partial_label.text() == "四四")  # the live draft
    with qtbot.waitSignal(app.bridge.final_text, timeout=5000) as final:
        qtbot.mouseRelease(w.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.state_label.text() == "Idle")
    return str(final.args[0].text)


def test_the_final_is_refined_with_the_users_hotwords_and_rules_apply_after_an_edit(
    qtbot: Any, make_app: Any, app_settings: Any, history: Any, fake_audio: Any
) -> None:
    engines = Engines()
    try:
        app = start(make_app, app_settings, history, CommandLine(), engines)
        assert say(qtbot, app, fake_audio) == "<四><四>。"  # refined and punctuated
        dialog = app.window.vocabulary_dialog()
        qtbot.addWidget(dialog)
        dialog.hotwords_edit.setPlainText("北京")
        dialog.rules_edit.setPlainText("<四> = 四")
        dialog.save()
        assert dialog.saved_ok and dialog.result() == QDialog.DialogCode.Accepted
        assert say(qtbot, app, fake_audio) == "四四[北京]。"
        # The files edited by hand count as much: no restart, no dialog.
        data = history.path.parent
        (data / "rules.txt").write_text("re: <(.)> = \\1\n", encoding="utf-8")
        (data / "hotwords.txt").write_text("北京\n听写\n", encoding="utf-8")
        assert say(qtbot, app, fake_audio) == "四四[北京][听写]。"
        (data / "rules.txt").write_text("re: <(.)> = \\1\n[北京] = ，北京\n", encoding="utf-8")
        assert say(qtbot, app, fake_audio) == "四四，北京[听写]。"
        assert len(engines.loaded) == 1  # never reloaded
        assert app.history_sink.drain(5)
        texts = [json.loads(line)["text"] for line in history.path.read_text("utf-8").splitlines()]
        assert texts[-1] == "四四，北京[听写]。"  # the history has the refined text too
    finally:
        engines.close()


def test_settings_switch_the_steps_per_utterance_and_reload_for_another_model(
    qtbot: Any, make_app: Any, app_settings: Any, history: Any, fake_audio: Any,
    monkeypatch: Any,
) -> None:
    engines = Engines()

    def settings(**widgets: Any) -> None:
        def accept(dialog: SettingsDialog) -> QDialog.DialogCode:
            for name, value in widgets.items():
                widget = getattr(dialog, name)
                widget.setChecked(value) if isinstance(value, bool) else widget.setText(value)
            return QDialog.DialogCode.Accepted

        monkeypatch.setattr(SettingsDialog, "exec", accept)
        app.window.open_settings()

    try:
        app = start(make_app, app_settings, history, CommandLine(), engines)
        handle = app.handle
        settings(refine=False)
        assert say(qtbot, app, fake_audio) == "四四。"  # the draft, punctuated
        settings(punctuate=False)
        assert say(qtbot, app, fake_audio) == "四四"
        assert len(engines.loaded) == 1
        assert (app_settings.refine, app_settings.punctuate) == (False, False)  # persisted
        settings(refine=True, punctuate=True, punc_model="none")
        qtbot.waitUntil(lambda: len(engines.loaded) == 2 and handle.status.state is EngineState.READY)
        assert engines.loaded[-1].punc is None and engines.loaded[-1].refine == "offline"
        assert app_settings.punc_model == "none"
        assert say(qtbot, app, fake_audio) == "<四><四>"  # no punctuation model any more
    finally:
        engines.close()


def test_the_command_line_wins_over_settings_and_settings_show_it(
    qtbot: Any, make_app: Any, app_settings: Any, history: Any, fake_audio: Any,
    monkeypatch: Any,
) -> None:
    engines = Engines()
    app_settings.refine, app_settings.refine_model = False, "saved-offline"
    app_settings.itn = False
    try:
        cli = CommandLine({"refine": "cli-offline", "itn": True, "hotwords": ("达摩院",)})
        app = start(make_app, app_settings, history, cli, engines)
        assert engines.loaded[0].refine == "cli-offline" and engines.loaded[0].itn
        # Saved "refine off" does not count: the command line asked for its model.
        assert say(qtbot, app, fake_audio) == "<四><四>[达摩院]。"
        dialog = SettingsDialog(app_settings, app.window.t, app.window, engine=app.engine_settings)
        qtbot.addWidget(dialog)
        assert not dialog.refine.isEnabled() and dialog.refine.isChecked()
        assert not dialog.refine_model.isEnabled() and dialog.refine_model.text() == "cli-offline"
        assert dialog.fixed_notes["refine"].text() == "set on the command line: cli-offline"
        assert not dialog.itn.isEnabled() and dialog.itn.isChecked()
        assert dialog.fixed_notes["itn"].text() == "set on the command line: on"
        assert dialog.punctuate.isEnabled() and dialog.punc_model.isEnabled()
        assert "punc" not in dialog.fixed_notes
        dialog.apply()  # the user's own choices stay saved for runs without the flag
        assert (app_settings.refine, app_settings.refine_model, app_settings.itn) == (
            False, "saved-offline", False)
        app.window._on_settings_applied()
        assert len(engines.loaded) == 1  # nothing the command line fixed reloads
        # The user's hotwords come after the command line's.
        vocabulary = app.window.vocabulary_dialog()
        qtbot.addWidget(vocabulary)
        assert vocabulary.fixed_hotwords.text() == "Also from the command line: 达摩院"
        vocabulary.hotwords_edit.setPlainText("听写")
        vocabulary.save()
        assert say(qtbot, app, fake_audio) == "<四><四>[达摩院][听写]。"
    finally:
        engines.close()


def test_the_window_and_the_tray_open_the_vocabulary(
    qtbot: Any, make_app: Any, app_settings: Any, history: Any, monkeypatch: Any,
) -> None:
    from tingxie.desktop.vocabulary_dialog import VocabularyDialog

    opened: list[VocabularyDialog] = []
    monkeypatch.setattr(VocabularyDialog, "exec", lambda self: opened.append(self) or 0)
    app = make_app(tray_available=False)
    assert app.window.vocabulary_button.isEnabled()
    app.window.vocabulary_button.click()
    (action,) = [a for a in app.tray.menu.actions() if a.text() == "Hotwords and rules…"]
    actions = app.tray.menu.actions()
    assert actions.index(action) + 1 == actions.index(app.tray.settings_action)
    action.trigger()
    assert len(opened) == 2
    assert opened[0].vocabulary.hotwords_path == Path(history.path.parent) / "hotwords.txt"
    dialog = SettingsDialog(app_settings, app.window.t, app.window, engine=app.engine_settings,
                            open_vocabulary=app.window.open_vocabulary)
    qtbot.addWidget(dialog)
    dialog.vocabulary_button.click()
    assert len(opened) == 3


def test_run_loads_the_engine_the_command_line_and_settings_describe(
    qtbot: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from tingxie.desktop import app as desktop_app
    from tingxie.desktop.audio import FakeAudioSource
    from tingxie.desktop.settings import AppSettings

    # No desktop here: nothing typed elsewhere, no global keys (the platform's parts).
    monkeypatch.setattr(desktop_app, "platform_parts", lambda: (None, None, []))
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    saved = AppSettings(store)
    saved.service_enabled, saved.preview_enabled = False, False
    saved.model, saved.punc_model, saved.itn = "/saved/model", "saved-punc", False
    saved.sync()
    engines = Engines()
    seen: list[Any] = []

    def look_then_quit() -> None:
        window = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, desktop_app.MainWindow) and w.isVisible())
        qtbot.addWidget(window)  # deleted after the test, not when Python finalizes
        seen.append(window.engine_settings.fixed)
        window.quit()

    QTimer.singleShot(0, look_then_quit)
    try:
        code = desktop_app.run(
            engine=CommandLine({"refine": "cli-offline"}), settings=store,
            audio=FakeAudioSource(), server_factory=None, load=engines.load,
            history_dir=tmp_path / "data",
        )
    finally:
        qapp = QApplication.instance()
        qapp.setQuitOnLastWindowClosed(True)  # type: ignore[union-attr]
        engines.close()
    assert code == 0
    assert seen == [frozenset({"refine"})]
    (config,) = engines.loaded
    assert (config.model, config.refine, config.punc, config.itn) == (
        "/saved/model", "cli-offline", "saved-punc", False)
    assert config.rules == tmp_path / "data" / "rules.txt"
