"""The main window: a big hold-to-talk button (or hold Space), live text, the transcript,
and the state of the model, the microphone and the service.

Widgets only show what the bridge's signals say and forward the user's actions; holding
the button or Space reaches ``Dictation`` through the push-to-talk controller (the sources
are in ``tingxie.desktop.keys``, wired by ``tingxie.desktop.app.build``). Nothing here waits
on inference.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tingxie.engine.handle import EngineHandle, EngineState, EngineStatus

from .audio import AudioError
from .autostart import Autostart
from .bridge import EngineBridge
from .dictation import Dictation, DictationState
from .engine_settings import NO_MODEL, EngineSettings
from .events import AudioStatus, Problem, ProblemKind
from .history import FinalUtterance
from .hotkey import KeySpecError
from .hotkey import parse as parse_key
from .i18n import Texts
from .insertion.base import Method
from .push_to_talk import PushToTalk, TalkMode
from .service import ServiceController, ServiceState, ServiceStatus
from .settings import AppSettings
from .vocabulary_dialog import VocabularyDialog

log = logging.getLogger(__name__)

ModelChooser = Callable[[QWidget, str], "str | None"]
"""``(parent, title)``: asks the user for a local model folder (a dialog; tests inject one)."""


def ask_model_folder(parent: QWidget, title: str) -> str | None:
    folder = QFileDialog.getExistingDirectory(parent, title)
    return folder or None


class MainWindow(QMainWindow):
    """Hold the button or Space to dictate. Built by ``tingxie.desktop.app.build``, which
    adds the window's hold sources to ``push_to_talk``; ``shutdown`` closes it.

    Closing the window hides it while ``keep_in_tray()`` says so (Tingxie stays in the
    tray); ``quit`` (Ctrl+Q, the tray's Quit) always ends it; ``closed`` is emitted then."""

    closed = Signal()

    def __init__(
        self,
        dictation: Dictation,
        push_to_talk: PushToTalk,
        bridge: EngineBridge,
        handle: EngineHandle,
        settings: AppSettings,
        texts: Texts,
        service: ServiceController,
        *,
        on_model_chosen: Callable[[str], None],
        choose_model_folder: ModelChooser = ask_model_folder,
        icon: QIcon | None = None,
        service_port: int | None = None,
        on_settings_applied: Callable[[], None] | None = None,
        before_shutdown: Callable[[], None] | None = None,
        keep_in_tray: Callable[[], bool] | None = None,
        autostart: Autostart | None = None,
        engine_settings: EngineSettings | None = None,
    ) -> None:
        super().__init__()
        self.engine_settings = engine_settings
        self._on_settings_applied = on_settings_applied
        self._before_shutdown = before_shutdown
        self._keep_in_tray = keep_in_tray
        self.autostart = autostart
        self._quitting = False
        self.dictation = dictation
        self.microphone = dictation.microphone
        self.push_to_talk = push_to_talk
        self.bridge = bridge
        self.handle = handle
        self.settings = settings
        self.t = texts
        self.service = service
        self._on_model_chosen = on_model_chosen
        self._choose_model_folder = choose_model_folder
        self.service_port_override = service_port  # e.g. ``--port``; not saved
        self._problem: Problem | None = None
        self._closed = False

        self.setWindowTitle(texts("app_title"))
        if icon is not None:
            self.setWindowIcon(icon)
        self._build()
        self._connect()

        self._housekeeping = QTimer(self)
        self._housekeeping.setInterval(500)
        self._housekeeping.timeout.connect(self._tick)
        self._housekeeping.start()

        self.show_engine_status(handle.status)
        self.show_service_status(service.status)
        self.show_audio_status(self.microphone.status)
        self.show_state(dictation.state)

    # --- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        t = self.t
        root = QWidget(self)
        layout = QVBoxLayout(root)

        model_row = QHBoxLayout()
        self.model_label = QLabel()
        self.model_label.setObjectName("modelStatus")
        self.model_label.setWordWrap(True)
        self.model_progress = QProgressBar()
        self.model_progress.setMaximumWidth(180)
        self.model_progress.hide()
        self.choose_model_button = QPushButton(t("choose_model"))
        model_row.addWidget(QLabel(t("model")))
        model_row.addWidget(self.model_label, 1)
        model_row.addWidget(self.model_progress)
        model_row.addWidget(self.choose_model_button)
        layout.addLayout(model_row)

        service_row = QHBoxLayout()
        self.service_label = QLabel()
        self.service_label.setObjectName("serviceStatus")
        self.service_label.setWordWrap(True)
        self.settings_button = QPushButton(t("settings"))
        self.vocabulary_button = QPushButton(t("vocabulary"))
        self.vocabulary_button.setEnabled(self.engine_settings is not None)
        service_row.addWidget(QLabel(t("service")))
        service_row.addWidget(self.service_label, 1)
        service_row.addWidget(self.vocabulary_button)
        service_row.addWidget(self.settings_button)
        layout.addLayout(service_row)

        mic_row = QHBoxLayout()
        self.mic_combo = QComboBox()
        self.mic_combo.setMinimumWidth(220)
        self.rescan_button = QPushButton(t("rescan"))
        self.level_meter = QProgressBar()
        self.level_meter.setRange(0, 100)
        self.level_meter.setTextVisible(False)
        self.level_meter.setMaximumHeight(12)
        self.level_meter.setToolTip(t("level"))
        mic_row.addWidget(QLabel(t("microphone")))
        mic_row.addWidget(self.mic_combo, 1)
        mic_row.addWidget(self.rescan_button)
        layout.addLayout(mic_row)
        layout.addWidget(self.level_meter)
        self.mic_label = QLabel()
        self.mic_label.setObjectName("micStatus")
        layout.addWidget(self.mic_label)

        self.problem_label = QLabel()
        self.problem_label.setObjectName("problem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b00020; font-weight: bold;")
        self.problem_label.hide()
        layout.addWidget(self.problem_label)

        self.talk_button = QPushButton(t("hold_to_talk"))
        self.talk_button.setObjectName("talkButton")
        self.talk_button.setMinimumHeight(120)
        self.talk_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space belongs to push-to-talk
        self.talk_button.setAutoRepeat(False)
        font = self.talk_button.font()
        font.setPointSize(font.pointSize() + 8)
        self.talk_button.setFont(font)
        layout.addWidget(self.talk_button)

        status_row = QHBoxLayout()
        self.state_label = QLabel()
        self.state_label.setObjectName("dictationState")
        self.latency_label = QLabel(t("latency_none"))
        self.latency_label.setObjectName("latency")
        status_row.addWidget(self.state_label, 1)
        status_row.addWidget(self.latency_label)
        layout.addLayout(status_row)

        self.partial_label = QLabel()
        self.partial_label.setObjectName("partial")
        self.partial_label.setWordWrap(True)
        self.partial_label.setMinimumHeight(48)
        pfont = self.partial_label.font()
        pfont.setPointSize(pfont.pointSize() + 4)
        self.partial_label.setFont(pfont)
        self.partial_label.setStyleSheet("color: #555;")
        self.partial_label.setText(t("partial_placeholder"))
        layout.addWidget(self.partial_label)

        layout.addWidget(QLabel(t("transcript")))
        self.transcript = QListWidget()
        self.transcript.setObjectName("transcript")
        self.transcript.setWordWrap(True)
        layout.addWidget(self.transcript, 1)
        buttons = QHBoxLayout()
        self.copy_button = QPushButton(t("copy"))
        self.copy_all_button = QPushButton(t("copy_all"))
        self.clear_button = QPushButton(t("clear"))
        for b in (self.copy_button, self.copy_all_button, self.clear_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        for w in (self.choose_model_button, self.settings_button, self.vocabulary_button,
                  self.rescan_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setCentralWidget(root)
        self.resize(640, 620)
        self.populate_microphones()

    def _connect(self) -> None:
        b = self.bridge
        b.dictation_state.connect(self.show_state)
        b.partial_text.connect(self.show_partial)
        b.final_text.connect(self.add_final)
        b.problem_raised.connect(self.show_problem)
        b.level_changed.connect(self.show_level)
        b.audio_status.connect(self.show_audio_status)
        b.engine_status.connect(self.show_engine_status)
        b.service_status.connect(self.show_service_status)
        self.copy_button.clicked.connect(self.copy_selected)
        self.copy_all_button.clicked.connect(self.copy_all)
        self.clear_button.clicked.connect(self.transcript.clear)
        self.rescan_button.clicked.connect(self.rescan)
        self.choose_model_button.clicked.connect(self.choose_model)
        self.settings_button.clicked.connect(self.open_settings)
        self.vocabulary_button.clicked.connect(self.open_vocabulary)
        self.mic_combo.activated.connect(self._microphone_picked)
        QShortcut(QKeySequence.StandardKey.Copy, self, self.copy_selected)
        QShortcut(QKeySequence("Ctrl+Shift+C"), self, self.copy_all)
        QShortcut(QKeySequence("Ctrl+Q"), self, self.quit)

    # --- showing events ------------------------------------------------------------------
    def show_state(self, state: DictationState) -> None:
        t = self.t
        self.state_label.setText(t(f"state_{state.value}"))
        listening = state is DictationState.LISTENING
        self.talk_button.setText(t("release_to_finish") if listening else t("hold_to_talk"))
        self.talk_button.setStyleSheet(
            "background-color: #d32f2f; color: white;" if listening else ""
        )
        if listening and self._problem is not None and self._problem.kind in (
            ProblemKind.MODEL_NOT_READY,
            ProblemKind.RECOGNITION_FAILED,
            ProblemKind.HISTORY_FAILED,
            ProblemKind.DELIVERY_FAILED,
        ):
            self.clear_problem()

    def show_partial(self, text: str) -> None:
        self.partial_label.setText(text)

    def add_final(self, utterance: FinalUtterance) -> None:
        log.info("final after %.0f ms: %s", utterance.latency, utterance.text)
        item = QListWidgetItem(utterance.text)
        item.setToolTip(
            f"{utterance.time} · {utterance.duration:.1f} s · {utterance.latency:.0f} ms"
        )
        self.transcript.addItem(item)
        self.transcript.scrollToBottom()
        self.partial_label.setText("")
        self.latency_label.setText(self.t("latency", ms=utterance.latency, rtf=utterance.rtf))

    def show_problem(self, problem: Problem) -> None:
        self._problem = problem
        self.problem_label.setText(self.t(f"problem_{problem.kind.value}", detail=problem.detail))
        self.problem_label.show()

    def clear_problem(self) -> None:
        self._problem = None
        self.problem_label.clear()
        self.problem_label.hide()

    def show_level(self, value: float) -> None:
        self.level_meter.setValue(int(value * 100))

    def show_audio_status(self, status: AudioStatus) -> None:
        t = self.t
        if status.ok:
            device = status.device or t("default_microphone")
            self.mic_label.setText(t("mic_ok", device=device) if status.open else t("mic_released"))
            if self._problem is not None and self._problem.kind in (
                ProblemKind.NO_MICROPHONE,
                ProblemKind.MICROPHONE_FAILED,
            ):
                self.clear_problem()
                self.populate_microphones()
        else:
            self.mic_label.setText(status.detail)
            self.level_meter.setValue(0)

    def show_engine_status(self, status: EngineStatus) -> None:
        t = self.t
        state = status.state
        log.info("model %s: %s %s", status.model, state.value, status.detail)
        self.model_progress.hide()
        if state is EngineState.NOT_LOADED:
            text = t("model_not_loaded", model=status.model)
        elif state is EngineState.DOWNLOADING:
            text = t("model_downloading", model=status.model, what=status.detail)
            self.model_progress.show()
            if status.total > 0:
                self.model_progress.setRange(0, 1000)
                self.model_progress.setValue(int(1000 * status.done / status.total))
            else:
                self.model_progress.setRange(0, 0)  # busy indicator: size unknown
        elif state is EngineState.LOADING:
            text = t("model_loading", model=status.model)
            self.model_progress.setRange(0, 0)
            self.model_progress.show()
        elif state is EngineState.READY:
            text = t("model_ready", model=status.model, seconds=status.load_seconds)
            if self._problem is not None and self._problem.kind is ProblemKind.MODEL_NOT_READY:
                self.clear_problem()
        else:
            text = t("model_failed", model=status.model, reason=status.detail)
        self.model_label.setText(text)
        self.model_label.setStyleSheet(
            "color: #b00020;" if state is EngineState.FAILED else ""
        )
        self.choose_model_button.setDefault(state is EngineState.FAILED)

    def show_service_status(self, status: ServiceStatus) -> None:
        t = self.t
        if status.state is ServiceState.OFF:
            text = t("service_off")
        elif status.state is ServiceState.STARTING:
            text = t("service_starting", url=status.url)
        elif status.state is ServiceState.RUNNING:
            text = t("service_running", url=status.url, clients=status.clients)
        else:
            text = t("service_failed", reason=status.error)
        self.service_label.setText(text)
        self.service_label.setStyleSheet(
            "color: #b00020;" if status.state is ServiceState.FAILED else ""
        )

    # --- transcript ----------------------------------------------------------------------
    def transcript_texts(self) -> list[str]:
        return [self.transcript.item(i).text() for i in range(self.transcript.count())]

    def copy_selected(self) -> None:
        items = self.transcript.selectedItems()
        if not items and self.transcript.count():
            items = [self.transcript.item(self.transcript.count() - 1)]
        if items:
            QGuiApplication.clipboard().setText("\n".join(i.text() for i in items))

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(self.transcript_texts()))

    # --- microphone, model, settings -----------------------------------------------------
    def populate_microphones(self) -> None:
        current = self.settings.microphone
        self.mic_combo.clear()
        self.mic_combo.addItem(self.t("default_microphone"), None)
        try:
            devices = self.microphone.devices()
        except AudioError:
            devices = []
        for d in devices:
            self.mic_combo.addItem(d.name, d.name)
        index = self.mic_combo.findData(current) if current else 0
        self.mic_combo.setCurrentIndex(max(0, index))

    def _microphone_picked(self, index: int) -> None:
        name = self.mic_combo.itemData(index)
        self.settings.microphone = name
        self.microphone.set_device(name)

    def rescan(self) -> None:
        self.populate_microphones()
        if not self.microphone.status.ok:
            self.microphone.start()

    def choose_model(self) -> None:
        folder = self._choose_model_folder(self, self.t("choose_model"))
        if folder:
            self.settings.model = folder
            self._on_model_chosen(folder)

    def open_settings(self) -> None:
        dialog = self.settings_dialog()
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.settings_changed(dialog.apply())

    def settings_dialog(self) -> SettingsDialog:
        """The Settings dialog as it opens now (not shown)."""
        return SettingsDialog(
            self.settings, self.t, self, autostart=self.autostart, engine=self.engine_settings,
            open_vocabulary=self.open_vocabulary if self.engine_settings is not None else None,
            service_port_override=self.service_port_override,
        )

    def settings_changed(self, changed: frozenset[str]) -> None:
        """Apply the Settings named in ``changed`` at once; the others are not touched (a
        service started on ``--port`` stays there unless the user changed the service)."""
        if not changed:
            return
        if "service_port" in changed:
            self.service_port_override = None  # the user chose a port now
        if changed & {"service_enabled", "service_port"}:
            self.apply_service_settings()
        if self._on_settings_applied is not None:
            self._on_settings_applied()

    def vocabulary_dialog(self) -> VocabularyDialog | None:
        """The hotwords-and-rules dialog on the user's files (None without them)."""
        if self.engine_settings is None:
            return None
        return VocabularyDialog(
            self.engine_settings.vocabulary, self.t, self,
            fixed_hotwords=self.engine_settings.loaded.hotwords,
        )

    def open_vocabulary(self) -> None:
        """Edit the hotwords and rules; what is saved applies from the next release."""
        dialog = self.vocabulary_dialog()
        if dialog is not None:
            dialog.exec()

    def apply_service_settings(self) -> None:
        if self.settings.service_enabled and self.service.available:
            port = (
                self.service_port_override
                if self.service_port_override is not None
                else self.settings.service_port
            )
            self.service.start("127.0.0.1", port)
        else:
            self.service.stop()

    def _tick(self) -> None:
        self.dictation.tick()
        self.service.refresh()

    # --- closing -------------------------------------------------------------------------
    def bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def quit(self) -> None:
        """Close for good, whatever the tray setting."""
        self._quitting = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._quitting and not self._closed and self._keep_in_tray is not None \
                and self._keep_in_tray():
            event.ignore()
            self.hide()
            return
        self.shutdown()
        super().closeEvent(event)
        self.closed.emit()

    def shutdown(self) -> None:
        """Stop the hold keys, finish an utterance in progress (its final is written to the
        history before this returns), stop mic and service."""
        if self._closed:
            return
        self._closed = True
        self._housekeeping.stop()
        if self._before_shutdown is not None:
            self._before_shutdown()
        self.push_to_talk.close()
        self.dictation.close()
        self.service.stop(wait=True)
        self.settings.sync()


class SettingsDialog(QDialog):
    """Service on/off and port, UI language, microphone idle release; the global keys and
    talk mode, typing into other applications, the preview and sound cues; the second
    pass (with ``engine``: what the command line fixed is shown, greyed out). A key name
    that cannot be used keeps the dialog open, saying why. ``open_vocabulary``: the
    hotwords-and-rules dialog, from a button here."""

    def __init__(
        self,
        settings: AppSettings,
        texts: Texts,
        parent: QWidget,
        *,
        autostart: Autostart | None = None,
        engine: EngineSettings | None = None,
        open_vocabulary: Callable[[], None] | None = None,
        service_port_override: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.autostart = autostart
        self.t = texts
        self.fixed = engine.fixed if engine is not None else frozenset()
        self.setWindowTitle(texts("settings_title"))
        form = QFormLayout(self)
        self.service_enabled = QCheckBox(texts("service_enabled"))
        self.service_enabled.setChecked(settings.service_enabled)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        # The port the service runs on now: the command line's for this run, if it set one.
        self.port.setValue(
            service_port_override if service_port_override is not None else settings.service_port
        )
        self.port.setEnabled(settings.service_enabled)
        self.service_enabled.toggled.connect(self.port.setEnabled)
        self.port_note: QLabel | None = None
        if service_port_override is not None:
            self.port_note = QLabel(texts("port_from_command_line", port=service_port_override))
            self.port_note.setStyleSheet("color: #555;")
            self.port_note.setWordWrap(True)
            self.port.setToolTip(self.port_note.text())
        self.language = QComboBox()
        for code, label in (("auto", texts("language_auto")), ("zh", "简体中文"), ("en", "English")):
            self.language.addItem(label, code)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        self.idle_release = QSpinBox()
        self.idle_release.setRange(0, 24 * 3600)
        self.idle_release.setSuffix(" s")
        self.idle_release.setSpecialValueText(texts("idle_release_never"))
        self.idle_release.setValue(int(settings.idle_release_s))
        form.addRow(self.service_enabled)
        form.addRow(texts("service_port"), self.port)
        if self.port_note is not None:
            form.addRow(self.port_note)
        form.addRow(texts("language"), self.language)
        form.addRow(texts("idle_release"), self.idle_release)

        self.global_keys = QCheckBox(texts("global_keys"))
        self.global_keys.setChecked(settings.global_keys)
        self.hold_key = QLineEdit(settings.hold_key)
        self.hold_key.setPlaceholderText("right ctrl · caps lock · f8 · ctrl+alt+d · mouse 8")
        self.talk_mode = QComboBox()
        for mode in TalkMode:
            self.talk_mode.addItem(texts(f"talk_mode_{mode.value}"), mode)
        self.talk_mode.setCurrentIndex(max(0, self.talk_mode.findData(settings.talk_mode)))
        self.hands_free_silence = QDoubleSpinBox()
        self.hands_free_silence.setRange(0.3, 10.0)
        self.hands_free_silence.setSingleStep(0.1)
        self.hands_free_silence.setDecimals(1)
        self.hands_free_silence.setSuffix(" s")
        self.hands_free_silence.setValue(settings.hands_free_silence_s)
        self.paste_last_key = QLineEdit(settings.paste_last_key)
        self.insert_enabled = QCheckBox(texts("insert_enabled"))
        self.insert_enabled.setChecked(settings.insert_enabled)
        self.insert_method = QComboBox()
        for method in Method:
            self.insert_method.addItem(texts(f"insert_method_{method.value}"), method)
        self.insert_method.setCurrentIndex(
            max(0, self.insert_method.findData(settings.insert_method)))
        self.paste_apps = QLineEdit(", ".join(settings.paste_apps))
        self.paste_apps.setPlaceholderText("obsidian, wechat")
        self.preview = QCheckBox(texts("preview_enabled"))
        self.preview.setChecked(settings.preview_enabled)
        self.sound_cues = QCheckBox(texts("sound_cues"))
        self.sound_cues.setChecked(settings.sound_cues)
        self.close_to_tray = QCheckBox(texts("close_to_tray"))
        self.close_to_tray.setChecked(settings.close_to_tray)
        # Read from where the system keeps it, not from a setting that could disagree.
        self.start_on_login = QCheckBox(texts("start_on_login"))
        self.start_on_login.setChecked(autostart is not None and autostart.enabled())
        self.start_on_login.setEnabled(autostart is not None)
        self.key_error = QLabel()
        self.key_error.setWordWrap(True)
        self.key_error.setStyleSheet("color: #b71c1c;")
        self.key_error.hide()
        form.addRow(self.global_keys)
        form.addRow(texts("hold_key"), self.hold_key)
        form.addRow(texts("talk_mode"), self.talk_mode)
        form.addRow(texts("hands_free_silence"), self.hands_free_silence)
        form.addRow(texts("paste_last_key"), self.paste_last_key)
        form.addRow(self.insert_enabled)
        form.addRow(texts("insert_method"), self.insert_method)
        form.addRow(texts("paste_apps"), self.paste_apps)
        form.addRow(self.preview)
        form.addRow(self.sound_cues)
        form.addRow(self.close_to_tray)
        form.addRow(self.start_on_login)
        self._build_second_pass(form, engine, open_vocabulary)
        form.addRow(self.key_error)
        box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        box.button(QDialogButtonBox.StandardButton.Ok).setText(texts("ok"))
        box.button(QDialogButtonBox.StandardButton.Cancel).setText(texts("cancel"))
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        form.addRow(box)
        self._shown = self.values()

    def _build_second_pass(
        self,
        form: QFormLayout,
        engine: EngineSettings | None,
        open_vocabulary: Callable[[], None] | None,
    ) -> None:
        """The second pass's switches and models; each the command line set is disabled,
        showing the command line's value."""
        t, s = self.t, self.settings
        loaded = engine.loaded if engine is not None else None
        self.refine = QCheckBox(t("refine"))
        self.refine.setChecked(s.refine)
        self.refine_model = QLineEdit(s.refine_model or "")
        self.refine_model.setPlaceholderText(t("model_default", model="paraformer-zh"))
        self.punctuate = QCheckBox(t("punctuate"))
        self.punctuate.setChecked(s.punctuate)
        self.punc_model = QLineEdit(s.punc_model or "")
        self.punc_model.setPlaceholderText(t("model_default", model="ct-punc"))
        self.itn = QCheckBox(t("itn"))
        self.itn.setChecked(s.itn)
        self.fixed_notes: dict[str, QLabel] = {}
        for field, switch, edit in (
            ("refine", self.refine, self.refine_model),
            ("punc", self.punctuate, self.punc_model),
            ("itn", self.itn, None),
        ):
            if field not in self.fixed or loaded is None:
                continue
            value = getattr(loaded, field)
            shown = (t("on") if value else t("off")) if isinstance(value, bool) else (
                value or NO_MODEL)
            switch.setEnabled(False)
            switch.setChecked(bool(value))
            if edit is not None:
                edit.setEnabled(False)
                edit.setText(str(value or NO_MODEL))
            note = QLabel(t("fixed_by_command_line", value=shown))
            note.setStyleSheet("color: #555;")
            switch.setToolTip(note.text())
            self.fixed_notes[field] = note
        heading = QLabel(t("second_pass"))
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        form.addRow(heading)
        form.addRow(self.refine)
        if "refine" in self.fixed_notes:
            form.addRow(self.fixed_notes["refine"])
        form.addRow(t("refine_model"), self.refine_model)
        form.addRow(self.punctuate)
        if "punc" in self.fixed_notes:
            form.addRow(self.fixed_notes["punc"])
        form.addRow(t("punc_model"), self.punc_model)
        form.addRow(self.itn)
        if "itn" in self.fixed_notes:
            form.addRow(self.fixed_notes["itn"])
        reload_note = QLabel(t("model_change_reloads"))
        reload_note.setStyleSheet("color: #555;")
        form.addRow(reload_note)
        self.vocabulary_button = QPushButton(t("vocabulary"))
        self.vocabulary_button.setEnabled(open_vocabulary is not None)
        if open_vocabulary is not None:
            self.vocabulary_button.clicked.connect(open_vocabulary)
        form.addRow(self.vocabulary_button)

    def accept(self) -> None:
        """OK only with usable key names (an empty one means none)."""
        for edit in (self.hold_key, self.paste_last_key):
            name = edit.text().strip()
            if not name:
                continue
            try:
                parse_key(name)
            except KeySpecError as exc:
                self.key_error.setText(str(exc))
                self.key_error.show()
                edit.setFocus()
                return
        super().accept()

    def values(self) -> dict[str, object]:
        """What the dialog's fields say, by ``AppSettings`` attribute (those the command
        line fixed are not the user's to change and are left out)."""
        values: dict[str, object] = {
            "service_enabled": self.service_enabled.isChecked(),
            "service_port": self.port.value(),
            "language": str(self.language.currentData()),
            "idle_release_s": float(self.idle_release.value()),
            "global_keys": self.global_keys.isChecked(),
            "hold_key": self.hold_key.text().strip(),
            "talk_mode": self.talk_mode.currentData(),
            "hands_free_silence_s": self.hands_free_silence.value(),
            "paste_last_key": self.paste_last_key.text().strip(),
            "insert_enabled": self.insert_enabled.isChecked(),
            "insert_method": self.insert_method.currentData(),
            "paste_apps": tuple(a.strip() for a in self.paste_apps.text().split(",") if a.strip()),
            "preview_enabled": self.preview.isChecked(),
            "sound_cues": self.sound_cues.isChecked(),
            "close_to_tray": self.close_to_tray.isChecked(),
        }
        # What the command line fixed stays as the user last saved it (used without it).
        if "refine" not in self.fixed:
            values["refine"] = self.refine.isChecked()
            values["refine_model"] = self.refine_model.text()
        if "punc" not in self.fixed:
            values["punctuate"] = self.punctuate.isChecked()
            values["punc_model"] = self.punc_model.text()
        if "itn" not in self.fixed:
            values["itn"] = self.itn.isChecked()
        return values

    def changes(self) -> dict[str, object]:
        """The fields the user changed since the dialog opened, with their new values."""
        return {k: v for k, v in self.values().items() if v != self._shown.get(k)}

    def apply(self) -> frozenset[str]:
        """Save what the user changed, and nothing else (a port the command line set for
        this run is not saved unless the user changed it); returns the names of the
        settings changed (empty: OK with no change touches nothing)."""
        changes = self.changes()
        for name, value in changes.items():
            setattr(self.settings, name, value)
        if changes:
            self.settings.sync()
        if self.autostart is not None and self.start_on_login.isChecked() != self.autostart.enabled():
            try:
                self.autostart.set_enabled(self.start_on_login.isChecked())
            except OSError as exc:
                log.warning("start on login could not be changed: %s", exc)
        return frozenset(changes)


def asset_path(name: str) -> Path:
    """A file of ``tingxie.assets`` (the top-level ``assets/`` folder, installed inside the
    package so that a wheel and the frozen bundle have it too)."""
    from importlib import resources

    return Path(str(resources.files("tingxie.assets").joinpath(name)))
