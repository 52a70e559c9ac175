"""Cold start: how long until the window is on screen and the model is ready.

    python -m bench.startup_bench MODEL_DIR [--runs 5]

Runs ``tingxie --model MODEL_DIR`` under Xvfb (started here if DISPLAY is unset) and polls
``xdotool search --name Tingxie`` for the mapped window; "model ready" is the log line the
window writes when the engine state becomes ready. Baseline in the same run: a bare PySide6
window (the floor for any Qt app on this machine) and ``import funasr`` alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import log, machine, median, table

BARE_WINDOW = (
    "from PySide6.QtWidgets import QApplication, QLabel; import sys;"
    "app = QApplication(sys.argv); w = QLabel('x'); w.setWindowTitle('Tingxie bare');"
    "w.show(); app.exec()"
)


def wait_window(
    title: str, proc: subprocess.Popen[str], env: dict[str, str], timeout: float = 60
) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title],
                               capture_output=True, text=True, env=env)
        if found.stdout.strip():
            return time.perf_counter() - start
        if proc.poll() is not None:
            raise RuntimeError("the program exited before showing its window")
        time.sleep(0.02)
    raise RuntimeError("no window")


def launch(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    return proc, t0


def tingxie_run(model: Path, env: dict[str, str]) -> tuple[float, float]:
    proc, t0 = launch([sys.executable, "-m", "tingxie", "--model", str(model), "--port", "0"], env)
    try:
        visible = wait_window("Tingxie", proc, env)
        assert proc.stderr is not None
        ready = float("nan")
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            if ": ready" in line and "model" in line:
                ready = time.perf_counter() - t0
                break
        return visible, ready
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ)
    xvfb = None
    if not env.get("DISPLAY"):
        read, write = os.pipe()
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24"],
                                pass_fds=(write,), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as f:  # Xvfb writes the display number once it is ready
            env["DISPLAY"] = ":" + f.readline().strip()
    env.pop("QT_QPA_PLATFORM", None)
    env["TINGXIE_DATA_DIR"] = tempfile.mkdtemp(prefix="tingxie-bench-")
    print(f"Machine: {machine()}\n")
    try:
        bare, funasr_import, visible, ready = [], [], [], []
        for run in range(args.runs):
            proc, _ = launch([sys.executable, "-c", BARE_WINDOW], env)
            bare.append(wait_window("Tingxie bare", proc, env))
            proc.terminate()
            proc.wait(30)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import funasr"], env=env,
                           capture_output=True, check=True)
            funasr_import.append(time.perf_counter() - t0)
            v, r = tingxie_run(args.model_dir, env)
            visible.append(v)
            ready.append(r)
            log(run, bare[-1], funasr_import[-1], v, r)
        rows = [
            ["bare PySide6 window (baseline)", median(bare), "-"],
            ["python -c 'import funasr' (baseline)", "-", median(funasr_import)],
            ["tingxie", median(visible), median(ready)],
        ]
        print(f"### Cold start, median of {args.runs} runs (seconds)\n")
        print(table(["program", "window visible", "model ready"], rows))
    finally:
        if xvfb is not None:
            xvfb.terminate()


if __name__ == "__main__":
    main()
