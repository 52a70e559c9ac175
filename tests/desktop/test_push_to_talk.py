"""The push-to-talk controller on fakes: sources, a hand-driven timer, a recording talker."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tingxie.desktop.debounce import KeyAction
from tingxie.desktop.push_to_talk import (
    FakeHoldKeySource,
    FakeTalker,
    ManualTimer,
    PushToTalk,
    Talk,
    TalkMode,
    decide,
)


def controller(mode: TalkMode = TalkMode.HOLD) -> tuple[PushToTalk, FakeTalker, ManualTimer]:
    timer = ManualTimer(now=10.0)
    talker = FakeTalker()
    return PushToTalk(talker, timer, mode=mode, clock=timer), talker, timer


@pytest.mark.parametrize(
    ("mode", "edge", "others", "listening", "talk"),
    [
        (TalkMode.HOLD, KeyAction.START, False, False, Talk.PRESS),
        (TalkMode.HOLD, KeyAction.START, True, False, Talk.PRESS),  # the other's press failed
        (TalkMode.HOLD, KeyAction.START, True, True, Talk.NOTHING),
        (TalkMode.HOLD, KeyAction.STOP, False, True, Talk.RELEASE),
        (TalkMode.HOLD, KeyAction.STOP, True, True, Talk.NOTHING),  # another key still held
        (TalkMode.TOGGLE, KeyAction.START, False, False, Talk.PRESS),
        (TalkMode.TOGGLE, KeyAction.START, False, True, Talk.RELEASE),
        (TalkMode.TOGGLE, KeyAction.STOP, False, True, Talk.NOTHING),  # lifting the key
        (TalkMode.TOGGLE, KeyAction.STOP, False, False, Talk.NOTHING),
    ],
)
def test_decide(
    mode: TalkMode, edge: KeyAction, others: bool, listening: bool, talk: Talk
) -> None:
    assert decide(mode, edge, others_held=others, listening=listening) is talk


def test_hold_presses_at_key_down_and_releases_after_the_debounce_window() -> None:
    ptt, talker, timer = controller()
    key = FakeHoldKeySource(debounce_s=0.03)
    ptt.add(key)
    key.down(10.0)
    assert talker.calls == ["press"]
    timer.advance(1.0)
    key.up(timer.now)
    assert talker.calls == ["press"] and ptt.held  # a repeat press may still follow
    timer.advance(0.02)
    assert talker.calls == ["press"]
    timer.advance(0.011)
    assert talker.calls == ["press", "release"] and not ptt.held
    assert timer.due is None


def test_key_repeat_pairs_keep_one_utterance() -> None:
    ptt, talker, timer = controller()
    key = FakeHoldKeySource(debounce_s=0.03)
    ptt.add(key)
    key.down(timer.now)
    for _ in range(40):  # X11: a release and a press 2 ms apart, every 40 ms
        timer.advance(0.038)
        key.up(timer.now)
        timer.advance(0.002)
        key.down(timer.now)
    timer.advance(0.5)
    assert talker.calls == ["press"] and talker.listening
    key.up(timer.now)
    timer.advance(0.05)
    assert talker.calls == ["press", "release"]


@given(st.lists(st.floats(min_value=0.0, max_value=0.029), max_size=40))
def test_any_hold_with_quick_repeats_presses_and_releases_once(gaps: list[float]) -> None:
    ptt, talker, timer = controller()
    key = FakeHoldKeySource(debounce_s=0.03)
    ptt.add(key)
    key.down(timer.now)
    for gap in gaps:
        timer.advance(0.04)
        key.up(timer.now)
        timer.advance(gap)
        key.down(timer.now)
    timer.advance(0.04)
    key.up(timer.now)
    timer.advance(0.03)
    assert talker.calls == ["press", "release"]


def test_toggle_starts_on_one_hold_and_stops_on_the_next() -> None:
    ptt, talker, timer = controller(TalkMode.TOGGLE)
    key = FakeHoldKeySource(debounce_s=0.03)
    ptt.add(key)
    key.down(timer.now)
    timer.advance(0.3)
    key.up(timer.now)
    timer.advance(0.002)
    key.down(timer.now)  # a repeat pair, not a new press: no toggle
    timer.advance(0.1)
    key.up(timer.now)
    timer.advance(2.0)
    assert talker.calls == ["press"] and talker.listening  # lifting the key does not stop
    key.down(timer.now)
    assert talker.calls == ["press", "release"]
    key.up(timer.now + 0.1)
    timer.advance(1.0)
    key.down(timer.now)
    assert talker.calls == ["press", "release", "press"]


def test_toggle_after_the_utterance_ended_elsewhere_starts_a_new_one() -> None:
    ptt, talker, timer = controller(TalkMode.TOGGLE)
    key = FakeHoldKeySource(debounce_s=0.0)
    ptt.add(key)
    key.down(timer.now)
    key.up(timer.now)
    talker.listening = False  # e.g. the microphone was lost, or a voice-activity stop
    timer.advance(1)
    key.down(timer.now)
    assert talker.calls == ["press", "press"]


def test_two_sources_at_once_keep_talking_until_the_last_lets_go() -> None:
    ptt, talker, timer = controller()
    space, button = FakeHoldKeySource("space", 0.03), FakeHoldKeySource("button", 0.0)
    ptt.add(space)
    ptt.add(button)
    space.down(timer.now)
    timer.advance(0.2)
    button.down(timer.now)
    timer.advance(0.2)
    button.up(timer.now)  # no debounce: settled at once, but Space is still down
    assert talker.calls == ["press"]
    timer.advance(0.2)
    space.up(timer.now)
    timer.advance(0.03)
    assert talker.calls == ["press", "release"]


def test_two_sources_releasing_together_release_once() -> None:
    ptt, talker, timer = controller()
    a, b = FakeHoldKeySource("a", 0.03), FakeHoldKeySource("b", 0.03)
    ptt.add(a)
    ptt.add(b)
    a.down(timer.now)
    b.down(timer.now)
    timer.advance(0.5)
    a.up(timer.now)
    b.up(timer.now)
    timer.advance(0.05)
    assert talker.calls == ["press", "release"]


def test_release_without_press_does_nothing() -> None:
    ptt, talker, timer = controller()
    key = FakeHoldKeySource()
    ptt.add(key)
    key.up(timer.now)  # the press went to another window
    timer.advance(1.0)
    key.lose()
    assert talker.calls == [] and timer.due is None


def test_a_lost_key_ends_the_hold_at_once() -> None:
    ptt, talker, timer = controller()
    key = FakeHoldKeySource()
    ptt.add(key)
    key.down(timer.now)
    key.lose()  # the window lost focus: the release will go elsewhere
    assert talker.calls == ["press", "release"] and not ptt.held
    key.up(timer.now + 0.1)
    timer.advance(1.0)
    assert talker.calls == ["press", "release"]


def test_a_press_that_fails_is_retried_by_the_next_hold() -> None:
    ptt, talker, timer = controller()
    key = FakeHoldKeySource(debounce_s=0.0)
    ptt.add(key)
    talker.refuse = True  # the model is not ready
    key.down(timer.now)
    key.up(timer.now)
    talker.refuse = False
    key.down(timer.now + 1)
    assert talker.calls == ["press", "release", "press"] and talker.listening


def test_stop_ends_the_utterance_while_the_key_is_held() -> None:
    ptt, talker, timer = controller()
    key = FakeHoldKeySource(debounce_s=0.0)
    ptt.add(key)
    key.down(timer.now)
    ptt.stop()  # a voice-activity stop, a maximum length
    assert talker.calls == ["press", "release"] and ptt.held
    timer.advance(1)
    key.up(timer.now)
    assert talker.calls == ["press", "release", "release"] and not talker.listening


def test_close_stops_the_sources_and_later_events_do_nothing() -> None:
    ptt, talker, timer = controller()
    key = FakeHoldKeySource()
    ptt.add(key)
    key.down(timer.now)
    key.up(timer.now)
    ptt.close()
    assert key.listener is None and timer.due is None
    ptt.key_down(key, timer.now + 1)  # an event already on its way
    timer.advance(1)
    assert talker.calls == ["press"]


def test_removed_source_ends_its_hold() -> None:
    ptt, talker, timer = controller()
    key = FakeHoldKeySource()
    ptt.add(key)
    key.down(timer.now)
    ptt.remove(key)
    assert talker.calls == ["press", "release"] and key.listener is None


def test_sources_on_other_threads() -> None:
    ptt, talker, timer = controller()
    keys = [FakeHoldKeySource(f"k{i}", 0.0) for i in range(8)]
    for key in keys:
        ptt.add(key)
    start = threading.Barrier(len(keys))

    def hold(key: FakeHoldKeySource) -> None:
        start.wait()
        for _ in range(200):
            key.down(timer.now)
            key.up(timer.now)

    threads = [threading.Thread(target=hold, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not ptt.held and not talker.listening
    assert talker.calls[0] == "press" and talker.calls[-1] == "release"
