"""The microphone supervisor on the fake audio source and a hand-driven clock."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tingxie.desktop.audio import FakeAudioSource
from tingxie.desktop.events import AudioStatus, Problem, ProblemKind
from tingxie.desktop.microphone import MicrophoneConfig, MicrophoneSupervisor
from tingxie.engine.fake import tone


class Events:
    def __init__(self) -> None:
        self.levels: list[float] = []
        self.statuses: list[AudioStatus] = []
        self.problems: list[Problem] = []

    def level(self, value: float) -> None:
        self.levels.append(value)

    def audio_changed(self, status: AudioStatus) -> None:
        self.statuses.append(status)

    def problem(self, problem: Problem) -> None:
        self.problems.append(problem)


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def mic() -> Any:
    audio, events, clock = FakeAudioSource(), Events(), Clock()
    supervisor = MicrophoneSupervisor(
        audio, events, config=MicrophoneConfig(stall_s=2.0, retry_s=1.0), clock=clock
    )
    yield supervisor, audio, events, clock
    supervisor.close()


def test_blocks_fill_the_pre_roll_until_someone_listens_then_go_to_the_listener(mic: Any) -> None:
    supervisor, audio, events, _clock = mic
    assert supervisor.start()
    audio.push(tone(0.1, 1.0))  # 1 s before the press: only the last 0.4 s is kept
    got: list[int] = []
    preroll = supervisor.listen(lambda b: got.append(len(b)) or True, lambda: None)
    assert len(preroll) == 6400
    audio.push(tone(0.1, 0.3))
    assert sum(got) == 4800
    supervisor.unlisten()
    audio.push(tone(0.1, 0.2))
    assert sum(got) == 4800
    assert len(supervisor.listen(lambda b: True, lambda: None)) == 3200
    assert len(events.levels) == 15 and events.levels[0] > 0


def test_a_block_the_listener_refuses_goes_to_the_pre_roll(mic: Any) -> None:
    supervisor, audio, _events, _clock = mic
    supervisor.start()
    supervisor.listen(lambda b: False, lambda: None)  # released just as the block came
    audio.push(tone(0.1, 0.1))
    assert len(supervisor.listen(lambda b: True, lambda: None)) == 1600


def test_a_failed_microphone_is_retried_and_reported_once(mic: Any) -> None:
    supervisor, audio, events, clock = mic
    audio.fail_start = "device busy"
    assert not supervisor.start()
    assert not supervisor.status.ok and supervisor.status.detail == "device busy"
    clock.now += 0.5
    supervisor.tick()  # too soon
    assert audio.opened == []
    clock.now += 0.6
    supervisor.tick()  # retried, fails alike: quiet
    assert [p.kind for p in events.problems] == [ProblemKind.MICROPHONE_FAILED]
    audio.fail_start = None
    clock.now += 1.1
    supervisor.tick()
    assert supervisor.status == AudioStatus(True, "", True) and audio.running


def test_a_lost_device_ends_the_listener_then_comes_back(mic: Any) -> None:
    supervisor, audio, events, clock = mic
    supervisor.start()
    ended: list[bool] = []
    supervisor.listen(lambda b: True, lambda: ended.append(True))
    audio.unplug("the USB microphone was unplugged")
    assert ended == [True]
    assert events.problems[-1] == Problem(
        ProblemKind.MICROPHONE_FAILED, "the USB microphone was unplugged"
    )
    assert events.levels[-1] == 0.0 and not supervisor.status.ok
    audio.plug()
    clock.now += 1.5
    supervisor.tick()
    assert supervisor.status.ok and audio.running


def test_a_silent_stream_counts_as_lost(mic: Any) -> None:
    supervisor, audio, events, clock = mic
    supervisor.start()
    ended: list[bool] = []
    supervisor.listen(lambda b: True, lambda: ended.append(True))
    clock.now += 1.0
    audio.push(np.zeros(1600, dtype=np.int16))  # blocks arriving, even silent: alive
    clock.now += 1.5
    supervisor.tick()
    assert supervisor.status.ok and not ended
    clock.now += 2.1
    supervisor.tick()
    assert not supervisor.status.ok and not audio.running and ended == [True]
    assert "no sound arrives" in events.problems[-1].detail


def test_idle_release_closes_the_stream_and_ensure_open_reopens_it() -> None:
    audio, events, clock = FakeAudioSource(), Events(), Clock()
    supervisor = MicrophoneSupervisor(
        audio, events, config=MicrophoneConfig(idle_release_s=10, stall_s=None), clock=clock
    )
    supervisor.start()
    audio.push(tone(0.1, 0.4))
    clock.now += 9
    supervisor.note_activity()  # a press (even one that failed) counts as activity
    clock.now += 9
    supervisor.tick()
    assert audio.running
    supervisor.listen(lambda b: True, lambda: None)
    clock.now += 30
    supervisor.tick()
    assert audio.running  # never under a listener
    supervisor.unlisten()
    clock.now += 11
    supervisor.tick()
    assert not audio.running
    assert supervisor.status == AudioStatus(True, "", False)  # released, not failed
    assert not events.problems
    assert len(supervisor.listen(lambda b: True, lambda: None)) == 0  # pre-roll dropped
    supervisor.unlisten()
    assert supervisor.ensure_open() and audio.running and supervisor.status.open
    supervisor.close()


def test_switching_device_ends_the_listener_and_reopens(mic: Any) -> None:
    supervisor, audio, _events, _clock = mic
    audio.device_names = ["Built-in", "USB headset"]
    supervisor.start()
    ended: list[bool] = []
    supervisor.listen(lambda b: True, lambda: ended.append(True))
    supervisor.set_device("USB headset")
    assert ended == [True]
    assert audio.opened == ["Built-in", "USB headset"]
    assert supervisor.status.device == "USB headset"


def test_close_stops_for_good(mic: Any) -> None:
    supervisor, audio, _events, clock = mic
    supervisor.start()
    supervisor.close()
    assert not audio.running
    clock.now += 100
    supervisor.tick()
    supervisor.set_device("other")
    assert not audio.running
