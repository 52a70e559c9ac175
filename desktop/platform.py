"""Which platform code this desktop gets: the text inserter and the global hold key. The
composition root asks here once; everything else sees only the interfaces
(``TextInserter``, ``HoldKeySource``). No Qt.

Each function returns the thing or raises ``Unavailable`` with a sentence for the user
(what is missing and what to do), so the app runs on without it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Protocol

from .hotkey import KeySpec
from .insertion.base import InsertError, TextInserter
from .push_to_talk import HoldKeySource


class Unavailable(RuntimeError):
    """This desktop cannot do it; ``str()`` says why, for the user."""


class GlobalSource(HoldKeySource, Protocol):
    """A platform's global key source: holds a connection to the window system."""

    def close(self) -> None:
        """Stop, and give the connection back (the source is not started again)."""
        ...


def session_kind(env: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """"x11", "wayland", "windows", "macos" or "none" (no display at all)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        return "windows"
    if platform == "darwin":
        return "macos"
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    if env.get("DISPLAY"):
        return "x11"
    return "none"


def text_inserter(kind: str | None = None) -> TextInserter:
    """The inserter for this session."""
    kind = kind or session_kind()
    try:
        if kind == "x11":
            from .insertion.x11 import X11Inserter

            return X11Inserter()
        if kind == "wayland":
            from .insertion.wayland import WaylandInserter

            return WaylandInserter()
        if kind == "windows":
            from .insertion.windows import WindowsInserter

            return WindowsInserter()
        if kind == "macos":
            from .insertion.macos import MacInserter

            return MacInserter()
    except InsertError as exc:
        raise Unavailable(str(exc)) from exc
    raise Unavailable("no desktop session (no DISPLAY): text stays in Tingxie's window")


def global_hold_key(spec: KeySpec, kind: str | None = None) -> GlobalSource:
    """A source for ``spec`` that works whichever application has the focus. Its
    ``start`` may still raise ``RuntimeError`` (Windows refusing the hook): see
    ``GlobalKeys``."""
    kind = kind or session_kind()
    if kind == "x11":
        from .x11_keys import X11HoldKey, X11KeyError

        try:
            return X11HoldKey(spec)
        except X11KeyError as exc:
            raise Unavailable(str(exc)) from exc
    if kind == "windows":
        from .windows_keys import WindowsHoldKey, WindowsKeyError

        try:
            return WindowsHoldKey(spec)
        except WindowsKeyError as exc:
            raise Unavailable(str(exc)) from exc
    if kind == "macos":
        from .macos_keys import MacHoldKey, MacKeyError

        try:
            return MacHoldKey(spec)
        except MacKeyError as exc:
            raise Unavailable(str(exc)) from exc
    if kind == "wayland":
        raise Unavailable(
            "Wayland lets no application watch the keyboard: hold Space in Tingxie's "
            "window, or log in to an X11 session"
        )
    raise Unavailable("no desktop session (no DISPLAY): hold Space in Tingxie's window")
