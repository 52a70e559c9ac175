"""FunASR's runtime protocol as a state machine: which engine calls and replies each client
message gives, and what the engine's results turn into, without a server."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from tingxie.engine.fake import tone
from tingxie.engine.second_pass import Refinement
from tingxie.server.protocols.base import (
    Action,
    BeginUtterance,
    Compute,
    Counted,
    Feed,
    Finish,
    IgnoredAudio,
    Reply,
)
from tingxie.server.protocols.funasr_runtime import (
    ONLINE_FINAL,
    FunasrRuntimeProtocol,
    streaming_tail,
)

from ..funasr_client import first_message, frames


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), dtype=np.int16)


def replies(actions: list[Action]) -> list[dict[str, Any]]:
    return [json.loads(a.message.serialize()) for a in actions if isinstance(a, Reply)]


def fed(actions: list[Action]) -> int:
    return sum(len(a.pcm) for a in actions if isinstance(a, Feed)) // 2


def send(protocol: FunasrRuntimeProtocol, audio: np.ndarray, **settings: Any) -> list[Action]:
    """The first message and the audio in the client's frames; all the actions."""
    actions = protocol.receive(json.dumps(first_message(**settings), ensure_ascii=False))
    for frame in frames(audio.tobytes()):
        actions += protocol.receive(frame)
    return actions


def computed(actions: list[Action]) -> list[Action]:
    """The actions with each ``Compute`` carried out as the adapter does (here at once)."""
    out: list[Action] = []
    for action in actions:
        out += computed(action.then(action.work())) if isinstance(action, Compute) else [action]
    return out


def end(protocol: FunasrRuntimeProtocol, is_end: bool = True, **kw: Any) -> list[Action]:
    message: dict[str, Any] = {"is_speaking": False, **({"is_end": True} if is_end else {})}
    return computed(protocol.receive(json.dumps(message), **kw))


def test_2pass_segments_end_at_pauses_and_at_the_end_with_the_clients_options() -> None:
    protocol = FunasrRuntimeProtocol()
    assert protocol.connected() == []  # FunASR's servers send no greeting
    audio = np.concatenate([tone(0.1, 1.2), silence(1.0), tone(0.1, 1.2), silence(0.2)])
    actions = send(protocol, audio, mode="2pass", hotwords='{"阿里巴巴": 20}', itn=False)
    options = Refinement(itn=False, hotwords=("阿里巴巴",))
    assert [a for a in actions if not isinstance(a, Feed)] == [
        BeginUtterance(1), Finish(1, options), BeginUtterance(2)]
    first = actions.index(Finish(1, options))
    assert fed(actions[:first]) == int(2.0 * 16000)  # cut 0.8 s into the pause
    assert all(a.report for a in actions if isinstance(a, Feed))
    closing = end(protocol)
    assert closing[0] == Finish(2, options)
    assert fed(actions) == len(audio)

    # streaming text: only what is new; a text that changed instead of growing waits
    assert protocol.partial_ready(1, "", 0, 0) is None
    one = protocol.partial_ready(1, "阿里", 0.9, 1)
    assert one is not None and json.loads(one.serialize()) == {
        "mode": "2pass-online", "text": "阿里", "wav_name": "demo", "is_final": False}
    assert protocol.partial_ready(1, "阿里", 0.9, 1) is None
    assert protocol.partial_ready(1, "阿里巴巴", 0.9, 1).text == "巴巴"  # type: ignore[union-attr]
    assert protocol.partial_ready(1, "啊里巴巴", 0.9, 1) is None
    segment_one = protocol.final_ready(1, "阿里巴巴。", 0.9, 1, refined=True)
    assert json.loads(segment_one.serialize()) == {
        "mode": "2pass-offline", "text": "阿里巴巴。", "wav_name": "demo", "is_final": False}
    assert protocol.counts_as(segment_one) is Counted.FINAL
    last = protocol.final_ready(2, "达摩院。", 0.9, 1)
    assert (last.mode, last.text, last.is_final) == ("2pass-offline", "达摩院。", True)
    ack = replies(closing)
    assert ack == [{"mode": "2pass-offline", "text": "", "wav_name": "demo", "is_final": True,
                    "is_end": True}]


def test_the_2024_end_has_no_acknowledgement_and_still_gets_the_last_characters() -> None:
    protocol = FunasrRuntimeProtocol()
    send(protocol, tone(0.1, 1.0), mode="online")
    closing = end(protocol, is_end=False)
    assert closing == [Finish(1, ONLINE_FINAL)]
    protocol.partial_ready(1, "abc中文", 0.9, 1)
    tail = protocol.final_ready(1, "abc 中文字", 0.9, 1)  # the tidy-up spaced it
    assert (tail.mode, tail.text, tail.is_final) == ("online", "字", True)


def test_streaming_tail() -> None:
    assert streaming_tail("你好", "你好世界") == "世界"
    assert streaming_tail("用GPT写", "用 GPT 写代码") == "代码"
    assert streaming_tail("", "全部") == "全部"
    assert streaming_tail("你好", "你好") == ""
    assert streaming_tail("一二三", "123四") == "四"  # rewritten: what is past its length


def test_offline_feeds_without_partials_and_cuts_only_at_the_length_limit() -> None:
    protocol = FunasrRuntimeProtocol(max_utterance_s=1.0)
    audio = np.concatenate([tone(0.1, 1.0), silence(1.0), tone(0.1, 0.5)])
    actions = send(protocol, audio, mode="offline")
    assert all(not a.report for a in actions if isinstance(a, Feed))
    assert [a for a in actions if not isinstance(a, Feed)] == [
        BeginUtterance(1), Finish(1, Refinement(itn=True)), BeginUtterance(2),
        Finish(2, Refinement(itn=True)), BeginUtterance(3)]
    assert fed(actions) == len(audio)
    end(protocol)
    assert protocol.final_ready(1, "甲", 1, 1).is_final is False
    assert protocol.final_ready(2, "", 1, 1).is_final is False
    assert protocol.final_ready(3, "乙", 1, 1).is_final is True


def test_an_end_without_audio_gets_an_empty_final_then_the_acknowledgement() -> None:
    protocol = FunasrRuntimeProtocol()
    protocol.receive(json.dumps(first_message(mode="offline", wav_name="空")))
    assert replies(end(protocol)) == [
        {"mode": "offline", "text": "", "wav_name": "空", "is_final": True},
        {"mode": "offline", "text": "", "wav_name": "空", "is_final": True, "is_end": True}]


def test_audio_before_any_configuration_is_dropped_with_one_error() -> None:
    protocol = FunasrRuntimeProtocol()
    first = protocol.receive(b"\0" * 1920)
    assert IgnoredAudio(1920) in first
    assert [r["code"] for r in replies(first)] == [409]
    assert protocol.receive(b"\0" * 1920) == [IgnoredAudio(1920)]


def test_frames_of_odd_length_lose_no_sample() -> None:
    protocol = FunasrRuntimeProtocol()
    protocol.receive(json.dumps(first_message(mode="2pass")))
    data = tone(0.1, 0.5).tobytes()
    actions: list[Action] = []
    for i in range(0, len(data), 333):
        actions += protocol.receive(data[i:i + 333])
    joined = b"".join(a.pcm for a in actions if isinstance(a, Feed))
    assert joined == data


def test_8_khz_pcm_is_resampled() -> None:
    protocol = FunasrRuntimeProtocol()
    protocol.receive(json.dumps(first_message(mode="offline", audio_fs=8000)))
    actions = protocol.receive(tone(0.1, 1.0, rate=8000).tobytes())
    actions += end(protocol)
    assert fed(actions) == 16000


def test_audio_while_the_model_is_loading_is_refused_for_that_input() -> None:
    protocol = FunasrRuntimeProtocol()
    protocol.receive(json.dumps(first_message(mode="2pass")))
    refused = protocol.receive(tone(0.1, 0.1).tobytes(), engine_ready=False)
    assert [r["code"] for r in replies(refused)] == [503]
    assert protocol.receive(tone(0.1, 0.1).tobytes()) == [IgnoredAudio(3200)]
    closing = replies(end(protocol))
    assert closing[0] == {"mode": "2pass-offline", "text": "", "wav_name": "demo",
                          "is_final": True}
    assert closing[1]["is_final"] is False and "not loaded" in closing[1]["error"]
    # the next input tries again
    assert BeginUtterance(1) in send(protocol, tone(0.1, 0.1))


def test_a_failed_final_keeps_the_shown_text_and_fails_the_acknowledgement() -> None:
    protocol = FunasrRuntimeProtocol()
    send(protocol, tone(0.1, 1.0), mode="2pass")
    closing = end(protocol)
    protocol.partial_ready(1, "你好", 0.9, 1)
    messages = [json.loads(m.serialize()) for m in protocol.engine_failed(1, "boom", True)]
    assert messages[0]["code"] == 500 and "boom" in messages[0]["error"]
    assert messages[1] == {"mode": "2pass-offline", "text": "你好", "wav_name": "demo",
                           "is_final": True}
    ack = replies(closing)[0]
    assert (ack["is_end"], ack["is_final"], ack["error"]) == (True, False,
                                                              "recognition failed: boom")


def test_the_engine_lost_at_the_end_still_answers_the_end() -> None:
    protocol = FunasrRuntimeProtocol()
    protocol.receive(json.dumps(first_message(mode="2pass", audio_fs=8000)))
    protocol.receive(tone(0.1, 1.0, rate=8000).tobytes())
    protocol.partial_ready(1, "你好", 0.9, 1)
    assert isinstance(end(protocol)[0], Feed)  # say it was refused: the adapter asks
    answer = replies(protocol.engine_lost())
    assert answer[0]["code"] == 503
    assert answer[1] == {"mode": "2pass-offline", "text": "你好", "wav_name": "demo",
                         "is_final": True}
    assert answer[2]["is_end"] is True and answer[2]["is_final"] is False
    assert len(answer) == 3
    assert protocol.engine_failed(1, "closed", True) == []  # told once
    assert BeginUtterance(2) in send(protocol, tone(0.1, 0.1))  # the next input goes on


def test_the_engine_lost_mid_input_ends_the_segment_and_the_input_goes_on() -> None:
    protocol = FunasrRuntimeProtocol()
    send(protocol, tone(0.1, 1.0), mode="online")
    protocol.partial_ready(1, "你好", 0.9, 1)
    answer = replies(protocol.engine_lost())
    assert [a.get("code") for a in answer] == [503, None]
    assert (answer[1]["text"], answer[1]["is_final"]) == ("", False)  # online: nothing new
    assert protocol.receive(tone(0.1, 0.1).tobytes())[0] == BeginUtterance(2)
    closing = replies(end(protocol))
    assert closing[0]["is_final"] is False and "replaced" in closing[0]["error"]


def test_an_audio_file_is_decoded_at_its_end() -> None:
    import io

    import soundfile as sf

    out = io.BytesIO()
    sf.write(out, tone(0.1, 1.0, rate=44100), 44100, format="WAV", subtype="PCM_16")
    data = out.getvalue()
    protocol = FunasrRuntimeProtocol()
    protocol.receive(json.dumps(first_message(mode="offline", wav_format="wav", audio_fs=None)))
    assert all(protocol.receive(data[i:i + 1920]) == [] for i in range(0, len(data), 1920))
    decoding = protocol.receive('{"is_speaking": false, "is_end": true}')
    assert [type(a) for a in decoding] == [Compute]  # off the event loop
    closing = computed(decoding)
    assert fed(closing) == 16000
    assert isinstance(closing[-2], Finish) and isinstance(closing[-1], Reply)

    protocol.receive(json.dumps(first_message(mode="offline", wav_format="others")))
    protocol.receive(b"not audio at all")
    bad = replies(end(protocol))
    assert bad[0]["code"] == 422 and "cannot decode" in bad[0]["error"]
    assert bad[1]["is_final"] is True and bad[2]["is_final"] is False


def test_the_server_closing_finishes_the_segment_in_flight() -> None:
    protocol = FunasrRuntimeProtocol()
    send(protocol, tone(0.1, 1.0), mode="2pass")
    assert protocol.close() == [Finish(1, Refinement(itn=True))]
    assert protocol.final_ready(1, "好", 1, 1).is_final is True
    assert protocol.close() == []


def test_bad_messages_are_answered_and_the_input_goes_on() -> None:
    protocol = FunasrRuntimeProtocol()
    send(protocol, tone(0.1, 0.6), mode="online")
    bad = replies(protocol.receive('{"mode": "fast"}'))
    assert bad == [{"mode": "online", "text": "", "wav_name": "demo", "is_final": False,
                    "error": "unknown mode \"fast\": expected online, offline or 2pass",
                    "code": 400}]
    assert protocol.counts_as(protocol.idle_timeout(300)) is Counted.ERROR
    assert end(protocol)[0] == Finish(1, ONLINE_FINAL)
