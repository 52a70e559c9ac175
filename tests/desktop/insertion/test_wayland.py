"""WaylandInserter against a fake runner: a pretend session with a clipboard (what wl-copy
and wl-paste see) and a focused application that pastes when it gets the chord,
recording every argv and stdin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from tingxie.desktop.insertion import wayland as wl
from tingxie.desktop.insertion.base import Chord, How, Inserted, Method, Unreachable
from tingxie.desktop.insertion.wayland import Completed, WaylandInserter

TYPE = How(Method.TYPE)
PASTE = How(Method.PASTE, Chord.CTRL_V)
T = wl.TEXT_TYPE


@dataclass
class Session:
    """The fake: installed tools, a clipboard of MIME type -> bytes, failing tools."""

    installed: set[str] = field(default_factory=lambda: {"wtype", "ydotool", "wl-copy",
                                                         "wl-paste"})
    clipboard: dict[str, bytes] = field(default_factory=dict)
    fail: dict[str, Completed] = field(default_factory=dict)
    calls: list[tuple[list[str], bytes | None]] = field(default_factory=list)
    pasted: list[bytes] = field(default_factory=list)
    user_copies_while_waiting: bytes | None = None

    def which(self, name: str) -> str | None:
        return f"/usr/bin/{name}" if name in self.installed else None

    def run(self, argv: Sequence[str], stdin: bytes | None) -> Completed:
        argv = list(argv)
        self.calls.append((argv, stdin))
        tool = argv[0].rsplit("/", 1)[-1]
        if tool in self.fail:
            return self.fail[tool]
        if tool == "wl-copy":
            if argv[1:] == ["--clear"]:
                self.clipboard = {}
            else:
                assert argv[1] == "--type" and stdin is not None
                self.clipboard = {argv[2]: stdin}
            return Completed(0)
        if tool == "wl-paste":
            if not self.clipboard:
                return Completed(1, b"", b"Nothing is copied\n")
            if argv[1:] == ["--list-types"]:
                types = list(self.clipboard)
                if T in types:  # wl-copy offers text under its aliases too
                    types += ["text/plain", "UTF8_STRING", "STRING", "TEXT"]
                return Completed(0, "\n".join(types).encode() + b"\n")
            assert argv[1:3] == ["--no-newline", "--type"]
            wanted = argv[3]
            if wanted == "text/plain" and T in self.clipboard:
                wanted = T
            if wanted not in self.clipboard:
                return Completed(1, b"", b"No suitable type of content copied\n")
            return Completed(0, self.clipboard[wanted])
        chord = (tool == "wtype" and "-M" in argv) or (tool == "ydotool" and argv[1] == "key")
        if chord:  # the focused application pastes
            self.pasted.append(self.clipboard.get(T, b""))
        return Completed(0)

    def sleep(self, seconds: float) -> None:
        self.calls.append((["sleep", str(seconds)], None))
        if self.user_copies_while_waiting is not None:
            self.clipboard = {T: self.user_copies_while_waiting}

    def argvs(self) -> list[list[str]]:
        return [argv for argv, _ in self.calls]


@pytest.fixture
def session() -> Session:
    return Session()


@pytest.fixture
def inserter(session: Session) -> WaylandInserter:
    return WaylandInserter(run=session.run, which=session.which, sleep=session.sleep,
                           settle_s=0.5)


def test_focus_is_unknown(inserter: WaylandInserter) -> None:
    assert inserter.focused() is None


def test_types_with_wtype_newlines_as_return(inserter: WaylandInserter,
                                             session: Session) -> None:
    done = inserter.insert("你好\n世界 😀", None, TYPE)
    assert done == Inserted(TYPE, None)
    assert session.calls == [(["/usr/bin/wtype", "你好", "-k", "Return", "世界 😀"], None)]


def test_wtype_args_never_start_text_with_a_hyphen() -> None:
    assert wl.wtype_args("--x\n\n-") == ["-k", "minus", "-k", "minus", "x", "-k", "Return",
                                         "-k", "Return", "-k", "minus"]
    assert wl.wtype_args("a\r\nb") == ["a", "-k", "Return", "b"]


def test_ydotool_types_ascii_from_stdin_when_wtype_fails(inserter: WaylandInserter,
                                                         session: Session) -> None:
    session.fail["wtype"] = Completed(1, b"", b"Compositor does not support the virtual "
                                              b"keyboard protocol\n")
    done = inserter.insert("echo -n hi\n", None, TYPE)
    assert done == Inserted(TYPE, None)
    assert session.calls[1] == (["/usr/bin/ydotool", "type", "--file", "/dev/stdin"],
                                b"echo -n hi\n")


def test_non_ascii_with_ydotool_only_is_pasted(inserter: WaylandInserter,
                                               session: Session) -> None:
    session.installed.discard("wtype")
    session.clipboard = {T: b"old"}
    done = inserter.insert("中文", None, TYPE)
    assert done == Inserted(PASTE, None)
    assert session.pasted == ["中文".encode()]
    assert ["/usr/bin/ydotool", "key", "29:1", "47:1", "47:0", "29:0"] in session.argvs()
    assert not any(a[1:2] == ["type"] for a in session.argvs())
    assert session.clipboard == {T: b"old"}


def test_paste_saves_sends_the_chord_waits_and_restores(inserter: WaylandInserter,
                                                        session: Session) -> None:
    session.clipboard = {"image/png": b"\x89PNG..."}
    done = inserter.insert("dictated", None, How(Method.PASTE, Chord.CTRL_SHIFT_V))
    assert done == Inserted(How(Method.PASTE, Chord.CTRL_SHIFT_V), None)
    assert session.calls == [
        (["/usr/bin/wl-paste", "--list-types"], None),
        (["/usr/bin/wl-paste", "--no-newline", "--type", "image/png"], None),
        (["/usr/bin/wl-copy", "--type", T], b"dictated"),
        (["/usr/bin/wtype", "-M", "ctrl", "-M", "shift", "-k", "v", "-m", "shift", "-m",
          "ctrl"], None),
        (["sleep", "0.5"], None),
        (["/usr/bin/wl-paste", "--no-newline", "--type", T], None),
        (["/usr/bin/wl-copy", "--type", "image/png"], b"\x89PNG..."),
    ]
    assert session.pasted == [b"dictated"]
    assert session.clipboard == {"image/png": b"\x89PNG..."}


def test_paste_does_not_restore_over_a_new_copy(inserter: WaylandInserter,
                                                session: Session) -> None:
    session.clipboard = {T: b"old"}
    session.user_copies_while_waiting = b"the user's new copy"
    inserter.insert("dictated", None, PASTE)
    assert session.pasted == [b"dictated"]
    assert session.clipboard == {T: b"the user's new copy"}


def test_an_empty_clipboard_is_cleared_again(inserter: WaylandInserter,
                                             session: Session) -> None:
    inserter.insert("dictated", None, PASTE)
    assert session.pasted == [b"dictated"]
    assert session.argvs()[-1] == ["/usr/bin/wl-copy", "--clear"] and session.clipboard == {}


def test_shift_insert_with_ydotool(inserter: WaylandInserter, session: Session) -> None:
    session.installed.discard("wtype")
    inserter.insert("x", None, How(Method.PASTE, Chord.SHIFT_INSERT))
    assert ["/usr/bin/ydotool", "key", "42:1", "110:1", "110:0", "42:0"] in session.argvs()
    assert session.pasted == [b"x"]


def test_without_typing_tools_the_text_is_copied_with_a_notice(inserter: WaylandInserter,
                                                               session: Session) -> None:
    session.installed -= {"wtype", "ydotool"}
    done = inserter.insert("dictated", None, TYPE)
    assert done.notice is not None
    assert done.notice.endswith("copied to the clipboard: paste with Ctrl+V")
    assert "neither wtype nor ydotool" in done.notice
    assert session.calls == [(["/usr/bin/wl-copy", "--type", T], b"dictated")]
    assert session.clipboard == {T: b"dictated"}


def test_typing_tools_that_fail_fall_back_to_the_clipboard(inserter: WaylandInserter,
                                                           session: Session) -> None:
    session.installed.discard("wl-paste")  # no paste: nothing to save the clipboard with
    session.fail["wtype"] = Completed(1, b"", b"Compositor does not support the virtual "
                                              b"keyboard protocol\n")
    session.fail["ydotool"] = Completed(2, b"", b"failed to connect socket\n")
    done = inserter.insert("ok", None, How(Method.TYPE, Chord.CTRL_SHIFT_V))
    assert done.notice is not None and "virtual keyboard protocol" in done.notice
    assert "failed to connect socket" in done.notice and "Ctrl+Shift+V" in done.notice
    assert session.clipboard == {T: b"ok"}


def test_nothing_installed_is_unreachable_naming_the_packages(inserter: WaylandInserter,
                                                              session: Session) -> None:
    session.installed = set()
    with pytest.raises(Unreachable, match="install wtype .* or ydotool .* and wl-clipboard"):
        inserter.insert("x", None, TYPE)
    assert session.calls == []


def test_a_failed_chord_restores_and_leaves_the_text_for_the_user(inserter: WaylandInserter,
                                                                  session: Session) -> None:
    session.installed.discard("ydotool")
    session.clipboard = {T: b"old"}
    session.fail["wtype"] = Completed(1, b"", b"Wayland connection failed\n")
    done = inserter.insert("x", None, PASTE)
    assert done.notice is not None and "Wayland connection failed" in done.notice
    assert session.pasted == []
    assert session.clipboard == {T: b"x"}  # copied for the user to paste


def test_paste_without_a_clipboard_tool_types_instead(inserter: WaylandInserter,
                                                      session: Session) -> None:
    session.installed -= {"wl-copy", "wl-paste"}
    done = inserter.insert("x", None, PASTE)
    assert done == Inserted(How(Method.TYPE, Chord.CTRL_V), None)
    assert session.calls == [(["/usr/bin/wtype", "x"], None)]


def test_best_type_prefers_text_then_images() -> None:
    assert wl.best_type(["TARGETS", "image/png", "text/plain"]) == "text/plain"
    assert wl.best_type(["image/jpeg", "image/png", "text/html"]) == "image/png"
    assert wl.best_type(["SAVE_TARGETS", "application/x-thing"]) == "application/x-thing"
    assert wl.best_type(["TARGETS"]) is None


def test_utf8_environ_forces_a_utf8_ctype_only_when_missing() -> None:
    assert wl.utf8_environ({"LANG": "C"})["LC_ALL"] == "C.UTF-8"
    assert "LC_ALL" not in wl.utf8_environ({"LANG": "zh_CN.UTF-8"})
    assert wl.utf8_environ({"LC_ALL": "POSIX", "LANG": "en_US.utf8"})["LC_ALL"] == "C.UTF-8"


def test_the_real_runner_returns_output_and_status(tmp_path: object) -> None:
    import sys

    done = wl.run_process([sys.executable, "-c",
                           "import sys; d = sys.stdin.buffer.read(); "
                           "sys.stdout.buffer.write(d[::-1]); sys.exit(3)"], b"abc")
    assert done == Completed(3, b"cba", b"")
    missing = wl.run_process(["/nonexistent/tingxie-tool"], None)
    assert missing.returncode == 127
