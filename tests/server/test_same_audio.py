"""Same audio, same text: a client's final (text and confidence) over ``/ws/asr`` does not
depend on how many others are speaking, at the default precision and on every thread."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator

import pytest

from tingxie.engine.handle import EngineHandle
from tingxie.engine.loader import EngineConfig, load_recognizer
from tingxie.engine.precision import DEFAULT_PRECISION, choose_precision
from tingxie.engine.synthetic import speechlike
from tingxie.server.background import BackgroundServer

from .client import dictate, run
from .conftest import StartServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_recognizer(tiny_model_dir: Path) -> Iterator[Any]:
    """The tiny model as the app loads it: default precision, two threads (the worker
    switches between one thread alone and two for several)."""
    recognizer = load_recognizer(EngineConfig(model=str(tiny_model_dir), threads=2))
    yield recognizer
    recognizer.close()


@pytest.fixture
def default_server(start_server: StartServer, default_recognizer: Any) -> BackgroundServer:
    return start_server(handle=EngineHandle.ready(default_recognizer))


def test_a_final_is_the_same_alone_and_among_twenty(
    default_server: BackgroundServer, default_recognizer: Any
) -> None:
    assert default_recognizer.info.precision == choose_precision(DEFAULT_PRECISION, "cpu")
    mine = speechlike(7, 2.5)
    others = [speechlike(100 + i, 1.0 + 0.2 * (i % 8)) for i in range(19)]

    async def alone() -> dict[str, Any]:
        return (await dictate(default_server.ws_url, mine, piece_s=0.1, realtime=True))[1]

    async def among_others() -> dict[str, Any]:
        jobs = [dictate(default_server.ws_url, clip, piece_s=0.1, realtime=True,
                        binary=i % 2 == 1) for i, clip in enumerate([mine, *others])]
        return (await asyncio.gather(*jobs))[0][1]

    first = run(alone(), timeout=60)
    assert first["text"]
    crowded = run(among_others(), timeout=120)
    again = run(alone(), timeout=60)
    for final in (crowded, again):
        assert (final["text"], final["confidence"]) == (first["text"], first["confidence"])
    snapshot = default_server.stats()
    assert snapshot is not None and snapshot.utterances == 22


def test_twenty_clients_sending_the_same_audio_all_get_the_final_of_one_alone(
    default_server: BackgroundServer,
) -> None:
    clip = speechlike(8, 2.0)

    async def alone() -> dict[str, Any]:
        return (await dictate(default_server.ws_url, clip, piece_s=0.1, realtime=True))[1]

    async def late(delay_s: float, binary: bool) -> dict[str, Any]:
        await asyncio.sleep(delay_s)  # starts spread over a chunk: batches of every mix
        return (await dictate(default_server.ws_url, clip, piece_s=0.1, realtime=True,
                              binary=binary))[1]

    async def twenty() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(late(0.05 * i, i % 2 == 1) for i in range(20))))

    first = run(alone(), timeout=60)
    assert first["text"]
    finals = run(twenty(), timeout=120)
    assert {(f["text"], f["confidence"]) for f in finals} == {(first["text"], first["confidence"])}
