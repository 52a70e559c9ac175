"""A fake model beside the real one, for tests of code that *uses* the engine
(server, desktop). It runs the real session/worker code; only the decoder is fake.

The fake decodes each 600 ms chunk into one token derived from the chunk's loudness,
so the text is a deterministic function of the audio: louder chunk, later letter.
Silence gives no token. ``delay_s`` simulates inference time; ``fail_on`` makes
the decoder raise, to test error paths.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

from .backend import Token
from .interface import SAMPLE_RATE, ModelInfo
from .streaming import StreamingRecognizer

ALPHABET = "零一二三四五六七八九"


class FakeDecoder:
    """A ``ChunkDecoder`` with no model behind it."""

    chunk_samples = 9600

    def __init__(self, delay_s: float = 0.0, fail_on: str | None = None) -> None:
        self.delay_s = delay_s
        self.fail_on = fail_on
        self.calls = 0
        self._lock = threading.Lock()
        self.info = ModelInfo(name="fake", backend="fake", path="", streaming=True)

    def new_state(self) -> Any:
        return {"chunks": 0}

    def decode(
        self, state: Any, samples: npt.NDArray[np.float32], is_final: bool
    ) -> list[Token]:
        with self._lock:
            self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        state["chunks"] += 1
        if len(samples) == 0:
            return []
        rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
        if rms < 1e-3:
            return []
        level = min(int(rms * 20), len(ALPHABET) - 1)
        token = ALPHABET[level]
        if self.fail_on is not None and token == self.fail_on:
            raise RuntimeError(f"fake failure on {token!r}")
        return [Token(token, probability=min(1.0, 0.5 + rms))]

    def text(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)


def fake_recognizer(delay_s: float = 0.0, fail_on: str | None = None) -> StreamingRecognizer:
    """A recognizer running the real worker around a ``FakeDecoder``."""
    return StreamingRecognizer(FakeDecoder(delay_s=delay_s, fail_on=fail_on))


def tone(level: float, seconds: float, rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    """A 440 Hz int16 tone whose RMS is ``level`` (0..1) of full scale; handy test audio."""
    t = np.arange(int(seconds * rate)) / rate
    wave = np.sqrt(2) * level * np.sin(2 * np.pi * 440 * t)
    return np.round(np.clip(wave, -1, 1 - 1 / 32768) * 32768).astype(np.int16)
