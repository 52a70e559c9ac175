"""Release → first character in another application: how long after the user lets go of
the global hold key the text starts appearing at their cursor.

Runs the real app (``python -m tingxie``) under a fresh Xvfb with a PulseAudio virtual
microphone, a separate editor process focused in front of it (``tests/desktop/editor_app``
records the machine's monotonic time of every change), and for each utterance: holds
Right Ctrl through XTEST, plays the speech into the microphone, releases (the release's
time taken right before the XTEST request), and reads when the editor's text first grew
and when it was complete. Per method (type, paste), the same app build and speech:

- release → first character, release → last character in the editor;
- release → final, as the app computed it (``latency`` of the history line), which is
  the part before insertion starts.

    python -m bench.insert_latency MODEL_DIR [--utterances 10] [--methods type paste]

MODEL_DIR: a model directory (``python -m tingxie.engine.synthetic DIR --size small``).
Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.desktop.e2e import RunningApp, desktop_session
from tests.desktop.xserver import Editor, wait_for


def speech_wav(out: Path) -> Path:
    raw, wav = out / "raw.wav", out / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "cmn", "-s", "150", "-w", str(raw), "今天天气很好"],
                   check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav)],
                   check=True)
    return wav


def run_method(model: Path, method: str, utterances: int, wav: Path, tmp: Path) -> dict:
    from Xlib import XK, X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    with desktop_session(tmp) as env:
        ini = Path(env["XDG_CONFIG_HOME"]) / "Tingxie" / "tingxie.ini"
        ini.parent.mkdir(parents=True, exist_ok=True)
        ini.write_text(f"[insert]\nmethod={method}\n", encoding="utf-8")
        app = RunningApp(env, model, tmp / f"app-{method}.log")
        editor = None
        d = xdisplay.Display(env["DISPLAY"])
        try:
            app.wait_ready()
            times = tmp / f"times-{method}.txt"
            editor = Editor(env["DISPLAY"], tmp / f"editor-{method}.txt", times=times)
            app.xdo("windowfocus", "--sync", str(editor.window))
            code = d.keysym_to_keycode(XK.string_to_keysym("Control_R"))
            first, last, finals = [], [], []
            for i in range(utterances):
                before = len(editor.text())
                xtest.fake_input(d, X.KeyPress, code)
                d.sync()
                play = subprocess.Popen(["paplay", "--device=vmic_sink", str(wav)], env=env)
                assert play.wait(60) == 0
                time.sleep(0.3)
                released = time.monotonic()
                xtest.fake_input(d, X.KeyRelease, code)
                d.sync()
                lines = app.wait_history(i + 1, 60)
                text = json.loads(lines[i])["text"]
                finals.append(json.loads(lines[i])["latency"])
                wait_for(lambda: len(editor.text()) >= before + len(text), 30,
                         "the text in the editor")
                changes = [line.split() for line in times.read_text().splitlines()]
                grew = [(float(t), int(n)) for t, n in changes if float(t) > released]
                first.append((min(t for t, n in grew if n > before) - released) * 1000)
                last.append((min(t for t, n in grew if n >= before + len(text)) - released)
                            * 1000)
                time.sleep(0.5)
            app.xdo("windowfocus", "--sync", app.window)
            app.quit()
        finally:
            d.close()
            if editor is not None:
                editor.close()
            app.stop()
    return {"first": first, "last": last, "final": finals}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--utterances", type=int, default=10)
    parser.add_argument("--methods", nargs="+", default=["type", "paste"])
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        wav = speech_wav(tmp)
        results = {}
        for method in args.methods:
            (tmp / method).mkdir()
            results[method] = run_method(args.model, method, args.utterances, wav, tmp / method)
    print(f"commit {commit}, {args.utterances} utterances per method, model {args.model.name}\n")
    print("| method | release → final p50 / p95 | release → first character p50 / p95 | "
          "release → last character p50 / p95 |")
    print("|---|---|---|---|")
    for method, r in results.items():
        cells = [f"{pct(r[k], 0.5):.0f} / {pct(r[k], 0.95):.0f} ms"
                 for k in ("final", "first", "last")]
        print(f"| {method} | " + " | ".join(cells) + " |")
    print("\nraw (ms):", json.dumps({m: {k: [round(v, 1) for v in r[k]] for k in r}
                                    for m, r in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
