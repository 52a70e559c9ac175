"""Dictation without widgets: fake recognizer, fake microphone, recorded events; the final
results through the real fan-out and history writer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from tingxie.desktop.audio import FakeAudioSource
from tingxie.desktop.dictation import (
    AudioStatus,
    Dictation,
    DictationConfig,
    DictationState,
    Problem,
    ProblemKind,
)
from tingxie.desktop.history import FinalUtterance, History
from tingxie.desktop.microphone import MicrophoneConfig, MicrophoneSupervisor
from tingxie.desktop.sinks import FanOut, HistorySink, RecordingSink
from tingxie.engine.fake import fake_recognizer, tone
from tingxie.engine.handle import EngineHandle
from tingxie.engine.interface import ModelInfo, Result

from .gated_history import GatedHistory


class Recorder:
    """``DictationEvents``, ``MicrophoneEvents`` and the transcript's ``ResultSink``."""

    name = "recorder"

    def __init__(self) -> None:
        self.states: list[DictationState] = []
        self.partials: list[str] = []
        self.finals: list[FinalUtterance] = []
        self.problems: list[Problem] = []
        self.audio: list[AudioStatus] = []
        self.final_arrived = threading.Event()
        self._changed = threading.Condition()

    def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate()`` holds after some event (False on timeout)."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def state_changed(self, state: DictationState) -> None:
        self.states.append(state)
        self._notify()

    def partial(self, text: str) -> None:
        self.partials.append(text)

    def deliver(self, utterance: FinalUtterance) -> None:
        self.finals.append(utterance)
        self.final_arrived.set()
        self._notify()

    def close(self) -> None:
        pass

    def problem(self, problem: Problem) -> None:
        self.problems.append(problem)
        self._notify()

    def level(self, value: float) -> None:
        pass

    def audio_changed(self, status: AudioStatus) -> None:
        self.audio.append(status)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_dictation(
    handle: EngineHandle,
    audio: FakeAudioSource,
    events: Recorder,
    history: History | None = None,
    *,
    microphone: MicrophoneConfig = MicrophoneConfig(),
    config: DictationConfig = DictationConfig(),
    clock: Callable[[], float] | None = None,
) -> Dictation:
    """Wired as ``tingxie.desktop.app.build`` wires it: history first, then the "transcript"."""
    clocked: dict[str, Any] = {} if clock is None else {"clock": clock}
    mic = MicrophoneSupervisor(audio, events, config=microphone, **clocked)
    sinks = [events] if history is None else [HistorySink(history, events.problem), events]
    return Dictation(handle, mic, events, FanOut(sinks, events.problem), config=config, **clocked)


def written(dictation: Dictation) -> None:
    """Wait until the history writer has written what it was given."""
    fan_out = dictation._sink
    assert isinstance(fan_out, FanOut)
    for sink in fan_out.sinks:
        if isinstance(sink, HistorySink):
            assert sink.drain(5)


@pytest.fixture
def parts(tmp_path: Path) -> Any:
    recognizer = fake_recognizer()
    handle = EngineHandle.ready(recognizer)
    audio = FakeAudioSource()
    events = Recorder()
    clock = FakeClock()
    history = History(tmp_path / "history.jsonl")
    dictation = make_dictation(
        handle, audio, events, history,
        microphone=MicrophoneConfig(stall_s=2.0, retry_s=1.0), clock=clock,
    )
    yield dictation, audio, events, clock, history
    dictation.close()
    recognizer.close()


def test_press_feed_release_gives_a_final_with_duration_and_latency(parts: Any) -> None:
    dictation, audio, events, clock, history = parts
    assert dictation.microphone.start()
    assert dictation.press()
    audio.push(tone(0.2, 1.2))
    clock.now += 1.2
    dictation.release()
    assert events.final_arrived.wait(5)
    (final,) = events.finals
    assert final.text == "四四"
    assert final.duration == pytest.approx(1.2)
    assert final.audio == pytest.approx(1.2)
    written(dictation)
    assert history.read() == [final]
    assert events.states == [DictationState.LISTENING, DictationState.FINISHING, DictationState.IDLE]
    assert "四" in events.partials


def test_preroll_before_the_press_is_part_of_the_utterance(parts: Any) -> None:
    dictation, audio, events, _clock, _history = parts
    dictation.microphone.start()
    audio.push(tone(0.48, 2.0))  # speech started just before the key went down
    dictation.press()
    audio.push(tone(0.48, 0.2))
    dictation.release()
    assert events.final_arrived.wait(5)
    assert events.finals[0].audio == pytest.approx(0.6)  # 400 ms pre-roll + 200 ms held
    assert events.finals[0].text == "九"


def test_microphone_lost_mid_utterance_still_gives_the_final_then_recovers(parts: Any) -> None:
    dictation, audio, events, clock, _history = parts
    dictation.microphone.start()
    dictation.press()
    audio.push(tone(0.2, 0.7))
    audio.unplug()
    assert events.final_arrived.wait(5)
    assert events.finals[0].text == "四四"  # a chunk and the 100 ms tail
    assert events.problems[0].kind is ProblemKind.MICROPHONE_FAILED
    assert not dictation.microphone.status.ok
    dictation.tick()  # retry too soon: nothing
    assert not audio.running
    audio.plug()
    clock.now += 1.5
    dictation.tick()
    assert dictation.microphone.status.ok and audio.running


def test_no_microphone_is_reported_once_and_press_fails_cleanly(parts: Any) -> None:
    dictation, audio, events, clock, _history = parts
    audio.device_names = []
    assert not dictation.microphone.start()
    clock.now += 5
    dictation.tick()  # a retry failing the same way stays quiet
    assert [p.kind for p in events.problems] == [ProblemKind.NO_MICROPHONE]
    assert not dictation.press()
    assert dictation.state is DictationState.IDLE


def test_a_silent_stream_counts_as_lost(parts: Any) -> None:
    dictation, _audio, events, clock, _history = parts
    dictation.microphone.start()
    clock.now += 2.5
    dictation.tick()
    assert not dictation.microphone.status.ok
    assert events.problems[-1].kind is ProblemKind.MICROPHONE_FAILED


def test_idle_release_closes_the_microphone_and_press_reopens_it(tmp_path: Path) -> None:
    recognizer = fake_recognizer()
    audio, events, clock = FakeAudioSource(), Recorder(), FakeClock()
    d = make_dictation(
        EngineHandle.ready(recognizer), audio, events,
        microphone=MicrophoneConfig(idle_release_s=10, stall_s=None), clock=clock,
    )
    d.microphone.start()
    clock.now += 11
    d.tick()
    assert not audio.running and d.microphone.status.ok and not d.microphone.status.open
    assert d.press() and audio.running
    d.close()
    recognizer.close()


def test_model_not_ready(tmp_path: Path) -> None:
    gate = threading.Event()
    handle = EngineHandle("slow", lambda progress: (gate.wait(5), fake_recognizer())[1])
    events = Recorder()
    d = make_dictation(handle, FakeAudioSource(), events, microphone=MicrophoneConfig(stall_s=None))
    assert not d.press()
    assert events.problems[0].kind is ProblemKind.MODEL_NOT_READY
    d.close()


def test_recognition_failure_is_reported_and_the_next_utterance_works(parts: Any) -> None:
    dictation, audio, events, clock, _history = parts
    broken = fake_recognizer(fail_on="四")
    dictation._handle = EngineHandle.ready(broken)  # the model was swapped for a failing one
    dictation.microphone.start()
    dictation.press()
    audio.push(tone(0.2, 0.7))
    dictation.release()
    assert events.wait(lambda: bool(events.problems))
    assert events.problems[0].kind is ProblemKind.RECOGNITION_FAILED
    clock.now += 31  # the final may never come after a decoder failure: given up by tick
    dictation.tick()
    assert events.wait(lambda: events.states[-1] is DictationState.IDLE)
    assert not events.finals
    dictation.press()
    audio.push(tone(0.1, 0.7))
    dictation.release()
    assert events.final_arrived.wait(5)
    assert events.finals[-1].text == "二二"
    broken.close()


def test_close_mid_utterance_writes_the_final(tmp_path: Path) -> None:
    recognizer = fake_recognizer(delay_s=0.05)
    audio, events = FakeAudioSource(), Recorder()
    history = History(tmp_path / "h.jsonl")
    d = make_dictation(EngineHandle.ready(recognizer), audio, events, history,
                       microphone=MicrophoneConfig(stall_s=None))
    d.microphone.start()
    d.press()
    audio.push(tone(0.3, 1.3))
    d.close()  # still held
    assert [u.text for u in history.read()] == ["六六六"]
    assert not audio.running
    recognizer.close()


class StuckSession:
    """A session whose finals never arrive (an engine that lost them)."""

    audio_ms = 0.0

    def feed(self, pcm: Any) -> Future[Result]:
        f: Future[Result] = Future()
        f.set_result(Result("", False, 0.0, 0.0, 0.0))
        return f

    def finish(self, options: Any = None) -> Future[Result]:
        return Future()

    def reset(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class StuckRecognizer:
    info = ModelInfo("stuck", "fake", "", True)

    def __init__(self) -> None:
        self.sessions: list[StuckSession] = []

    def open_session(self) -> StuckSession:
        self.sessions.append(StuckSession())
        return self.sessions[-1]

    def close(self) -> None:
        pass


def test_a_final_that_never_comes_is_given_up_and_the_next_press_gets_a_new_session() -> None:
    recognizer = StuckRecognizer()
    audio, events, clock = FakeAudioSource(), Recorder(), FakeClock()
    d = make_dictation(EngineHandle.ready(recognizer), audio, events,  # type: ignore[arg-type]
                       microphone=MicrophoneConfig(stall_s=None),
                       config=DictationConfig(final_timeout_s=5), clock=clock)
    d.microphone.start()
    d.press()
    audio.push(tone(0.2, 0.3))
    d.release()
    clock.now += 4
    d.tick()
    assert d.state is DictationState.FINISHING and not events.problems
    clock.now += 2
    d.tick()
    assert d.state is DictationState.IDLE
    assert events.problems[-1].kind is ProblemKind.RECOGNITION_FAILED
    assert "no result" in events.problems[-1].detail
    assert d.press()
    assert len(recognizer.sessions) == 2 and recognizer.sessions[0].closed
    d.close()


def test_the_final_callback_does_no_disk_io_on_the_inference_thread(tmp_path: Path) -> None:
    recognizer = fake_recognizer()
    audio, events = FakeAudioSource(), Recorder()
    history = GatedHistory(tmp_path / "history.jsonl")
    d = make_dictation(EngineHandle.ready(recognizer), audio, events, history,
                       microphone=MicrophoneConfig(stall_s=None))
    d.microphone.start()
    d.press()
    audio.push(tone(0.2, 0.7))
    d.release()
    assert events.final_arrived.wait(5)  # shown although its line is not written yet
    assert history.entered.wait(5) and not history.path.exists()
    # The engine's worker is free: another user of the engine (a server client) and the
    # next utterance both get their results while the history's disk hangs.
    neighbour = recognizer.open_session()
    assert neighbour.feed(tone(0.3, 0.6)).result(timeout=5).text == "六"
    assert neighbour.finish().result(timeout=5).text == "六"
    d.press()
    audio.push(tone(0.1, 0.7))
    d.release()
    assert events.wait(lambda: len(events.finals) == 2)
    assert [u.text for u in events.finals] == ["四四", "二二"]
    assert not history.path.exists()
    history.gate.set()
    d.close()  # drains the history's queue
    assert [u.text for u in history.read()] == ["四四", "二二"]
    assert set(history.threads) == {"tingxie-history"}
    neighbour.close()
    recognizer.close()


def test_a_bare_sink_that_raises_is_a_problem_and_the_dictation_goes_back_to_idle() -> None:
    recognizer = fake_recognizer()
    audio, events = FakeAudioSource(), Recorder()
    mic = MicrophoneSupervisor(audio, events, config=MicrophoneConfig(stall_s=None))
    broken = RecordingSink("typing", fail=RuntimeError("no focused window"))
    d = Dictation(EngineHandle.ready(recognizer), mic, events, broken)
    mic.start()
    d.press()
    audio.push(tone(0.2, 0.7))
    d.release()
    assert events.wait(lambda: DictationState.IDLE in events.states)
    assert broken.threads == ["tingxie-inference"]
    assert [p.kind for p in events.problems] == [ProblemKind.DELIVERY_FAILED]
    assert "typing: no focused window" in events.problems[0].detail
    broken.fail = None  # the next utterance works
    d.press()
    audio.push(tone(0.1, 0.7))
    d.release()
    assert broken.arrived.wait(5)
    assert [u.text for u in broken.delivered] == ["二二"]
    d.close()
    assert broken.closed
    recognizer.close()


def test_the_press_context_travels_with_its_final_and_is_not_written(tmp_path: Path) -> None:
    recognizer = fake_recognizer()
    audio, events, history = FakeAudioSource(), Recorder(), History(tmp_path / "h.jsonl")
    mic = MicrophoneSupervisor(audio, events)
    focus = iter(["editor window", "terminal window"])
    d = Dictation(EngineHandle.ready(recognizer), mic, events,
                  FanOut([HistorySink(history, events.problem), events], events.problem),
                  context=lambda: next(focus))
    mic.start()
    for level in (0.2, 0.48):
        d.press()
        audio.push(tone(level, 0.3))
        d.release()
        assert events.wait(lambda: len(events.finals) == (1 if level == 0.2 else 2))
    assert [f.context for f in events.finals] == ["editor window", "terminal window"]
    d.close()
    assert "window" not in (tmp_path / "h.jsonl").read_text(encoding="utf-8")
    assert [u.text for u in history.read()] == [f.text for f in events.finals]
    recognizer.close()


def test_a_hold_longer_than_the_maximum_is_cut_without_losing_or_repeating_audio() -> None:
    recognizer = fake_recognizer()
    audio, events, clock = FakeAudioSource(), Recorder(), FakeClock()
    mic = MicrophoneSupervisor(audio, events, config=MicrophoneConfig(stall_s=None), clock=clock)
    d = Dictation(EngineHandle.ready(recognizer), mic, events, events,
                  config=DictationConfig(max_utterance_s=1.0), clock=clock,
                  context=lambda: "the window")
    mic.start()
    d.press()
    audio.push(tone(0.2, 0.6))
    clock.now += 0.6
    d.tick()
    assert d.state is DictationState.LISTENING and not events.finals
    clock.now += 0.5
    d.tick()  # 1.1 s held: the first part is finished, the hold goes on
    assert d.listening
    audio.push(tone(0.48, 0.4))
    clock.now += 0.4
    d.release()
    assert events.wait(lambda: len(events.finals) == 2)
    first, second = events.finals
    assert (first.text, second.text) == ("四", "九")
    assert (first.audio, second.audio) == (pytest.approx(0.6), pytest.approx(0.4))
    assert first.duration == pytest.approx(1.1) and second.duration == pytest.approx(0.4)
    assert first.context == second.context == "the window"
    assert events.wait(lambda: d.state is DictationState.IDLE)
    d.close()
    recognizer.close()


def test_a_release_for_an_earlier_utterance_does_not_end_the_current_one(parts: Any) -> None:
    dictation, audio, events, clock, _history = parts
    dictation.microphone.start()
    dictation.press()
    audio.push(tone(0.2, 0.3))
    dictation.release(1)
    assert events.final_arrived.wait(5)
    dictation.press()  # utterance 2
    dictation.release(1)  # a late stop meant for utterance 1
    assert dictation.listening
    dictation.release(2)
    assert not dictation.listening


def test_the_final_is_the_second_pass_with_the_users_hotwords_at_release(tmp_path: Path) -> None:
    from tingxie.engine.fake import FakeDecoder, FakeSegmentDecoder
    from tingxie.engine.second_pass import Refinement, SecondPass
    from tingxie.engine.streaming import StreamingRecognizer

    offline = FakeSegmentDecoder()
    recognizer = StreamingRecognizer(FakeDecoder(), second_pass=SecondPass(offline))
    hotwords = ["听写"]
    audio, events, clock = FakeAudioSource(), Recorder(), FakeClock()
    mic = MicrophoneSupervisor(audio, events, clock=clock)
    dictation = Dictation(
        EngineHandle.ready(recognizer), mic, events, events, clock=clock,
        refinement=lambda: Refinement(hotwords=tuple(hotwords)),
    )
    try:
        assert dictation.microphone.start()
        assert dictation.press()
        audio.push(tone(0.2, 1.2))
        hotwords[:] = ["北京"]  # edited while speaking: the release's list counts
        dictation.release()
        assert events.final_arrived.wait(5)
        (final,) = events.finals
        assert final.text == "<四><四>[北京]"  # refined by the offline model, not the draft 四四
        assert offline.calls == [(len(tone(0.2, 1.2)), ("北京",))]
    finally:
        dictation.close()
        recognizer.close()
