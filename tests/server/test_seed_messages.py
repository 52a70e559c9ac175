"""The seed protocol's messages without I/O: parsing client messages, serializing and
checking server messages (``tingxie.server.protocols.seed_messages``)."""

from __future__ import annotations

import base64
import json

import pytest

from tingxie.server.protocols.seed_messages import (
    Audio,
    Command,
    Control,
    ErrorCode,
    ErrorMessage,
    ProtocolError,
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
