"""The global hold key on a real X server (Xvfb): keys pressed with XTEST (xdotool), as a
keyboard would, while a separate editor process has the focus."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop.xserver import Editor, focus, needs_x, wait_for, xvfb
from tingxie.desktop.hotkey import parse
from tingxie.desktop.push_to_talk import HoldKeySource

pytestmark = needs_x("xdotool")


class Events:
    """A ``HoldKeyListener`` that records what the source reports."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.lock = threading.Lock()

    def key_down(self, source: HoldKeySource, t: float) -> None:
        with self.lock:
            self.seen.append("down")

    def key_up(self, source: HoldKeySource, t: float) -> None:
        with self.lock:
            self.seen.append("up")

    def key_lost(self, source: HoldKeySource) -> None:
        with self.lock:
            self.seen.append("lost")

    def wait(self, *expected: str) -> None:
        wait_for(lambda: self.seen == list(expected), 5, f"events {expected} (got {self.seen})")


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb() as name:
        yield name


def xdo(display: str, *args: str) -> None:
    subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, check=True,
                   timeout=10)


@pytest.fixture
def source(display: str, request: pytest.FixtureRequest) -> Iterator[tuple[object, Events]]:
    from tingxie.desktop.x11_keys import X11HoldKey

    key = X11HoldKey(parse(request.param), display)
    events = Events()
    key.start(events)
    yield key, events
    key.close()


@pytest.fixture
def editor(display: str, tmp_path: Path) -> Iterator[Editor]:
    """Another application, focused."""
    ed = Editor(display, tmp_path / "e.txt")
    focus(display, ed.window)
    yield ed
    ed.close()


@pytest.mark.parametrize("source", ["right ctrl"], indirect=True)
def test_right_ctrl_is_seen_while_another_application_has_the_focus(
    source, display, editor: Editor
) -> None:
    key, events = source
    xdo(display, "keydown", "Control_R")
    events.wait("down")
    xdo(display, "type", "x")  # the editor still gets its keys: nothing is grabbed
    xdo(display, "keyup", "Control_R")
    events.wait("down", "up")
    xdo(display, "keydown", "Control_L", "keyup", "Control_L")  # the other Ctrl: not it
    xdo(display, "type", "ab")
    editor.wait_text("ab")  # Ctrl+x did what Ctrl+x does there (nothing to cut)
    assert events.seen == ["down", "up"]


@pytest.mark.parametrize("source", ["ctrl+alt+d"], indirect=True)
def test_a_chord_counts_only_with_its_modifiers(source, display) -> None:
    key, events = source
    xdo(display, "keydown", "d", "keyup", "d")
    xdo(display, "keydown", "Control_L", "keydown", "d", "keyup", "d", "keyup", "Control_L")
    assert events.seen == []
    xdo(display, "keydown", "Control_R", "keydown", "Alt_L", "keydown", "d")
    events.wait("down")
    xdo(display, "keyup", "d", "keyup", "Alt_L", "keyup", "Control_R")
    events.wait("down", "up")


@pytest.mark.parametrize("source", ["mouse 8"], indirect=True)
def test_a_mouse_side_button(source, display) -> None:
    key, events = source
    xdo(display, "mousedown", "8")
    events.wait("down")
    xdo(display, "mouseup", "8")
    events.wait("down", "up")


@pytest.mark.parametrize("source", ["caps lock"], indirect=True)
def test_caps_lock_held_leaves_caps_as_it_was_and_a_tap_still_toggles(
    source, display, editor: Editor
) -> None:
    key, events = source
    xdo(display, "keydown", "Caps_Lock", "sleep", "0.5", "keyup", "Caps_Lock")
    events.wait("down", "up")
    wait_for(lambda: key._ignore == 0, 5, "the re-toggle to be recorded")
    xdo(display, "type", "a")
    editor.wait_text("a")  # caps off again after the hold
    xdo(display, "key", "Caps_Lock")  # a tap: caps on, and no hold reported
    xdo(display, "type", "b")
    editor.wait_text("aB")
    xdo(display, "key", "Caps_Lock")
    import time

    time.sleep(0.5)  # past the tap time
    assert events.seen == ["down", "up"]


@pytest.mark.parametrize("source", ["right ctrl"], indirect=True)
def test_a_held_key_whose_release_never_came_is_released(source, display) -> None:
    """A press recorded, then the key found up (its release was lost: lock screen, sleep)."""
    key, events = source
    key._key(key._code, True)  # the press as RECORD delivers it; the key is not down
    events.wait("down", "lost")


@pytest.mark.parametrize("source", ["right ctrl"], indirect=True)
def test_stopped_sources_report_nothing_and_start_again(source, display) -> None:
    key, events = source
    key.stop()
    xdo(display, "keydown", "Control_R", "keyup", "Control_R")
    key.start(events)
    xdo(display, "keydown", "Control_R", "keyup", "Control_R")
    events.wait("down", "up")


def test_a_key_the_keyboard_lacks_is_a_clear_error(display) -> None:
    from tingxie.desktop.x11_keys import X11HoldKey, X11KeyError

    with pytest.raises(X11KeyError, match="no 'f24' key|f24"):
        X11HoldKey(parse("f24"), display)


class Timed(Events):
    """Also keeps each event's time."""

    def __init__(self) -> None:
        super().__init__()
        self.timed: list[tuple[str, float]] = []

    def key_down(self, source: HoldKeySource, t: float) -> None:
        self.timed.append(("down", t))
        super().key_down(source, t)

    def key_up(self, source: HoldKeySource, t: float) -> None:
        self.timed.append(("up", t))
        super().key_up(source, t)


def test_a_held_f8_repeats_and_the_controller_makes_one_utterance_of_it(display) -> None:
    """X11 auto-repeat sends release/press pairs while F8 is held; replayed with their
    times through the real controller, they are one press and one release."""
    from tingxie.desktop.push_to_talk import (
        FakeHoldKeySource,
        FakeTalker,
        ManualTimer,
        PushToTalk,
    )
    from tingxie.desktop.x11_keys import X11HoldKey

    key = X11HoldKey(parse("f8"), display)
    events = Timed()
    key.start(events)
    try:
        xdo(display, "keydown", "F8", "sleep", "1.2", "keyup", "F8")
        wait_for(lambda: events.seen and events.seen[-1] == "up", 5, "the release")
        import time

        time.sleep(0.2)
    finally:
        key.close()
    assert events.seen.count("down") > 5, events.seen  # repeats did come
    clock = ManualTimer(events.timed[0][1])
    talker = FakeTalker()
    ptt = PushToTalk(talker, clock, clock=clock)
    replay = FakeHoldKeySource("f8", debounce_s=key.debounce_s)
    ptt.add(replay)
    for kind, t in events.timed:
        clock.advance(max(0.0, t - clock.now))
        (replay.down if kind == "down" else replay.up)(t)
    clock.advance(1.0)
    assert talker.calls == ["press", "release"]
