"""The floating live preview: a small dark panel over whatever application the user is in,
showing "Listening…", then the live partial text, then the final, then fading away.

``PreviewWindow`` never takes the focus: it is a frameless, always-on-top tool window that
does not accept focus, is shown without activating, lets the mouse through, and on X11
bypasses the window manager (an override-redirect window no WM can activate). The text
typed into the other application goes where the user's focus is, never here.

Where it goes: the bottom centre of the screen holding the mouse cursor (its available
area, so above a bottom panel), or near a point the caller gives (``show_near``: the text
cursor, where the platform tells it), chosen when it appears and kept while it is up. A
long partial is elided at its start, so the newest words stay in sight, within
``MAX_WIDTH_SHARE`` of the screen's width.

``PreviewController`` drives it from ``EngineBridge`` signals (slots on the GUI thread):
LISTENING shows it; partials update it; the final is shown, held, then faded (sooner once
the text went into the other application); IDLE without a final fades it; a problem shows
one brief error line, then fades. Problems that are an answer to a press (the model not
ready, the text not typed…) are shown even when the panel is down — the user is looking at
another application, not at Tingxie's window; others only while it is up.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractAnimation,
    QEasingCurve,
    QObject,
    QPoint,
    QPropertyAnimation,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QRegion,
    QScreen,
)
from PySide6.QtWidgets import QWidget

from .dictation import DictationState
from .events import Problem, ProblemKind
from .history import FinalUtterance
from .i18n import Texts

MAX_WIDTH_SHARE = 0.6  # of the screen's available width
MIN_WIDTH = 180
BOTTOM_MARGIN = 56  # between the panel and the bottom of the available area
PADDING_X, PADDING_Y = 18, 12
DOT = 10  # the state dot left of the text
RADIUS = 12
GAP = 12  # between a given point (the text cursor) and the panel


class Phase(enum.Enum):
    HIDDEN = "hidden"
    LISTENING = "listening"  # up, nothing heard yet
    PARTIAL = "partial"  # live text
    FINISHING = "finishing"  # released, the final not there yet
    FINAL = "final"
    PROBLEM = "problem"


_COLOURS = {
    Phase.LISTENING: ("#ef5350", "#bdbdbd"),  # (dot, text)
    Phase.PARTIAL: ("#ef5350", "#f5f5f5"),
    Phase.FINISHING: ("#ffb300", "#f5f5f5"),
    Phase.FINAL: ("#66bb6a", "#ffffff"),
    Phase.PROBLEM: ("#ffb300", "#ff8a80"),
    Phase.HIDDEN: ("#000000", "#000000"),
}

# The kinds that answer a press or a result: worth popping the panel up over another app.
PRESS_PROBLEMS = frozenset(
    {
        ProblemKind.MODEL_NOT_READY,
        ProblemKind.RECOGNITION_FAILED,
        ProblemKind.HISTORY_FAILED,
        ProblemKind.DELIVERY_FAILED,
        ProblemKind.FOCUS_MOVED,
        ProblemKind.INSERT_FAILED,
        ProblemKind.INSERT_NOTICE,
    }
)


def shows_problem(kind: ProblemKind, up: bool) -> bool:
    """Whether the preview shows a problem of ``kind``: any while it is ``up`` (it concerns
    the dictation on screen), else only the ones a press or a result causes (a microphone
    retrying in the background must not pop up over the user's work)."""
    return up or kind in PRESS_PROBLEMS


def window_flags(platform_name: str) -> Qt.WindowType:
    """The preview's window flags on the Qt platform ``platform_name`` ("xcb" is X11)."""
    flags = (
        Qt.WindowType.Tool
        | Qt.WindowType.FramelessWindowHint
        | Qt.WindowType.WindowStaysOnTopHint
        | Qt.WindowType.WindowDoesNotAcceptFocus
        | Qt.WindowType.WindowTransparentForInput
    )
    if platform_name == "xcb":
        # Override-redirect: no window manager can give it the focus or decorate it.
        flags |= Qt.WindowType.X11BypassWindowManagerHint
    return flags


def bottom_centre(area: QRect, size: QSize, margin: int = BOTTOM_MARGIN) -> QPoint:
    """Top-left corner putting ``size`` centred at the bottom of ``area``, ``margin`` up."""
    x = area.x() + (area.width() - size.width()) // 2
    y = area.y() + area.height() - margin - size.height()
    return QPoint(x, max(area.y(), y))


def near_point(point: QPoint, size: QSize, area: QRect, gap: int = GAP) -> QPoint:
    """Top-left corner putting ``size`` just below ``point`` (the bottom of the text cursor),
    centred on it; above the cursor's line when there is no room below; always inside
    ``area``."""
    x = point.x() - size.width() // 2
    y = point.y() + gap
    if y + size.height() > area.y() + area.height():
        y = point.y() - gap - 2 * GAP - size.height()  # over the line of text
    x = min(max(x, area.x()), area.x() + area.width() - size.width())
    y = min(max(y, area.y()), area.y() + area.height() - size.height())
    return QPoint(x, y)


def screen_area(point: QPoint) -> QRect:
    """The available area of the screen holding ``point`` (the primary screen's if none)."""
    screen: QScreen | None = QGuiApplication.screenAt(point) or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1024, 768)


class PreviewWindow(QWidget):
    """The panel. ``hold_ms``: how long a final stays before fading; ``problem_hold_ms``:
    the same for an error line; ``fade_ms``: the fade itself. ``cursor`` gives the mouse
    position (injected by tests). ``faded`` is emitted when a fade has hidden it."""

    faded = Signal()

    def __init__(
        self,
        texts: Texts,
        *,
        hold_ms: int = 1200,
        problem_hold_ms: int = 3000,
        fade_ms: int = 400,
        cursor: Callable[[], QPoint] = QCursor.pos,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, window_flags(QGuiApplication.platformName()))
        self.t = texts
        self.hold_ms = hold_ms
        self.problem_hold_ms = problem_hold_ms
        self._cursor = cursor
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWindowTitle("Tingxie preview")
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 9.0) + 5.0)
        self.setFont(font)

        self._phase = Phase.HIDDEN
        self._text = ""  # the whole text; ``shown_text`` is what fits
        self._shown = ""
        self._lines = 1
        self._anchor: QPoint | None = None
        self._area = QRect()

        self._hold = QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.timeout.connect(self._start_fade)
        self._fade = QPropertyAnimation(self, b"windowOpacity", self)
        self._fade.setDuration(fade_ms)
        self._fade.setEndValue(0.0)
        self._fade.setEasingCurve(QEasingCurve.Type.InQuad)
        self._fade.finished.connect(self._faded)

    # --- facts ---------------------------------------------------------------------------
    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def text(self) -> str:
        """The whole text being shown (a partial, the final, the error line)."""
        return self._text

    @property
    def shown_text(self) -> str:
        """What fits on the panel (a long partial elided at its start)."""
        return self._shown

    @property
    def fading(self) -> bool:
        """A fade is running or waiting out its hold."""
        return self._hold.isActive() or (
            self._fade.state() is QAbstractAnimation.State.Running
        )

    @property
    def max_text_width(self) -> int:
        area = self._area if self._area.isValid() else screen_area(self._cursor())
        return max(MIN_WIDTH, int(area.width() * MAX_WIDTH_SHARE)) - 2 * PADDING_X - DOT - 10

    # --- what the controller calls -------------------------------------------------------
    def show_near(self, point: QPoint | None) -> None:
        """Put the panel near ``point`` (global coordinates, the bottom of the text cursor)
        from now until it next hides; None: the bottom centre of the mouse's screen."""
        self._anchor = QPoint(point) if point is not None else None
        if point is not None:
            self._area = screen_area(point)
        if self._phase is not Phase.HIDDEN:
            self._place()

    def show_listening(self) -> None:
        self._set(Phase.LISTENING, self.t("state_listening"))

    def show_partial(self, text: str) -> None:
        """The live text; an empty one (a new utterance, nothing heard) shows "Listening…"."""
        if not text.strip():
            self.show_listening()
        else:
            self._set(Phase.PARTIAL, text)

    def show_finishing(self) -> None:
        """Released: the last partial stays (with the finishing colour); none, the word."""
        if self._phase is Phase.PARTIAL:
            self._set(Phase.FINISHING, self._text)
        else:
            self._set(Phase.FINISHING, self.t("state_finishing"))

    def show_final(self, text: str) -> None:
        """The final; it fades after ``hold_ms`` (or sooner: ``fade_out``)."""
        self._set(Phase.FINAL, text)
        self.fade_out(self.hold_ms)

    def show_problem(self, message: str) -> None:
        """One error line (wrapped, not elided: it is read whole); fades after
        ``problem_hold_ms``."""
        self._set(Phase.PROBLEM, message)
        self.fade_out(self.problem_hold_ms)

    def fade_out(self, after_ms: int = 0) -> None:
        """Fade within ``after_ms`` from now: a hold already due sooner stays; a fade already
        running goes on. Nothing to do when hidden."""
        if self._phase is Phase.HIDDEN or self._fade.state() is QAbstractAnimation.State.Running:
            return
        if self._hold.isActive() and self._hold.remainingTime() <= after_ms:
            return
        self._hold.start(max(0, after_ms))

    def hide_now(self) -> None:
        """Gone at once, no fade (the preview was turned off)."""
        self._cancel_fade()
        self._phase = Phase.HIDDEN
        self._anchor = None
        self._area = QRect()
        self.hide()

    # --- internals -----------------------------------------------------------------------
    def _set(self, phase: Phase, text: str) -> None:
        appearing = self._phase is Phase.HIDDEN or not self.isVisible()
        self._cancel_fade()
        if appearing and self._anchor is None:
            self._area = screen_area(self._cursor())
        self._phase = phase
        self._text = text
        self._layout_text()
        self._place()
        if appearing:
            self.setWindowOpacity(1.0)
            self.show()
        self.raise_()  # restacking only: never activates
        self.update()

    def _layout_text(self) -> None:
        fm = QFontMetrics(self.font())
        limit = self.max_text_width
        if self._phase is Phase.PROBLEM:
            self._shown = self._text
            box = fm.boundingRect(QRect(0, 0, limit, 10_000), Qt.TextFlag.TextWordWrap, self._text)
            width, height = box.width(), box.height()
        else:
            # One line, newest words kept: elided at the start.
            self._shown = fm.elidedText(" ".join(self._text.split()), Qt.TextElideMode.ElideLeft, limit)
            width, height = fm.horizontalAdvance(self._shown), fm.height()
        self.setFixedSize(
            max(MIN_WIDTH, width + 2 * PADDING_X + DOT + 10 + 2), height + 2 * PADDING_Y
        )
        if QGuiApplication.platformName() == "xcb":
            # Without a compositor an X11 window has no transparent pixels: the rounded
            # corners would be black squares. The mask cuts them off either way.
            path = QPainterPath()
            path.addRoundedRect(QRectF(self.rect()), RADIUS, RADIUS)
            self.setMask(QRegion(path.toFillPolygon().toPolygon()))

    def _place(self) -> None:
        size = self.size()
        if self._anchor is not None:
            self.move(near_point(self._anchor, size, self._area))
        else:
            self.move(bottom_centre(self._area, size))

    def _cancel_fade(self) -> None:
        self._hold.stop()
        if self._fade.state() is QAbstractAnimation.State.Running:
            self._fade.stop()
        self.setWindowOpacity(1.0)

    def _start_fade(self) -> None:
        if self._phase is Phase.HIDDEN:
            return
        self._fade.setStartValue(self.windowOpacity())
        self._fade.start()

    def _faded(self) -> None:
        self._phase = Phase.HIDDEN
        self._anchor = None
        self._area = QRect()
        self.hide()
        self.setWindowOpacity(1.0)
        self.faded.emit()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        dot, ink = _COLOURS[self._phase]
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(30, 30, 30, 232))
        p.drawRoundedRect(QRectF(self.rect()), RADIUS, RADIUS)
        p.setBrush(QColor(dot))
        fm = QFontMetrics(self.font())
        left = PADDING_X + DOT + 10
        text_rect = QRect(left, PADDING_Y, self.width() - left - PADDING_X, self.height() - 2 * PADDING_Y)
        if self._phase is Phase.PROBLEM:
            # The dot beside the first line; the text wrapped below it.
            p.drawEllipse(QRectF(PADDING_X, PADDING_Y + (fm.height() - DOT) / 2, DOT, DOT))
            p.setPen(QColor(ink))
            flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
            p.drawText(text_rect, int(flags) | int(Qt.TextFlag.TextWordWrap), self._shown)
        else:
            p.drawEllipse(QRectF(PADDING_X, (self.height() - DOT) / 2, DOT, DOT))
            p.setPen(QColor(ink))
            flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
            p.drawText(QRect(left, 0, text_rect.width(), self.height()), int(flags), self._shown)
        p.end()


class PreviewController(QObject):
    """Shows ``bridge``'s (an ``EngineBridge``) dictation on ``preview`` while ``enabled``.

    ``caret``, if given, is asked at each LISTENING for the text cursor's position (global
    coordinates; None when the platform does not tell): the panel then goes there instead
    of the bottom centre. ``inserted_hold_ms``: how long the final stays once it is in the
    other application."""

    def __init__(
        self,
        bridge: QObject,
        preview: PreviewWindow,
        *,
        enabled: bool = True,
        caret: Callable[[], QPoint | None] | None = None,
        inserted_hold_ms: int = 500,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.preview = preview
        self._enabled = enabled
        self._caret = caret
        self.inserted_hold_ms = inserted_hold_ms
        self._dictation = DictationState.IDLE
        bridge.dictation_state.connect(self.state_changed)  # type: ignore[attr-defined]
        bridge.partial_text.connect(self.partial)  # type: ignore[attr-defined]
        bridge.final_text.connect(self.final)  # type: ignore[attr-defined]
        bridge.problem_raised.connect(self.problem)  # type: ignore[attr-defined]
        bridge.text_inserted.connect(self.inserted)  # type: ignore[attr-defined]

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, on: bool) -> None:
        """The setting; turned off, the panel goes at once."""
        self._enabled = on
        if not on:
            self.preview.hide_now()

    # --- slots ---------------------------------------------------------------------------
    def state_changed(self, state: DictationState) -> None:
        previous, self._dictation = self._dictation, state
        if not self._enabled:
            return
        if state is DictationState.LISTENING:
            self.preview.show_near(self._caret_point())
            self.preview.show_listening()
        elif state is DictationState.FINISHING:
            self.preview.show_finishing()
        elif state is DictationState.IDLE and previous is not DictationState.IDLE:
            # The final (if any) came first: both are queued in the order they happened.
            if self.preview.phase in (Phase.LISTENING, Phase.PARTIAL, Phase.FINISHING):
                self.preview.fade_out(0)

    def partial(self, text: str) -> None:
        if not self._enabled or self._dictation is DictationState.IDLE:
            return
        if not text.strip() and self.preview.phase is not Phase.LISTENING:
            return  # an empty partial never wipes text already shown
        if self._dictation is DictationState.FINISHING and text.strip():
            self.preview.show_partial(text)
            self.preview.show_finishing()
        else:
            self.preview.show_partial(text)

    def final(self, utterance: FinalUtterance) -> None:
        # A final while listening again is the first part of a very long hold, cut: the
        # panel goes on with the next part's partials instead.
        if not self._enabled or self._dictation is DictationState.LISTENING:
            return
        if self.preview.phase is Phase.HIDDEN and self._dictation is DictationState.IDLE:
            return
        self.preview.show_final(utterance.text)

    def inserted(self, text: str) -> None:
        if self._enabled and self.preview.phase is Phase.FINAL:
            self.preview.fade_out(self.inserted_hold_ms)

    def problem(self, problem: Problem) -> None:
        if not self._enabled:
            return
        if not shows_problem(problem.kind, self.preview.phase is not Phase.HIDDEN):
            return
        message = self.preview.t(f"problem_{problem.kind.value}", detail=problem.detail)
        self.preview.show_problem(message)

    def _caret_point(self) -> QPoint | None:
        if self._caret is None:
            return None
        try:
            return self._caret()
        except Exception:  # noqa: BLE001 - no caret: the bottom centre will do
            return None
