"""Engine benchmark: compute per 600 ms chunk, real-time factor, release→final latency,
and int8-vs-fp32 agreement, with stock FunASR ``AutoModel.generate`` (fp32) measured as
the baseline in the same run.

    python -m bench.engine_bench MODEL_DIR [--threads 2] [--quick]

MODEL_DIR is normally ``python -m tingxie.engine.synthetic /tmp/full --size full`` (the real
220M architecture). Prints Markdown tables (stdout) for docs/performance.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    GenerateDecoder,
    log,
    machine,
    median,
    percentile,
    speechlike,
    table,
)
from tingxie.engine import funasr_backend
from tingxie.engine.streaming import StreamingRecognizer


def chunk_compute(recognizer: StreamingRecognizer, seconds: float, seed: int) -> list[float]:
    """Wall time of each 600 ms chunk decoded back to back (no real-time pacing)."""
    audio = speechlike(seed, seconds)
    session = recognizer.open_session()
    times = []
    for i in range(0, len(audio) - 9600 + 1, 9600):
        t0 = time.perf_counter()
        session.feed(audio[i : i + 9600]).result()
        times.append((time.perf_counter() - t0) * 1000)
    session.finish().result()
    session.close()
    return times


def release_to_final(recognizer: StreamingRecognizer, seconds: float, seed: int) -> float:
    """Feed ``seconds`` of audio in 100 ms blocks at real-time pace (a live speaker), then
    release: milliseconds from ``finish()`` until the final result is there."""
    audio = speechlike(seed, seconds)
    session = recognizer.open_session()
    block = 1600
    start = time.perf_counter()
    for k, i in enumerate(range(0, len(audio), block)):
        due = start + k * block / 16000
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        session.feed(audio[i : i + block])
    end = start + len(audio) / 16000  # the speaker releases when the audio ends
    delay = end - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    t0 = time.perf_counter()
    session.finish().result()
    latency = (time.perf_counter() - t0) * 1000
    session.close()
    return latency


def agreement(a: StreamingRecognizer, b: StreamingRecognizer, n: int) -> tuple[float, float]:
    """Fraction of utterances with identical text, and character error rate of b against a."""
    same, errors, total = 0, 0, 0
    for seed in range(n):
        audio = speechlike(1000 + seed, 4.0)
        ta = _final(a, audio)
        tb = _final(b, audio)
        same += ta == tb
        errors += _edit_distance(ta, tb)
        total += max(1, len(ta))
    return same / n, errors / total


def _final(r: StreamingRecognizer, audio: np.ndarray) -> str:
    s = r.open_session()
    s.feed(audio)
    text = s.finish().result().text
    s.close()
    return text


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    reps = {2.0: 3, 5.0: 3, 15.0: 1} if args.quick else {2.0: 10, 5.0: 10, 15.0: 3}

    log("loading", args.model_dir)
    fp32 = funasr_backend.load(args.model_dir, name="full", threads=args.threads, precision="fp32")
    int8 = funasr_backend.load(args.model_dir, name="full", threads=args.threads, precision="int8")
    variants: dict[str, StreamingRecognizer] = {
        "stock FunASR generate (fp32), baseline": StreamingRecognizer(
            GenerateDecoder(fp32.automodel, fp32.info)
        ),
        "Tingxie fp32": StreamingRecognizer(fp32),
        "Tingxie int8": StreamingRecognizer(int8),
    }
    print(f"Machine: {machine()}; torch threads {args.threads}\n")

    rows = []
    for name, r in variants.items():
        chunk_compute(r, 1.2, 0)  # warm-up
        times = chunk_compute(r, 12.0, 1)
        rows.append([name, median(times), percentile(times, 95), median(times) / 600.0])
        log(name, "chunk", rows[-1])
    print("### Compute per 600 ms chunk (back to back, one stream)\n")
    print(table(["variant", "median ms", "p95 ms", "real-time factor"], rows), "\n")

    rows = []
    for name, r in variants.items():
        row: list[Any] = [name]
        for seconds, n in reps.items():
            lat = [release_to_final(r, seconds, 10 + k) for k in range(n)]
            row += [median(lat), percentile(lat, 95)]
            log(name, seconds, lat)
        rows.append(row)
    headers = ["variant"]
    for seconds, n in reps.items():
        headers += [f"{seconds:g} s p50 ms", f"{seconds:g} s p95 ms (n={n})"]
    print("### Release → final latency, one speaker in real time\n")
    print(table(headers, rows), "\n")

    same, cer = agreement(
        variants["Tingxie fp32"], variants["Tingxie int8"], 10 if args.quick else 30
    )
    print("### int8 against fp32 (same audio, random-weight model)\n")
    print(
        table(["identical finals", "character error rate vs fp32"], [[f"{same:.0%}", f"{cer:.1%}"]])
    )
    for r in variants.values():
        r.close()


if __name__ == "__main__":
    main()
