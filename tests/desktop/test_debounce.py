from hypothesis import given
from hypothesis import strategies as st

from tingxie.desktop.debounce import KeyAction, PushToTalkDebounce


def test_single_press_and_release_is_one_utterance() -> None:
    d = PushToTalkDebounce(0.03)
    assert d.press(0.0) is KeyAction.START
    due = d.release(1.0)
    assert due == 1.03
    assert d.expire(1.01) is KeyAction.NONE  # too early: a press may still follow
    assert d.held
    assert d.expire(1.03) is KeyAction.STOP
    assert not d.held


def test_x11_repeat_pairs_keep_the_hold() -> None:
    d = PushToTalkDebounce(0.03)
    assert d.press(0.0) is KeyAction.START
    t = 0.5
    for _ in range(50):  # release/press pairs every 40 ms, 1 ms apart
        d.release(t)
        assert d.press(t + 0.001) is KeyAction.NONE
        assert d.expire(t + 0.035) is KeyAction.NONE  # the press cancelled the release
        t += 0.04
    d.release(t)
    assert d.expire(t + 0.03) is KeyAction.STOP


def test_release_without_press_and_cancel() -> None:
    d = PushToTalkDebounce()
    assert d.release(1.0) is None
    assert d.expire(2.0) is KeyAction.NONE
    assert d.cancel() is KeyAction.NONE
    d.press(3.0)
    assert d.cancel() is KeyAction.STOP
    assert d.press(3.1) is KeyAction.START


@given(st.lists(st.floats(min_value=0.0, max_value=0.029), min_size=0, max_size=60))
def test_any_hold_with_quick_repeats_gives_one_start_and_one_stop(gaps: list[float]) -> None:
    d = PushToTalkDebounce(0.03)
    actions = [d.press(0.0)]
    t = 0.0
    for gap in gaps:
        t += 0.04
        d.release(t)
        actions.append(d.expire(t + gap))  # the timer may fire before the repeat press
        actions.append(d.press(t + gap))
    d.release(t + 0.05)
    actions.append(d.expire(t + 0.05 + 0.03))
    assert actions.count(KeyAction.START) == 1
    assert actions.count(KeyAction.STOP) == 1
    assert actions[-1] is KeyAction.STOP
