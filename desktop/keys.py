"""Qt's side of push-to-talk: the window's hold keys as ``HoldKeySource`` objects, and a
``Timer`` on the GUI thread for the controller (``tingxie.desktop.push_to_talk``).

- ``WindowKeySource``: a key (Space) pressed while any widget of one window has focus, seen
  by an application-wide event filter so that no focused button or list takes it; the
  window losing activation ends the hold (its release would go elsewhere).
- ``ButtonSource``: a button's pressed/released signals, without debounce.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QWidget

from .push_to_talk import Clock, HoldKeyListener

log = logging.getLogger(__name__)

KEY_REPEAT_WINDOW_S = 0.030
"""How long a key release waits for the press of an X11 auto-repeat pair (they come a few
milliseconds apart; a real release is never followed that fast by a new press)."""


class QtTimer(QObject):
    """A ``Timer`` whose callback runs on the GUI thread (the thread this object lives on),
    so the controller's timed decisions are serialised with key events. ``start``/``stop``
    may be called from any thread: they reach the QTimer through (queued) signals."""

    _arm = Signal(int)
    _disarm = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._callback: Callable[[], None] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._fire)
        self._arm.connect(self._timer.start)
        self._disarm.connect(self._timer.stop)

    def start(self, delay_s: float, callback: Callable[[], None]) -> None:
        self._callback = callback
        self._arm.emit(max(1, int(delay_s * 1000) + 1))

    def stop(self) -> None:
        self._disarm.emit()

    def _fire(self) -> None:
        if self._callback is not None:
            self._callback()


class WindowKeySource(QObject):
    """A ``HoldKeySource``: ``key`` held while ``window`` (any of its widgets) has focus. The
    key's events are consumed, so Space never also clicks a focused button."""

    def __init__(
        self,
        window: QWidget,
        key: Qt.Key = Qt.Key.Key_Space,
        *,
        name: str = "space",
        debounce_s: float = KEY_REPEAT_WINDOW_S,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(window)
        self.name = name
        self.debounce_s = debounce_s
        self._window = window
        self._key = key
        self._clock = clock
        self._listener: HoldKeyListener | None = None

    def start(self, listener: HoldKeyListener) -> None:
        self._listener = listener
        app = QGuiApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def stop(self) -> None:
        self._listener = None
        app = QGuiApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        listener = self._listener
        if listener is None:
            return False
        kind = event.type()
        if kind == QEvent.Type.ActivationChange:
            if watched is self._window and not self._window.isActiveWindow():
                listener.key_lost(self)
            return False
        if (
            kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
            and isinstance(event, QKeyEvent)
            and event.key() == self._key
            and isinstance(watched, QWidget)
            and watched.window() is self._window
        ):
            press = kind == QEvent.Type.KeyPress
            log.debug("%s %s (auto-repeat flag %s)", self.name, "press" if press else "release",
                      event.isAutoRepeat())
            if press:
                listener.key_down(self, self._clock())
            else:
                listener.key_up(self, self._clock())
            return True
        return False


class ButtonSource:
    """A ``HoldKeySource``: a push button held with the mouse (or a touch)."""

    debounce_s = 0.0

    def __init__(
        self, button: QAbstractButton, *, name: str = "button", clock: Clock = time.monotonic
    ) -> None:
        self.name = name
        self._button = button
        self._clock = clock
        self._listener: HoldKeyListener | None = None
        button.pressed.connect(self._pressed)
        button.released.connect(self._released)

    def start(self, listener: HoldKeyListener) -> None:
        self._listener = listener

    def stop(self) -> None:
        self._listener = None

    def _pressed(self) -> None:
        if self._listener is not None:
            self._listener.key_down(self, self._clock())

    def _released(self) -> None:
        if self._listener is not None:
            self._listener.key_up(self, self._clock())
