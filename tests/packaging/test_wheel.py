"""The wheel ``pip install .`` builds: one ``tingxie`` package with everything inside.

The wheel is built from the working tree and installed (``--target``, no dependencies:
they are this environment's) into a temporary folder; each check runs a fresh interpreter
with only that folder added to its path and its working directory elsewhere, so the
source tree and the editable install cannot stand in for the wheel. The import-linter
contracts in ``pyproject.toml`` are checked on that installed copy (import-linter walks a
package's folder, which only the installed layout has).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.packaging]

ROOT = Path(__file__).resolve().parents[2]


def run_installed(
    site: Path, code: str, *, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=site.parent, capture_output=True, text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(site), "QT_QPA_PLATFORM": "offscreen", **(env or {})},
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "--disable-pip-version-check", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (found,) = out.glob("tingxie-*.whl")
    return found


@pytest.fixture(scope="module")
def site(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("installed") / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--disable-pip-version-check",
         "--target", str(target), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    return target


def test_the_wheel_holds_one_package_with_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"tingxie", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    for expected in ("tingxie/engine/streaming.py", "tingxie/engine/funasr_backend/int8.py",
                     "tingxie/server/app.py", "tingxie/server/static/test.html",
                     "tingxie/desktop/window.py", "tingxie/assets/tingxie.svg",
                     "tingxie/assets/tingxie.png", "tingxie/__main__.py"):
        assert expected in names
    assert not [n for n in names if n.startswith(("tingxie/tests", "tingxie/bench"))]


def test_only_tingxie_is_importable_from_the_installed_copy(site: Path) -> None:
    code = (
        "import importlib.util, sys\n"
        "import tingxie, tingxie.engine, tingxie.server.app, tingxie.desktop\n"
        f"assert tingxie.engine.__file__.startswith({str(site)!r}), tingxie.engine.__file__\n"
        "for name in ('engine', 'server', 'desktop', 'assets'):\n"
        "    assert importlib.util.find_spec(name) is None, name\n"
        "from importlib import resources\n"
        "assert resources.files('tingxie.server.static').joinpath('test.html').is_file()\n"
    )
    result = run_installed(site, code)
    assert result.returncode == 0, result.stderr


def test_the_installed_window_has_its_icon(site: Path) -> None:
    code = (
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from tingxie.desktop.app import app_icon\n"
        "icon = app_icon()\n"
        "assert not icon.isNull() and icon.availableSizes() or not icon.pixmap(32).isNull()\n"
        "print(icon.pixmap(32).width())\n"
    )
    result = run_installed(site, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "32"


def test_the_import_contracts_hold(site: Path) -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=site.parent, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(site)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


def test_a_broken_fence_is_found(site: Path, tmp_path: Path) -> None:
    """The contracts can fail: a server module importing Qt breaks the first."""
    bad = site / "tingxie" / "server" / "_fence_probe.py"
    bad.write_text("import PySide6.QtCore\n")
    try:
        lint = Path(sys.executable).with_name("lint-imports")
        result = subprocess.run(
            [str(lint), str(ROOT / "pyproject.toml"), "--no-cache"],
            cwd=site.parent, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONPATH": str(site)},
        )
    finally:
        bad.unlink()
    assert result.returncode != 0
    assert "tingxie.server._fence_probe -> PySide6 (l.1)" in result.stdout


@pytest.mark.slow
def test_the_installed_commands_transcribe_and_serve(
    site: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    import wave

    import numpy as np

    wav = tmp_path / "speech.wav"
    rng = np.random.default_rng(3)
    pcm = (rng.standard_normal(16000 * 2) * 3000).astype(np.int16)
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    env = {"TINGXIE_DATA_DIR": str(tmp_path / "data"), "MODELSCOPE_ENDPOINT": "http://127.0.0.1:9"}
    transcribe = run_installed(
        site,
        "import sys; from tingxie.__main__ import main; "
        f"sys.exit(main(['transcribe', {str(wav)!r}, '--model', {str(tiny_model_dir)!r}, "
        "'--threads', '1']))",
        timeout=300, env=env,
    )
    assert transcribe.returncode == 0, transcribe.stderr
    assert transcribe.stdout.strip(), "no text printed"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "tingxie", "--server-only", "--port", str(port),
         "--model", str(tiny_model_dir), "--threads", "1"],
        cwd=site.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(site), **env},
    )
    try:
        health = None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                    health = json.loads(r.read())
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)  # not listening yet, or 503 while the model loads
        assert health is not None, server.stderr.read() if server.poll() is not None else "timeout"
        assert health["status"] == "healthy" and health["model_loaded"]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
