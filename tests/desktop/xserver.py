"""Real X11 for the desktop tests: an Xvfb display, a separate editor process (another
application to type into), and the clipboard read through ``xclip`` as any other
application would read it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def needs_x(*tools: str) -> pytest.MarkDecorator:
    """Skip, naming what is missing, without Xvfb (and ``tools``) or off Linux."""
    missing = [t for t in ("Xvfb", *tools) if shutil.which(t) is None]
    if not sys.platform.startswith("linux"):
        return pytest.mark.skipif(True, reason="X11 test")
    return pytest.mark.skipif(
        bool(missing), reason=f"missing {', '.join(missing)}: run scripts/system-packages.sh"
    )


def wait_for(check: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll another process's observable state until ``check()`` is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def stop(process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Terminate a helper process, killing it if it does not go within 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def xvfb(size: str = "1024x768x24") -> Iterator[str]:
    """A fresh Xvfb; yields its display name (":N")."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp",
         "-noreset"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as f:
            yield ":" + f.readline().strip()
    finally:
        stop(proc)


class Editor:
    """``tests/desktop/editor_app.py`` in its own process on ``display``: ``text()`` is what
    its window holds, ``window`` its X window id."""

    def __init__(self, display: str, out: Path, *, title: str = "editor",
                 cls: str = "tingxie-test-editor", key_ms: float = 0.0,
                 times: Path | None = None) -> None:
        self.out = out
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        env.pop("QT_QPA_PLATFORMTHEME", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.desktop.editor_app", str(out), "--title", title,
             "--class", cls, "--key-ms", str(key_ms),
             *(["--times", str(times)] if times is not None else [])],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        assert line and line[0] == "ready", "the editor did not start"
        self.window = int(line[1], 16)

    def text(self) -> str:
        return self.out.read_text(encoding="utf-8") if self.out.exists() else ""

    def wait_text(self, expected: str, timeout: float = 5.0) -> str:
        """Wait until the editor holds ``expected``; what it holds (fails with it)."""
        try:
            wait_for(lambda: self.text() == expected, timeout, f"the editor to hold {expected!r}")
        except AssertionError:
            raise AssertionError(f"the editor holds {self.text()!r}, not {expected!r}") from None
        return self.text()

    def close(self) -> None:
        stop(self.process)


def focus(display: str, window: int) -> None:
    """Give ``window`` the keyboard focus (no window manager runs on Xvfb)."""
    subprocess.run(["xdotool", "windowfocus", "--sync", str(window)],
                   env={**os.environ, "DISPLAY": display}, check=True, timeout=10)


class Clipboard:
    """CLIPBOARD as another application sees it, through ``xclip``."""

    def __init__(self, display: str) -> None:
        self.env = {**os.environ, "DISPLAY": display}

    def set(self, data: bytes, target: str = "UTF8_STRING") -> None:
        """Own the clipboard with ``data`` (xclip forks and serves it until replaced)."""
        subprocess.run(["xclip", "-selection", "clipboard", "-t", target, "-i"], input=data,
                       env=self.env, check=True, timeout=10)

    def get(self, target: str = "UTF8_STRING") -> bytes | None:
        """The clipboard's ``target``; None if nobody owns it or the owner refuses."""
        done = subprocess.run(["xclip", "-selection", "clipboard", "-t", target, "-o"],
                              env=self.env, capture_output=True, timeout=10)
        return done.stdout if done.returncode == 0 else None

    def targets(self) -> list[str]:
        got = self.get("TARGETS")
        return got.decode().split() if got else []
