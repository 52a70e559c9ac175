"""Voice activity: where speech ends, from a speech probability per frame. No torch here.

A ``SpeechProbability`` (a model: Silero's in ``tingxie.engine.silero_vad``) turns each
frame of ``frame_samples`` samples into the probability that it is speech, keeping its
own state between frames. An ``Endpointer`` feeds it audio of any block size and decides,
with hysteresis (speech counts from ``threshold``, silence below ``threshold - 0.15``, as
Silero's own iterator does), when the speaker has finished:

- ``SPEECH_ENDED``: speech was heard, then ``silence_s`` without any;
- ``NO_SPEECH``: ``start_timeout_s`` passed and nothing was speech.

``FakeSpeechProbability`` beside it calls loud frames speech: for tests of what uses an
endpointer, never for a result a user sees.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .interface import SAMPLE_RATE

Frame = npt.NDArray[np.float32]


class SpeechProbability(Protocol):
    """A stateful voice-activity model at ``SAMPLE_RATE``."""

    frame_samples: int

    def __call__(self, frame: Frame) -> float:
        """The probability that ``frame`` (``frame_samples`` floats in [-1, 1]) is speech."""
        ...

    def reset(self) -> None:
        """Forget the previous frames (a new utterance starts)."""
        ...


class Endpoint(enum.Enum):
    SPEECH_ENDED = "speech_ended"
    NO_SPEECH = "no_speech"


@dataclass(frozen=True)
class EndpointConfig:
    threshold: float = 0.5
    silence_s: float = 1.5
    """Silence after speech that ends the utterance."""
    start_timeout_s: float = 10.0
    """No speech at all for this long ends it too (a toggle pressed by mistake)."""


class Endpointer:
    """Feeds ``model`` and says when the utterance is over; one per utterance."""

    def __init__(self, model: SpeechProbability, config: EndpointConfig = EndpointConfig()) -> None:
        self.model = model
        self.config = config
        model.reset()
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames = 0
        self._heard = False
        self._speaking = False
        self._silent_frames = 0
        self.ended: Endpoint | None = None

    @property
    def heard_speech(self) -> bool:
        return self._heard

    def feed(self, block: npt.NDArray[np.int16]) -> Endpoint | None:
        """Add 16 kHz int16 audio; the endpoint once reached (then always the same)."""
        if self.ended is not None:
            return self.ended
        audio = np.concatenate([self._pending, block.astype(np.float32) / 32768.0])
        n = self.model.frame_samples
        frame_s = n / SAMPLE_RATE
        low = self.config.threshold - 0.15
        whole = len(audio) // n * n
        for start in range(0, whole, n):
            p = self.model(audio[start:start + n])
            self._frames += 1
            if p >= self.config.threshold:
                self._heard = self._speaking = True
                self._silent_frames = 0
            elif p < low:
                self._speaking = False
                self._silent_frames += 1
            if self._heard and not self._speaking and \
                    self._silent_frames * frame_s >= self.config.silence_s:
                self.ended = Endpoint.SPEECH_ENDED
                break
            if not self._heard and self._frames * frame_s >= self.config.start_timeout_s:
                self.ended = Endpoint.NO_SPEECH
                break
        self._pending = audio[whole:]
        return self.ended


class FakeSpeechProbability:
    """A ``SpeechProbability`` for tests: a frame louder than ``rms`` is speech."""

    frame_samples = 512

    def __init__(self, rms: float = 0.05) -> None:
        self.rms = rms
        self.frames = 0

    def __call__(self, frame: Frame) -> float:
        self.frames += 1
        return 1.0 if float(np.sqrt(np.mean(frame * frame))) > self.rms else 0.0

    def reset(self) -> None:
        self.frames = 0
