"""The floating preview on the offscreen platform: its window flags and attributes, where
it goes, what it shows for each bridge signal, and its fade. That it never takes the
focus from Tingxie's own window or another application is checked on a real X server in
``test_preview_x11.py`` (the offscreen platform activates every window it shows)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication

from tingxie.desktop.bridge import EngineBridge
from tingxie.desktop.dictation import DictationState
from tingxie.desktop.events import Problem, ProblemKind
from tingxie.desktop.history import FinalUtterance
from tingxie.desktop.i18n import Texts
from tingxie.desktop.preview import (
    BOTTOM_MARGIN,
    MAX_WIDTH_SHARE,
    Phase,
    PreviewController,
    PreviewWindow,
    bottom_centre,
    near_point,
    screen_area,
    shows_problem,
    window_flags,
)

LONG = "今天下午三点在三号会议室开会，讨论下个季度的产品计划和预算安排。" * 6
W = Qt.WindowType


def final(text: str) -> FinalUtterance:
    return FinalUtterance(time="2024-01-01T00:00:00", text=text, duration=1.0, audio=1.0,
                          latency=100.0)


@pytest.fixture
def make_preview(qtbot: Any) -> Callable[..., PreviewWindow]:
    def make(**kwargs: Any) -> PreviewWindow:
        kwargs.setdefault("hold_ms", 20)
        kwargs.setdefault("problem_hold_ms", 20)
        kwargs.setdefault("fade_ms", 40)
        kwargs.setdefault("cursor", lambda: QPoint(10, 10))
        preview = PreviewWindow(Texts(kwargs.pop("language", "zh")), **kwargs)
        qtbot.addWidget(preview)
        return preview

    return make


def area() -> QRect:
    screen = QGuiApplication.primaryScreen()
    assert screen is not None
    return screen.availableGeometry()


def test_flags_and_attributes_keep_it_from_taking_the_focus(make_preview: Any) -> None:
    preview = make_preview()
    flags = preview.windowFlags()
    for flag in (W.Tool, W.FramelessWindowHint, W.WindowStaysOnTopHint,
                 W.WindowDoesNotAcceptFocus, W.WindowTransparentForInput):
        assert flags & flag == flag, flag
    assert preview.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert preview.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
    assert preview.focusPolicy() is Qt.FocusPolicy.NoFocus
    # The window manager is bypassed on X11 only (elsewhere the flag means nothing good).
    assert window_flags("xcb") & W.X11BypassWindowManagerHint == W.X11BypassWindowManagerHint
    assert not window_flags("offscreen") & W.X11BypassWindowManagerHint
    assert not window_flags("windows") & W.X11BypassWindowManagerHint


def test_bottom_centre_and_near_point() -> None:
    screen = QRect(100, 0, 1000, 800)
    assert bottom_centre(screen, QSize(200, 50), 40) == QPoint(500, 710)
    # Below the text cursor, centred on it …
    assert near_point(QPoint(600, 300), QSize(200, 50), screen, 10) == QPoint(500, 310)
    # … above its line when there is no room below …
    assert near_point(QPoint(600, 780), QSize(200, 50), screen, 10).y() < 780 - 50
    # … and never off the screen.
    assert near_point(QPoint(105, 10), QSize(200, 50), screen, 10) == QPoint(100, 20)
    assert near_point(QPoint(1099, 10), QSize(200, 50), screen, 10).x() == 900


def test_screen_area_falls_back_to_the_primary_screen() -> None:
    assert screen_area(QPoint(-50_000, -50_000)) == area()
    assert screen_area(area().center()) == area()


def test_listening_shows_it_at_the_bottom_centre(make_preview: Any, qtbot: Any) -> None:
    preview = make_preview()
    assert not preview.isVisible() and preview.phase is Phase.HIDDEN
    preview.show_listening()
    qtbot.waitExposed(preview)
    assert preview.phase is Phase.LISTENING and preview.text == "正在听…"
    g, a = preview.geometry(), area()
    assert abs(g.center().x() - a.center().x()) <= 1
    assert g.bottom() + 1 == a.bottom() + 1 - BOTTOM_MARGIN


def test_long_partial_is_elided_at_its_start_within_the_width_share(make_preview: Any) -> None:
    preview = make_preview()
    preview.show_partial(LONG)
    assert preview.phase is Phase.PARTIAL and preview.text == LONG
    shown = preview.shown_text
    assert shown.startswith("…") and len(shown) < len(LONG)
    assert LONG.endswith(shown[1:])  # the newest words are the ones kept
    assert preview.width() <= MAX_WIDTH_SHARE * area().width()
    preview.show_partial("你好")
    assert preview.shown_text == "你好" and preview.width() < 300


def test_show_near_puts_it_below_the_given_point(make_preview: Any) -> None:
    preview = make_preview()
    preview.show_near(QPoint(300, 200))
    preview.show_listening()
    g = preview.geometry()
    assert g.top() > 200 and g.top() < 260 and abs(g.center().x() - 300) <= 1
    preview.show_partial("你好世界")  # wider: still centred on the point
    assert abs(preview.geometry().center().x() - 300) <= 1


def test_problem_lines_wrap_instead_of_being_cut(make_preview: Any) -> None:
    preview = make_preview(problem_hold_ms=60_000)
    message = Texts("en")("problem_focus_moved", detail="the focus moved to another window")
    preview.show_problem(message * 2)
    assert preview.shown_text == message * 2
    assert preview.height() > 2 * preview.fontMetrics().height()
    assert preview.width() <= MAX_WIDTH_SHARE * area().width()


def test_final_fades_after_the_hold(make_preview: Any, qtbot: Any) -> None:
    preview = make_preview(hold_ms=30, fade_ms=200)
    preview.show_final("你好")
    assert preview.phase is Phase.FINAL and preview.fading
    # The opacity really goes down (a fade, not a hide) …
    qtbot.waitUntil(lambda: 0.0 < preview.windowOpacity() < 0.9, timeout=2000)
    with qtbot.waitSignal(preview.faded, timeout=3000):
        pass
    # … and when it is done, it is hidden and ready to come back at full opacity.
    assert not preview.isVisible() and preview.phase is Phase.HIDDEN
    assert preview.windowOpacity() == 1.0


def test_new_text_stops_a_fade(make_preview: Any, qtbot: Any) -> None:
    preview = make_preview(hold_ms=0, fade_ms=400)
    preview.show_final("第一句")
    qtbot.waitUntil(lambda: preview.windowOpacity() < 0.95, timeout=2000)
    with qtbot.assertNotEmitted(preview.faded, wait=600):
        preview.show_listening()
    assert preview.isVisible() and preview.windowOpacity() == 1.0 and not preview.fading


@pytest.fixture
def wired(make_preview: Any) -> Callable[..., tuple[EngineBridge, PreviewWindow, PreviewController]]:
    def make(**kwargs: Any) -> tuple[EngineBridge, PreviewWindow, PreviewController]:
        controller_args = {k: kwargs.pop(k) for k in ("enabled", "caret", "inserted_hold_ms")
                           if k in kwargs}
        bridge = EngineBridge()
        preview = make_preview(**kwargs)
        return bridge, preview, PreviewController(bridge, preview, **controller_args)

    return make


def test_a_dictation_from_listening_to_the_fade(wired: Any, qtbot: Any) -> None:
    bridge, preview, _ = wired(hold_ms=50)
    bridge.state_changed(DictationState.LISTENING)
    bridge.partial("")  # Dictation's "new utterance"
    assert preview.isVisible() and preview.text == "正在听…"
    bridge.partial("今天")
    bridge.partial("今天下午")
    assert preview.phase is Phase.PARTIAL and preview.shown_text == "今天下午"
    bridge.state_changed(DictationState.FINISHING)
    assert preview.phase is Phase.FINISHING and preview.text == "今天下午"
    with qtbot.waitSignal(preview.faded, timeout=3000):
        bridge.deliver(final("今天下午开会。"))
        assert preview.phase is Phase.FINAL and preview.text == "今天下午开会。"
        bridge.state_changed(DictationState.IDLE)
        assert preview.phase is Phase.FINAL  # IDLE after a final keeps it for the hold
    assert not preview.isVisible()


def test_the_final_goes_sooner_once_inserted(wired: Any, qtbot: Any) -> None:
    bridge, preview, _ = wired(hold_ms=60_000, inserted_hold_ms=0)
    bridge.state_changed(DictationState.LISTENING)
    bridge.state_changed(DictationState.FINISHING)
    bridge.deliver(final("好的"))
    bridge.state_changed(DictationState.IDLE)
    with qtbot.waitSignal(preview.faded, timeout=3000):
        bridge.inserted("好的", None)


def test_idle_without_a_final_fades_at_once(wired: Any, qtbot: Any) -> None:
    bridge, preview, _ = wired(hold_ms=60_000)
    bridge.state_changed(DictationState.LISTENING)
    bridge.state_changed(DictationState.FINISHING)
    bridge.partial("")  # nothing was said
    assert preview.text == "正在识别…"
    with qtbot.waitSignal(preview.faded, timeout=3000):
        bridge.state_changed(DictationState.IDLE)


def test_a_cut_long_hold_keeps_showing_the_live_text(wired: Any) -> None:
    bridge, preview, _ = wired(hold_ms=0)
    bridge.state_changed(DictationState.LISTENING)
    bridge.partial("第一段")
    # max_utterance_s: the first part is finished and the next begins on the same hold.
    bridge.state_changed(DictationState.FINISHING)
    bridge.state_changed(DictationState.LISTENING)
    bridge.deliver(final("第一段。"))
    assert preview.phase is Phase.LISTENING and not preview.fading
    bridge.partial("第二段")
    assert preview.text == "第二段"


def test_problems_a_press_causes_pop_up_others_only_while_up(wired: Any, qtbot: Any) -> None:
    bridge, preview, _ = wired(language="en", problem_hold_ms=30)
    bridge.problem(Problem(ProblemKind.NO_MICROPHONE, "retrying"))
    assert not preview.isVisible()
    with qtbot.waitSignal(preview.faded, timeout=3000):
        bridge.problem(Problem(ProblemKind.MODEL_NOT_READY, "loading"))
        assert preview.phase is Phase.PROBLEM and preview.isVisible()
        assert preview.text == "The model is not ready yet (loading); try again when it is."
    bridge.state_changed(DictationState.LISTENING)
    bridge.problem(Problem(ProblemKind.MICROPHONE_FAILED, "unplugged"))
    assert preview.phase is Phase.PROBLEM and "unplugged" in preview.text
    assert shows_problem(ProblemKind.FOCUS_MOVED, up=False)
    assert not shows_problem(ProblemKind.HOTKEY_UNAVAILABLE, up=False)


def test_focus_moved_after_the_final_replaces_it(wired: Any) -> None:
    bridge, preview, _ = wired(language="en", hold_ms=60_000, problem_hold_ms=60_000)
    bridge.state_changed(DictationState.LISTENING)
    bridge.state_changed(DictationState.FINISHING)
    bridge.deliver(final("hello"))
    bridge.state_changed(DictationState.IDLE)
    bridge.problem(Problem(ProblemKind.FOCUS_MOVED, "another window"))
    assert preview.phase is Phase.PROBLEM and "Paste last result" in preview.text


def test_disabled_shows_nothing_and_turning_off_hides_it(wired: Any) -> None:
    bridge, preview, controller = wired(enabled=False)
    bridge.state_changed(DictationState.LISTENING)
    bridge.partial("你好")
    bridge.problem(Problem(ProblemKind.MODEL_NOT_READY, "loading"))
    assert not preview.isVisible() and preview.phase is Phase.HIDDEN
    bridge.state_changed(DictationState.IDLE)
    controller.enabled = True
    bridge.state_changed(DictationState.LISTENING)
    assert preview.isVisible()
    controller.enabled = False
    assert not preview.isVisible() and preview.phase is Phase.HIDDEN


def test_the_caret_position_is_asked_at_each_press(wired: Any) -> None:
    points = [QPoint(400, 150), None]
    bridge, preview, _ = wired(caret=lambda: points.pop(0), hold_ms=60_000)
    bridge.state_changed(DictationState.LISTENING)
    assert abs(preview.geometry().center().x() - 400) <= 1 and preview.y() > 150
    preview.hide_now()
    bridge.state_changed(DictationState.IDLE)
    bridge.state_changed(DictationState.LISTENING)  # this time the platform cannot tell
    assert preview.geometry().bottom() + 1 == area().bottom() + 1 - BOTTOM_MARGIN
