"""The tray icon: Tingxie's state at a glance and a menu, while the window is hidden.

``Tray`` shows one of five icons (``TrayState``: idle, listening, finishing, model loading,
error), each the app icon with a coloured badge painted on a copy (``state_icon``), and a
tooltip saying the same in words. Its menu: Show window, Mode (one radio item per
``TalkMode``), Pause hotkey (checkable), Paste last result, Settings…, Quit. Every menu
item only emits a signal; what it does is the composition root's business. The state is
decided by ``tray_state`` (pure) from the facts ``follow`` collects off the bridge.

Where the desktop has no system tray (``QSystemTrayIcon.isSystemTrayAvailable()`` False:
Xvfb, some Wayland desktops) ``Tray`` still works — state, tooltip, menu and signals — but
shows nothing and reports ``available`` False, so the app keeps its window instead of
hiding it into a tray that is not there.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QBrush, QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from tingxie.engine.handle import EngineState, EngineStatus

from .dictation import DictationState
from .events import AudioStatus
from .i18n import Texts, keys
from .push_to_talk import TalkMode


class TrayState(enum.Enum):
    IDLE = "idle"
    LISTENING = "listening"
    FINISHING = "finishing"
    LOADING = "loading"  # the model is not loaded yet (downloading or loading)
    ERROR = "error"  # the model failed, or the microphone is not usable


def tray_state(dictation: DictationState, engine: EngineState, audio_ok: bool) -> TrayState:
    """What the icon shows. Dictation in progress wins (it is what the user is doing right
    now); then a failure that keeps dictation from working; then a model still coming."""
    if dictation is DictationState.LISTENING:
        return TrayState.LISTENING
    if dictation is DictationState.FINISHING:
        return TrayState.FINISHING
    if engine is EngineState.FAILED or not audio_ok:
        return TrayState.ERROR
    if engine is not EngineState.READY:
        return TrayState.LOADING
    return TrayState.IDLE


BADGE_COLOURS: dict[TrayState, str | None] = {
    TrayState.IDLE: None,  # the plain app icon
    TrayState.LISTENING: "#e53935",  # red: the microphone is live
    TrayState.FINISHING: "#ffb300",  # amber: recognising
    TrayState.LOADING: "#1e88e5",  # blue: getting ready
    TrayState.ERROR: "#424242",  # dark, with a white "!"
}

ICON_SIZE = 64


def state_icon(base: QIcon, state: TrayState, size: int = ICON_SIZE) -> QIcon:
    """A copy of ``base`` (a plain grey disc if it is empty) with ``state``'s badge in the
    bottom-right corner. Needs a QGuiApplication."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if base.isNull():
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(QColor("#607d8b")))
        painter.drawEllipse(QRectF(2, 2, size - 4, size - 4))
    else:
        base.paint(painter, 0, 0, size, size)
    colour = BADGE_COLOURS[state]
    if colour is not None:
        d = size * 0.5
        badge = QRectF(size - d - 1, size - d - 1, d, d)
        painter.setPen(QPen(QColor("white"), max(2.0, size / 20)))
        painter.setBrush(QBrush(QColor(colour)))
        painter.drawEllipse(badge)
        if state is TrayState.ERROR:
            c = badge.center()
            painter.setPen(QPen(QColor("white"), max(2.0, size / 14), Qt.PenStyle.SolidLine,
                                Qt.PenCapStyle.RoundCap))
            painter.drawLine(QPointF(c.x(), c.y() - d * 0.25), QPointF(c.x(), c.y() + d * 0.05))
            painter.drawPoint(QPointF(c.x(), c.y() + d * 0.25))
    painter.end()
    return QIcon(pixmap)


class Tray(QObject):
    """The tray icon and its menu. ``available`` None asks the desktop; tests force it.

    Signals (emitted only for the user's own clicks, never for ``set_mode``/``set_paused``):
    ``show_window_requested`` (also a click on the icon), ``mode_chosen(TalkMode)``,
    ``pause_toggled(bool)`` (True: paused), ``paste_last_requested``,
    ``settings_requested``, ``quit_requested``.
    """

    show_window_requested = Signal()
    mode_chosen = Signal(object)  # TalkMode
    pause_toggled = Signal(bool)
    paste_last_requested = Signal()
    settings_requested = Signal()
    quit_requested = Signal()

    def __init__(
        self,
        icon: QIcon,
        texts: Texts,
        *,
        mode: TalkMode = TalkMode.HOLD,
        modes: Sequence[TalkMode] | None = None,
        available: bool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.t = texts
        self.available = (
            QSystemTrayIcon.isSystemTrayAvailable() if available is None else available
        )
        self._icons = {state: state_icon(icon, state) for state in TrayState}
        self._state = TrayState.IDLE
        self._detail = ""
        self._paused = False
        # The facts ``follow`` keeps; ``tray_state`` decides from them.
        self._dictation = DictationState.IDLE
        self._engine = EngineState.READY
        self._engine_detail = ""
        self._audio = AudioStatus(ok=True)

        self.menu = QMenu()
        self.show_action = self._action(texts("tray_show_window"), self.show_window_requested)
        self.menu.addSeparator()
        self.mode_menu = self.menu.addMenu(texts("tray_mode"))
        self.mode_group = QActionGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_actions: dict[TalkMode, QAction] = {}
        for m in modes if modes is not None else list(TalkMode):
            key = "tray_mode_" + m.value.replace("-", "_")
            action = QAction(texts(key) if key in keys() else m.value, self)
            action.setCheckable(True)
            action.setChecked(m is mode)
            action.triggered.connect(lambda _checked=False, m=m: self.mode_chosen.emit(m))
            self.mode_group.addAction(action)
            self.mode_menu.addAction(action)
            self.mode_actions[m] = action
        self.pause_action = QAction(texts("tray_pause"), self)
        self.pause_action.setCheckable(True)
        self.pause_action.triggered.connect(self._pause_clicked)
        self.menu.addAction(self.pause_action)
        self.paste_last_action = self._action(texts("tray_paste_last"), self.paste_last_requested)
        self.menu.addSeparator()
        self.settings_action = self._action(texts("settings"), self.settings_requested)
        self.quit_action = self._action(texts("tray_quit"), self.quit_requested)

        self.icon: QSystemTrayIcon | None = None
        if self.available:
            self.icon = QSystemTrayIcon(self._icons[self._state], self)
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._activated)
        self._refresh()

    def _action(self, text: str, signal: Signal) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(lambda _checked=False: signal.emit())  # type: ignore[attr-defined]
        self.menu.addAction(action)
        return action

    # --- facts ---------------------------------------------------------------------------
    @property
    def state(self) -> TrayState:
        return self._state

    @property
    def tooltip(self) -> str:
        return self._tooltip()

    @property
    def mode(self) -> TalkMode | None:
        return next((m for m, a in self.mode_actions.items() if a.isChecked()), None)

    @property
    def paused(self) -> bool:
        return self._paused

    def state_icon(self, state: TrayState) -> QIcon:
        return self._icons[state]

    # --- showing -------------------------------------------------------------------------
    def show(self) -> None:
        if self.icon is not None:
            self.icon.show()

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()

    def set_state(self, state: TrayState, detail: str = "") -> None:
        """Show ``state`` (``detail``: the error's reason, for the tooltip)."""
        self._state = state
        self._detail = detail
        self._refresh()

    def set_mode(self, mode: TalkMode) -> None:
        """Check ``mode``'s item (the settings changed it); emits nothing."""
        action = self.mode_actions.get(mode)
        if action is not None:
            action.setChecked(True)

    def set_paused(self, paused: bool) -> None:
        """Check or uncheck Pause hotkey (changed elsewhere); emits nothing."""
        self._paused = paused
        self.pause_action.setChecked(paused)
        self._refresh()

    def notify(self, title: str, message: str) -> bool:
        """A balloon message from the tray; False where there is no tray to show it."""
        if self.icon is None or not QSystemTrayIcon.supportsMessages():
            return False
        self.icon.showMessage(title, message, self._icons[self._state])
        return True

    # --- following the bridge ------------------------------------------------------------
    def follow(
        self,
        bridge: QObject,
        *,
        engine: EngineStatus | None = None,
        audio: AudioStatus | None = None,
    ) -> None:
        """Keep the state from ``bridge``'s (an ``EngineBridge``) dictation, engine and
        microphone signals; ``engine``/``audio`` are the facts now (the signals only tell
        changes: pass ``handle.status`` and ``microphone.status``)."""
        if engine is not None:
            self._engine, self._engine_detail = engine.state, engine.detail or engine.model
        if audio is not None:
            self._audio = audio
        self._decide()
        bridge.dictation_state.connect(self.dictation_changed)  # type: ignore[attr-defined]
        bridge.engine_status.connect(self.engine_changed)  # type: ignore[attr-defined]
        bridge.audio_status.connect(self.audio_changed)  # type: ignore[attr-defined]

    def dictation_changed(self, state: DictationState) -> None:
        self._dictation = state
        self._decide()

    def engine_changed(self, status: EngineStatus) -> None:
        self._engine = status.state
        self._engine_detail = status.detail or status.model
        self._decide()

    def audio_changed(self, status: AudioStatus) -> None:
        self._audio = status
        self._decide()

    # --- internals -----------------------------------------------------------------------
    def _decide(self) -> None:
        state = tray_state(self._dictation, self._engine, self._audio.ok)
        detail = ""
        if state is TrayState.ERROR:
            detail = (
                self._engine_detail
                if self._engine is EngineState.FAILED
                else (self._audio.detail or self._audio.device)
            )
        self.set_state(state, detail)

    def _tooltip(self) -> str:
        t = self.t
        words = {
            TrayState.IDLE: lambda: t("state_idle"),
            TrayState.LISTENING: lambda: t("state_listening"),
            TrayState.FINISHING: lambda: t("state_finishing"),
            TrayState.LOADING: lambda: t("tray_loading"),
            TrayState.ERROR: lambda: t("tray_error", detail=self._detail),
        }[self._state]()
        if self._paused:
            words = t("tray_paused", state=words)
        return t("tray_tooltip", state=words)

    def _refresh(self) -> None:
        if self.icon is not None:
            self.icon.setIcon(self._icons[self._state])
            self.icon.setToolTip(self._tooltip())

    def _pause_clicked(self, checked: bool) -> None:
        self._paused = checked
        self._refresh()
        self.pause_toggled.emit(checked)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.show_window_requested.emit()
