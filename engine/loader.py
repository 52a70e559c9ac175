"""Turning a model spec (a name or a directory) into a loaded ``Recognizer``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .interface import DownloadProgress, Recognizer


@dataclass(frozen=True)
class EngineConfig:
    """Everything needed to load a model. Built once, in the composition root."""

    model: str = "paraformer-zh-streaming"
    revision: Optional[str] = None
    device: str = "cpu"
    threads: Optional[int] = None  # torch intra-op threads; None: the machine's cores, max 4
    allow_download: bool = True


def load_recognizer(config: EngineConfig, progress: DownloadProgress | None = None) -> Recognizer:
    """Resolve, fetch if needed, and load the model; blocking (seconds). Run it off the GUI
    thread and the event loop.

    Raises ``ModelNotFoundError`` / ``ModelDownloadError`` / ``ModelLoadError``.
    """
    raise NotImplementedError  # filled in by the FunASR backend commit
