"""The faster-whisper backend: Whisper (CTranslate2) behind the ``ChunkDecoder`` interface.

Whisper is not a streaming model: it reads a whole window of audio at once. The
``WhisperDecoder`` therefore keeps the utterance's audio in its per-utterance state and
re-decodes the growing utterance for partial results (``revises = True``: each ``decode``
returns the whole utterance's words, replacing earlier ones); ``finish`` decodes the whole
utterance once more for the final text.

Pacing (``redecode_due``): a partial is re-decoded after every ``chunk_samples`` (1 s)
of new audio, but never more often than the last decode took, and not at all while audio
arrives faster than real time (a file, or a worker catching up on queued audio): on a
slow machine or with a large model the worker skips partials instead of falling behind
the speaker. The final result therefore waits for at most the partial decode in flight plus
one decode of the whole utterance.

Latency, measured with tiny.en (CPU, int8) on a 2-core AMD EPYC shared with other jobs:
a decode costs about the same whatever the utterance length up to 30 s, because Whisper
always encodes a 30 s window (shorter encoder windows make tiny.en loop and repeat
itself): ~0.45 s with 2 threads on a quiet machine, ~0.8 s with 1. A 5 s utterance fed in
real time shows its first words ~1.4 s after the speaker starts and new words every second
after that; the final text comes 1.0 s after release with 2 threads (median of 4,
1.01-1.05 s), 1.6 s with 1 thread, and 1.8-3.6 s while other jobs kept the machine's load
at 5. Beyond 30 s each decode grows by one window per 30 s of audio.

Confidence: each word gets ``exp(avg_logprob)`` of its segment, the geometric mean of the
probabilities Whisper gave the segment's tokens (word-level probabilities would need
faster-whisper's word alignment, an extra pass that costs ~50 % more per decode).

Chinese: Whisper writes traditional or simplified characters as its first words suggest
(the prompt asks for simplified, which it does not always follow). Whatever the language
setting, a decode whose language is Chinese (set, or detected under ``auto``) comes out in
simplified characters through OpenCC's ``t2s`` conversion (``to_simplified``; the
``opencc`` wheel, Apache-2.0, part of the ``whisper`` extra).

faster_whisper / ctranslate2 are imported inside functions only; this module imports
nothing heavy (and never torch or funasr). Downloading a model from Hugging Face is
``tingxie.engine.download``'s, wired up in ``tingxie.engine.backends``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .backend import Token
from .errors import ModelLoadError
from .interface import SAMPLE_RATE, ModelInfo

log = logging.getLogger(__name__)

LANGUAGES = ("auto", "zh", "en")
"""Language settings: ``auto`` lets Whisper detect the language of each decode."""

CHUNK_SAMPLES = SAMPLE_RATE  # re-decode for a partial after each 1 s of new audio
MIN_DECODE_SAMPLES = SAMPLE_RATE // 5  # under 200 ms Whisper only hallucinates
WINDOW_SAMPLES = 30 * SAMPLE_RATE  # Whisper's input window

# Whisper writes Chinese in traditional or simplified characters, with or without
# punctuation, as the first words suggest; a prompt in simplified Chinese with punctuation
# makes it write that.
ZH_PROMPT = "以下是普通话的句子，使用简体中文。"

Clock = Callable[[], float]


REAL_TIME_SLACK_S = 0.1
"""How much more audio than wall time may arrive between two decode calls (network and
scheduling jitter) before the audio counts as arriving faster than real time."""


def redecode_due(
    new_audio_s: float,
    last_decode_s: float,
    chunk_s: float,
    call_audio_s: float,
    call_interval_s: float | None,
) -> bool:
    """Whether a partial should re-decode the utterance now.

    ``new_audio_s``: audio added since the last decode, which ran ``last_decode_s``.
    ``call_audio_s``: audio added since the previous call (decode or not), which started
    ``call_interval_s`` ago (None for the utterance's first call).

    Not due when that audio came faster than a speaker says it: the worker is catching up
    on queued audio, or reading a file, and only the newest audio is worth a partial.
    Otherwise due after at least one chunk of new audio and at least as much as the last
    decode took, so that the worker keeps pace with a speaker however slow the model is.
    """
    if call_interval_s is not None and call_audio_s > call_interval_s + REAL_TIME_SLACK_S:
        return False
    return new_audio_s >= max(chunk_s, last_decode_s)


def whisper_language(setting: str, multilingual: bool) -> str | None:
    """The ``language`` to pass to faster-whisper for a Tingxie language setting.

    English-only (``.en``) models always get ``"en"``. Raises ``ModelLoadError`` for a
    setting not in ``LANGUAGES`` and for ``zh`` on an English-only model.
    """
    if setting not in LANGUAGES:
        raise ModelLoadError(f"unknown language {setting!r}: use one of {', '.join(LANGUAGES)}")
    if not multilingual:
        if setting == "zh":
            raise ModelLoadError(
                "this Whisper model is English-only (.en): for Chinese choose a multilingual "
                "model such as whisper-small, or --language en / auto"
            )
        return "en"
    return None if setting == "auto" else setting


_T2S_LOCK = threading.Lock()
_t2s: Callable[[str], str] | None = None


def to_simplified(text: str) -> str:
    """Chinese ``text`` in simplified characters (OpenCC ``t2s``: characters only, no
    change of words); other text is unchanged. Without the ``opencc`` package (the
    ``whisper`` extra) the text comes back as it is, with a warning logged once."""
    global _t2s
    with _T2S_LOCK:
        if _t2s is None:
            try:
                import opencc  # type: ignore[import-untyped]

                _t2s = opencc.OpenCC("t2s").convert
            except Exception as exc:  # ImportError, or its dictionaries missing
                log.warning("no OpenCC (%s): Chinese stays as Whisper wrote it", exc)
                _t2s = str
        convert = _t2s
    return convert(text)


def split_words(text: str) -> list[str]:
    """A segment's text as display tokens that join back into it: words with their
    leading space (``" Please"``); text without spaces (Chinese) stays one token."""
    return re.findall(r"\s*\S+", text)


@dataclass
class UtteranceAudio:
    """Per-utterance state: the audio so far and what the last decode made of it."""

    pieces: list[npt.NDArray[np.float32]] = field(default_factory=list)
    samples: int = 0
    decoded_samples: int = 0  # utterance length at the last decode
    last_decode_s: float = 0.0  # how long the last decode ran
    last_call: float | None = None  # clock time the previous decode call started
    tokens: list[Token] = field(default_factory=list)

    def add(self, samples: npt.NDArray[np.float32]) -> None:
        if len(samples):
            self.pieces.append(samples)
            self.samples += len(samples)

    def audio(self) -> npt.NDArray[np.float32]:
        if len(self.pieces) > 1:
            self.pieces = [np.concatenate(self.pieces)]
        return self.pieces[0] if self.pieces else np.empty(0, dtype=np.float32)


class WhisperDecoder:
    """A revising ``ChunkDecoder`` around a loaded ``faster_whisper.WhisperModel``.

    ``language`` is what faster-whisper gets (None: detect). Partials use greedy search
    at temperature 0; the final uses ``final_beam_size`` with faster-whisper's temperature
    fallback.
    """

    revises = True

    def __init__(
        self,
        model: Any,
        info: ModelInfo,
        *,
        language: str | None,
        chunk_samples: int = CHUNK_SAMPLES,
        final_beam_size: int = 5,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.model = model
        self.info = info
        self.language = language
        self.chunk_samples = chunk_samples
        self.final_beam_size = final_beam_size
        self._clock = clock

    def new_state(self) -> UtteranceAudio:
        return UtteranceAudio()

    def decode(
        self, state: UtteranceAudio, samples: npt.NDArray[np.float32], is_final: bool
    ) -> list[Token]:
        state.add(samples)
        started = self._clock()
        previous_call, state.last_call = state.last_call, started
        if not is_final and not redecode_due(
            (state.samples - state.decoded_samples) / SAMPLE_RATE,
            state.last_decode_s,
            self.chunk_samples / SAMPLE_RATE,
            len(samples) / SAMPLE_RATE,
            None if previous_call is None else started - previous_call,
        ):
            return state.tokens
        state.tokens = self.transcribe(state.audio(), final=is_final)
        state.last_decode_s = self._clock() - started
        state.decoded_samples = state.samples
        return state.tokens

    def transcribe(self, audio: npt.NDArray[np.float32], *, final: bool) -> list[Token]:
        """Decode ``audio`` (16 kHz float32) in full; the words with their probabilities."""
        if len(audio) < MIN_DECODE_SAMPLES:
            return []
        options: dict[str, Any] = {
            "language": self.language,
            "task": "transcribe",
            "condition_on_previous_text": False,
            # Timestamps let faster-whisper cut long audio between words; a dictation
            # utterance inside one window needs none, which saves decoding steps.
            "without_timestamps": len(audio) <= WINDOW_SAMPLES,
            "vad_filter": False,
            "initial_prompt": ZH_PROMPT if self.language == "zh" else None,
        }
        if final:
            options.update(beam_size=self.final_beam_size)
        else:
            options.update(beam_size=1, temperature=0.0)
        segments, info = self.model.transcribe(audio, **options)
        # info.language: what Whisper decoded in (the setting, or what it detected)
        chinese = (self.language if info is None else info.language) == "zh"
        tokens: list[Token] = []
        for segment in segments:
            probability = min(1.0, math.exp(segment.avg_logprob))
            text = to_simplified(segment.text) if chinese else segment.text
            tokens += [Token(word, probability) for word in split_words(text)]
        return tokens

    def text(self, tokens: Sequence[str]) -> str:
        return "".join(tokens).strip()


def _device(device: str) -> tuple[str, int]:
    """Tingxie's ``cpu`` / ``cuda`` / ``cuda:1`` as CTranslate2's device and index."""
    kind, _, index = device.partition(":")
    return kind or "cpu", int(index) if index.isdigit() else 0


def load(
    path: Path,
    *,
    name: str,
    device: str = "cpu",
    threads: int | None = None,
    language: str = "auto",
) -> WhisperDecoder:
    """Load a CTranslate2 Whisper model from a local directory (never a download).

    CPU runs int8 weights; CUDA the precision the model was saved in. ``threads``: CPU
    threads (default the machine's cores, at most 4).

    Raises ``ModelLoadError`` when faster-whisper is not installed, the directory is not a
    loadable model, or ``language`` does not suit the model.
    """
    if not (path / "tokenizer.json").exists():
        # faster-whisper would fetch a tokenizer from the hub instead (and hang offline).
        raise ModelLoadError(
            f"{path} has no tokenizer.json: copy it from the model's Hugging Face repository"
        )
    try:
        from faster_whisper import WhisperModel  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ModelLoadError(
            f"the Whisper backend needs faster-whisper ({exc}): pip install 'tingxie[whisper]'"
        ) from exc
    # faster-whisper logs every decode at INFO; Tingxie decodes every second.
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    kind, index = _device(device)
    try:
        model = WhisperModel(
            str(path),
            device=kind,
            device_index=index,
            compute_type="int8" if kind == "cpu" else "default",
            cpu_threads=threads or min(os.cpu_count() or 1, 4),
            num_workers=1,
            local_files_only=True,
        )
    except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError/OSError
        raise ModelLoadError(f"cannot load the Whisper model in {path}: {exc}") from exc
    lang = whisper_language(language, bool(model.model.is_multilingual))
    info = ModelInfo(
        name=name,
        backend="whisper",
        path=str(path),
        streaming=False,
        device=device,
        precision="int8" if kind == "cpu" else "default",  # ctranslate2's compute types
    )
    return WhisperDecoder(model, info, language=lang)
