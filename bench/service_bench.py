"""Service benchmark: capacity of ``tingxie --server-only`` under concurrent real-time
WebSocket clients, its memory with the model loaded, and its idle CPU, against the same
service over stock FunASR ``generate`` (``bench.stock_server``) as the baseline.

    python -m bench.service_bench MODEL_DIR [--precision int8] [--clients 4,8,16,24]
                                  [--no-batching] [--seconds 5] [--utterances 2]

Each client speaks ``--utterances`` utterances of ``--seconds`` s in real time (100 ms
binary frames, reading replies as they come), then ``stop``; the release→final latency
is the time from sending ``stop`` to receiving the ``final``. A client count passes the
capacity rule when p95 ≤ 1000 ms and the last utterances are not slower than the first
ones by more than 300 ms (no growing backlog).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import psutil

from bench.common import log, machine, median, percentile, speechlike, table

BLOCK = 1600  # 100 ms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(model: Path, port: int, extra: list[str]) -> subprocess.Popen[bytes]:
    if extra == ["stock"]:
        cmd = [sys.executable, "-m", "bench.stock_server", str(model), str(port)]
    else:
        cmd = [sys.executable, "-m", "tingxie", "--server-only", "--model", str(model),
               "--port", str(port), "--max-connections", "64", "--log-level", "WARNING",
               *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            with urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the server did not become healthy")


async def client(url: str, seed: int, seconds: float, utterances: int, start_at: float) -> list[float]:
    import websockets

    latencies = []
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # status: connected
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        for u in range(utterances):
            audio = speechlike(seed * 100 + u, seconds)
            await ws.send(json.dumps({"type": "control", "command": "start"}))
            t0 = time.perf_counter()
            for k, i in enumerate(range(0, len(audio), BLOCK)):
                delay = t0 + k * BLOCK / 16000 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(audio[i : i + BLOCK].tobytes())
            delay = t0 + len(audio) / 16000 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send(json.dumps({"type": "control", "command": "stop"}))
            sent = time.perf_counter()
            while True:
                msg = json.loads(await ws.recv())
                if msg.get("type") == "result" and msg.get("mode") == "final":
                    latencies.append((time.perf_counter() - sent) * 1000)
                    break
            await asyncio.sleep(0.3)  # a pause between utterances
    return latencies


async def run_clients(port: int, n: int, seconds: float, utterances: int) -> list[list[float]]:
    url = f"ws://127.0.0.1:{port}/ws/asr"
    start = time.perf_counter() + 1.0
    # speakers do not start in lock-step: spread their starts over one chunk (600 ms)
    tasks = [client(url, i, seconds, utterances, start + 0.6 * i / n) for i in range(n)]
    return list(await asyncio.gather(*tasks))


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 1e6


def idle_cpu(pid: int, seconds: float = 10.0) -> float:
    p = psutil.Process(pid)
    p.cpu_percent(None)
    time.sleep(seconds)
    return p.cpu_percent(None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--clients", default="1,4,8,12,16,20,24")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--utterances", type=int, default=2)
    parser.add_argument(
        "--variants",
        default="stock,fp32,int8",
        help="stock (the baseline: stock FunASR generate behind the same service), fp32, "
        "int8, fp32-nobatch",
    )
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    print(f"Machine: {machine()}\n")
    memory_rows = []
    capacity_rows = []
    for variant in args.variants.split(","):
        if variant == "stock":
            extra = ["stock"]
        else:
            precision = variant.split("-")[0]
            extra = ["--precision", precision] + (
                ["--no-batching"] if "nobatch" in variant else []
            )
        port = free_port()
        log("starting", variant)
        proc = start_server(args.model_dir, port, extra)
        try:
            loaded = rss_mb(proc.pid)
            idle = idle_cpu(proc.pid)
            best = 0
            for n in counts:
                results = asyncio.run(run_clients(port, n, args.seconds, args.utterances))
                flat = [x for r in results for x in r]
                first = [r[0] for r in results]
                last = [r[-1] for r in results]
                p50, p95 = median(flat), percentile(flat, 95)
                growing = median(last) - median(first) > 300
                ok = p95 <= 1000 and not growing
                capacity_rows.append([variant, n, p50, p95, median(first), median(last),
                                      "yes" if ok else "no"])
                log(variant, n, f"p50 {p50:.0f} p95 {p95:.0f}", "ok" if ok else "FAIL")
                if ok:
                    best = n
                else:
                    break
            memory_rows.append([variant, loaded, rss_mb(proc.pid), idle, best])
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"### Concurrent real-time clients ({args.seconds:g} s utterances, "
          f"{args.utterances} each)\n")
    print(table(["variant", "clients", "p50 ms", "p95 ms", "first utt. p50", "last utt. p50",
                 "within rule"], capacity_rows), "\n")
    print("### Server process\n")
    print(table(["variant", "RSS loaded MB", "RSS after load test MB", "idle CPU %",
                 "capacity (clients)"], memory_rows))


if __name__ == "__main__":
    main()
