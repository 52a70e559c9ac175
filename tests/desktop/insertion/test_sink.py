"""The insertion sink on a fake desktop: where each final goes, when it waits, what the
user is told, "paste last"; and behind the real history sink, the order of disk and typing."""

from __future__ import annotations

import threading
from pathlib import Path

from tingxie.desktop.events import Problem, ProblemKind
from tingxie.desktop.history import FinalUtterance, History
from tingxie.desktop.insertion.base import (
    Chord,
    FakeInserter,
    How,
    Inserted,
    InsertError,
    Method,
    Target,
)
from tingxie.desktop.insertion.sink import InsertConfig, InsertSink
from tingxie.desktop.sinks import HistorySink

EDITOR = Target(1, "gedit", "notes", pid=4242)
TERMINAL = Target(2, "konsole", "bash", pid=4343)
TINGXIE = Target(3, "tingxie", "Tingxie", pid=1)


def final(text: str, context: object = EDITOR) -> FinalUtterance:
    return FinalUtterance(time="t", text=text, duration=1.0, audio=1.0, latency=50.0,
                          context=context)


class Seen:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.inserted: list[tuple[str, Inserted]] = []

    def problem(self, problem: Problem) -> None:
        self.problems.append(problem)

    def on_inserted(self, text: str, result: Inserted) -> None:
        self.inserted.append((text, result))


def make(fake: FakeInserter, seen: Seen, **kw: object) -> InsertSink:
    class Events:
        inserted = staticmethod(seen.on_inserted)

    return InsertSink(fake, seen.problem, events=Events(), is_own=lambda t: t.pid == 1, **kw)


def test_each_final_goes_into_the_window_of_its_key_down_by_its_method() -> None:
    fake, seen = FakeInserter(focus=EDITOR), Seen()
    sink = make(fake, seen)
    sink.deliver(final("你好"))
    assert sink.drain(5)
    fake.focus = TERMINAL
    sink.deliver(final("ls", TERMINAL))
    assert sink.drain(5)
    assert fake.typed == {1: ["你好"], 2: ["ls"]}
    assert [c[2] for c in fake.calls] == [How(Method.TYPE), How(Method.PASTE, Chord.CTRL_SHIFT_V)]
    assert [t for t, _ in seen.inserted] == ["你好", "ls"] and not seen.problems
    sink.close()
    assert fake.closed


def test_focus_moved_types_nothing_tells_the_user_and_paste_last_puts_it_where_focus_is() -> None:
    fake, seen = FakeInserter(focus=TERMINAL), Seen()
    sink = make(fake, seen)
    sink.deliver(final("写给编辑器的"))
    assert sink.drain(5)
    assert fake.typed == {}
    assert [p.kind for p in seen.problems] == [ProblemKind.FOCUS_MOVED]
    assert sink.paste_last()
    assert sink.drain(5)
    assert fake.typed == {2: ["写给编辑器的"]}
    sink.close()


def test_speech_into_tingxies_own_window_is_not_typed_but_can_be_pasted_last() -> None:
    fake, seen = FakeInserter(focus=TINGXIE), Seen()
    sink = make(fake, seen)
    sink.deliver(final("自己的窗口", TINGXIE))
    assert sink.drain(5)
    assert fake.calls == [] and not seen.problems and sink.last == "自己的窗口"
    assert sink.paste_last() and sink.drain(5)  # Tingxie still focused: refused, said why
    assert fake.calls == [] and seen.problems[-1].kind is ProblemKind.INSERT_FAILED
    fake.focus = EDITOR
    assert sink.paste_last() and sink.drain(5)
    assert fake.typed == {1: ["自己的窗口"]}
    sink.close()


def test_a_focus_that_could_not_be_found_out_types_nothing_and_is_kept() -> None:
    from tingxie.desktop.insertion.sink import UNKNOWN

    class Broken(FakeInserter):
        def focused(self):  # type: ignore[no-untyped-def]
            raise OSError("BadWindow")  # what an X error looks like to the sink

    fake, seen = Broken(focus=EDITOR), Seen()
    sink = make(fake, seen)
    assert sink.focused() is UNKNOWN
    sink.deliver(final("不知道在哪", UNKNOWN))
    assert sink.drain(5) and fake.calls == [] and sink.last == "不知道在哪"
    assert [p.kind for p in seen.problems] == [ProblemKind.FOCUS_MOVED]
    sink.close()


def test_a_platform_error_while_inserting_is_told() -> None:
    seen = Seen()

    class Raising(FakeInserter):
        def insert(self, text, target, how):  # type: ignore[no-untyped-def]
            raise ConnectionError("the X connection broke")

    sink = make(Raising(focus=EDITOR), seen)
    sink.deliver(final("断了"))
    assert sink.drain(5)
    assert seen.problems == [Problem(ProblemKind.INSERT_FAILED, "the X connection broke")]
    sink.close()


def test_an_unknown_focus_types_wherever_the_focus_is() -> None:
    fake, seen = FakeInserter(focus=EDITOR), Seen()
    sink = make(fake, seen)
    sink.deliver(final("wayland", None))
    assert sink.drain(5)
    assert fake.typed == {1: ["wayland"]} and fake.calls[0][1] is None
    sink.close()


def test_nothing_is_typed_while_the_hold_key_is_down() -> None:
    fake, seen = FakeInserter(focus=EDITOR), Seen()
    held = threading.Event()
    held.set()
    sink = make(fake, seen, held=held.is_set)
    sink.deliver(final("等一下"))
    assert not sink.drain(0.3) and fake.calls == []
    held.clear()
    assert sink.drain(5) and fake.typed == {1: ["等一下"]}
    sink.close()


def test_a_failure_is_reported_and_the_next_final_still_goes_in() -> None:
    fake, seen = FakeInserter(focus=EDITOR, fail=InsertError("the window runs as administrator")), Seen()
    sink = make(fake, seen)
    sink.deliver(final("一"))
    assert sink.drain(5)
    assert seen.problems == [Problem(ProblemKind.INSERT_FAILED, "the window runs as administrator")]
    fake.fail = None
    sink.deliver(final("二"))
    assert sink.drain(5) and fake.typed == {1: ["二"]}
    sink.close()


def test_disabled_and_the_forced_method_and_paste_apps() -> None:
    fake, seen = FakeInserter(focus=EDITOR), Seen()
    sink = make(fake, seen, config=InsertConfig(enabled=False))
    sink.deliver(final("off"))
    assert sink.drain(5) and fake.calls == [] and sink.last == "off"
    sink.config = InsertConfig(method=Method.PASTE)
    sink.deliver(final("forced"))
    sink.config = InsertConfig(paste_apps=("gedit",))
    sink.deliver(final("listed"))
    assert sink.drain(5)
    assert [c[2].method for c in fake.calls] == [Method.PASTE, Method.PASTE]
    sink.close()


def test_behind_the_history_the_line_is_on_disk_before_the_text_is_typed(tmp_path: Path) -> None:
    history = History(tmp_path / "history.jsonl")
    on_disk: list[bool] = []

    class Watching(FakeInserter):
        def insert(self, text, target, how):  # type: ignore[no-untyped-def]
            on_disk.append(text in [u.text for u in history.read()])
            return super().insert(text, target, how)

    fake, seen = Watching(focus=EDITOR), Seen()
    insert = make(fake, seen)
    writer = HistorySink(history, seen.problem, then=[insert])
    writer.deliver(final("先存盘"))
    writer.deliver(final("再输入"))
    assert writer.drain(5) and insert.drain(5)
    assert on_disk == [True, True] and fake.typed == {1: ["先存盘", "再输入"]}
    writer.close()
    assert fake.closed
