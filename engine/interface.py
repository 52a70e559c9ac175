"""The engine's public interface: a loaded ``Recognizer`` opens ``Session``s.

Audio is 16 kHz mono signed 16-bit PCM (``SAMPLE_RATE``), given as ``bytes``
(little-endian) or as an ``int16`` numpy array, in pieces of any size.

Every call returns at once. Work happens on the recognizer's single inference
worker; results come back as ``concurrent.futures.Future`` objects, which an
asyncio caller wraps with ``asyncio.wrap_future`` and a GUI subscribes to with
``add_done_callback``. Futures of one session complete in the order the calls
were made.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, Protocol, Union

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .second_pass import Refinement

SAMPLE_RATE = 16000
"""Samples per second of the PCM every session accepts."""

Pcm = Union[bytes, bytearray, memoryview, npt.NDArray[np.int16]]


@dataclass(frozen=True)
class Result:
    """What the recognizer has made of an utterance so far (or in full, if ``is_final``).

    ``text`` is the whole utterance's text, not only what the last audio added.
    ``confidence`` is the mean, over the recognised tokens, of the probability the
    model gave each chosen token (0.0 when there are no tokens).
    ``processing_time_ms`` is the wall time from the call that produced this result
    (``feed`` or ``finish``) until it was ready, queueing included.
    ``audio_ms`` is the amount of utterance audio the result covers.
    ``compute_ms`` is the model's compute time spent on the utterance so far (a batch's time
    shared equally among its utterances), its second pass included: ``compute_ms /
    audio_ms`` is the real-time factor.
    ``refined``: a final whose text the offline model decoded again (the second pass);
    False for partials and for finals that are the live draft (finished by punctuation and
    the text steps where those are on).
    """

    text: str
    is_final: bool
    confidence: float
    processing_time_ms: float
    audio_ms: float
    tokens: tuple[str, ...] = field(default=(), repr=False)
    compute_ms: float = 0.0
    refined: bool = False


@dataclass(frozen=True)
class ModelInfo:
    """Describes the loaded model for status pages and logs."""

    name: str
    backend: str
    path: str
    streaming: bool
    device: str = "cpu"
    precision: str = "fp32"


DownloadProgress = Callable[[str, int, int], None]
"""``(what, done_bytes, total_bytes)``: called while a model is downloaded (total 0 if unknown)."""


class Session(Protocol):
    """One speaker's utterances. Owns the per-utterance decoder state.

    After ``finish`` the session is ready for the next utterance.
    """

    def feed(self, pcm: Pcm) -> Future[Result]:
        """Add audio. Resolves with the partial result once every complete
        model chunk in the audio fed so far has been decoded.

        Raises ``AudioFormatError`` (at once) for odd-length bytes or a non-int16 array,
        ``EngineClosedError`` if the recognizer is closed. The future fails with
        ``RecognitionError`` if the model fails.
        """
        ...

    def finish(self, options: Optional[Refinement] = None) -> Future[Result]:
        """End the utterance: decode the buffered tail with ``is_final``, run the second pass
        (``options``: what this utterance's client asked of it; None: the recognizer's
        defaults) and resolve with the final result (``is_final=True``). The session then
        starts a new utterance."""
        ...

    def reset(self) -> None:
        """Discard the utterance in progress (audio not yet decoded included)."""
        ...

    def close(self) -> None:
        """Release the session; pending work is discarded."""
        ...

    @property
    def audio_ms(self) -> float:
        """Audio fed into the current utterance so far, in milliseconds."""
        ...


class Recognizer(Protocol):
    """A loaded model, shared by any number of sessions."""

    @property
    def info(self) -> ModelInfo: ...

    def open_session(self) -> Session:
        """A new independent session."""
        ...

    def close(self) -> None:
        """Stop the worker after the step in progress; futures of work not yet done fail
        with ``EngineClosedError``."""
        ...
