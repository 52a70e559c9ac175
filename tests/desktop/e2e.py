"""What the end-to-end desktop tests share: the tools they need, the real app in its own
process on the test's display (``RunningApp``), and the fixtures (a synthetic model, spoken
Chinese, Xvfb plus a PulseAudio virtual microphone) that ``conftest.py`` offers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.desktop.xserver import stop, wait_for, xvfb

ROOT = Path(__file__).resolve().parents[2]
DESKTOP_TOOLS = ("Xvfb", "xdotool", "pulseaudio", "pactl", "paplay")
"""What every test here needs: a display, key injection and the virtual microphone."""


def needs(*tools: str) -> pytest.MarkDecorator:
    """Skip, naming what is missing, when a binary is not installed."""
    missing = [t for t in (*DESKTOP_TOOLS, *tools) if shutil.which(t) is None]
    return pytest.mark.skipif(
        bool(missing), reason=f"missing {', '.join(missing)}: run scripts/system-packages.sh"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_command(model: Path, port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tingxie",
        "--model",
        str(model),
        "--port",
        str(port),
        "--log-level",
        "DEBUG",
        *extra,
    ]


Xdo = Callable[..., str]


def xdotool(env: dict[str, str]) -> Xdo:
    """``xdo("search", ...)`` runs xdotool on the test's display and returns its stdout."""
    return lambda *a: (
        subprocess.run(
            ["xdotool", *a], env=env, check=True, capture_output=True, text=True, timeout=30
        ).stdout
    )


class RunningApp:
    """The real ``python -m tingxie`` on the test's display, its log in ``log_path``."""

    def __init__(self, env: dict[str, str], model: Path, log_path: Path, *extra: str) -> None:
        self.env = env
        self.port = free_port()
        self.log_path = log_path
        self.history = Path(env["TINGXIE_DATA_DIR"]) / "history.jsonl"
        self.xdo = xdotool(env)
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                app_command(model, self.port, *extra),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.window = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 180) -> str:
        """The model loaded, the service answering, the window found and focused."""

        def healthy() -> bool:
            assert self.process.poll() is None, self.log()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    return r.status == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_for(healthy, timeout, "the model to load and the service to answer", 0.5)
        self.window = self.xdo("search", "--sync", "--onlyvisible", "--name", "Tingxie").split()[0]
        self.xdo("windowfocus", "--sync", self.window)
        return self.window

    def history_lines(self) -> list[str]:
        if not self.history.exists():
            return []
        return self.history.read_text(encoding="utf-8").splitlines()

    def wait_history(self, count: int, timeout: float) -> list[str]:
        """Wait until ``history.jsonl`` holds at least ``count`` lines; those lines."""
        return wait_for(
            lambda: len(self.history_lines()) >= count and self.history_lines(),
            timeout,
            f"history line {count} in history.jsonl",
        )

    def hold_space_and_speak(
        self, wav: Path, during: Callable[[], None] | None = None, tail_s: float = 0.3
    ) -> float:
        """Hold Space, play ``wav`` into the virtual mic in real time, release ``tail_s``
        after it ends (so the pre-roll and the blocks in flight reach the app); the hold's
        duration in seconds. ``during`` runs while the WAV plays."""
        pressed = time.monotonic()
        self.xdo("keydown", "space")
        play = subprocess.Popen(["paplay", "--device=vmic_sink", str(wav)], env=self.env)
        try:
            if during is not None:
                during()
            assert play.wait(60) == 0
        finally:
            if play.poll() is None:
                play.kill()
                play.wait()
        time.sleep(tail_s)
        self.xdo("keyup", "space")
        return time.monotonic() - pressed

    def quit(self) -> None:
        # Ctrl+Q closes the window on the key press; the release then finds no window, which
        # xdotool reports as a failure, so only the app's exit counts.
        subprocess.run(
            ["xdotool", "key", "ctrl+q"],
            env=self.env,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert self.process.wait(30) == 0, self.log()[-4000:]

    def stop(self) -> None:
        """Kill the app if a failed test left it running; print the log's tail."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        print(self.log()[-4000:])


# --- fixtures (made visible to the tests by conftest.py) -----------------------------------
@pytest.fixture(scope="module")
def synthetic_model(tmp_path_factory: Any) -> Path:
    out = tmp_path_factory.mktemp("synthetic-tiny")
    subprocess.run(
        [sys.executable, "-m", "tingxie.engine.synthetic", str(out), "--size", "tiny"],
        cwd=ROOT,
        check=True,
        timeout=300,
        capture_output=True,
    )
    return out


@pytest.fixture
def speech(tmp_path: Path) -> Path:
    raw, wav = tmp_path / "raw.wav", tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", "cmn", "-s", "150", "-w", str(raw), "今天天气很好"], check=True
    )
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav)], check=True)
    return wav


@pytest.fixture
def desktop_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Xvfb and a PulseAudio daemon with a null sink whose monitor is the default source."""
    with desktop_session(tmp_path) as env:
        yield env


@contextmanager
def desktop_session(tmp_path: Path) -> Iterator[dict[str, str]]:
    """``desktop_env`` outside pytest (the benchmarks): the environment for the app."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    home = tmp_path / "home"
    home.mkdir()
    with xvfb() as display:
        env = {
            **os.environ,
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "XDG_RUNTIME_DIR": str(runtime),
            "HOME": str(home),  # QSettings and PulseAudio's cookie stay in the test
            "XDG_CONFIG_HOME": str(home / ".config"),
            "TINGXIE_DATA_DIR": str(tmp_path / "data"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        env.pop("PULSE_SERVER", None)
        pulse = subprocess.Popen(
            [
                "pulseaudio",
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--load=module-native-protocol-unix",
                "--load=module-null-sink sink_name=vmic_sink rate=16000 channels=1 format=s16le",
                "--load=module-remap-source source_name=vmic master=vmic_sink.monitor",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(
                lambda: subprocess.run(
                    ["pactl", "info"], env=env, capture_output=True, check=False
                ).returncode == 0,
                20,
                "PulseAudio",
            )
            subprocess.run(["pactl", "set-default-sink", "vmic_sink"], env=env, check=True)
            subprocess.run(["pactl", "set-default-source", "vmic"], env=env, check=True)
            yield env
        finally:
            stop(pulse)
