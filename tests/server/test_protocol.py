"""The /ws/asr protocol without I/O: parsing, serializing, the per-connection state machine."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tingxie.server.protocol import (
    Audio,
    BeginUtterance,
    Command,
    ConnectionProtocol,
    Control,
    Discard,
    ErrorCode,
    ErrorMessage,
    Feed,
    Finish,
    IgnoredAudio,
    ProtocolError,
    Reply,
    ResultMessage,
    StatusMessage,
    parse_client_message,
    parse_server_message,
)

MB = 1 << 20


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def error_code(data: str | bytes, max_bytes: int = MB) -> int:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(data, max_bytes)
    return info.value.code


# --- parsing ---------------------------------------------------------------------------


def test_seed_control_messages_parse() -> None:
    for command in ("start", "stop", "reset"):
        msg = parse_client_message(
            json.dumps({"type": "control", "command": command, "timestamp": 1698756432000}), MB
        )
        assert msg == Control(Command(command), 1698756432000)


def test_seed_audio_message_parses_to_pcm() -> None:
    pcm = bytes(range(256)) * 4
    msg = parse_client_message(json.dumps({"type": "audio", "data": b64(pcm)}), MB)
    assert msg == Audio(pcm, None, binary=False)
    assert msg.seconds == pytest.approx(1024 / 32000)


def test_binary_frame_is_raw_pcm() -> None:
    assert parse_client_message(b"\x01\x00\x02\x00", MB) == Audio(b"\x01\x00\x02\x00", binary=True)


def test_base64_with_newlines_is_accepted() -> None:
    pcm = b"\x00\x01" * 100
    wrapped = base64.encodebytes(pcm).decode()
    assert "\n" in wrapped
    assert parse_client_message(json.dumps({"type": "audio", "data": wrapped}), MB).pcm == pcm


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("not json", 400),
        ("", 400),
        ("[1, 2]", 400),
        ('"audio"', 400),
        ("{}", 400),
        ('{"type": "video"}', 400),
        ('{"type": 7}', 400),
        ('{"type": "control"}', 400),
        ('{"type": "control", "command": "pause"}', 400),
        ('{"type": "control", "command": ["start"]}', 400),
        ('{"type": "control", "command": "start", "timestamp": "now"}', 400),
        ('{"type": "control", "command": "start", "timestamp": true}', 400),
        ('{"type": "audio"}', 400),
        ('{"type": "audio", "data": 12}', 400),
        ('{"type": "audio", "data": "!!not base64!!"}', 422),
        ('{"type": "audio", "data": "AAEC"}', 422),  # 3 bytes: odd length
        (b"\x00\x01\x02", 422),
        ("[" * 100_000 + "]" * 100_000, 400),
        ('{"a":' * 50 + "1" + "}" * 50, 400),
        ("1" * 10_000, 400),  # int longer than Python's digit limit
    ],
)
def test_bad_input_has_documented_code(data: str | bytes, code: int) -> None:
    assert error_code(data) == code
    assert code in {c.value for c in ErrorCode}


def test_messages_over_the_limit_are_413() -> None:
    assert error_code("x" * (MB + 1)) == 413
    assert error_code(b"\x00" * (MB + 2)) == 413
    big_audio = json.dumps({"type": "audio", "data": b64(b"\x00" * MB)})
    assert error_code(big_audio) == 413
    # Exactly at the limit is fine (even if it then fails for another reason).
    assert error_code("x" * MB) == 400
    # Size counts UTF-8 bytes, not characters.
    assert error_code("听" * (MB // 3 + 1)) == 413


def test_error_messages_say_what_is_wrong() -> None:
    with pytest.raises(ProtocolError, match="unknown command 'pause'"):
        parse_client_message('{"type": "control", "command": "pause"}', MB)
    with pytest.raises(ProtocolError, match="unknown type 'video'"):
        parse_client_message('{"type": "video"}', MB)
    with pytest.raises(ProtocolError, match="even number of bytes, got 3"):
        parse_client_message(b"abc", MB)


def test_client_messages_round_trip() -> None:
    for msg in (Control(Command.STOP, 5), Audio(b"\x01\x02", 7), Audio(b"\x01\x02", binary=True)):
        assert parse_client_message(msg.serialize(), MB) == msg


# --- server messages -------------------------------------------------------------------


def test_result_has_exactly_the_seed_fields() -> None:
    raw = ResultMessage("partial", "你好", 1698756432000, 0.912345, 125.04).serialize()
    assert json.loads(raw) == {
        "type": "result", "mode": "partial", "text": "你好", "timestamp": 1698756432000,
        "confidence": 0.9123, "processing_time_ms": 125.0,
    }
    assert "你好" in raw  # not \\u-escaped
    assert parse_server_message(raw) == ResultMessage(
        "partial", "你好", 1698756432000, 0.9123, 125.0)


def test_status_and_error_have_the_seed_fields() -> None:
    assert json.loads(StatusMessage(200, "连接成功", 1).serialize()) == {
        "type": "status", "code": 200, "message": "连接成功", "timestamp": 1}
    assert json.loads(ErrorMessage(500, "x", 2).serialize()) == {
        "type": "error", "code": 500, "message": "x", "timestamp": 2}


def test_parse_server_message_rejects_undocumented_codes_and_fields() -> None:
    with pytest.raises(ProtocolError):
        parse_server_message('{"type": "error", "code": 418, "message": "", "timestamp": 1}')
    with pytest.raises(ProtocolError):
        parse_server_message('{"type": "status", "code": 200, "message": "", "timestamp": 1, "x": 1}')


# --- the state machine -----------------------------------------------------------------


def proto(**kwargs: float) -> ConnectionProtocol:
    return ConnectionProtocol(clock_ms=lambda: 42, **kwargs)  # type: ignore[arg-type]


def ctl(command: str) -> str:
    return json.dumps({"type": "control", "command": command})


def replies(actions: list[object]) -> list[object]:
    return [a.message for a in actions if isinstance(a, Reply)]


def test_greeting_is_status_200() -> None:
    assert replies(proto().connected()) == [StatusMessage(200, "connected", 42)]


def test_start_audio_stop_sequence() -> None:
    p = proto()
    assert p.receive(ctl("start")) == [
        BeginUtterance(1), Reply(StatusMessage(200, "recording started", 42))]
    assert p.receive(b"\x01\x00" * 10) == [Feed(1, b"\x01\x00" * 10)]
    assert p.receive(ctl("stop")) == [
        Reply(StatusMessage(200, "recording stopped", 42)), Finish(1)]
    # The next utterance gets a new number.
    assert p.receive(ctl("start"))[0] == BeginUtterance(2)


def test_stop_without_start_is_error_409() -> None:
    assert replies(proto().receive(ctl("stop"))) == [
        ErrorMessage(409, "stop without start: not recording", 42)]


def test_audio_outside_start_stop_is_ignored_without_reply() -> None:
    p = proto()
    assert p.receive(b"\x00\x00" * 4) == [IgnoredAudio(8)]
    p.receive(ctl("start"))
    p.receive(ctl("stop"))
    assert p.receive(json.dumps({"type": "audio", "data": b64(b"\0\0")})) == [IgnoredAudio(2)]


def test_start_while_recording_keeps_the_utterance() -> None:
    p = proto()
    p.receive(ctl("start"))
    assert p.receive(ctl("start")) == [Reply(StatusMessage(200, "already recording", 42))]
    assert p.receive(b"\0\0") == [Feed(1, b"\0\0")]


def test_start_before_the_model_is_ready_is_503() -> None:
    p = proto()
    assert [m.code for m in replies(p.receive(ctl("start"), engine_ready=False))] == [503]  # type: ignore[attr-defined]
    assert p.receive(b"\0\0") == [IgnoredAudio(2)]


def test_reset_discards_and_suppresses_late_partials() -> None:
    p = proto()
    p.receive(ctl("start"))
    p.receive(b"\0\0")
    assert p.receive(ctl("reset")) == [
        Discard(1), Reply(StatusMessage(200, "reset: utterance discarded", 42))]
    assert p.partial_ready(1, "五", 0.9, 1.0) is None
    assert replies(p.receive(ctl("reset"))) == [StatusMessage(200, "reset", 42)]


def test_partial_only_when_text_changes() -> None:
    p = proto()
    p.receive(ctl("start"))
    assert p.partial_ready(1, "", 0.0, 1.0) is None
    assert p.partial_ready(1, "五", 0.9, 1.0) == ResultMessage("partial", "五", 42, 0.9, 1.0)
    assert p.partial_ready(1, "五", 0.9, 1.0) is None
    assert p.partial_ready(1, "五六", 0.9, 1.0) is not None
    assert p.final_ready(1, "五六七", 0.8, 2.0) == ResultMessage("final", "五六七", 42, 0.8, 2.0)
    p.receive(ctl("start"))
    assert p.partial_ready(2, "五", 0.9, 1.0) is not None  # a new utterance starts from ""


def test_utterance_limit_drops_audio_once_told_and_final_still_comes() -> None:
    p = proto(max_utterance_s=1.0)  # 32000 bytes
    p.receive(ctl("start"))
    assert p.receive(b"\0" * 30000) == [Feed(1, b"\0" * 30000)]
    actions = p.receive(b"\0" * 4000)
    assert actions[0] == Feed(1, b"\0" * 2000, report=False)
    assert [m.code for m in replies(actions)] == [413]  # type: ignore[attr-defined]
    assert p.receive(b"\0" * 4000) == []  # dropped, already told
    assert p.receive(ctl("stop"))[-1] == Finish(1)


def test_close_finishes_an_utterance_in_flight() -> None:
    p = proto()
    assert p.close() == []
    p.receive(ctl("start"))
    assert p.close() == [Finish(1)]


def test_engine_failure_on_finish_still_gives_a_final() -> None:
    p = proto()
    p.receive(ctl("start"))
    p.partial_ready(1, "五", 0.9, 1.0)
    messages = p.engine_failed(1, "boom", final=True)
    assert [type(m).__name__ for m in messages] == ["ErrorMessage", "ResultMessage"]
    assert messages[0].code == 500 and "boom" in messages[0].message  # type: ignore[union-attr]
    assert messages[1] == ResultMessage("final", "五", 42, 0.0, 0.0)


# --- any input ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
plausible = st.fixed_dictionaries(
    {"type": st.sampled_from(["control", "audio", "result", "", "CONTROL"])},
    optional={
        "command": st.sampled_from(["start", "stop", "reset", "Start", ""]) | json_values,
        "data": st.binary(max_size=64).map(b64) | st.text(max_size=30) | json_values,
        "timestamp": st.integers() | st.floats() | st.text(max_size=5) | st.none(),
    },
)
client_messages = st.one_of(
    plausible.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
    st.integers(1, 300).map(lambda n: "[" * n + "]" * n),
    st.sampled_from([ctl("start"), ctl("stop"), ctl("reset")]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(client_messages, max_size=25))
def test_any_message_sequence_yields_only_documented_replies(messages: list[str | bytes]) -> None:
    p = ConnectionProtocol(max_message_bytes=150, max_utterance_s=0.002)
    documented = {c.value for c in ErrorCode}
    for data in messages:
        actions = p.receive(data)
        sent = replies(actions)
        assert len(sent) <= 1  # at most one immediate reply per message
        for message in sent:
            if isinstance(message, ErrorMessage):
                assert message.code in documented and message.message
            else:
                assert isinstance(message, StatusMessage) and message.code == 200
            parse_server_message(message.serialize())  # type: ignore[union-attr]
        for action in actions:
            assert isinstance(action, (Reply, BeginUtterance, Feed, Finish, Discard, IgnoredAudio))
            if isinstance(action, Feed):
                assert len(action.pcm) % 2 == 0


def test_a_lost_engine_ends_the_utterance_with_its_text_so_far() -> None:
    from tingxie.server.protocol import ConnectionProtocol, Reply

    p = ConnectionProtocol()
    p.receive('{"type": "control", "command": "start"}', engine_ready=True)
    p.partial_ready(1, "你好", 0.9, 1.0)
    replies = [a.message for a in p.engine_lost() if isinstance(a, Reply)]
    assert [type(m).__name__ for m in replies] == ["ErrorMessage", "ResultMessage"]
    assert replies[0].code == 503 and "send start again" in replies[0].message
    assert (replies[1].mode, replies[1].text) == ("final", "你好")
