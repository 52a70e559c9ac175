"""Whisper model selection, download and backend decisions: pure, no model, no network."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tingxie.engine.backends import backend_named
from tingxie.engine.errors import ModelDownloadError, ModelLoadError, ModelNotFoundError
from tingxie.engine.loader import EngineConfig
from tingxie.engine.models import (
    FUNASR,
    WHISPER,
    WHISPER_NAMES,
    huggingface_cache_root,
    not_found_message,
    resolve,
)
from tingxie.engine.whisper_backend import redecode_due, split_words, whisper_language

CT2 = ("model.bin", "config.json", "tokenizer.json")
FUNASR_FILES = ("config.yaml", "model.pt")


def files_at(*dirs_and_files: tuple[Path, tuple[str, ...]]) -> Callable[[Path], bool]:
    files = {d / f for d, names in dirs_and_files for f in names}
    parents = {p for d, _ in dirs_and_files for p in [d, *d.parents]}
    return lambda p: p in files or p in parents


def lister(mapping: dict[Path, list[Path]]) -> Callable[[Path], list[Path]]:
    return lambda p: mapping.get(p, [])


ROOT = Path(__file__).resolve().parents[2]
HF = Path("/home/u/.cache/huggingface/hub")
MS = Path("/home/u/.cache/modelscope/hub")


def test_a_whisper_name_is_found_in_the_hugging_face_cache() -> None:
    snapshot = HF / "models--Systran--faster-whisper-tiny.en" / "snapshots" / "abc123"
    loc = resolve(
        "whisper-tiny.en",
        model_dirs=(),
        cache_root=MS,
        exists=files_at((snapshot, CT2)),
        hf_cache_root=HF,
        list_dir=lister({snapshot.parent: [snapshot]}),
    )
    assert loc.path == snapshot and loc.backend == WHISPER
    assert loc.hub_id == "Systran/faster-whisper-tiny.en"


def test_an_incomplete_snapshot_is_not_a_model() -> None:
    snapshot = HF / "models--Systran--faster-whisper-base" / "snapshots" / "abc"
    loc = resolve(
        "whisper-base",
        model_dirs=(),
        cache_root=MS,
        exists=files_at((snapshot, ("config.json",))),  # model.bin still downloading
        hf_cache_root=HF,
        list_dir=lister({snapshot.parent: [snapshot]}),
    )
    assert loc.path is None and loc.backend == WHISPER


def test_tingxie_model_dirs_come_before_the_hugging_face_cache() -> None:
    own = Path("/app/models")
    snapshot = HF / "models--Systran--faster-whisper-small" / "snapshots" / "x"
    loc = resolve(
        "whisper-small",
        model_dirs=(own,),
        cache_root=MS,
        exists=files_at((snapshot, CT2), (own / "whisper-small", CT2)),
        hf_cache_root=HF,
        list_dir=lister({snapshot.parent: [snapshot]}),
    )
    assert loc.path == own / "whisper-small"


def test_a_missing_whisper_model_is_explained_with_its_hugging_face_page() -> None:
    loc = resolve(
        "whisper-base",
        model_dirs=(Path("/m"),),
        cache_root=MS,
        exists=files_at(),
        hf_cache_root=HF,
    )
    assert loc.path is None and loc.backend == WHISPER
    assert loc.download_to == HF / "models--Systran--faster-whisper-base"
    message = not_found_message(loc, "offline")
    assert "https://huggingface.co/Systran/faster-whisper-base" in message
    assert "/m/whisper-base" in message and "--model DIR" in message
    assert "modelscope" not in message.lower()


def test_the_hugging_face_id_of_a_whisper_model_is_a_whisper_name() -> None:
    loc = resolve("Systran/faster-whisper-tiny", model_dirs=(), cache_root=MS, exists=files_at())
    assert loc.backend == WHISPER and loc.spec == "whisper-tiny"


def test_a_directory_is_loaded_by_the_backend_its_files_belong_to() -> None:
    ct2, funasr = Path("/data/ct2"), Path("/data/paraformer")
    exists = files_at((ct2, CT2), (funasr, FUNASR_FILES))
    assert resolve(str(ct2), model_dirs=(), cache_root=MS, exists=exists).backend == WHISPER
    assert resolve(str(funasr), model_dirs=(), cache_root=MS, exists=exists).backend == FUNASR


def test_a_directory_with_both_layouts_is_funasr() -> None:
    d = Path("/data/both")
    loc = resolve(str(d), model_dirs=(), cache_root=MS, exists=files_at((d, CT2 + FUNASR_FILES)))
    assert loc.backend == FUNASR


def test_a_directory_of_neither_layout_names_both() -> None:
    d = Path("/data/half")
    with pytest.raises(ModelNotFoundError, match="model.bin, config.json"):
        resolve(str(d), model_dirs=(), cache_root=MS, exists=files_at((d, ("model.bin",))))


def test_unknown_names_list_the_whisper_names_too() -> None:
    with pytest.raises(ModelNotFoundError, match="whisper-tiny.en"):
        resolve("whisper-huge", model_dirs=(), cache_root=MS, exists=files_at())


def test_every_whisper_name_maps_to_a_ctranslate2_repository() -> None:
    assert {"whisper-tiny", "whisper-tiny.en", "whisper-base", "whisper-small"} <= set(
        WHISPER_NAMES
    )
    assert all(repo.count("/") == 1 for repo in WHISPER_NAMES.values())


def test_the_hugging_face_cache_follows_huggingface_hub_settings() -> None:
    home = Path("/home/u")
    assert huggingface_cache_root({}, home) == home / ".cache/huggingface/hub"
    assert huggingface_cache_root({"HF_HOME": "/hf"}, home) == Path("/hf/hub")
    assert huggingface_cache_root({"HF_HUB_CACHE": "/c", "HF_HOME": "/hf"}, home) == Path("/c")
    assert huggingface_cache_root({"XDG_CACHE_HOME": "/x"}, home) == Path("/x/huggingface/hub")


def test_the_engine_config_language_defaults_to_auto() -> None:
    assert EngineConfig().language == "auto"


# --- backend decisions -------------------------------------------------------------------


def test_languages_map_to_faster_whisper() -> None:
    assert whisper_language("auto", multilingual=True) is None
    assert whisper_language("zh", multilingual=True) == "zh"
    assert whisper_language("en", multilingual=True) == "en"
    assert whisper_language("auto", multilingual=False) == "en"  # .en models
    with pytest.raises(ModelLoadError, match="English-only"):
        whisper_language("zh", multilingual=False)
    with pytest.raises(ModelLoadError, match="unknown language"):
        whisper_language("fr", multilingual=True)


def test_a_partial_waits_for_a_chunk_of_new_audio() -> None:
    assert not redecode_due(0.9, 0.0, 1.0, call_audio_s=0.9, call_interval_s=None)
    assert redecode_due(1.0, 0.0, 1.0, call_audio_s=1.0, call_interval_s=None)
    assert redecode_due(1.0, 0.2, 1.0, call_audio_s=1.0, call_interval_s=1.0)


def test_a_slow_decoder_decodes_partials_less_often() -> None:
    # Each decode took 2.5 s: a partial every second would fall further behind each time.
    assert not redecode_due(1.0, 2.5, 1.0, call_audio_s=1.0, call_interval_s=2.5)
    assert not redecode_due(2.0, 2.5, 1.0, call_audio_s=1.0, call_interval_s=0.9)
    assert redecode_due(3.0, 2.5, 1.0, call_audio_s=1.0, call_interval_s=1.0)


def test_audio_faster_than_real_time_skips_partials() -> None:
    # A second of audio 0.2 s after the previous call: queued audio, or a file.
    assert not redecode_due(5.0, 0.8, 1.0, call_audio_s=1.0, call_interval_s=0.2)
    # ... but a little jitter is speech at its pace
    assert redecode_due(1.0, 0.8, 1.0, call_audio_s=1.0, call_interval_s=0.95)


def test_words_join_back_into_the_segment_text() -> None:
    assert split_words(" Please send it.") == [" Please", " send", " it."]
    assert "".join(split_words(" a  b ")) == " a  b"
    assert split_words("今天天气很好。") == ["今天天气很好。"]


# --- download ----------------------------------------------------------------------------


def whisper_location():  # type: ignore[no-untyped-def]
    return resolve(
        "whisper-base", model_dirs=(), cache_root=MS, exists=files_at(), hf_cache_root=HF
    )


download = backend_named(WHISPER).download


@pytest.mark.timeout(30)
def test_an_unreachable_hub_fails_in_seconds_with_the_explanation() -> None:
    def never(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("must not download")

    with pytest.raises(ModelDownloadError, match="huggingface.co/Systran/faster-whisper-base"):
        download(
            whisper_location(), None, {"HF_ENDPOINT": "http://127.0.0.1:9"}, snapshot_download=never
        )


def test_hf_hub_offline_fails_without_trying() -> None:
    def never(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("must not download")

    with pytest.raises(ModelDownloadError, match="HF_HUB_OFFLINE"):
        download(whisper_location(), None, {"HF_HUB_OFFLINE": "1"}, snapshot_download=never)


def test_download_reports_byte_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tingxie.engine.download.check_reachable", lambda endpoint: None)
    seen: list[tuple[str, int, int]] = []
    calls: dict[str, Any] = {}

    def fake_snapshot_download(repo_id: str, **kwargs: Any) -> str:
        calls.update(kwargs, repo_id=repo_id)
        files = kwargs["tqdm_class"](total=10, desc="files")  # counts files: not reported
        files.update(1)
        bar = kwargs["tqdm_class"](total=3_000, unit="B", desc="Downloading bytes")
        bar.update(1_000)
        bar.update(2_000)
        return str(tmp_path)

    path = download(
        whisper_location(),
        None,
        {"HF_ENDPOINT": "https://hf.example"},
        lambda what, done, total: seen.append((what, done, total)),
        snapshot_download=fake_snapshot_download,
    )
    assert path == tmp_path
    assert calls["repo_id"] == "Systran/faster-whisper-base"
    assert calls["endpoint"] == "https://hf.example" and "model.bin" in calls["allow_patterns"]
    assert seen == [("whisper-base", 1_000, 3_000), ("whisper-base", 3_000, 3_000)]


def test_importing_the_whisper_backend_loads_no_model_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, engine.whisper_backend, engine.loader\n"
        "heavy = {'faster_whisper', 'ctranslate2', 'huggingface_hub', 'torch', 'funasr'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert run.stdout.strip() == "[]"


# --- the decoder around a stand-in for faster_whisper.WhisperModel ------------------------


class Segment:
    def __init__(self, text: str, avg_logprob: float) -> None:
        self.text, self.avg_logprob = text, avg_logprob


class StandInWhisper:
    """Answers like ``WhisperModel.transcribe``: one segment per second of audio, and takes
    ``cost`` seconds of the test's clock per decode."""

    def __init__(self, clock: list[float], cost: float = 0.0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.clock, self.cost = clock, cost

    def transcribe(self, audio: Any, **options: Any) -> tuple[Any, None]:
        self.calls.append(dict(options, seconds=len(audio) / 16000))
        self.clock[0] += self.cost
        n = len(audio) // 16000
        return iter([Segment(f" word{i} more{i}", -0.1 * (i + 1)) for i in range(n)]), None


def stand_in_recognizer(language: str | None, cost: float = 0.0):  # type: ignore[no-untyped-def]
    from tingxie.engine.interface import ModelInfo
    from tingxie.engine.streaming import StreamingRecognizer
    from tingxie.engine.whisper_backend import WhisperDecoder

    clock = [0.0]
    model = StandInWhisper(clock, cost)
    info = ModelInfo(name="stand-in", backend="whisper", path="/x", streaming=False)
    decoder = WhisperDecoder(model, info, language=language, clock=lambda: clock[0])
    return StreamingRecognizer(decoder, clock=lambda: clock[0]), model, clock


def test_partials_are_greedy_and_the_final_searches_wider() -> None:
    import math

    import numpy as np

    recognizer, model, clock = stand_in_recognizer("zh")
    session = recognizer.open_session()
    for _ in range(2):  # two seconds at speaking pace
        for _ in range(10):
            session.feed(np.zeros(1600, dtype=np.int16)).result()
            clock[0] += 0.1
    final = session.finish().result()
    recognizer.close()
    partials, last = model.calls[:-1], model.calls[-1]
    assert [c["seconds"] for c in partials] == [1.0, 2.0]
    assert all(c["beam_size"] == 1 and c["temperature"] == 0.0 for c in partials)
    assert last["beam_size"] == 5 and "temperature" not in last
    assert all(c["language"] == "zh" and "简体" in c["initial_prompt"] for c in model.calls)
    assert final.text == "word0 more0 word1 more1"
    assert final.confidence == pytest.approx((math.exp(-0.1) + math.exp(-0.2)) / 2)


def test_a_file_read_at_once_decodes_one_partial_and_the_final() -> None:
    import numpy as np

    recognizer, model, _ = stand_in_recognizer("en", cost=0.8)
    session = recognizer.open_session()
    audio = np.zeros(10 * 16000, dtype=np.int16)
    for i in range(0, len(audio), 1600):
        session.feed(audio[i : i + 1600])
    final = session.finish().result()
    recognizer.close()
    assert [c["seconds"] for c in model.calls] == [1.0, 10.0]
    assert final.is_final and final.text.startswith("word0")


def test_too_little_audio_is_not_decoded() -> None:
    import numpy as np

    recognizer, model, _ = stand_in_recognizer(None)
    session = recognizer.open_session()
    session.feed(np.zeros(1600, dtype=np.int16))
    final = session.finish().result()
    recognizer.close()
    assert model.calls == [] and final.text == "" and final.confidence == 0.0
    # auto: faster-whisper detects the language, and gets no Chinese prompt
    recognizer, model, _ = stand_in_recognizer(None)
    session = recognizer.open_session()
    session.feed(np.zeros(16000, dtype=np.int16))
    session.finish().result()
    recognizer.close()
    assert model.calls[-1]["language"] is None and model.calls[-1]["initial_prompt"] is None


def test_the_language_option_reaches_the_engine_config() -> None:
    from tingxie.config import parse

    assert parse(["transcribe", "a.wav"], {}).engine.language == "auto"
    assert parse(["transcribe", "a.wav", "--language", "zh"], {}).engine.language == "zh"
    assert parse([], {"ASR_LANGUAGE": "en"}).engine.language == "en"
    with pytest.raises(SystemExit):
        parse(["--language", "fr"], {})
