"""FunASR runtime protocol messages: what each generation of FunASR's clients sends parses,
anything else is one documented ``ProtocolError``."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tingxie.server.protocols.funasr_runtime_messages import (
    Audio,
    Configuration,
    EndAcknowledgement,
    ErrorCode,
    ErrorReply,
    InputOutcome,
    Mode,
    ProtocolError,
    ResultMessage,
    parse_client_message,
)

from ..funasr_client import first_message

LIMIT = 1 << 20


def parse(obj: object) -> Configuration:
    message = parse_client_message(json.dumps(obj, ensure_ascii=False), LIMIT)
    assert isinstance(message, Configuration)
    return message


def test_the_current_clients_first_message() -> None:
    message = parse(first_message(mode="2pass", wav_name="会议", hotwords="阿里巴巴,达摩院"))
    assert message == Configuration(
        mode=Mode.TWO_PASS, wav_name="会议", wav_format="pcm", audio_fs=16000,
        is_speaking=True, hotwords=("阿里巴巴", "达摩院"), itn=True, chunk_size=(5, 10, 5),
        chunk_interval=10, encoder_chunk_look_back=4, decoder_chunk_look_back=0)
    assert not message.ends_input


def test_hotwords_in_every_form_funasr_clients_send() -> None:
    as_json_text = parse({"hotwords": json.dumps({"阿里巴巴": 20, "通义 实验室": 30},
                                                 ensure_ascii=False)})
    assert as_json_text.hotwords == ("阿里巴巴", "通义 实验室")
    assert parse({"hotwords": {"阿里巴巴": 20}}).hotwords == ("阿里巴巴",)
    assert parse({"hotwords": "阿里巴巴 达摩院"}).hotwords == ("阿里巴巴", "达摩院")
    assert parse({"hotwords": ["machine learning", "达摩院"]}).hotwords == (
        "machine learning", "达摩院")
    for none in ("", "  ", None, "{}"):
        assert parse({"hotwords": none}).hotwords is None
    with pytest.raises(ProtocolError, match="'hotwords' must be"):
        parse({"hotwords": 20})


def test_chunk_size_as_a_list_or_a_string() -> None:
    assert parse({"chunk_size": "5, 10, 5"}).chunk_size == (5, 10, 5)
    assert parse({"chunk_size": "8,8,4"}).chunk_size == (8, 8, 4)
    for bad in ("5,x,5", [5, 10], [5, "10", 5], {"a": 1}, [5, 0, 5], [True, 10, 5]):
        with pytest.raises(ProtocolError, match="chunk_size") as info:
            parse({"chunk_size": bad})
        assert info.value.code == ErrorCode.BAD_REQUEST


def test_the_end_messages_of_both_generations_and_the_html5_page() -> None:
    assert parse({"is_speaking": False}).ends_input
    current = parse({"is_speaking": False, "is_end": True})
    assert current.ends_input and current.is_end
    html5 = parse({"chunk_size": [5, 10, 5], "wav_name": "h5", "is_speaking": False,
                   "chunk_interval": 10, "mode": "2pass"})
    assert html5.ends_input and html5.mode is Mode.TWO_PASS and html5.wav_name == "h5"
    assert parse({"is_speaking": 0}).ends_input  # C clients write numbers


def test_file_formats_and_rates() -> None:
    assert parse({"wav_format": "PCM"}).wav_format == "pcm"  # the HTML5 page's spelling
    assert parse({"wav_format": "mp3"}).wav_format == "mp3"
    assert parse({"audio_fs": "8000"}).audio_fs == 8000
    with pytest.raises(ProtocolError, match="audio_fs") as info:
        parse({"audio_fs": 100})
    assert info.value.code == ErrorCode.BAD_AUDIO


@pytest.mark.parametrize("data, code, match", [
    ("not json", ErrorCode.BAD_REQUEST, "invalid JSON"),
    ("[1, 2]", ErrorCode.BAD_REQUEST, "JSON object, got list"),
    ('{"mode": "fast"}', ErrorCode.BAD_REQUEST, "unknown mode \"fast\""),
    ('{"is_speaking": "no"}', ErrorCode.BAD_REQUEST, "'is_speaking' must be true or false"),
    ('{"itn": 2}', ErrorCode.BAD_REQUEST, "'itn' must be true or false"),
    ('{"wav_name": {}}', ErrorCode.BAD_REQUEST, "'wav_name' must be a string"),
    ('{"chunk_interval": 0}', ErrorCode.BAD_REQUEST, "at least 1"),
    ("[" * 40, ErrorCode.BAD_REQUEST, "nested"),
    ("x" * (LIMIT + 1), ErrorCode.TOO_LARGE, "over the limit"),
    (b"\0" * (LIMIT + 2), ErrorCode.TOO_LARGE, "over the limit"),
])
def test_bad_messages_say_what_is_wrong(data: str | bytes, code: int, match: str) -> None:
    with pytest.raises(ProtocolError, match=match) as info:
        parse_client_message(data, LIMIT)
    assert info.value.code == code


def test_binary_frames_are_audio_of_any_length() -> None:
    assert parse_client_message(b"\1\2\3", LIMIT) == Audio(b"\1\2\3")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
fields = st.sampled_from(["mode", "wav_name", "wav_format", "audio_fs", "is_speaking", "is_end",
                          "hotwords", "itn", "chunk_size", "chunk_interval",
                          "encoder_chunk_look_back", "decoder_chunk_look_back", "other"])


@given(st.dictionaries(fields, json_values, max_size=6))
def test_any_object_parses_or_is_a_documented_error(obj: dict[str, object]) -> None:
    try:
        message = parse(obj)
    except ProtocolError as exc:
        assert exc.code in set(ErrorCode) and exc.message
    else:
        again = parse_client_message(message.serialize(), LIMIT)
        assert again == message


def test_every_reply_carries_what_every_client_reads() -> None:
    outcome = InputOutcome()
    ack = EndAcknowledgement("2pass-offline", "demo", outcome)
    replies = [ResultMessage("2pass-online", "你好", "demo", is_final=False),
               ErrorReply("online", "demo", 400, "bad"), ack]
    for reply in replies:
        obj = json.loads(reply.serialize())
        assert {"mode", "text", "wav_name", "is_final"} <= set(obj)
    assert json.loads(replies[0].serialize())["text"] == "你好"
    assert json.loads(ack.serialize()) == {"mode": "2pass-offline", "text": "", "wav_name": "demo",
                                           "is_final": True, "is_end": True}
    outcome.failed("recognition failed: boom")  # read when sent, after the results
    assert json.loads(ack.serialize())["is_final"] is False
    assert json.loads(ack.serialize())["error"] == "recognition failed: boom"
