"""The desktop-wide keys on fake sources: made from names, replaced, paused, and what the
user is told when one cannot be used; which platform code a session gets."""

from __future__ import annotations

import pytest

from tingxie.desktop.events import Problem, ProblemKind
from tingxie.desktop.global_keys import GlobalKeys
from tingxie.desktop.hotkey import KeySpec
from tingxie.desktop.platform import Unavailable, global_hold_key, session_kind
from tingxie.desktop.push_to_talk import FakeHoldKeySource, FakeTalker, ManualTimer, PushToTalk


class Desk:
    """A fake desktop: every source made is kept; ``refuse`` names keys it cannot watch."""

    def __init__(self) -> None:
        self.made: dict[str, FakeHoldKeySource] = {}
        self.refuse: set[str] = set()

    def __call__(self, spec: KeySpec) -> FakeHoldKeySource:
        if str(spec) in self.refuse:
            raise Unavailable("this desktop cannot watch it")
        self.made[str(spec)] = FakeHoldKeySource(str(spec), debounce_s=0.0)
        return self.made[str(spec)]


@pytest.fixture
def parts():  # type: ignore[no-untyped-def]
    clock = ManualTimer()
    talker = FakeTalker()
    ptt = PushToTalk(talker, clock, clock=clock)
    desk, problems, pasted = Desk(), [], []
    keys = GlobalKeys(ptt, lambda: pasted.append(1), desk, problems.append)
    return keys, desk, talker, problems, pasted, clock


def test_the_hold_key_drives_the_dictation_and_the_paste_key_pastes_once_per_press(parts) -> None:
    keys, desk, talker, problems, pasted, clock = parts
    assert keys.apply("right ctrl", "ctrl+alt+v") == []
    hold, paste = desk.made["right ctrl"], desk.made["ctrl+alt+v"]
    hold.down(clock.now)
    clock.advance(1.0)
    hold.up(clock.now)
    clock.advance(0.1)
    assert talker.calls == ["press", "release"]
    paste.down(clock.now)
    paste.down(clock.now + 0.03)  # key repeat
    paste.up(clock.now + 0.1)
    paste.down(clock.now + 0.5)
    assert pasted == [1, 1] and not problems


def test_changing_the_key_closes_the_old_source_and_unchanged_settings_keep_it(parts) -> None:
    keys, desk, talker, problems, pasted, clock = parts
    keys.apply("right ctrl", "")
    first = desk.made["right ctrl"]
    keys.apply("right ctrl", "")
    assert desk.made["right ctrl"] is first and not first.closed
    keys.apply("f8", "")
    assert first.closed and first.listener is None
    first.down(clock.now)  # the old key does nothing now
    assert talker.calls == []
    desk.made["f8"].down(clock.now)
    assert talker.calls == ["press"]


def test_paused_keys_are_not_watched_and_come_back(parts) -> None:
    keys, desk, talker, problems, pasted, clock = parts
    keys.apply("right ctrl", "ctrl+alt+v")
    old = desk.made["right ctrl"]
    keys.pause(True)
    assert old.closed and desk.made["ctrl+alt+v"].closed
    keys.pause(False)
    assert desk.made["right ctrl"] is not old
    desk.made["right ctrl"].down(clock.now)
    assert talker.calls == ["press"]


def test_a_key_that_cannot_be_used_is_told_and_the_other_still_works(parts) -> None:
    keys, desk, talker, problems, pasted, clock = parts
    desk.refuse.add("right ctrl")
    errors = keys.apply("right ctrl", "banana")
    assert len(errors) == 2
    assert [p.kind for p in problems] == [ProblemKind.HOTKEY_UNAVAILABLE] * 2
    assert "cannot watch" in problems[0].detail and "banana" in problems[1].detail
    keys.apply("f8", "")
    assert "f8" in desk.made and len(problems) == 2
    keys.apply("", "", enabled=True)
    assert desk.made["f8"].closed


def test_disabled_keys_are_not_made(parts) -> None:
    keys, desk, *_ = parts
    assert keys.apply("right ctrl", "ctrl+alt+v", enabled=False) == []
    assert desk.made == {}


@pytest.mark.parametrize(
    ("env", "platform", "kind"),
    [
        ({"DISPLAY": ":0"}, "linux", "x11"),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", "wayland"),
        ({}, "linux", "none"),
        ({}, "win32", "windows"),
        ({}, "darwin", "macos"),
    ],
)
def test_session_kind(env: dict[str, str], platform: str, kind: str) -> None:
    assert session_kind(env, platform) == kind


def test_a_source_that_fails_to_start_is_told_and_not_kept(parts) -> None:
    keys, desk, talker, problems, pasted, clock = parts

    class Refusing(FakeHoldKeySource):
        def start(self, listener):  # type: ignore[no-untyped-def]
            raise RuntimeError("Windows refused the keyboard hook")

    keys._make = lambda spec: Refusing(str(spec))
    errors = keys.apply("right ctrl", "ctrl+alt+v")
    assert len(errors) == 2 and "refused" in errors[0]
    assert keys.hold_source is None and problems[0].kind is ProblemKind.HOTKEY_UNAVAILABLE


def test_wayland_and_no_display_say_what_to_do_instead() -> None:
    with pytest.raises(Unavailable, match="Space"):
        global_hold_key(KeySpec(key="right ctrl"), "wayland")
    with pytest.raises(Unavailable, match="Space"):
        global_hold_key(KeySpec(key="right ctrl"), "none")


def test_problem_kinds_have_window_texts() -> None:
    from tingxie.desktop.i18n import Texts

    for lang in ("en", "zh"):
        t = Texts(lang)
        for kind in ProblemKind:
            assert t(f"problem_{kind.value}", detail="x")
    assert Problem(ProblemKind.HOTKEY_UNAVAILABLE).detail == ""
