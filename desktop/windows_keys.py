"""The global hold key on Windows: a ``HoldKeySource`` that sees the key (or mouse button)
whichever application has the focus, Tingxie minimised or not.

It listens through a low-level hook (``SetWindowsHookExW``: ``WH_KEYBOARD_LL`` for a key,
``WH_MOUSE_LL`` for the middle or a side button), as pynput and CapsWriter do. A hook runs
on the thread that installed it, inside that thread's message loop, so the source owns a
thread that installs it and runs ``GetMessageW``; ``stop`` posts ``WM_QUIT`` to that thread,
which unhooks on its way out. Nothing is taken from the application the user works in,
except CapsLock (below).

- Chords (``ctrl+alt+d``): the key counts only with those modifiers down, either side
  (``GetAsyncKeyState`` at the key's press).
- Injected events (``LLKHF_INJECTED``/``LLMHF_INJECTED``: ``SendInput``, Tingxie's own
  typing, remapping tools) never count; only the hardware does.
- CapsLock taps through: as the hold key it is taken away from Windows (the hook answers 1),
  so a hold never toggles caps; a tap shorter than ``TAP_S`` is sent again with
  ``SendInput`` (as CapsWriter does), which toggles caps as the tap would have, and is
  not reported (a press is reported only once it has lasted ``TAP_S``, so a tap starts
  nothing in toggle mode). That injected pair passes the hook untouched.
- Lost releases: every ``STUCK_CHECK_S`` (a ``WM_TIMER`` on the hook thread) a hold is
  checked against ``GetAsyncKeyState``; a key that is up although its release never came
  (the secure desktop took it: Ctrl+Alt+Del, a UAC prompt, the lock screen) is
  ``key_lost``. A key the hook takes away is never down for ``GetAsyncKeyState`` (Windows
  updates that state after the hooks, only for events they let through), so a held
  CapsLock is checked by its auto-repeat instead: once repeats have come, none for
  ``REPEAT_SILENCE_S`` means lost.
- Hook time limit: Windows calls the hook for every key (every mouse move, for a button)
  and waits for it; one that answers later than ``LowLevelHooksTimeout`` is skipped, and
  from Windows 7 on silently removed. So the hook procedures only decide and queue: the
  listener (``PushToTalk``, which may open the microphone) is called from a reporting
  thread of its own, and so is the CapsLock re-send. In case the hook is removed anyway,
  the check also looks the other way: the hold key down for ``GetAsyncKeyState`` although
  the hook saw no press of it means the hook has gone; it is installed again (once per
  press) and the press reported.

Limitations, stated here because they are the user's: a key remapped by another program
(it arrives injected) does not count; while a window of an elevated program ("Run as
administrator") has the focus, Windows does not call a non-elevated hook, so the hold key is
only found by the check above, up to ``STUCK_CHECK_S`` late (and Tingxie cannot type there
anyway); a CapsLock held when the hook was re-installed has toggled caps.

All Win32 calls go through the ``user32``/``kernel32`` objects given to the constructor
(tests pass fakes); the real DLLs are loaded by the constructor, on Windows only, so the
module imports anywhere.
"""

from __future__ import annotations

import ctypes
import enum
import logging
import queue
import sys
import threading
import time
from ctypes import wintypes
from typing import Any

from .hotkey import STUCK_CHECK_S, TAP_S, KeySpec
from .insertion.windows import (
    DWORD,
    INPUT,
    INPUT_KEYBOARD,
    KEYBDINPUT,
    KEYEVENTF_KEYUP,
    LRESULT,
    ULONG_PTR,
)
from .push_to_talk import Clock, HoldKeyListener

log = logging.getLogger(__name__)

SETTLE_S = STUCK_CHECK_S
"""The key state is only compared once the key's last event is this old: Windows updates
it after the hooks have answered, so just after an event it may still say the opposite."""
REPEAT_SILENCE_S = 1.0
"""A held CapsLock whose auto-repeat stops this long is lost (the slowest repeat Windows
offers is about 2.5 a second; the repeat delay only comes before the first repeat)."""
DEBOUNCE_S = 0.0
"""Windows repeats a held key as key-downs only (no release/press pairs, as X11 sends):
nothing to debounce."""

# --- Win32 constants (winuser.h) -------------------------------------------------------------
WH_KEYBOARD_LL = 13
WH_MOUSE_LL = 14
HC_ACTION = 0
WM_QUIT = 0x0012
WM_TIMER = 0x0113
WM_USER = 0x0400
PM_NOREMOVE = 0x0000
LLKHF_LOWER_IL_INJECTED = 0x02
LLKHF_INJECTED = 0x10
LLKHF_UP = 0x80
LLMHF_INJECTED = 0x01
LLMHF_LOWER_IL_INJECTED = 0x02
WM_MBUTTONDOWN = 0x0207
WM_MBUTTONUP = 0x0208
WM_XBUTTONDOWN = 0x020B
WM_XBUTTONUP = 0x020C
XBUTTON1 = 0x0001
XBUTTON2 = 0x0002
MAPVK_VK_TO_VSC = 0

VK_SHIFT = 0x10
VK_CONTROL = 0x11
VK_MENU = 0x12
VK_CAPITAL = 0x14
VK_LWIN = 0x5B
VK_RWIN = 0x5C
VK_MBUTTON = 0x04
VK_XBUTTON1 = 0x05
VK_XBUTTON2 = 0x06

VK_BY_KEYSYM = {
    "Control_L": 0xA2, "Control_R": 0xA3, "Alt_L": 0xA4, "Alt_R": 0xA5,
    "ISO_Level3_Shift": 0xA5,  # AltGr is the right Alt (with a fake left Ctrl before it)
    "Shift_L": 0xA0, "Shift_R": 0xA1, "Super_L": VK_LWIN, "Super_R": VK_RWIN,
    "Caps_Lock": VK_CAPITAL, "space": 0x20, "Tab": 0x09, "Insert": 0x2D, "Pause": 0x13,
    "Scroll_Lock": 0x91, "Menu": 0x5D, "Print": 0x2C, "Home": 0x24, "End": 0x23,
    "Prior": 0x21, "Next": 0x22, "Escape": 0x1B, "Return": 0x0D, "BackSpace": 0x08,
    "Delete": 0x2E,
    **{f"F{n}": 0x70 + n - 1 for n in range(1, 25)},
}
"""Virtual-key codes by the X keysym names ``KeySpec.keysym`` gives (winuser.h VK_*).
Sided modifiers: the low-level hook reports VK_RCONTROL etc., never the generic ones."""

MODIFIER_VKS = {
    "ctrl": (VK_CONTROL,), "alt": (VK_MENU,), "shift": (VK_SHIFT,),
    "super": (VK_LWIN, VK_RWIN),  # Windows has no generic VK for the Windows keys
}
"""What ``GetAsyncKeyState`` is asked for each chord modifier (the generic VKs: either side)."""

BUTTONS = {2: (WM_MBUTTONDOWN, WM_MBUTTONUP, 0, VK_MBUTTON),
           8: (WM_XBUTTONDOWN, WM_XBUTTONUP, XBUTTON1, VK_XBUTTON1),
           9: (WM_XBUTTONDOWN, WM_XBUTTONUP, XBUTTON2, VK_XBUTTON2)}
"""X button number → (down message, up message, XBUTTON in mouseData's high word, VK)."""


class WindowsKeyError(RuntimeError):
    """The key cannot be watched here (no such key on Windows, no hook); for the user."""


def virtual_key(spec: KeySpec) -> int:
    """The VK of ``spec``'s key or button; ``WindowsKeyError`` if Windows has none. Pure."""
    if spec.button is not None:
        if spec.button not in BUTTONS:
            raise WindowsKeyError(
                f"mouse {spec.button}: Windows reports only the middle button (mouse 2) and "
                "two side buttons (mouse 8, mouse 9)")
        return BUTTONS[spec.button][3]
    sym = spec.keysym or ""
    if sym in VK_BY_KEYSYM:
        return VK_BY_KEYSYM[sym]
    if len(sym) == 1 and sym.isascii() and sym.isalnum():
        return ord(sym.upper())  # VK_A..VK_Z and VK_0..VK_9 are the characters' codes
    raise WindowsKeyError(f"Windows has no {spec.key!r} key")


class Check(enum.Enum):
    """What one periodic check does (see ``check``)."""

    NOTHING = "nothing"
    LOST = "lost"  # end the hold: its release will not come
    REINSTALL = "reinstall"  # the hook has gone: install it again, report the press


def check(*, held: bool, suppressed: bool, since_event_s: float, repeating: bool,
          state_trusted: bool, physically_down: bool, seen_down: bool) -> Check:
    """The periodic check's decision, pure. ``held``: a hold is reported; ``suppressed``: the
    hook takes the key away (then the key state never shows it down); ``since_event_s``:
    since the hook's last event of the key, injected or not; ``repeating``: auto-repeats of
    the held key are coming (nothing pressed after it); ``state_trusted``: no injected
    event of the key during this hold (an injected release, such as Tingxie's typing
    lifting held modifiers, makes the key state say up while the finger is still on it);
    ``physically_down``: ``GetAsyncKeyState`` says down; ``seen_down``: the hook's last
    event of the key was a press, or the key was reported down by this check (once per
    press: until the key state says up)."""
    if since_event_s < SETTLE_S:
        return Check.NOTHING
    if held:
        if suppressed:
            return Check.LOST if repeating and since_event_s >= REPEAT_SILENCE_S else Check.NOTHING
        return Check.LOST if state_trusted and not physically_down else Check.NOTHING
    if physically_down and not seen_down:
        return Check.REINSTALL
    return Check.NOTHING


# --- structures -----------------------------------------------------------------------------
class KBDLLHOOKSTRUCT(ctypes.Structure):
    _fields_ = [("vkCode", DWORD), ("scanCode", DWORD), ("flags", DWORD), ("time", DWORD),
                ("dwExtraInfo", ULONG_PTR)]


class POINT(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int32), ("y", ctypes.c_int32)]


class MSLLHOOKSTRUCT(ctypes.Structure):
    _fields_ = [("pt", POINT), ("mouseData", DWORD), ("flags", DWORD), ("time", DWORD),
                ("dwExtraInfo", ULONG_PTR)]


# WINFUNCTYPE exists only on Windows; elsewhere (tests) the calling convention is moot
_FUNCTYPE = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)
HOOKPROC = _FUNCTYPE(LRESULT, ctypes.c_int, wintypes.WPARAM, wintypes.LPARAM)


class WindowsHoldKey:
    """A ``HoldKeySource`` for ``spec`` on Windows. ``user32``/``kernel32`` are the DLLs (or
    fakes with the same functions); those left None are loaded here, which works on
    Windows only. ``__init__`` raises ``WindowsKeyError`` for a key Windows does not have
    (or off Windows); ``start`` installs the hook (``WindowsKeyError`` if Windows refuses
    it), ``stop`` removes it. The listener is called from the source's reporting thread."""

    def __init__(
        self,
        spec: KeySpec,
        user32: Any = None,
        kernel32: Any = None,
        *,
        clock: Clock = time.monotonic,
        debounce_s: float = DEBOUNCE_S,
    ) -> None:
        self.spec = spec
        self.name = str(spec)
        self.debounce_s = debounce_s
        self._clock = clock
        self._vk = virtual_key(spec)
        self._suppress = spec.taps_through  # CapsLock: taken away, re-sent on a tap
        if user32 is None or kernel32 is None:
            if sys.platform != "win32":
                raise WindowsKeyError("the Windows hold key runs on Windows only")
            real_user32, real_kernel32 = _load_dlls()
            user32, kernel32 = user32 or real_user32, kernel32 or real_kernel32
        self._u, self._k = user32, kernel32
        # the ctypes callbacks must live as long as the hooks: Windows keeps raw pointers
        self._keyboard_proc = HOOKPROC(self._keyboard)
        self._mouse_proc = HOOKPROC(self._mouse)
        self._hooks: list[int] = []  # installed, touched by the hook thread only
        self._lock = threading.Lock()
        self._listener: HoldKeyListener | None = None
        self._thread: threading.Thread | None = None
        self._thread_id = 0
        self._reporter: threading.Thread | None = None
        self._reports: queue.SimpleQueue[tuple[str, float, bool] | None] = queue.SimpleQueue()
        # the hold, as the hook saw it (all under _lock)
        self._held_since: float | None = None
        self._last_event = float("-inf")  # the key's last event, injected or not
        self._seen_down = False
        self._repeating = False
        self._state_trusted = True

    # --- HoldKeySource -------------------------------------------------------------------
    def start(self, listener: HoldKeyListener) -> None:
        with self._lock:
            self._listener = listener
            if self._thread is not None:
                return
        self._reporter = threading.Thread(target=self._report_loop,
                                          name="tingxie-win-keys-report", daemon=True)
        self._reporter.start()
        ready = threading.Event()
        failure: list[str] = []
        thread = threading.Thread(target=self._hook_loop, args=(ready, failure),
                                  name="tingxie-win-keys", daemon=True)
        thread.start()
        ready.wait(5.0)
        if failure or not ready.is_set():
            thread.join(5.0)
            self.stop()
            raise WindowsKeyError(failure[0] if failure else "the key hook did not start")
        with self._lock:
            self._thread = thread

    def stop(self) -> None:
        with self._lock:
            self._listener = None
            thread, self._thread = self._thread, None
        if thread is not None:
            # the hook thread unhooks itself once GetMessageW sees WM_QUIT
            if not self._u.PostThreadMessageW(self._thread_id, WM_QUIT, 0, 0):
                log.warning("could not stop the key hook thread")
            thread.join(5.0)
        reporter, self._reporter = self._reporter, None
        if reporter is not None:
            self._reports.put(None)  # after any queued CapsLock re-send
            reporter.join(5.0)
        with self._lock:
            self._held_since = None
            self._seen_down = self._repeating = False
            self._last_event = float("-inf")

    def close(self) -> None:
        """Stop; nothing else is held (the DLLs stay loaded)."""
        self.stop()

    # --- the hook thread -------------------------------------------------------------------
    def _hook_loop(self, ready: threading.Event, failure: list[str]) -> None:
        msg = wintypes.MSG()
        try:
            # make this thread's message queue now, so stop's PostThreadMessageW cannot miss it
            self._u.PeekMessageW(msg, None, WM_USER, WM_USER, PM_NOREMOVE)
            self._thread_id = self._k.GetCurrentThreadId()
            if not self._install():
                failure.append("Windows refused the key hook: no global hold key")
                return
            timer = self._u.SetTimer(None, 0, int(STUCK_CHECK_S * 1000), None)
        except Exception as exc:  # noqa: BLE001 - told to start, which raises it for the user
            log.exception("the key hook could not be installed")
            self._uninstall()
            failure.append(f"the key hook could not be installed: {exc}")
            return
        finally:
            ready.set()
        try:
            while True:
                got = self._u.GetMessageW(msg, None, 0, 0)
                if got == 0 or got == -1:  # WM_QUIT, or an invalid call: either way, done
                    break
                if msg.message == WM_TIMER:
                    try:
                        self._check()
                    except Exception:  # noqa: BLE001 - the hook must outlive a failed check
                        log.exception("the hold key check failed")
        finally:
            if timer:
                self._u.KillTimer(None, timer)
            self._uninstall()

    def _install(self) -> bool:
        module = self._k.GetModuleHandleW(None)
        if self.spec.button is not None:
            kind, proc = WH_MOUSE_LL, self._mouse_proc
        else:
            kind, proc = WH_KEYBOARD_LL, self._keyboard_proc
        hook = self._u.SetWindowsHookExW(kind, proc, module, 0)
        if not hook:
            return False
        self._hooks.append(hook)
        return True

    def _uninstall(self) -> None:
        while self._hooks:
            self._u.UnhookWindowsHookEx(self._hooks.pop())

    def _keyboard(self, code: int, wparam: int, lparam: int) -> int:
        """The keyboard hook: decide, queue, answer (1 takes the key away). Exceptions must
        not reach ctypes (it would print them and answer 0 without the next hook)."""
        try:
            if code == HC_ACTION and self._on_key(KBDLLHOOKSTRUCT.from_address(lparam)):
                return 1
        except Exception:  # noqa: BLE001
            log.exception("the key hook failed")
        return self._u.CallNextHookEx(None, code, wparam, lparam)  # type: ignore[no-any-return]

    def _mouse(self, code: int, wparam: int, lparam: int) -> int:
        try:
            # every pointer move passes here: the button messages are the only ones read
            if code == HC_ACTION and wparam in (WM_MBUTTONDOWN, WM_MBUTTONUP, WM_XBUTTONDOWN,
                                                WM_XBUTTONUP):
                self._on_button(wparam, MSLLHOOKSTRUCT.from_address(lparam))
        except Exception:  # noqa: BLE001
            log.exception("the mouse hook failed")
        return self._u.CallNextHookEx(None, code, wparam, lparam)  # type: ignore[no-any-return]

    def _on_key(self, info: KBDLLHOOKSTRUCT) -> bool:
        """One key event; True to take it away from Windows."""
        injected = bool(info.flags & (LLKHF_INJECTED | LLKHF_LOWER_IL_INJECTED))
        up = bool(info.flags & LLKHF_UP)
        if info.vkCode != self._vk:
            if not injected and not up:
                with self._lock:
                    self._repeating = False  # a newer key takes over the auto-repeat
            return False
        return self._edge(not up, injected) and self._suppress

    def _on_button(self, message: int, info: MSLLHOOKSTRUCT) -> None:
        down, up, xbutton, _ = BUTTONS[self.spec.button or 0]
        if message not in (down, up) or (xbutton and (info.mouseData >> 16) != xbutton):
            return
        self._edge(message == down, bool(info.flags & (LLMHF_INJECTED | LLMHF_LOWER_IL_INJECTED)))

    def _edge(self, press: bool, injected: bool) -> bool:
        """The hold key went down or up: update the hold, queue the report. False for an
        injected event (it passes untouched, whatever the key)."""
        now = self._clock()
        with self._lock:
            self._last_event = now
            self._seen_down = press
            if injected:
                if self._held_since is not None:
                    self._state_trusted = False
                return False
            if press:
                if self._held_since is not None:
                    self._repeating = True  # an auto-repeat: the hold goes on
                elif self._modifiers_down():
                    self._held_since = now
                    self._repeating = False
                    self._state_trusted = True
                    self._reports.put(("down", now, False))
            elif self._held_since is not None:
                retap = self._suppress and now - self._held_since < TAP_S
                self._held_since = None
                self._reports.put(("up", now, retap))
            # else: the release of a press that did not count (a chord's key alone)
        return True

    def _modifiers_down(self) -> bool:
        return all(any(self._u.GetAsyncKeyState(vk) & 0x8000 for vk in MODIFIER_VKS[mod])
                   for mod in self.spec.modifiers)

    def _check(self) -> None:
        """Every ``STUCK_CHECK_S``, on the hook thread: a lost release, or a lost hook."""
        now = self._clock()
        physically = bool(self._u.GetAsyncKeyState(self._vk) & 0x8000)
        with self._lock:
            verdict = check(held=self._held_since is not None, suppressed=self._suppress,
                            since_event_s=now - self._last_event, repeating=self._repeating,
                            state_trusted=self._state_trusted, physically_down=physically,
                            seen_down=self._seen_down)
            if not physically and now - self._last_event >= SETTLE_S:
                self._seen_down = False  # a release the hook missed: the next press counts
            if verdict is Check.LOST:
                log.info("%s is no longer down but its release never came: released", self.name)
                self._held_since = None
                self._reports.put(("lost", now, False))
                return
        if verdict is Check.REINSTALL:
            log.warning("the %s hook saw no press although the key is down (Windows removes a "
                        "hook it finds slow): installed again", self.name)
            self._uninstall()
            self._install()
            self._edge(True, False)  # also marks the press seen: one re-install per press

    # --- the reporting thread ----------------------------------------------------------------
    def _report_loop(self) -> None:
        """Reports in order. A CapsLock press is held back for ``TAP_S``: a tap (its release
        within that time) is only sent again, never reported, so it changes caps and
        starts nothing, in toggle mode too; a hold is reported with its press's time."""
        pending: float | None = None  # a CapsLock press not yet known to be a hold
        while True:
            try:
                timeout = None if pending is None else max(0.0, TAP_S - (self._clock() - pending))
                report = self._reports.get(timeout=timeout)
            except queue.Empty:
                assert pending is not None
                self._deliver("down", pending)
                pending = None
                continue
            if report is None:
                return
            kind, t, retap = report
            if kind == "down" and self._suppress:
                pending = t
                continue
            if pending is not None:
                if kind == "up" and retap:
                    pending = None
                    self._retap()  # a tap: caps toggles, nothing else happens
                    continue
                self._deliver("down", pending)
                pending = None
            if retap:
                self._retap()
            self._deliver(kind, t)

    def _deliver(self, kind: str, t: float) -> None:
        with self._lock:
            listener = self._listener
        if listener is None:
            return
        try:
            if kind == "down":
                listener.key_down(self, t)
            elif kind == "up":
                listener.key_up(self, t)
            else:
                listener.key_lost(self)
        except Exception:  # noqa: BLE001 - the next key event must still be reported
            log.exception("the hold key's listener failed")

    def _retap(self) -> None:
        """Send the CapsLock tap the hook took away, so caps toggles as the user meant."""
        scan = self._u.MapVirtualKeyW(VK_CAPITAL, MAPVK_VK_TO_VSC)
        inputs = (INPUT * 2)()
        for item, flags in zip(inputs, (0, KEYEVENTF_KEYUP)):
            item.type = INPUT_KEYBOARD
            item.u.ki = KEYBDINPUT(VK_CAPITAL, scan, flags, 0, 0)
        if self._u.SendInput(2, inputs, ctypes.sizeof(INPUT)) != 2:
            log.warning("could not toggle CapsLock after its tap")


def _load_dlls() -> tuple[Any, Any]:
    """user32/kernel32 with prototypes, as own ``WinDLL`` objects (prototypes set on the
    shared ``ctypes.windll`` ones would change other code's calls). The restypes matter:
    the default ``c_int`` truncates 64-bit hook handles."""
    w = wintypes
    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]

    def proto(dll: Any, name: str, restype: Any, *argtypes: Any) -> None:
        fn = getattr(dll, name)
        fn.restype = restype
        fn.argtypes = argtypes

    proto(user32, "SetWindowsHookExW", w.HHOOK, ctypes.c_int, HOOKPROC, w.HINSTANCE, w.DWORD)
    proto(user32, "UnhookWindowsHookEx", w.BOOL, w.HHOOK)
    proto(user32, "CallNextHookEx", LRESULT, w.HHOOK, ctypes.c_int, w.WPARAM, w.LPARAM)
    proto(user32, "PeekMessageW", w.BOOL, ctypes.POINTER(w.MSG), w.HWND, w.UINT, w.UINT, w.UINT)
    proto(user32, "GetMessageW", w.BOOL, ctypes.POINTER(w.MSG), w.HWND, w.UINT, w.UINT)
    proto(user32, "PostThreadMessageW", w.BOOL, w.DWORD, w.UINT, w.WPARAM, w.LPARAM)
    proto(user32, "SetTimer", ctypes.c_size_t, w.HWND, ctypes.c_size_t, w.UINT, ctypes.c_void_p)
    proto(user32, "KillTimer", w.BOOL, w.HWND, ctypes.c_size_t)
    proto(user32, "GetAsyncKeyState", w.SHORT, ctypes.c_int)
    proto(user32, "MapVirtualKeyW", w.UINT, w.UINT, w.UINT)
    proto(user32, "SendInput", w.UINT, w.UINT, ctypes.POINTER(INPUT), ctypes.c_int)
    proto(kernel32, "GetModuleHandleW", w.HMODULE, w.LPCWSTR)
    proto(kernel32, "GetCurrentThreadId", w.DWORD)
    return user32, kernel32
