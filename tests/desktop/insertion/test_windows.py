"""WindowsInserter against a fake Win32: three fake DLLs over one pretend desktop (windows,
processes, key state, a clipboard with delayed rendering, global memory), recording the
calls the real user32/kernel32/advapi32 would get. Runs on any OS."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from tingxie.desktop.insertion import windows as win
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
from tingxie.desktop.insertion.windows import Key, WindowsInserter

UP = win.KEYEVENTF_KEYUP
UNI = win.KEYEVENTF_UNICODE
EXT = win.KEYEVENTF_EXTENDEDKEY
NOTEPAD, ADMIN_CMD, BROWSER = 0x1001, 0x1002, 0x1003
OUR_PID = 4000


def scan(vk: int) -> int:
    """The fake MapVirtualKeyW: a scan code derived from the VK, so tests can check it."""
    return 0x100 + vk


def uni(text: str) -> list[tuple[int, int, int]]:
    """The expected (vk, scan, flags) events that type ``text`` (BMP only, no newlines)."""
    out = []
    for ch in text:
        out += [(0, ord(ch), UNI), (0, ord(ch), UNI | UP)]
    return out


def utf16z(text: str) -> bytes:
    return (text + "\0").encode("utf-16-le")


@dataclass
class Desktop:
    """The shared state of the fake system."""

    foreground: int = NOTEPAD
    windows: dict[int, tuple[int, str]] = field(default_factory=lambda: {
        NOTEPAD: (100, "Untitled - Notepad"),
        ADMIN_CMD: (200, "Administrator: Command Prompt"),
        BROWSER: (300, "Tingxie — Browser"),
    })
    images: dict[int, str] = field(default_factory=lambda: {
        100: r"C:\Windows\System32\Notepad.exe",
        200: r"C:\Windows\System32\cmd.exe",
        300: r"C:\Program Files\Browser\browser.exe",
    })
    elevated: dict[int, bool] = field(default_factory=lambda: {100: False, 200: True,
                                                               300: False, OUR_PID: False})
    held: set[int] = field(default_factory=set)
    accept: int | None = None  # SendInput inserts at most this many events
    sent: list[list[tuple[int, int, int]]] = field(default_factory=list)
    extra_info: set[int] = field(default_factory=set)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    # clipboard
    clip: dict[int, int | None] = field(default_factory=dict)  # format -> HGLOBAL (None: delayed)
    clip_order: list[int] = field(default_factory=list)
    owner: int = 0
    opened_by: int | None = None  # hwnd (0 for NULL) while open
    seq: int = 1
    open_failures: int = 0  # OpenClipboard fails this many times first
    requested: list[int] = field(default_factory=list)  # GetClipboardData formats asked
    formats: dict[str, int] = field(default_factory=dict)
    # memory
    memory: dict[int, ctypes.Array[ctypes.c_char]] = field(default_factory=dict)
    next_handle: int = 0x50000
    # windows of our own
    wndproc: Any = None
    created: list[int] = field(default_factory=list)
    destroyed: list[int] = field(default_factory=list)
    pending: int = 0  # chords the target has yet to react to
    now: float = 0.0
    # what the target application does on Ctrl+V: "reads", "never", "user copies after",
    # "user copies before"
    target_behaviour: str = "reads"
    pasted: list[str] = field(default_factory=list)

    # --- helpers for the tests --------------------------------------------------------------
    def alloc(self, data: bytes) -> int:
        self.next_handle += 0x10
        self.memory[self.next_handle] = ctypes.create_string_buffer(data, len(data))
        return self.next_handle

    def data(self, fmt: int) -> bytes | None:
        handle = self.clip.get(fmt)
        return None if handle is None else self.memory[handle].raw

    def put(self, fmt: int, data: bytes | int) -> None:
        """Another application's clipboard content (``int``: a GDI handle)."""
        self.clip[fmt] = data if isinstance(data, int) else self.alloc(data)
        self.clip_order.append(fmt)

    def other_app_copies(self, text: str) -> None:
        """Another application (the user) takes the clipboard: EmptyClipboard from its
        window, which Windows announces to the old owner with WM_DESTROYCLIPBOARD."""
        self.send_to_owner(win.WM_DESTROYCLIPBOARD, 0)
        self.clip.clear()
        self.clip_order.clear()
        self.owner = 0x9999
        self.put(win.CF_UNICODETEXT, utf16z(text))
        self.seq += 2

    def send_to_owner(self, msg: int, wparam: int) -> None:
        if self.owner in self.created and self.owner not in self.destroyed:
            self.wndproc(self.owner, msg, wparam, 0)

    def target_pastes(self) -> None:
        """The target's Ctrl+V: Open, GetClipboardData(CF_UNICODETEXT) (rendered by the
        owner if delayed), Close."""
        self.opened_by = 0x7777
        if self.clip.get(win.CF_UNICODETEXT, 0) is None:
            self.send_to_owner(win.WM_RENDERFORMAT, win.CF_UNICODETEXT)
        data = self.data(win.CF_UNICODETEXT)
        self.pasted.append(data.decode("utf-16-le").rstrip("\0") if data else "")
        self.opened_by = None


class FakeUser32:
    def __init__(self, d: Desktop) -> None:
        self.d = d

    def GetForegroundWindow(self) -> int:
        return self.d.foreground

    def GetWindowThreadProcessId(self, hwnd: int, pid: Any) -> int:
        pid.value = self.d.windows[hwnd][0]
        return 1

    def GetWindowTextLengthW(self, hwnd: int) -> int:
        return len(self.d.windows[hwnd][1])

    def GetWindowTextW(self, hwnd: int, buf: Any, n: int) -> int:
        buf.value = self.d.windows[hwnd][1][: n - 1]
        return len(buf.value)

    def GetAsyncKeyState(self, vk: int) -> int:
        return -0x8000 if vk in self.d.held else 0  # SHORT: the high bit reads negative

    def MapVirtualKeyW(self, vk: int, kind: int) -> int:
        assert kind == win.MAPVK_VK_TO_VSC
        return scan(vk)

    def SendInput(self, n: int, inputs: Any, size: int) -> int:
        assert size == ctypes.sizeof(win.INPUT) and n == len(inputs)
        events = []
        for item in inputs:
            assert item.type == win.INPUT_KEYBOARD
            ki = item.u.ki
            events.append((ki.wVk, ki.wScan, ki.dwFlags))
            self.d.extra_info.add(ki.dwExtraInfo)
        accepted = n if self.d.accept is None else min(n, self.d.accept)
        self.d.sent.append(events[:accepted])
        for vk, _, flags in events[:accepted]:
            if flags & UP:
                self.d.held.discard(vk)
        if any(vk in (win.VK_V, win.VK_INSERT) and not flags & UP
               for vk, _, flags in events[:accepted]):
            self.d.pending += 1  # the target reacts to the chord
        return accepted

    # clipboard
    def OpenClipboard(self, hwnd: int | None) -> int:
        self.d.calls.append(("OpenClipboard", hwnd))
        if self.d.open_failures:
            self.d.open_failures -= 1
            return 0
        assert self.d.opened_by is None, "opened twice"
        self.d.opened_by = hwnd or 0
        return 1

    def CloseClipboard(self) -> int:
        assert self.d.opened_by is not None, "closed while not open"
        self.d.opened_by = None
        return 1

    def EmptyClipboard(self) -> int:
        assert self.d.opened_by is not None
        self.d.send_to_owner(win.WM_DESTROYCLIPBOARD, 0)
        self.d.clip.clear()
        self.d.clip_order.clear()
        self.d.owner = self.d.opened_by
        self.d.seq += 1
        return 1

    def EnumClipboardFormats(self, fmt: int) -> int:
        assert self.d.opened_by is not None
        order = self.d.clip_order
        i = 0 if fmt == 0 else order.index(fmt) + 1
        return order[i] if i < len(order) else 0

    def GetClipboardData(self, fmt: int) -> int:
        assert self.d.opened_by is not None
        self.d.requested.append(fmt)
        return self.d.clip.get(fmt) or 0

    def SetClipboardData(self, fmt: int, handle: int | None) -> int:
        # allowed while we hold it open, or inside WM_RENDERFORMAT (the reader holds it)
        assert self.d.opened_by is not None
        if fmt not in self.d.clip:
            self.d.clip_order.append(fmt)
        self.d.clip[fmt] = handle
        self.d.seq += 1
        return handle or 0

    def RegisterClipboardFormatW(self, name: str) -> int:
        return self.d.formats.setdefault(name, 0xC100 + len(self.d.formats))

    def GetClipboardSequenceNumber(self) -> int:
        return self.d.seq

    def GetClipboardOwner(self) -> int:
        return self.d.owner

    # the hidden window
    def RegisterClassExW(self, wc: Any) -> int:
        assert wc.cbSize == ctypes.sizeof(win.WNDCLASSEXW)
        assert wc.lpszClassName == win.WINDOW_CLASS
        self.d.wndproc = wc.lpfnWndProc
        return 0xC0DE

    def UnregisterClassW(self, name: str, instance: int) -> int:
        self.d.calls.append(("UnregisterClassW", name))
        return 1

    def CreateWindowExW(self, ex: int, cls: str, title: str, style: int, x: int, y: int,
                        w: int, h: int, parent: int, menu: Any, instance: int,
                        param: Any) -> int:
        assert cls == win.WINDOW_CLASS and parent == win.HWND_MESSAGE
        hwnd = 0x2000 + len(self.d.created)
        self.d.created.append(hwnd)
        return hwnd

    def DestroyWindow(self, hwnd: int) -> int:
        if self.d.owner == hwnd and None in self.d.clip.values():
            self.d.send_to_owner(win.WM_RENDERALLFORMATS, 0)
        self.d.destroyed.append(hwnd)
        return 1

    def DefWindowProcW(self, hwnd: int, msg: int, wparam: int, lparam: int) -> int:
        return 0

    def PeekMessageW(self, msg: Any, hwnd: Any, lo: int, hi: int, remove: int) -> int:
        # sent messages are dispatched inside PeekMessage; none is posted
        while self.d.pending:
            self.d.pending -= 1
            behaviour = self.d.target_behaviour
            if behaviour == "user copies before":
                self.d.other_app_copies("copied by the user")
            elif behaviour in ("reads", "user copies after", "reads, then holds it"):
                self.d.target_pastes()
                if behaviour == "reads, then holds it":
                    self.d.open_failures = 10**6
                if behaviour == "user copies after":
                    self.d.other_app_copies("copied by the user")
        return 0

    def TranslateMessage(self, msg: Any) -> int:
        raise AssertionError("no message is posted in these tests")

    DispatchMessageW = TranslateMessage

    def MsgWaitForMultipleObjects(self, n: int, handles: Any, all_: int, ms: int,
                                  mask: int) -> int:
        assert mask == win.QS_ALLINPUT
        if self.d.pending:
            return 0
        self.d.now += ms / 1000
        return 0x102  # WAIT_TIMEOUT


class FakeKernel32:
    def __init__(self, d: Desktop) -> None:
        self.d = d
        self.open_handles: dict[int, int] = {}

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int:
        assert access == win.PROCESS_QUERY_LIMITED_INFORMATION
        handle = 0x700 + pid
        self.open_handles[handle] = pid
        return handle

    def CloseHandle(self, handle: int) -> int:
        assert handle in self.open_handles, f"closing unknown handle {handle:#x}"
        del self.open_handles[handle]
        return 1

    def QueryFullProcessImageNameW(self, handle: int, flags: int, buf: Any, size: Any) -> int:
        path = self.d.images[self.open_handles[handle]]
        buf.value = path
        size.value = len(path)
        return 1

    def GetCurrentProcess(self) -> int:
        self.open_handles[-1] = OUR_PID  # the pseudo-handle; closing it is harmless
        return -1

    def GetModuleHandleW(self, name: Any) -> int:
        return 0x400000

    def GlobalAlloc(self, flags: int, size: int) -> int:
        assert flags == win.GMEM_MOVEABLE
        return self.d.alloc(b"\0" * size)

    def GlobalLock(self, handle: int) -> int:
        return ctypes.addressof(self.d.memory[handle])

    def GlobalUnlock(self, handle: int) -> int:
        return 1

    def GlobalSize(self, handle: int) -> int:
        return len(self.d.memory[handle])

    def GlobalFree(self, handle: int) -> int:
        del self.d.memory[handle]
        return 0


class FakeAdvapi32:
    def __init__(self, d: Desktop, kernel32: FakeKernel32) -> None:
        self.d = d
        self.k = kernel32

    def OpenProcessToken(self, process: int, access: int, token: Any) -> int:
        assert access == win.TOKEN_QUERY
        pid = self.k.open_handles[process]
        token.value = 0x900 + pid
        self.k.open_handles[token.value] = pid
        return 1

    def GetTokenInformation(self, token: int, cls: int, out: Any, size: int, ret: Any) -> int:
        assert cls == win.TOKEN_ELEVATION_CLASS and size == 4
        out.value = int(self.d.elevated[self.k.open_handles[token]])
        ret.value = 4
        return 1


@pytest.fixture
def desktop() -> Desktop:
    return Desktop()


@pytest.fixture
def inserter(desktop: Desktop) -> WindowsInserter:
    kernel32 = FakeKernel32(desktop)
    return WindowsInserter(FakeUser32(desktop), kernel32, FakeAdvapi32(desktop, kernel32),
                           clock=lambda: desktop.now, sleep=lambda s: setattr(
                               desktop, "now", desktop.now + s))


NOTEPAD_TARGET = Target(NOTEPAD, "notepad.exe", "Untitled - Notepad", 100)
TYPE = How(Method.TYPE)
PASTE = How(Method.PASTE, Chord.CTRL_V)


# --- focus ---------------------------------------------------------------------------------
def test_focused_names_the_foreground_window_by_executable_and_title(
        inserter: WindowsInserter, desktop: Desktop) -> None:
    assert inserter.focused() == NOTEPAD_TARGET
    desktop.foreground = 0
    assert inserter.focused() is None
    assert inserter._k.open_handles == {}  # every process handle was closed


def test_focus_moved_away_sends_nothing(inserter: WindowsInserter, desktop: Desktop) -> None:
    desktop.foreground = BROWSER
    with pytest.raises(FocusMoved) as raised:
        inserter.insert("hello", NOTEPAD_TARGET, TYPE)
    assert raised.value.now == Target(BROWSER, "browser.exe", "Tingxie — Browser", 300)
    with pytest.raises(FocusMoved):
        inserter.insert("hello", NOTEPAD_TARGET, PASTE)
    assert desktop.sent == [] and desktop.calls == []  # no key, no clipboard


# --- typing --------------------------------------------------------------------------------
def test_types_unicode_units_in_one_sendinput_call(inserter: WindowsInserter,
                                                   desktop: Desktop) -> None:
    done = inserter.insert("你好, ok", NOTEPAD_TARGET, TYPE)
    assert done == Inserted(TYPE, NOTEPAD_TARGET)
    assert desktop.sent == [uni("你好, ok")]
    assert desktop.extra_info == {win.EXTRA_INFO}


def test_emoji_is_a_surrogate_pair_and_newline_the_return_key(inserter: WindowsInserter,
                                                              desktop: Desktop) -> None:
    inserter.insert("a😀\nb", NOTEPAD_TARGET, TYPE)
    assert desktop.sent == [[
        (0, ord("a"), UNI), (0, ord("a"), UNI | UP),
        (0, 0xD83D, UNI), (0, 0xD83D, UNI | UP), (0, 0xDE00, UNI), (0, 0xDE00, UNI | UP),
        (win.VK_RETURN, 0, 0), (win.VK_RETURN, 0, UP),
        (0, ord("b"), UNI), (0, ord("b"), UNI | UP),
    ]]


def test_unicode_keys_treats_crlf_as_one_return() -> None:
    assert win.unicode_keys("\r\n") == win.unicode_keys("\n") == win.unicode_keys("\r") == [
        Key(win.VK_RETURN, 0, 0), Key(win.VK_RETURN, 0, UP)]


def test_held_modifiers_are_released_before_the_text(inserter: WindowsInserter,
                                                     desktop: Desktop) -> None:
    desktop.held = {win.VK_RCONTROL, win.VK_LSHIFT}
    inserter.insert("x", NOTEPAD_TARGET, TYPE)
    assert desktop.sent == [[
        (win.VK_LSHIFT, scan(win.VK_LSHIFT), UP),
        (win.VK_RCONTROL, scan(win.VK_RCONTROL), UP | EXT),  # a right-hand key is extended
        *uni("x"),
    ]]


def test_a_held_alt_is_masked_before_its_release(inserter: WindowsInserter,
                                                 desktop: Desktop) -> None:
    desktop.held = {win.VK_LMENU}
    inserter.insert("x", NOTEPAD_TARGET, TYPE)
    assert desktop.sent == [[
        (win.VK_MASK, 0, 0), (win.VK_MASK, 0, UP),  # else Alt-up alone opens the menu bar
        (win.VK_LMENU, scan(win.VK_LMENU), UP),
        *uni("x"),
    ]]


def test_fewer_events_taken_than_sent_is_unreachable(inserter: WindowsInserter,
                                                     desktop: Desktop) -> None:
    desktop.accept = 0
    with pytest.raises(Unreachable, match="0 of 4"):
        inserter.insert("ab", NOTEPAD_TARGET, TYPE)


def test_elevated_target_is_unreachable_before_any_key(inserter: WindowsInserter,
                                                       desktop: Desktop) -> None:
    desktop.foreground = ADMIN_CMD
    target = inserter.focused()
    assert target is not None and target.app == "cmd.exe"
    for how in (TYPE, PASTE):
        with pytest.raises(Unreachable, match="cmd.exe runs as administrator.*Run Tingxie as "
                                              "administrator"):
            inserter.insert("dir", target, how)
    assert desktop.sent == [] and desktop.calls == []
    assert inserter._k.open_handles == {-1: OUR_PID}  # token and process handles closed


def test_elevated_tingxie_types_into_an_elevated_target(inserter: WindowsInserter,
                                                        desktop: Desktop) -> None:
    desktop.elevated[OUR_PID] = True
    desktop.foreground = ADMIN_CMD
    inserter.insert("dir", inserter.focused(), TYPE)
    assert desktop.sent == [uni("dir")]


def test_no_target_types_into_the_foreground_window(inserter: WindowsInserter,
                                                    desktop: Desktop) -> None:
    done = inserter.insert("hi", None, TYPE)
    assert done.target == NOTEPAD_TARGET and desktop.sent == [uni("hi")]


# --- pasting -------------------------------------------------------------------------------
def user_clipboard(desktop: Desktop) -> None:
    desktop.put(win.CF_UNICODETEXT, utf16z("the user's text"))
    desktop.put(win.CF_BITMAP, 0xB17)  # a GDI handle: never read as memory
    desktop.put(win.CF_DIB, b"BMP-bytes")
    desktop.owner = 0x9999


def chord(*vks_down: int, key: int) -> list[tuple[int, int, int]]:
    return ([(vk, scan(vk), 0) for vk in vks_down]
            + [(key, scan(key), EXT if key == win.VK_INSERT else 0),
               (key, scan(key), UP | (EXT if key == win.VK_INSERT else 0))]
            + [(vk, scan(vk), UP) for vk in reversed(vks_down)])


def test_paste_serves_the_text_when_read_then_restores_the_clipboard(
        inserter: WindowsInserter, desktop: Desktop) -> None:
    user_clipboard(desktop)
    desktop.held = {win.VK_LSHIFT}
    done = inserter.insert("第一行\n😀", NOTEPAD_TARGET, PASTE)
    assert done == Inserted(PASTE, NOTEPAD_TARGET)  # no notice: the bitmap lives on as CF_DIB
    assert desktop.pasted == ["第一行\r\n😀"]
    # modifiers released, then the chord, in one call
    assert desktop.sent == [[(win.VK_LSHIFT, scan(win.VK_LSHIFT), UP),
                             *chord(win.VK_CONTROL, key=win.VK_V)]]
    # restored: the same formats, the same bytes; the GDI handle was never asked for
    assert desktop.clip_order == [win.CF_UNICODETEXT, win.CF_DIB]
    assert desktop.data(win.CF_UNICODETEXT) == utf16z("the user's text")
    assert desktop.data(win.CF_DIB) == b"BMP-bytes"
    assert win.CF_BITMAP not in desktop.requested
    assert desktop.created == desktop.destroyed and len(desktop.created) == 1
    assert desktop.opened_by is None


def test_paste_marks_the_entry_for_clipboard_history(inserter: WindowsInserter,
                                                     desktop: Desktop) -> None:
    seen: dict[str, bytes | None] = {}

    def peek(*args: Any) -> int:  # look at the clipboard as the target first finds it
        if seen:
            return original(*args)
        for name in ("ExcludeClipboardContentFromMonitorProcessing",
                     "CanIncludeInClipboardHistory", "CanUploadToCloudClipboard"):
            seen[name] = desktop.data(desktop.formats[name])
        seen["delayed"] = desktop.clip[win.CF_UNICODETEXT]  # type: ignore[assignment]
        return original(*args)

    original = FakeUser32.PeekMessageW.__get__(inserter._u)
    inserter._u.PeekMessageW = peek
    inserter.insert("x", NOTEPAD_TARGET, PASTE)
    assert seen == {"ExcludeClipboardContentFromMonitorProcessing": b"\0",
                    "CanIncludeInClipboardHistory": b"\0\0\0\0",
                    "CanUploadToCloudClipboard": b"\0\0\0\0",
                    "delayed": None}  # offered without data until read


def test_paste_chords(inserter: WindowsInserter, desktop: Desktop) -> None:
    inserter.insert("x", NOTEPAD_TARGET, How(Method.PASTE, Chord.CTRL_SHIFT_V))
    inserter.insert("x", NOTEPAD_TARGET, How(Method.PASTE, Chord.SHIFT_INSERT))
    assert desktop.sent == [chord(win.VK_CONTROL, win.VK_SHIFT, key=win.VK_V),
                            chord(win.VK_SHIFT, key=win.VK_INSERT)]
    assert desktop.pasted == ["x", "x"]


def test_empty_clipboard_is_restored_empty(inserter: WindowsInserter, desktop: Desktop) -> None:
    inserter.insert("x", NOTEPAD_TARGET, PASTE)
    assert desktop.pasted == ["x"] and desktop.clip == {}


def test_user_copy_after_the_read_is_kept(inserter: WindowsInserter, desktop: Desktop) -> None:
    user_clipboard(desktop)
    desktop.target_behaviour = "user copies after"
    done = inserter.insert("dictated", NOTEPAD_TARGET, PASTE)
    assert desktop.pasted == ["dictated"] and done.notice is None
    assert desktop.data(win.CF_UNICODETEXT) == utf16z("copied by the user")
    assert desktop.owner == 0x9999


def test_clipboard_taken_before_the_read_is_an_error_and_kept(inserter: WindowsInserter,
                                                              desktop: Desktop) -> None:
    user_clipboard(desktop)
    desktop.target_behaviour = "user copies before"
    with pytest.raises(InsertError, match="replaced the clipboard before the paste"):
        inserter.insert("dictated", NOTEPAD_TARGET, PASTE)
    assert desktop.data(win.CF_UNICODETEXT) == utf16z("copied by the user")


def test_a_target_that_never_reads_times_out_and_restores(inserter: WindowsInserter,
                                                          desktop: Desktop) -> None:
    user_clipboard(desktop)
    desktop.target_behaviour = "never"
    with pytest.raises(InsertError, match="notepad.exe did not read the clipboard within 8 s"):
        inserter.insert("dictated", NOTEPAD_TARGET, PASTE)
    assert desktop.now >= win.PASTE_TIMEOUT_S
    assert desktop.data(win.CF_UNICODETEXT) == utf16z("the user's text")
    assert desktop.created == desktop.destroyed


def test_a_busy_clipboard_is_retried(inserter: WindowsInserter, desktop: Desktop) -> None:
    desktop.open_failures = 3
    inserter.insert("x", NOTEPAD_TARGET, PASTE)
    assert desktop.pasted == ["x"]
    assert [c for c in desktop.calls if c[0] == "OpenClipboard"][:4] == [
        ("OpenClipboard", desktop.created[0])] * 4


def test_a_clipboard_held_too_long_pastes_nothing(inserter: WindowsInserter,
                                                  desktop: Desktop) -> None:
    desktop.open_failures = 10**6
    with pytest.raises(InsertError, match="holds the clipboard"):
        inserter.insert("x", NOTEPAD_TARGET, PASTE)
    assert desktop.sent == [] and desktop.created == desktop.destroyed


def test_lost_formats_are_noticed(inserter: WindowsInserter, desktop: Desktop) -> None:
    desktop.put(win.CF_ENHMETAFILE, 0xE3F)
    done = inserter.insert("x", NOTEPAD_TARGET, PASTE)
    assert done.notice is not None and "14" in done.notice
    assert win.CF_ENHMETAFILE not in desktop.requested


def test_blocked_chord_restores_the_clipboard(inserter: WindowsInserter,
                                              desktop: Desktop) -> None:
    user_clipboard(desktop)
    desktop.accept = 1
    with pytest.raises(Unreachable):
        inserter.insert("x", NOTEPAD_TARGET, PASTE)
    assert desktop.data(win.CF_UNICODETEXT) == utf16z("the user's text")


def test_close_unregisters_the_window_class(inserter: WindowsInserter, desktop: Desktop) -> None:
    inserter.insert("x", NOTEPAD_TARGET, PASTE)
    inserter.close()
    assert ("UnregisterClassW", win.WINDOW_CLASS) in desktop.calls


def test_the_real_dlls_load_on_windows_only() -> None:
    if win.sys.platform == "win32":  # CI: the real prototypes work (the desktop may be empty)
        target = WindowsInserter().focused()
        assert target is None or (target.id and isinstance(target.app, str))
    else:
        with pytest.raises(Unreachable, match="Windows only"):
            WindowsInserter().focused()


def test_a_failure_while_rendering_is_raised_and_the_clipboard_restored(
        inserter: WindowsInserter, desktop: Desktop) -> None:
    user_clipboard(desktop)
    alloc = inserter._k.GlobalAlloc
    # no memory for the text while the target holds the clipboard open to read it
    inserter._k.GlobalAlloc = lambda flags, size: 0 if desktop.opened_by == 0x7777 else alloc(
        flags, size)
    with pytest.raises(InsertError, match="the paste failed: out of memory"):
        inserter.insert("x", NOTEPAD_TARGET, PASTE)
    assert desktop.pasted == [""]
    assert desktop.data(win.CF_UNICODETEXT) == utf16z("the user's text")


class Prototypes:
    """Stands in for ``ctypes.WinDLL``: records the prototypes ``_load_dlls`` declares."""

    def __init__(self, name: str, use_last_error: bool = False) -> None:
        self.functions: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return self.functions.setdefault(name, SimpleNamespace(restype=None, argtypes=None))


class Checked:
    """A fake DLL whose every call is first converted the way ctypes converts arguments
    for the declared prototype (``from_param``), so a call the real DLL would reject
    (a wrong out-parameter type, a missing prototype, a wrong arity) fails here."""

    def __init__(self, prototypes: Prototypes, fake: Any) -> None:
        self._prototypes = prototypes
        self._fake = fake

    def __getattr__(self, name: str) -> Any:
        proto = self._prototypes.functions.get(name)
        assert proto is not None and proto.argtypes is not None, f"{name} has no prototype"
        impl = getattr(self._fake, name)

        def call(*args: Any) -> Any:
            assert len(args) == len(proto.argtypes), name
            for argtype, arg in zip(proto.argtypes, args):
                argtype.from_param(arg)
            return impl(*args)

        return call


def test_the_calls_match_the_declared_prototypes(desktop: Desktop,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(win.ctypes, "WinDLL", Prototypes, raising=False)
    user32, kernel32, advapi32 = win._load_dlls()
    k = FakeKernel32(desktop)
    inserter = WindowsInserter(Checked(user32, FakeUser32(desktop)), Checked(kernel32, k),
                               Checked(advapi32, FakeAdvapi32(desktop, k)),
                               clock=lambda: desktop.now)
    user_clipboard(desktop)
    desktop.held = {win.VK_RMENU}
    target = inserter.focused()
    assert target == NOTEPAD_TARGET
    inserter.insert("a😀\n", target, TYPE)
    inserter.insert("b", target, PASTE)
    assert desktop.pasted == ["b"]
    desktop.foreground = ADMIN_CMD
    with pytest.raises(Unreachable):
        inserter.insert("c", None, TYPE)
    inserter.close()


def test_a_clipboard_busy_after_the_read_is_noticed(inserter: WindowsInserter,
                                                    desktop: Desktop) -> None:
    user_clipboard(desktop)
    desktop.target_behaviour = "reads, then holds it"
    done = inserter.insert("x", NOTEPAD_TARGET, PASTE)
    assert desktop.pasted == ["x"]
    assert done.notice == "the clipboard was busy: your previous clipboard was not restored"


def test_an_unread_offer_is_rendered_when_the_window_goes(inserter: WindowsInserter,
                                                          desktop: Desktop) -> None:
    """The restore after a timeout failed (clipboard busy): the text stays on the
    clipboard, rendered as the window is destroyed, rather than an empty entry."""
    desktop.target_behaviour = "never"
    send, destroy = inserter._u.SendInput, inserter._u.DestroyWindow

    def send_then_busy(*args: Any) -> int:  # another application holds the clipboard...
        desktop.open_failures = 10**6
        return send(*args)

    def free_then_destroy(hwnd: int) -> int:  # ...until the window is destroyed
        desktop.open_failures = 0
        return destroy(hwnd)

    inserter._u.SendInput = send_then_busy
    inserter._u.DestroyWindow = free_then_destroy
    with pytest.raises(InsertError, match="did not read"):
        inserter.insert("kept", NOTEPAD_TARGET, PASTE)
    assert desktop.data(win.CF_UNICODETEXT) == utf16z("kept")
    assert desktop.opened_by is None
