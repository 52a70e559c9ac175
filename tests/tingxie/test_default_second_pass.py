"""The product's default path, nothing set: the second pass asks for paraformer-zh, ct-punc
and fsmn-vad. With none of them on disk and ``--offline``, ``transcribe`` and the service
still work: the final is the live draft, finished by the text steps (ITN on), exactly as
with ``--refine none --punc none --vad none``, and ``/health`` says which models are missing.

The tests' environment sets TINGXIE_REFINE/_PUNC/_VAD to none (tests/conftest.py); here they
are removed, and the data folder and model caches are empty folders, so nothing is found."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import soundfile as sf

from tingxie.engine.synthetic import speechlike

from ..server.client import dictate, run

ROOT = Path(__file__).resolve().parents[2]
MISSING = ("offline recognizer paraformer-zh", "punctuation model ct-punc",
           "voice-activity model fsmn-vad")


@pytest.fixture(scope="module")
def nothing_set(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a machine where nothing is configured and no model is cached."""
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TINGXIE_") and k not in ("HOTWORDS", "MODEL_NAME")}
    env.update(TINGXIE_DATA_DIR=str(home / "data"), MODELSCOPE_CACHE=str(home / "modelscope"),
               HF_HUB_CACHE=str(home / "hf"), HF_ENDPOINT="http://127.0.0.1:9",
               PYTHONPATH=str(ROOT))
    return env


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    sf.write(path, speechlike(5, 3.1), 16000, subtype="PCM_16")
    return path


def transcribe(env: dict[str, str], wav: Path, model: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tingxie", "transcribe", str(wav), "--model", str(model),
         "--offline", "--precision", "fp32", "--threads", "1", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )


@pytest.fixture(scope="module")
def draft_final(nothing_set: dict[str, str], wav: Path, tiny_model_dir: Path) -> str:
    """The final with the second pass's models turned off on the command line."""
    done = transcribe(nothing_set, wav, tiny_model_dir, "--refine", "none", "--punc", "none",
                      "--vad", "none")
    assert done.returncode == 0, done.stderr
    assert "second pass runs without" not in done.stderr  # nothing was asked for
    return done.stdout.splitlines()[-1]


def test_transcribe_without_the_default_models_gives_the_finished_draft(
    nothing_set: dict[str, str], wav: Path, tiny_model_dir: Path, draft_final: str
) -> None:
    done = transcribe(nothing_set, wav, tiny_model_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == draft_final
    for missing in MISSING:  # each said, with where to put it
        assert re.search(f"second pass runs without its {missing.split(' ', 1)[0]}", done.stderr)
    assert done.stderr.count("downloading is turned off") >= 3


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def default_service(nothing_set: dict[str, str], tiny_model_dir: Path) -> Iterator[str]:
    """``tingxie --server-only --offline`` with nothing else set; yields its http URL once
    /health says the model is ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tingxie", "--server-only", "--port", "0", "--offline",
         "--model", str(tiny_model_dir), "--precision", "fp32", "--threads", "1"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True, env=nothing_set,
    )
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if match:
                url = match.group(1)
                break
        assert url is not None, f"the service did not start: {proc.wait()}"
        # read the rest of the log, so that the service never blocks on a full pipe
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        deadline = time.monotonic() + 240
        while get(url + "/health")[0] != 200:  # 503 while the model loads
            assert proc.poll() is None and time.monotonic() < deadline, "never became ready"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def test_the_service_without_the_default_models_runs_and_says_so(
    default_service: str, wav: Path, draft_final: str
) -> None:
    status, health = get(default_service + "/health")
    assert (status, health["status"], health["model_loaded"]) == (200, "healthy", True)
    assert [m["role"] for m in health["models"]] == ["streaming"]
    second = health["second_pass"]
    assert second["status"] == "degraded" and len(second["problems"]) == 3
    for missing, problem in zip(MISSING, second["problems"]):
        assert problem.startswith(missing) and "downloading is turned off" in problem

    samples, _ = sf.read(wav, dtype="int16")
    _, final = run(dictate(default_service.replace("http", "ws") + "/ws/asr", samples))
    assert (final["text"], final["refined"]) == (draft_final, False)
