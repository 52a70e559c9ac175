"""Result sinks: the fan-out and the history's writer thread, on fakes and a real file."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from tingxie.desktop.events import Problem, ProblemKind
from tingxie.desktop.history import FinalUtterance, History
from tingxie.desktop.sinks import FanOut, HistorySink, RecordingSink

from .gated_history import GatedHistory


def utterance(text: str) -> FinalUtterance:
    return FinalUtterance("2026-01-01T00:00:00.000+00:00", text, 1.0, 1.4, 100.0, 0.1)


class FailingHistory(History):
    def __init__(self, path: Path, fail_on: str) -> None:
        super().__init__(path)
        self.fail_on = fail_on

    def append(self, utterance: FinalUtterance) -> None:
        if utterance.text == self.fail_on:
            raise OSError("No space left on device")
        super().append(utterance)


def test_fan_out_delivers_in_order_and_a_failing_sink_does_not_stop_the_others() -> None:
    problems: list[Problem] = []
    first, broken, last = (
        RecordingSink("first"),
        RecordingSink("typing", fail=RuntimeError("no focused window")),
        RecordingSink("last"),
    )
    fan_out = FanOut([first, broken, last], problems.append)
    fan_out.deliver(utterance("你好"))
    fan_out.deliver(utterance("世界"))
    assert [u.text for u in first.delivered] == ["你好", "世界"]
    assert [u.text for u in last.delivered] == ["你好", "世界"]
    assert [p.kind for p in problems] == [ProblemKind.DELIVERY_FAILED] * 2
    assert "typing" in problems[0].detail and "no focused window" in problems[0].detail
    fan_out.close()
    assert first.closed and broken.closed and last.closed


def test_history_writes_on_its_own_thread_and_deliver_returns_while_the_disk_hangs(
    tmp_path: Path,
) -> None:
    history = GatedHistory(tmp_path / "history.jsonl")
    sink = HistorySink(history, lambda p: None)
    sink.deliver(utterance("一"))
    sink.deliver(utterance("二"))  # returns although the first write has not finished
    assert history.entered.wait(5)
    assert not sink.drain(0.05)
    history.gate.set()
    assert sink.drain(5)
    assert [u.text for u in history.read()] == ["一", "二"]
    assert set(history.threads) == {"tingxie-history"}
    assert threading.current_thread().name not in history.threads
    sink.close()


def test_close_drains_the_queue(tmp_path: Path) -> None:
    history = GatedHistory(tmp_path / "history.jsonl")
    sink = HistorySink(history, lambda p: None)
    for text in "一二三四五":
        sink.deliver(utterance(text))
    assert history.entered.wait(5)
    closing = threading.Thread(target=sink.close)
    closing.start()
    closing.join(0.05)
    assert closing.is_alive()  # waits for the disk
    history.gate.set()
    closing.join(10)
    assert not closing.is_alive()
    assert [u.text for u in history.read()] == list("一二三四五")


def test_a_failed_write_is_a_problem_and_the_writer_goes_on(tmp_path: Path) -> None:
    problems: list[Problem] = []
    history = FailingHistory(tmp_path / "history.jsonl", fail_on="坏")
    sink = HistorySink(history, problems.append)
    for text in ("好", "坏", "又好"):
        sink.deliver(utterance(text))
    sink.close()
    assert [u.text for u in history.read()] == ["好", "又好"]
    assert problems == [Problem(ProblemKind.HISTORY_FAILED, "No space left on device")]


def test_then_sinks_get_each_utterance_after_its_line_is_written(tmp_path: Path) -> None:
    history = GatedHistory(tmp_path / "history.jsonl")
    seen_on_disk: list[list[str]] = []

    class AfterWrite(RecordingSink):
        def deliver(self, u: FinalUtterance) -> None:
            seen_on_disk.append([x.text for x in history.read()])
            super().deliver(u)

    after = AfterWrite("typing")
    sink = HistorySink(history, lambda p: None, then=[after])
    sink.deliver(utterance("一"))
    assert history.entered.wait(5)
    assert not after.arrived.wait(0.05)  # not before the line is on disk
    history.gate.set()
    sink.deliver(utterance("二"))
    sink.close()
    assert [u.text for u in after.delivered] == ["一", "二"]
    assert seen_on_disk == [["一"], ["一", "二"]]
    assert after.threads == ["tingxie-history", "tingxie-history"] and after.closed


def test_then_sinks_still_get_the_text_when_the_write_fails(tmp_path: Path) -> None:
    problems: list[Problem] = []
    after = RecordingSink("typing")
    sink = HistorySink(FailingHistory(tmp_path / "h.jsonl", "坏"), problems.append, then=[after])
    sink.deliver(utterance("坏"))
    sink.close()
    assert [u.text for u in after.delivered] == ["坏"]  # now the only copy
    assert [p.kind for p in problems] == [ProblemKind.HISTORY_FAILED]


def test_deliver_after_close_is_refused(tmp_path: Path) -> None:
    problems: list[Problem] = []
    sink = HistorySink(History(tmp_path / "h.jsonl"), problems.append)
    sink.close()
    fan_out = FanOut([sink], problems.append)
    fan_out.deliver(utterance("晚"))
    assert [p.kind for p in problems] == [ProblemKind.DELIVERY_FAILED]
    assert not (tmp_path / "h.jsonl").exists()


def test_a_close_that_times_out_on_a_hung_disk_logs_the_unwritten_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    history = GatedHistory(tmp_path / "history.jsonl")
    after = RecordingSink("typing")
    sink = HistorySink(history, lambda p: None, then=[after], close_timeout_s=0.05)
    for text in ("一", "二", "三"):
        sink.deliver(utterance(text))
    assert history.entered.wait(5)
    with caplog.at_level(logging.ERROR, logger="tingxie.desktop.sinks"):
        sink.close()  # gives up on the disk
    logged = [r.getMessage() for r in caplog.records]
    assert "3 line(s) may be lost" in logged[0]
    for text in ("一", "二", "三"):  # the one being written and the two queued behind it
        assert any(utterance(text).to_json() in m for m in logged[1:])
    assert not after.closed  # still owed the lines
    history.gate.set()
    assert sink.drain(5)  # if the disk comes back before exit, they are still written
    assert [u.text for u in history.read()] == ["一", "二", "三"]


def test_a_final_delivered_after_close_is_refused_with_its_text_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = HistorySink(History(tmp_path / "h.jsonl"), lambda p: None)
    sink.close()
    late = utterance("迟到")
    with caplog.at_level(logging.ERROR, logger="tingxie.desktop.sinks"):
        with pytest.raises(OSError):
            sink.deliver(late)
    assert any(late.to_json() in r.getMessage() for r in caplog.records)
