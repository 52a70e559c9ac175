"""Hands-free's monitor on its own: it stops the utterance it watched, once; never a later
one; not at all outside hands-free mode; a model that cannot load is told, not fatal."""

from __future__ import annotations

import threading

import numpy as np

from tingxie.desktop.events import Problem, ProblemKind
from tingxie.desktop.hands_free import HandsFree
from tingxie.engine.fake import tone
from tingxie.engine.vad import EndpointConfig, FakeSpeechProbability

SILENCE = np.zeros(16000, dtype=np.int16)


class Stops:
    def __init__(self) -> None:
        self.count = 0
        self.numbers: list[int] = []
        self.event = threading.Event()

    def __call__(self, number: int) -> None:
        self.count += 1
        self.numbers.append(number)
        self.event.set()


def make(enabled: bool = True, model=FakeSpeechProbability):  # type: ignore[no-untyped-def]
    stops, problems = Stops(), []
    monitor = HandsFree(stops, model, problems.append, enabled=lambda: enabled,
                        config=lambda: EndpointConfig(silence_s=0.5, start_timeout_s=2.0))
    return monitor, stops, problems


def test_speech_then_a_pause_stops_once() -> None:
    monitor, stops, _ = make()
    monitor.started(1)
    monitor.audio(1, tone(0.3, 0.5))
    monitor.audio(1, SILENCE)
    monitor.audio(1, SILENCE)
    assert stops.event.wait(5)
    monitor.close()
    assert stops.numbers == [1]


def test_an_utterance_ended_by_the_key_is_not_stopped_later_nor_the_next_one() -> None:
    monitor, stops, _ = make()
    monitor.started(1)
    monitor.audio(1, tone(0.3, 0.5))
    monitor.ended(1)  # the user pressed again
    monitor.audio(1, SILENCE)  # late blocks of the old utterance
    monitor.started(2)
    monitor.audio(2, tone(0.3, 0.2))  # the new one is still speaking
    monitor.close()
    assert stops.count == 0


def test_outside_hands_free_mode_nothing_is_watched() -> None:
    model = FakeSpeechProbability()
    monitor, stops, _ = make(enabled=False, model=lambda: model)
    monitor.started(1)
    monitor.audio(1, SILENCE)
    monitor.audio(1, SILENCE)
    monitor.audio(1, SILENCE)
    monitor.close()
    assert stops.count == 0 and model.frames == 0


def test_nothing_said_stops_at_the_start_timeout() -> None:
    monitor, stops, _ = make()
    monitor.started(1)
    for _ in range(3):
        monitor.audio(1, SILENCE)
    assert stops.event.wait(5)
    monitor.close()


def test_a_model_that_cannot_load_is_a_problem_and_keys_still_work() -> None:
    def broken() -> FakeSpeechProbability:
        raise ImportError("voice activity needs the silero-vad package")

    monitor, stops, problems = make(model=broken)
    monitor.started(1)
    monitor.audio(1, SILENCE)
    monitor.started(2)
    monitor.close()
    assert stops.count == 0
    assert problems == [Problem(ProblemKind.RECOGNITION_FAILED,
                                "hands-free needs voice activity: voice activity needs the "
                                "silero-vad package")]
