"""Text into Windows applications: Unicode key events through ``SendInput``, or a paste
through the clipboard that gives the user's clipboard back once the target has read it.

Typing sends one ``KEYEVENTF_UNICODE`` key-down/key-up pair per UTF-16 code unit (a
character outside the Basic Multilingual Plane, such as an emoji, is two units: a
surrogate pair), so no keyboard layout or input method is involved; a newline is the
Return key. Modifier keys still held down (the push-to-talk chord, a Shift) are released
first, in the same ``SendInput`` call, so they never combine with the text.

Pasting publishes the text by *delayed rendering*: a hidden message-only window owns the
clipboard and offers ``CF_UNICODETEXT`` without data; Windows asks that window for the
data (``WM_RENDERFORMAT``) when an application reads it. That request is the signal that
the target has read the text, so the user's clipboard is restored right after it, not
after a guessed delay (Handy #502: a fixed delay loses the race with a busy target). The
entry is marked ``ExcludeClipboardContentFromMonitorProcessing``,
``CanIncludeInClipboardHistory`` = 0 and ``CanUploadToCloudClipboard`` = 0, so Win+V
history, cloud sync and well-behaved clipboard managers skip it. The clipboard is not
restored when someone else changed it meanwhile (the user copied something).

Limitations, stated here because they are the user's:

- A clipboard monitor that ignores the exclusion marker and reads every new entry makes
  the first read its own; the restore then waits only the short quiet period after it.
- GDI-handle formats (``CF_BITMAP``, ``CF_ENHMETAFILE``, ``CF_METAFILEPICT``,
  ``CF_PALETTE``, private and GDI-object ranges) cannot be copied as bytes and are not
  saved; a bitmap survives through its ``CF_DIB``/``CF_DIBV5`` form, which Windows
  synthesizes and which is saved. ``Inserted.notice`` says when something was lost.
- A target that has not read the text within ``PASTE_TIMEOUT_S`` gets the user's
  clipboard back and ``insert`` raises ``InsertError``; a paste it makes later pastes the
  user's content.
- An elevated ("Run as administrator") target refuses synthetic input from a
  non-elevated Tingxie (UIPI) and ``SendInput`` does not report it, so the elevation is
  checked before sending: ``Unreachable``.
- ``Target.app`` is the foreground window's executable; for UWP apps hosted by
  ``ApplicationFrameHost.exe`` that is the host's name.

All Win32 calls go through the ``user32``/``kernel32``/``advapi32`` objects given to the
constructor (tests pass fakes); the real DLLs are loaded on first use, on Windows only,
so the module imports anywhere.
"""

from __future__ import annotations

import ctypes
import ntpath
import sys
import time
from collections.abc import Callable
from ctypes import wintypes
from dataclasses import dataclass
from typing import Any

from .base import Chord, FocusMoved, How, Inserted, InsertError, Method, Target, Unreachable

# --- Win32 constants (winuser.h, winbase.h, winnt.h) ----------------------------------------
INPUT_KEYBOARD = 1
KEYEVENTF_EXTENDEDKEY = 0x0001
KEYEVENTF_KEYUP = 0x0002
KEYEVENTF_UNICODE = 0x0004
MAPVK_VK_TO_VSC = 0

VK_RETURN = 0x0D
VK_SHIFT = 0x10
VK_CONTROL = 0x11
VK_INSERT = 0x2D
VK_V = 0x56
VK_LWIN = 0x5B
VK_RWIN = 0x5C
VK_LSHIFT = 0xA0
VK_RSHIFT = 0xA1
VK_LCONTROL = 0xA2
VK_RCONTROL = 0xA3
VK_LMENU = 0xA4
VK_RMENU = 0xA5
VK_MASK = 0xE8  # unassigned: a key that does nothing, see _release_held
HELD_MODIFIERS = (VK_LSHIFT, VK_RSHIFT, VK_LCONTROL, VK_RCONTROL, VK_LMENU, VK_RMENU,
                  VK_LWIN, VK_RWIN)
EXTENDED_KEYS = frozenset({VK_RCONTROL, VK_RMENU, VK_LWIN, VK_RWIN, VK_INSERT})

EXTRA_INFO = 0x54584958  # "TXIX" in dwExtraInfo: Tingxie's own hotkey hook can skip these

PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
TOKEN_QUERY = 0x0008
TOKEN_ELEVATION_CLASS = 20  # TOKEN_INFORMATION_CLASS.TokenElevation

CF_TEXT = 1
CF_BITMAP = 2
CF_METAFILEPICT = 3
CF_PALETTE = 9
CF_UNICODETEXT = 13
CF_ENHMETAFILE = 14
CF_DIB = 8
CF_DIBV5 = 17
CF_OWNERDISPLAY = 0x0080
CF_DSPBITMAP = 0x0082
CF_DSPMETAFILEPICT = 0x0083
CF_DSPENHMETAFILE = 0x008E
CF_PRIVATEFIRST = 0x0200
CF_GDIOBJLAST = 0x03FF
HANDLE_FORMATS = frozenset({CF_BITMAP, CF_METAFILEPICT, CF_PALETTE, CF_ENHMETAFILE,
                            CF_OWNERDISPLAY, CF_DSPBITMAP, CF_DSPMETAFILEPICT,
                            CF_DSPENHMETAFILE})
"""Formats whose clipboard handle is not an HGLOBAL of plain bytes."""
BITMAP_FORMATS = frozenset({CF_BITMAP, CF_PALETTE, CF_DSPBITMAP})  # kept through CF_DIB

GMEM_MOVEABLE = 0x0002
HWND_MESSAGE = -3
WM_DESTROYCLIPBOARD = 0x0307
WM_RENDERFORMAT = 0x0305
WM_RENDERALLFORMATS = 0x0306
PM_REMOVE = 0x0001
QS_ALLINPUT = 0x04FF
WINDOW_CLASS = "TingxieClipboardOwner"

PASTE_TIMEOUT_S = 8.0
"""How long a paste waits for the target to read the clipboard before giving up."""
QUIET_S = 0.2
"""After the target's read, how long to keep the text before restoring: some applications
open the clipboard twice for one paste (a format check, then the read)."""
OPEN_RETRY_S = 1.0
"""How long to retry ``OpenClipboard`` while another application holds it open."""

# --- structures -------------------------------------------------------------------------------
# Fixed-width: DWORD is c_ulong, 8 bytes off Windows, where the tests build these
DWORD = ctypes.c_uint32
WORD = ctypes.c_uint16
LONG = ctypes.c_int32
ULONG_PTR = ctypes.c_size_t
LRESULT = ctypes.c_ssize_t


class KEYBDINPUT(ctypes.Structure):
    _fields_ = [("wVk", WORD), ("wScan", WORD), ("dwFlags", DWORD),
                ("time", DWORD), ("dwExtraInfo", ULONG_PTR)]


class MOUSEINPUT(ctypes.Structure):
    _fields_ = [("dx", LONG), ("dy", LONG), ("mouseData", DWORD),
                ("dwFlags", DWORD), ("time", DWORD),
                ("dwExtraInfo", ULONG_PTR)]


class HARDWAREINPUT(ctypes.Structure):
    _fields_ = [("uMsg", DWORD), ("wParamL", WORD),
                ("wParamH", WORD)]


class _INPUTUNION(ctypes.Union):
    # the mouse member is the largest: without it sizeof(INPUT) is wrong and SendInput
    # rejects every call
    _fields_ = [("mi", MOUSEINPUT), ("ki", KEYBDINPUT), ("hi", HARDWAREINPUT)]


class INPUT(ctypes.Structure):
    _fields_ = [("type", DWORD), ("u", _INPUTUNION)]


# WINFUNCTYPE exists only on Windows; elsewhere (tests) the calling convention is moot
_FUNCTYPE = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)
WNDPROC = _FUNCTYPE(LRESULT, wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM)


class WNDCLASSEXW(ctypes.Structure):
    _fields_ = [("cbSize", wintypes.UINT), ("style", wintypes.UINT), ("lpfnWndProc", WNDPROC),
                ("cbClsExtra", ctypes.c_int), ("cbWndExtra", ctypes.c_int),
                ("hInstance", wintypes.HINSTANCE), ("hIcon", wintypes.HICON),
                ("hCursor", wintypes.HANDLE), ("hbrBackground", wintypes.HBRUSH),
                ("lpszMenuName", wintypes.LPCWSTR), ("lpszClassName", wintypes.LPCWSTR),
                ("hIconSm", wintypes.HICON)]


@dataclass(frozen=True)
class Key:
    """One keyboard event as ``SendInput`` gets it."""

    vk: int
    scan: int
    flags: int


def unicode_keys(text: str) -> list[Key]:
    """The key events that type ``text``: a Unicode down/up pair per UTF-16 code unit
    (two pairs, high then low surrogate, for a character outside the BMP); ``\\n``,
    ``\\r\\n`` and ``\\r`` are one Return key each. Pure."""
    keys: list[Key] = []
    for line_no, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        if line_no:
            keys += [Key(VK_RETURN, 0, 0), Key(VK_RETURN, 0, KEYEVENTF_KEYUP)]
        data = line.encode("utf-16-le", "surrogatepass")
        for i in range(0, len(data), 2):
            unit = int.from_bytes(data[i:i + 2], "little")
            keys += [Key(0, unit, KEYEVENTF_UNICODE),
                     Key(0, unit, KEYEVENTF_UNICODE | KEYEVENTF_KEYUP)]
    return keys


def chord_vks(chord: Chord) -> tuple[tuple[int, ...], int]:
    """(modifiers, key) of ``chord`` on Windows; Cmd+V means Ctrl+V here."""
    if chord is Chord.CTRL_SHIFT_V:
        return (VK_CONTROL, VK_SHIFT), VK_V
    if chord is Chord.SHIFT_INSERT:
        return (VK_SHIFT,), VK_INSERT
    return (VK_CONTROL,), VK_V


def is_handle_format(fmt: int) -> bool:
    """True for clipboard formats whose data is a GDI/other handle, not copyable bytes."""
    return fmt in HANDLE_FORMATS or CF_PRIVATEFIRST <= fmt <= CF_GDIOBJLAST


@dataclass
class _Paste:
    """One paste in flight, as the clipboard window's procedure sees it."""

    text: str
    hwnd: int
    seq: int = 0  # the clipboard sequence number after our own last change
    rendered: bool = False  # an application has read the text
    replaced: bool = False  # someone else emptied the clipboard: not ours any more
    restoring: bool = False  # we empty it ourselves now
    error: Exception | None = None  # raised in the window procedure, re-raised by insert


class WindowsInserter:
    """``TextInserter`` for Windows. ``user32``, ``kernel32`` and ``advapi32`` are the DLLs
    (or fakes with the same functions); those left None are loaded on first use, which
    works on Windows only. ``clock``/``sleep`` time the clipboard waits. Calls must come
    from one thread (the paste's hidden window belongs to the thread that made it)."""

    name = "windows"

    def __init__(self, user32: Any = None, kernel32: Any = None, advapi32: Any = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 paste_timeout_s: float = PASTE_TIMEOUT_S) -> None:
        self._u, self._k, self._a = user32, kernel32, advapi32
        self._clock = clock
        self._sleep = sleep
        self._paste_timeout_s = paste_timeout_s
        self._formats: dict[str, int] = {}
        self._class_atom = 0
        self._wndproc: Any = None  # keeps the ctypes callback alive while the class exists
        self._paste: _Paste | None = None
        self._self_elevated: bool | None = None

    # --- TextInserter ------------------------------------------------------------------------
    def focused(self) -> Target | None:
        """The foreground window: its HWND, executable (lower-case) and title."""
        self._load()
        return self._target_of(self._u.GetForegroundWindow() or 0)

    def insert(self, text: str, target: Target | None, how: How) -> Inserted:
        """See ``TextInserter.insert``. Raises ``FocusMoved`` before sending anything when
        the foreground window is not ``target``, ``Unreachable`` for an elevated target or
        when Windows takes fewer events than sent, ``InsertError`` when a paste was not
        read within the timeout (the user's clipboard is restored first)."""
        self._load()
        where = self._check_focus(target)
        self._check_elevation(where)
        if how.method is Method.PASTE:
            return self._paste_text(text, target, where, how)
        self._send(self._release_held() + unicode_keys(text), where)
        return Inserted(How(Method.TYPE, how.chord), target or self._target_of(where))

    def close(self) -> None:
        if self._class_atom:
            self._u.UnregisterClassW(WINDOW_CLASS, self._k.GetModuleHandleW(None))
            self._class_atom = 0
            self._wndproc = None

    # --- focus, processes, elevation --------------------------------------------------------
    def _check_focus(self, target: Target | None) -> int:
        """The foreground HWND; ``FocusMoved`` if ``target`` is given and is not it."""
        hwnd = self._u.GetForegroundWindow() or 0
        if target is not None and hwnd != target.id:
            raise FocusMoved(target, self._target_of(hwnd))
        return hwnd

    def _target_of(self, hwnd: int) -> Target | None:
        if not hwnd:
            return None
        pid = self._pid_of(hwnd)
        return Target(hwnd, self._image_name(pid), self._title(hwnd), pid)

    def _pid_of(self, hwnd: int) -> int:
        pid = DWORD(0)
        self._u.GetWindowThreadProcessId(hwnd, pid)
        return pid.value

    def _title(self, hwnd: int) -> str:
        n = self._u.GetWindowTextLengthW(hwnd)
        if n <= 0:
            return ""
        buf = ctypes.create_unicode_buffer(n + 1)
        self._u.GetWindowTextW(hwnd, buf, n + 1)
        return buf.value

    def _image_name(self, pid: int) -> str:
        """The process's executable file name, lower-case; "" if it cannot be opened."""
        handle = self._k.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid) if pid else 0
        if not handle:
            return ""
        try:
            buf = ctypes.create_unicode_buffer(1024)
            size = DWORD(len(buf))
            if not self._k.QueryFullProcessImageNameW(handle, 0, buf, size):
                return ""
            return ntpath.basename(buf.value).lower()
        finally:
            self._k.CloseHandle(handle)

    def _token_elevated(self, process: int) -> bool | None:
        """TokenElevation of ``process`` (a handle); None when the token cannot be read."""
        token = wintypes.HANDLE(0)
        if not self._a.OpenProcessToken(process, TOKEN_QUERY, token):
            return None
        try:
            elevation = DWORD(0)
            size = DWORD(0)
            if not self._a.GetTokenInformation(token.value, TOKEN_ELEVATION_CLASS, elevation,
                                               ctypes.sizeof(elevation), size):
                return None
            return bool(elevation.value)
        finally:
            self._k.CloseHandle(token.value)

    def _check_elevation(self, hwnd: int) -> None:
        """``Unreachable`` when the window's process is elevated and Tingxie is not: UIPI
        drops our input without ``SendInput`` saying so. Unknown elevation passes."""
        if not hwnd:
            return
        if self._self_elevated is None:
            self._self_elevated = bool(self._token_elevated(self._k.GetCurrentProcess()))
        if self._self_elevated:
            return
        pid = self._pid_of(hwnd)
        process = self._k.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid) if pid else 0
        if not process:
            return
        try:
            elevated = self._token_elevated(process)
        finally:
            self._k.CloseHandle(process)
        if elevated:
            app = self._image_name(pid) or "this window"
            raise Unreachable(
                f"{app} runs as administrator; Tingxie cannot type into it. Run Tingxie as "
                "administrator, or paste the text yourself (\"paste last\")."
            )

    # --- keys --------------------------------------------------------------------------------
    def _key(self, vk: int, up: bool = False) -> Key:
        flags = KEYEVENTF_KEYUP if up else 0
        if vk in EXTENDED_KEYS:
            flags |= KEYEVENTF_EXTENDEDKEY
        return Key(vk, self._u.MapVirtualKeyW(vk, MAPVK_VK_TO_VSC), flags)

    def _release_held(self) -> list[Key]:
        """Key-ups for the modifiers held now (``GetAsyncKeyState``'s high bit)."""
        held = [vk for vk in HELD_MODIFIERS if self._u.GetAsyncKeyState(vk) & 0x8000]
        keys: list[Key] = []
        if any(vk in (VK_LMENU, VK_RMENU, VK_LWIN, VK_RWIN) for vk in held):
            # Alt or Win released with no key between opens the menu bar / Start menu,
            # which would then take the text: tap a key that does nothing first
            keys += [Key(VK_MASK, 0, 0), Key(VK_MASK, 0, KEYEVENTF_KEYUP)]
        return keys + [self._key(vk, up=True) for vk in held]

    def _chord_keys(self, chord: Chord) -> list[Key]:
        mods, key = chord_vks(chord)
        return ([self._key(vk) for vk in mods] + [self._key(key), self._key(key, up=True)]
                + [self._key(vk, up=True) for vk in reversed(mods)])

    def _send(self, keys: list[Key], hwnd: int) -> None:
        """One ``SendInput`` call (one call: the user's own keys cannot interleave);
        ``Unreachable`` if Windows took fewer events than sent."""
        if not keys:
            return
        inputs = (INPUT * len(keys))()
        for item, key in zip(inputs, keys):
            item.type = INPUT_KEYBOARD
            item.u.ki = KEYBDINPUT(key.vk, key.scan, key.flags, 0, EXTRA_INFO)
        sent = self._u.SendInput(len(keys), inputs, ctypes.sizeof(INPUT))
        if sent != len(keys):
            app = self._image_name(self._pid_of(hwnd)) if hwnd else ""
            raise Unreachable(
                f"Windows blocked the key events ({sent} of {len(keys)} sent) to "
                f"{app or 'the window'}: it may belong to an administrator or the secure desktop."
            )

    # --- clipboard -----------------------------------------------------------------------------
    def _format(self, name: str) -> int:
        if name not in self._formats:
            self._formats[name] = self._u.RegisterClipboardFormatW(name)
        return self._formats[name]

    def _open_clipboard(self, hwnd: int) -> bool:
        """``OpenClipboard``, retried while another application holds it (there is no event
        for its release)."""
        deadline = self._clock() + OPEN_RETRY_S
        while not self._u.OpenClipboard(hwnd):
            if self._clock() >= deadline:
                return False
            self._sleep(0.01)
        return True

    def _global_bytes(self, handle: int) -> bytes | None:
        size = self._k.GlobalSize(handle)
        pointer = self._k.GlobalLock(handle)
        if not pointer:
            return None
        try:
            return ctypes.string_at(pointer, size)
        finally:
            self._k.GlobalUnlock(handle)

    def _global_from(self, data: bytes) -> int:
        handle = self._k.GlobalAlloc(GMEM_MOVEABLE, max(len(data), 1))
        if not handle:
            raise InsertError("out of memory for the clipboard")
        pointer = self._k.GlobalLock(handle)
        ctypes.memmove(pointer, data, len(data))
        self._k.GlobalUnlock(handle)
        return handle

    def _set(self, fmt: int, data: bytes) -> None:
        handle = self._global_from(data)
        if not self._u.SetClipboardData(fmt, handle):
            self._k.GlobalFree(handle)  # on success the clipboard owns it

    def _save(self) -> tuple[list[tuple[int, bytes]], list[int]]:
        """The open clipboard's formats as bytes, and the handle formats skipped."""
        saved: list[tuple[int, bytes]] = []
        skipped: list[int] = []
        fmt = self._u.EnumClipboardFormats(0)
        while fmt:
            if is_handle_format(fmt):
                skipped.append(fmt)
            else:
                handle = self._u.GetClipboardData(fmt)
                data = self._global_bytes(handle) if handle else None
                if data is not None:
                    saved.append((fmt, data))
            fmt = self._u.EnumClipboardFormats(fmt)
        return saved, skipped

    def _render(self, paste: _Paste) -> None:
        """Answer ``WM_RENDERFORMAT``: the requester holds the clipboard open."""
        text = paste.text.replace("\r\n", "\n").replace("\n", "\r\n")  # the CF_TEXT convention
        self._set(CF_UNICODETEXT, (text + "\0").encode("utf-16-le", "surrogatepass"))
        paste.rendered = True
        paste.seq = self._u.GetClipboardSequenceNumber()

    def _window_proc(self, hwnd: int, msg: int, wparam: int, lparam: int) -> int:
        paste = self._paste
        try:
            if paste is not None and msg == WM_RENDERFORMAT and wparam == CF_UNICODETEXT:
                self._render(paste)
                return 0
            if paste is not None and msg == WM_RENDERALLFORMATS:
                # the window is going away while still offering the text (the restore
                # failed): leave the text on the clipboard rather than nothing
                if self._u.OpenClipboard(hwnd):
                    try:
                        if (self._u.GetClipboardOwner() or 0) == hwnd:
                            self._render(paste)
                    finally:
                        self._u.CloseClipboard()
                return 0
            if paste is not None and msg == WM_DESTROYCLIPBOARD:
                paste.replaced = not paste.restoring
                return 0
        except Exception as error:  # noqa: BLE001 - it cannot cross back into user32: kept
            if paste is not None:
                paste.error = error
            return 0
        return self._u.DefWindowProcW(hwnd, msg, wparam, lparam)

    def _window(self) -> int:
        """A new hidden message-only window to own the clipboard for one paste."""
        instance = self._k.GetModuleHandleW(None)
        if not self._class_atom:
            self._wndproc = WNDPROC(self._window_proc)
            wc = WNDCLASSEXW()
            wc.cbSize = ctypes.sizeof(WNDCLASSEXW)
            wc.lpfnWndProc = self._wndproc
            wc.hInstance = instance
            wc.lpszClassName = WINDOW_CLASS
            self._class_atom = self._u.RegisterClassExW(wc)
            if not self._class_atom:
                raise InsertError("cannot create the clipboard window")
        hwnd = self._u.CreateWindowExW(0, WINDOW_CLASS, "Tingxie", 0, 0, 0, 0, 0,
                                       HWND_MESSAGE, None, instance, None)
        if not hwnd:
            raise InsertError("cannot create the clipboard window")
        return hwnd

    def _pump(self, until: Callable[[], bool], deadline: float) -> bool:
        """Dispatch this thread's messages (``WM_RENDERFORMAT`` arrives as a sent message)
        until ``until()`` holds (True) or ``deadline`` passes (False)."""
        msg = wintypes.MSG()
        while True:
            while self._u.PeekMessageW(msg, None, 0, 0, PM_REMOVE):
                self._u.TranslateMessage(msg)
                self._u.DispatchMessageW(msg)
            if until():
                return True
            left = deadline - self._clock()
            if left <= 0:
                return False
            self._u.MsgWaitForMultipleObjects(0, None, False, max(1, int(left * 1000)),
                                              QS_ALLINPUT)

    def _restore(self, paste: _Paste, saved: list[tuple[int, bytes]]) -> bool | None:
        """Put ``saved`` back unless the clipboard changed since our last change (the user
        copied: None). False if it could not be opened."""
        if not self._open_clipboard(paste.hwnd):
            return False
        try:
            if ((self._u.GetClipboardOwner() or 0) != paste.hwnd
                    or self._u.GetClipboardSequenceNumber() != paste.seq):
                return None
            paste.restoring = True
            self._u.EmptyClipboard()
            for fmt, data in saved:
                self._set(fmt, data)
            return True
        finally:
            self._u.CloseClipboard()

    def _paste_text(self, text: str, target: Target | None, hwnd: int, how: How) -> Inserted:
        window = self._window()
        paste = _Paste(text, window)
        self._paste = paste
        try:
            if not self._open_clipboard(window):
                raise InsertError("another application holds the clipboard: nothing was pasted")
            try:
                saved, skipped = self._save()
                self._u.EmptyClipboard()  # makes `window` the owner
                self._u.SetClipboardData(CF_UNICODETEXT, None)  # delayed: _render on read
                self._set(self._format("ExcludeClipboardContentFromMonitorProcessing"), b"\0")
                self._set(self._format("CanIncludeInClipboardHistory"), b"\0\0\0\0")
                self._set(self._format("CanUploadToCloudClipboard"), b"\0\0\0\0")
                paste.seq = self._u.GetClipboardSequenceNumber()
            finally:
                self._u.CloseClipboard()
            dib = any(fmt in (CF_DIB, CF_DIBV5) for fmt, _ in saved)
            lost = [f for f in skipped if not (f in BITMAP_FORMATS and dib)]
            try:
                self._check_focus(target)  # the clipboard work took a moment
                self._send(self._release_held() + self._chord_keys(how.chord), hwnd)
            except InsertError:
                self._restore(paste, saved)
                raise
            deadline = self._clock() + self._paste_timeout_s
            read = self._pump(lambda: paste.rendered or paste.replaced or bool(paste.error),
                              deadline)
            if paste.error is not None:
                self._restore(paste, saved)
                raise InsertError(f"the paste failed: {paste.error}") from paste.error
            if paste.replaced and not paste.rendered:
                raise InsertError("another application replaced the clipboard before the paste: "
                                  "the text may not have been pasted")
            if not read:
                self._restore(paste, saved)
                raise InsertError(
                    f"{self._image_name(self._pid_of(hwnd)) or 'the window'} did not read the "
                    f"clipboard within {self._paste_timeout_s:g} s: nothing was pasted"
                )
            self._pump(lambda: paste.replaced, self._clock() + QUIET_S)
            restored = self._restore(paste, saved)
            notice = None
            if restored is False:
                notice = "the clipboard was busy: your previous clipboard was not restored"
            elif restored and lost:
                notice = ("your clipboard held a picture or object Tingxie cannot keep "
                          f"(formats {', '.join(map(str, lost))}): it was not restored")
            return Inserted(How(Method.PASTE, how.chord), target or self._target_of(hwnd), notice)
        finally:
            try:
                # while still owning an unread offer, the window gets WM_RENDERALLFORMATS
                # here and needs the paste to answer it
                self._u.DestroyWindow(window)
            finally:
                self._paste = None

    # --- the real DLLs ---------------------------------------------------------------------------
    def _load(self) -> None:
        if self._u is not None and self._k is not None and self._a is not None:
            return
        if sys.platform != "win32":
            raise Unreachable("the Windows text insertion runs on Windows only")
        user32, kernel32, advapi32 = _load_dlls()
        self._u = self._u or user32
        self._k = self._k or kernel32
        self._a = self._a or advapi32


def _load_dlls() -> tuple[Any, Any, Any]:
    """user32/kernel32/advapi32 with prototypes. Own ``WinDLL`` objects, not the shared
    ``ctypes.windll`` ones: prototypes set there would change other code's calls. The
    restypes matter: the default ``c_int`` truncates 64-bit handles."""
    w = wintypes
    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]

    def proto(dll: Any, name: str, restype: Any, *argtypes: Any) -> None:
        fn = getattr(dll, name)
        fn.restype = restype
        fn.argtypes = argtypes

    proto(user32, "GetForegroundWindow", w.HWND)
    proto(user32, "GetWindowThreadProcessId", w.DWORD, w.HWND, ctypes.POINTER(DWORD))
    proto(user32, "GetWindowTextLengthW", ctypes.c_int, w.HWND)
    proto(user32, "GetWindowTextW", ctypes.c_int, w.HWND, w.LPWSTR, ctypes.c_int)
    proto(user32, "GetAsyncKeyState", w.SHORT, ctypes.c_int)
    proto(user32, "MapVirtualKeyW", w.UINT, w.UINT, w.UINT)
    proto(user32, "SendInput", w.UINT, w.UINT, ctypes.POINTER(INPUT), ctypes.c_int)
    proto(user32, "OpenClipboard", w.BOOL, w.HWND)
    proto(user32, "CloseClipboard", w.BOOL)
    proto(user32, "EmptyClipboard", w.BOOL)
    proto(user32, "EnumClipboardFormats", w.UINT, w.UINT)
    proto(user32, "GetClipboardData", w.HANDLE, w.UINT)
    proto(user32, "SetClipboardData", w.HANDLE, w.UINT, w.HANDLE)
    proto(user32, "RegisterClipboardFormatW", w.UINT, w.LPCWSTR)
    proto(user32, "GetClipboardSequenceNumber", w.DWORD)
    proto(user32, "GetClipboardOwner", w.HWND)
    proto(user32, "RegisterClassExW", w.ATOM, ctypes.POINTER(WNDCLASSEXW))
    proto(user32, "UnregisterClassW", w.BOOL, w.LPCWSTR, w.HINSTANCE)
    proto(user32, "CreateWindowExW", w.HWND, w.DWORD, w.LPCWSTR, w.LPCWSTR, w.DWORD,
          ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, w.HWND, w.HMENU,
          w.HINSTANCE, w.LPVOID)
    proto(user32, "DestroyWindow", w.BOOL, w.HWND)
    proto(user32, "DefWindowProcW", LRESULT, w.HWND, w.UINT, w.WPARAM, w.LPARAM)
    proto(user32, "PeekMessageW", w.BOOL, ctypes.POINTER(w.MSG), w.HWND, w.UINT, w.UINT, w.UINT)
    proto(user32, "TranslateMessage", w.BOOL, ctypes.POINTER(w.MSG))
    proto(user32, "DispatchMessageW", LRESULT, ctypes.POINTER(w.MSG))
    proto(user32, "MsgWaitForMultipleObjects", w.DWORD, w.DWORD, ctypes.POINTER(w.HANDLE),
          w.BOOL, w.DWORD, w.DWORD)
    proto(kernel32, "OpenProcess", w.HANDLE, w.DWORD, w.BOOL, w.DWORD)
    proto(kernel32, "CloseHandle", w.BOOL, w.HANDLE)
    proto(kernel32, "QueryFullProcessImageNameW", w.BOOL, w.HANDLE, w.DWORD, w.LPWSTR,
          ctypes.POINTER(DWORD))
    proto(kernel32, "GetCurrentProcess", w.HANDLE)
    proto(kernel32, "GetModuleHandleW", w.HMODULE, w.LPCWSTR)
    proto(kernel32, "GlobalAlloc", w.HGLOBAL, w.UINT, ctypes.c_size_t)
    proto(kernel32, "GlobalLock", w.LPVOID, w.HGLOBAL)
    proto(kernel32, "GlobalUnlock", w.BOOL, w.HGLOBAL)
    proto(kernel32, "GlobalSize", ctypes.c_size_t, w.HGLOBAL)
    proto(kernel32, "GlobalFree", w.HGLOBAL, w.HGLOBAL)
    proto(advapi32, "OpenProcessToken", w.BOOL, w.HANDLE, w.DWORD, ctypes.POINTER(w.HANDLE))
    # TOKEN_ELEVATION is one DWORD: declared as such so a DWORD is passed by reference.
    # Out-parameters are POINTER(DWORD) of this module's c_uint32, the type the calls pass:
    # ctypes passes an instance by reference only for the exact pointed-to type
    proto(advapi32, "GetTokenInformation", w.BOOL, w.HANDLE, ctypes.c_int,
          ctypes.POINTER(DWORD), w.DWORD, ctypes.POINTER(DWORD))
    return user32, kernel32, advapi32
