"""The engine's exceptions: one tree, so every boundary can translate them.

``EngineError`` is the root. The server turns any of them into an ``error``
message for the client; the desktop shows them in the window.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class ModelError(EngineError):
    """A model could not be found, fetched or loaded."""


class ModelNotFoundError(ModelError):
    """The named model or directory is not available locally and cannot be fetched."""


class ModelDownloadError(ModelError):
    """Fetching a model from the hub failed (offline, hub unreachable, disk full...)."""


class ModelLoadError(ModelError):
    """A model directory exists but could not be loaded (bad config, corrupt weights)."""


class AudioFormatError(EngineError):
    """Audio given to the engine is not what it accepts (e.g. odd-length int16 bytes)."""


class AudioFileError(EngineError):
    """An audio file could not be read or decoded."""


class RecognitionError(EngineError):
    """The model failed while decoding; the utterance in progress is lost and reset."""


class EngineClosedError(EngineError):
    """The recognizer was closed; no more audio is accepted."""
