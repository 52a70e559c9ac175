"""Text into Wayland applications through the command-line tools a desktop may have:
``wtype`` (the virtual-keyboard protocol: wlroots compositors such as Sway and Hyprland,
KDE), ``ydotool`` (the kernel's uinput: any compositor, with its ``ydotoold`` service),
and ``wl-copy``/``wl-paste`` (wl-clipboard).

Wayland lets no client see or choose which window has the focus, so ``focused()`` is
always None and ``insert`` types wherever the focus is; it never raises ``FocusMoved``.

Typing: ``wtype`` types any Unicode text (it uploads a keymap with the characters it
needs); each newline is the Return key. ``ydotool`` presses the keys of a US layout for
ASCII characters only and silently skips the rest, so other text is pasted instead when
``ydotool`` is the only typing tool, and text typed by it comes out wrong on a non-US
layout (use the paste method there). ``wtype``'s virtual keyboard carries its own
modifier state, so keys the user still holds do not mix into the text; ``ydotool``'s
events go through the kernel, where keys held on the real keyboard cannot be released
from another device, so with ``ydotool`` they can mix in.

Pasting: the clipboard's current content (one MIME type: ``wl-copy`` offers one type per
copy, so the best of the offered types is saved) is read with ``wl-paste``, the text is
copied with ``wl-copy``, the chord is sent with ``wtype`` or ``ydotool``, and after a
settling delay the saved content is copied back, unless the clipboard no longer holds
the text (the user copied something meanwhile). The command-line tools offer no signal
for "the target has read it", so the delay is a guess: a target slower than it pastes
the restored content. Clipboard managers see the text like any copy. On compositors
without the data-control protocol (GNOME), wl-clipboard briefly maps a window to reach
the clipboard, which can take the focus from the target.

With no typing tool the text is only copied, and ``Inserted.notice`` asks the user to
paste; with no tool at all, ``insert`` raises ``Unreachable`` naming what to install.

Every command goes through the injected ``run`` (tests record argv and stdin).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .base import Chord, How, Inserted, InsertError, Method, Target, Unreachable

PASTE_SETTLE_S = 0.5
"""How long the target gets to read the clipboard before the user's content is copied
back (a guess: see the module docstring)."""
RUN_TIMEOUT_S = 10.0
TEXT_TYPE = "text/plain;charset=utf-8"
CHORD_NAMES = {Chord.CTRL_V: "Ctrl+V", Chord.CTRL_SHIFT_V: "Ctrl+Shift+V",
               Chord.SHIFT_INSERT: "Shift+Insert", Chord.CMD_V: "Ctrl+V"}
INSTALL_HINT = ("install wtype (Sway, Hyprland and other wlroots compositors, KDE) or ydotool "
                "(any compositor, with its ydotoold service), and wl-clipboard")

# Linux input-event codes (linux/input-event-codes.h) for ydotool's key command
KEY_LEFTCTRL, KEY_LEFTSHIFT, KEY_V, KEY_INSERT = 29, 42, 47, 110


@dataclass(frozen=True)
class Completed:
    """A finished command: exit status and output."""

    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def error(self) -> str:
        return self.stderr.decode("utf-8", "replace").strip() or f"exit status {self.returncode}"


Runner = Callable[[Sequence[str], "bytes | None"], Completed]
"""Runs argv with the given stdin (None: none) to completion."""


def utf8_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with a UTF-8 character type: wtype decodes its arguments with the locale
    (``mbstowcs``) and fails on non-ASCII text under the C locale. Pure."""
    env = dict(environ)
    locale = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or ""
    if "utf-8" not in locale.lower() and "utf8" not in locale.lower():
        env["LC_ALL"] = "C.UTF-8"
    return env


def run_process(argv: Sequence[str], stdin: bytes | None) -> Completed:
    """The real ``Runner``. Output goes to temporary files, not pipes: ``wl-copy`` forks a
    child that keeps serving the clipboard with the parent's descriptors, and a pipe would
    stay open until that child exits."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            done = subprocess.run(list(argv), input=stdin, stdout=out, stderr=err,
                                  env=utf8_environ(os.environ), timeout=RUN_TIMEOUT_S,
                                  check=False)
        except FileNotFoundError as error:
            return Completed(127, b"", str(error).encode())
        except subprocess.TimeoutExpired:
            return Completed(-1, b"", f"{argv[0]} did not finish".encode())
        out.seek(0)
        err.seek(0)
        return Completed(done.returncode, out.read(), err.read())


def wtype_args(text: str) -> list[str]:
    """wtype's arguments that type ``text``: lines as text arguments, each newline a
    ``-k Return``. A leading ``-`` would read as an option (and ``--`` would make every
    later ``-k`` text), so leading hyphens are ``-k minus`` keys. No two text arguments
    are adjacent (wtype puts a space between those). Pure."""
    args: list[str] = []
    for i, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        if i:
            args += ["-k", "Return"]
        rest = line.lstrip("-")
        args += ["-k", "minus"] * (len(line) - len(rest))
        if rest:
            args.append(rest)
    return args


def wtype_chord(chord: Chord) -> list[str]:
    """wtype's arguments for the paste chord (Cmd+V is Ctrl+V here)."""
    if chord is Chord.CTRL_SHIFT_V:
        return ["-M", "ctrl", "-M", "shift", "-k", "v", "-m", "shift", "-m", "ctrl"]
    if chord is Chord.SHIFT_INSERT:
        return ["-M", "shift", "-k", "Insert", "-m", "shift"]
    return ["-M", "ctrl", "-k", "v", "-m", "ctrl"]


def ydotool_chord(chord: Chord) -> list[str]:
    """ydotool ``key`` arguments (``code:1`` press, ``code:0`` release) for the chord."""
    if chord is Chord.CTRL_SHIFT_V:
        mods, key = [KEY_LEFTCTRL, KEY_LEFTSHIFT], KEY_V
    elif chord is Chord.SHIFT_INSERT:
        mods, key = [KEY_LEFTSHIFT], KEY_INSERT
    else:
        mods, key = [KEY_LEFTCTRL], KEY_V
    return ([f"{m}:1" for m in mods] + [f"{key}:1", f"{key}:0"]
            + [f"{m}:0" for m in reversed(mods)])


def ydotool_can_type(text: str) -> bool:
    """Whether ydotool types ``text`` as it is: printable ASCII, tabs and newlines."""
    return all(c in "\n\t" or " " <= c <= "~" for c in text.replace("\r\n", "\n"))


def best_type(types: Sequence[str]) -> str | None:
    """The one offered MIME type to save: text first, then an image, then the first real
    MIME type (X11 target names such as TARGETS or UTF8_STRING are aliases). Pure."""
    mime = [t for t in types if "/" in t]
    for wanted in (TEXT_TYPE, "text/plain"):
        if wanted in mime:
            return wanted
    images = [t for t in mime if t.startswith("image/")]
    if images:
        return "image/png" if "image/png" in images else images[0]
    if mime:
        return mime[0]
    return "UTF8_STRING" if "UTF8_STRING" in types else None


@dataclass(frozen=True)
class Saved:
    """The clipboard before a paste: ``mime`` None when it was empty."""

    mime: str | None
    data: bytes = b""


class WaylandInserter:
    """``TextInserter`` for Wayland through wtype/ydotool/wl-clipboard. ``run`` runs a
    command, ``which`` finds one (``shutil.which``), ``sleep`` waits the paste settle
    time. Tools are looked up at each insert, so one installed meanwhile is used."""

    name = "wayland"

    def __init__(self, run: Runner = run_process,
                 which: Callable[[str], str | None] = shutil.which,
                 sleep: Callable[[float], None] = time.sleep,
                 settle_s: float = PASTE_SETTLE_S) -> None:
        self._run = run
        self._which = which
        self._sleep = sleep
        self._settle_s = settle_s

    def focused(self) -> Target | None:
        """Always None: Wayland tells no client which window has the focus."""
        return None

    def insert(self, text: str, target: Target | None, how: How) -> Inserted:
        """See ``TextInserter.insert``; ``target`` cannot be checked on Wayland and is
        ignored. Types or pastes as ``how`` asks where the tools allow, else the other
        way (``Inserted.how`` says which); copies only, with a notice, when nothing can
        type; raises ``Unreachable`` when no tool is installed or every one failed."""
        wtype, ydotool = self._which("wtype"), self._which("ydotool")
        wl_copy, wl_paste = self._which("wl-copy"), self._which("wl-paste")
        if not (wtype or ydotool or wl_copy):
            raise Unreachable(f"Tingxie cannot put text into Wayland applications here: "
                              f"{INSTALL_HINT}.")
        if not text:
            return Inserted(how, None)
        errors: list[str] = []
        can_paste = bool(wl_copy and wl_paste and (wtype or ydotool))
        if how.method is Method.TYPE or not can_paste:
            if wtype:
                done = self._run([wtype, *wtype_args(text)], None)
                if done.returncode == 0:
                    return Inserted(How(Method.TYPE, how.chord), None)
                errors.append(f"wtype: {done.error}")
            if ydotool and ydotool_can_type(text):
                # a file argument, not argv: no length limit, nothing option-like
                done = self._run([ydotool, "type", "--file", "/dev/stdin"],
                                 text.replace("\r\n", "\n").encode())
                if done.returncode == 0:
                    return Inserted(How(Method.TYPE, how.chord), None)
                errors.append(f"ydotool: {done.error}")
        if wl_copy and wl_paste and can_paste:
            try:
                return self._paste(text, how, wl_copy, wl_paste, wtype, ydotool, errors)
            except Unreachable as error:
                errors.append(str(error))
        if wl_copy:
            done = self._run([wl_copy, "--type", TEXT_TYPE], text.encode())
            if done.returncode == 0:
                why = "; ".join(errors) if errors else "neither wtype nor ydotool is installed"
                return Inserted(how, None, notice=(
                    f"Tingxie cannot type here ({why}): the text was copied to the clipboard: "
                    f"paste with {CHORD_NAMES[how.chord]}"))
            errors.append(f"wl-copy: {done.error}")
        raise Unreachable("Tingxie could not put the text into the application ("
                          + "; ".join(errors) + f"); {INSTALL_HINT}.")

    def close(self) -> None:
        """Nothing is held: the clipboard, if ours, stays served by wl-copy's child."""

    # --- paste ---------------------------------------------------------------------------------
    def _save(self, wl_paste: str) -> Saved | None:
        """The clipboard's best type and bytes; Saved(None) if empty; None if unreadable."""
        listed = self._run([wl_paste, "--list-types"], None)
        if listed.returncode != 0:
            # wl-paste fails when nothing is copied ("Nothing is copied"/"No selection")
            return Saved(None)
        mime = best_type(listed.stdout.decode("utf-8", "replace").split())
        if mime is None:
            return Saved(None)
        data = self._run([wl_paste, "--no-newline", "--type", mime], None)
        return Saved(mime, data.stdout) if data.returncode == 0 else None

    def _restore(self, saved: Saved, text: str, wl_copy: str, wl_paste: str) -> bool:
        """Copy ``saved`` back if the clipboard still holds ``text``: False if the user
        copied something else meanwhile (kept)."""
        now = self._run([wl_paste, "--no-newline", "--type", TEXT_TYPE], None)
        if now.returncode != 0 or now.stdout != text.encode():
            return False
        if saved.mime is None:
            self._run([wl_copy, "--clear"], None)
        else:
            self._run([wl_copy, "--type", saved.mime], saved.data)
        return True

    def _paste(self, text: str, how: How, wl_copy: str, wl_paste: str, wtype: str | None,
               ydotool: str | None, errors: list[str]) -> Inserted:
        saved = self._save(wl_paste)
        copied = self._run([wl_copy, "--type", TEXT_TYPE], text.encode())
        if copied.returncode != 0:
            raise InsertError(f"wl-copy failed: {copied.error}")
        chord_errors: list[str] = []
        sent = False
        for tool, args in ((wtype, wtype_chord(how.chord)),
                           (ydotool, ["key", *ydotool_chord(how.chord)])):
            if tool and not sent:
                done = self._run([tool, *args], None)
                sent = done.returncode == 0
                if not sent:
                    chord_errors.append(f"{os.path.basename(tool)}: {done.error}")
        if not sent:
            if saved is not None:
                self._restore(saved, text, wl_copy, wl_paste)
            errors.extend(chord_errors)
            raise Unreachable("the paste chord could not be sent")
        self._sleep(self._settle_s)
        notice = None
        if saved is None:
            notice = "your previous clipboard could not be read, so it was not restored"
        else:
            self._restore(saved, text, wl_copy, wl_paste)
        return Inserted(How(Method.PASTE, how.chord), None, notice)
