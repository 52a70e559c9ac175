"""The seam between the engine and a model backend: what a backend implements.

A backend (``funasr_backend``, ``whisper_backend``, the ``fake`` beside them) provides a
``ChunkDecoder``; the streaming worker (``streaming.StreamingRecognizer``) is its only
caller, always from its one inference thread. Abilities beyond plain chunk decoding are
separate protocols, checked with ``isinstance`` (they are ``runtime_checkable``), so that a
backend says what it can do by implementing a method, and the worker never probes
attributes by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np
import numpy.typing as npt

from .interface import ModelInfo


@dataclass
class Token:
    """One recognised token and the probability the model gave it."""

    text: str
    probability: float


@runtime_checkable
class ChunkDecoder(Protocol):
    """What every streaming model backend provides. Called from the worker thread only."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def chunk_samples(self) -> int:
        """Samples per decoding step (9600 = 600 ms for Paraformer streaming)."""
        ...

    def new_state(self) -> Any:
        """Fresh per-utterance decoder state (FunASR's ``cache``)."""
        ...

    def decode(self, state: Any, samples: npt.NDArray[np.float32], is_final: bool) -> list[Token]:
        """Decode one chunk (exactly ``chunk_samples`` long unless ``is_final``), updating
        ``state``; return the tokens this chunk added (a ``RevisingDecoder``: all of the
        utterance's tokens so far)."""
        ...

    def text(self, tokens: Sequence[str]) -> str:
        """Join tokens into display text."""
        ...


@runtime_checkable
class BatchingDecoder(ChunkDecoder, Protocol):
    """A decoder that decodes the next chunk of several utterances in one call, each item
    ``(state, samples, is_final)`` as ``decode`` takes them, giving each utterance the same
    tokens as ``decode`` would."""

    def decode_many(
        self, items: Sequence[tuple[Any, npt.NDArray[np.float32], bool]]
    ) -> list[list[Token]]: ...


@runtime_checkable
class StreamCountHint(Protocol):
    """A decoder that wants to know, before each pass, how many utterances it will decode in
    it (e.g. to choose its thread count)."""

    def set_streams(self, count: int) -> None: ...


@runtime_checkable
class RevisingDecoder(ChunkDecoder, Protocol):
    """A decoder whose ``decode`` returns the whole utterance's tokens so far, which may
    revise earlier ones (e.g. Whisper re-decoding the growing utterance), instead of only
    the tokens the chunk added. Says so with ``revises`` (True)."""

    @property
    def revises(self) -> bool: ...


def revises(decoder: ChunkDecoder) -> bool:
    """Whether ``decoder``'s results replace the utterance's tokens rather than extend them."""
    return isinstance(decoder, RevisingDecoder) and bool(decoder.revises)


# --- the second pass ---------------------------------------------------------------------
# The models that refine an utterance once it is complete (``second_pass``): an offline
# recognizer that decodes whole segments, a punctuation model, a voice-activity model that
# says where long audio may be cut. Like ``ChunkDecoder``, each is called from the
# inference worker's thread only.


@runtime_checkable
class SegmentDecoder(Protocol):
    """An offline model (FunASR's Paraformer, SeACo-Paraformer): one segment of speech,
    decoded at once."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def takes_hotwords(self) -> bool:
        """Whether ``hotwords`` bias the decode (SeACo-Paraformer) or are ignored."""
        ...

    def decode_segment(
        self, samples: npt.NDArray[np.float32], hotwords: Sequence[str]
    ) -> list[Token]:
        """The tokens of ``samples`` (a whole segment, float32 in [-1, 1]), biased towards
        ``hotwords`` where the model takes them."""
        ...

    def text(self, tokens: Sequence[str]) -> str:
        """The text FunASR's ``generate`` gives for these tokens (before punctuation)."""
        ...


@runtime_checkable
class Punctuator(Protocol):
    """A punctuation model (FunASR's CT-Transformer): text in, punctuated text out."""

    @property
    def info(self) -> ModelInfo: ...

    def punctuate(self, text: str) -> str:
        """``text`` (a ``SegmentDecoder.text``) with punctuation, as FunASR's ``generate``
        with ``punc_model`` gives it."""
        ...


@runtime_checkable
class Segmenter(Protocol):
    """A voice-activity model (FunASR's fsmn-vad): where the speech in long audio is."""

    @property
    def info(self) -> ModelInfo: ...

    def speech(self, samples: npt.NDArray[np.float32]) -> list[tuple[int, int]]:
        """The speech in ``samples`` as ``(start, end)`` sample offsets, in order, not
        overlapping."""
        ...
