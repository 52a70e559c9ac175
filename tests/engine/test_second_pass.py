"""The second pass on the real worker: finals refined by the offline model, punctuated and
finished; long utterances cut into segments that lose nothing; other users wait one pass."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tingxie.engine.errors import EngineClosedError
from tingxie.engine.fake import (
    FakeDecoder,
    FakePunctuator,
    FakeSegmentDecoder,
    FakeSegmenter,
    fake_two_pass_recognizer,
    tone,
)
from tingxie.engine.interface import SAMPLE_RATE
from tingxie.engine.second_pass import (
    PASS_BUDGET_S,
    Refinement,
    SecondPass,
    plan_cuts,
)
from tingxie.engine.streaming import StreamingRecognizer

TIMEOUT = 10


def speech(seconds: float, level: float = 0.2) -> np.ndarray:
    return tone(level, seconds)


class Upper:
    """A text step: upper case (stands in for ITN and the rules)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def finish(self, text: str, *, itn: bool = True) -> str:
        self.calls.append(text)
        return f"«{text}»" if itn else text


def test_the_final_is_the_offline_decode_punctuated_and_finished() -> None:
    finisher = Upper()
    second = SecondPass(FakeSegmentDecoder(), FakePunctuator(), FakeSegmenter(), finisher)
    recognizer = StreamingRecognizer(FakeDecoder(), second_pass=second)
    try:
        session = recognizer.open_session()
        partial = session.feed(speech(1.8)).result(TIMEOUT)
        assert partial.text == "四四四" and not partial.refined  # the streaming draft
        final = session.finish().result(TIMEOUT)
        assert final.is_final and final.refined
        assert final.text == "«<四><四><四>。»"  # offline tokens, the punctuator's stop, ITN
        assert finisher.calls == ["<四><四><四>。"]
        assert final.tokens == ("<四>", "<四>", "<四>")
        assert final.confidence == pytest.approx(0.9)  # the offline tokens' probabilities
    finally:
        recognizer.close()


def test_hotwords_and_options_per_utterance() -> None:
    decoder = FakeSegmentDecoder()
    punctuator = FakePunctuator()
    second = SecondPass(
        decoder, punctuator, None, defaults=Refinement(hotwords=("听写",))
    )
    recognizer = StreamingRecognizer(FakeDecoder(), second_pass=second)
    try:
        session = recognizer.open_session()
        session.feed(speech(0.6))
        assert session.finish().result(TIMEOUT).text == "<四>[听写]。"  # the defaults
        session.feed(speech(0.6))
        own = Refinement(hotwords=("北京", "上海"), punctuate=False)
        assert session.finish(own).result(TIMEOUT).text == "<四>[北京][上海]"
        session.feed(speech(0.6))
        draft = session.finish(Refinement(refine=False)).result(TIMEOUT)
        assert draft.text == "四。" and not draft.refined  # the draft, still punctuated
        assert [hw for _, hw in decoder.calls] == [("听写",), ("北京", "上海")]
    finally:
        recognizer.close()


def test_without_an_offline_model_the_draft_is_finished() -> None:
    second = SecondPass(None, FakePunctuator(), None, Upper())
    recognizer = StreamingRecognizer(FakeDecoder(), second_pass=second)
    try:
        session = recognizer.open_session()
        session.feed(speech(1.2))
        final = session.finish().result(TIMEOUT)
        assert final.text == "«四四。»" and not final.refined
    finally:
        recognizer.close()


def test_an_empty_utterance_gives_an_empty_final() -> None:
    recognizer = fake_two_pass_recognizer()
    try:
        session = recognizer.open_session()
        final = session.finish().result(TIMEOUT)
        assert final.text == "" and final.is_final
        session.feed(np.zeros(SAMPLE_RATE, dtype=np.int16))
        assert session.finish().result(TIMEOUT).text == ""  # silence: nothing to punctuate
    finally:
        recognizer.close()


def test_an_offline_failure_gives_the_draft_not_an_error() -> None:
    second = SecondPass(FakeSegmentDecoder(fail=True), FakePunctuator(), None)
    recognizer = StreamingRecognizer(FakeDecoder(), second_pass=second)
    try:
        session = recognizer.open_session()
        session.feed(speech(1.2))
        final = session.finish().result(TIMEOUT)
        assert final.text == "四四。" and not final.refined
        session.feed(speech(0.6))  # the session and the worker go on
        assert session.finish().result(TIMEOUT).text == "四。"
    finally:
        recognizer.close()


class Failing:
    info = FakePunctuator().info

    def punctuate(self, text: str) -> str:
        raise RuntimeError("broken punctuation model")

    def finish(self, text: str, *, itn: bool = True) -> str:
        raise RuntimeError("broken text step")


def test_failing_text_steps_keep_the_text() -> None:
    second = SecondPass(FakeSegmentDecoder(), Failing(), None, Failing())
    recognizer = StreamingRecognizer(FakeDecoder(), second_pass=second)
    try:
        session = recognizer.open_session()
        session.feed(speech(0.6))
        assert session.finish().result(TIMEOUT).text == "<四>"
    finally:
        recognizer.close()


def test_a_long_utterance_is_decoded_in_segments_that_lose_nothing() -> None:
    decoder = FakeSegmentDecoder()
    second = SecondPass(decoder, None, FakeSegmenter(), max_segment_s=3.0)
    recognizer = StreamingRecognizer(FakeDecoder(), second_pass=second)
    # 2.4 s of speech, 0.6 s pause, repeated: cuts fall into the pauses
    period = np.concatenate((speech(2.4), np.zeros(int(0.6 * SAMPLE_RATE), np.int16)))
    audio = np.tile(period, 10)  # 30 s
    try:
        session = recognizer.open_session()
        for start in range(0, len(audio), 1600):
            session.feed(audio[start : start + 1600])
        final = session.finish().result(TIMEOUT)
        lengths = [n for n, _ in decoder.calls]
        assert sum(lengths) == len(audio)  # every sample decoded once
        assert len(lengths) >= 10 and max(lengths) <= 3 * SAMPLE_RATE
        # the joined text is the segments' own decodes, each decoded alone
        alone = FakeSegmentDecoder()
        expected = "".join(
            t.text
            for a, b in second.cuts(audio)
            for t in alone.decode_segment(audio[a:b].astype(np.float32) / 32768.0, ())
        )
        assert final.text == expected
        # every cut lies in a pause: no word is split between two segments
        assert all(audio[b] == 0 for _, b in second.cuts(audio)[:-1])
    finally:
        recognizer.close()


def test_the_next_utterance_waits_for_the_previous_final() -> None:
    """A session's futures complete in call order, the second pass included."""
    second = SecondPass(FakeSegmentDecoder(delay_s=0.2), None, None)
    recognizer = StreamingRecognizer(FakeDecoder(), second_pass=second)
    done: list[str] = []
    try:
        session = recognizer.open_session()
        session.feed(speech(0.6))
        final = session.finish()
        final.add_done_callback(lambda f: done.append("final"))
        partial = session.feed(speech(0.6))
        partial.add_done_callback(lambda f: done.append("partial"))
        partial.result(TIMEOUT)
        assert done == ["final", "partial"]
    finally:
        recognizer.close()


def test_reset_and_close_during_the_second_pass() -> None:
    gate = threading.Event()

    class Gated(FakeSegmentDecoder):
        def decode_segment(self, samples, hotwords):  # type: ignore[no-untyped-def]
            gate.wait(TIMEOUT)
            return super().decode_segment(samples, hotwords)

    second = SecondPass(Gated(), None, None, max_segment_s=1.0)
    recognizer = StreamingRecognizer(FakeDecoder(), second_pass=second)
    try:
        one, two = recognizer.open_session(), recognizer.open_session()
        one.feed(speech(3.0))
        two.feed(speech(3.0))
        first, second_final = one.finish(), two.finish()
        time.sleep(0.2)  # both in their second pass, the worker held by the gate
        one.reset()  # after finish: discards nothing (the utterance is done)
        two.close()
        gate.set()
        assert first.result(TIMEOUT).refined
        with pytest.raises(EngineClosedError):
            second_final.result(TIMEOUT)
        assert recognizer.tracked_sessions == 0
    finally:
        recognizer.close()


def test_others_wait_at_most_one_pass() -> None:
    """While a 60 s utterance is refined, another user's chunks are decoded between the
    passes: at most PASS_BUDGET_S of offline audio (plus one segment) between two of them."""
    events: list[tuple[str, int]] = []
    lock = threading.Lock()

    class Logged(FakeDecoder):
        def decode(self, state, samples, is_final):  # type: ignore[no-untyped-def]
            with lock:
                events.append(("chunk", len(samples)))
            return super().decode(state, samples, is_final)

    class LoggedOffline(FakeSegmentDecoder):
        def decode_segment(self, samples, hotwords):  # type: ignore[no-untyped-def]
            with lock:
                events.append(("segment", len(samples)))
            time.sleep(0.02)
            return super().decode_segment(samples, hotwords)

    second = SecondPass(LoggedOffline(), None, None, max_segment_s=5.0)
    recognizer = StreamingRecognizer(Logged(), second_pass=second, batching=False)
    try:
        long_talker, other = recognizer.open_session(), recognizer.open_session()
        long_talker.feed(speech(60.0)).result(TIMEOUT)
        final = long_talker.finish()
        partials = []
        while not final.done():
            partials.append(other.feed(speech(0.6)))
            time.sleep(0.01)
        final.result(TIMEOUT)
        for p in partials:
            p.result(TIMEOUT)
        with lock:
            log = list(events)
        start = next(i for i, (kind, _) in enumerate(log) if kind == "segment")
        run = 0
        worst = 0
        for kind, n in log[start:]:
            if kind == "segment":
                run += n
                worst = max(worst, run)
            else:
                run = 0
        assert worst <= PASS_BUDGET_S * SAMPLE_RATE + 5 * SAMPLE_RATE
        assert sum(n for kind, n in log if kind == "segment") == 60 * SAMPLE_RATE
    finally:
        recognizer.close()


# --- plan_cuts --------------------------------------------------------------------------


@st.composite
def audio_and_speech(draw: st.DrawFn) -> tuple[np.ndarray, list[tuple[int, int]], int]:
    n = draw(st.integers(0, 200_000))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    samples = (rng.standard_normal(n) * 1000).astype(np.int16)
    points = sorted(set(draw(st.lists(st.integers(0, max(n, 1)), max_size=20))))
    spans = [(a, b) for a, b in zip(points[::2], points[1::2]) if b > a]
    max_segment = draw(st.integers(SAMPLE_RATE // 5, 80_000))
    return samples, spans, max_segment


@settings(max_examples=150, deadline=None)
@given(audio_and_speech())
def test_cuts_cover_the_audio_end_to_end(case: tuple[np.ndarray, list, int]) -> None:
    samples, spans, max_segment = case
    cuts = plan_cuts(samples, spans, max_segment)
    if len(samples) == 0:
        assert cuts == []
        return
    assert cuts[0][0] == 0 and cuts[-1][1] == len(samples)
    assert all(a < b for a, b in cuts)
    assert all(b == c for (_, b), (c, _) in zip(cuts, cuts[1:]))  # contiguous
    assert all(b - a <= max_segment for a, b in cuts)


def test_cuts_fall_in_pauses_and_short_audio_is_whole() -> None:
    samples = np.zeros(10 * SAMPLE_RATE, np.int16)
    spans = [(0, 3 * SAMPLE_RATE), (4 * SAMPLE_RATE, 7 * SAMPLE_RATE), (8 * SAMPLE_RATE, 10 * SAMPLE_RATE)]
    cuts = plan_cuts(samples, spans, 6 * SAMPLE_RATE)
    assert cuts == [(0, int(3.5 * SAMPLE_RATE)), (int(3.5 * SAMPLE_RATE), int(7.5 * SAMPLE_RATE)),
                    (int(7.5 * SAMPLE_RATE), 10 * SAMPLE_RATE)]
    assert plan_cuts(samples, spans, 10 * SAMPLE_RATE) == [(0, 10 * SAMPLE_RATE)]


def test_options_fall_back_to_the_defaults() -> None:
    second = SecondPass(FakeSegmentDecoder(), defaults=Refinement(punctuate=False, hotwords=("a",)))
    got = second.options(Refinement(hotwords=("b",)))
    assert got == Refinement(refine=True, punctuate=False, itn=True, hotwords=("b",))
    assert second.options(None).hotwords == ("a",)


def test_itn_off_for_one_utterance() -> None:
    recognizer = StreamingRecognizer(
        FakeDecoder(), second_pass=SecondPass(None, None, None, Upper())
    )
    try:
        session = recognizer.open_session()
        session.feed(tone(0.05, 0.6))
        assert session.finish(Refinement(itn=False)).result(TIMEOUT).text == "零"
        session.feed(tone(0.05, 0.6))
        assert session.finish().result(TIMEOUT).text == "«零»"
    finally:
        recognizer.close()
