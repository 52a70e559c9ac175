"""The PyInstaller bundle, run alone: a copy of ``dist/tingxie/`` in a temporary folder,
started with a clean environment (no PYTHONPATH, no virtual environment on PATH, a fresh
HOME, the working directory elsewhere), must do what the app does from source.

The bundle is built by ``packaging/build.sh`` unless ``dist/tingxie/tingxie`` is newer than
every file it is built from (the Python packages, ``packaging/``, ``assets/``,
``pyproject.toml``); ``TINGXIE_REBUILD_BUNDLE=1`` forces a build. Installed third-party
packages are not compared: after changing the environment, rebuild. A build takes 4-6
minutes on two cores, the checks about a minute.

Cold-start times are written to ``build/packaging-timings.json`` (see docs/packaging.md).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.packaging, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist" / "tingxie"
EXE_NAME = "tingxie.exe" if sys.platform == "win32" else "tingxie"
CLI_NAME = "tingxie-cli.exe" if sys.platform == "win32" else "tingxie"
BUILT_FROM = ("engine", "server", "desktop", "tingxie", "packaging", "assets", "pyproject.toml")
TIMINGS = ROOT / "build" / "packaging-timings.json"
SAMPLE_RATE = 16000


def newest_source_mtime() -> float:
    newest = 0.0
    for name in BUILT_FROM:
        path = ROOT / name
        files = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts:
                newest = max(newest, f.stat().st_mtime)
    return newest


def bundle_is_fresh() -> bool:
    exe = DIST / EXE_NAME
    if os.environ.get("TINGXIE_REBUILD_BUNDLE") == "1" or not exe.exists():
        return False
    return exe.stat().st_mtime > newest_source_mtime()


def record_timing(name: str, seconds: float) -> None:
    TIMINGS.parent.mkdir(exist_ok=True)
    try:
        timings = json.loads(TIMINGS.read_text())
    except (OSError, ValueError):
        timings = {}
    timings[name] = round(seconds, 2)
    TIMINGS.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the bundle folder (building it first when stale)."""
    with build_lock():  # test runs sharing a checkout must not build into dist/ at once
        if not bundle_is_fresh():
            started = time.monotonic()
            subprocess.run(
                ["bash", str(ROOT / "packaging" / "build.sh")],
                cwd=ROOT,
                env={**os.environ, "TINGXIE_PYTHON": sys.executable},
                check=True,
            )
            record_timing("build_s", time.monotonic() - started)
        assert (DIST / EXE_NAME).exists(), "packaging/build.sh made no executable"
        copy = tmp_path_factory.mktemp("bundle") / "tingxie"
        shutil.copytree(DIST, copy, symlinks=True)
    return copy


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    if sys.platform == "win32":
        yield
        return
    import fcntl

    (ROOT / "build").mkdir(exist_ok=True)
    with open(ROOT / "build" / "bundle.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="module")
def clean_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What a user's desktop session would give the program: nothing of this checkout."""
    home = tmp_path_factory.mktemp("home")
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TINGXIE_DATA_DIR": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "MODELSCOPE_CACHE": str(home / "modelscope"),
        # a model lookup must never reach a hub: an endpoint that refuses at once
        "MODELSCOPE_ENDPOINT": "http://127.0.0.1:9",
    }
    if sys.platform == "win32":
        env.update({k: os.environ[k] for k in ("SYSTEMROOT", "TEMP", "TMP") if k in os.environ})
    return env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working directory of every bundle run: empty, far from the source tree."""
    return tmp_path_factory.mktemp("cwd")


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2.5 s of deterministic speech-like sound (a synthetic model's text depends only on
    the audio, so any sound gives a reproducible final)."""
    import soundfile as sf

    t = np.arange(int(SAMPLE_RATE * 2.5)) / SAMPLE_RATE
    rng = np.random.default_rng(0)
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 1.3 * t)
    x = x + 0.05 * rng.standard_normal(len(t))
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    sf.write(path, x.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def source_final(tiny_model_dir: Path, speech_wav: Path) -> str:
    """``python -m tingxie transcribe``'s final, from source."""
    out = subprocess.run(
        [sys.executable, "-m", "tingxie", "transcribe", str(speech_wav),
         "--model", str(tiny_model_dir), "--threads", "1", "--offline"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    final = out.stdout.strip().splitlines()[-1]
    assert final, "the synthetic model should produce some text for this audio"
    return final


def test_bundle_is_self_contained(bundle: Path) -> None:
    internal = bundle / "_internal"
    # funasr's registry reads its own sources (inspect.getsourcelines) and version file
    assert (internal / "funasr" / "models" / "paraformer_streaming" / "model.py").is_file()
    assert (internal / "funasr" / "version.txt").is_file()
    assert (internal / "tingxie" / "server" / "static" / "test.html").is_file()
    assert (internal / "tingxie" / "assets" / "tingxie.svg").is_file()  # the window's icon
    # the package as the wheel installs it: nothing at top level under the parts' own names
    for part in ("engine", "server", "desktop", "assets"):
        assert not (internal / part).exists(), part
    # nothing left of the trimmed stacks
    for left_out in ("sklearn", "numba", "llvmlite", "matplotlib", "onnxruntime", "tkinter"):
        assert not (internal / left_out).exists(), left_out


def test_help_starts(bundle: Path, clean_env: dict[str, str], workdir: Path) -> None:
    started = time.monotonic()
    out = subprocess.run([str(bundle / CLI_NAME), "transcribe", "--help"], check=False,
                         env=clean_env, cwd=workdir, capture_output=True, text=True, timeout=120)
    record_timing("transcribe_help_s", time.monotonic() - started)
    assert out.returncode == 0, out.stderr
    assert "--model" in out.stdout


def test_transcribe_matches_source(
    bundle: Path, clean_env: dict[str, str], workdir: Path, tiny_model_dir: Path,
    speech_wav: Path, source_final: str,
) -> None:
    started = time.monotonic()
    out = subprocess.run(
        [str(bundle / CLI_NAME), "transcribe", str(speech_wav), "--model", str(tiny_model_dir),
         "--threads", "1", "--offline"],
        check=False, env=clean_env, cwd=workdir, capture_output=True, text=True,
        timeout=300,
    )
    record_timing("transcribe_tiny_s", time.monotonic() - started)
    assert out.returncode == 0, out.stderr[-4000:]
    assert "could not get source code" not in out.stderr
    assert out.stdout.strip().splitlines()[-1] == source_final


def test_models_beside_the_executable_are_found(
    bundle: Path, clean_env: dict[str, str], workdir: Path, tiny_model_dir: Path,
    speech_wav: Path, source_final: str,
) -> None:
    """An offline install: the default model's folder in ``models/`` beside the executable
    (here the synthetic one under the real name), found with downloading turned off."""
    shutil.copytree(tiny_model_dir, bundle / "models" / "paraformer-zh-streaming")
    try:
        out = subprocess.run(
            [str(bundle / CLI_NAME), "transcribe", str(speech_wav),
             "--model", "paraformer-zh-streaming", "--threads", "1", "--offline"],
            check=False, env=clean_env, cwd=workdir, capture_output=True, text=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(bundle / "models")
    assert out.returncode == 0, out.stderr[-4000:]
    assert out.stdout.strip().splitlines()[-1] == source_final


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_health(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> dict:
    """Polls ``/health`` (the only way to ask another process) until it answers 200."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return json.loads(response.read())
        except (TimeoutError, urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 within {timeout_s} s")


async def one_utterance(url: str, pcm: bytes) -> dict:
    """start, the audio as base64 messages of 0.2 s, stop; returns the final result."""
    from websockets.asyncio.client import connect

    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "control", "command": "start"}))
        step = SAMPLE_RATE * 2 // 5
        for i in range(0, len(pcm), step):
            data = base64.b64encode(pcm[i:i + step]).decode()
            await ws.send(json.dumps({"type": "audio", "data": data}))
        await ws.send(json.dumps({"type": "control", "command": "stop"}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=120))
            assert message["type"] != "error", message
            if message["type"] == "result" and message["mode"] == "final":
                return message


@pytest.fixture
def server_process(
    bundle: Path, clean_env: dict[str, str], workdir: Path, tiny_model_dir: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int, float]]:
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [str(bundle / CLI_NAME), "--server-only", "--model", str(tiny_model_dir),
         "--host", "127.0.0.1", "--port", str(port), "--threads", "1", "--offline"],
        env=clean_env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        yield process, port, started
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM if sys.platform != "win32" else signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_server_only_serves_health_and_an_utterance(
    server_process: tuple[subprocess.Popen[bytes], int, float], speech_wav: Path,
    source_final: str,
) -> None:
    import soundfile as sf

    process, port, started = server_process
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}/health", process, timeout_s=180)
    except AssertionError:
        process.kill()
        raise AssertionError(process.stderr.read().decode(errors="replace")[-4000:]) from None
    record_timing("server_health_s", time.monotonic() - started)
    assert health["status"] == "healthy"

    pcm, rate = sf.read(speech_wav, dtype="int16")
    assert rate == SAMPLE_RATE
    final = asyncio.run(one_utterance(f"ws://127.0.0.1:{port}/ws/asr", pcm.tobytes()))
    assert final["text"] == source_final

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0  # graceful shutdown


@pytest.fixture
def x_display() -> Iterator[str]:
    """A private Xvfb server; its display name (``:N``)."""
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("needs Xvfb and xdotool (scripts/system-packages.sh)")
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()  # written once the server accepts clients
    try:
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


def test_gui_shows_its_window(
    bundle: Path, clean_env: dict[str, str], workdir: Path, tiny_model_dir: Path,
    x_display: str, tmp_path: Path,
) -> None:
    """Double-click: the window appears, the model loads, and the embedded service answers
    (on a free port, set in the app's settings file as the user would in Settings)."""
    port = free_port()
    config = tmp_path / "config"
    (config / "Tingxie").mkdir(parents=True)
    (config / "Tingxie" / "tingxie.ini").write_text(
        f"[service]\nenabled=true\nport={port}\n", encoding="utf-8"
    )
    env = {**clean_env, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb",
           "XDG_CONFIG_HOME": str(config)}
    x_env = {"DISPLAY": x_display, "PATH": clean_env["PATH"]}
    started = time.monotonic()
    gui = subprocess.Popen(
        [str(bundle / EXE_NAME), "--model", str(tiny_model_dir), "--threads", "1", "--offline"],
        env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        # --sync: xdotool waits (X events) until such a window is mapped
        found = subprocess.run(
            ["xdotool", "search", "--sync", "--onlyvisible", "--name", "Tingxie|听写"],
            check=False, env=x_env, capture_output=True, text=True, timeout=120,
        )
        shown_s = time.monotonic() - started
        if gui.poll() is not None:
            raise AssertionError(gui.stderr.read().decode(errors="replace")[-4000:])
        assert found.returncode == 0 and found.stdout.split(), found.stderr
        record_timing("gui_window_s", shown_s)

        health = wait_for_health(f"http://127.0.0.1:{port}/health", gui, timeout_s=180)
        assert health["status"] == "healthy"  # the model loaded inside the frozen app
        if shutil.which("import"):  # for a person looking at a failure: tmp_path/gui.png
            subprocess.run(["import", "-window", "root", str(tmp_path / "gui.png")],
                           env=x_env, timeout=30, check=False)
    finally:
        gui.terminate()
        try:
            gui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gui.kill()
            gui.wait()


@pytest.fixture
def empty_hub() -> Iterator[tuple[str, list[str]]]:
    """A ModelScope endpoint that knows no model (404 for everything); its URL and the
    paths it was asked for."""
    import http.server
    import threading

    asked: list[str] = []

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = b'{"Code": 404, "Message": "not found"}'
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    hub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=hub.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{hub.server_address[1]}", asked
    finally:
        hub.shutdown()
        hub.server_close()


def test_missing_model_goes_to_the_hub_and_is_explained(
    bundle: Path, clean_env: dict[str, str], workdir: Path, speech_wav: Path,
    empty_hub: tuple[str, list[str]],
) -> None:
    """A model found nowhere is downloaded with modelscope's hub client (frozen); a hub
    without it gives the loader's explanation and exit 1, not a traceback."""
    url, asked = empty_hub
    out = subprocess.run(
        [str(bundle / CLI_NAME), "transcribe", str(speech_wav), "--model",
         "paraformer-zh-streaming"],
        check=False, env={**clean_env, "MODELSCOPE_ENDPOINT": url}, cwd=workdir,
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 1, out.stderr[-4000:]
    assert "tingxie: error:" in out.stderr and "could not be downloaded" in out.stderr
    assert "modelscope package is missing" not in out.stderr
    assert "Traceback" not in out.stderr
    assert any("speech_paraformer" in path for path in asked), asked
