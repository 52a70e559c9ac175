"""``run_server_only``: the foreground service stops gracefully on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tingxie.engine.fake import tone

from .client import audio, recording, recv, run

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from tingxie.engine.fake import fake_recognizer
from tingxie.engine.handle import EngineHandle
from tingxie.server.cli import run_server_only
from tingxie.server.config import ServerConfig
sys.exit(run_server_only(EngineHandle.ready(fake_recognizer()), ServerConfig(port=int(sys.argv[1]))))
"""


def start(port: int = 0) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(port)], cwd=ROOT, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if match:
            return proc, int(match.group(1))
    raise AssertionError(f"server did not start: {proc.wait()}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_gracefully_with_the_final_delivered(sig: signal.Signals) -> None:
    proc, port = start()
    try:
        async def flow() -> None:
            async with recording(f"ws://127.0.0.1:{port}/ws/asr") as ws:
                await ws.send(audio(tone(0.325, 1.0)))
                assert (await recv(ws))["text"] == "六"
                proc.send_signal(sig)
                final = await recv(ws)
                assert (final["mode"], final["text"]) == ("final", "六六")
                try:
                    await asyncio.wait_for(ws.recv(), 5)
                except ConnectionClosed as exc:
                    assert exc.rcvd is not None and exc.rcvd.code == 1001
                else:
                    raise AssertionError("still open")

        run(flow())
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_busy_port_exits_with_status_2() -> None:
    first, port = start()
    try:
        second = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(port)], cwd=ROOT, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60,
        )
        assert second.returncode == 2
        assert f"port {port} is already in use" in second.stderr
    finally:
        first.terminate()
        first.wait(15)
