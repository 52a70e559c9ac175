"""Microphone input: the ``AudioSource`` interface, the sounddevice implementation, a fake
beside it, and the pre-roll ring buffer. No Qt here.

Every source delivers 16 kHz mono int16 blocks to ``on_block`` from its own thread and
reports a failure (device lost, stream died) once through ``on_error``.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tingxie.engine.interface import SAMPLE_RATE

log = logging.getLogger(__name__)

Block = npt.NDArray[np.int16]
BlockCallback = Callable[[Block], None]


class AudioError(Exception):
    """The microphone cannot be opened or stopped working. The message is for the user."""


class NoMicrophoneError(AudioError):
    """There is no input device at all."""


ErrorCallback = Callable[[AudioError], None]


@dataclass(frozen=True)
class InputDevice:
    """An input device as the picker shows it. ``name`` is what settings store."""

    index: int
    name: str
    default_samplerate: float
    is_default: bool = False


class AudioSource(Protocol):
    """A microphone. ``start`` opens the stream (raises ``AudioError``); blocks then flow to
    ``on_block`` until ``stop`` or a failure, which is reported once to ``on_error``."""

    def devices(self) -> list[InputDevice]:
        """Input devices available now (rescans)."""
        ...

    def start(self, device: str | None, on_block: BlockCallback, on_error: ErrorCallback) -> None:
        """Open ``device`` (a name from ``devices``; None or unknown: the default)."""
        ...

    def stop(self) -> None: ...

    @property
    def running(self) -> bool: ...


def level_of(block: Block) -> float:
    """Input level for a meter: 0.0 (-60 dBFS or quieter) to 1.0 (full scale)."""
    if len(block) == 0:
        return 0.0
    rms = float(np.sqrt(np.mean(np.square(block, dtype=np.float64)))) / 32768.0
    if rms <= 1e-3:
        return 0.0
    return float(min(1.0, max(0.0, (20 * np.log10(rms) + 60) / 60)))


class PreRoll:
    """The last ``seconds`` of audio, kept while nobody is talking and prepended at press so
    the first syllable is not clipped. Thread-safe."""

    def __init__(self, seconds: float = 0.4, rate: int = SAMPLE_RATE) -> None:
        self.capacity = int(seconds * rate)
        self._blocks: collections.deque[Block] = collections.deque()
        self._size = 0
        self._lock = threading.Lock()

    def push(self, block: Block) -> None:
        with self._lock:
            self._blocks.append(block)
            self._size += len(block)
            while self._blocks and self._size - len(self._blocks[0]) >= self.capacity:
                self._size -= len(self._blocks.popleft())

    def take(self) -> Block:
        """The buffered audio (at most ``capacity`` samples, oldest first); empties the buffer."""
        with self._lock:
            if not self._blocks:
                return np.empty(0, dtype=np.int16)
            audio = np.concatenate(list(self._blocks))[-self.capacity :]
            self._blocks.clear()
            self._size = 0
            return audio

    def clear(self) -> None:
        with self._lock:
            self._blocks.clear()
            self._size = 0


class SoundDeviceSource:
    """An ``AudioSource`` on sounddevice/PortAudio at 16 kHz mono int16.

    When the device refuses 16 kHz it is opened at its native rate and every block is
    resampled. ``sd`` is the sounddevice module (injected for tests; imported on first use).
    """

    def __init__(self, sd: Any = None, block_ms: int = 100) -> None:
        self._sd = sd
        self._block_ms = block_ms
        self._stream: Any = None
        self._stopping = False
        self._failed = False
        self._lock = threading.Lock()

    def _module(self) -> Any:
        if self._sd is None:
            try:
                import sounddevice  # type: ignore[import-untyped]
            except OSError as exc:  # no PortAudio library on this system
                raise AudioError(f"audio input is unavailable: {exc}") from exc
            self._sd = sounddevice
        return self._sd

    def devices(self) -> list[InputDevice]:
        sd = self._module()
        try:
            # PortAudio caches its device list; re-initialise so a plugged-in device shows.
            if self._stream is None:
                sd._terminate()
                sd._initialize()
        except Exception:  # a rescan is best effort; the old list is still useful
            log.debug("PortAudio rescan failed", exc_info=True)
        try:
            found = sd.query_devices()
            default_in = sd.default.device[0]
        except Exception as exc:
            raise AudioError(f"cannot list audio devices: {exc}") from exc
        return [
            InputDevice(i, d["name"], float(d["default_samplerate"]), i == default_in)
            for i, d in enumerate(found)
            if d["max_input_channels"] > 0
        ]

    @property
    def running(self) -> bool:
        return self._stream is not None and not self._failed

    def start(self, device: str | None, on_block: BlockCallback, on_error: ErrorCallback) -> None:
        sd = self._module()
        self.stop()
        inputs = self.devices()
        if not inputs:
            raise NoMicrophoneError("no microphone found")
        index: int | None = None
        for d in inputs:
            if d.name == device:
                index = d.index
        chosen = next((d for d in inputs if d.index == index), None)
        if chosen is None:
            chosen = next((d for d in inputs if d.is_default), inputs[0])
        rate = SAMPLE_RATE
        try:
            sd.check_input_settings(chosen.index, channels=1, dtype="int16", samplerate=SAMPLE_RATE)
        except Exception:  # noqa: BLE001
            rate = int(chosen.default_samplerate)
            log.info("%s refuses 16 kHz; capturing at %d Hz and resampling", chosen.name, rate)
        self._stopping = False
        self._failed = False
        reported = threading.Event()

        def fail(message: str) -> None:
            if not reported.is_set() and not self._stopping:
                reported.set()
                self._failed = True
                on_error(AudioError(message))

        def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
            block = np.asarray(indata, dtype=np.int16).reshape(-1).copy()
            if rate != SAMPLE_RATE:
                from tingxie.engine.audio import float_to_int16, int16_to_float, resample

                block = float_to_int16(resample(int16_to_float(block), rate))
            on_block(block)

        def finished() -> None:
            fail(f"the microphone stopped: {chosen.name}")

        try:
            stream = sd.InputStream(
                device=chosen.index,
                samplerate=rate,
                channels=1,
                dtype="int16",
                blocksize=int(rate * self._block_ms / 1000),
                callback=callback,
                finished_callback=finished,
            )
            stream.start()
        except Exception as exc:
            raise AudioError(f"cannot open the microphone {chosen.name!r}: {exc}") from exc
        with self._lock:
            self._stream = stream

    def stop(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is None:
            return
        self._stopping = True
        try:
            stream.abort()
            stream.close()
        except Exception:  # the device may already be gone
            log.debug("closing the input stream failed", exc_info=True)


class FakeAudioSource:
    """An ``AudioSource`` for tests: the test pushes audio and pulls the plug.

    ``push`` delivers a block to ``on_block`` on the calling thread, as a sound card's
    callback thread would. ``unplug`` reports the device lost; ``plug`` brings it back.
    """

    def __init__(self, device_names: tuple[str, ...] = ("Fake microphone",)) -> None:
        self.device_names = list(device_names)
        self.opened: list[str | None] = []
        self.fail_start: str | None = None
        self._on_block: BlockCallback | None = None
        self._on_error: ErrorCallback | None = None
        self._lock = threading.Lock()

    def devices(self) -> list[InputDevice]:
        return [InputDevice(i, n, float(SAMPLE_RATE), i == 0) for i, n in enumerate(self.device_names)]

    @property
    def running(self) -> bool:
        return self._on_block is not None

    def start(self, device: str | None, on_block: BlockCallback, on_error: ErrorCallback) -> None:
        if not self.device_names:
            raise NoMicrophoneError("no microphone found")
        if self.fail_start:
            raise AudioError(self.fail_start)
        self.opened.append(device if device in self.device_names else self.device_names[0])
        with self._lock:
            self._on_block, self._on_error = on_block, on_error

    def stop(self) -> None:
        with self._lock:
            self._on_block = self._on_error = None

    def push(self, audio: Block, block_samples: int = 1600) -> None:
        """Deliver ``audio`` in blocks of ``block_samples`` (nothing if not started)."""
        for i in range(0, len(audio), block_samples):
            with self._lock:
                on_block = self._on_block
            if on_block is None:
                return
            on_block(audio[i : i + block_samples])

    def unplug(self, message: str = "the microphone was disconnected") -> None:
        with self._lock:
            on_error = self._on_error
            self._on_block = self._on_error = None
        names, self.device_names = self.device_names, []
        self._unplugged = names
        if on_error is not None:
            on_error(AudioError(message))

    def plug(self) -> None:
        self.device_names = list(getattr(self, "_unplugged", None) or ["Fake microphone"])
