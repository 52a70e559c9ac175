"""The X11 inserter on a real X server (Xvfb), typing and pasting into a separate editor
process, with the clipboard read back by ``xclip`` as any other application reads it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop.xserver import Clipboard, Editor, focus, needs_x, xvfb
from tingxie.desktop.insertion.base import Chord, FocusMoved, How, InsertError, Method

pytestmark = needs_x("xclip", "xdotool")

TEXT = "你好，世界！Hello 123 (ok)?\n第二行：“引号” ✓ 😀"


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb() as name:
        yield name


@pytest.fixture
def editor(display: str, tmp_path: Path) -> Iterator[Editor]:
    ed = Editor(display, tmp_path / "editor.txt")
    focus(display, ed.window)
    yield ed
    ed.close()


@pytest.fixture
def inserter(display: str) -> Iterator[object]:
    from tingxie.desktop.insertion.x11 import X11Inserter, X11Timing

    ins = X11Inserter(display, timing=X11Timing(read_timeout_s=3.0, quiet_s=0.1))
    yield ins
    ins.close()


def test_focused_is_the_editor_toplevel_with_its_class(inserter, editor) -> None:
    target = inserter.focused()
    assert target is not None and target.id == editor.window
    assert target.app == "tingxie-test-editor" and target.title == "editor"
    assert target.pid == editor.process.pid


def test_typing_puts_unicode_text_in_and_leaves_the_clipboard_alone(
    inserter, editor, display
) -> None:
    clip = Clipboard(display)
    clip.set("the user's 剪贴板".encode())
    inserter.insert(TEXT, inserter.focused(), How(Method.TYPE))
    editor.wait_text(TEXT)
    assert clip.get() == "the user's 剪贴板".encode()


def test_more_distinct_characters_than_spare_keycodes_type_in_order_into_a_busy_app(
    inserter, display, tmp_path: Path
) -> None:
    """Keycodes are rebound many times; a target slow to handle keys still reads each with
    the binding it was typed with (the ping waits for it)."""
    busy = Editor(display, tmp_path / "busy.txt", key_ms=5)
    try:
        focus(display, busy.window)
        text = "".join(chr(0x4E00 + i * 37) for i in range(120))  # 120 different characters
        inserter.insert(text, inserter.focused(), How(Method.TYPE))
        busy.wait_text(text, timeout=20)
    finally:
        busy.close()


def test_pasting_gives_every_clipboard_format_back(inserter, editor, display) -> None:
    clip = Clipboard(display)
    image = os.urandom(700_000)  # larger than one X request: saved and served through INCR
    clip.set(image, "image/png")
    inserter.insert(TEXT, inserter.focused(), How(Method.PASTE))
    editor.wait_text(TEXT)
    assert "image/png" in clip.targets()
    assert clip.get("image/png") == image
    assert "x-kde-passwordManagerHint" not in clip.targets()


def test_a_clipboard_manager_reading_first_does_not_make_the_paste_restore_early(
    inserter, display, tmp_path: Path
) -> None:
    """A manager asks every new owner for its text at once; the target (busy: 400 ms a
    key) asks only when it handles Ctrl+V. Restoring after the manager's read would make
    the target paste the user's old clipboard (Handy #502)."""
    import threading

    clip = Clipboard(display)
    clip.set(b"the user's old clipboard")
    busy = Editor(display, tmp_path / "busy.txt", key_ms=400)
    stop = threading.Event()

    def manager() -> None:
        while not stop.is_set():
            clip.get()
            stop.wait(0.3)  # longer than the quiet time: each read looks like the last

    reader = threading.Thread(target=manager)
    try:
        focus(display, busy.window)
        reader.start()
        inserter.insert("新的文字", inserter.focused(), How(Method.PASTE))
        busy.wait_text("新的文字", timeout=10)
    finally:
        stop.set()
        reader.join()
        busy.close()
    assert clip.get() == b"the user's old clipboard"


def test_pasting_with_an_empty_clipboard_leaves_it_empty(inserter, editor, display) -> None:
    clip = Clipboard(display)
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)  # clear it: own and give up, as an application may
    w = d.screen().root.create_window(0, 0, 1, 1, 0, 0)
    w.set_selection_owner(d.intern_atom("CLIPBOARD"), X.CurrentTime)
    d.sync()
    d.close()
    assert clip.get() is None
    inserter.insert("空的", inserter.focused(), How(Method.PASTE))
    editor.wait_text("空的")
    assert clip.get() is None


def test_the_text_offered_while_pasting_is_marked_for_clipboard_managers(
    inserter, editor, display
) -> None:
    """A manager reading the clipboard during the paste sees the hint KDE's Klipper honours."""
    from tingxie.desktop.insertion import x11

    seen: list[list[str]] = []
    original = x11.X11Inserter._tap

    def tap_and_look(self, codes):  # type: ignore[no-untyped-def]
        original(self, codes)
        if len(codes) > 1:  # the paste chord: read TARGETS as a manager would, meanwhile
            got = subprocess.Popen(
                ["xclip", "-selection", "clipboard", "-t", "TARGETS", "-o"],
                env={**os.environ, "DISPLAY": display}, stdout=subprocess.PIPE, text=True)
            self._wait(lambda: got.poll() is not None, 5)
            seen.append(got.communicate()[0].split())

    x11.X11Inserter._tap = tap_and_look  # type: ignore[method-assign]
    try:
        inserter.insert("标记", inserter.focused(), How(Method.PASTE))
    finally:
        x11.X11Inserter._tap = original  # type: ignore[method-assign]
    editor.wait_text("标记")
    assert seen and "x-kde-passwordManagerHint" in seen[0] and "UTF8_STRING" in seen[0]


def test_a_target_that_never_reads_is_an_error_and_the_clipboard_comes_back(
    display, tmp_path
) -> None:
    from Xlib import display as xdisplay

    from tingxie.desktop.insertion.x11 import X11Inserter, X11Timing

    clip = Clipboard(display)
    clip.set(b"keep me")
    d = xdisplay.Display(display)  # a bare window that ignores keys
    w = d.screen().root.create_window(0, 0, 50, 50, 0, d.screen().root_depth)
    w.map()
    d.sync()
    focus(display, w.id)
    ins = X11Inserter(display, timing=X11Timing(read_timeout_s=2.0, quiet_s=0.05))
    try:
        import threading
        import time

        failed: list[BaseException] = []

        def paste() -> None:
            try:
                ins.insert("丢失?", ins.focused(), How(Method.PASTE))
            except InsertError as exc:
                failed.append(exc)

        paster = threading.Thread(target=paste)
        paster.start()
        time.sleep(0.3)  # the paste is waiting for the target now
        asked = time.monotonic()
        assert ins.focused() is not None  # a key press meanwhile is answered at once
        assert time.monotonic() - asked < 0.5 and paster.is_alive()
        paster.join(10)
        assert failed and "did not read the clipboard" in str(failed[0])
        assert clip.get() == b"keep me"
    finally:
        ins.close()
        w.destroy()
        d.close()


def test_nothing_is_typed_when_the_focus_moved(inserter, editor, display, tmp_path) -> None:
    target = inserter.focused()
    other = Editor(display, tmp_path / "other.txt", title="other")
    try:
        focus(display, other.window)
        with pytest.raises(FocusMoved):
            inserter.insert("不该出现", target, How(Method.TYPE))
        with pytest.raises(FocusMoved):
            inserter.insert("不该出现", target, How(Method.PASTE))
        inserter.insert("这里", inserter.focused(), How(Method.TYPE))
        other.wait_text("这里")
        assert editor.text() == ""
    finally:
        other.close()


def test_held_modifiers_are_released_before_typing(inserter, editor, display) -> None:
    env = {**os.environ, "DISPLAY": display}
    subprocess.run(["xdotool", "keydown", "Control_L", "keydown", "Shift_L"], env=env, check=True)
    inserter.insert("av", inserter.focused(), How(Method.TYPE))
    editor.wait_text("av")  # not Ctrl+A (select all) then Ctrl+V


def test_terminal_chord_is_ctrl_shift_v(inserter, editor) -> None:
    """Qt's editor does not paste on Ctrl+Shift+V: the chord reaches it and nothing is read,
    which the inserter reports (a terminal would have read the clipboard)."""
    with pytest.raises(InsertError, match="did not read"):
        inserter.insert("x", inserter.focused(), How(Method.PASTE, Chord.CTRL_SHIFT_V))
    assert editor.text() == ""
