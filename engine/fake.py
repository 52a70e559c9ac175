"""A fake model beside the real one, for tests of code that *uses* the engine
(server, desktop). It runs the real session/worker code; only the decoder is fake.

The fake decodes each 600 ms chunk into one token derived from the chunk's loudness,
so the text is a deterministic function of the audio: louder chunk, later letter.
Silence gives no token. ``delay_s`` simulates inference time; ``fail_on`` makes
the decoder raise, to test error paths.

The second pass's fakes beside it: ``FakeSegmentDecoder`` (the same letters, per 600 ms of
a segment, in upper case so that refined text is told from the draft at a glance, and the
hotwords it was given appended), ``FakePunctuator`` (a full stop at the end) and
``FakeSegmenter`` (speech where 100 ms windows are louder than a threshold). Each records
its calls in ``calls``.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

from .backend import Token
from .interface import SAMPLE_RATE, ModelInfo
from .second_pass import SecondPass
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


def _letter(samples: npt.NDArray[np.float32]) -> str | None:
    if len(samples) == 0:
        return None
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms < 1e-3:
        return None
    return ALPHABET[min(int(rms * 20), len(ALPHABET) - 1)]


class FakeSegmentDecoder:
    """A ``SegmentDecoder``: one token per 600 ms of the segment (its loudness), then one
    token per hotword. ``calls`` holds ``(samples, hotwords)`` of each decode."""

    takes_hotwords = True

    def __init__(self, delay_s: float = 0.0, fail: bool = False) -> None:
        self.delay_s = delay_s
        self.fail = fail
        self.calls: list[tuple[int, tuple[str, ...]]] = []
        self.info = ModelInfo(name="fake-offline", backend="fake", path="", streaming=False)

    def decode_segment(
        self, samples: npt.NDArray[np.float32], hotwords: Sequence[str]
    ) -> list[Token]:
        self.calls.append((len(samples), tuple(hotwords)))
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("fake offline failure")
        tokens = []
        for start in range(0, len(samples), FakeDecoder.chunk_samples):
            letter = _letter(samples[start : start + FakeDecoder.chunk_samples])
            if letter is not None:
                tokens.append(Token(f"<{letter}>", probability=0.9))
        return tokens + [Token(f"[{w}]", probability=0.8) for w in hotwords]

    def text(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)


class FakePunctuator:
    """A ``Punctuator`` that ends the text with a full stop."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.info = ModelInfo(name="fake-punc", backend="fake", path="", streaming=False)

    def punctuate(self, text: str) -> str:
        self.calls.append(text)
        return text + "。"


class FakeSegmenter:
    """A ``Segmenter``: speech where 100 ms windows have an RMS above ``threshold``."""

    def __init__(self, threshold: float = 1e-3) -> None:
        self.threshold = threshold
        self.calls: list[int] = []
        self.info = ModelInfo(name="fake-vad", backend="fake", path="", streaming=False)

    def speech(self, samples: npt.NDArray[np.float32]) -> list[tuple[int, int]]:
        self.calls.append(len(samples))
        window = SAMPLE_RATE // 10
        spans: list[tuple[int, int]] = []
        for start in range(0, len(samples), window):
            piece = samples[start : start + window]
            if float(np.sqrt(np.mean(np.square(piece, dtype=np.float64)))) < self.threshold:
                continue
            end = start + len(piece)
            if spans and spans[-1][1] == start:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        return spans


def fake_two_pass_recognizer(
    delay_s: float = 0.0, *, second_pass: SecondPass | None = None
) -> StreamingRecognizer:
    """The real worker around a ``FakeDecoder`` with a second pass of fakes (or
    ``second_pass``)."""
    if second_pass is None:
        second_pass = SecondPass(FakeSegmentDecoder(), FakePunctuator(), FakeSegmenter())
    return StreamingRecognizer(FakeDecoder(delay_s=delay_s), second_pass=second_pass)
