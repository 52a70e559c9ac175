"""MacHoldKey against a fake Quartz: the tap callback the source registers is called through
its ctypes trampoline on the source's own thread, inside CFRunLoopRunInMode, as macOS calls
it; each event's fields and flags are read back through CGEventGetIntegerValueField and
CGEventGetFlags, and the HID key state follows the events. Written against Apple's
documented APIs; runs on any OS."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tingxie.desktop import macos_keys as mk
from tingxie.desktop.hotkey import parse
from tingxie.desktop.macos_keys import MacHoldKey, MacKeyError
from tingxie.desktop.push_to_talk import HoldKeySource

OUR_PID = 4321
PORT, SOURCE, LOOP = 0xA000, 0xB000, 0xC000
RIGHT_CTRL, LEFT_CTRL, KEY_D, KEY_F8 = 0x3E, 0x3B, 0x02, 0x64
CTRL, ALT = mk.FLAG_BY_MODIFIER["ctrl"], mk.FLAG_BY_MODIFIER["alt"]
RCTL_BIT, LCTL_BIT = 0x2000, 0x0001


class Events:
    """A ``HoldKeyListener`` recording what the source reports."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.times: list[float] = []
        self.lock = threading.Lock()

    def key_down(self, source: HoldKeySource, t: float) -> None:
        with self.lock:
            self.seen.append("down")
            self.times.append(t)

    def key_up(self, source: HoldKeySource, t: float) -> None:
        with self.lock:
            self.seen.append("up")
            self.times.append(t)

    def key_lost(self, source: HoldKeySource) -> None:
        with self.lock:
            self.seen.append("lost")


class FakeQuartz:
    """Quartz events and a CoreFoundation run loop, one tap at a time."""

    kCFRunLoopDefaultMode = 0xD0DE

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.allowed = True
        self.callback: Any = None
        self.mask = 0
        self.enabled = False
        self.in_loop = False  # the tap's source is in the run loop
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.events: dict[int, dict[str, Any]] = {}
        self.next_event = 0x1000
        self.keys_down: set[int] = set()
        self.buttons_down: set[int] = set()
        self.loop_threads: set[str] = set()
        self._pending: threading.Event | None = None

    # --- ApplicationServices --------------------------------------------------------------
    def CGEventTapCreate(self, tap: int, place: int, options: int, mask: int, callback: Any,
                         info: Any) -> int | None:
        self.calls.append(("CGEventTapCreate", tap, place, options))
        if not self.allowed:
            return None
        assert isinstance(callback, mk.TAP_CALLBACK)
        self.callback, self.mask, self.enabled = callback, mask, True
        return PORT

    def CGRequestListenEventAccess(self) -> bool:
        self.calls.append(("CGRequestListenEventAccess",))
        return False

    def CGEventTapEnable(self, port: int, enable: bool) -> None:
        assert port == PORT
        self.calls.append(("CGEventTapEnable", enable))
        self.enabled = enable

    def CGEventGetIntegerValueField(self, event: int, field: int) -> int:
        return self.events[event]["fields"].get(field, 0)  # type: ignore[no-any-return]

    def CGEventGetFlags(self, event: int) -> int:
        return self.events[event]["flags"]  # type: ignore[no-any-return]

    def CGEventSourceKeyState(self, state: int, keycode: int) -> bool:
        assert state == mk.K_CG_EVENT_SOURCE_STATE_HID_SYSTEM_STATE
        return keycode in self.keys_down

    def CGEventSourceButtonState(self, state: int, button: int) -> bool:
        assert state == mk.K_CG_EVENT_SOURCE_STATE_HID_SYSTEM_STATE
        return button in self.buttons_down

    # --- CoreFoundation ---------------------------------------------------------------------
    def CFMachPortCreateRunLoopSource(self, allocator: Any, port: int, order: int) -> int:
        assert port == PORT
        return SOURCE

    def CFRunLoopGetCurrent(self) -> int:
        self.loop_threads.add(threading.current_thread().name)
        return LOOP

    def CFRunLoopAddSource(self, loop: int, source: int, mode: int) -> None:
        assert (loop, source, mode) == (LOOP, SOURCE, self.kCFRunLoopDefaultMode)
        self.in_loop = True

    def CFRunLoopRemoveSource(self, loop: int, source: int, mode: int) -> None:
        self.calls.append(("CFRunLoopRemoveSource", source))
        self.in_loop = False

    def CFRunLoopRunInMode(self, mode: int, seconds: float, once: bool) -> int:
        assert seconds == mk.STUCK_CHECK_S and not once
        if self._pending is not None:  # what ended the last slice has been handled
            self._pending.set()
            self._pending = None
        while True:
            item = self.inbox.get()
            if item[0] == "event":
                _, kind, event, done = item
                self.callback(0x7777, kind, event, None)
                self._apply(kind, event)
                done.set()
            elif item[0] == "tick":
                self._pending = item[1]
                return 3  # kCFRunLoopRunTimedOut
            else:
                item[1].set()
                return 2  # kCFRunLoopRunStopped

    def CFRunLoopStop(self, loop: int) -> None:
        assert loop == LOOP
        self.calls.append(("CFRunLoopStop",))
        self.inbox.put(("stop", threading.Event()))

    def CFMachPortInvalidate(self, port: int) -> None:
        self.calls.append(("CFMachPortInvalidate", port))

    def CFRelease(self, ref: int) -> None:
        self.calls.append(("CFRelease", ref))

    # --- the HID system --------------------------------------------------------------------
    def _apply(self, kind: int, event: int) -> None:
        e = self.events[event]
        code = e["fields"].get(mk.K_CG_KEYBOARD_EVENT_KEYCODE)
        button = e["fields"].get(mk.K_CG_MOUSE_EVENT_BUTTON_NUMBER)
        if kind == mk.K_CG_EVENT_KEY_DOWN:
            self.keys_down.add(code)
        elif kind == mk.K_CG_EVENT_KEY_UP:
            self.keys_down.discard(code)
        elif kind == mk.K_CG_EVENT_FLAGS_CHANGED:
            if e["flags"] & mk.DEVICE_BIT_BY_KEYCODE[code]:
                self.keys_down.add(code)
            else:
                self.keys_down.discard(code)
        elif kind == mk.K_CG_EVENT_OTHER_MOUSE_DOWN:
            self.buttons_down.add(button)
        elif kind == mk.K_CG_EVENT_OTHER_MOUSE_UP:
            self.buttons_down.discard(button)

    def post(self, kind: int, fields: dict[int, int], flags: int = 0, pid: int = 0) -> None:
        """One event through the tap (if the mask wants it), handled before this returns."""
        self.next_event += 1
        self.events[self.next_event] = {
            "fields": {**fields, mk.K_CG_EVENT_SOURCE_UNIX_PROCESS_ID: pid}, "flags": flags}
        if kind <= 0xFFFF and not (self.mask & (1 << kind) and self.enabled and self.in_loop):
            self._apply(kind, self.next_event)  # not asked for, or the tap is not served
            return
        done = threading.Event()
        self.inbox.put(("event", kind, self.next_event, done))
        assert done.wait(5), "the run loop did not take the event"

    # --- for the tests ------------------------------------------------------------------------
    def key(self, code: int, down: bool, flags: int = 0, pid: int = 0) -> None:
        kind = mk.K_CG_EVENT_KEY_DOWN if down else mk.K_CG_EVENT_KEY_UP
        self.post(kind, {mk.K_CG_KEYBOARD_EVENT_KEYCODE: code}, flags, pid)

    def flags_changed(self, code: int, flags: int, pid: int = 0) -> None:
        self.post(mk.K_CG_EVENT_FLAGS_CHANGED, {mk.K_CG_KEYBOARD_EVENT_KEYCODE: code}, flags, pid)

    def button(self, number: int, down: bool, flags: int = 0) -> None:
        kind = mk.K_CG_EVENT_OTHER_MOUSE_DOWN if down else mk.K_CG_EVENT_OTHER_MOUSE_UP
        self.post(kind, {mk.K_CG_MOUSE_EVENT_BUTTON_NUMBER: number}, flags)

    def disable(self, kind: int = mk.K_CG_EVENT_TAP_DISABLED_BY_TIMEOUT) -> None:
        """macOS disables the tap and tells its callback."""
        self.enabled = False
        self.post(kind, {})

    def tick(self) -> None:
        """One run-loop slice times out; returns once the source has handled it."""
        done = threading.Event()
        self.inbox.put(("tick", done))
        assert done.wait(5), "the run loop was not entered again"


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeQuartz:
    return FakeQuartz()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def started(fake: FakeQuartz, clock: Clock, request: pytest.FixtureRequest
            ) -> Iterator[tuple[MacHoldKey, Events]]:
    key = MacHoldKey(parse(request.param), fake, clock=clock, pid=OUR_PID)
    events = Events()
    key.start(events)
    yield key, events
    key.close()


def keys(name: str) -> Any:
    return pytest.mark.parametrize("started", [name], indirect=True)


# --- the key map ------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "code"), [
    ("right ctrl", 0x3E), ("left ctrl", 0x3B), ("right alt", 0x3D), ("alt gr", 0x3D),
    ("right shift", 0x3C), ("right super", 0x36), ("left super", 0x37), ("f1", 0x7A),
    ("f8", 0x64), ("f20", 0x5A), ("space", 0x31), ("ctrl+alt+d", 0x02), ("ctrl+alt+a", 0x00),
    ("ctrl+alt+m", 0x2E), ("ctrl+shift+5", 0x17), ("ctrl+0", 0x1D), ("pause", 0x71),
])
def test_key_names_map_to_virtual_keycodes(name: str, code: int) -> None:
    assert mk.mac_keycode(parse(name)) == code


def test_every_letter_and_digit_has_its_own_keycode() -> None:
    chars = "abcdefghijklmnopqrstuvwxyz0123456789"
    codes = [mk.mac_keycode(parse(f"ctrl+{c}")) for c in chars]
    assert len(set(codes)) == len(chars)


@pytest.mark.parametrize(("name", "button"), [("mouse 2", 2), ("mouse 8", 3), ("mouse 9", 4),
                                              ("mouse 20", 15)])
def test_buttons_in_quartz_numbering(name: str, button: int) -> None:
    assert mk.mac_button(parse(name)) == button


@pytest.mark.parametrize(("name", "why"), [("caps lock", "CapsLock is released"),
                                           ("f21", "no 'f21' key")])
def test_keys_a_mac_cannot_hold_are_refused(fake: FakeQuartz, name: str, why: str) -> None:
    with pytest.raises(MacKeyError, match=why):
        MacHoldKey(parse(name), fake)
    assert fake.calls == []  # refused before any tap is made


# --- the tap --------------------------------------------------------------------------------------
def test_without_permission_the_error_says_where_to_allow_it(fake: FakeQuartz) -> None:
    fake.allowed = False
    with pytest.raises(MacKeyError) as raised:
        MacHoldKey(parse("right ctrl"), fake)
    assert "System Settings → Privacy & Security → Input Monitoring" in str(raised.value)
    assert ("CGRequestListenEventAccess",) in fake.calls


def test_the_tap_listens_only_and_waits_for_start(fake: FakeQuartz) -> None:
    key = MacHoldKey(parse("right ctrl"), fake, pid=OUR_PID)
    assert fake.calls == [
        ("CGEventTapCreate", mk.K_CG_SESSION_EVENT_TAP, mk.K_CG_HEAD_INSERT_EVENT_TAP,
         mk.K_CG_EVENT_TAP_OPTION_LISTEN_ONLY),
        ("CGEventTapEnable", False),
    ]
    assert fake.mask == 1 << mk.K_CG_EVENT_FLAGS_CHANGED  # a modifier key: flag changes only
    key.start(Events())
    assert fake.enabled and fake.in_loop
    assert fake.loop_threads and threading.current_thread().name not in fake.loop_threads
    key.close()


@pytest.mark.parametrize(("name", "mask"), [
    ("f8", (1 << mk.K_CG_EVENT_KEY_DOWN) | (1 << mk.K_CG_EVENT_KEY_UP)),
    ("mouse 8", (1 << mk.K_CG_EVENT_OTHER_MOUSE_DOWN) | (1 << mk.K_CG_EVENT_OTHER_MOUSE_UP)),
])
def test_the_tap_asks_for_the_events_of_its_key(fake: FakeQuartz, name: str, mask: int) -> None:
    MacHoldKey(parse(name), fake).close()
    assert fake.mask == mask


# --- keys ------------------------------------------------------------------------------------------
@keys("right ctrl")
def test_right_ctrl_by_its_device_flag(started, fake: FakeQuartz, clock: Clock) -> None:
    key, events = started
    fake.flags_changed(LEFT_CTRL, CTRL | LCTL_BIT)  # the other Ctrl: not it
    fake.flags_changed(LEFT_CTRL, 0)
    fake.flags_changed(RIGHT_CTRL, CTRL | RCTL_BIT)
    clock.now = 51.5
    fake.flags_changed(0x38, CTRL | RCTL_BIT | 0x20000 | 0x2)  # Shift joins: still held
    fake.flags_changed(0x38, CTRL | RCTL_BIT)
    fake.flags_changed(RIGHT_CTRL, 0)
    assert events.seen == ["down", "up"]
    assert events.times == [50.0, 51.5]
    fake.flags_changed(RIGHT_CTRL, CTRL | RCTL_BIT | LCTL_BIT)  # both Ctrls: the right one down
    fake.flags_changed(RIGHT_CTRL, CTRL | LCTL_BIT)  # right lifted, left still down: released
    assert events.seen == ["down", "up", "down", "up"]


@keys("f8")
def test_a_key_down_and_up_with_auto_repeat(started, fake: FakeQuartz) -> None:
    key, events = started
    fake.key(KEY_F8, True)
    fake.key(KEY_F8, True)  # auto-repeat
    fake.key(KEY_D, True)
    fake.key(KEY_D, False)
    fake.key(KEY_F8, False)
    assert events.seen == ["down", "up"]


@keys("f8")
def test_tingxies_own_events_never_count(started, fake: FakeQuartz) -> None:
    key, events = started
    fake.key(KEY_F8, True, pid=OUR_PID)
    fake.key(KEY_F8, False, pid=OUR_PID)
    assert events.seen == []
    fake.key(KEY_F8, True)
    fake.key(KEY_F8, False, pid=OUR_PID)  # our typing cannot end the user's hold either
    fake.key(KEY_F8, False)
    assert events.seen == ["down", "up"]


@keys("ctrl+alt+d")
def test_a_chord_needs_its_modifiers(started, fake: FakeQuartz) -> None:
    key, events = started
    fake.key(KEY_D, True)
    fake.key(KEY_D, False)  # a release of a press that did not count: nothing
    fake.key(KEY_D, True, CTRL)
    fake.key(KEY_D, False, CTRL)
    assert events.seen == []
    fake.key(KEY_D, True, CTRL | ALT | RCTL_BIT)
    fake.key(KEY_D, False)  # modifiers lifted first: the release still ends it
    assert events.seen == ["down", "up"]


@keys("mouse 8")
def test_the_back_button(started, fake: FakeQuartz) -> None:
    key, events = started
    fake.button(4, True)  # forward: not it
    fake.button(4, False)
    fake.button(2, True)
    fake.button(3, True)
    fake.button(3, False)
    assert events.seen == ["down", "up"]


@keys("ctrl+mouse 2")
def test_a_button_chord(started, fake: FakeQuartz) -> None:
    key, events = started
    fake.button(2, True)
    fake.button(2, False)
    fake.button(2, True, CTRL)
    fake.button(2, False, CTRL)
    assert events.seen == ["down", "up"]


# --- lost releases and a disabled tap -------------------------------------------------------------
@keys("right ctrl")
def test_a_lost_release_is_found_by_the_key_state(started, fake: FakeQuartz) -> None:
    key, events = started
    fake.flags_changed(RIGHT_CTRL, CTRL | RCTL_BIT)
    fake.tick()  # still down: nothing
    assert events.seen == ["down"]
    fake.keys_down.discard(RIGHT_CTRL)  # released while the screen was locked
    fake.tick()
    assert events.seen == ["down", "lost"]
    fake.flags_changed(RIGHT_CTRL, 0)  # a late release: nothing
    fake.tick()
    assert events.seen == ["down", "lost"]


@keys("mouse 9")
def test_a_lost_button_release(started, fake: FakeQuartz) -> None:
    key, events = started
    fake.button(4, True)
    fake.tick()
    fake.buttons_down.clear()
    fake.tick()
    assert events.seen == ["down", "lost"]


@pytest.mark.parametrize("why", [mk.K_CG_EVENT_TAP_DISABLED_BY_TIMEOUT,
                                 mk.K_CG_EVENT_TAP_DISABLED_BY_USER_INPUT])
@keys("f8")
def test_a_disabled_tap_is_enabled_again(started, fake: FakeQuartz, why: int) -> None:
    key, events = started
    fake.key(KEY_F8, True)
    fake.disable(why)
    assert fake.enabled
    fake.key(KEY_F8, False)
    assert events.seen == ["down", "up"]


# --- start, stop, close -----------------------------------------------------------------------------
def test_stop_ends_the_run_loop_thread_and_close_gives_the_tap_back(fake: FakeQuartz) -> None:
    key = MacHoldKey(parse("f8"), fake, pid=OUR_PID)
    events = Events()
    key.start(events)
    key.start(events)  # a second start: the same thread
    fake.key(KEY_F8, True)
    key.stop()
    assert fake.calls[-4:] == [("CFRunLoopStop",), ("CGEventTapEnable", False),
                               ("CFRunLoopRemoveSource", SOURCE), ("CFRelease", SOURCE)]
    assert not fake.enabled and not fake.in_loop
    assert not [t for t in threading.enumerate() if t.name == "tingxie-mac-keys"]
    fake.key(KEY_F8, False)  # not served: nothing
    assert events.seen == ["down"]
    key.start(events)  # and again
    fake.key(KEY_F8, True)
    assert events.seen == ["down", "down"]
    key.close()
    assert fake.calls[-2:] == [("CFMachPortInvalidate", PORT), ("CFRelease", PORT)]
    key.close()  # twice: nothing more
    assert fake.calls.count(("CFRelease", PORT)) == 1


def test_a_failing_listener_does_not_break_the_tap(fake: FakeQuartz) -> None:
    key = MacHoldKey(parse("f8"), fake, pid=OUR_PID)
    events = Events()

    def failing(source: HoldKeySource, t: float) -> None:
        raise RuntimeError("listener bug")

    events.key_down = failing  # type: ignore[method-assign]
    key.start(events)
    fake.key(KEY_F8, True)
    fake.key(KEY_F8, False)
    assert events.seen == ["up"]
    key.close()


class Prototypes:
    """Stands in for a loaded framework: records the prototypes ``_load_quartz`` declares."""

    def __init__(self, path: str) -> None:
        self.functions: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return self.functions.setdefault(name, SimpleNamespace(restype=None, argtypes=None))


class Checked:
    """The fake Quartz behind the declared prototypes: every call's arguments are first
    converted as ctypes converts them (a wrong type or arity fails here)."""

    def __init__(self, quartz: Any, fake: FakeQuartz) -> None:
        self._quartz = quartz
        self._fake = fake

    def __getattr__(self, name: str) -> Any:
        if name.startswith("kCF"):
            return getattr(self._quartz, name)
        proto = getattr(self._quartz, name)
        impl = getattr(self._fake, name)

        def call(*args: Any) -> Any:
            assert proto.argtypes is not None and len(args) == len(proto.argtypes), name
            for argtype, arg in zip(proto.argtypes, args):
                argtype.from_param(arg)
            return impl(*args)

        return call


def test_the_calls_match_the_declared_prototypes(fake: FakeQuartz,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mk.ctypes, "cdll", SimpleNamespace(LoadLibrary=Prototypes))
    monkeypatch.setattr(mk, "_pointer_constant", lambda lib, name: FakeQuartz.kCFRunLoopDefaultMode)
    quartz = Checked(mk._load_quartz(), fake)
    for name in ("ctrl+alt+d", "right ctrl", "mouse 8"):
        key = MacHoldKey(parse(name), quartz, pid=OUR_PID)
        events = Events()
        key.start(events)
        fake.key(KEY_D, True, CTRL | ALT)
        fake.flags_changed(RIGHT_CTRL, CTRL | RCTL_BIT)
        fake.button(3, True)
        fake.disable()
        fake.tick()
        fake.keys_down.clear()
        fake.buttons_down.clear()
        fake.tick()
        key.close()
        assert events.seen == ["down", "lost"], name
    fake.allowed = False
    with pytest.raises(MacKeyError):
        MacHoldKey(parse("f8"), quartz)


@keys("f8")
def test_a_failing_check_leaves_the_tap_working(started, fake: FakeQuartz) -> None:
    key, events = started
    fake.key(KEY_F8, True)
    state = fake.CGEventSourceKeyState
    fake.CGEventSourceKeyState = lambda *args: 1 // 0  # type: ignore[method-assign]
    fake.tick()
    fake.CGEventSourceKeyState = state  # type: ignore[method-assign]
    fake.key(KEY_F8, False)
    assert events.seen == ["down", "up"]


def test_the_real_frameworks_load_on_macos_only() -> None:
    if mk.sys.platform == "darwin":
        try:
            MacHoldKey(parse("f8")).close()
        except MacKeyError as exc:  # a machine that has not allowed Input Monitoring
            assert "Input Monitoring" in str(exc)
    else:
        with pytest.raises(MacKeyError, match="macOS only"):
            MacHoldKey(parse("f8"))
