"""Start on login: the XDG Desktop Entry (its Exec escaping read back as a launcher reads
it), the Windows Run value through a fake ``winreg``, the macOS LaunchAgent plist."""

from __future__ import annotations

import plistlib
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tingxie.desktop.autostart import (
    RUN_KEY,
    RUN_VALUE,
    Autostart,
    desktop_entry,
    entry_enabled,
    exec_line,
    launch_command,
    parse_exec,
    xdg_autostart_path,
)

AWKWARD = [
    "/opt/Ting Xie/bin/python3",
    "-m",
    "tingxie",
    "--model=C:\\models\\para former",
    'say "hi"',
    "100%",
    "$HOME",
    "",
]


def test_launch_command_is_this_interpreter_or_the_frozen_executable() -> None:
    assert launch_command("/usr/bin/python3", frozen=False) == ["/usr/bin/python3", "-m", "tingxie"]
    assert launch_command("/opt/tingxie/tingxie", frozen=True) == ["/opt/tingxie/tingxie"]
    assert launch_command()[0] == sys.executable


def test_xdg_path_follows_xdg_config_home_and_ignores_a_relative_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert xdg_autostart_path({}, home) == home / ".config/autostart/tingxie.desktop"
    assert xdg_autostart_path({"XDG_CONFIG_HOME": "/x/cfg"}, home) == Path(
        "/x/cfg/autostart/tingxie.desktop"
    )
    assert xdg_autostart_path({"XDG_CONFIG_HOME": "rel"}, home) == home / ".config/autostart/tingxie.desktop"


@pytest.mark.parametrize(
    "command",
    [["/usr/bin/python3", "-m", "tingxie"], ["/home/a b/Tingxie/tingxie"], AWKWARD],
)
def test_exec_line_reads_back_as_the_same_arguments(command: list[str]) -> None:
    assert parse_exec(exec_line(command)) == command


def test_exec_line_quotes_only_what_needs_quoting() -> None:
    assert exec_line(["/usr/bin/python3", "-m", "tingxie"]) == "/usr/bin/python3 -m tingxie"
    # Quoted for the space, and the string-level escape doubles the backslash of \" .
    assert exec_line(["/a b/x", 'q"']) == '"/a b/x" "q\\\\""'
    assert exec_line(["50%"]) == "50%%"


def test_simple_exec_lines_agree_with_a_shell_reading() -> None:
    # Without backslashes the Exec quoting is a subset of POSIX shell quoting.
    command = ["/home/a b/py", "-m", "tingxie", "it's"]
    assert shlex.split(exec_line(command)) == command


def test_desktop_entry_and_its_enabled_reading() -> None:
    text = desktop_entry(["/a b/x"], icon="/icons/t.png")
    assert text.startswith("[Desktop Entry]\n")
    assert "Type=Application\n" in text and "Exec=\"/a b/x\"\n" in text
    assert "Icon=/icons/t.png\n" in text
    assert entry_enabled(text)
    assert not entry_enabled(text + "Hidden=true\n")
    assert not entry_enabled(text.replace("X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"))


def test_linux_enable_writes_the_entry_and_disable_removes_it(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    auto = Autostart(platform="linux", command=AWKWARD, env={"XDG_CONFIG_HOME": str(config)},
                     home=tmp_path / "home")
    path = config / "autostart" / "tingxie.desktop"
    assert not auto.enabled()
    auto.enable()
    assert auto.enabled() and auto.location == str(path)
    exec_value = next(
        line[len("Exec="):] for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("Exec=")
    )
    assert parse_exec(exec_value) == AWKWARD
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    auto.disable()
    assert not path.exists() and not auto.enabled()
    auto.disable()  # twice is fine


def test_linux_entry_hidden_by_the_desktop_counts_as_disabled(tmp_path: Path) -> None:
    auto = Autostart(platform="linux", command=["x"], env={}, home=tmp_path)
    auto.enable()
    path = tmp_path / ".config/autostart/tingxie.desktop"
    path.write_text(path.read_text(encoding="utf-8") + "Hidden=true\n", encoding="utf-8")
    assert not auto.enabled()
    auto.set_enabled(True)  # rewritten without Hidden
    assert auto.enabled()


def test_enable_raises_when_the_folder_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "cfg"
    blocker.write_text("a file where the config folder should be")
    auto = Autostart(platform="linux", command=["x"], env={"XDG_CONFIG_HOME": str(blocker)},
                     home=tmp_path)
    with pytest.raises(OSError):
        auto.enable()
    assert not auto.enabled()


def test_macos_launch_agent(tmp_path: Path) -> None:
    auto = Autostart(platform="darwin", command=["/Applications/Tingxie.app/Contents/MacOS/tingxie"],
                     home=tmp_path)
    assert not auto.enabled()
    auto.enable()
    path = tmp_path / "Library/LaunchAgents/org.tingxie.dictation.plist"
    plist = plistlib.loads(path.read_bytes())
    assert plist == {
        "Label": "org.tingxie.dictation",
        "ProgramArguments": ["/Applications/Tingxie.app/Contents/MacOS/tingxie"],
        "RunAtLoad": True,
        "ProcessType": "Interactive",
    }
    assert auto.enabled()
    auto.disable()
    assert not path.exists() and not auto.enabled()


class FakeWinreg:
    """The part of ``winreg`` the Run key needs, over a dict; records every call."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_SET_VALUE = 2
    KEY_QUERY_VALUE = 1
    REG_SZ = 1

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], dict[str, tuple[object, int]]] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.open: list[object] = []

    def CreateKeyEx(self, root: str, sub: str, reserved: int, access: int) -> object:
        self.calls.append(("CreateKeyEx", root, sub, access))
        self.keys.setdefault((root, sub), {})
        handle = ("key", root, sub)
        self.open.append(handle)
        return handle

    def OpenKey(self, root: str, sub: str, reserved: int, access: int) -> object:
        self.calls.append(("OpenKey", root, sub, access))
        if (root, sub) not in self.keys:
            raise FileNotFoundError(sub)
        handle = ("key", root, sub)
        self.open.append(handle)
        return handle

    def SetValueEx(self, key: Any, name: str, reserved: int, kind: int, value: object) -> None:
        self.calls.append(("SetValueEx", name, kind, value))
        self.keys[(key[1], key[2])][name] = (value, kind)

    def QueryValueEx(self, key: Any, name: str) -> tuple[object, int]:
        values = self.keys[(key[1], key[2])]
        if name not in values:
            raise FileNotFoundError(name)
        return values[name]

    def DeleteValue(self, key: Any, name: str) -> None:
        self.calls.append(("DeleteValue", name))
        values = self.keys[(key[1], key[2])]
        if name not in values:
            raise FileNotFoundError(name)
        del values[name]

    def CloseKey(self, key: object) -> None:
        self.open.remove(key)


def test_windows_run_value_through_winreg() -> None:
    reg = FakeWinreg()
    command = ["C:\\Program Files\\Tingxie\\tingxie.exe"]
    auto = Autostart(platform="win32", command=command, winreg=reg)
    assert not auto.enabled()
    auto.enable()
    assert reg.calls[-2:] == [
        ("CreateKeyEx", "HKCU", RUN_KEY, reg.KEY_SET_VALUE),
        ("SetValueEx", RUN_VALUE, reg.REG_SZ, '"C:\\Program Files\\Tingxie\\tingxie.exe"'),
    ]
    assert reg.keys[("HKCU", RUN_KEY)][RUN_VALUE][0] == subprocess.list2cmdline(command)
    assert auto.enabled()
    assert auto.location == "HKEY_CURRENT_USER\\" + RUN_KEY + "\\Tingxie"
    auto.disable()
    assert RUN_VALUE not in reg.keys[("HKCU", RUN_KEY)] and not auto.enabled()
    auto.disable()  # no value: nothing to do
    assert reg.open == []  # every key opened was closed


def test_windows_disable_without_the_run_key_at_all() -> None:
    reg = FakeWinreg()
    auto = Autostart(platform="win32", command=["t.exe"], winreg=reg)
    auto.disable()
    assert not auto.enabled()
    assert reg.calls == [("OpenKey", "HKCU", RUN_KEY, reg.KEY_SET_VALUE),
                         ("OpenKey", "HKCU", RUN_KEY, reg.KEY_QUERY_VALUE)]
