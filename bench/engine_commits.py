"""The engine's cost at several commits, interleaved in one run: a lone speaker's
release→final latency and compute per chunk, and the cost per stream of a worker round
with B utterances batched, at fp32 and int8.

    python -m bench.engine_commits MODEL_DIR --commits 2c1a7e1 HEAD [--rounds 2]
    python -m bench.engine_commits MODEL_DIR          # the importable tingxie, one JSON line

MODEL_DIR is normally ``python -m tingxie.engine.synthetic /tmp/full --size full`` (the real
220M architecture). Each commit's code is staged from git (``bench.staging``); the rounds
alternate between commits so both see the same machine. Prints Markdown tables for
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from bench.common import log, machine, median, percentile, table
from bench.staging import imported_from, run_staged, stage

PRECISIONS = ("fp32", "int8")


def measure(model_dir: Path, threads: int, utterances: int, seconds: float,
            batches: list[int]) -> dict[str, Any]:
    """Lone-speaker and batched numbers of the importable ``tingxie`` on ``model_dir``."""
    import tingxie
    import tingxie.engine
    from bench.batch_bench import rounds
    from bench.engine_bench import chunk_compute, release_to_final
    from tingxie.engine import funasr_backend
    from tingxie.engine.streaming import StreamingRecognizer

    result: dict[str, Any] = {"modules": imported_from(tingxie, tingxie.engine, funasr_backend),
                              "lone_final_ms": {}, "lone_chunk_ms": {}, "per_stream_ms": {}}
    for precision in PRECISIONS:
        decoder = funasr_backend.load(model_dir, name="full", threads=threads,
                                      precision=precision)
        recognizer = StreamingRecognizer(decoder)
        chunk_compute(recognizer, 1.2, 0)  # warm-up
        result["lone_chunk_ms"][precision] = chunk_compute(recognizer, 6.0, 1)
        result["lone_final_ms"][precision] = [
            release_to_final(recognizer, seconds, 10 + k) for k in range(utterances)]
        recognizer.close()
        decoder = funasr_backend.load(model_dir, name="full", threads=threads,
                                      precision=precision)
        result["per_stream_ms"][precision] = {
            str(b): rounds(decoder, b, together=True)[0] / b for b in batches}
        log(precision, "lone final", median(result["lone_final_ms"][precision]),
            "per stream", result["per_stream_ms"][precision])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--commits", nargs="+", metavar="COMMIT",
                        help="measure these commits' code, interleaved")
    parser.add_argument("--rounds", type=int, default=2, help="with --commits: runs per commit")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--utterances", type=int, default=6, help="lone utterances per precision")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of a lone utterance")
    parser.add_argument("--batches", default="8,16", help="streams per batched round")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    child_args = [str(args.model_dir), "--threads", str(args.threads), "--utterances",
                  str(args.utterances), "--seconds", str(args.seconds), "--batches", args.batches]

    if not args.commits:
        print(json.dumps(measure(args.model_dir, args.threads, args.utterances, args.seconds,
                                 batches)))
        return 0

    where = machine()
    log(where)
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="engine-commits-") as tmp:
        staged = [stage(commit, Path(tmp)) for commit in args.commits]
        for r in range(args.rounds):
            for sha, tree in staged:
                log(f"round {r + 1}/{args.rounds}: {sha} ...")
                runs.setdefault(sha, []).append(run_staged(tree, "bench.engine_commits",
                                                           child_args))
    print(f"Machine: {where}; torch threads {args.threads}; {args.rounds} rounds per commit, "
          f"interleaved\n")
    rows = []
    for sha, _ in staged:
        for precision in PRECISIONS:
            finals = [v for run in runs[sha] for v in run["lone_final_ms"][precision]]
            chunks = [v for run in runs[sha] for v in run["lone_chunk_ms"][precision]]
            per_stream = [median([run["per_stream_ms"][precision][str(b)] for run in runs[sha]])
                          for b in batches]
            rows.append([sha, precision, median(finals), percentile(finals, 95),
                         median(chunks), *per_stream])
    print(table(["commit", "precision", f"lone {args.seconds:g} s: release→final p50 ms",
                 "p95 ms", "lone chunk compute median ms",
                 *[f"{b} streams: ms per stream" for b in batches]], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
