"""Push-to-talk key debounce, pure (no Qt): one hold of a key is one utterance.

On X11 a held key sends release/press pairs every ~40 ms, and Qt does not always flag
them as auto-repeat. A release therefore only counts when no press follows it within
``window_s`` (30 ms by default); the caller asks again once that time has passed.
"""

from __future__ import annotations

import enum


class KeyAction(enum.Enum):
    NONE = "none"
    START = "start"  # the hold began: start listening
    STOP = "stop"  # the hold ended: finish the utterance


class PushToTalkDebounce:
    """Turns raw key press/release events (with times in seconds) into START/STOP.

    ``press(t)`` returns START for the first press of a hold and NONE for presses that
    cancel a pending release (auto-repeat). ``release(t)`` never stops at once: it returns
    the time at which ``expire`` should be called. ``expire(t)`` returns STOP when the
    pending release has stood for ``window_s`` without a press.
    """

    def __init__(self, window_s: float = 0.030) -> None:
        self.window_s = window_s
        self._held = False
        self._release_at: float | None = None

    @property
    def held(self) -> bool:
        """True from START until STOP (a pending release still counts as held)."""
        return self._held

    @property
    def pending_release(self) -> float | None:
        return self._release_at

    def press(self, t: float) -> KeyAction:
        if self._held:
            self._release_at = None  # a repeat pair: the key is still down
            return KeyAction.NONE
        self._held = True
        self._release_at = None
        return KeyAction.START

    def release(self, t: float) -> float | None:
        """Record a release; returns when to call ``expire`` (None if nothing is held)."""
        if not self._held:
            return None
        self._release_at = t
        return t + self.window_s

    def expire(self, t: float) -> KeyAction:
        if self._held and self._release_at is not None and t - self._release_at >= self.window_s - 1e-9:
            self._held = False
            self._release_at = None
            return KeyAction.STOP
        return KeyAction.NONE

    def cancel(self) -> KeyAction:
        """Focus lost or window hidden: end a hold now (STOP if one was going on)."""
        if self._held:
            self._held = False
            self._release_at = None
            return KeyAction.STOP
        return KeyAction.NONE
