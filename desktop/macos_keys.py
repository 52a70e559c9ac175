"""The global hold key on macOS: a ``HoldKeySource`` that sees the key (or mouse button)
whichever application is frontmost, Tingxie hidden or not.

It listens through a Quartz event tap (``CGEventTapCreate`` at ``kCGSessionEventTap``,
listen-only: nothing is taken from the application the user works in, and a slow answer
cannot hold up the system's events). A modifier key used alone (Right Ctrl, the default)
arrives as ``kCGEventFlagsChanged``, whose device-dependent flag bits say which side is down;
other keys as key-down/key-up; the middle and side buttons as ``kCGEventOtherMouseDown``/
``Up``. The tap's mach port is served by a ``CFRunLoop`` on a thread of the source's own,
run in ``STUCK_CHECK_S`` slices so the same thread checks a hold between them.

- Chords (``ctrl+alt+d``): the key counts only with those modifiers in the event's flags,
  either side (``super`` is Command).
- Events Tingxie posts itself (its typing: their source process is ours) never count.
- Lost releases: between run-loop slices a hold is checked against the HID system's key
  state (``CGEventSourceKeyState``/``CGEventSourceButtonState``); a key that is up although
  its release never came (secure input took it, the screen locked) is ``key_lost``.
- A tap macOS disabled (``kCGEventTapDisabledByTimeout``, ``…ByUserInput``) is enabled
  again at once, and a release missed meanwhile is found by the check above.

Permission: a tap needs Input Monitoring (or Accessibility); without it
``CGEventTapCreate`` returns NULL and the constructor raises ``MacKeyError`` saying where
to allow it (after asking macOS to offer the prompt, where it can).

Limitations, stated here because they are the user's: CapsLock cannot be the hold key
(macOS reports its state changes, not its release, and ignores short presses); letter and
digit keys are named by their place on a US keyboard (the virtual keycodes are positions);
F21–F24 do not exist on a Mac; while secure input is on (a password field has the focus)
no key reaches a tap, so the hold key does nothing there; Pause, Scroll Lock and Print
mean what a PC keyboard attached to a Mac sends for them (F15, F14, F13).

All Quartz and CoreFoundation calls go through the ``quartz`` object given to the
constructor (tests pass a fake); the real frameworks are loaded by the constructor, on
macOS only, so the module imports anywhere. Written against Apple's documented APIs; not
run on this project's CI.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import time
from typing import Any

from .hotkey import STUCK_CHECK_S, KeySpec
from .push_to_talk import Clock, HoldKeyListener

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.0
"""macOS repeats a held key as key-downs only (marked auto-repeat): nothing to debounce."""

# --- Quartz constants (CGEventTypes.h, CGEventSource.h, IOLLEvent.h) ------------------------
K_CG_SESSION_EVENT_TAP = 1
K_CG_HEAD_INSERT_EVENT_TAP = 0
K_CG_EVENT_TAP_OPTION_LISTEN_ONLY = 1
K_CG_EVENT_KEY_DOWN = 10
K_CG_EVENT_KEY_UP = 11
K_CG_EVENT_FLAGS_CHANGED = 12
K_CG_EVENT_OTHER_MOUSE_DOWN = 25
K_CG_EVENT_OTHER_MOUSE_UP = 26
K_CG_EVENT_TAP_DISABLED_BY_TIMEOUT = 0xFFFFFFFE
K_CG_EVENT_TAP_DISABLED_BY_USER_INPUT = 0xFFFFFFFF
K_CG_MOUSE_EVENT_BUTTON_NUMBER = 3
K_CG_KEYBOARD_EVENT_KEYCODE = 9
K_CG_EVENT_SOURCE_UNIX_PROCESS_ID = 41
K_CG_EVENT_SOURCE_STATE_HID_SYSTEM_STATE = 1
K_CF_RUN_LOOP_RUN_FINISHED = 1

FLAG_BY_MODIFIER = {"shift": 0x00020000, "ctrl": 0x00040000, "alt": 0x00080000,
                    "super": 0x00100000}
"""kCGEventFlagMaskShift/Control/Alternate/Command: either side."""

KEYCODE_BY_KEYSYM = {
    "Control_L": 0x3B, "Control_R": 0x3E, "Alt_L": 0x3A, "Alt_R": 0x3D,
    "ISO_Level3_Shift": 0x3D,  # AltGr is the right Option on a Mac
    "Shift_L": 0x38, "Shift_R": 0x3C, "Super_L": 0x37, "Super_R": 0x36,
    "Caps_Lock": 0x39, "space": 0x31, "Tab": 0x30, "Return": 0x24, "BackSpace": 0x33,
    "Delete": 0x75, "Escape": 0x35, "Home": 0x73, "End": 0x77, "Prior": 0x74, "Next": 0x79,
    "Insert": 0x72,  # the Help key's place
    "Print": 0x69, "Scroll_Lock": 0x6B, "Pause": 0x71,  # F13, F14, F15 on a PC keyboard
    "Menu": 0x6E,
    "F1": 0x7A, "F2": 0x78, "F3": 0x63, "F4": 0x76, "F5": 0x60, "F6": 0x61, "F7": 0x62,
    "F8": 0x64, "F9": 0x65, "F10": 0x6D, "F11": 0x67, "F12": 0x6F, "F13": 0x69, "F14": 0x6B,
    "F15": 0x71, "F16": 0x6A, "F17": 0x40, "F18": 0x4F, "F19": 0x50, "F20": 0x5A,
    "a": 0x00, "s": 0x01, "d": 0x02, "f": 0x03, "h": 0x04, "g": 0x05, "z": 0x06, "x": 0x07,
    "c": 0x08, "v": 0x09, "b": 0x0B, "q": 0x0C, "w": 0x0D, "e": 0x0E, "r": 0x0F, "y": 0x10,
    "t": 0x11, "o": 0x1F, "u": 0x20, "i": 0x22, "p": 0x23, "l": 0x25, "j": 0x26, "k": 0x28,
    "n": 0x2D, "m": 0x2E,
    "1": 0x12, "2": 0x13, "3": 0x14, "4": 0x15, "6": 0x16, "5": 0x17, "9": 0x19, "7": 0x1A,
    "8": 0x1C, "0": 0x1D,
}
"""macOS virtual keycodes (HIToolbox Events.h kVK_*) by the X keysym names ``KeySpec.keysym``
gives; letters and digits at their US-keyboard places."""

DEVICE_BIT_BY_KEYCODE = {0x3B: 0x0001, 0x38: 0x0002, 0x3C: 0x0004, 0x37: 0x0008,
                         0x36: 0x0010, 0x3A: 0x0020, 0x3D: 0x0040, 0x3E: 0x2000}
"""For each modifier key, its NX_DEVICE*KEYMASK bit in the event flags: set while that key
(that side) is down, which is how a flags-changed event says press or release."""

KVK_CAPS_LOCK = 0x39
INPUT_MONITORING_HINT = (
    "macOS does not let Tingxie watch the keyboard: allow Tingxie in System Settings → "
    "Privacy & Security → Input Monitoring, then restart Tingxie"
)

TAP_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32,
                                ctypes.c_void_p, ctypes.c_void_p)
"""CGEventTapCallBack: (proxy, type, event, user info) → the event."""


class MacKeyError(RuntimeError):
    """The key cannot be watched here (no such key, no permission); for the user."""


def mac_keycode(spec: KeySpec) -> int:
    """The virtual keycode of ``spec``'s key; ``MacKeyError`` if a Mac has none or it cannot
    be held. Pure. (For a button, see ``mac_button``.)"""
    sym = spec.keysym or ""
    code = KEYCODE_BY_KEYSYM.get(sym)
    if code == KVK_CAPS_LOCK:
        raise MacKeyError("macOS does not tell applications when CapsLock is released: "
                          "choose another hold key (right ctrl is the default)")
    if code is None:
        raise MacKeyError(f"a Mac has no {spec.key!r} key")
    return code


def mac_button(spec: KeySpec) -> int:
    """``spec``'s button in Quartz numbering (0 left, 2 middle, 3 and on the extra buttons;
    X's 4-7 are the wheel, so X 8 is Quartz 3). Pure."""
    assert spec.button is not None
    return 2 if spec.button == 2 else spec.button - 5


class MacHoldKey:
    """A ``HoldKeySource`` for ``spec`` on macOS. ``quartz`` has the Quartz event and
    CoreFoundation run-loop functions used here (and ``kCFRunLoopDefaultMode``); None
    loads the real frameworks, which works on macOS only. ``pid`` is the process whose
    own events are ignored (this one). ``__init__`` creates the tap, disabled, and raises
    ``MacKeyError`` for a key that cannot be used or a permission missing; ``start`` serves
    it on a thread of its own, which calls the listener; ``close`` gives it back."""

    def __init__(
        self,
        spec: KeySpec,
        quartz: Any = None,
        *,
        clock: Clock = time.monotonic,
        debounce_s: float = DEBOUNCE_S,
        pid: int | None = None,
    ) -> None:
        self.spec = spec
        self.name = str(spec)
        self.debounce_s = debounce_s
        self._clock = clock
        self._pid = os.getpid() if pid is None else pid
        self._button = mac_button(spec) if spec.button is not None else None
        self._code = mac_keycode(spec) if spec.key is not None else None
        self._device_bit = DEVICE_BIT_BY_KEYCODE.get(self._code, 0) if self._code is not None else 0
        self._flags = [FLAG_BY_MODIFIER[m] for m in spec.modifiers]
        if self._button is not None:
            self._types = (K_CG_EVENT_OTHER_MOUSE_DOWN, K_CG_EVENT_OTHER_MOUSE_UP)
        elif self._device_bit:
            self._types = (K_CG_EVENT_FLAGS_CHANGED,)
        else:
            self._types = (K_CG_EVENT_KEY_DOWN, K_CG_EVENT_KEY_UP)
        if quartz is None:
            if sys.platform != "darwin":
                raise MacKeyError("the macOS hold key runs on macOS only")
            quartz = _load_quartz()
        self._q = quartz
        self._lock = threading.Lock()
        self._listener: HoldKeyListener | None = None
        self._held_since: float | None = None
        self._thread: threading.Thread | None = None
        self._loop: Any = None
        self._stopping = threading.Event()
        self._callback = TAP_CALLBACK(self._tapped)  # alive as long as the tap: macOS calls it
        mask = 0
        for kind in self._types:
            mask |= 1 << kind  # CGEventMaskBit
        self._port = self._q.CGEventTapCreate(
            K_CG_SESSION_EVENT_TAP, K_CG_HEAD_INSERT_EVENT_TAP,
            K_CG_EVENT_TAP_OPTION_LISTEN_ONLY, mask, self._callback, None)
        if not self._port:
            request = getattr(self._q, "CGRequestListenEventAccess", None)
            if request is not None:
                request()  # macOS 10.15+: offers the user the Input Monitoring prompt
            raise MacKeyError(INPUT_MONITORING_HINT)
        # not served until start: a tap nobody reads would be disabled by timeout
        self._q.CGEventTapEnable(self._port, False)

    # --- HoldKeySource -------------------------------------------------------------------
    def start(self, listener: HoldKeyListener) -> None:
        with self._lock:
            self._listener = listener
            if self._thread is not None or not self._port:
                return
        self._stopping.clear()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,),
                                        name="tingxie-mac-keys", daemon=True)
        self._thread.start()
        ready.wait(5.0)

    def stop(self) -> None:
        with self._lock:
            self._listener = None
            thread, self._thread = self._thread, None
        self._stopping.set()
        if thread is not None:
            if self._loop is not None:
                self._q.CFRunLoopStop(self._loop)  # between slices: the flag above ends it
            thread.join(5.0)
        with self._lock:
            self._held_since = None

    def close(self) -> None:
        """Stop, and give the tap back (the source is not started again)."""
        self.stop()
        if self._port:
            self._q.CFMachPortInvalidate(self._port)
            self._q.CFRelease(self._port)
            self._port = None

    # --- the run-loop thread -------------------------------------------------------------
    def _run(self, ready: threading.Event) -> None:
        q = self._q
        mode = q.kCFRunLoopDefaultMode
        loop = q.CFRunLoopGetCurrent()
        source = q.CFMachPortCreateRunLoopSource(None, self._port, 0)
        if not source:
            log.error("macOS gave no run-loop source for the key tap: no global hold key")
            ready.set()
            return
        q.CFRunLoopAddSource(loop, source, mode)
        q.CGEventTapEnable(self._port, True)
        self._loop = loop
        ready.set()
        try:
            while not self._stopping.is_set():
                if q.CFRunLoopRunInMode(mode, STUCK_CHECK_S, False) == K_CF_RUN_LOOP_RUN_FINISHED:
                    log.error("the key tap's run loop has nothing to serve: stopped")
                    break
                if not self._stopping.is_set():
                    try:
                        self._check_stuck()
                    except Exception:  # noqa: BLE001 - the tap must outlive a failed check
                        log.exception("the hold key check failed")
        finally:
            self._loop = None
            q.CGEventTapEnable(self._port, False)
            q.CFRunLoopRemoveSource(loop, source, mode)
            q.CFRelease(source)

    def _tapped(self, proxy: int, kind: int, event: int, info: int) -> int:
        """The tap's callback. Exceptions must not reach ctypes (it would print them and
        return NULL, which is harmless for a listen-only tap but loses the event)."""
        try:
            if kind in (K_CG_EVENT_TAP_DISABLED_BY_TIMEOUT, K_CG_EVENT_TAP_DISABLED_BY_USER_INPUT):
                log.warning("macOS disabled the key tap (%s): enabled again",
                            "timeout" if kind == K_CG_EVENT_TAP_DISABLED_BY_TIMEOUT else "input")
                self._q.CGEventTapEnable(self._port, True)
            elif kind in self._types:
                self._on_event(kind, event)
        except Exception:  # noqa: BLE001
            log.exception("the key tap failed")
        return event

    def _on_event(self, kind: int, event: int) -> None:
        q = self._q
        if q.CGEventGetIntegerValueField(event, K_CG_EVENT_SOURCE_UNIX_PROCESS_ID) == self._pid:
            return  # Tingxie's own typing
        flags = q.CGEventGetFlags(event)
        if self._button is not None:
            if q.CGEventGetIntegerValueField(event, K_CG_MOUSE_EVENT_BUTTON_NUMBER) != self._button:
                return
            press = kind == K_CG_EVENT_OTHER_MOUSE_DOWN
        else:
            if q.CGEventGetIntegerValueField(event, K_CG_KEYBOARD_EVENT_KEYCODE) != self._code:
                return
            press = bool(flags & self._device_bit) if self._device_bit else (
                kind == K_CG_EVENT_KEY_DOWN)
        if press and self._flags:
            if not all(flags & flag for flag in self._flags):
                return  # a chord's key without its modifiers: neither it nor its release
        self._edge(press)

    def _edge(self, press: bool) -> None:
        now = self._clock()
        with self._lock:
            listener = self._listener
            if press:
                if self._held_since is not None:
                    return  # an auto-repeat: the hold goes on
                self._held_since = now
            elif self._held_since is None:
                return  # the release of a press that did not count (a chord's key alone)
            else:
                self._held_since = None
        if listener is None:
            return
        if press:
            listener.key_down(self, now)
        else:
            listener.key_up(self, now)

    def _check_stuck(self) -> None:
        with self._lock:
            if self._held_since is None:
                return
        state = K_CG_EVENT_SOURCE_STATE_HID_SYSTEM_STATE
        if self._button is not None:
            down = self._q.CGEventSourceButtonState(state, self._button)
        else:
            down = self._q.CGEventSourceKeyState(state, self._code)
        if down:
            return
        with self._lock:
            if self._held_since is None:
                return
            self._held_since = None
            listener = self._listener
        log.info("%s is no longer down but its release never came: released", self.name)
        if listener is not None:
            listener.key_lost(self)


def _load_quartz() -> Any:
    """ApplicationServices (the event tap, event fields, key state) and CoreFoundation (the
    run loop) with prototypes: taps, events and run loops are pointers, which the default
    int return would truncate."""
    services = ctypes.cdll.LoadLibrary(
        "/System/Library/Frameworks/ApplicationServices.framework/ApplicationServices")
    foundation = ctypes.cdll.LoadLibrary(
        "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation")
    p, u32, i32 = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int32

    class Quartz:
        kCFRunLoopDefaultMode = _pointer_constant(foundation, "kCFRunLoopDefaultMode")

    def proto(lib: Any, name: str, restype: Any, *argtypes: Any) -> None:
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
        setattr(Quartz, name, fn)

    proto(services, "CGEventTapCreate", p, u32, u32, u32, ctypes.c_uint64, TAP_CALLBACK, p)
    proto(services, "CGEventTapEnable", None, p, ctypes.c_bool)
    proto(services, "CGEventGetIntegerValueField", ctypes.c_int64, p, u32)
    proto(services, "CGEventGetFlags", ctypes.c_uint64, p)
    proto(services, "CGEventSourceKeyState", ctypes.c_bool, i32, ctypes.c_uint16)
    proto(services, "CGEventSourceButtonState", ctypes.c_bool, i32, u32)
    if hasattr(services, "CGRequestListenEventAccess"):  # macOS 10.15+
        proto(services, "CGRequestListenEventAccess", ctypes.c_bool)
    proto(foundation, "CFMachPortCreateRunLoopSource", p, p, p, ctypes.c_long)
    proto(foundation, "CFMachPortInvalidate", None, p)
    proto(foundation, "CFRunLoopGetCurrent", p)
    proto(foundation, "CFRunLoopAddSource", None, p, p, p)
    proto(foundation, "CFRunLoopRemoveSource", None, p, p, p)
    proto(foundation, "CFRunLoopRunInMode", i32, p, ctypes.c_double, ctypes.c_bool)
    proto(foundation, "CFRunLoopStop", None, p)
    proto(foundation, "CFRelease", None, p)
    return Quartz


def _pointer_constant(lib: Any, name: str) -> int | None:
    """The value of a global pointer the library exports (a CFStringRef constant)."""
    return ctypes.c_void_p.in_dll(lib, name).value
