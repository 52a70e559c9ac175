"""A seed-style test client: JSON messages over ``websockets``, every wait bounded.

``greeted(url)`` is a connection past its ``connected`` greeting, ``recording(url)`` one
past ``start`` too; ``dictate`` is a whole utterance.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Coroutine, TypeVar

import numpy as np
import numpy.typing as npt
from websockets.asyncio.client import ClientConnection, connect

from tingxie.engine.interface import SAMPLE_RATE
from tingxie.server.protocols.seed_messages import ServerMessage, parse_server_message

T = TypeVar("T")
TIMEOUT = 10.0


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run a client coroutine to completion from a synchronous test."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def control(command: str) -> str:
    return json.dumps({"type": "control", "command": command,
                       "timestamp": int(time.time() * 1000)})


def audio(pcm: bytes | npt.NDArray[np.int16]) -> str:
    data = pcm.tobytes() if isinstance(pcm, np.ndarray) else pcm
    return json.dumps({"type": "audio", "data": base64.b64encode(data).decode(),
                       "timestamp": int(time.time() * 1000)})


async def open_client(url: str, **kwargs: Any) -> ClientConnection:
    """Connect and read the status greeting (must be 200)."""
    ws = await connect(url, open_timeout=TIMEOUT, **kwargs)
    greeting = await recv(ws)
    assert greeting == {"type": "status", "code": 200, "message": "connected",
                        "timestamp": greeting["timestamp"]}
    return ws


@asynccontextmanager
async def greeted(url: str, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    """A connection whose greeting was status 200 ``connected``; closed on leaving."""
    ws = await open_client(url, **kwargs)
    try:
        yield ws
    finally:
        await ws.close()


@asynccontextmanager
async def recording(url: str, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    """A greeted connection whose ``start`` was answered ``recording started``."""
    async with greeted(url, **kwargs) as ws:
        await ws.send(control("start"))
        reply = await recv(ws)
        assert (reply["type"], reply["code"], reply["message"]) == (
            "status", 200, "recording started"), reply
        yield ws


async def recv(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The next message, checked against the documented layout, as a dict."""
    raw = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(raw, str), f"the server sent a binary frame: {raw!r}"
    parse_server_message(raw)  # raises for anything undocumented
    return dict(json.loads(raw))


async def recv_typed(ws: ClientConnection, timeout: float = TIMEOUT) -> ServerMessage:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(raw, str)
    return parse_server_message(raw)


async def nothing_more(ws: ClientConnection, within: float = 0.3) -> None:
    """Assert no message arrives within ``within`` seconds."""
    try:
        raw = await asyncio.wait_for(ws.recv(), within)
    except asyncio.TimeoutError:
        return
    raise AssertionError(f"unexpected message: {raw!r}")


async def dictate(url: str, pcm: npt.NDArray[np.int16], piece_s: float = 0.2,
                  realtime: bool = False, binary: bool = False) -> tuple[list[str], dict[str, Any]]:
    """One utterance the seed way: start, audio in pieces (one reply read per piece is not
    assumed), stop; returns (partial texts, final message)."""
    async with recording(url) as ws:
        step = int(SAMPLE_RATE * piece_s)
        for i in range(0, len(pcm), step):
            piece = pcm[i:i + step]
            await ws.send(piece.tobytes() if binary else audio(piece))
            if realtime:
                await asyncio.sleep(piece_s)  # a live microphone, not a wait for the server
        await ws.send(control("stop"))
        partials: list[str] = []
        while True:
            msg = await recv(ws, 60)
            if msg["type"] == "result" and msg["mode"] == "partial":
                partials.append(msg["text"])
                continue
            assert msg == {**msg, "type": "status", "message": "recording stopped"}, msg
            break
        final = await recv(ws, 60)
        assert final["type"] == "result" and final["mode"] == "final", final
        return partials, final
