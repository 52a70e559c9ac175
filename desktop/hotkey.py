"""The global hold key as the user names it in Settings: parsed once into a ``KeySpec`` that
each platform's key source turns into its own codes. Pure; no Qt, no X.

Names are lower-case words joined by ``+``: modifiers first, then one key or mouse button —
``right ctrl`` (the default), ``caps lock``, ``f8``, ``ctrl+alt+space``, ``mouse 8`` (the
"back" side button; ``mouse back``/``mouse forward`` are accepted too). A lone modifier key
(``right ctrl``, ``left alt``…) is a key of its own: it does not need the others held.

Not Ctrl+Space: on Chinese systems it switches the input method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_HOLD_KEY = "right ctrl"

MODIFIERS = ("ctrl", "alt", "shift", "super")
"""Chord modifiers, either side."""

SIDED = {
    "right ctrl": "Control_R", "left ctrl": "Control_L",
    "right alt": "Alt_R", "left alt": "Alt_L", "alt gr": "ISO_Level3_Shift",
    "right shift": "Shift_R", "left shift": "Shift_L",
    "right super": "Super_R", "left super": "Super_L",
}
"""Modifier keys usable alone as the hold key, with their X keysym names."""

NAMED = {
    "caps lock": "Caps_Lock", "space": "space", "tab": "Tab", "insert": "Insert",
    "pause": "Pause", "scroll lock": "Scroll_Lock", "menu": "Menu", "print": "Print",
    "home": "Home", "end": "End", "page up": "Prior", "page down": "Next",
    "escape": "Escape", "return": "Return", "backspace": "BackSpace", "delete": "Delete",
    **{f"f{n}": f"F{n}" for n in range(1, 25)},
}
"""Other keys, with their X keysym names; letters and digits are their own keysyms."""

MOUSE_ALIASES = {"mouse back": 8, "mouse forward": 9, "mouse middle": 2}
TAP_KEYS = frozenset({"caps lock"})
"""Keys whose short tap keeps its own meaning (CapsLock still toggles caps)."""
TAP_S = 0.3
"""A press of a ``TAP_KEYS`` key shorter than this is a tap, not a hold."""
STUCK_CHECK_S = 0.25
"""How often a global source checks a hold against the system's key state (a release lost
to a screen lock or suspend ends the hold then)."""


class KeySpecError(ValueError):
    """A hold-key name that cannot be used; the message says why, for Settings."""


@dataclass(frozen=True)
class KeySpec:
    """A parsed hold key: ``modifiers`` (subset of ``MODIFIERS``) plus a ``key`` (canonical
    name) or a mouse ``button`` (X numbering: 8 back, 9 forward)."""

    modifiers: frozenset[str] = frozenset()
    key: str | None = None
    button: int | None = None

    @property
    def keysym(self) -> str | None:
        """The key's X keysym name (``Control_R``, ``F8``, ``a``); None for a button."""
        if self.key is None:
            return None
        return SIDED.get(self.key) or NAMED.get(self.key) or self.key

    @property
    def taps_through(self) -> bool:
        """A short tap of this key must still do what the key does (see ``TAP_KEYS``)."""
        return not self.modifiers and self.key in TAP_KEYS

    def __str__(self) -> str:
        last = f"mouse {self.button}" if self.button is not None else str(self.key)
        return "+".join([*(m for m in MODIFIERS if m in self.modifiers), last])


def parse(name: str) -> KeySpec:
    """``name`` → ``KeySpec``; raises ``KeySpecError`` naming what is wrong."""
    words = [re.sub(r"\s+", " ", part.strip().lower()) for part in name.split("+")]
    if not words or not all(words):
        raise KeySpecError(f"{name!r} is not a key: write e.g. 'right ctrl' or 'ctrl+alt+d'")
    *mods, last = words
    for mod in mods:
        if mod not in MODIFIERS:
            raise KeySpecError(f"{mod!r} is not a modifier (use {', '.join(MODIFIERS)})")
    if len(set(mods)) != len(mods):
        raise KeySpecError(f"{name!r} names a modifier twice")
    modifiers = frozenset(mods)
    if last in MOUSE_ALIASES or last.startswith("mouse "):
        button = MOUSE_ALIASES.get(last)
        if button is None:
            number = last.removeprefix("mouse ").strip()
            # 1 and 3 click, 4-7 are the wheel's steps: only the middle and side buttons.
            if not number.isdigit() or not (int(number) == 2 or 8 <= int(number) <= 20):
                raise KeySpecError(f"{last!r}: the hold button is 'mouse 2' (middle) or a "
                                   f"side button, 'mouse 8' … 'mouse 20'")
            button = int(number)
        return KeySpec(modifiers, button=button)
    if last in MODIFIERS:
        raise KeySpecError(
            f"{last!r} alone is ambiguous: say 'left {last}' or 'right {last}', or add a key")
    if last in SIDED or last in NAMED or re.fullmatch(r"[a-z0-9]", last):
        if modifiers and last in SIDED:
            raise KeySpecError(f"{name!r}: a modifier key is the hold key alone, not in a chord")
        if not modifiers and re.fullmatch(r"[a-z0-9]", last):
            raise KeySpecError(
                f"{last!r} alone would stop you typing it: add a modifier (e.g. 'ctrl+alt+{last}')")
        return KeySpec(modifiers, key=last)
    raise KeySpecError(f"{last!r} is not a key Tingxie knows")
