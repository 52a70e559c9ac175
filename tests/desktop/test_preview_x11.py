"""The floating preview on a real X server: shown over another application it leaves the
keyboard focus where it was, over Tingxie's own window it leaves that window active, and
it is a window no window manager would give the focus to (override-redirect, WM_HINTS
input False)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .xserver import ROOT, Editor, focus, needs_x, xvfb

pytestmark = needs_x("xdotool", "xwininfo", "xprop")


@pytest.fixture
def display() -> Iterator[str]:
    with xvfb("1024x640x24") as name:
        yield name


class PreviewApp:
    def __init__(self, display: str, *args: str) -> None:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        env.pop("QT_QPA_PLATFORMTHEME", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.desktop.preview_app", *args], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        assert line and line[0] == "ready", "the preview did not come up"
        self.preview, self.main = int(line[1], 16), int(line[2], 16)
        self.main_active_before, self.main_active_after = line[3] == "1", line[4] == "1"

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def x(display: str, *command: str) -> str:
    return subprocess.run(command, env={**os.environ, "DISPLAY": display}, check=True,
                          capture_output=True, text=True, timeout=10).stdout


def focused(display: str) -> int:
    return int(x(display, "xdotool", "getwindowfocus").strip())


def test_over_another_application_the_focus_stays_there(display: str, tmp_path: Path) -> None:
    editor = Editor(display, tmp_path / "editor.txt")
    try:
        focus(display, editor.window)
        before = focused(display)
        app = PreviewApp(display)
        try:
            assert focused(display) == before
            info = x(display, "xwininfo", "-id", str(app.preview))
            assert "Map State: IsViewable" in info
            assert "Override Redirect State: yes" in info
            hints = x(display, "xprop", "-id", str(app.preview), "WM_HINTS")
            assert "Client accepts input or input focus: False" in hints
        finally:
            app.close()
    finally:
        editor.close()


def test_over_tingxies_own_window_that_window_stays_active(display: str) -> None:
    app = PreviewApp(display, "--main")
    try:
        assert app.main_active_before, "the main window never became active"
        assert app.main_active_after, "showing the preview took the activation"
        assert focused(display) == app.main
    finally:
        app.close()
