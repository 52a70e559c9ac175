"""FunASR's runtime protocol on Tingxie's port, end to end: a client built from FunASR's
documentation (``tests/funasr_client.py``) against a real server, in ``online``,
``offline`` and ``2pass`` modes and both client generations' ways of ending. The texts
must be Tingxie's own: what a session of the same recognizer gives for the same audio."""

from __future__ import annotations

import asyncio
import io
import json
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from tingxie.engine.audio import read_audio_file
from tingxie.engine.fake import fake_two_pass_recognizer, tone
from tingxie.engine.handle import EngineHandle
from tingxie.engine.interface import Recognizer
from tingxie.engine.second_pass import Refinement
from tingxie.server.background import BackgroundServer
from tingxie.server.config import ServerConfig

from ..funasr_client import Transcript, frames, recognize, recv, run, send_input
from .client import dictate
from .conftest import StartServer

ONLINE = Refinement(refine=False, punctuate=False, itn=False, hotwords=())


def silence(seconds: float) -> npt.NDArray[np.int16]:
    return np.zeros(int(seconds * 16000), dtype=np.int16)


# Two sentences with a pause of 1 s between them: segments end 0.8 s into a pause.
SENTENCES = np.concatenate([tone(0.2, 1.3), silence(1.0), tone(0.3, 1.9), silence(0.2)])
CUT = int(2.1 * 16000)


def url(server: BackgroundServer) -> str:
    return "ws" + server.url[len("http"):]


def engine_final(recognizer: Recognizer, audio: npt.NDArray[np.int16],
                 options: Optional[Refinement]) -> str:
    """The final of ``audio`` fed to a session of ``recognizer`` in the client's frames."""
    session = recognizer.open_session()
    try:
        for frame in frames(audio.tobytes()):
            session.feed(frame)
        return session.finish(options).result(timeout=60).text
    finally:
        session.close()


def segments(audio: npt.NDArray[np.int16], cuts: Sequence[int]) -> list[npt.NDArray[np.int16]]:
    bounds = [0, *cuts, len(audio)]
    return [audio[a:b] for a, b in zip(bounds, bounds[1:])]


@pytest.fixture(scope="module")
def two_pass() -> Iterator[Recognizer]:
    recognizer = fake_two_pass_recognizer()
    yield recognizer
    recognizer.close()


@pytest.fixture
def two_pass_server(start_server: StartServer, two_pass: Recognizer) -> BackgroundServer:
    return start_server(handle=EngineHandle.ready(two_pass))


def check_texts(transcript: Transcript, recognizer: Recognizer, audio: npt.NDArray[np.int16],
                mode: str, cuts: Sequence[int], options: Refinement) -> None:
    """The replies of one input, against the recognizer's own finals of its segments."""
    parts = segments(audio, cuts) if mode != "offline" else [audio]
    if mode == "online":
        assert transcript.online == "".join(engine_final(recognizer, p, ONLINE) for p in parts)
        assert transcript.texts("offline", "2pass-offline") == []
    else:
        finished = [engine_final(recognizer, p, options) for p in parts]
        assert all(finished), finished  # something to compare
        assert transcript.texts("offline" if mode == "offline" else "2pass-offline") == finished
        if mode == "2pass":
            assert transcript.shown == "".join(finished)
            # each segment's streaming text so far, until its finished text replaces it
            live = [""]
            for reply in transcript.replies:
                if reply["mode"] == "2pass-online":
                    live[-1] += reply["text"]
                else:
                    live.append("")
            assert live[-1] == "" and len(live) == len(parts) + 1
            for part, text in zip(parts, live):
                assert text and engine_final(recognizer, part, ONLINE).startswith(text)
        else:
            assert transcript.online == ""
    assert all(r["wav_name"] == "会议1" for r in transcript.replies)
    # is_final only on the input's last reply, never while the client was still sending
    assert [r["is_final"] for r in transcript.replies] == [False] * (
        len(transcript.replies) - 1) + [True]
    assert transcript.errors == []


@pytest.mark.parametrize("mode", ["online", "offline", "2pass"])
@pytest.mark.parametrize("generation, chunk_size", [("current", [5, 10, 5]),
                                                    ("2024", "5, 10, 5")])
def test_each_mode_gives_tingxies_own_texts(
    two_pass_server: BackgroundServer, two_pass: Recognizer, mode: str, generation: str,
    chunk_size: Any,
) -> None:
    transcript = run(recognize(url(two_pass_server), SENTENCES, mode=mode, wav_name="会议1",
                               generation=generation, chunk_size=chunk_size))
    check_texts(transcript, two_pass, SENTENCES, mode, [CUT], Refinement(itn=True))
    if generation == "current":
        assert transcript.acknowledgement == {
            "mode": {"2pass": "2pass-offline"}.get(mode, mode), "text": "",
            "wav_name": "会议1", "is_final": True, "is_end": True}
    else:
        assert transcript.acknowledgement is None


def test_the_refined_text_is_the_second_pass_and_the_same_as_the_seed_final(
    two_pass_server: BackgroundServer,
) -> None:
    audio = tone(0.2, 1.3)
    transcript = run(recognize(url(two_pass_server), audio, mode="2pass"))
    _, seed_final = run(dictate(two_pass_server.ws_url, audio))
    assert transcript.texts("2pass-offline") == [seed_final["text"]]
    assert seed_final["text"].startswith("<") and seed_final["text"].endswith("。")


@pytest.mark.parametrize("hotwords, words", [
    ({"阿里巴巴": 20, "通义实验室": 30}, ["阿里巴巴", "通义实验室"]),  # classic and HTML5
    ("阿里巴巴,通义实验室", ["阿里巴巴", "通义实验室"]),  # the current client joins a file's
    ("阿里巴巴 通义实验室", ["阿里巴巴", "通义实验室"]),
])
def test_hotwords_reach_the_second_pass_in_every_form(
    two_pass_server: BackgroundServer, hotwords: Any, words: list[str],
) -> None:
    transcript = run(recognize(url(two_pass_server), tone(0.2, 1.3), mode="2pass",
                               hotwords=hotwords))
    (text,) = transcript.texts("2pass-offline")
    assert text.endswith("".join(f"[{w}]" for w in words) + "。")  # the fake decodes them


def test_an_audio_file_sent_as_bytes(two_pass_server: BackgroundServer, two_pass: Recognizer,
                                     tmp_path: Path) -> None:
    stereo = np.stack([np.concatenate([tone(0.2, 1.3, 44100), tone(0.3, 0.7, 44100)])] * 2, 1)
    path = tmp_path / "meeting.wav"
    sf.write(path, stereo, 44100, subtype="PCM_16")
    for wav_format in ("others", "wav"):
        transcript = run(recognize(url(two_pass_server), path.read_bytes(), mode="offline",
                                   wav_format=wav_format, audio_fs=None))
        expected = engine_final(two_pass, read_audio_file(path), Refinement(itn=True))
        assert transcript.texts("offline") == [expected] and expected


def test_pcm_at_8_khz(two_pass_server: BackgroundServer, two_pass: Recognizer) -> None:
    transcript = run(recognize(url(two_pass_server), tone(0.3, 2.0, 8000), mode="offline",
                               audio_fs=8000))
    assert transcript.texts("offline") == [engine_final(two_pass, tone(0.3, 2.0), Refinement())]


def test_several_inputs_on_one_connection_and_bad_messages_between(
    two_pass_server: BackgroundServer, two_pass: Recognizer,
) -> None:
    async def flow() -> list[Transcript]:
        async with connect(url(two_pass_server), subprotocols=["binary"]) as ws:  # type: ignore[list-item]
            first = await send_input(ws, tone(0.2, 1.3), mode="2pass", wav_name="a")
            await ws.send("not json")
            bad = await recv(ws)
            assert bad["code"] == 400 and "invalid JSON" in bad["error"]
            await ws.send(json.dumps({"mode": "whisper"}))
            assert "unknown mode" in (await recv(ws))["error"]
            second = await send_input(ws, tone(0.3, 1.3), mode="offline", wav_name="b")
            return [first, second]

    first, second = run(flow())
    assert first.texts("2pass-offline") == [engine_final(two_pass, tone(0.2, 1.3), None)]
    assert second.texts("offline") == [engine_final(two_pass, tone(0.3, 1.3), None)]
    assert {r["wav_name"] for r in second.replies} == {"b"}


def test_root_serves_funasr_on_upgrade_and_the_info_page_on_get(
    two_pass_server: BackgroundServer,
) -> None:
    with urllib.request.urlopen(two_pass_server.url + "/", timeout=10) as response:
        info = json.loads(response.read())
    assert info["endpoints"]["funasr_websocket"] == "/"
    assert info["endpoints"]["websocket"] == "/ws/asr"

    async def seed_client_gets_no_subprotocol() -> Optional[str]:
        async with connect(two_pass_server.ws_url) as ws:
            return ws.subprotocol

    assert run(seed_client_gets_no_subprotocol()) is None
    before = two_pass_server.stats()
    run(recognize(url(two_pass_server), SENTENCES, mode="2pass"))  # asserts "binary"
    after = two_pass_server.stats()
    assert before is not None and after is not None
    assert after.utterances - before.utterances == 2  # one per segment


def test_audio_while_the_model_loads_is_refused_and_the_end_says_so(
    start_server: StartServer,
) -> None:
    loading = EngineHandle("paraformer-zh-streaming", lambda _progress: None)  # type: ignore[arg-type, return-value]
    server = start_server(handle=loading)
    transcript = run(recognize(url(server), tone(0.2, 1.0), mode="2pass"))
    assert [e["code"] for e in transcript.errors] == [503]
    assert transcript.finals[-1]["text"] == ""
    ack = transcript.acknowledgement
    assert ack is not None and ack["is_final"] is False and "not loaded" in ack["error"]


# --- the real FunASR code on a synthetic model ---------------------------------------------


def voiced(seed: int, seconds: float) -> npt.NDArray[np.int16]:
    """Band-limited noise with a syllable-rate envelope that never falls silent."""
    rng = np.random.default_rng(seed)
    n = int(16000 * seconds)
    smooth = np.convolve(rng.standard_normal(n), np.ones(4) / 4, mode="same")
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * (2 + seed % 5) * np.arange(n) / 16000)
    return (smooth * envelope * 6000).astype(np.int16)


@pytest.fixture(scope="module")
def tiny_with_text_steps(tiny_model_dir: Path) -> Iterator[Recognizer]:
    """The tiny synthetic paraformer-zh-streaming through the real loader, its finals
    finished by the real text steps (wetext's ITN, the tidy-up)."""
    from tingxie.engine.loader import EngineConfig, load_recognizer

    recognizer = load_recognizer(EngineConfig(model=str(tiny_model_dir), threads=1,
                                              precision="fp32", itn=True))
    yield recognizer
    recognizer.close()


@pytest.mark.parametrize("mode", ["online", "offline", "2pass"])
def test_the_synthetic_model_gives_tingxies_own_texts_in_each_mode(
    start_server: StartServer, tiny_with_text_steps: Recognizer, mode: str,
) -> None:
    server = start_server(handle=EngineHandle.ready(tiny_with_text_steps))
    audio = np.concatenate([voiced(1, 1.5), silence(1.0), voiced(2, 1.5), silence(0.2)])
    transcript = run(recognize(url(server), audio, mode=mode, wav_name="会议1",
                               hotwords="阿里巴巴"))
    check_texts(transcript, tiny_with_text_steps, audio, mode, [int(2.3 * 16000)],
                Refinement(itn=True, hotwords=("阿里巴巴",)))
    assert transcript.online or mode == "offline"


# --- any input ----------------------------------------------------------------------------

configurations = st.fixed_dictionaries({}, optional={
    "mode": st.sampled_from(["online", "offline", "2pass", "bogus", 3]),
    "is_speaking": st.sampled_from([True, False, "no"]),
    "is_end": st.booleans(),
    "wav_format": st.sampled_from(["pcm", "others", "PCM", 7]),
    "audio_fs": st.sampled_from([16000, 8000, 48000, 5, "x"]),
    "hotwords": st.sampled_from(["", "阿里巴巴", '{"阿里巴巴": 20}', {"达摩院": 1}, 20]),
    "chunk_size": st.sampled_from([[5, 10, 5], "5,10,5", "x", [1]]),
    "itn": st.sampled_from([True, False, "yes"]),
})
client_messages = st.one_of(
    configurations.map(lambda c: json.dumps(c, ensure_ascii=False)),
    st.binary(max_size=4000),
    st.sampled_from(["not json", "[]", "null", "{" * 40, "x" * 5000]),
    st.sampled_from([tone(0.2, 0.7).tobytes(), b"RIFF....WAVEfmt "]),
)


@pytest.fixture(scope="module")
def small_server() -> Iterator[BackgroundServer]:
    recognizer = fake_two_pass_recognizer()
    server = BackgroundServer(EngineHandle.ready(recognizer),
                              ServerConfig(port=0, max_message_bytes=4096, max_utterance_s=1.0))
    server.start()
    yield server
    server.stop()
    recognizer.close()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(client_messages, max_size=12))
def test_any_sequence_gets_replies_clients_can_read_and_the_connection_stays(
    small_server: BackgroundServer, sequence: list[str | bytes],
) -> None:
    async def flow() -> None:
        async with connect(url(small_server), subprotocols=["binary"]) as ws:  # type: ignore[list-item]
            for data in sequence:
                await ws.send(data)
            # then a well-formed input: its acknowledgement comes after every reply to the
            # sequence, each of which recv() checks has what FunASR clients read
            await ws.send(json.dumps({"mode": "2pass", "wav_format": "pcm", "audio_fs": 16000,
                                      "wav_name": "probe", "is_speaking": True}))
            await ws.send(tone(0.2, 0.7).tobytes())
            await ws.send(json.dumps({"is_speaking": False, "is_end": True}))
            while True:
                reply = await recv(ws, 10)
                assert isinstance(reply["text"], str) and isinstance(reply["is_final"], bool)
                if "error" in reply and not reply.get("is_end"):
                    assert reply["code"] in (400, 409, 413, 422, 500, 503)
                if reply.get("is_end") and reply["wav_name"] == "probe":
                    break

    run(flow(), timeout=60)


def test_a_file_too_large_is_refused_and_the_service_goes_on(start_server: StartServer) -> None:
    server = start_server(max_message_bytes=4096)
    data = io.BytesIO()
    sf.write(data, tone(0.2, 1.0), 16000, format="WAV", subtype="PCM_16")

    async def flow() -> Transcript:
        async with connect(url(server), subprotocols=["binary"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"mode": "offline", "wav_format": "wav"}))
            await ws.send(b"\0" * 5000)  # over the message limit
            assert (await recv(ws))["code"] == 413
            return await send_input(ws, data.getvalue(), mode="offline", wav_format="wav")

    transcript = run(flow())
    assert transcript.acknowledgement is not None and transcript.acknowledgement["is_final"]
    assert len(transcript.texts("offline")) == 1



def test_decoding_a_file_never_holds_up_other_clients(
    two_pass_server: BackgroundServer, two_pass: Recognizer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The file's decoding waits until another client's utterance is done: were it on the
    event loop, that utterance would never finish."""
    import threading

    from tingxie.server.protocols import funasr_runtime

    other_done = threading.Event()
    real = funasr_runtime._decoded

    def slow_decode(data: bytes) -> Any:
        assert other_done.wait(30), "another client was held up by the decoding"
        return real(data)

    monkeypatch.setattr(funasr_runtime, "_decoded", slow_decode)
    data = io.BytesIO()
    sf.write(data, tone(0.2, 1.3), 16000, format="FLAC")

    async def flow() -> tuple[Transcript, dict[str, Any]]:
        async def other() -> dict[str, Any]:
            _, final = await dictate(two_pass_server.ws_url, tone(0.3, 1.3))
            other_done.set()
            return final

        return await asyncio.gather(  # type: ignore[return-value]
            recognize(url(two_pass_server), data.getvalue(), mode="offline", wav_format="flac"),
            other())

    transcript, final = run(flow())
    assert final["text"] == engine_final(two_pass, tone(0.3, 1.3), None)
    assert transcript.texts("offline") == [engine_final(two_pass, tone(0.2, 1.3), None)]
