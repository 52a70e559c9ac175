"""Parity with FunASR through the command line: at ``--precision fp32 --no-itn`` the last
line of ``tingxie transcribe FILE --model STREAMING --refine OFFLINE --punc PUNC
[--hotwords ...]`` is FunASR's own ``AutoModel(model=OFFLINE, punc_model=PUNC).generate(
input=audio[, hotword=...])`` text, for synthetic models in the real layouts (random
weights: the text means nothing, and is fully determined by the audio and the hotwords)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tingxie.engine.synthetic import speechlike, write_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def second_pass_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("second-pass")
    write_model(root / "paraformer-zh", "paraformer-zh", "tiny", seed=3)
    write_model(root / "ct-punc", "ct-punc", "tiny", seed=4)
    return root / "paraformer-zh", root / "ct-punc"


def funasr_text(offline: Path, punc: Path, audio: np.ndarray, hotwords: list[str]) -> str:
    from funasr import AutoModel

    model = AutoModel(model=str(offline), punc_model=str(punc), disable_update=True,
                      device="cpu", disable_pbar=True, log_level="ERROR")
    options: dict[str, Any] = {"hotword": " ".join(hotwords)} if hotwords else {}
    out = model.generate(input=audio.astype(np.float32) / 32768.0, **options)
    return str(out[0]["text"])


def hotwords_from(offline: Path) -> list[str]:
    """Two words of characters the offline model knows."""
    tokens = json.loads((offline / "tokens.json").read_text(encoding="utf-8"))
    chars = [t for t in tokens if len(t) == 1 and "\u4e00" <= t <= "\u9fff"]
    return [chars[5] + chars[9], chars[20] + chars[31] + chars[2]]


@pytest.mark.parametrize(("seed", "seconds", "with_hotwords"),
                         [(21, 2.3, False), (22, 4.1, True), (23, 1.4, True)])
def test_the_refined_last_line_is_funasrs_offline_and_punctuation_text(
    tmp_path: Path, tiny_model_dir: Path, second_pass_dirs: tuple[Path, Path],
    seed: int, seconds: float, with_hotwords: bool,
) -> None:
    offline, punc = second_pass_dirs
    audio = speechlike(seed, seconds)
    wav = tmp_path / "speech.wav"
    sf.write(wav, audio, 16000, subtype="PCM_16")
    hotwords = hotwords_from(offline) if with_hotwords else []
    extra = ["--hotwords", " ".join(hotwords)] if hotwords else []
    done = subprocess.run(
        [sys.executable, "-m", "tingxie", "transcribe", str(wav), "--model", str(tiny_model_dir),
         "--refine", str(offline), "--punc", str(punc), "--vad", "none", "--no-itn",
         "--precision", "fp32", "--threads", "1", "--offline", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "second pass runs without" not in done.stderr, done.stderr
    expected = funasr_text(offline, punc, audio, hotwords)
    assert expected  # the synthetic models say something for this audio
    assert done.stdout.splitlines()[-1] == expected


def test_a_seed_clients_hotwords_reach_seaco_paraformer(
    tiny_model_dir: Path, second_pass_dirs: tuple[Path, Path]
) -> None:
    """The same parity through ``/ws/asr``: a ``start`` carrying hotwords gets FunASR's text
    for them; one asking ``"refine": false`` gets the draft."""
    from tingxie.engine.handle import EngineHandle
    from tingxie.engine.loader import EngineConfig, load_recognizer
    from tingxie.server.background import BackgroundServer
    from tingxie.server.config import ServerConfig

    from ..server.client import audio as audio_message
    from ..server.client import greeted, recv, run

    offline, punc = second_pass_dirs
    samples = speechlike(22, 4.1)
    hotwords = hotwords_from(offline)
    recognizer = load_recognizer(EngineConfig(
        model=str(tiny_model_dir), refine=str(offline), punc=str(punc), threads=1,
        precision="fp32", allow_download=False))
    server = BackgroundServer(EngineHandle.ready(recognizer), ServerConfig(port=0))
    server.start()

    async def utterance(ws: Any, **options: Any) -> dict[str, Any]:
        await ws.send(json.dumps({"type": "control", "command": "start", **options}))
        assert (await recv(ws))["message"] == "recording started"
        for i in range(0, len(samples), 3200):
            await ws.send(audio_message(samples[i:i + 3200]))
        await ws.send(json.dumps({"type": "control", "command": "stop"}))
        while True:
            message = await recv(ws, 60)
            if message["type"] == "result" and message["mode"] == "final":
                return message

    async def flow() -> list[dict[str, Any]]:
        async with greeted(server.ws_url) as ws:
            return [await utterance(ws, hotwords=hotwords), await utterance(ws, refine=False)]

    try:
        biased, draft = run(flow(), timeout=180)
    finally:
        server.stop()
        recognizer.close()
    assert biased["refined"] and biased["text"] == funasr_text(offline, punc, samples, hotwords)
    assert not draft["refined"] and draft["text"] != biased["text"]
