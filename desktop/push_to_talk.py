"""The push-to-talk controller: hold keys in, press/release of the dictation out. No Qt.

Any number of ``HoldKeySource`` objects (the window's Space key, its hold button; later a
global hotkey or a mouse button) report a key going down and up, with times, to one
``PushToTalk``. Each source's events pass through its own ``PushToTalkDebounce`` (X11 sends
release/press pairs while a key is held), and the debounced edges become ``Talker.press`` /
``Talker.release`` according to the ``TalkMode``:

- HOLD: talking while at least one source is held; the last one let go ends the utterance.
- TOGGLE: each new hold of any source starts talking, or stops it if talking; lifting the
  key does nothing.
- HANDS_FREE: TOGGLE, plus an outside ``stop`` when voice activity says the speaker has
  finished (``tingxie.desktop.hands_free``).

Releases wait on a ``Timer`` for the debounce window. ``QtTimer`` (``tingxie.desktop.keys``)
fires on the GUI thread, so there the timer's decisions are serialised with key events;
``ManualTimer`` beside the interface is the test double.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .debounce import KeyAction, PushToTalkDebounce

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class TalkMode(enum.Enum):
    HOLD = "hold"  # hold to talk (the default)
    TOGGLE = "toggle"  # press to start, press again to stop
    HANDS_FREE = "hands-free"  # press to start; a pause in speech stops (or a press)


class Talk(enum.Enum):
    """What the controller does to the ``Talker`` for one debounced edge."""

    PRESS = "press"
    RELEASE = "release"
    NOTHING = "nothing"


def decide(mode: TalkMode, edge: KeyAction, *, others_held: bool, listening: bool) -> Talk:
    """The controller's one decision, pure: ``edge`` is a source's debounced START (a new
    hold) or STOP (the hold ended, by release or because the key was lost); ``others_held``
    whether any other source is still held; ``listening`` whether the talker is listening
    now (asked at each edge, so an utterance ended elsewhere — a lost microphone, a voice
    stop — is never "stopped" a second time by a toggle press)."""
    if edge is KeyAction.START:
        if mode in (TalkMode.TOGGLE, TalkMode.HANDS_FREE) and listening:
            return Talk.RELEASE
        return Talk.NOTHING if listening else Talk.PRESS
    if edge is KeyAction.STOP and mode is TalkMode.HOLD and not others_held:
        return Talk.RELEASE
    return Talk.NOTHING


class Talker(Protocol):
    """What the controller drives; ``Dictation`` is one."""

    def press(self) -> bool:
        """Start an utterance; False if it could not start (the talker says why)."""
        ...

    def release(self) -> None:
        """End the utterance being spoken (nothing if none)."""
        ...

    @property
    def listening(self) -> bool: ...


class HoldKeyListener(Protocol):
    """Where a source reports; ``PushToTalk`` is one. ``t`` is ``time.monotonic()`` when the
    event happened. Callable from any thread."""

    def key_down(self, source: HoldKeySource, t: float) -> None: ...

    def key_up(self, source: HoldKeySource, t: float) -> None: ...

    def key_lost(self, source: HoldKeySource) -> None:
        """The source can no longer see its key (focus went elsewhere, device gone): a hold
        in progress ends now, without waiting for a release that may never come."""
        ...


class HoldKeySource(Protocol):
    """A key or button the user holds. Reports to its listener between ``start`` and
    ``stop``; repeats (a press while already down) are fine, the debounce absorbs them."""

    name: str
    """For logs: "space", "button", "right ctrl"…"""
    debounce_s: float
    """How long a release waits for a press that cancels it (X11 key repeat); 0: none."""

    def start(self, listener: HoldKeyListener) -> None: ...

    def stop(self) -> None:
        """Stop reporting (the controller forgets the source's hold itself)."""
        ...


class Timer(Protocol):
    """One pending wake-up. ``start`` replaces any pending one; ``stop`` cancels it. Both
    callable from any thread; ``callback`` runs on the timer's own thread. A wake-up that
    comes late, early, or after ``stop`` must be harmless to the callback (the controller
    re-checks the time)."""

    def start(self, delay_s: float, callback: Callable[[], None]) -> None: ...

    def stop(self) -> None: ...


@dataclass
class _Held:
    source: HoldKeySource
    debounce: PushToTalkDebounce = field(init=False)

    def __post_init__(self) -> None:
        self.debounce = PushToTalkDebounce(self.source.debounce_s)


class PushToTalk:
    """Turns the hold keys of any number of sources into press/release of one ``Talker``.

    Thread-safe: sources may report from any thread. Talker calls are made one at a time,
    on the reporting thread (or the timer's), while the controller's lock is held, so the
    talker must not call back into the controller.
    """

    def __init__(
        self,
        talker: Talker,
        timer: Timer,
        *,
        mode: TalkMode = TalkMode.HOLD,
        clock: Clock = time.monotonic,
    ) -> None:
        self._talker = talker
        self._timer = timer
        self._clock = clock
        self._mode = mode
        self._lock = threading.RLock()
        self._sources: dict[int, _Held] = {}
        self._closed = False
        self.pressed_by: HoldKeySource | None = None
        """The source whose edge is pressing the talker now (read by the talker's press
        context, e.g. to know the press came from Tingxie's own window)."""

    @property
    def mode(self) -> TalkMode:
        return self._mode

    @mode.setter
    def mode(self, mode: TalkMode) -> None:
        """Takes effect at the next edge; an utterance going on is left alone."""
        with self._lock:
            self._mode = mode

    @property
    def held(self) -> bool:
        """True while any source is held (a release waiting out its debounce counts)."""
        with self._lock:
            return any(h.debounce.held for h in self._sources.values())

    def add(self, source: HoldKeySource) -> None:
        """Start listening to ``source``."""
        with self._lock:
            self._sources[id(source)] = _Held(source)
        source.start(self)

    def remove(self, source: HoldKeySource) -> None:
        """Stop listening to ``source``; a hold of it ends as if lost."""
        source.stop()
        self.key_lost(source)
        with self._lock:
            self._sources.pop(id(source), None)

    def stop(self) -> None:
        """End the utterance now, whatever the mode (a voice-activity stop, a maximum
        length). Keys still held stay held; their release then does nothing."""
        with self._lock:
            if not self._closed:
                self._talker.release()

    def close(self) -> None:
        """Stop every source and the timer; the talker is left alone (``Dictation.close``
        finishes an utterance in progress itself)."""
        with self._lock:
            self._closed = True
            sources = [h.source for h in self._sources.values()]
            self._sources.clear()
        self._timer.stop()
        for source in sources:
            source.stop()

    # --- HoldKeyListener ------------------------------------------------------------------
    def key_down(self, source: HoldKeySource, t: float) -> None:
        with self._lock:
            held = self._held(source)
            if held is None:
                return
            self._edge(held, held.debounce.press(t))
            self._arm()

    def key_up(self, source: HoldKeySource, t: float) -> None:
        with self._lock:
            held = self._held(source)
            if held is None or held.debounce.release(t) is None:
                return  # a release without a press (the press went to another window)
            self._expire()

    def key_lost(self, source: HoldKeySource) -> None:
        with self._lock:
            held = self._held(source)
            if held is not None:
                self._edge(held, held.debounce.cancel())
                self._arm()

    # --- internals -----------------------------------------------------------------------
    def _held(self, source: HoldKeySource) -> _Held | None:
        return None if self._closed else self._sources.get(id(source))

    def _expire(self) -> None:
        """Called with the lock held: stop every hold whose release has stood its window."""
        now = self._clock()
        for held in list(self._sources.values()):
            self._edge(held, held.debounce.expire(now))
        self._arm()

    def _wake(self) -> None:
        with self._lock:
            if not self._closed:
                self._expire()

    def _arm(self) -> None:
        pending = [
            h.debounce.pending_release + h.debounce.window_s
            for h in self._sources.values()
            if h.debounce.pending_release is not None
        ]
        if pending:
            # At least 1 ms: a timer that fires a little early is simply re-armed here.
            self._timer.start(max(0.001, min(pending) - self._clock()), self._wake)
        else:
            self._timer.stop()

    def _edge(self, held: _Held, edge: KeyAction) -> None:
        if edge is KeyAction.NONE:
            return
        others = any(h.debounce.held for h in self._sources.values() if h is not held)
        talk = decide(self._mode, edge, others_held=others, listening=self._talker.listening)
        log.debug("%s %s → %s", held.source.name, edge.value, talk.value)
        if talk is Talk.PRESS:
            self.pressed_by = held.source
            try:
                self._talker.press()
            finally:
                self.pressed_by = None
        elif talk is Talk.RELEASE:
            self._talker.release()


# --- fakes -------------------------------------------------------------------------------
class FakeHoldKeySource:
    """A ``HoldKeySource`` for tests: ``down``/``up``/``lose`` report as a real key would."""

    def __init__(self, name: str = "fake key", debounce_s: float = 0.030) -> None:
        self.name = name
        self.debounce_s = debounce_s
        self.listener: HoldKeyListener | None = None
        self.closed = False

    def start(self, listener: HoldKeyListener) -> None:
        self.listener = listener

    def stop(self) -> None:
        self.listener = None

    def close(self) -> None:
        self.listener = None
        self.closed = True

    def down(self, t: float) -> None:
        if self.listener is not None:
            self.listener.key_down(self, t)

    def up(self, t: float) -> None:
        if self.listener is not None:
            self.listener.key_up(self, t)

    def lose(self) -> None:
        if self.listener is not None:
            self.listener.key_lost(self)


class ManualTimer:
    """A ``Timer`` on a hand-driven clock: ``advance`` moves time and fires a due wake-up on
    the calling thread. Call it as the controller's clock too."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.due: float | None = None
        self._callback: Callable[[], None] | None = None

    def __call__(self) -> float:
        return self.now

    def start(self, delay_s: float, callback: Callable[[], None]) -> None:
        self.due, self._callback = self.now + delay_s, callback

    def stop(self) -> None:
        self.due = self._callback = None

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while self.due is not None and self._callback is not None and self.now >= self.due:
            callback, self.due, self._callback = self._callback, None, None
            callback()


class FakeTalker:
    """A ``Talker`` for tests: records ``calls``; ``refuse`` makes ``press`` fail (no model)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.listening = False
        self.refuse = False

    def press(self) -> bool:
        self.calls.append("press")
        if self.refuse:
            return False
        self.listening = True
        return True

    def release(self) -> None:
        self.calls.append("release")
        self.listening = False
