"""Putting text into the application the user is working in: the one interface every
platform's code implements, the choice of method per application, and a fake. No Qt.

A ``TextInserter`` answers two questions and does one thing:

- ``focused()``: which window has the keyboard focus now (asked at key-down, so the text
  can later go where the user was, and nowhere else);
- ``insert(text, target, how)``: put ``text`` into ``target``, by typing it as Unicode key
  events or by pasting it through the clipboard (saving the user's clipboard before and
  giving it back once the target has read the text). It refuses, with ``FocusMoved``,
  when ``target`` no longer has the focus: text typed into the wrong window is worse than
  none (the caller keeps it for "paste last").

Typing is the default; applications that mangle synthetic Unicode keys (terminals, some
chat clients) are pasted into, terminals with their own chord (Ctrl+Shift+V). The user
can force one method for all (``Method``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol


class Method(enum.Enum):
    """How text goes in; the user's setting."""

    AUTO = "auto"  # type, or paste where the application is known to need it
    TYPE = "type"  # Unicode key events (XTEST keysyms, SendInput KEYEVENTF_UNICODE, CGEvent)
    PASTE = "paste"  # through the clipboard, with the paste chord


class Chord(enum.Enum):
    """The key chord that pastes in the target application."""

    CTRL_V = "ctrl+v"
    CTRL_SHIFT_V = "ctrl+shift+v"  # terminals
    SHIFT_INSERT = "shift+insert"
    CMD_V = "cmd+v"  # macOS


@dataclass(frozen=True)
class Target:
    """A window that had the focus. ``id`` is the platform's handle (an X11 window id, an
    HWND, a macOS pid); ``app`` the application's class or executable name, lower-case
    ("gnome-terminal-server", "code", "notepad.exe"), used to choose the method; ``pid``
    the process that owns it (0: unknown), so Tingxie knows its own windows."""

    id: int
    app: str = ""
    title: str = ""
    pid: int = 0


@dataclass(frozen=True)
class How:
    """What ``insert`` is asked to do (``choose`` makes one from the setting and target)."""

    method: Method  # TYPE or PASTE, never AUTO
    chord: Chord = Chord.CTRL_V


@dataclass(frozen=True)
class Inserted:
    """What ``insert`` did. ``notice`` is for the user when it did less than asked (e.g.
    "copied to the clipboard: paste with Ctrl+V" where nothing can type)."""

    how: How
    target: Target | None
    notice: str | None = None


class InsertError(Exception):
    """The text was not inserted; ``str(error)`` says why, for the user."""


class FocusMoved(InsertError):
    """The window focused at key-down is no longer focused: nothing was typed."""

    def __init__(self, expected: Target | None, now: Target | None) -> None:
        self.expected = expected
        self.now = now
        name = (expected.title or expected.app) if expected else "the window"
        super().__init__(f"the focus moved away from {name or 'the window'}: nothing was typed")


class Unreachable(InsertError):
    """The target cannot receive synthetic input (an elevated window on Windows, a missing
    accessibility permission on macOS, Wayland without a typing tool)."""


class TextInserter(Protocol):
    """One platform's way of putting text into other applications. Called from one worker
    thread (the insertion sink's), never from the GUI or the inference thread."""

    name: str
    """"x11", "windows", "macos", "wayland"…, for logs and the About box."""

    def focused(self) -> Target | None:
        """The window with the keyboard focus now; None if none or unknown."""
        ...

    def insert(self, text: str, target: Target | None, how: How) -> Inserted:
        """Put ``text`` into ``target`` (None: wherever the focus is). Held modifier keys
        are released first, so they never mix into the typed text or the paste chord.
        Raises ``FocusMoved`` if ``target`` is given and no longer focused, another
        ``InsertError`` if the platform refused; returns only once the text is in (for a
        paste: once the target has read the clipboard, and the user's clipboard is back
        or being served again)."""
        ...

    def close(self) -> None:
        """Give back what was taken (display connections, clipboard ownership)."""
        ...


# --- which method for which application ----------------------------------------------------
TERMINALS = frozenset(
    {
        "gnome-terminal", "gnome-terminal-server", "konsole", "alacritty", "kitty", "terminator", "tilix", "xfce4-terminal", "lxterminal",
        "mate-terminal", "qterminal", "st", "st-256color", "wezterm", "wezterm-gui", "foot",
        "ghostty", "terminology", "sakura", "guake", "tilda", "yakuake", "cool-retro-term",
        "org.wezfurlong.wezterm", "com.mitchellh.ghostty",
    }
)
"""Applications that paste with Ctrl+Shift+V (Ctrl+V is a terminal control character)."""

TYPED_TERMINALS = frozenset({"xterm", "uxterm", "urxvt", "rxvt", "mintty.exe"})
"""Terminals with no clipboard paste chord by default (xterm's Shift+Insert pastes the
PRIMARY selection): typed into, even under AUTO."""

PASTE_APPS = frozenset({"wechat", "weixin", "wechat.exe", "qq", "dingtalk", "feishu", "lark"})
"""Applications known to mangle synthetic Unicode key events (CapsWriter #426): pasted."""

WINDOWS_TERMINALS = frozenset({"windowsterminal.exe", "wt.exe", "conhost.exe"})


def choose(setting: Method, target: Target | None, *, platform_chord: Chord = Chord.CTRL_V,
           paste_apps: Iterable[str] = ()) -> How:
    """The method and chord for ``target`` under the user's ``setting``: forced methods are
    kept; AUTO types, except into terminals and ``PASTE_APPS`` (plus the user's
    ``paste_apps``), which are pasted — but never into ``TYPED_TERMINALS``. Terminals get
    Ctrl+Shift+V whatever the method."""
    app = target.app.lower() if target is not None else ""
    terminal = app in TERMINALS or app in WINDOWS_TERMINALS
    chord = Chord.CTRL_SHIFT_V if terminal and platform_chord is Chord.CTRL_V else platform_chord
    if setting is not Method.AUTO:
        return How(setting, chord)
    if app in TYPED_TERMINALS:
        return How(Method.TYPE, chord)
    pasted = terminal or app in PASTE_APPS or app in {a.lower() for a in paste_apps}
    return How(Method.PASTE if pasted else Method.TYPE, chord)


# --- fake ------------------------------------------------------------------------------------
@dataclass
class FakeInserter:
    """A ``TextInserter`` for tests: a pretend desktop whose focused window is ``focus``;
    ``insert`` appends to ``typed`` (per target id) or raises ``fail``."""

    focus: Target | None = None
    fail: InsertError | None = None
    name: str = "fake"
    typed: dict[int, list[str]] = field(default_factory=dict)
    calls: list[tuple[str, Target | None, How]] = field(default_factory=list)
    closed: bool = False

    def focused(self) -> Target | None:
        return self.focus

    def insert(self, text: str, target: Target | None, how: How) -> Inserted:
        self.calls.append((text, target, how))
        if self.fail is not None:
            raise self.fail
        if target is not None and (self.focus is None or self.focus.id != target.id):
            raise FocusMoved(target, self.focus)
        where = target or self.focus
        if where is None:
            raise InsertError("no window has the focus")
        self.typed.setdefault(where.id, []).append(text)
        return Inserted(how, where)

    def close(self) -> None:
        self.closed = True
