"""``CTPunctuator``: FunASR's CT-Transformer (ct-punc) as a ``Punctuator``.

The text goes through the model's own ``inference`` with the settings ``AutoModel`` holds,
as ``AutoModel(model=OFFLINE, punc_model=PUNC).generate`` runs it on the recognizer's text:
its word split (jieba with the model's ``jieba_usr_dict``, or characters), mini-sentences
of 20 words, its rules for spacing English words and for the final full stop. Only the
text-to-text call is skipped, which would take text naming an existing file as that file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from ..interface import ModelInfo
from .offline import Threads, cpu_threads, open_model

_jieba_lock = threading.Lock()
"""jieba's dictionary is one per process (``jieba_usr_dict`` is loaded into it): cuts and
loads do not overlap."""


def load_punctuator(
    path: Path,
    *,
    name: str,
    device: str = "cpu",
    threads: int | None = None,
    precision: str = "fp32",
) -> "CTPunctuator":
    """Load a CT-Transformer punctuation model from a local model directory. ``precision``
    is accepted for symmetry and ignored: the model is small, and it runs in fp32 so that
    its text is FunASR's. Raises ``ModelLoadError`` when it is not a punctuation model."""
    with _jieba_lock:
        automodel = open_model(path, device=device, threads=threads)
    if not hasattr(automodel.model, "punc_forward"):
        raise ModelLoadError(
            f"{name} ({type(automodel.model).__name__}) is not a punctuation model; "
            "the second pass needs one such as ct-punc"
        )
    info = ModelInfo(
        name=name, backend="funasr", path=str(path), streaming=False, device=device,
        precision="fp32",
    )
    return CTPunctuator(automodel, info, threads=cpu_threads(threads))


class CTPunctuator:
    """A ``Punctuator`` around a loaded FunASR ``CTTransformer``."""

    def __init__(self, automodel: Any, info: ModelInfo, threads: int = 1) -> None:
        import torch

        self._torch = torch
        self._automodel = automodel
        self._model = automodel.model
        self._kwargs = dict(automodel.kwargs)
        self._threads = Threads(max(1, threads))
        self.info = info

    @property
    def automodel(self) -> Any:
        """FunASR's ``AutoModel``, for parity checks against ``generate``."""
        return self._automodel

    def punctuate(self, text: str) -> str:
        with self._threads, _jieba_lock, self._torch.no_grad():
            results, _ = self._model.inference(data_in=[text], key=["text"], **self._kwargs)
        return str(results[0]["text"])
