"""What a seed client may ask of the second pass in its ``start`` (hotwords, refine, punc,
itn), the ``refined`` flag of each final, and ``/health``'s list of models: the messages,
the state machine, and a real server around the real worker with the second pass's fakes
(``FakeSegmentDecoder``: upper-case ``<letter>`` per 600 ms then ``[hotword]``s;
``FakePunctuator``: a final 。)."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from tingxie.engine.fake import (
    FakeDecoder,
    FakePunctuator,
    fake_two_pass_recognizer,
    tone,
)
from tingxie.engine.handle import EngineHandle
from tingxie.engine.second_pass import Refinement, SecondPass
from tingxie.engine.streaming import StreamingRecognizer
from tingxie.server.background import BackgroundServer
from tingxie.server.protocols.base import Finish
from tingxie.server.protocols.seed import SeedProtocol
from tingxie.server.protocols.seed_messages import (
    Command,
    Control,
    ErrorMessage,
    ProtocolError,
    parse_client_message,
)

from .client import audio, greeted, recv, run
from .conftest import StartServer
from .test_app import get

MB = 1 << 20
LOUD = 0.325  # the fake's 六


def start(**options: Any) -> str:
    return json.dumps({"type": "control", "command": "start", **options}, ensure_ascii=False)


# --- the messages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "options"),
    [
        ({}, None),
        ({"hotwords": "听写 魔搭, 通义、千问"}, Refinement(hotwords=("听写", "魔搭", "通义", "千问"))),
        ({"hotwords": ["machine learning", " 听写 ", "听写", ""]},
         Refinement(hotwords=("machine learning", "听写"))),
        ({"hotwords": []}, Refinement(hotwords=())),
        ({"refine": False, "punc": True, "itn": False},
         Refinement(refine=False, punctuate=True, itn=False)),
        ({"refine": None, "hotwords": None}, None),  # null: not given
    ],
)
def test_a_start_carries_its_second_pass_options(
    fields: dict[str, Any], options: Refinement | None
) -> None:
    message = parse_client_message(start(**fields), MB)
    assert message == Control(Command.START, None, options)
    # and a client library writes them the same way
    assert parse_client_message(message.serialize(), MB) == message


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"refine": "no"}, "'refine' must be true or false, got str"),
        ({"punc": 0}, "'punc' must be true or false, got int"),
        ({"itn": [True]}, "'itn' must be true or false, got list"),
        ({"hotwords": 7}, "'hotwords' must be a string or a list of strings, got int"),
        ({"hotwords": ["听写", 3]}, "'hotwords' must be a string or a list of strings, got a "
         "list holding int"),
        ({"hotwords": {"听写": 20}}, "'hotwords' must be a string or a list of strings, got dict"),
    ],
)
def test_a_mistyped_option_is_a_400_that_names_it(fields: dict[str, Any], said: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(start(**fields), MB)
    assert (info.value.code, info.value.message) == (400, said)


def test_options_on_other_commands_are_not_read() -> None:
    for command in ("stop", "reset"):
        raw = json.dumps({"type": "control", "command": command, "refine": "whatever"})
        assert parse_client_message(raw, MB) == Control(Command(command))


# --- the state machine -----------------------------------------------------------------


def test_the_options_of_start_go_with_its_utterance_to_finish() -> None:
    p = SeedProtocol(clock_ms=lambda: 42)
    p.receive(start(hotwords=["听写"], punc=False))
    asked = Refinement(punctuate=False, hotwords=("听写",))
    assert p.receive(start(refine=False))[-1].message.message == "already recording"  # type: ignore[union-attr]
    assert p.receive(json.dumps({"type": "control", "command": "stop"}))[-1] == Finish(1, asked)
    p.receive(start())  # the next utterance asks nothing: the service's defaults
    assert p.close() == [Finish(2, None)]


def test_a_bad_start_records_nothing_and_the_connection_goes_on() -> None:
    p = SeedProtocol(clock_ms=lambda: 42)
    [reply] = p.receive(start(refine="no"))
    assert isinstance(reply.message, ErrorMessage) and reply.message.code == 400  # type: ignore[union-attr]
    assert p.close() == []  # not recording
    assert p.receive(start())[-1].message.message == "recording started"  # type: ignore[union-attr]


# --- a real server ---------------------------------------------------------------------


@pytest.fixture
def two_pass_server(start_server: StartServer) -> Iterator[BackgroundServer]:
    recognizer = fake_two_pass_recognizer()
    yield start_server(EngineHandle.ready(recognizer))
    recognizer.close()


async def utterance(ws: Any, start_message: str, seconds: float = 1.2) -> dict[str, Any]:
    """One utterance on an open connection: its final message."""
    await ws.send(start_message)
    assert (await recv(ws))["message"] == "recording started"
    await ws.send(audio(tone(LOUD, seconds)))
    await ws.send(json.dumps({"type": "control", "command": "stop"}))
    while True:
        message = await recv(ws)
        if message["type"] == "result" and message["mode"] == "final":
            return message


def test_each_utterance_gets_what_its_start_asked(two_pass_server: BackgroundServer) -> None:
    async def flow() -> list[dict[str, Any]]:
        async with greeted(two_pass_server.ws_url) as ws:
            return [
                await utterance(ws, start()),  # a seed client: the service's defaults
                await utterance(ws, start(hotwords="听写 魔搭")),
                await utterance(ws, start(hotwords=["听写"], punc=False)),
                await utterance(ws, start(refine=False)),
                await utterance(ws, start(refine=False, punc=False)),
            ]

    finals = run(flow())
    assert [(f["text"], f["refined"]) for f in finals] == [
        ("<六><六>。", True),
        ("<六><六>[听写][魔搭]。", True),
        ("<六><六>[听写]", True),
        ("六六。", False),  # the live draft, punctuated
        ("六六", False),
    ]


def test_a_bad_option_is_answered_and_the_client_goes_on(two_pass_server: BackgroundServer) -> None:
    async def flow() -> tuple[dict[str, Any], dict[str, Any]]:
        async with greeted(two_pass_server.ws_url) as ws:
            await ws.send(start(hotwords=42))
            error = await recv(ws)
            return error, await utterance(ws, start())

    error, final = run(flow())
    assert (error["type"], error["code"]) == ("error", 400)
    assert error["message"] == "'hotwords' must be a string or a list of strings, got int"
    assert (final["text"], final["refined"]) == ("<六><六>。", True)


def test_a_final_without_second_pass_says_it_is_not_refined(server: BackgroundServer) -> None:
    async def flow() -> dict[str, Any]:
        async with greeted(server.ws_url) as ws:
            return await utterance(ws, start(hotwords="听写"))

    final = run(flow())
    assert (final["text"], final["refined"]) == ("六六", False)


def test_health_lists_every_loaded_model(two_pass_server: BackgroundServer) -> None:
    status, health = get(two_pass_server.url + "/health")
    assert (status, health["status"]) == (200, "healthy")
    assert [(m["role"], m["name"]) for m in health["models"]] == [
        ("streaming", "fake"), ("refine", "fake-offline"), ("punc", "fake-punc"),
        ("vad", "fake-vad")]
    assert health["second_pass"] == {"status": "ok", "problems": []}


def test_health_says_what_is_missing_while_the_service_goes_on(start_server: StartServer) -> None:
    problem = "offline recognizer paraformer-zh: not found (downloading is turned off)"
    second = SecondPass(None, FakePunctuator(), None, problems=[problem])
    recognizer = StreamingRecognizer(FakeDecoder(), second_pass=second)
    try:
        server = start_server(EngineHandle.ready(recognizer))
        status, health = get(server.url + "/health")
        # still healthy for a load balancer: finals come, from the draft
        assert (status, health["status"], health["model_loaded"]) == (200, "healthy", True)
        assert health["second_pass"] == {"status": "degraded", "problems": [problem]}
        assert [m["role"] for m in health["models"]] == ["streaming", "punc"]

        async def flow() -> dict[str, Any]:
            async with greeted(server.ws_url) as ws:
                return await utterance(ws, start())

        final = run(flow())
        assert (final["text"], final["refined"]) == ("六六。", False)
    finally:
        recognizer.close()


def test_health_of_a_recognizer_without_second_pass(server: BackgroundServer) -> None:
    _, health = get(server.url + "/health")
    assert [m["role"] for m in health["models"]] == ["streaming"]
    assert health["second_pass"] == {"status": "off", "problems": []}


def test_seed_clients_that_never_heard_of_options_see_only_the_documented_fields(
    two_pass_server: BackgroundServer,
) -> None:
    # recv checks every message against the layout; a final has exactly one field more
    async def flow() -> dict[str, Any]:
        async with greeted(two_pass_server.ws_url) as ws:
            return await utterance(ws, json.dumps({"type": "control", "command": "start",
                                                   "timestamp": 1698756432000}))

    final = run(flow())
    assert set(final) == {"type", "mode", "text", "timestamp", "confidence",
                          "processing_time_ms", "refined"}
