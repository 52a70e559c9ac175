"""The service around the real FunASR code on the tiny synthetic model."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import numpy.typing as npt
import pytest

from tingxie.engine.handle import EngineHandle
from tingxie.server.background import BackgroundServer

from .chromium import CHROMIUM, Chromium
from .client import dictate, run
from .conftest import StartServer

pytestmark = pytest.mark.slow


def noise(seed: int, seconds: float) -> npt.NDArray[np.int16]:
    """Speech-like test audio: band-limited noise with a syllable-rate envelope."""
    rng = np.random.default_rng(seed)
    n = int(16000 * seconds)
    white = rng.standard_normal(n)
    smooth = np.convolve(white, np.ones(4) / 4, mode="same")
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * (2 + seed % 5) * np.arange(n) / 16000)
    return (smooth * envelope * 6000).astype(np.int16)


def decode_alone(recognizer: Any, pcm: npt.NDArray[np.int16]) -> str:
    session = recognizer.open_session()
    try:
        session.feed(pcm).result(60)
        return str(session.finish().result(60).text)
    finally:
        session.close()


@pytest.fixture
def real_server(start_server: StartServer, tiny_recognizer: Any) -> Iterator[BackgroundServer]:
    yield start_server(handle=EngineHandle.ready(tiny_recognizer))


def test_twenty_concurrent_realtime_clients_get_the_final_they_would_get_alone(
    real_server: BackgroundServer, tiny_recognizer: Any
) -> None:
    clips = [noise(seed, 1.5 + 0.25 * (seed % 5)) for seed in range(20)]
    expected = [decode_alone(tiny_recognizer, clip) for clip in clips]
    assert len(set(expected)) > 10 and all(expected)  # distinct, non-empty texts

    async def everyone() -> list[dict[str, Any]]:
        jobs = [dictate(real_server.ws_url, clip, piece_s=0.1, realtime=True, binary=i % 2 == 1)
                for i, clip in enumerate(clips)]
        return [final for _, final in await asyncio.gather(*jobs)]

    finals = run(everyone(), timeout=90)
    assert [f["text"] for f in finals] == expected
    assert all(0.0 < f["confidence"] <= 1.0 for f in finals)
    snapshot = real_server.stats()
    assert snapshot is not None and snapshot.utterances == 20
    assert snapshot.latency_p95_ms is not None and snapshot.latency_p95_ms < 5000


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian chromium")
def test_test_page_shows_the_final_text_of_the_synthetic_model(
    real_server: BackgroundServer, tmp_path: Path
) -> None:
    wav = tmp_path / "speech.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(noise(3, 4.0).tobytes())

    async def flow() -> str:
        async with Chromium(wav) as browser:
            page = await browser.page()
            await page.goto(real_server.url + "/test")
            await page.evaluate("window.tingxie.start()")
            await page.wait_for("window.tingxie.sentSamples >= 32000", 20)
            await page.evaluate("window.tingxie.stop()")
            final = await page.wait_for(
                "window.tingxie.finals.length && document.getElementById('finals').textContent", 20)
            await page.close()
            return str(final)

    final = run(flow(), timeout=90)
    assert final and final != "(nothing recognised)"
