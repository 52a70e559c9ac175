"""Whisper's Chinese in simplified characters (OpenCC t2s), whatever Whisper wrote."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from tingxie.engine import whisper_backend
from tingxie.engine.interface import SAMPLE_RATE, ModelInfo
from tingxie.engine.whisper_backend import WhisperDecoder, to_simplified

TRADITIONAL = "我們今天開會討論這個問題，頭髮、發展、乾淨、後來、著名、瞭解、臺灣、裡面。"
SIMPLIFIED = "我们今天开会讨论这个问题，头发、发展、干净、后来、著名、了解、台湾、里面。"


def test_traditional_characters_become_simplified() -> None:
    assert to_simplified(TRADITIONAL) == SIMPLIFIED


@pytest.mark.parametrize(
    ("text", "simplified"),
    [
        (SIMPLIFIED, SIMPLIFIED),
        ("我用Python寫了100行", "我用Python写了100行"),
        ("I have 23 apples.", "I have 23 apples."),
        ("", ""),
    ],
)
def test_only_traditional_characters_change(text: str, simplified: str) -> None:
    assert to_simplified(text) == simplified


@dataclass
class Segment:  # the two fields of faster_whisper's Segment the decoder reads
    text: str
    avg_logprob: float = -0.1


@dataclass
class Info:
    language: str


class Whisper:
    """Stands in for ``faster_whisper.WhisperModel``: answers every decode with ``segments``
    in ``language`` and records the options it was called with."""

    def __init__(self, segments: list[str], language: str) -> None:
        self.segments = segments
        self.language = language
        self.calls: list[dict[str, Any]] = []

    def transcribe(self, audio: np.ndarray, **options: Any) -> tuple[list[Segment], Info]:
        self.calls.append(options)
        return [Segment(s) for s in self.segments], Info(self.language)


INFO = ModelInfo(name="whisper-base", backend="whisper", path="/m", streaming=False)
AUDIO = np.zeros(SAMPLE_RATE, dtype=np.float32)


@pytest.mark.parametrize("language", [None, "zh"])  # detected, or set
def test_a_chinese_decode_comes_out_simplified(language: str | None) -> None:
    model = Whisper(["我們今天開會", "討論這個問題。"], "zh")
    decoder = WhisperDecoder(model, INFO, language=language)
    tokens = decoder.transcribe(AUDIO, final=True)
    assert decoder.text([t.text for t in tokens]) == "我们今天开会讨论这个问题。"
    assert model.calls[0]["language"] == language


@pytest.mark.parametrize(
    ("language", "text"), [("ja", "日本語で話します。"), ("en", " Hello world."), ("yue", "我哋")]
)
def test_other_languages_are_kept(language: str, text: str) -> None:
    decoder = WhisperDecoder(Whisper([text], language), INFO, language=None)
    tokens = decoder.transcribe(AUDIO, final=True)
    assert decoder.text([t.text for t in tokens]) == text.strip()


def test_without_opencc_the_text_is_kept_and_told(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "opencc", None)  # import fails
    monkeypatch.setattr(whisper_backend, "_t2s", None)
    with caplog.at_level(logging.WARNING, logger=whisper_backend.__name__):
        assert to_simplified(TRADITIONAL) == TRADITIONAL
    assert "no OpenCC" in caplog.text
