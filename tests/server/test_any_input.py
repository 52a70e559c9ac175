"""Property: any sequence of client messages, sent to a real server, yields only documented
replies, never an exception or a dropped connection."""

from __future__ import annotations

import json
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tingxie.engine.fake import fake_two_pass_recognizer
from tingxie.engine.handle import EngineHandle
from tingxie.server.background import BackgroundServer
from tingxie.server.config import ServerConfig

from .client import greeted, recv, run
from .strategies import client_messages

MAX_BYTES = 4096


@pytest.fixture(scope="module")
def small_server() -> Iterator[BackgroundServer]:
    recognizer = fake_two_pass_recognizer()  # a start's options reach its second pass
    server = BackgroundServer(
        EngineHandle.ready(recognizer),
        ServerConfig(port=0, max_message_bytes=MAX_BYTES, max_utterance_s=1.0),
    )
    server.start()
    yield server
    server.stop()
    recognizer.close()


huge = st.sampled_from([
    "x" * (MAX_BYTES + 1),
    json.dumps({"type": "audio", "data": "A" * MAX_BYTES}),
    b"\0" * (MAX_BYTES + 2),
    "[" * 3000,
    '{"type": "audio", "data": "' + "AAAA" * 1000 + '"}',
])
messages = st.lists(st.one_of(client_messages, huge), max_size=15)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=messages)
def test_any_sequence_gets_documented_replies_on_a_live_connection(
    small_server: BackgroundServer, sequence: list[str | bytes]
) -> None:
    async def flow() -> None:
        async with greeted(small_server.ws_url) as ws:
            for data in sequence:
                await ws.send(data)
            # A probe with a unique unknown command: its error comes after every reply to
            # the sequence, each of which recv() checks against the documented layout.
            await ws.send(json.dumps({"type": "control", "command": "probe-7f3a"}))
            while True:
                reply = await recv(ws)
                if reply["type"] == "error" and "probe-7f3a" in reply["message"]:
                    assert reply["code"] == 400
                    break
            await ws.send(json.dumps({"type": "control", "command": "reset"}))
            assert (await recv(ws))["message"].startswith("reset")
            # Still fully usable afterwards.
            await ws.send(json.dumps({"type": "control", "command": "start"}))
            assert (await recv(ws))["message"] == "recording started"
            await ws.send(json.dumps({"type": "control", "command": "stop"}))
            assert (await recv(ws))["message"] == "recording stopped"
            assert (await recv(ws))["mode"] == "final"

    run(flow(), timeout=30)
