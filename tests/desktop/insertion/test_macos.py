"""MacInserter against fakes: Quartz functions that record each keyboard event (key code,
down/up, flags, Unicode string, posted, released), a frontmost-application reader, and
pbcopy/pbpaste over a pretend pasteboard whose frontmost application pastes on Cmd+V."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from tingxie.desktop.insertion import macos as mac
from tingxie.desktop.insertion.base import (
    Chord,
    FocusMoved,
    How,
    Inserted,
    InsertError,
    Method,
    Target,
    Unreachable,
)
from tingxie.desktop.insertion.macos import FrontApp, MacInserter
from tingxie.desktop.insertion.wayland import Completed

CMD = mac.K_CG_EVENT_FLAG_MASK_COMMAND
TEXTEDIT = FrontApp(501, "TextEdit", "文本编辑")
SAFARI = FrontApp(777, "Safari", "Safari")
TEXTEDIT_TARGET = Target(501, "textedit", "文本编辑", 501)


@dataclass
class Mac:
    trusted: bool = True
    front: FrontApp | None = TEXTEDIT
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    posted: list[tuple[int, bool, int, str | None]] = field(default_factory=list)
    pasteboard: bytes = b""
    pbcopy_fails: bool = False
    pasted: list[bytes] = field(default_factory=list)
    calls: list[tuple[list[str], bytes | None]] = field(default_factory=list)
    user_copies_while_waiting: bytes | None = None

    # Quartz
    def AXIsProcessTrusted(self) -> bool:
        return self.trusted

    def CGEventCreateKeyboardEvent(self, source: Any, keycode: int, down: bool) -> int:
        assert source is None
        ref = 0x1000 + len(self.events)
        self.events[ref] = {"keycode": keycode, "down": down, "flags": None, "chars": None,
                            "released": False}
        return ref

    def CGEventSetFlags(self, event: int, flags: int) -> None:
        self.events[event]["flags"] = flags

    def CGEventKeyboardSetUnicodeString(self, event: int, n: int, chars: Any) -> None:
        assert n <= mac.MAX_UNITS
        data = bytes(ctypes.string_at(chars, 2 * n))
        self.events[event]["chars"] = data.decode("utf-16-le", "surrogatepass")

    def CGEventPost(self, tap: int, event: int) -> None:
        assert tap == mac.K_CG_HID_EVENT_TAP
        e = self.events[event]
        assert not e["released"]
        self.posted.append((e["keycode"], e["down"], e["flags"], e["chars"]))
        if e["keycode"] == mac.KVK_ANSI_V and e["down"] and e["flags"] & CMD:
            self.pasted.append(self.pasteboard)

    def CFRelease(self, event: int) -> None:
        self.events[event]["released"] = True

    # pbcopy / pbpaste
    def run(self, argv: Sequence[str], stdin: bytes | None) -> Completed:
        self.calls.append((list(argv), stdin))
        if argv[0] == "pbcopy":
            if self.pbcopy_fails:
                return Completed(1, b"", b"pbcopy: broken pipe")
            assert stdin is not None
            self.pasteboard = stdin
            return Completed(0)
        assert list(argv) == ["pbpaste", "-Prefer", "txt"]
        return Completed(0, self.pasteboard)

    def sleep(self, seconds: float) -> None:
        self.calls.append((["sleep", str(seconds)], None))
        if self.user_copies_while_waiting is not None:
            self.pasteboard = self.user_copies_while_waiting


@pytest.fixture
def fake() -> Mac:
    return Mac()


@pytest.fixture
def inserter(fake: Mac) -> MacInserter:
    return MacInserter(fake, lambda: fake.front, fake.run, sleep=fake.sleep, settle_s=0.5)


def text_events(*chunks: str) -> list[tuple[int, bool, int, str | None]]:
    out = []
    for chunk in chunks:
        if chunk == "\n":
            out += [(mac.KVK_RETURN, True, 0, None), (mac.KVK_RETURN, False, 0, None)]
        else:
            out += [(0, True, 0, chunk), (0, False, 0, chunk)]
    return out


def test_focused_is_the_frontmost_application(inserter: MacInserter, fake: Mac) -> None:
    assert inserter.focused() == TEXTEDIT_TARGET
    fake.front = None
    assert inserter.focused() is None


def test_types_unicode_strings_with_no_modifier_flags(inserter: MacInserter, fake: Mac) -> None:
    done = inserter.insert("你好\n世界", TEXTEDIT_TARGET, How(Method.TYPE))
    assert done == Inserted(How(Method.TYPE), TEXTEDIT_TARGET)
    assert fake.posted == text_events("你好", "\n", "世界")
    assert all(e["released"] for e in fake.events.values())


def test_long_text_is_cut_at_20_units_never_inside_a_surrogate_pair(inserter: MacInserter,
                                                                    fake: Mac) -> None:
    text = "a" * 19 + "😀" + "b" * 25
    inserter.insert(text, TEXTEDIT_TARGET, How(Method.TYPE))
    assert fake.posted == text_events("a" * 19, "😀" + "b" * 18, "b" * 7)


def test_unicode_chunks() -> None:
    assert mac.unicode_chunks("a\r\nb") == [[97], mac.RETURN, [98]]
    assert mac.unicode_chunks("ab\r\ncd", limit=1) == [[97], [98], mac.RETURN, [99], [100]]
    assert mac.unicode_chunks("😀😀", limit=3) == [[0xD83D, 0xDE00], [0xD83D, 0xDE00]]
    assert mac.unicode_chunks("\n") == [mac.RETURN]


def test_without_accessibility_permission_nothing_is_sent(inserter: MacInserter,
                                                         fake: Mac) -> None:
    fake.trusted = False
    for method in Method.TYPE, Method.PASTE:
        with pytest.raises(Unreachable, match="Privacy & Security → Accessibility"):
            inserter.insert("x", TEXTEDIT_TARGET, How(method))
    assert fake.posted == [] and fake.calls == []


def test_another_frontmost_application_is_focus_moved(inserter: MacInserter, fake: Mac) -> None:
    fake.front = SAFARI
    with pytest.raises(FocusMoved) as raised:
        inserter.insert("x", TEXTEDIT_TARGET, How(Method.PASTE, Chord.CMD_V))
    assert raised.value.now == Target(777, "safari", "Safari", 777)
    assert fake.posted == [] and fake.calls == []


def test_paste_copies_sends_cmd_v_waits_and_restores(inserter: MacInserter, fake: Mac) -> None:
    fake.pasteboard = "旧的".encode()
    done = inserter.insert("新的", TEXTEDIT_TARGET, How(Method.PASTE, Chord.CTRL_SHIFT_V))
    assert done == Inserted(How(Method.PASTE, Chord.CMD_V), TEXTEDIT_TARGET)  # always Cmd+V
    assert fake.pasted == ["新的".encode()]
    assert fake.posted == [(mac.KVK_ANSI_V, True, CMD, None), (mac.KVK_ANSI_V, False, CMD, None)]
    assert fake.calls == [
        (["pbpaste", "-Prefer", "txt"], None),
        (["pbcopy"], "新的".encode()),
        (["sleep", "0.5"], None),
        (["pbpaste", "-Prefer", "txt"], None),
        (["pbcopy"], "旧的".encode()),
    ]
    assert fake.pasteboard == "旧的".encode()


def test_paste_keeps_what_the_user_copied_meanwhile(inserter: MacInserter, fake: Mac) -> None:
    fake.pasteboard = b"old"
    fake.user_copies_while_waiting = b"new copy"
    inserter.insert("dictated", TEXTEDIT_TARGET, How(Method.PASTE, Chord.CMD_V))
    assert fake.pasted == [b"dictated"] and fake.pasteboard == b"new copy"


def test_nothing_textual_to_restore_leaves_the_text(inserter: MacInserter, fake: Mac) -> None:
    inserter.insert("dictated", None, How(Method.PASTE, Chord.CMD_V))
    assert fake.pasted == [b"dictated"]
    assert [argv for argv, _ in fake.calls] == [["pbpaste", "-Prefer", "txt"], ["pbcopy"],
                                                ["sleep", "0.5"]]


def test_a_failing_pbcopy_sends_no_chord(inserter: MacInserter, fake: Mac) -> None:
    fake.pbcopy_fails = True
    with pytest.raises(InsertError, match="pbcopy failed: pbcopy: broken pipe"):
        inserter.insert("x", TEXTEDIT_TARGET, How(Method.PASTE, Chord.CMD_V))
    assert fake.posted == []


def test_the_real_frameworks_load_on_macos_only() -> None:
    if mac.sys.platform == "darwin":  # the Objective-C reader works (needs no permission)
        target = MacInserter().focused()
        assert target is None or (target.id > 0 and target.app)
    else:
        with pytest.raises(Unreachable, match="macOS only"):
            MacInserter().focused()
