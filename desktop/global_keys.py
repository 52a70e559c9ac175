"""The desktop-wide keys: the hold key that dictates into any application and the key that
pastes the last result. Made from the settings, replaced when they change, paused from the
tray. No Qt; the platform's key sources come from a factory (``tingxie.desktop.platform``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .events import Problem, ProblemKind, ProblemListener
from .hotkey import KeySpec, KeySpecError, parse
from .platform import GlobalSource, Unavailable
from .push_to_talk import HoldKeySource, PushToTalk

log = logging.getLogger(__name__)

SourceFactory = Callable[[KeySpec], GlobalSource]
"""Builds a global source for a key; raises ``Unavailable`` if this desktop cannot."""


class PressAction:
    """A ``HoldKeyListener`` running ``action`` once per press of its source (key repeat
    and the release do nothing): "paste last result" on its own key."""

    def __init__(self, action: Callable[[], object]) -> None:
        self._action = action
        self._down = False

    def key_down(self, source: HoldKeySource, t: float) -> None:
        if not self._down:
            self._down = True
            self._action()

    def key_up(self, source: HoldKeySource, t: float) -> None:
        self._down = False

    def key_lost(self, source: HoldKeySource) -> None:
        self._down = False


class GlobalKeys:
    """Owns the global hold key (a source of ``push_to_talk``) and the paste-last key."""

    def __init__(
        self,
        push_to_talk: PushToTalk,
        paste_last: Callable[[], object],
        make_source: SourceFactory,
        on_problem: ProblemListener,
    ) -> None:
        self._ptt = push_to_talk
        self._make = make_source
        self._on_problem = on_problem
        self._paste_action = PressAction(paste_last)
        self._hold: GlobalSource | None = None
        self._paste: GlobalSource | None = None
        self._wanted: tuple[str, str, bool] = ("", "", False)
        self._paused = False

    @property
    def hold_source(self) -> GlobalSource | None:
        return self._hold

    @property
    def paused(self) -> bool:
        return self._paused

    def apply(self, hold_key: str, paste_last_key: str, enabled: bool = True) -> list[str]:
        """Use these keys from now on (an empty name: none); the reasons any cannot be used
        (each also reported as a ``HOTKEY_UNAVAILABLE`` problem)."""
        if (hold_key, paste_last_key, enabled) == self._wanted and not self._paused:
            return []
        self._wanted = (hold_key, paste_last_key, enabled)
        self._drop()
        if self._paused:
            return []
        errors = []
        if enabled and hold_key:
            self._hold = self._build(hold_key, errors)
            if self._hold is not None:
                try:
                    self._ptt.add(self._hold)
                except RuntimeError as exc:  # the platform refused to start watching
                    errors.append(f"{hold_key}: {exc}")
                    self._ptt.remove(self._hold)
                    self._hold.close()
                    self._hold = None
        if enabled and paste_last_key:
            self._paste = self._build(paste_last_key, errors)
            if self._paste is not None:
                try:
                    self._paste.start(self._paste_action)
                except RuntimeError as exc:
                    errors.append(f"{paste_last_key}: {exc}")
                    self._paste.close()
                    self._paste = None
        for error in errors:
            self._on_problem(Problem(ProblemKind.HOTKEY_UNAVAILABLE, error))
        return errors

    def pause(self, paused: bool) -> None:
        """Stop watching the keys (a game, a screen share) or start again."""
        if paused == self._paused:
            return
        self._paused = paused
        if paused:
            self._drop()
        else:
            hold, paste, enabled = self._wanted
            self._wanted = ("", "", False)
            self.apply(hold, paste, enabled)

    def close(self) -> None:
        self._drop()

    def _build(self, name: str, errors: list[str]) -> GlobalSource | None:
        try:
            return self._make(parse(name))
        except (KeySpecError, Unavailable) as exc:
            log.warning("the key %r cannot be used: %s", name, exc)
            errors.append(f"{name}: {exc}")
            return None

    def _drop(self) -> None:
        if self._hold is not None:
            self._ptt.remove(self._hold)
            self._hold.close()
            self._hold = None
        if self._paste is not None:
            self._paste.close()
            self._paste = None
