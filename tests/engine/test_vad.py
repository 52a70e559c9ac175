"""Where speech ends: the endpointer's rules on a fake model, and Silero's real weights on
spoken Chinese (espeak-ng) followed by silence."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tingxie.engine.fake import tone
from tingxie.engine.interface import SAMPLE_RATE
from tingxie.engine.vad import Endpoint, EndpointConfig, Endpointer, FakeSpeechProbability


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16)


def feed_in_blocks(ep: Endpointer, audio: np.ndarray, block: int = 1600) -> float | None:
    """Feed ``audio`` in blocks; the time (s) at which the endpoint came, None if never."""
    for start in range(0, len(audio), block):
        if ep.feed(audio[start:start + block]) is not None:
            return (start + block) / SAMPLE_RATE
    return None


def test_speech_then_silence_ends_after_the_silence_and_not_before() -> None:
    ep = Endpointer(FakeSpeechProbability(), EndpointConfig(silence_s=1.0))
    audio = np.concatenate([silence(0.5), tone(0.3, 1.0), silence(0.6), tone(0.3, 0.5),
                            silence(2.0)])
    at = feed_in_blocks(ep, audio)
    assert ep.ended is Endpoint.SPEECH_ENDED and ep.heard_speech
    assert at == pytest.approx(2.6 + 1.0, abs=0.11)  # a pause of 0.6 s did not end it
    assert ep.feed(tone(0.3, 1.0)) is Endpoint.SPEECH_ENDED  # stays ended


def test_no_speech_at_all_ends_at_the_start_timeout() -> None:
    ep = Endpointer(FakeSpeechProbability(), EndpointConfig(start_timeout_s=2.0))
    assert feed_in_blocks(ep, silence(5.0)) == pytest.approx(2.0, abs=0.11)
    assert ep.ended is Endpoint.NO_SPEECH and not ep.heard_speech


def test_odd_block_sizes_lose_no_samples() -> None:
    model = FakeSpeechProbability()
    ep = Endpointer(model, EndpointConfig(start_timeout_s=100))
    feed_in_blocks(ep, silence(1.0), block=333)
    assert model.frames == SAMPLE_RATE // 512  # every whole frame of the second


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("missing espeak-ng/sox: run scripts/system-packages.sh")
    out = tmp_path_factory.mktemp("vad")
    raw, wav = out / "raw.wav", out / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "cmn", "-s", "150", "-w", str(raw),
                    "今天天气很好，我们去公园散步吧"], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav)], check=True)
    audio, rate = sf.read(Path(wav), dtype="int16")
    assert rate == SAMPLE_RATE
    return audio


def test_silero_hears_spoken_chinese_and_the_silence_after_it(spoken: np.ndarray) -> None:
    from tingxie.engine.silero_vad import SileroVad

    vad = SileroVad()
    ep = Endpointer(vad, EndpointConfig(silence_s=1.0))
    speech_s = len(spoken) / SAMPLE_RATE
    at = feed_in_blocks(ep, np.concatenate([silence(0.3), spoken, silence(3.0)]))
    assert ep.heard_speech and ep.ended is Endpoint.SPEECH_ENDED
    # after the speech (its own trailing quiet counts toward the second), never inside it
    assert 0.3 + speech_s < at <= 0.3 + speech_s + 1.0 + 0.2, (at, speech_s)
    ep = Endpointer(vad, EndpointConfig(start_timeout_s=1.5))  # reset between utterances
    assert feed_in_blocks(ep, silence(3.0)) is not None and ep.ended is Endpoint.NO_SPEECH
