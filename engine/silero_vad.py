"""Silero VAD (MIT; the ``silero-vad`` package ships its weights) as a
``SpeechProbability``: 512-sample frames at 16 kHz through the TorchScript model, without
gradients, one frame at a time. The only torch import for voice activity (a second backend
module beside ``funasr_backend``, allowed by the import-linter contract)."""

from __future__ import annotations

import threading

import numpy as np

from .vad import Frame


class SileroVad:
    """Loads the model at construction; ``ImportError`` names the package when it is not
    installed."""

    frame_samples = 512

    def __init__(self) -> None:
        try:
            import torch
            from silero_vad import load_silero_vad
        except ImportError as exc:
            raise ImportError(f"voice activity needs the silero-vad package: {exc}") from exc
        self._torch = torch
        self._model = load_silero_vad()
        self._lock = threading.Lock()

    def __call__(self, frame: Frame) -> float:
        with self._lock, self._torch.inference_mode():
            x = self._torch.from_numpy(np.ascontiguousarray(frame, dtype=np.float32))
            return float(self._model(x, 16000).item())

    def reset(self) -> None:
        with self._lock:
            self._model.reset_states()
