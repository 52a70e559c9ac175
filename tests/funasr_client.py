"""A client of FunASR's runtime WebSocket protocol, written from its documentation
(``runtime/docs/websocket_protocol.md``) and from what FunASR's own clients do, not from
Tingxie's code: the tests of ``/`` check the server against it.

Two generations of ``funasr_wss_client.py`` end an input differently:

- ``"current"``: ``{"is_speaking": false, "is_end": true}``, then it waits for the
  acknowledgement (a reply with ``"is_end": true``; it fails without ``"is_final": true``);
- ``"2024"``: ``{"is_speaking": false}`` only; it keeps what arrived (this client reads
  until the reply with ``"is_final": true``, which FunASR's servers do not always send).

``Transcript`` keeps every reply and shows the text the way those clients print it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt
from websockets.asyncio.client import ClientConnection, connect

REPLY_KEYS = {"mode", "text", "wav_name", "is_final"}
TIMEOUT = 30.0


@dataclass
class Transcript:
    replies: list[dict[str, Any]] = field(default_factory=list)
    acknowledgement: Optional[dict[str, Any]] = None

    def texts(self, *modes: str) -> list[str]:
        return [r["text"] for r in self.replies if r["mode"] in modes and "error" not in r]

    @property
    def online(self) -> str:
        """The streaming text, concatenated as the clients do."""
        return "".join(self.texts("online", "2pass-online"))

    @property
    def offline(self) -> str:
        """The finished segments (``offline``, ``2pass-offline``), concatenated."""
        return "".join(self.texts("offline", "2pass-offline"))

    @property
    def shown(self) -> str:
        """What ``funasr_wss_client.py`` prints last in 2pass mode: the finished segments,
        then the streaming text of the segment after them."""
        done, live = "", ""
        for reply in self.replies:
            if reply["mode"] == "2pass-online":
                live += reply["text"]
            elif reply["mode"] == "2pass-offline":
                done, live = done + reply["text"], ""
        return done + live

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.replies if "error" in r]

    @property
    def finals(self) -> list[dict[str, Any]]:
        return [r for r in self.replies if r["is_final"]]


def first_message(
    *,
    mode: str = "2pass",
    wav_name: str = "demo",
    wav_format: Optional[str] = "pcm",
    audio_fs: Optional[int] = 16000,
    chunk_size: Union[list[int], str] = [5, 10, 5],
    chunk_interval: int = 10,
    hotwords: Union[str, dict[str, int], None] = "",
    itn: bool = True,
) -> dict[str, Any]:
    """What ``funasr_wss_client.py`` sends first (microphone mode leaves out ``audio_fs``
    and ``wav_format``: pass None)."""
    message: dict[str, Any] = {
        "mode": mode,
        "chunk_size": chunk_size,
        "chunk_interval": chunk_interval,
        "encoder_chunk_look_back": 4,
        "decoder_chunk_look_back": 0,
        "wav_name": wav_name,
        "is_speaking": True,
        "hotwords": json.dumps(hotwords, ensure_ascii=False) if isinstance(hotwords, dict)
        else hotwords,
        "itn": itn,
    }
    if audio_fs is not None:
        message["audio_fs"] = audio_fs
    if wav_format is not None:
        message["wav_format"] = wav_format
    return message


def frames(data: bytes, *, audio_fs: int = 16000, chunk_size: Union[list[int], str] = [5, 10, 5],
           chunk_interval: int = 10) -> list[bytes]:
    """The binary frames the client cuts ``data`` into: 60 ms × chunk_size[1] /
    chunk_interval of audio each (1,920 bytes at 16 kHz)."""
    middle = int(chunk_size.split(",")[1]) if isinstance(chunk_size, str) else chunk_size[1]
    stride = int(60 * middle / chunk_interval / 1000 * audio_fs * 2)
    return [data[i:i + stride] for i in range(0, len(data), stride)]


async def recv(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(raw, str), f"the server sent a binary frame: {raw!r}"
    reply = json.loads(raw)
    assert isinstance(reply, dict) and REPLY_KEYS <= set(reply), reply  # clients read these
    return reply


async def send_input(
    ws: ClientConnection,
    audio: Union[bytes, npt.NDArray[np.int16]],
    *,
    generation: str = "current",
    end: Optional[dict[str, Any]] = None,
    **settings: Any,
) -> Transcript:
    """One input on an open connection: the first message (``first_message(**settings)``),
    the audio in frames, the end message of ``generation``; the replies until its end."""
    data = audio.tobytes() if isinstance(audio, np.ndarray) else audio
    message = first_message(**settings)
    await ws.send(json.dumps(message, ensure_ascii=False))
    cut = {k: message[k] for k in ("chunk_size", "chunk_interval")}
    for frame in frames(data, audio_fs=message.get("audio_fs") or 16000, **cut):
        await ws.send(frame)
    if end is None:
        end = {"is_speaking": False, "is_end": True} if generation == "current" else \
            {"is_speaking": False}
    await ws.send(json.dumps(end))
    transcript = Transcript()
    while True:
        reply = await recv(ws)
        if reply.get("is_end"):
            transcript.acknowledgement = reply
            return transcript
        transcript.replies.append(reply)
        if reply["is_final"] and not end.get("is_end"):
            return transcript


async def recognize(url: str, audio: Union[bytes, npt.NDArray[np.int16]], **kwargs: Any) -> Transcript:
    """One input on its own connection, with the ``binary`` subprotocol as the client asks."""
    async with connect(url, subprotocols=["binary"], open_timeout=TIMEOUT) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "binary"
        return await send_input(ws, audio, **kwargs)


def run(coro: Any, timeout: float = 120.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))
