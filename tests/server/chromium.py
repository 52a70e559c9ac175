"""Headless Debian Chromium driven over the DevTools protocol (no Playwright download).

The fake microphone plays a WAV file: ``--use-file-for-fake-audio-capture``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, Optional

import websockets

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    """A headless browser process; ``async with Chromium(wav) as browser``."""

    def __init__(self, wav: Path) -> None:
        self.wav = wav
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.profile = tempfile.mkdtemp(prefix="tingxie-chromium-")
        self.port = 0

    async def __aenter__(self) -> "Chromium":
        assert CHROMIUM is not None
        args = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={self.profile}",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={self.wav}",
            "--autoplay-policy=no-user-gesture-required",
            "--remote-debugging-port=0", "about:blank",
        ]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ}
        )
        self.port = await asyncio.wait_for(asyncio.to_thread(self._read_port), 30)
        return self

    def _read_port(self) -> int:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            match = re.search(rb"DevTools listening on ws://[^:]+:(\d+)/", raw)
            if match:
                # Keep draining stderr so chromium never blocks on a full pipe.
                threading_drain(self.proc)
                return int(match.group(1))
        raise RuntimeError("chromium exited before opening DevTools")

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(asyncio.to_thread(self.proc.wait), 10)
            except asyncio.TimeoutError:
                self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    async def page(self) -> "Page":
        def targets() -> list[dict[str, Any]]:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list") as r:
                return list(json.load(r))

        for target in await asyncio.to_thread(targets):
            if target.get("type") == "page":
                ws = await websockets.connect(
                    target["webSocketDebuggerUrl"], max_size=None, open_timeout=10
                )
                return Page(ws)
        raise RuntimeError("no page target")


def threading_drain(proc: "subprocess.Popen[bytes]") -> None:
    import threading

    def drain() -> None:
        assert proc.stderr is not None
        for _ in proc.stderr:
            pass

    threading.Thread(target=drain, daemon=True).start()


class Page:
    """One tab, spoken to with DevTools commands."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == call_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))

    async def evaluate(self, expression: str, await_promise: bool = True) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=await_promise,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def goto(self, url: str) -> None:
        await self.send("Page.enable")
        await self.send("Page.navigate", url=url)
        # Wait until the page's script has run.
        for _ in range(200):
            try:
                if await self.evaluate("typeof window.tingxie === 'object'"):
                    return
            except RuntimeError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{url} did not load")

    async def wait_for(self, expression: str, timeout: float) -> Any:
        """Poll ``expression`` until truthy (the page has no event we can await over CDP
        cheaply); returns its value."""
        async def poll() -> Any:
            while True:
                value = await self.evaluate(expression)
                if value:
                    return value
                await asyncio.sleep(0.05)

        return await asyncio.wait_for(poll(), timeout)

    async def close(self) -> None:
        await self.ws.close()
