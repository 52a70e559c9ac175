"""Sound cues: the tones themselves, the WAV encoding, playing off the GUI thread, a
failing player logged once and ignored, and the cues following the dictation state."""

from __future__ import annotations

import io
import logging
import sys
import threading
import types
import wave
from typing import Any

import numpy as np
import pytest

from tingxie.desktop.cues import (
    RATE,
    START_TONE,
    STOP_TONE,
    Cues,
    SoundDevicePlayer,
    tone,
    wav_bytes,
)
from tingxie.desktop.dictation import DictationState

LISTENING, FINISHING, IDLE = DictationState.LISTENING, DictationState.FINISHING, DictationState.IDLE


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1.0 / rate)[int(np.argmax(spectrum))])


def test_tone_is_short_16_bit_faded_and_glides_the_right_way() -> None:
    rising = tone(*START_TONE, ms=80, rate=RATE)
    falling = tone(*STOP_TONE, ms=80, rate=RATE)
    assert rising.dtype == np.int16 and len(rising) == int(RATE * 0.08)
    # Faded at both ends (no click), and loud in the middle but within the volume.
    assert abs(int(rising[0])) < 50 and abs(int(rising[-1])) < 50
    assert 0.2 * 32767 < np.abs(rising).max() <= 0.25 * 32767 + 1
    half = len(rising) // 2
    assert dominant_hz(rising[:half], RATE) < dominant_hz(rising[half:], RATE)
    assert dominant_hz(falling[:half], RATE) > dominant_hz(falling[half:], RATE)
    assert 800 < dominant_hz(tone(880, 880, ms=200), RATE) < 960


def test_wav_bytes_is_a_16_bit_mono_wav_of_the_samples() -> None:
    samples = tone(660, 440, ms=50, rate=16000)
    with wave.open(io.BytesIO(wav_bytes(samples, 16000))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert np.array_equal(frames, samples)


class RecordingPlayer:
    def __init__(self, fail: bool = False, gate: threading.Event | None = None) -> None:
        self.played: list[tuple[np.ndarray, int]] = []
        self.threads: list[str] = []
        self.fail = fail
        self.gate = gate

    def play(self, samples: np.ndarray, rate: int) -> None:
        self.threads.append(threading.current_thread().name)
        if self.gate is not None:
            assert self.gate.wait(5)
        if self.fail:
            raise OSError("no default output device")
        self.played.append((samples, rate))


def settle(cues: Cues) -> None:
    assert cues.idle.wait(5), "the cue thread never finished"


def test_start_and_stop_follow_the_dictation_state() -> None:
    player = RecordingPlayer()
    cues = Cues(player)
    for state in (LISTENING, LISTENING, FINISHING, IDLE, LISTENING, IDLE):
        cues.state_changed(state)
    settle(cues)
    kinds = ["start" if s is cues.start_samples else "stop" for s, _ in player.played]
    assert kinds == ["start", "stop", "start", "stop"]
    assert {rate for _, rate in player.played} == {RATE}
    assert set(player.threads) == {"tingxie-cues"}
    cues.close()


def test_disabled_cues_play_nothing_and_can_be_turned_on() -> None:
    player = RecordingPlayer()
    cues = Cues(player, enabled=False)
    cues.start()
    cues.stop()
    settle(cues)
    assert player.played == []
    cues.enabled = True
    cues.start()
    settle(cues)
    assert len(player.played) == 1
    cues.close()


def test_start_returns_while_the_player_is_still_busy() -> None:
    gate = threading.Event()
    player = RecordingPlayer(gate=gate)
    cues = Cues(player)
    cues.start()  # would hang here if played on the caller's thread
    assert not cues.idle.is_set()
    gate.set()
    settle(cues)
    assert len(player.played) == 1
    cues.close()


def test_a_failing_player_is_logged_once_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    player = RecordingPlayer(fail=True)
    cues = Cues(player)
    with caplog.at_level(logging.DEBUG, logger="tingxie.desktop.cues"):
        for _ in range(3):
            cues.start()
            cues.stop()
        settle(cues)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "no default output device" in warnings[0].getMessage()
    assert cues.failed and cues.played == 0
    assert len(player.threads) == 6  # still tried each time: a sound card may appear
    cues.close()


def test_closed_cues_play_nothing() -> None:
    player = RecordingPlayer()
    cues = Cues(player)
    cues.start()
    settle(cues)
    cues.close()
    cues.stop()
    assert len(player.played) == 1


def test_follow_connects_to_the_bridge(qtbot: Any) -> None:
    from tingxie.desktop.bridge import EngineBridge

    bridge = EngineBridge()
    player = RecordingPlayer()
    cues = Cues(player)
    cues.follow(bridge)
    bridge.state_changed(LISTENING)
    bridge.state_changed(FINISHING)
    settle(cues)
    assert [s is cues.start_samples for s, _ in player.played] == [True, False]
    cues.close()


def test_sounddevice_player_plays_without_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    fake = types.ModuleType("sounddevice")
    fake.play = lambda data, rate, **kw: calls.append((data, rate, kw))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    samples = tone(880, 880)
    SoundDevicePlayer(device=3).play(samples, RATE)
    assert calls == [(samples, RATE, {"device": 3, "blocking": False})]
