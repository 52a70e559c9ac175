"""WindowsHoldKey against a fake Win32 input system: hooks installed by the source are called
on its own hook thread, inside its GetMessageW, with real KBDLLHOOKSTRUCT/MSLLHOOKSTRUCT
data; events the hooks let through update the key state (GetAsyncKeyState) and CapsLock's
toggle, as Windows does; SendInput injects events that pass the hooks again. Runs on any OS
(on Windows the real DLLs are tried too)."""

from __future__ import annotations

import ctypes
import queue
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from tests.desktop.xserver import wait_for
from tingxie.desktop import windows_keys as wk
from tingxie.desktop.hotkey import parse
from tingxie.desktop.push_to_talk import HoldKeySource
from tingxie.desktop.windows_keys import Check, WindowsHoldKey, WindowsKeyError, check

VK_RCONTROL, VK_LCONTROL, VK_LMENU, VK_D, VK_F8 = 0xA3, 0xA2, 0xA4, 0x44, 0x77
CAPS = wk.VK_CAPITAL
GENERIC = {wk.VK_CONTROL: (0xA2, 0xA3), wk.VK_MENU: (0xA4, 0xA5), wk.VK_SHIFT: (0xA0, 0xA1)}
THREAD_ID = 4242
TIMER_ID = 7


class Events:
    """A ``HoldKeyListener`` recording what the source reports (from its reporting thread)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.times: list[float] = []
        self.cond = threading.Condition()

    def _add(self, what: str, t: float | None = None) -> None:
        with self.cond:
            self.seen.append(what)
            if t is not None:
                self.times.append(t)
            self.cond.notify_all()

    def key_down(self, source: HoldKeySource, t: float) -> None:
        self._add("down", t)

    def key_up(self, source: HoldKeySource, t: float) -> None:
        self._add("up", t)

    def key_lost(self, source: HoldKeySource) -> None:
        self._add("lost")

    def wait(self, *expected: str) -> None:
        """Reports come in order: once as many as expected are in, they must be these."""
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.seen) >= len(expected), 5), self.seen
            assert self.seen == list(expected)


@dataclass
class Input:
    """One hardware or injected event on its way through the hooks."""

    hook: int  # WH_KEYBOARD_LL / WH_MOUSE_LL; 0: a marker that only says "processed"
    wparam: int
    vk: int
    flags: int
    mouse_data: int = 0
    blocked: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class FakeWin:
    """user32 and kernel32 over one pretend input system."""

    def __init__(self) -> None:
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.hooks: dict[int, tuple[int, Any]] = {}
        self.next_hook = 0x100
        self.calls: list[tuple[Any, ...]] = []
        self.down: set[int] = set()  # the async key state
        self.caps_on = False
        self.sent: list[list[tuple[int, int, int]]] = []
        self.refuse_hooks = False
        self.hook_threads: set[str] = set()
        self._pending: threading.Event | None = None

    # --- user32 ------------------------------------------------------------------------------
    def SetWindowsHookExW(self, kind: int, proc: Any, module: int, thread: int) -> int:
        self.calls.append(("SetWindowsHookExW", kind, module, thread))
        if self.refuse_hooks:
            return 0
        assert isinstance(proc, wk.HOOKPROC)  # a ctypes callback, as Windows needs
        self.next_hook += 1
        self.hooks[self.next_hook] = (kind, proc)
        return self.next_hook

    def UnhookWindowsHookEx(self, hook: int) -> int:
        self.calls.append(("UnhookWindowsHookEx", hook))
        return int(self.hooks.pop(hook, None) is not None)

    def CallNextHookEx(self, hook: Any, code: int, wparam: int, lparam: int) -> int:
        return 0

    def PeekMessageW(self, msg: Any, hwnd: Any, low: int, high: int, flags: int) -> int:
        self.calls.append(("PeekMessageW",))
        return 0

    def GetMessageW(self, msg: Any, hwnd: Any, low: int, high: int) -> int:
        self.hook_threads.add(threading.current_thread().name)
        if self._pending is not None:  # the message returned last time has been handled
            self._pending.set()
            self._pending = None
        while True:
            item = self.inbox.get()
            if isinstance(item, Input):
                self._deliver(item)
                continue
            message, wparam, done = item
            msg.message, msg.wParam = message, wparam
            if message == wk.WM_QUIT:
                done.set()
                return 0
            self._pending = done
            return 1

    def PostThreadMessageW(self, thread: int, message: int, wparam: int, lparam: int) -> int:
        self.calls.append(("PostThreadMessageW", thread, message))
        if thread != THREAD_ID:
            return 0
        self.inbox.put((message, wparam, threading.Event()))
        return 1

    def SetTimer(self, hwnd: Any, timer: int, ms: int, proc: Any) -> int:
        self.calls.append(("SetTimer", ms))
        return TIMER_ID

    def KillTimer(self, hwnd: Any, timer: int) -> int:
        self.calls.append(("KillTimer", timer))
        return 1

    def GetAsyncKeyState(self, vk: int) -> int:
        sided = GENERIC.get(vk, (vk,))
        return -0x8000 if any(v in self.down for v in sided) else 0  # SHORT: the high bit

    def MapVirtualKeyW(self, vk: int, kind: int) -> int:
        return 0x3A if vk == CAPS else 0x100 + vk

    def SendInput(self, count: int, inputs: Any, size: int) -> int:
        assert size == ctypes.sizeof(wk.INPUT)
        keys = [(inputs[i].u.ki.wVk, inputs[i].u.ki.wScan, inputs[i].u.ki.dwFlags)
                for i in range(count)]
        self.sent.append(keys)
        for vk, _, flags in keys:  # injected: on their way through the hooks later
            up = bool(flags & wk.KEYEVENTF_KEYUP)
            self.inbox.put(Input(wk.WH_KEYBOARD_LL, 0x101 if up else 0x100, vk,
                                 wk.LLKHF_INJECTED | (wk.LLKHF_UP if up else 0)))
        return count

    # --- kernel32 ----------------------------------------------------------------------------
    def GetModuleHandleW(self, name: Any) -> int:
        return 0x400000

    def GetCurrentThreadId(self) -> int:
        return THREAD_ID

    # --- the input system ----------------------------------------------------------------------
    def _deliver(self, item: Input) -> None:
        if item.hook:
            for kind, proc in list(self.hooks.values()):
                if kind != item.hook:
                    continue
                if kind == wk.WH_KEYBOARD_LL:
                    data: Any = wk.KBDLLHOOKSTRUCT(item.vk, 0x10, item.flags, 1234, 0)
                else:
                    data = wk.MSLLHOOKSTRUCT(wk.POINT(5, 5), item.mouse_data, item.flags, 1234, 0)
                if proc(wk.HC_ACTION, item.wparam, ctypes.addressof(data)):
                    item.blocked = True
                    break
            self._apply(item)
        item.done.set()

    def _apply(self, item: Input) -> None:
        """What Windows does with an event the hooks let through (the key state updated
        after the hooks, per the LowLevelKeyboardProc documentation)."""
        if item.blocked:
            return
        up = (item.flags & wk.LLKHF_UP) if item.hook == wk.WH_KEYBOARD_LL else item.wparam in (
            wk.WM_MBUTTONUP, wk.WM_XBUTTONUP)
        if up:
            self.down.discard(item.vk)
        else:
            if item.vk == CAPS and CAPS not in self.down:
                self.caps_on = not self.caps_on
            self.down.add(item.vk)

    def _send(self, item: Input) -> bool:
        if not any(kind == item.hook for kind, _ in self.hooks.values()):
            self._apply(item)  # no hook: nothing waits for the hook thread
            return False
        self.inbox.put(item)
        assert item.done.wait(5), "the hook thread did not take the event"
        return item.blocked

    # --- for the tests ------------------------------------------------------------------------
    def key(self, vk: int, up: bool = False, injected: bool = False) -> bool:
        """A key event, hardware unless ``injected``; True if a hook took it away."""
        flags = (wk.LLKHF_UP if up else 0) | (wk.LLKHF_INJECTED if injected else 0)
        return self._send(Input(wk.WH_KEYBOARD_LL, 0x101 if up else 0x100, vk, flags))

    def tap(self, vk: int) -> None:
        self.key(vk)
        self.key(vk, up=True)

    def button(self, message: int, xbutton: int = 0, injected: bool = False) -> None:
        vk = {1: wk.VK_XBUTTON1, 2: wk.VK_XBUTTON2}.get(xbutton, wk.VK_MBUTTON)
        if message == 0x0200:  # WM_MOUSEMOVE
            vk = 0
        self._send(Input(wk.WH_MOUSE_LL, message, vk, wk.LLMHF_INJECTED if injected else 0,
                         xbutton << 16))

    def sync(self) -> None:
        """Wait until the hook thread has handled everything before (injected events too)."""
        marker = Input(0, 0, 0, 0)
        self.inbox.put(marker)
        assert marker.done.wait(5)

    def tick(self) -> None:
        """The source's WM_TIMER, handled before this returns."""
        done = threading.Event()
        self.inbox.put((wk.WM_TIMER, TIMER_ID, done))
        assert done.wait(5), "the hook thread did not handle WM_TIMER"

    def installed(self) -> list[int]:
        return [kind for kind, _ in self.hooks.values()]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeWin:
    return FakeWin()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def started(fake: FakeWin, clock: Clock, request: pytest.FixtureRequest
            ) -> Iterator[tuple[WindowsHoldKey, Events]]:
    key = WindowsHoldKey(parse(request.param), fake, fake, clock=clock)
    events = Events()
    key.start(events)
    yield key, events
    key.close()


def keys(name: str) -> Any:
    return pytest.mark.parametrize("started", [name], indirect=True)


# --- the key map --------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "vk"), [
    ("right ctrl", 0xA3), ("left ctrl", 0xA2), ("right alt", 0xA5), ("alt gr", 0xA5),
    ("right shift", 0xA1), ("left super", 0x5B), ("caps lock", 0x14), ("f1", 0x70),
    ("f24", 0x87), ("space", 0x20), ("insert", 0x2D), ("pause", 0x13), ("scroll lock", 0x91),
    ("ctrl+alt+d", 0x44), ("ctrl+shift+5", 0x35), ("ctrl+page down", 0x22),
    ("mouse 8", wk.VK_XBUTTON1), ("mouse forward", wk.VK_XBUTTON2), ("mouse 2", wk.VK_MBUTTON),
])
def test_key_names_map_to_virtual_keys(name: str, vk: int) -> None:
    assert wk.virtual_key(parse(name)) == vk


def test_a_button_windows_does_not_report_is_refused(fake: FakeWin) -> None:
    with pytest.raises(WindowsKeyError, match="mouse 8, mouse 9"):
        WindowsHoldKey(parse("mouse 12"), fake, fake)


# --- keys -----------------------------------------------------------------------------------------
@keys("right ctrl")
def test_right_ctrl_down_and_up_are_reported_and_passed_on(started, fake: FakeWin,
                                                           clock: Clock) -> None:
    key, events = started
    assert fake.installed() == [wk.WH_KEYBOARD_LL]
    assert fake.hook_threads and threading.current_thread().name not in fake.hook_threads
    assert fake.key(VK_RCONTROL) is False  # nothing is taken from the focused application
    clock.now = 101.0
    assert fake.key(VK_RCONTROL) is False  # auto-repeat: not a new hold
    clock.now = 102.5
    assert fake.key(VK_RCONTROL, up=True) is False
    fake.tap(VK_LCONTROL)  # the other Ctrl, and other keys: not it
    fake.tap(VK_D)
    fake.key(VK_RCONTROL)
    events.wait("down", "up", "down")
    assert events.times == [100.0, 102.5, 102.5]


@keys("right ctrl")
def test_injected_events_never_count(started, fake: FakeWin) -> None:
    key, events = started
    assert fake.key(VK_RCONTROL, injected=True) is False
    fake.key(VK_RCONTROL, up=True, injected=True)
    fake.key(VK_RCONTROL)  # the hardware: counts
    events.wait("down")
    fake.key(VK_RCONTROL, up=True, injected=True)  # Tingxie's typing lifting held keys
    fake.key(VK_RCONTROL, up=True)
    events.wait("down", "up")


@keys("ctrl+alt+d")
def test_a_chord_needs_its_modifiers(started, fake: FakeWin) -> None:
    key, events = started
    fake.tap(VK_D)  # alone: nothing, and its release is nothing either
    fake.key(VK_LCONTROL)
    fake.tap(VK_D)  # Ctrl only: nothing
    fake.key(VK_LMENU)
    assert fake.key(VK_D) is False  # Ctrl+Alt+D, passed on
    fake.key(VK_LCONTROL, up=True)  # a modifier lifted first: the hold goes on
    fake.key(VK_D, up=True)
    events.wait("down", "up")


@keys("f8")
def test_a_slow_listener_does_not_hold_up_the_hook(started, fake: FakeWin) -> None:
    """The hook answers Windows at once: the listener is called from another thread, so a
    slow press (the microphone opening) cannot make Windows drop the hook."""
    key, events = started
    release = threading.Event()
    entered = threading.Event()

    def slow_down(source: HoldKeySource, t: float) -> None:
        entered.set()
        release.wait(5)
        events._add("down", t)

    events.key_down = slow_down  # type: ignore[method-assign]
    fake.key(VK_F8)
    assert entered.wait(5)
    fake.key(VK_F8, up=True)  # answered while the listener still works on the press
    fake.sync()
    assert events.seen == []
    release.set()
    events.wait("down", "up")


@keys("f8")
def test_a_failing_listener_does_not_stop_the_reports(started, fake: FakeWin) -> None:
    key, events = started
    calls = []

    def failing(source: HoldKeySource, t: float) -> None:
        calls.append(t)
        raise RuntimeError("listener bug")

    events.key_down = failing  # type: ignore[method-assign]
    fake.tap(VK_F8)
    events.wait("up")
    assert len(calls) == 1


# --- CapsLock --------------------------------------------------------------------------------------
@keys("caps lock")
def test_a_capslock_tap_is_taken_and_sent_again_and_starts_nothing(
    started, fake: FakeWin, clock: Clock
) -> None:
    key, events = started
    assert fake.key(CAPS) is True  # taken from Windows: caps does not toggle on the press
    assert fake.caps_on is False
    clock.now += 0.1
    assert fake.key(CAPS, up=True) is True
    wait_for(lambda: fake.sent, 5, "the tap sent again")
    fake.sync()  # the re-sent pair has passed the hook
    assert fake.sent == [[(CAPS, 0x3A, 0), (CAPS, 0x3A, wk.KEYEVENTF_KEYUP)]]
    assert fake.caps_on is True  # the tap toggled caps, once
    assert CAPS not in fake.down
    assert events.seen == []  # a tap is no hold: toggle mode is not started by it
    fake.key(VK_D)  # the injected pair was not a hold: the next report is the next press
    clock.now += 1
    fake.key(CAPS)
    events.wait("down")  # reported once it has lasted the tap time


@keys("caps lock")
def test_a_capslock_hold_leaves_caps_alone(started, fake: FakeWin, clock: Clock) -> None:
    key, events = started
    assert fake.key(CAPS) is True
    for _ in range(3):  # auto-repeat, also taken
        clock.now += 0.05
        assert fake.key(CAPS) is True
    clock.now += 0.3
    assert fake.key(CAPS, up=True) is True
    events.wait("down", "up")
    fake.sync()
    assert fake.sent == []
    assert fake.caps_on is False


@keys("right ctrl")
def test_only_capslock_is_taken_away(started, fake: FakeWin) -> None:
    key, events = started
    assert fake.key(CAPS) is False
    assert fake.caps_on is True  # not our key: Windows toggles as usual


# --- lost releases ---------------------------------------------------------------------------------
@keys("right ctrl")
def test_a_lost_release_is_found_by_the_key_state(started, fake: FakeWin, clock: Clock) -> None:
    key, events = started
    fake.key(VK_RCONTROL)
    fake.tick()
    clock.now += wk.SETTLE_S
    fake.tick()  # still down: nothing
    clock.now += 0.1
    fake.key(VK_RCONTROL)  # an auto-repeat...
    fake.down.discard(VK_RCONTROL)  # ...and the key state, a moment behind, still says up
    clock.now += 0.01
    fake.tick()  # too soon after an event to trust it: nothing
    fake.key(VK_RCONTROL, up=True)
    events.wait("down", "up")  # (a hold lost above would make this "lost")
    fake.key(VK_RCONTROL)
    fake.down.discard(VK_RCONTROL)  # now the release went to the secure desktop
    clock.now += wk.SETTLE_S
    fake.tick()
    events.wait("down", "up", "down", "lost")
    fake.key(VK_RCONTROL, up=True)  # the late release of a hold already ended: nothing
    fake.key(VK_RCONTROL)
    events.wait("down", "up", "down", "lost", "down")


@keys("right ctrl")
def test_an_injected_release_during_a_hold_does_not_lose_it(started, fake: FakeWin,
                                                            clock: Clock) -> None:
    """Tingxie's typing lifts held modifiers with injected releases: the key state then
    says up while the finger is still on the key."""
    key, events = started
    fake.key(VK_RCONTROL)
    fake.key(VK_RCONTROL, up=True, injected=True)
    assert VK_RCONTROL not in fake.down
    clock.now += 1
    fake.tick()
    fake.key(VK_RCONTROL, up=True)
    events.wait("down", "up")


@keys("caps lock")
def test_a_held_capslock_is_lost_when_its_repeats_stop(started, fake: FakeWin,
                                                       clock: Clock) -> None:
    key, events = started
    fake.key(CAPS)
    clock.now += 0.5
    fake.tick()  # the key state never shows a key the hook takes: not a reason
    clock.now += 1.5
    fake.tick()  # no repeats yet (a keyboard that does not repeat it): the hold goes on
    fake.key(CAPS)  # a repeat
    fake.key(VK_D, up=True)  # a release of another key does not stop the repeat
    clock.now += wk.REPEAT_SILENCE_S - 0.1
    fake.tick()  # not silent long enough
    fake.key(CAPS, up=True)
    events.wait("down", "up")  # (a hold lost above would make this "lost")
    clock.now += 1
    fake.key(CAPS)
    clock.now += 0.6
    fake.key(CAPS)  # repeating...
    clock.now += wk.REPEAT_SILENCE_S
    fake.tick()  # ...and then not: its release went elsewhere
    events.wait("down", "up", "down", "lost")
    clock.now += 5
    fake.key(CAPS, up=True)
    fake.sync()
    assert fake.sent == []  # no re-send for the release of a hold already ended


@keys("caps lock")
def test_a_key_pressed_during_a_capslock_hold_ends_the_repeat_check(started, fake: FakeWin,
                                                                    clock: Clock) -> None:
    key, events = started
    fake.key(CAPS)
    clock.now += 0.6
    fake.key(CAPS)  # repeating...
    fake.key(0x41)  # ...until A goes down: Windows repeats the newest key only
    clock.now += 5
    fake.tick()
    fake.key(CAPS, up=True)
    events.wait("down", "up")


# --- a hook Windows removed ------------------------------------------------------------------------
@keys("right ctrl")
def test_a_dropped_hook_is_installed_again_and_the_press_reported(started, fake: FakeWin,
                                                                  clock: Clock) -> None:
    key, events = started
    first = set(fake.hooks)
    fake.hooks.clear()  # LowLevelHooksTimeout: Windows removed it without a word
    fake.key(VK_RCONTROL)  # seen by no hook; the key state shows it
    assert VK_RCONTROL in fake.down
    clock.now += 0.5
    fake.tick()
    assert fake.installed() == [wk.WH_KEYBOARD_LL] and set(fake.hooks) != first
    fake.key(VK_RCONTROL, up=True)  # the new hook sees the release
    events.wait("down", "up")
    fake.key(VK_LCONTROL)
    clock.now += 1
    fake.tick()  # a key the hook saw, up and down as it should: nothing
    assert sum(c[0] == "SetWindowsHookExW" for c in fake.calls) == 2


@keys("right ctrl")
def test_the_hook_is_installed_again_once_per_press(started, fake: FakeWin, clock: Clock) -> None:
    """An elevated window has the focus: Windows calls no hook of ours, press after press."""
    key, events = started
    fake.hooks.clear()
    fake.refuse_hooks = True
    for press in range(2):
        fake.down.add(VK_RCONTROL)
        for _ in range(3):
            clock.now += 0.3
            fake.tick()
        assert sum(c[0] == "SetWindowsHookExW" for c in fake.calls) == 2 + press
        fake.down.discard(VK_RCONTROL)
        clock.now += 0.3
        fake.tick()
    events.wait("down", "lost", "down", "lost")


@keys("ctrl+alt+d")
def test_a_press_that_does_not_count_reinstalls_the_hook_once(started, fake: FakeWin,
                                                             clock: Clock) -> None:
    key, events = started
    fake.hooks.clear()
    fake.down.add(VK_D)  # D without Ctrl+Alt, unseen
    for _ in range(3):
        clock.now += 0.3
        fake.tick()
    assert sum(c[0] == "SetWindowsHookExW" for c in fake.calls) == 2
    fake.key(VK_D, up=True)
    fake.key(VK_LCONTROL)
    fake.key(VK_LMENU)
    fake.key(VK_D)
    events.wait("down")


# --- mouse buttons -----------------------------------------------------------------------------------
@keys("mouse 8")
def test_the_back_button_through_the_mouse_hook(started, fake: FakeWin) -> None:
    key, events = started
    assert fake.installed() == [wk.WH_MOUSE_LL]
    fake.button(0x0200)  # a pointer move
    fake.button(wk.WM_XBUTTONDOWN, wk.XBUTTON2)  # forward: not it
    fake.button(wk.WM_XBUTTONUP, wk.XBUTTON2)
    fake.button(wk.WM_MBUTTONDOWN)
    fake.button(wk.WM_XBUTTONDOWN, wk.XBUTTON1, injected=True)
    fake.button(wk.WM_XBUTTONDOWN, wk.XBUTTON1)
    fake.button(wk.WM_XBUTTONUP, wk.XBUTTON1)
    events.wait("down", "up")


@keys("ctrl+mouse 2")
def test_a_button_chord_and_its_lost_release(started, fake: FakeWin, clock: Clock) -> None:
    key, events = started
    fake.button(wk.WM_MBUTTONDOWN)  # without Ctrl: nothing
    fake.button(wk.WM_MBUTTONUP)
    fake.key(VK_LCONTROL)
    fake.button(wk.WM_MBUTTONDOWN)
    events.wait("down")
    fake.down.discard(wk.VK_MBUTTON)
    clock.now += 1
    fake.tick()
    events.wait("down", "lost")


# --- start and stop ------------------------------------------------------------------------------------
def test_stop_quits_the_hook_thread_and_unhooks(fake: FakeWin, clock: Clock) -> None:
    key = WindowsHoldKey(parse("right ctrl"), fake, fake, clock=clock)
    events = Events()
    key.start(events)
    key.start(events)  # a second start: the same hook
    (hook,) = fake.hooks
    assert ("SetTimer", 250) in fake.calls
    fake.key(VK_RCONTROL)
    events.wait("down")
    key.stop()
    assert ("PostThreadMessageW", THREAD_ID, wk.WM_QUIT) in fake.calls
    assert ("UnhookWindowsHookEx", hook) in fake.calls
    assert ("KillTimer", TIMER_ID) in fake.calls
    assert fake.hooks == {}
    assert not [t for t in threading.enumerate() if t.name.startswith("tingxie-win-keys")]
    fake.key(VK_RCONTROL, up=True)
    fake.key(VK_RCONTROL)
    assert events.seen == ["down"]
    key.start(events)  # and again, as new
    fake.key(VK_RCONTROL)
    events.wait("down", "down")
    key.close()
    assert fake.hooks == {}


def test_a_failure_while_installing_is_an_error(fake: FakeWin) -> None:
    def broken(*args: Any) -> int:
        raise ctypes.ArgumentError("argument 2: wrong type")

    fake.SetTimer = broken  # type: ignore[method-assign]
    key = WindowsHoldKey(parse("f8"), fake, fake)
    with pytest.raises(WindowsKeyError, match="could not be installed: argument 2"):
        key.start(Events())
    assert fake.hooks == {}  # the hook installed before the failure is gone again


@keys("f8")
def test_a_failing_check_leaves_the_hook_working(started, fake: FakeWin) -> None:
    key, events = started
    state = fake.GetAsyncKeyState
    fake.GetAsyncKeyState = lambda vk: 1 // 0  # type: ignore[method-assign]
    fake.tick()
    fake.GetAsyncKeyState = state  # type: ignore[method-assign]
    fake.tap(VK_F8)
    events.wait("down", "up")


def test_a_refused_hook_is_an_error(fake: FakeWin) -> None:
    fake.refuse_hooks = True
    key = WindowsHoldKey(parse("f8"), fake, fake)
    with pytest.raises(WindowsKeyError, match="refused"):
        key.start(Events())
    assert not [t for t in threading.enumerate() if t.name.startswith("tingxie-win-keys")]


# --- the periodic check's decision -----------------------------------------------------------------------
BASE = dict(held=True, suppressed=False, since_event_s=1.0, repeating=False, state_trusted=True,
            physically_down=True, seen_down=True)


@pytest.mark.parametrize(("facts", "verdict"), [
    ({}, Check.NOTHING),
    ({"physically_down": False}, Check.LOST),
    ({"physically_down": False, "since_event_s": wk.SETTLE_S / 2}, Check.NOTHING),
    ({"physically_down": False, "state_trusted": False}, Check.NOTHING),
    ({"suppressed": True, "physically_down": False}, Check.NOTHING),
    ({"suppressed": True, "repeating": True, "since_event_s": 0.5}, Check.NOTHING),
    ({"suppressed": True, "repeating": True, "since_event_s": wk.REPEAT_SILENCE_S}, Check.LOST),
    ({"held": False, "seen_down": False}, Check.REINSTALL),
    ({"held": False, "seen_down": True}, Check.NOTHING),
    ({"held": False, "seen_down": False, "physically_down": False}, Check.NOTHING),
])
def test_the_check(facts: dict[str, Any], verdict: Check) -> None:
    assert check(**{**BASE, **facts}) is verdict


# --- the real DLLs -----------------------------------------------------------------------------------------
class Prototypes:
    """Stands in for ``ctypes.WinDLL``: records the prototypes ``_load_dlls`` declares."""

    def __init__(self, name: str, use_last_error: bool = False) -> None:
        self.functions: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return self.functions.setdefault(name, SimpleNamespace(restype=None, argtypes=None))


class Checked:
    """A fake DLL whose calls are first converted as ctypes converts arguments for the
    declared prototype, so a call the real DLL would reject fails here."""

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


def test_the_calls_match_the_declared_prototypes(fake: FakeWin, clock: Clock,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wk.ctypes, "WinDLL", Prototypes, raising=False)
    user32, kernel32 = wk._load_dlls()
    key = WindowsHoldKey(parse("caps lock"), Checked(user32, fake), Checked(kernel32, fake),
                         clock=clock)
    events = Events()
    key.start(events)
    fake.key(CAPS)
    clock.now += 0.1
    fake.key(CAPS, up=True)
    wait_for(lambda: fake.sent, 5, "the tap sent again")
    fake.sync()
    clock.now += 1
    fake.tick()
    key.close()
    assert fake.sent and fake.caps_on is True


def test_the_real_dlls_load_on_windows_only() -> None:
    if sys.platform == "win32":  # CI: the real hook installs and goes again
        key = WindowsHoldKey(parse("f8"))
        try:
            key.start(Events())
        except WindowsKeyError as exc:  # a desktop without input may refuse it; no more
            assert "refused" in str(exc)
        key.stop()
    else:
        with pytest.raises(WindowsKeyError, match="Windows only"):
            WindowsHoldKey(parse("f8"))
