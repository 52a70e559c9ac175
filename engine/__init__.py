"""Tingxie's speech-recognition engine: a ``Recognizer`` opens ``Session``s.

Importing this package is cheap: torch and funasr load only in
``tingxie.engine.funasr_backend``, when a model is loaded.
"""

from .errors import (
    AudioFileError,
    AudioFormatError,
    EngineClosedError,
    EngineError,
    ModelDownloadError,
    ModelError,
    ModelLoadError,
    ModelNotFoundError,
    RecognitionError,
)
from .interface import SAMPLE_RATE, DownloadProgress, ModelInfo, Recognizer, Result, Session

__all__ = [
    "SAMPLE_RATE",
    "AudioFileError",
    "AudioFormatError",
    "DownloadProgress",
    "EngineClosedError",
    "EngineError",
    "ModelDownloadError",
    "ModelError",
    "ModelInfo",
    "ModelLoadError",
    "ModelNotFoundError",
    "RecognitionError",
    "Recognizer",
    "Result",
    "Session",
]
