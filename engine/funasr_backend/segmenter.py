"""``FsmnSegmenter``: FunASR's fsmn-vad as a ``Segmenter``.

The whole audio goes through the model's own ``inference`` with the settings ``AutoModel``
holds, as ``AutoModel(model=VAD).generate(input=samples)`` runs it (one pass, final, with
FunASR's end-of-speech silence schedule); its ``[start_ms, end_ms]`` segments become
sample offsets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ModelLoadError
from ..interface import SAMPLE_RATE, ModelInfo
from .offline import Threads, cpu_threads, open_model

SAMPLES_PER_MS = SAMPLE_RATE // 1000


def load_segmenter(
    path: Path,
    *,
    name: str,
    device: str = "cpu",
    threads: int | None = None,
) -> "FsmnSegmenter":
    """Load fsmn-vad (FunASR's ``FsmnVADStreaming``) from a local model directory.
    Raises ``ModelLoadError`` when it is not a voice-activity model."""
    automodel = open_model(path, device=device, threads=threads)
    if not hasattr(automodel.model, "vad_opts"):
        raise ModelLoadError(
            f"{name} ({type(automodel.model).__name__}) is not a voice-activity model; "
            "the second pass needs one such as fsmn-vad"
        )
    info = ModelInfo(
        name=name, backend="funasr", path=str(path), streaming=False, device=device,
        precision="fp32",
    )
    return FsmnSegmenter(automodel, info, threads=cpu_threads(threads))


class FsmnSegmenter:
    """A ``Segmenter`` around a loaded FunASR ``FsmnVADStreaming``."""

    def __init__(self, automodel: Any, info: ModelInfo, threads: int = 1) -> None:
        import torch

        self._torch = torch
        self._automodel = automodel
        self._model = automodel.model
        self._kwargs = {k: v for k, v in automodel.kwargs.items() if k != "cache"}
        self._threads = Threads(max(1, threads))
        self.info = info

    @property
    def automodel(self) -> Any:
        """FunASR's ``AutoModel``, for parity checks against ``generate``."""
        return self._automodel

    def speech(self, samples: npt.NDArray[np.float32]) -> list[tuple[int, int]]:
        n = len(samples)
        if n == 0:
            return []
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        with self._threads, self._torch.no_grad():
            results, _ = self._model.inference(
                data_in=[audio], key=["audio"], cache={}, **dict(self._kwargs)
            )
        spans = []
        for start_ms, end_ms in results[0]["value"]:
            start = max(0, int(start_ms) * SAMPLES_PER_MS)
            end = n if end_ms < 0 else min(n, int(end_ms) * SAMPLES_PER_MS)
            if end > start:
                spans.append((start, end))
        return spans
