"""Shared pieces of the benchmarks: test audio, the stock-FunASR baseline, statistics."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tingxie.engine.backend import Token
from tingxie.engine.interface import ModelInfo
from tingxie.engine.synthetic import speechlike  # noqa: F401  (re-exported for the benchmarks)

ROOT = Path(__file__).resolve().parent.parent


class GenerateDecoder:
    """The baseline: stock ``AutoModel.generate`` called once per 600 ms chunk, exactly as
    FunASR documents streaming, wrapped as a ChunkDecoder so that the same drivers
    measure it. Confidence is not available from ``generate`` (reported as 0)."""

    chunk_samples = 9600

    def __init__(self, automodel: Any, info: ModelInfo) -> None:
        self._am = automodel
        self.info = info
        self._threads = int(automodel.kwargs.get("ncpu", 4))

    def set_streams(self, streams: int) -> None:
        """Stock FunASR always runs on its ``ncpu`` threads (torch's setting is global to
        the process, so restore it here in case another variant changed it)."""
        import torch

        if torch.get_num_threads() != self._threads:
            torch.set_num_threads(self._threads)

    def new_state(self) -> Any:
        return {}

    def decode(self, state: Any, samples: np.ndarray, is_final: bool) -> list[Token]:
        out = self._am.generate(
            input=samples,
            cache=state,
            is_final=is_final,
            chunk_size=[0, 10, 5],
            encoder_chunk_look_back=4,
            decoder_chunk_look_back=1,
            disable_pbar=True,
        )
        return [Token(ch, 0.0) for ch in out[0]["text"]]

    def text(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> str:
    import torch

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = "?"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}, commit {commit}, load average at start {load:.2f}"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.1f}" if abs(v) >= 10 else f"{v:.3f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def log(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)
