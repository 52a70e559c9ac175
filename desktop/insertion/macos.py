"""Text into macOS applications: Quartz keyboard events carrying Unicode strings, or a
paste through the clipboard (``pbcopy``/``pbpaste``) with Cmd+V.

Typing posts key-down/key-up events (``CGEventCreateKeyboardEvent``) whose text is set
with ``CGEventKeyboardSetUnicodeString``, at most 20 UTF-16 units per event (the
documented limit: applications may ignore the rest), never splitting a surrogate pair;
each newline is the Return key. Posting at ``kCGHIDEventTap`` needs the Accessibility
permission (``AXIsProcessTrusted``): without it ``insert`` raises ``Unreachable``
telling the user where to grant it.

A synthetic event cannot lift a key the user still holds, so instead every event
carries explicit modifier flags (none for text, Command for the paste chord): held
modifiers do not combine with what is sent. Every chord is Cmd+V on macOS.

The focused application is ``NSWorkspace.frontmostApplication`` (read through the
Objective-C runtime): ``Target.id`` is its pid, ``Target.app`` its executable's name,
lower-case, ``Target.title`` its localized name (a window title would need the
Accessibility API).

Pasting saves and restores text only: ``pbpaste`` cannot read images, files or rich
text, which the paste replaces and does not give back. With no signal from the command
line tools that the target has read the clipboard, the restore waits a settling delay
(a guess: a slower target pastes the restored text), and it is skipped when the
clipboard no longer holds the dictated text (the user copied something meanwhile).

All calls go through the injected ``quartz`` functions, ``frontmost`` reader and
``run`` command runner (tests pass fakes); the real frameworks load on first use, on
macOS only. Written against Apple's documented APIs; not run on this project's CI.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .base import Chord, FocusMoved, How, Inserted, InsertError, Method, Target, Unreachable
from .wayland import Completed, Runner

K_CG_HID_EVENT_TAP = 0  # kCGHIDEventTap
K_CG_EVENT_FLAG_MASK_COMMAND = 1 << 20  # kCGEventFlagMaskCommand
KVK_ANSI_V = 9  # kVK_ANSI_V (Carbon HIToolbox/Events.h)
KVK_RETURN = 36  # kVK_Return
MAX_UNITS = 20
"""UTF-16 units per event: CGEventKeyboardSetUnicodeString's documented limit."""
PASTE_SETTLE_S = 0.5
"""How long the target gets to read the clipboard before the user's text is copied back
(a guess: see the module docstring)."""
RUN_TIMEOUT_S = 10.0
ACCESSIBILITY_HINT = (
    "macOS does not let Tingxie send keystrokes: allow Tingxie in System Settings → "
    "Privacy & Security → Accessibility, then restart Tingxie"
)


@dataclass(frozen=True)
class FrontApp:
    """The frontmost application as NSWorkspace reports it."""

    pid: int
    executable: str  # the file name of its executable, as is
    name: str  # localized


RETURN = None
"""In ``unicode_chunks``: the Return key."""


def unicode_chunks(text: str, limit: int = MAX_UNITS) -> list[list[int] | None]:
    """``text`` as the events that type it: lists of at most ``limit`` UTF-16 units, a
    surrogate pair never split, and ``RETURN`` for each newline (``\\r\\n`` is one). Pure."""
    out: list[list[int] | None] = []
    for i, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        if i:
            out.append(RETURN)
        data = line.encode("utf-16-le", "surrogatepass")
        units = [int.from_bytes(data[j:j + 2], "little") for j in range(0, len(data), 2)]
        chunk: list[int] = []
        for k, unit in enumerate(units):
            high = 0xD800 <= unit <= 0xDBFF and k + 1 < len(units)
            if len(chunk) + (2 if high else 1) > limit and not (0xDC00 <= unit <= 0xDFFF):
                out.append(chunk)
                chunk = []
            chunk.append(unit)
        if chunk:
            out.append(chunk)
    return out


class MacInserter:
    """``TextInserter`` for macOS. ``quartz`` has AXIsProcessTrusted, CGEventCreateKeyboard
    Event, CGEventKeyboardSetUnicodeString, CGEventSetFlags, CGEventPost and CFRelease;
    ``frontmost`` returns the frontmost application; ``run`` runs pbcopy/pbpaste; those
    left None are the real ones, loaded on first use (macOS only)."""

    name = "macos"

    def __init__(self, quartz: Any = None, frontmost: Callable[[], FrontApp | None] | None = None,
                 run: Runner | None = None, *, sleep: Callable[[float], None] = time.sleep,
                 settle_s: float = PASTE_SETTLE_S) -> None:
        self._q = quartz
        self._frontmost = frontmost
        self._run = run or run_process
        self._sleep = sleep
        self._settle_s = settle_s

    def focused(self) -> Target | None:
        """The frontmost application (pid, executable lower-case, localized name)."""
        self._load()
        assert self._frontmost is not None
        app = self._frontmost()
        if app is None:
            return None
        return Target(app.pid, (app.executable or app.name).lower(), app.name, app.pid)

    def insert(self, text: str, target: Target | None, how: How) -> Inserted:
        """See ``TextInserter.insert``. Raises ``Unreachable`` without the Accessibility
        permission, ``FocusMoved`` (nothing sent) when another application is frontmost
        than ``target``, ``InsertError`` when pbcopy fails."""
        self._load()
        if not self._q.AXIsProcessTrusted():
            raise Unreachable(ACCESSIBILITY_HINT)
        now = self.focused()
        if target is not None and (now is None or now.id != target.id):
            raise FocusMoved(target, now)
        where = target or now
        if how.method is Method.PASTE:
            notice = self._paste(text)
            return Inserted(How(Method.PASTE, Chord.CMD_V), where, notice)
        for chunk in unicode_chunks(text):
            if chunk is RETURN:
                self._key(KVK_RETURN, 0)
            else:
                self._key(0, 0, chunk)
        return Inserted(How(Method.TYPE, how.chord), where)

    def close(self) -> None:
        """Nothing is held."""

    # --- events ----------------------------------------------------------------------------
    def _key(self, keycode: int, flags: int, units: list[int] | None = None) -> None:
        """A key-down and key-up of ``keycode`` with exactly ``flags``, typing ``units``."""
        chars = (ctypes.c_uint16 * len(units))(*units) if units else None
        for down in (True, False):
            event = self._q.CGEventCreateKeyboardEvent(None, keycode, down)
            if not event:
                raise Unreachable("macOS refused to create a keyboard event")
            try:
                self._q.CGEventSetFlags(event, flags)
                if chars is not None:
                    self._q.CGEventKeyboardSetUnicodeString(event, len(chars), chars)
                self._q.CGEventPost(K_CG_HID_EVENT_TAP, event)
            finally:
                self._q.CFRelease(event)

    # --- clipboard -------------------------------------------------------------------------
    def _paste(self, text: str) -> str | None:
        """pbcopy the text, Cmd+V, wait, give the user's text back; a notice or None."""
        before = self._run(["pbpaste", "-Prefer", "txt"], None)
        saved = before.stdout if before.returncode == 0 else None
        copied = self._run(["pbcopy"], text.encode())
        if copied.returncode != 0:
            raise InsertError(f"pbcopy failed: {copied.error}")
        self._key(KVK_ANSI_V, K_CG_EVENT_FLAG_MASK_COMMAND)
        self._sleep(self._settle_s)
        if not saved:
            # nothing textual to give back (empty, or an image pbpaste cannot read)
            return None if saved is not None else "your previous clipboard could not be read"
        now = self._run(["pbpaste", "-Prefer", "txt"], None)
        if now.returncode == 0 and now.stdout == text.encode():
            self._run(["pbcopy"], saved)
        return None

    # --- the real frameworks -----------------------------------------------------------------
    def _load(self) -> None:
        if self._q is not None and self._frontmost is not None:
            return
        if sys.platform != "darwin":
            raise Unreachable("the macOS text insertion runs on macOS only")
        if self._q is None:
            self._q = _load_quartz()
        if self._frontmost is None:
            self._frontmost = _ObjC().frontmost


def run_process(argv: Sequence[str], stdin: bytes | None) -> Completed:
    """The real ``Runner`` for pbcopy/pbpaste, which read and write text in the locale's
    encoding: UTF-8 is forced, an application started from Finder may have no LANG."""
    env = dict(os.environ)
    if "utf-8" not in (env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or "").lower():
        env["LC_ALL"] = "en_US.UTF-8"
    try:
        done = subprocess.run(list(argv), input=stdin, capture_output=True, env=env,
                              timeout=RUN_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Completed(-1, b"", str(error).encode())
    return Completed(done.returncode, done.stdout, done.stderr)


def _load_quartz() -> Any:
    """ApplicationServices (CoreGraphics events, AXIsProcessTrusted) and CoreFoundation
    (CFRelease) with prototypes: events are pointers, the default int return truncates."""
    services = ctypes.cdll.LoadLibrary(
        "/System/Library/Frameworks/ApplicationServices.framework/ApplicationServices")
    foundation = ctypes.cdll.LoadLibrary(
        "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation")

    class Quartz:
        AXIsProcessTrusted = services.AXIsProcessTrusted
        CGEventCreateKeyboardEvent = services.CGEventCreateKeyboardEvent
        CGEventKeyboardSetUnicodeString = services.CGEventKeyboardSetUnicodeString
        CGEventSetFlags = services.CGEventSetFlags
        CGEventPost = services.CGEventPost
        CFRelease = foundation.CFRelease

    q = Quartz
    q.AXIsProcessTrusted.restype = ctypes.c_bool
    q.AXIsProcessTrusted.argtypes = []
    q.CGEventCreateKeyboardEvent.restype = ctypes.c_void_p
    q.CGEventCreateKeyboardEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint16, ctypes.c_bool]
    q.CGEventKeyboardSetUnicodeString.restype = None
    q.CGEventKeyboardSetUnicodeString.argtypes = [ctypes.c_void_p, ctypes.c_ulong,
                                                  ctypes.POINTER(ctypes.c_uint16)]
    q.CGEventSetFlags.restype = None
    q.CGEventSetFlags.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
    q.CGEventPost.restype = None
    q.CGEventPost.argtypes = [ctypes.c_uint32, ctypes.c_void_p]
    q.CFRelease.restype = None
    q.CFRelease.argtypes = [ctypes.c_void_p]
    return q


class _ObjC:
    """NSWorkspace.frontmostApplication through the Objective-C runtime. NSWorkspace may
    be used from any thread; its frontmost application is kept current by the main run
    loop (Qt's). Each call drains its own autorelease pool (worker threads have none)."""

    def __init__(self) -> None:
        lib = ctypes.cdll.LoadLibrary(ctypes.util.find_library("objc") or "libobjc.dylib")
        ctypes.cdll.LoadLibrary("/System/Library/Frameworks/AppKit.framework/AppKit")
        lib.objc_getClass.restype = ctypes.c_void_p
        lib.objc_getClass.argtypes = [ctypes.c_char_p]
        lib.sel_registerName.restype = ctypes.c_void_p
        lib.sel_registerName.argtypes = [ctypes.c_char_p]
        lib.objc_autoreleasePoolPush.restype = ctypes.c_void_p
        lib.objc_autoreleasePoolPop.argtypes = [ctypes.c_void_p]
        self._lib = lib
        # objc_msgSend must be called through a prototype of the method's exact signature
        # (arm64 passes variadic arguments differently)
        self._id = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
            ("objc_msgSend", lib))
        self._int = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(
            ("objc_msgSend", lib))
        self._str = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p)(
            ("objc_msgSend", lib))

    def _sel(self, name: str) -> int:
        return self._lib.sel_registerName(name.encode())  # type: ignore[no-any-return]

    def _string(self, nsstring: int | None) -> str:
        raw = self._str(nsstring, self._sel("UTF8String")) if nsstring else None
        return raw.decode("utf-8", "replace") if raw else ""

    def frontmost(self) -> FrontApp | None:
        pool = self._lib.objc_autoreleasePoolPush()
        try:
            workspace = self._id(self._lib.objc_getClass(b"NSWorkspace"),
                                 self._sel("sharedWorkspace"))
            app = self._id(workspace, self._sel("frontmostApplication"))
            if not app:
                return None
            url = self._id(app, self._sel("executableURL"))
            path = self._string(self._id(url, self._sel("path"))) if url else ""
            return FrontApp(self._int(app, self._sel("processIdentifier")),
                            os.path.basename(path), self._string(self._id(app, self._sel(
                                "localizedName"))))
        finally:
            self._lib.objc_autoreleasePoolPop(pool)
