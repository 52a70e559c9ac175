"""Batch benchmark: the cost of one worker round with B utterances decoding their next
600 ms chunk together (``ParaformerDecoder.decode_many``), per stream and split into the
encoder, the CIF predictor, the decoder and the rest (features, position encoding), for
fp32 and int8; with B one-by-one ``decode`` calls of stock FunASR's steps as the baseline
(what the worker did before batching: B rounds of one).

    python -m bench.batch_bench MODEL_DIR [--batches 1,4,8,16,24] [--threads 2]

Prints a Markdown table (stdout) for docs/performance.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench.common import log, machine, median, speechlike, table
from tingxie.engine import funasr_backend
from tingxie.engine.funasr_backend import batched

ROUNDS, WARMUP = 10, 4


class Stopwatch:
    """Wall time spent in named functions, patched in place for the benchmark's run."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._patched: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str, label: str) -> None:
        real: Callable[..., Any] = getattr(owner, name)
        self._patched.append((owner, name, owner.__dict__.get(name)))

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.spent[label] = self.spent.get(label, 0.0) + time.perf_counter() - start

        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, before in reversed(self._patched):
            if before is None:
                delattr(owner, name)  # an instance's method shows through again
            else:
                setattr(owner, name, before)
        self._patched.clear()


def rounds(decoder: Any, streams: int, *, together: bool) -> tuple[float, dict[str, float]]:
    """Median wall time (ms) of a round of ``streams`` chunks, and the mean time per round
    in each part; the streams are at different points of different audio."""
    audio = speechlike(1, 10.0).astype(np.float32)
    chunk = decoder.chunk_samples
    states = [decoder.new_state() for _ in range(streams)]
    watch = Stopwatch()
    watch.wrap(batched, "encode_together", "encoder")
    watch.wrap(batched, "decode_together", "decoder")
    watch.wrap(decoder, "_predict", "predictor")
    decoder.set_streams(streams)  # as the worker does, batching or not
    times = []
    try:
        for r in range(ROUNDS):
            if r == WARMUP:
                watch.spent.clear()
            pieces = [
                audio[((r + i) % 10) * chunk : ((r + i) % 10 + 1) * chunk] for i in range(streams)
            ]
            start = time.perf_counter()
            if together:
                decoder.decode_many([(s, p, False) for s, p in zip(states, pieces)])
            else:
                for s, p in zip(states, pieces):
                    decoder.decode(s, p, False)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        watch.restore()
    n = ROUNDS - WARMUP
    return median(times[WARMUP:]), {k: v * 1000 / n for k, v in watch.spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--batches", default="1,4,8,16,24")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(b) for b in args.batches.split(",")]
    print(f"Machine: {machine()}; torch threads {args.threads}\n")
    rows = []
    for precision in ("fp32", "int8"):
        log("loading", precision)
        decoder = funasr_backend.load(
            args.model_dir, name="full", threads=args.threads, precision=precision
        )
        for b in sizes:
            alone, _ = rounds(decoder, b, together=False)
            together, parts = rounds(decoder, b, together=True)
            rest = together - sum(parts.values())
            rows.append(
                [precision, b, alone / b, together, together / b,
                 parts.get("encoder", 0.0), parts.get("predictor", 0.0),
                 parts.get("decoder", 0.0), rest]
            )
            log(precision, b, f"{together:.0f} ms a round, {together / b:.1f} per stream")
    print("### One round: B streams, next 600 ms chunk each\n")
    print(table(["precision", "B", "one by one, ms per stream (baseline)", "batched round ms",
                 "batched ms per stream", "encoder", "predictor", "decoder", "rest"], rows))


if __name__ == "__main__":
    main()
