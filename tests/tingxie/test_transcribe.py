"""``tingxie transcribe``: partials while the file streams, then the refined final alone on
the last line (the real worker and second pass around the engine's fakes: the offline
fake writes ``<letter>`` per 600 ms and ``[hotword]``s, the punctuator a final 。)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from tingxie.engine.fake import (
    FakeDecoder,
    FakePunctuator,
    FakeSegmentDecoder,
    tone,
)
from tingxie.engine.second_pass import Refinement, SecondPass
from tingxie.engine.streaming import StreamingRecognizer
from tingxie.transcribe import transcribe

ROOT = Path(__file__).resolve().parents[2]


def test_the_last_line_is_the_refined_final_after_the_partials(tmp_path: Path) -> None:
    wav = tmp_path / "speech.wav"
    sf.write(wav, tone(0.325, 1.9), 16000, subtype="PCM_16")  # the fake's 六 per chunk
    second = SecondPass(FakeSegmentDecoder(), FakePunctuator(), None,
                        defaults=Refinement(hotwords=("听写",)))
    recognizer = StreamingRecognizer(FakeDecoder(), second_pass=second)
    out, progress = io.StringIO(), io.StringIO()
    try:
        final = transcribe(recognizer, wav, out=out, progress=progress)
    finally:
        recognizer.close()
    assert progress.getvalue().splitlines() == ["… 六", "… 六六", "… 六六六"]  # the draft
    assert out.getvalue() == "<六><六><六><六>[听写]。\n"  # tail included, refined
    assert final.refined and final.text == "<六><六><六><六>[听写]。"


def test_hotwords_without_an_offline_model_stop_transcribe_before_any_work(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tingxie", "transcribe", str(tmp_path / "absent.wav"),
         "--refine", "none", "--hotwords", "听写"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("tingxie: error: --hotwords is set, but only the second "
                                  "pass's offline model takes hotwords"), done.stderr
