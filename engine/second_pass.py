"""The second pass: what turns an utterance's live draft into its finished text.

When an utterance ends, its whole audio goes through an offline model (``SegmentDecoder``:
FunASR's SeACo-Paraformer, biased by the utterance's hotwords), the text through the
punctuation model (``Punctuator``), then the text steps (``TextFinisher``: inverse text
normalization, tidy-up, the user's replacement rules). Each step is optional: without an
offline model the draft itself is punctuated and finished.

Long audio is cut into segments for the offline model, so that one pass on the inference
worker stays short whatever the utterance's length (other users' partials wait at most one
pass). The cuts (``plan_cuts``) cover the audio end to end, nothing is left out between
two segments: each cut lies in a pause the ``Segmenter`` (fsmn-vad) found, or at the
quietest moment when it found none. An utterance no longer than ``max_segment_s`` is
decoded whole, as FunASR's own ``generate`` decodes it.

This module holds the decisions and the steps; ``streaming.StreamingRecognizer`` runs them
on its worker thread, interleaved with the streaming chunks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Optional, Protocol, Sequence

import numpy as np
import numpy.typing as npt

from .backend import Punctuator, SegmentDecoder, Segmenter, Token
from .interface import SAMPLE_RATE, ModelInfo

log = logging.getLogger(__name__)

MAX_SEGMENT_S = 15.0
"""Longest segment the offline model decodes at once (FunASR's 2-pass C++ server cuts its
segments at 15 s, too)."""

PASS_BUDGET_S = 15.0
"""Audio one pass of the worker decodes at most (plus one segment): the longest that other
users' partials wait for the second passes of utterances that ended."""


class TextFinisher(Protocol):
    """The text steps after the models (``tingxie.engine.text.chain.TextChain``)."""

    def finish(self, text: str, *, itn: bool = True) -> str:
        """``text`` finished: inverse text normalization (unless ``itn`` is False), tidy-up,
        the replacement rules."""
        ...


class _AsIs:
    def finish(self, text: str, *, itn: bool = True) -> str:
        return text


@dataclass(frozen=True)
class Refinement:
    """What the second pass does to one utterance. ``None`` fields: the recognizer's
    defaults (``SecondPass.defaults``); a client that sets nothing gets those."""

    refine: Optional[bool] = None  # decode again with the offline model
    punctuate: Optional[bool] = None
    itn: Optional[bool] = None  # inverse text normalization (tidy-up and rules always run)
    hotwords: Optional[tuple[str, ...]] = None

    def over(self, defaults: "Refinement") -> "Refinement":
        """These options, with ``defaults`` where they are unset."""
        return Refinement(
            refine=defaults.refine if self.refine is None else self.refine,
            punctuate=defaults.punctuate if self.punctuate is None else self.punctuate,
            itn=defaults.itn if self.itn is None else self.itn,
            hotwords=defaults.hotwords if self.hotwords is None else self.hotwords,
        )


ALL_ON = Refinement(refine=True, punctuate=True, itn=True, hotwords=())


@dataclass
class Refined:
    """The second pass's outcome for one utterance."""

    text: str
    tokens: list[Token] = field(default_factory=list)
    refined: bool = False  # the offline model decoded it (else: the draft's tokens)


def quietest(samples: npt.NDArray[np.int16], start: int, end: int) -> int:
    """The start of the quietest 100 ms window in ``samples[start:end]`` (a cut point where
    no pause was found)."""
    window = SAMPLE_RATE // 10
    if end - start <= window:
        return (start + end) // 2
    energy = np.square(samples[start:end].astype(np.float64))
    sums = np.convolve(energy, np.ones(window), mode="valid")
    return start + int(np.argmin(sums[::160]) * 160)


def plan_cuts(
    samples: npt.NDArray[np.int16],
    speech: Sequence[tuple[int, int]],
    max_segment: int,
) -> list[tuple[int, int]]:
    """Segments ``[(start, end)]`` covering ``samples`` end to end, each at most
    ``max_segment`` samples long (unless one is shorter than 100 ms of leeway).

    ``speech`` are the voice-activity model's speech spans; cuts go in the middle of the
    pauses between them, as few as the length allows. A stretch longer than
    ``max_segment`` without a pause is cut at its quietest moment. Pure."""
    n = len(samples)
    if n <= max_segment:
        return [(0, n)] if n else []
    # candidate cut points: the middle of each pause between speech spans
    pauses = [
        (a_end + b_start) // 2
        for (_, a_end), (b_start, _) in zip(speech, speech[1:])
        if b_start > a_end
    ]
    cuts: list[int] = [0]
    while n - cuts[-1] > max_segment:
        start = cuts[-1]
        # the latest pause that keeps the segment within the limit, and not at its start
        fitting = [p for p in pauses if start < p <= start + max_segment]
        if fitting:
            cuts.append(fitting[-1])
        else:
            lo = start + max_segment // 2
            cuts.append(quietest(samples, lo, start + max_segment))
    cuts.append(n)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


class SecondPass:
    """The models and text steps of the second pass, and the defaults clients get.

    Called from the inference worker only (the models are not thread-safe), except
    ``defaults`` and ``set_finisher``, which any thread may use.
    """

    def __init__(
        self,
        decoder: Optional[SegmentDecoder] = None,
        punctuator: Optional[Punctuator] = None,
        segmenter: Optional[Segmenter] = None,
        finisher: Optional[TextFinisher] = None,
        *,
        defaults: Refinement = ALL_ON,
        max_segment_s: float = MAX_SEGMENT_S,
        problems: Sequence[str] = (),
    ) -> None:
        self.decoder = decoder
        # Why a model that was asked for is missing (could not be found or loaded): the
        # service runs without it and says so (``/health``, the window).
        self.problems = tuple(problems)
        self.punctuator = punctuator
        self.segmenter = segmenter
        self._finisher: TextFinisher = finisher or _AsIs()
        self.defaults = defaults.over(ALL_ON)
        self.max_segment = int(max_segment_s * SAMPLE_RATE)

    @property
    def models(self) -> list[ModelInfo]:
        """The second pass's loaded models (for ``/health``)."""
        return [m.info for m in (self.decoder, self.punctuator, self.segmenter) if m is not None]

    def set_finisher(self, finisher: Optional[TextFinisher]) -> None:
        """Replace the text steps (e.g. edited replacement rules); utterances finished from
        now on use them."""
        self._finisher = finisher or _AsIs()

    def with_defaults(self, defaults: Refinement) -> "SecondPass":
        """The same models with other defaults."""
        other = SecondPass(
            self.decoder, self.punctuator, self.segmenter, self._finisher, problems=self.problems
        )
        other.defaults = defaults.over(self.defaults)
        other.max_segment = self.max_segment
        return other

    def options(self, asked: Optional[Refinement]) -> Refinement:
        """What is done to an utterance whose client asked for ``asked``."""
        return (asked or Refinement()).over(self.defaults)

    def decodes(self, options: Refinement) -> bool:
        """Whether the offline model decodes the utterance (it needs its audio)."""
        return self.decoder is not None and bool(options.refine)

    def cuts(self, samples: npt.NDArray[np.int16]) -> list[tuple[int, int]]:
        """The segments the offline model decodes ``samples`` in (see ``plan_cuts``)."""
        if len(samples) <= self.max_segment:
            return plan_cuts(samples, [], self.max_segment)
        speech: list[tuple[int, int]] = []
        if self.segmenter is not None:
            try:
                speech = self.segmenter.speech(samples.astype(np.float32) / 32768.0)
            except Exception:  # cutting at quiet moments still loses nothing
                log.exception("the voice-activity model failed; cutting at quiet moments")
        return plan_cuts(samples, speech, self.max_segment)

    def decode(
        self, samples: npt.NDArray[np.int16], options: Refinement
    ) -> list[Token]:
        """One segment through the offline model."""
        assert self.decoder is not None
        return self.decoder.decode_segment(
            samples.astype(np.float32) / 32768.0, options.hotwords or ()
        )

    def finish(
        self,
        draft_text: str,
        draft_tokens: Sequence[Token],
        decoded: Optional[list[Token]],
        options: Refinement,
    ) -> Refined:
        """The finished text from the offline tokens (``decoded``; None: not decoded, the
        draft is used), with punctuation and the text steps as ``options`` say. A step that
        fails is skipped (logged): the text so far is kept, never lost."""
        if decoded is not None and self.decoder is not None:
            refined = Refined(self.decoder.text([t.text for t in decoded]), decoded, True)
        else:
            refined = Refined(draft_text, list(draft_tokens), False)
        text = refined.text
        if options.punctuate and self.punctuator is not None and text:
            try:
                text = self.punctuator.punctuate(text)
            except Exception:
                log.exception("the punctuation model failed; the text stays unpunctuated")
        if text:
            try:
                text = self._finisher.finish(text, itn=bool(options.itn))
            except Exception:
                log.exception("finishing the text failed; it stays as recognised")
        return replace(refined, text=text)
