"""The seed protocol's connection state machine without I/O
(``tingxie.server.protocols.seed.SeedProtocol``): the actions each client message asks for,
the results it sends, and that any input gets only documented replies."""

from __future__ import annotations

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tingxie.server.config import ServerConfig
from tingxie.server.protocols.base import (
    BeginUtterance,
    Counted,
    Discard,
    Feed,
    Finish,
    IgnoredAudio,
    Reply,
)
from tingxie.server.protocols.seed import SeedProtocol
from tingxie.server.protocols.seed_messages import (
    ErrorCode,
    ErrorMessage,
    ResultMessage,
    StatusMessage,
    parse_server_message,
)

from .strategies import client_messages


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def proto(**kwargs: float) -> SeedProtocol:
    return SeedProtocol(clock_ms=lambda: 42, **kwargs)  # type: ignore[arg-type]


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
    assert p.final_ready(1, "五六七", 0.8, 2.0) == ResultMessage(
        "final", "五六七", 42, 0.8, 2.0, refined=False)
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
    assert messages[1] == ResultMessage("final", "五", 42, 0.0, 0.0, refined=False)


def test_a_lost_engine_ends_the_utterance_with_its_text_so_far() -> None:
    p = SeedProtocol()
    p.receive('{"type": "control", "command": "start"}', engine_ready=True)
    p.partial_ready(1, "你好", 0.9, 1.0)
    replies = [a.message for a in p.engine_lost() if isinstance(a, Reply)]
    assert [type(m).__name__ for m in replies] == ["ErrorMessage", "ResultMessage"]
    assert replies[0].code == 503 and "send start again" in replies[0].message
    assert (replies[1].mode, replies[1].text) == ("final", "你好")


def test_the_service_settings_set_the_limits() -> None:
    p = SeedProtocol.for_config(ServerConfig(max_message_bytes=20_000, max_utterance_s=0.5))
    assert [m.code for m in replies(p.receive(b"\0" * 20_002))] == [413]  # type: ignore[attr-defined]
    p.receive(ctl("start"))
    assert p.receive(b"\0" * 16_000) == [Feed(1, b"\0" * 16_000)]  # 0.5 s: all of it fits
    over = replies(p.receive(b"\0\0"))
    assert [m.code for m in over] == [413]  # type: ignore[attr-defined]
    assert "longer than 0.5 s" in over[0].message  # type: ignore[attr-defined]


def test_stats_count_errors_and_finals() -> None:
    p = proto()
    p.receive(ctl("start"))
    failed = p.engine_failed(1, "boom", final=True)
    assert [p.counts_as(m) for m in failed] == [Counted.ERROR, Counted.FINAL]
    assert p.counts_as(ResultMessage("partial", "五", 42, 0.9, 1.0)) is Counted.NOTHING
    assert [p.counts_as(m) for m in replies(p.receive(ctl("stop")))] == [Counted.NOTHING]  # type: ignore[arg-type]


# --- any input ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(client_messages, max_size=25))
def test_any_message_sequence_yields_only_documented_replies(messages: list[str | bytes]) -> None:
    p = SeedProtocol(max_message_bytes=150, max_utterance_s=0.002)
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
