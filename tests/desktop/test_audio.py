from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tingxie.desktop.audio import (
    AudioError,
    FakeAudioSource,
    NoMicrophoneError,
    PreRoll,
    SoundDeviceSource,
    level_of,
)
from tingxie.engine.fake import tone


def test_preroll_keeps_only_the_last_seconds() -> None:
    p = PreRoll(0.4)
    for i in range(10):
        p.push(np.full(1600, i, dtype=np.int16))  # 100 ms blocks
    audio = p.take()
    assert len(audio) == 6400
    assert audio[0] == 6 and audio[-1] == 9  # the newest 400 ms, oldest first
    assert len(p.take()) == 0


def test_level_meter_scale() -> None:
    assert level_of(np.zeros(1600, dtype=np.int16)) == 0.0
    assert level_of(tone(0.5, 0.1)) == pytest.approx(0.9, abs=0.01)  # -6 dBFS
    assert 0.3 < level_of(tone(0.05, 0.1)) < 0.9


class FakeStream:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.started = self.closed = False

    def start(self) -> None:
        self.started = True

    def abort(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def deliver(self, samples: np.ndarray) -> None:
        self.kwargs["callback"](samples.reshape(-1, 1), len(samples), None, None)

    def die(self) -> None:
        self.kwargs["finished_callback"]()


class FakeSoundDevice:
    """Just enough of the sounddevice module."""

    def __init__(self, devices: list[dict[str, Any]], accepts_16k: bool = True) -> None:
        self.devices = devices
        self.accepts_16k = accepts_16k
        self.default = SimpleNamespace(device=(0, 0))
        self.streams: list[FakeStream] = []

    def _terminate(self) -> None:
        pass

    def _initialize(self) -> None:
        pass

    def query_devices(self) -> list[dict[str, Any]]:
        return self.devices

    def check_input_settings(self, device: int, **kwargs: Any) -> None:
        if not self.accepts_16k and kwargs.get("samplerate") == 16000:
            raise ValueError("Invalid sample rate")

    def InputStream(self, **kwargs: Any) -> FakeStream:
        stream = FakeStream(**kwargs)
        self.streams.append(stream)
        return stream


MIC = {"name": "USB mic", "max_input_channels": 1, "default_samplerate": 48000.0}
SPEAKER = {"name": "Speakers", "max_input_channels": 0, "default_samplerate": 48000.0}


def test_sounddevice_source_lists_inputs_and_opens_16k_mono_int16() -> None:
    sd = FakeSoundDevice([MIC, SPEAKER])
    src = SoundDeviceSource(sd)
    assert [d.name for d in src.devices()] == ["USB mic"]
    blocks: list[np.ndarray] = []
    src.start("USB mic", blocks.append, lambda e: None)
    kw = sd.streams[0].kwargs
    assert (kw["samplerate"], kw["channels"], kw["dtype"]) == (16000, 1, "int16")
    sd.streams[0].deliver(tone(0.1, 0.1))
    assert blocks[0].dtype == np.int16 and len(blocks[0]) == 1600
    src.stop()
    assert sd.streams[0].closed and not src.running


def test_sounddevice_source_resamples_when_16k_is_refused() -> None:
    sd = FakeSoundDevice([MIC], accepts_16k=False)
    src = SoundDeviceSource(sd)
    blocks: list[np.ndarray] = []
    src.start(None, blocks.append, lambda e: None)
    assert sd.streams[0].kwargs["samplerate"] == 48000
    sd.streams[0].deliver(tone(0.1, 0.1, rate=48000))
    assert len(blocks[0]) == 1600
    assert level_of(blocks[0]) == pytest.approx(level_of(tone(0.1, 0.1)), abs=0.02)


def test_sounddevice_source_without_microphone_and_with_a_dying_stream() -> None:
    with pytest.raises(NoMicrophoneError):
        SoundDeviceSource(FakeSoundDevice([SPEAKER])).start(None, print, print)
    sd = FakeSoundDevice([MIC])
    src = SoundDeviceSource(sd)
    errors: list[AudioError] = []
    src.start(None, lambda b: None, errors.append)
    sd.streams[0].die()
    assert len(errors) == 1 and "USB mic" in str(errors[0])
    assert not src.running


def test_fake_source_unplug_and_plug() -> None:
    src = FakeAudioSource()
    errors: list[AudioError] = []
    got: list[int] = []
    src.start(None, lambda b: got.append(len(b)), errors.append)
    src.push(tone(0.1, 0.25))
    assert got == [1600, 1600, 800]
    src.unplug()
    assert errors and src.devices() == []
    with pytest.raises(NoMicrophoneError):
        src.start(None, print, print)
    src.plug()
    src.start("Fake microphone", print, print)
    assert src.running
