"""The ``/test`` page in headless Chromium with a fake microphone playing a WAV."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import pytest

from tingxie.engine.fake import tone
from tingxie.server.background import BackgroundServer

from .chromium import CHROMIUM, Chromium
from .client import run

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian chromium")


def write_wav(path: Path, samples: "object", rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())  # type: ignore[attr-defined]
    return path


@pytest.mark.parametrize("mode", ["binary", "base64", "resampled"])
def test_page_records_the_microphone_and_shows_partial_and_final_text(
    server: BackgroundServer, tmp_path: Path, mode: str
) -> None:
    # The fake decoder writes one "六" per 600 ms chunk of this tone.
    wav = write_wav(tmp_path / "speech.wav", tone(0.325, 6.0))

    async def flow() -> None:
        async with Chromium(wav) as browser:
            page = await browser.page()
            await page.goto(server.url + "/test" + ("?rate=48000" if mode == "resampled" else ""))
            if mode == "base64":
                await page.evaluate("document.getElementById('base64').checked = true")
            await page.evaluate("window.tingxie.start()")
            partial = await page.wait_for(
                "document.getElementById('partial').textContent.length >= 2 && "
                "document.getElementById('partial').textContent", 20)
            assert set(partial) == {"六"}
            await page.evaluate("window.tingxie.stop()")
            final = await page.wait_for(
                "window.tingxie.finals.length && document.getElementById('finals').textContent", 10)
            sent = await page.evaluate("window.tingxie.sentSamples")
            rate = await page.evaluate("window.tingxie.contextRate")
            errors = await page.evaluate("window.tingxie.errors")
            await page.close()
            assert errors == []
            assert rate == (48000 if mode == "resampled" else 16000)
            # The whole recording, chunk by chunk, shown as the final text.
            assert final == "六" * math.ceil(sent / 9600), (final, sent)
            assert len(final) >= 2

    run(flow(), timeout=90)
    snapshot = server.stats()
    assert snapshot is not None and snapshot.utterances == 1
