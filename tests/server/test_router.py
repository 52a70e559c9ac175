"""The router: which WebSocket path speaks which protocol. A second protocol is a class
beside the seed's and one ``Router.add``; served on the same port, through the same
adapter, with the seed protocol's code untouched."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tingxie.engine.fake import tone
from tingxie.engine.handle import EngineHandle
from tingxie.server.app import AsrServer
from tingxie.server.config import ServerConfig
from tingxie.server.errors import ServerError
from tingxie.server.protocols import funasr_runtime, seed
from tingxie.server.protocols.base import (
    Action,
    BeginUtterance,
    Counted,
    Feed,
    Finish,
    Outgoing,
    Reply,
)
from tingxie.server.router import Router, default_router, normalize_path

from .client import dictate, run

LOUD = 0.325  # the fake engine hears 六


@dataclass(frozen=True)
class Line:
    """A message of the line protocol: one JSON text frame."""

    body: dict[str, Any]

    def serialize(self) -> str:
        return json.dumps(self.body, ensure_ascii=False)


class LineProtocol:
    """A minimal second protocol: binary frames are PCM of one utterance, the text frame
    ``end`` finishes it and gets ``{"text": ...}``; partials are not sent."""

    def __init__(self, config: ServerConfig) -> None:
        self.utterance = 0
        self.open = False

    def connected(self) -> list[Action]:
        return [Reply(Line({"hello": "line"}))]

    def receive(self, data: str | bytes, *, engine_ready: bool) -> list[Action]:
        if isinstance(data, bytes):
            actions: list[Action] = []
            if not self.open:
                self.utterance += 1
                self.open = True
                actions.append(BeginUtterance(self.utterance))
            return [*actions, Feed(self.utterance, data, report=False)]
        if data == "end" and self.open:
            self.open = False
            return [Finish(self.utterance)]
        return [Reply(Line({"error": f"unexpected {data!r}"}))]

    def close(self) -> list[Action]:
        return [Finish(self.utterance)] if self.open else []

    def engine_lost(self) -> list[Action]:
        self.open = False
        return [Reply(Line({"error": "engine lost"}))]

    def partial_ready(self, utterance: int, text: str, confidence: float,
                      processing_time_ms: float) -> Optional[Outgoing]:
        return None

    def final_ready(self, utterance: int, text: str, confidence: float,
                    processing_time_ms: float, *, refined: bool = False) -> Outgoing:
        return Line({"text": text, "utterance": utterance})

    def engine_failed(self, utterance: int, reason: str, final: bool) -> Sequence[Outgoing]:
        return [Line({"error": reason})]

    def idle_timeout(self, seconds: float) -> Outgoing:
        return Line({"error": f"idle {seconds:g} s"})

    def counts_as(self, message: Outgoing) -> Counted:
        assert isinstance(message, Line)
        if "error" in message.body:
            return Counted.ERROR
        return Counted.FINAL if "text" in message.body else Counted.NOTHING



def test_paths_are_matched_normalized_and_added_once() -> None:
    router = Router()
    router.add("/ws/line/", LineProtocol)
    assert router.match(normalize_path("/ws/line")) is LineProtocol
    assert router.match(normalize_path("/ws/line/")) is LineProtocol
    assert router.match("/ws/other") is None
    with pytest.raises(ServerError, match="already serves"):
        router.add("/ws/line", LineProtocol)
    with pytest.raises(ServerError, match="starts with '/'"):
        router.add("ws/line", LineProtocol)
    assert list(default_router()) == [seed.PATH, funasr_runtime.PATH]


def test_a_route_cannot_take_an_http_page(fake_handle: EngineHandle) -> None:
    router = default_router()
    router.add("/health", LineProtocol)
    with pytest.raises(ServerError, match="/health is an HTTP page"):
        AsrServer(fake_handle, ServerConfig(port=0), routes=router)


def test_a_second_protocol_is_served_beside_the_seed_on_one_port(
    fake_handle: EngineHandle,
) -> None:
    router = default_router()
    router.add("/ws/line", LineProtocol)

    async def flow() -> None:
        server = AsrServer(fake_handle, ServerConfig(port=0), routes=router)
        await server.start()
        try:
            base = f"ws://127.0.0.1:{server.port}"

            async def line_client() -> dict[str, Any]:
                async with connect(base + "/ws/line") as ws:
                    assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"hello": "line"}
                    pcm = tone(LOUD, 1.2)
                    for i in range(0, len(pcm), 3200):
                        await ws.send(pcm[i:i + 3200].tobytes())
                    await ws.send("end")
                    return json.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[no-any-return]

            line, (_, final) = await asyncio.gather(
                line_client(), dictate(base + seed.PATH, tone(LOUD, 1.2)))
            assert line == {"text": "六六", "utterance": 1}
            assert final["text"] == "六六"
            stats = server.stats.snapshot()
            assert stats.utterances == 2  # both protocols' finals counted
            with pytest.raises(InvalidStatus) as info:
                await connect(base + "/ws/nothing")
            assert info.value.response.status_code == 404
        finally:
            await server.shutdown()

    run(flow(), timeout=60)
