"""Which method and chord an application gets, and the fake inserter's contract."""

from __future__ import annotations

import pytest

from tingxie.desktop.insertion.base import (
    Chord,
    FakeInserter,
    FocusMoved,
    How,
    Method,
    Target,
    choose,
)

EDITOR = Target(1, "gedit", "notes")
TERMINAL = Target(2, "gnome-terminal", "bash")
XTERM = Target(5, "xterm", "bash")
WECHAT = Target(3, "wechat", "chat")


def test_auto_types_into_editors_and_pastes_into_terminals_and_known_apps() -> None:
    assert choose(Method.AUTO, EDITOR) == How(Method.TYPE, Chord.CTRL_V)
    assert choose(Method.AUTO, TERMINAL) == How(Method.PASTE, Chord.CTRL_SHIFT_V)
    assert choose(Method.AUTO, WECHAT) == How(Method.PASTE, Chord.CTRL_V)
    assert choose(Method.AUTO, Target(4, "Obsidian"), paste_apps=["obsidian"]).method is Method.PASTE


def test_xterm_has_no_clipboard_chord_so_it_is_typed_into() -> None:
    assert choose(Method.AUTO, XTERM).method is Method.TYPE


def test_a_forced_method_is_kept_and_terminals_keep_their_chord() -> None:
    assert choose(Method.PASTE, EDITOR) == How(Method.PASTE, Chord.CTRL_V)
    assert choose(Method.TYPE, TERMINAL) == How(Method.TYPE, Chord.CTRL_SHIFT_V)
    assert choose(Method.PASTE, TERMINAL) == How(Method.PASTE, Chord.CTRL_SHIFT_V)
    assert choose(Method.PASTE, None) == How(Method.PASTE, Chord.CTRL_V)


def test_the_platform_chord_wins_where_it_is_not_ctrl_v() -> None:
    assert choose(Method.AUTO, TERMINAL, platform_chord=Chord.CMD_V).chord is Chord.CMD_V


def test_fake_refuses_a_target_that_lost_the_focus() -> None:
    fake = FakeInserter(focus=EDITOR)
    fake.insert("a", EDITOR, How(Method.TYPE))
    fake.focus = TERMINAL
    with pytest.raises(FocusMoved) as caught:
        fake.insert("b", EDITOR, How(Method.TYPE))
    assert caught.value.expected == EDITOR and caught.value.now == TERMINAL
    assert fake.typed == {1: ["a"]}
