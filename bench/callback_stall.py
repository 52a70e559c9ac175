"""How long the desktop's result callbacks hold the engine's inference thread.

Every ``Future`` the engine settles runs its done-callbacks on the inference worker
("tingxie-inference"), the one thread every user of the engine shares. This drives the real
desktop app, as ``tingxie.desktop.app.build`` wires it (a fake microphone, the real
``History`` in a temporary directory on the real disk, a real ``StreamingRecognizer`` on a
synthetic model), through N push-to-talk utterances and measures, per utterance:

- the wall time the inference thread spends inside ``Dictation._on_final`` (the final's
  callback: building the result and, before the sinks, appending it to ``history.jsonl``
  with an fsync) and inside ``Dictation._on_partial``;
- what a neighbour feels: a second session on the same recognizer (a server client) feeds
  600 ms chunks back to back, each after the previous one's partial came back; the gap
  between its consecutive partials is the worker's decode plus whatever callback ran in
  between;
- for context, each ``History.append`` (open, write, fsync) and the thread that did it.

    python -m bench.callback_stall MODEL_DIR [--utterances 200]
    python -m bench.callback_stall MODEL_DIR --commits 0fd1e59 HEAD [--rounds 2] [--slow-disk-ms 50]

MODEL_DIR is normally ``python -m tingxie.engine.synthetic /tmp/tiny`` (tiny: the callbacks,
not the model, are what is measured). The first form measures the ``tingxie`` importable
now. ``--commits`` measures each commit's ``engine/``, ``desktop/``, ``server/``,
``assets/`` and ``tingxie/`` (extracted with ``git archive`` and staged as the installed
package tree, so nothing of the working tree or the editable install leaks in; each child
reports where its modules came from and the parent checks it), interleaved round by round
in one run so both see the same machine. Prints Markdown tables for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import log, machine, median, percentile, speechlike, table
from bench.staging import run_staged, stage

INFERENCE_THREAD = "tingxie-inference"
CHUNK = 9600  # 600 ms at 16 kHz: the streaming Paraformer's chunk


# --- one measurement (runs against whatever ``tingxie`` imports) -------------------------
class Timed:
    """Wraps a method on its class: records (milliseconds, thread name) of each call."""

    def __init__(self, owner: type, name: str) -> None:
        self.calls: list[tuple[float, str]] = []
        original = getattr(owner, name)
        calls = self.calls

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                calls.append(((time.perf_counter() - t0) * 1000, threading.current_thread().name))

        setattr(owner, name, timed)

    def on(self, thread: str) -> list[float]:
        return [ms for ms, name in self.calls if name == thread]


class Neighbour(threading.Thread):
    """A second user of the recognizer: 600 ms chunks back to back, closed loop (the next
    chunk is fed when the previous partial is back), an utterance finished every 10 chunks.
    ``gaps``: milliseconds between consecutive partials."""

    def __init__(self, recognizer: Any) -> None:
        super().__init__(name="neighbour", daemon=True)
        self._recognizer = recognizer
        self.stop = threading.Event()
        self.going = threading.Event()  # the first partial is back
        self.gaps: list[float] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            session = self._recognizer.open_session()
            audio = speechlike(77, 6.0)
            last = None
            while not self.stop.is_set():
                for i in range(0, len(audio), CHUNK):
                    session.feed(audio[i : i + CHUNK]).result(timeout=30)
                    now = time.perf_counter()
                    self.going.set()
                    if last is not None:
                        self.gaps.append((now - last) * 1000)
                    last = now
                    if self.stop.is_set():
                        break
                session.finish().result(timeout=30)
                last = None  # the finish round trip is not a partial gap
            session.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the parent thread
            self.error = exc
            self.going.set()


def slow_disk(delay_ms: float) -> None:
    """Make every ``os.fsync`` of this process take ``delay_ms`` longer, as on a busy hard
    disk or a network home folder (like a real fsync, the wait releases the GIL)."""
    real = os.fsync

    def fsync(fd: Any) -> None:
        time.sleep(delay_ms / 1000)
        real(fd)

    os.fsync = fsync


def measure(model_dir: Path, utterances: int, seconds: float, threads: int, data_dir: Path,
            slow_disk_ms: float = 0.0) -> dict[str, Any]:
    """Build the desktop app on ``model_dir``, dictate ``utterances`` clips of ``seconds``
    while a neighbour streams, shut the app down; returns the raw samples."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if slow_disk_ms:
        slow_disk(slow_disk_ms)
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    import tingxie
    import tingxie.desktop
    import tingxie.engine
    from tingxie.desktop import app as desktop_app
    from tingxie.desktop.audio import FakeAudioSource
    from tingxie.desktop.dictation import Dictation, DictationState
    from tingxie.desktop.history import History
    from tingxie.desktop.settings import AppSettings
    from tingxie.engine.handle import EngineHandle
    from tingxie.engine.loader import EngineConfig, load_recognizer

    finals = Timed(Dictation, "_on_final")
    partials = Timed(Dictation, "_on_partial")
    appends = Timed(History, "append")

    qt = QApplication.instance() or QApplication([sys.argv[0]])
    recognizer = load_recognizer(EngineConfig(model=str(model_dir), threads=threads, precision="fp32"))
    handle = EngineHandle.ready(recognizer)
    settings = AppSettings(QSettings(str(data_dir / "settings.ini"), QSettings.Format.IniFormat))
    settings.service_enabled = False
    audio = FakeAudioSource()
    history = History(data_dir / "history.jsonl")
    desktop = desktop_app.build(
        handle, settings=settings, audio=audio, history=history, server_factory=None, language="en"
    )
    dictation = desktop.dictation
    shown: list[Any] = []
    desktop.bridge.final_text.connect(shown.append)

    def wait_idle(timeout_s: float = 30.0) -> None:
        """Run the GUI thread's event loop (as the app would) until the dictation is idle."""
        if dictation.state is DictationState.IDLE:
            qt.processEvents()
            return
        loop = QEventLoop()

        def changed(_: object) -> None:
            if dictation.state is DictationState.IDLE:
                loop.quit()

        desktop.bridge.dictation_state.connect(changed)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        if dictation.state is not DictationState.IDLE:
            loop.exec()
        desktop.bridge.dictation_state.disconnect(changed)
        if dictation.state is not DictationState.IDLE:
            raise RuntimeError(f"no final {timeout_s} s after release")

    clips = [speechlike(seed, seconds) for seed in range(10)]
    for clip in clips[:3]:  # warm-up, not counted
        assert dictation.press(), "press refused"
        audio.push(clip)
        dictation.release()
        wait_idle()
    for recorder in (finals, partials, appends):
        recorder.calls.clear()
    warm_shown = len(shown)

    neighbour = Neighbour(recognizer)
    neighbour.start()
    neighbour.going.wait(60)
    started = time.perf_counter()
    for i in range(utterances):
        if not dictation.press():
            raise RuntimeError(f"press {i} refused")
        audio.push(clips[i % len(clips)])  # 100 ms blocks, as the sound card would
        dictation.release()
        wait_idle()
    elapsed = time.perf_counter() - started
    neighbour.stop.set()
    neighbour.join(60)
    if neighbour.error is not None:
        raise neighbour.error
    desktop.window.shutdown()  # drains the history (at the newer commits)
    written = len(history.read())
    recognizer.close()
    return {
        "modules": {
            "tingxie": tingxie.__file__,
            "tingxie.engine": tingxie.engine.__file__,
            "tingxie.desktop": tingxie.desktop.__file__,
        },
        "utterances": utterances,
        "seconds": seconds,
        "elapsed_s": elapsed,
        "final_ms": finals.on(INFERENCE_THREAD),
        "final_elsewhere": len(finals.calls) - len(finals.on(INFERENCE_THREAD)),
        "partial_ms": partials.on(INFERENCE_THREAD),
        "append_ms": [ms for ms, _ in appends.calls],
        "append_threads": sorted({name for _, name in appends.calls}),
        "neighbour_gap_ms": neighbour.gaps,
        "shown": len(shown) - warm_shown,
        "history_lines": written,
        "warmup": 3,
    }


# --- several commits, interleaved --------------------------------------------------------
def run_child(tree: Path, args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    return run_staged(tree, "bench.callback_stall", [
        str(args.model_dir), "--json", "--utterances", str(args.utterances),
        "--seconds", str(args.seconds), "--threads", str(args.threads),
        "--data-dir", str(data_dir), "--slow-disk-ms", str(args.slow_disk_ms)])


def stats(values: list[float]) -> tuple[float, float, float, int]:
    return (max(values) if values else float("nan"), percentile(values, 99), median(values),
            len(values))


def report(label: str, runs: list[dict[str, Any]]) -> list[list[Any]]:
    pool: dict[str, list[float]] = {"final_ms": [], "partial_ms": [], "neighbour_gap_ms": [],
                                    "append_ms": []}
    for run in runs:
        for key in pool:
            pool[key] += run[key]
    rows = []
    for key, what in (("final_ms", "final callback on the inference thread"),
                      ("partial_ms", "partial callback on the inference thread"),
                      ("neighbour_gap_ms", "neighbour: gap between consecutive partials"),
                      ("append_ms", "History.append (open, write, fsync)")):
        worst, p99, med, n = stats(pool[key])
        rows.append([label, what, worst, p99, med, n])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--utterances", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=1.5, help="length of each utterance")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the model")
    parser.add_argument("--slow-disk-ms", type=float, default=0.0,
                        help="add this much to every fsync (a slow disk)")
    parser.add_argument("--commits", nargs="+", metavar="COMMIT",
                        help="measure these commits' code, interleaved (default: the importable tingxie)")
    parser.add_argument("--rounds", type=int, default=2, help="with --commits: runs per commit")
    parser.add_argument("--data-dir", type=Path, help="where the history is written (default: a new "
                        "temporary directory; use a real disk, not tmpfs)")
    parser.add_argument("--json", action="store_true", help="print the raw samples as one JSON line")
    args = parser.parse_args(argv)

    if not args.commits:
        with tempfile.TemporaryDirectory(prefix="callback-stall-", dir=args.data_dir) as tmp:
            result = measure(args.model_dir, args.utterances, args.seconds, args.threads, Path(tmp),
                             args.slow_disk_ms)
        if args.json:
            print(json.dumps(result))
        else:
            print(table(["code", "what", "worst ms", "p99 ms", "median ms", "n"],
                        report("importable", [result])))
        return 0

    where = machine()
    log(where)
    print(f"Machine: {where}\n")
    with tempfile.TemporaryDirectory(prefix="callback-stall-", dir=args.data_dir) as tmp:
        staged = [stage(commit, Path(tmp)) for commit in args.commits]
        runs: dict[str, list[dict[str, Any]]] = {sha: [] for sha, _ in staged}
        for r in range(args.rounds):
            for sha, tree in staged:
                data = Path(tmp) / f"data-{sha}-{r}"
                data.mkdir()
                log(f"round {r + 1}/{args.rounds}: {sha} ...")
                result = run_child(tree, args, data)
                log(f"  {len(result['final_ms'])} finals, {result['history_lines']} history lines, "
                    f"{result['elapsed_s']:.1f} s, history written by {result['append_threads']}")
                runs[sha].append(result)
    rows: list[list[Any]] = []
    for sha, _ in staged:
        rows += report(sha, runs[sha])
    print(table(["commit", "what", "worst ms", "p99 ms", "median ms", "n"], rows))
    print()
    per_round: list[list[Any]] = []
    for sha, _ in staged:
        for r, run in enumerate(runs[sha]):
            final, gap = stats(run["final_ms"]), stats(run["neighbour_gap_ms"])
            per_round.append([sha, r + 1, final[0], final[1], final[2], gap[0], gap[1], gap[2],
                              run["history_lines"], ", ".join(run["append_threads"])])
    print(table(["commit", "round", "final worst", "final p99", "final median",
                 "gap worst", "gap p99", "gap median", "history lines", "history written on"],
                per_round))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
