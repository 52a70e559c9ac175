"""A real server on 127.0.0.1 with real ``websockets`` clients, around the fake engine.

The fake decoder turns each 600 ms chunk into one digit by loudness: ``tone(0.325, s)``
decodes to "六" per chunk, ``tone(0.125, s)`` to "二".
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tingxie.engine.fake import fake_recognizer, tone
from tingxie.engine.handle import EngineHandle
from tingxie.server.background import BackgroundServer

from .client import (
    audio,
    control,
    dictate,
    greeted,
    nothing_more,
    open_client,
    recording,
    recv,
    run,
)
from .conftest import StartServer

LOUD = 0.325  # -> 六
SOFT = 0.125  # -> 二


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            status = response.status
            kind = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        body, status, kind = exc.read(), exc.code, exc.headers.get("Content-Type", "")
    return status, (json.loads(body) if "json" in kind else body.decode())


def stats(server: BackgroundServer) -> dict[str, Any]:
    status, body = get(server.url + "/stats")
    assert status == 200
    return dict(body)


# --- the seed client's flows -------------------------------------------------------------


def test_seed_client_flow_step_by_step(server: BackgroundServer) -> None:
    async def flow() -> None:
        async with connect(server.ws_url) as ws:
            greeting = await recv(ws)
            assert (greeting["type"], greeting["code"]) == ("status", 200)
            assert abs(greeting["timestamp"] - time.time() * 1000) < 5000

            await ws.send(control("start"))
            # The seed README's snippet reads this as a result; it is (and was) a status.
            reply = await recv(ws)
            assert (reply["type"], reply["code"], reply["message"]) == (
                "status", 200, "recording started")

            await ws.send(audio(tone(LOUD, 1.25)))  # two whole chunks
            partial = await recv(ws)
            assert (partial["type"], partial["mode"], partial["text"]) == ("result", "partial", "六六")
            assert 0.5 < partial["confidence"] <= 1.0 and partial["confidence"] != 0.95
            assert partial["processing_time_ms"] >= 0

            await ws.send(control("stop"))
            assert (await recv(ws))["message"] == "recording stopped"
            final = await recv(ws)
            assert (final["type"], final["mode"], final["text"]) == ("result", "final", "六六六")
            await nothing_more(ws)

            # The connection serves the next utterance.
            await ws.send(control("start"))
            assert (await recv(ws))["type"] == "status"
            await ws.send(audio(tone(SOFT, 0.7)))
            assert (await recv(ws))["text"] == "二"
            await ws.send(control("stop"))
            await recv(ws)
            assert (await recv(ws))["text"] == "二二"

    run(flow())


def test_at_most_one_partial_per_audio_message_and_only_on_change(server: BackgroundServer) -> None:
    async def flow() -> None:
        async with recording(server.ws_url) as ws:
            # 0.2 s pieces: a new chunk completes every third message.
            pcm = tone(LOUD, 3.0)
            for i in range(0, len(pcm), 3200):
                await ws.send(audio(pcm[i:i + 3200]))
            await ws.send(control("stop"))
            messages = []
            while True:
                msg = await recv(ws)
                messages.append(msg)
                if msg["type"] == "result" and msg["mode"] == "final":
                    break
            partials = [m["text"] for m in messages if m.get("mode") == "partial"]
            assert partials == ["六" * n for n in range(1, 6)]
            assert [m["type"] for m in messages[-2:]] == ["status", "result"]
            assert messages[-1]["text"] == "六" * 5

    run(flow())


def test_a_client_reading_one_reply_per_audio_message_never_falls_behind(
    server: BackgroundServer,
) -> None:
    async def flow() -> None:
        async with recording(server.ws_url) as ws:
            for _ in range(4):  # each message completes a chunk: each gets its partial
                await ws.send(audio(tone(LOUD, 0.6)))
                assert (await recv(ws))["mode"] == "partial"
            await ws.send(control("stop"))
            assert (await recv(ws))["type"] == "status"
            assert (await recv(ws))["text"] == "六六六六"

    run(flow())


def test_binary_frames_decode_like_base64(server: BackgroundServer) -> None:
    pcm = np.concatenate([tone(LOUD, 1.2), tone(SOFT, 1.0)])
    _, as_json = run(dictate(server.ws_url, pcm, piece_s=0.25))
    _, as_binary = run(dictate(server.ws_url, pcm, piece_s=0.25, binary=True))
    assert as_json["text"] == as_binary["text"] == "六六二二"


def test_streaming_state_is_kept_across_odd_sized_messages(server: BackgroundServer) -> None:
    pcm = np.concatenate([tone(SOFT, 0.6), tone(LOUD, 0.6), tone(SOFT, 0.6)])
    _, final = run(dictate(server.ws_url, pcm, piece_s=0.037))
    assert final["text"] == "二六二"


def test_reset_discards_the_utterance(server: BackgroundServer) -> None:
    async def flow() -> None:
        async with recording(server.ws_url) as ws:
            await ws.send(audio(tone(LOUD, 0.5)))  # not a whole chunk: no partial
            await ws.send(control("reset"))
            reply = await recv(ws)
            assert (reply["type"], reply["message"]) == ("status", "reset: utterance discarded")
            await ws.send(audio(tone(LOUD, 1.0)))  # after reset: not recording, ignored
            await ws.send(control("start"))
            await recv(ws)
            await ws.send(audio(tone(SOFT, 0.3)))
            await ws.send(control("stop"))
            await recv(ws)
            assert (await recv(ws))["text"] == "二"

    run(flow())


def test_audio_outside_start_stop_is_ignored_and_counted(server: BackgroundServer) -> None:
    async def flow() -> None:
        async with greeted(server.ws_url) as ws:
            await ws.send(audio(tone(LOUD, 1.2)))
            await ws.send(tone(LOUD, 1.2).tobytes())
            await nothing_more(ws)

    run(flow())
    body = stats(server)
    assert body["ignored_audio_messages"] == 2
    assert body["utterances"] == 0


# --- bad input ---------------------------------------------------------------------------

BAD_INPUTS: list[tuple[str | bytes, int, str]] = [
    ("this is not json", 400, "invalid JSON"),
    ('{"type": "video"}', 400, "unknown type"),
    ('{"type": "control", "command": "pause"}', 400, "unknown command"),
    ('{"type": "control"}', 400, "without 'command'"),
    ('{"type": "audio"}', 400, "without 'data'"),
    ('{"type": "audio", "data": 5}', 400, "must be a base64 string"),
    ('{"type": "control", "command": "start", "timestamp": "soon"}', 400, "timestamp"),
    ('{"type": "audio", "data": "@@@@"}', 422, "not valid base64"),
    ('{"type": "audio", "data": "AAEC"}', 422, "even number of bytes"),
    (b"\x01\x02\x03", 422, "even number of bytes"),
    ("[" * 50_000 + "]" * 50_000, 400, "nested"),
    ('{"type": {"type": {"type": {"type": []}}}}', 400, "'type' must be a string"),
    ("[1, 2, 3]", 400, "JSON object"),
    ('{"type": "control", "command": "stop"}', 409, "stop without start"),
]


def test_every_bad_input_gets_a_documented_error_and_the_connection_stays_usable(
    server: BackgroundServer,
) -> None:
    async def flow() -> None:
        async with greeted(server.ws_url) as ws:
            for data, code, text in BAD_INPUTS:
                await ws.send(data)
                reply = await recv(ws)
                assert (reply["type"], reply["code"]) == ("error", code), (data[:40], reply)
                assert text in reply["message"]
            # Binary garbage while recording: odd length is refused, even length is audio.
            await ws.send(control("start"))
            await recv(ws)
            await ws.send(bytes(range(255)))
            assert (await recv(ws))["code"] == 422
            await ws.send(audio(tone(LOUD, 0.6)))
            assert (await recv(ws))["text"] == "六"
            await ws.send(control("stop"))
            await recv(ws)
            assert (await recv(ws))["text"] == "六"

    run(flow())
    assert stats(server)["errors_sent"] == len(BAD_INPUTS) + 1


def test_message_over_1_mb_is_413_and_the_connection_stays_usable(server: BackgroundServer) -> None:
    async def flow() -> None:
        async with recording(server.ws_url, max_size=None) as ws:
            big = tone(LOUD, 40.0)  # 1.28 MB of PCM
            await ws.send(audio(big))
            reply = await recv(ws)
            assert (reply["type"], reply["code"]) == ("error", 413)
            await ws.send(big.tobytes())
            assert (await recv(ws))["code"] == 413
            await ws.send(audio(tone(LOUD, 0.6)))
            assert (await recv(ws))["text"] == "六"
            await ws.send(control("stop"))
            await recv(ws)
            assert (await recv(ws))["text"] == "六"

    run(flow())


def test_a_frame_beyond_the_websocket_limit_closes_with_1009(server: BackgroundServer) -> None:
    async def flow() -> None:
        async with greeted(server.ws_url, max_size=None) as ws:
            await ws.send(b"\0" * (server.config.websocket_max_size + 2))
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 10)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009

    run(flow())


# --- limits --------------------------------------------------------------------------------


def test_simultaneous_handshakes_never_exceed_max_connections(start_server: StartServer) -> None:
    server = start_server(max_connections=3)

    async def attempt() -> Any:
        try:
            return await open_client(server.ws_url)
        except InvalidStatus as exc:
            return exc.response.status_code

    async def flow() -> None:
        outcomes = await asyncio.gather(*(attempt() for _ in range(12)))
        admitted = [o for o in outcomes if not isinstance(o, int)]
        refused = [o for o in outcomes if isinstance(o, int)]
        assert len(admitted) == 3
        assert refused == [503] * 9
        assert server.active_connections == 3
        body = stats(server)
        assert (body["active_connections"], body["max_connections"]) == (3, 3)
        assert body["connections"]["refused"] == 9
        # A slot frees when a client leaves.
        await admitted[0].close()
        for _ in range(200):
            if server.active_connections == 2:
                break
            await asyncio.sleep(0.01)
        again = await open_client(server.ws_url)
        await again.close()
        for ws in admitted[1:]:
            await ws.close()

    run(flow())


def test_refusal_says_why(start_server: StartServer) -> None:
    server = start_server(max_connections=1)

    async def flow() -> None:
        async with greeted(server.ws_url):
            with pytest.raises(InvalidStatus) as info:
                await connect(server.ws_url)
            assert info.value.response.status_code == 503
            assert b"too many connections" in info.value.response.body

    run(flow())


def test_utterance_limit_keeps_the_start_and_delivers_the_final(start_server: StartServer) -> None:
    server = start_server(max_utterance_s=1.2)

    async def flow() -> None:
        async with recording(server.ws_url) as ws:
            await ws.send(audio(tone(LOUD, 1.0)))
            assert (await recv(ws))["text"] == "六"
            await ws.send(audio(tone(SOFT, 1.0)))  # only 0.2 s of it fits
            reply = await recv(ws)
            assert (reply["type"], reply["code"]) == ("error", 413)
            assert "utterance longer than 1.2 s" in reply["message"]
            await ws.send(audio(tone(SOFT, 1.0)))  # dropped silently now
            await ws.send(control("stop"))
            assert (await recv(ws))["message"] == "recording stopped"
            final = await recv(ws)
            assert final["mode"] == "final" and final["text"] == "六五"  # 2nd chunk: 0.4 s loud, 0.2 s soft

    run(flow())


def test_idle_connection_is_told_and_closed(start_server: StartServer) -> None:
    server = start_server(idle_timeout_s=0.5)

    async def flow() -> None:
        async with recording(server.ws_url) as ws:
            await ws.send(audio(tone(LOUD, 0.9)))
            assert (await recv(ws))["text"] == "六"
            started = time.monotonic()
            final = await recv(ws, 5)  # the utterance in flight still gets its final
            assert (final["mode"], final["text"]) == ("final", "六六")
            told = await recv(ws, 5)
            assert (told["type"], told["code"]) == ("error", 408)
            assert 0.4 < time.monotonic() - started < 3
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 5)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1000

    run(flow())


def test_keepalive_pings_are_sent_and_a_silent_peer_is_dropped(start_server: StartServer) -> None:
    server = start_server(ping_interval_s=0.2, ping_timeout_s=0.5)

    async def flow() -> None:
        # A raw client that completes the handshake and then never answers anything.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"GET /ws/asr HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101")
        opcodes = []
        while True:
            header = await asyncio.wait_for(reader.read(2), 5)
            if len(header) < 2:
                break  # the server dropped us
            length = header[1] & 0x7F
            if length == 126:
                length = int.from_bytes(await reader.readexactly(2), "big")
            await reader.readexactly(length)
            opcodes.append(header[0] & 0x0F)
            if opcodes[-1] == 0x8:
                break
        assert opcodes[0] == 0x1  # the status greeting
        assert 0x9 in opcodes  # a ping
        assert opcodes[-1] == 0x8 or server.active_connections == 0  # closed for no pong
        writer.close()

    run(flow())


# --- safe by default ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("http://localhost:3000", True),
        ("http://127.0.0.1:8080", True),
        ("http://[::1]:5173", True),
        ("https://evil.example", False),
        ("http://localhost.evil.example", False),
        ("null", False),
    ],
)
def test_foreign_origins_are_refused(server: BackgroundServer, origin: str | None, allowed: bool) -> None:
    async def flow() -> None:
        headers = {"Origin": origin} if origin else None
        if allowed:
            async with greeted(server.ws_url, origin=origin):
                pass
        else:
            with pytest.raises(InvalidStatus) as info:
                await connect(server.ws_url, additional_headers=headers)
            assert info.value.response.status_code == 403

    run(flow())


def test_token_is_required_when_set(start_server: StartServer) -> None:
    server = start_server(token="s3cret")

    async def flow() -> None:
        for url, headers in [(server.ws_url, None), (server.ws_url + "?token=wrong", None),
                             (server.ws_url, {"Authorization": "Bearer nope"})]:
            with pytest.raises(InvalidStatus) as info:
                await connect(url, additional_headers=headers)
            assert info.value.response.status_code == 401
        async with greeted(server.ws_url + "?token=s3cret"):
            pass
        async with greeted(server.ws_url, additional_headers={"Authorization": "Bearer s3cret"}):
            pass

    run(flow())
    assert get(server.url + "/stats")[0] == 401
    assert get(server.url + "/stats?token=s3cret")[0] == 200
    assert get(server.url + "/health")[0] == 200
    assert get(server.url + "/test")[0] == 200


def test_binds_loopback_by_default() -> None:
    from tingxie.server.config import ServerConfig

    assert ServerConfig().host == "127.0.0.1"


# --- HTTP endpoints ------------------------------------------------------------------------


def test_http_endpoints(server: BackgroundServer) -> None:
    run(dictate(server.ws_url, tone(LOUD, 1.3)))
    status, info = get(server.url + "/")
    assert status == 200
    assert info["name"] and info["version"] and info["model"] == "fake"
    assert info["endpoints"]["websocket"] == "/ws/asr"

    status, health = get(server.url + "/health")
    assert status == 200
    assert (health["status"], health["model_loaded"], health["model_state"]) == ("healthy", True, "ready")
    assert health["uptime_s"] >= 0
    assert health["engine"] == {"backend": "fake", "device": "cpu", "precision": "fp32"}

    body = stats(server)
    for field in ("active_connections", "max_connections", "cpu_percent", "memory_mb",
                  "utterances", "audio_seconds", "real_time_factor", "latency_ms", "connections"):
        assert field in body, field
    assert body["utterances"] == 1
    assert body["audio_seconds"] == pytest.approx(1.3, abs=0.01)
    assert body["connections"]["total"] == 1
    assert body["latency_ms"]["p50"] is not None and body["latency_ms"]["p95"] >= body["latency_ms"]["p50"]
    assert body["memory_mb"] > 10
    assert 0 < body["real_time_factor"] < 1

    status, page = get(server.url + "/test")
    assert status == 200 and "getUserMedia" in page and "/ws/asr" in page
    assert "<script src" not in page and "<link" not in page  # self-contained, no CDN
    assert 'src="http' not in page and "cdn" not in page.lower()

    status, missing = get(server.url + "/nope")
    assert status == 404 and missing["code"] == 404

    status, _ = get(server.url + "/ws/asr")  # plain HTTP on the WebSocket path
    assert status == 426


def test_health_is_503_and_start_refused_until_the_model_is_ready(start_server: StartServer) -> None:
    recognizer = fake_recognizer()
    release = __import__("threading").Event()

    def loader(progress: Any) -> Any:
        release.wait(30)
        return recognizer

    handle = EngineHandle("fake", loader)
    server = start_server(handle=handle)
    try:
        status, health = get(server.url + "/health")
        assert status == 503
        assert (health["model_loaded"], health["model_state"]) == (False, "not_loaded")

        async def refused() -> None:
            async with greeted(server.ws_url) as ws:
                await ws.send(control("start"))
                reply = await recv(ws)
                assert (reply["type"], reply["code"]) == ("error", 503)
                await ws.send(audio(tone(LOUD, 0.6)))  # not recording: ignored
                await nothing_more(ws)

        run(refused())
        thread = handle.load_in_background()
        assert get(server.url + "/health")[0] == 503  # loading
        release.set()
        thread.join(10)
        assert get(server.url + "/health")[0] == 200
        _, final = run(dictate(server.ws_url, tone(LOUD, 0.6)))
        assert final["text"] == "六"
    finally:
        release.set()
        recognizer.close()


# --- one engine for all --------------------------------------------------------------------


def test_engine_failure_is_error_500_and_the_connection_stays_usable(start_server: StartServer) -> None:
    recognizer = fake_recognizer(fail_on="六")
    server = start_server(handle=EngineHandle.ready(recognizer))

    async def flow() -> None:
        async with recording(server.ws_url) as ws:
            await ws.send(audio(tone(LOUD, 0.6)))
            reply = await recv(ws)
            assert (reply["type"], reply["code"]) == ("error", 500)
            assert "recognition failed" in reply["message"]
            await ws.send(audio(tone(SOFT, 0.6)))
            assert (await recv(ws))["text"] == "二"
            await ws.send(control("stop"))
            await recv(ws)
            assert (await recv(ws))["mode"] == "final"

    try:
        run(flow())
    finally:
        recognizer.close()


def test_inference_never_blocks_the_event_loop(start_server: StartServer) -> None:
    recognizer = fake_recognizer(delay_s=0.5)  # 0.5 s per chunk
    server = start_server(handle=EngineHandle.ready(recognizer))

    async def flow() -> None:
        async with recording(server.ws_url) as busy:
            await busy.send(audio(tone(LOUD, 3.0)))  # 2.5 s of inference queued
            await asyncio.sleep(0.05)
            started = time.monotonic()
            other = await open_client(server.ws_url)  # greeted while the engine is busy
            status, _ = await asyncio.to_thread(get, server.url + "/health")
            assert status == 200
            assert time.monotonic() - started < 1.0  # >= 2.5 s if the loop waited
            await other.close()
            assert (await recv(busy, 10))["text"] == "六" * 5

    try:
        run(flow())
    finally:
        recognizer.close()


def test_a_stalled_client_does_not_delay_others(start_server: StartServer) -> None:
    server = start_server(max_utterance_s=3600)

    async def flow() -> None:
        # This client sends a lot and never reads its replies (~3 MB of partials).
        stalled = await connect(server.ws_url, max_queue=1)
        await stalled.send(control("start"))
        pcm = tone(LOUD, 0.6)
        for _ in range(1500):
            await stalled.send(pcm.tobytes())
        started = time.monotonic()
        _, final = await dictate(server.ws_url, tone(SOFT, 1.2))
        assert final["text"] == "二二"
        assert time.monotonic() - started < 3
        stalled.transport.abort()

    run(flow())


def test_twenty_concurrent_clients_each_get_their_own_final(server: BackgroundServer) -> None:
    levels = [0.025 + 0.05 * (i % 10) for i in range(20)]  # digits 零..九

    async def flow() -> list[dict[str, Any]]:
        jobs = []
        for i, level in enumerate(levels):
            pcm = np.concatenate([tone(level, 1.2), tone(LOUD, 0.6 + 0.6 * (i % 3))])
            jobs.append(dictate(server.ws_url, pcm, piece_s=0.1, realtime=True))
        return [final for _, final in await asyncio.gather(*jobs)]

    finals = run(flow(), timeout=60)
    for i, (level, final) in enumerate(zip(levels, finals)):
        digit = "零一二三四五六七八九"[int(level * 20)]
        assert final["text"] == digit * 2 + "六" * (1 + i % 3), (i, final)


# --- graceful shutdown -----------------------------------------------------------------------


def test_stop_delivers_the_final_of_an_utterance_in_flight(server: BackgroundServer) -> None:
    async def flow() -> None:
        async with recording(server.ws_url) as ws:
            await ws.send(audio(tone(LOUD, 1.0)))
            assert (await recv(ws))["text"] == "六"
            stopping = asyncio.create_task(asyncio.to_thread(server.stop))
            final = await recv(ws)
            assert (final["mode"], final["text"]) == ("final", "六六")
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 5)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1001
            await asyncio.wait_for(stopping, 10)

    run(flow())
    assert not server.running


def test_results_are_checked_with_math() -> None:
    # Guard the test fixtures: the digits these tests expect are what the fake produces.
    assert int(LOUD * 20) == 6 and int(SOFT * 20) == 2
    assert math.isclose(float(np.sqrt(np.mean((tone(LOUD, 0.6) / 32768.0) ** 2))), LOUD, rel_tol=1e-3)


def test_stop_does_not_hang_on_a_stalled_client(start_server: StartServer) -> None:
    server = start_server(max_utterance_s=3600, shutdown_grace_s=0.5, close_timeout_s=0.5)

    async def flow() -> None:
        stalled = await connect(server.ws_url, max_queue=1)
        await stalled.send(control("start"))
        pcm = tone(LOUD, 0.6).tobytes()
        for _ in range(1500):
            await stalled.send(pcm)
        started = time.monotonic()
        await asyncio.to_thread(server.stop)
        assert not server.running
        assert time.monotonic() - started < 5
        stalled.transport.abort()

    run(flow())
