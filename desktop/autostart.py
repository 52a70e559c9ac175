"""Start Tingxie when the user logs in: one ``Autostart`` per platform, the same three calls.

- Linux (and other XDG desktops): a Desktop Entry ``tingxie.desktop`` in
  ``$XDG_CONFIG_HOME/autostart`` (``~/.config/autostart`` when unset), as the XDG Autostart
  specification says; enabled means the file is there and not ``Hidden=true``.
- Windows: the value ``Tingxie`` under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.
- macOS: a LaunchAgent ``~/Library/LaunchAgents/<LAUNCH_AGENT_LABEL>.plist`` with
  ``RunAtLoad``.

The command started is the one that started this process (``launch_command``): the frozen
executable when bundled, else ``python -m tingxie`` with this interpreter. No Qt; the file
system, the environment, the home folder and ``winreg`` are injected, so every platform's
path is tested here. ``enable``/``disable`` raise ``OSError`` when the entry cannot be
written or removed (the settings dialog shows it); ``enabled`` never raises.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

APP_NAME = "Tingxie"
DESKTOP_FILE = "tingxie.desktop"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "Tingxie"
LAUNCH_AGENT_LABEL = "org.tingxie.dictation"

# Characters that make a Desktop Entry Exec argument need quoting (the spec's list).
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
# Inside a quoted argument these four need a backslash.
_QUOTED_ESCAPES = set('"`$\\')


def launch_command(
    executable: str | None = None, *, frozen: bool | None = None
) -> list[str]:
    """The command line that starts this app again: ``[executable]`` when frozen (the
    PyInstaller bundle's own executable), else ``[python, "-m", "tingxie"]``."""
    exe = executable if executable is not None else sys.executable
    is_frozen = frozen if frozen is not None else bool(getattr(sys, "frozen", False))
    return [exe] if is_frozen else [exe, "-m", "tingxie"]


# --- Linux: XDG autostart ---------------------------------------------------------------
def xdg_autostart_path(env: Mapping[str, str], home: Path) -> Path:
    """``$XDG_CONFIG_HOME/autostart/tingxie.desktop``; a relative or empty
    ``XDG_CONFIG_HOME`` is ignored (the spec says so) in favour of ``~/.config``."""
    config = env.get("XDG_CONFIG_HOME", "")
    base = Path(config) if config and os.path.isabs(config) else home / ".config"
    return base / "autostart" / DESKTOP_FILE


def exec_argument(arg: str) -> str:
    """One argument as written in an ``Exec=`` value: quoted when it holds a reserved
    character, with ``"`$\\`` backslashed inside the quotes; then the string-value escape
    (``\\`` → ``\\\\``) applied over it, and ``%`` doubled (``%`` starts a field code)."""
    if arg and not (set(arg) & _RESERVED):
        quoted = arg
    else:
        quoted = '"' + "".join("\\" + c if c in _QUOTED_ESCAPES else c for c in arg) + '"'
    return quoted.replace("\\", "\\\\").replace("%", "%%")


def exec_line(command: Sequence[str]) -> str:
    return " ".join(exec_argument(a) for a in command)


def parse_exec(value: str) -> list[str]:
    """The arguments an ``Exec=`` value stands for (the inverse of ``exec_line``, as a
    launcher reads it). Raises ``ValueError`` for an unterminated quote."""
    # The string-value unescape first, then the Exec quoting rules.
    text = value.replace("\\\\", "\0").replace("\\s", " ").replace("\0", "\\")
    args: list[str] = []
    current: list[str] = []
    have = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            have = True
            i += 1
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in _QUOTED_ESCAPES:
                    i += 1
                current.append(text[i])
                i += 1
            if i >= len(text):
                raise ValueError(f"unterminated quote in Exec value {value!r}")
            i += 1
        elif c == " ":
            if have or current:
                args.append("".join(current))
            current, have = [], False
            i += 1
        elif c == "%" and i + 1 < len(text) and text[i + 1] == "%":
            current.append("%")
            i += 2
        else:
            current.append(c)
            i += 1
    if have or current:
        args.append("".join(current))
    return args


def desktop_entry(command: Sequence[str], *, icon: str | None = None) -> str:
    """The text of the autostart Desktop Entry starting ``command``."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        f"Name={APP_NAME}",
        "Comment=Push-to-talk dictation",
        "Comment[zh_CN]=按住说话的听写",
        f"Exec={exec_line(command)}",
        "Terminal=false",
        "X-GNOME-Autostart-enabled=true",
    ]
    if icon:
        lines.append(f"Icon={icon}")
    return "\n".join(lines) + "\n"


def entry_enabled(text: str) -> bool:
    """A Desktop Entry in the autostart folder runs unless it says ``Hidden=true`` (or
    GNOME's ``X-GNOME-Autostart-enabled=false``, which desktops honour the same way)."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().lower()
    return values.get("Hidden") != "true" and values.get("X-GNOME-Autostart-enabled") != "false"


# --- macOS: a LaunchAgent -----------------------------------------------------------------
def launch_agent_path(home: Path) -> Path:
    return home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"


def launch_agent(command: Sequence[str]) -> bytes:
    """The LaunchAgent plist starting ``command`` at login (as the user's GUI session)."""
    return plistlib.dumps(
        {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": list(command),
            "RunAtLoad": True,
            "ProcessType": "Interactive",
        }
    )


# --- Windows: the Run key -----------------------------------------------------------------
def run_value(command: Sequence[str]) -> str:
    """The Run value: a Windows command line (quoted as ``CreateProcess`` parses it)."""
    return subprocess.list2cmdline(list(command))


class Autostart:
    """Start on login for ``platform`` (``sys.platform`` values: "linux", "win32",
    "darwin"; any other is treated as an XDG desktop). ``command`` defaults to
    ``launch_command()``; ``winreg`` is the ``winreg`` module (imported when needed on
    Windows; tests pass a fake with the same functions)."""

    def __init__(
        self,
        *,
        platform: str = sys.platform,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        home: Path | None = None,
        icon: str | None = None,
        winreg: Any = None,
    ) -> None:
        self.platform = platform
        self.command = list(command) if command is not None else launch_command()
        self._env = env if env is not None else os.environ
        self._home = home if home is not None else Path.home()
        self._icon = icon
        self._winreg = winreg

    @property
    def location(self) -> str:
        """Where the entry lives, for the settings dialog's tooltip."""
        if self.platform == "win32":
            return "HKEY_CURRENT_USER\\" + RUN_KEY + "\\" + RUN_VALUE
        return str(self._path())

    def enabled(self) -> bool:
        """Whether the entry is there and starts Tingxie (False when it cannot be read)."""
        try:
            if self.platform == "win32":
                return self._read_run_value() is not None
            path = self._path()
            if not path.is_file():
                return False
            if self.platform == "darwin":
                return True
            return entry_enabled(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False

    def enable(self) -> None:
        """Write (or rewrite, with the current command) the entry."""
        if self.platform == "win32":
            reg = self._reg()
            key = reg.CreateKeyEx(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE)
            try:
                reg.SetValueEx(key, RUN_VALUE, 0, reg.REG_SZ, run_value(self.command))
            finally:
                reg.CloseKey(key)
            return
        path = self._path()
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.platform == "darwin":
            data = launch_agent(self.command)
        else:
            data = desktop_entry(self.command, icon=self._icon).encode("utf-8")
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def disable(self) -> None:
        """Remove the entry; nothing to do when there is none."""
        if self.platform == "win32":
            reg = self._reg()
            try:
                key = reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE)
            except FileNotFoundError:
                return
            try:
                reg.DeleteValue(key, RUN_VALUE)
            except FileNotFoundError:
                pass
            finally:
                reg.CloseKey(key)
            return
        self._path().unlink(missing_ok=True)

    def set_enabled(self, on: bool) -> None:
        self.enable() if on else self.disable()

    # --- internals -------------------------------------------------------------------
    def _path(self) -> Path:
        if self.platform == "darwin":
            return launch_agent_path(self._home)
        return xdg_autostart_path(self._env, self._home)

    def _reg(self) -> Any:
        if self._winreg is None:
            import winreg  # type: ignore[import-not-found,unused-ignore]

            self._winreg = winreg
        return self._winreg

    def _read_run_value(self) -> str | None:
        reg = self._reg()
        try:
            key = reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_QUERY_VALUE)
        except FileNotFoundError:
            return None
        try:
            value, _kind = reg.QueryValueEx(key, RUN_VALUE)
        except FileNotFoundError:
            return None
        finally:
            reg.CloseKey(key)
        return str(value)
