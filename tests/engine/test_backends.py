"""The backend table: which entry a directory or a name gets, and that each entry reaches
its own hub and runtime. No model, no network: the runtimes and hub libraries are
stand-ins."""

from __future__ import annotations

import sys
import types
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import pytest

import tingxie.engine
from tingxie.engine.backends import (
    BACKENDS,
    FUNASR,
    WHISPER,
    WHISPER_DOWNLOAD_PATTERNS,
    backend_for_dir,
    backend_named,
)
from tingxie.engine.errors import ModelDownloadError, ModelNotFoundError
from tingxie.engine.fake import FakeDecoder
from tingxie.engine.loader import EngineConfig, fetch, load_recognizer
from tingxie.engine.models import ModelLocation, resolve


def files_at(directory: Path, *names: str) -> Callable[[Path], bool]:
    files = {directory / n for n in names}
    return lambda p: p in files or p == directory


D = Path("/data/model")


# --- choosing an entry -------------------------------------------------------------------


def test_a_directory_is_claimed_by_the_backend_whose_files_it_holds() -> None:
    funasr = backend_for_dir(D, files_at(D, "config.yaml", "model.pt", "am.mvn"))
    whisper = backend_for_dir(D, files_at(D, "model.bin", "config.json", "tokenizer.json"))
    assert funasr is not None and funasr.name == FUNASR
    assert whisper is not None and whisper.name == WHISPER


def test_every_entry_claims_a_directory_of_exactly_its_model_files() -> None:
    for backend in BACKENDS:
        claimed = backend_for_dir(D, files_at(D, *backend.model_files))
        assert claimed is backend, backend.name


def test_a_directory_of_no_layout_is_claimed_by_none() -> None:
    assert backend_for_dir(D, files_at(D, "model.bin")) is None
    assert backend_for_dir(D, files_at(D)) is None
    # a FunASR config beside CTranslate2 files, but no FunASR weights: neither
    assert backend_for_dir(D, files_at(D, "model.bin", "config.json", "config.yaml")) is None


def test_the_first_entry_wins_when_two_claim_a_directory() -> None:
    both = files_at(D, "config.yaml", "model.pt", "model.bin", "config.json")
    claimed = backend_for_dir(D, both)
    assert claimed is not None and claimed.name == FUNASR
    funasr, whisper = backend_named(FUNASR), backend_named(WHISPER)
    anything = replace(whisper, name="anything", detect=lambda path, exists: True)
    assert backend_for_dir(D, both, (anything, funasr)) is anything


def test_another_runtime_is_one_more_entry() -> None:
    onnx = replace(
        backend_named(FUNASR),
        name="onnx",
        model_files=("model.onnx",),
        detect=lambda path, exists: exists(path / "model.onnx"),
    )
    table = (*BACKENDS, onnx)
    assert backend_for_dir(D, files_at(D, "model.onnx"), table) is onnx
    assert backend_named("onnx", table) is onnx
    assert backend_for_dir(D, files_at(D, "model.onnx")) is None  # not in the real table


def test_an_unknown_backend_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="funasr, whisper"):
        backend_named("onnx")


def test_entry_names_are_unique() -> None:
    names = [b.name for b in BACKENDS]
    assert len(set(names)) == len(names) and set(names) == {FUNASR, WHISPER}


def test_resolve_names_the_backend_that_claims_the_directory() -> None:
    exists = files_at(D, "model.bin", "config.json")
    loc = resolve(str(D), model_dirs=(), cache_root=Path("/c"), exists=exists)
    assert loc.backend == WHISPER and loc.path == D
    with pytest.raises(ModelNotFoundError) as err:
        resolve(str(D), model_dirs=(), cache_root=Path("/c"), exists=files_at(D))
    for backend in BACKENDS:  # the message lists every layout in the table
        assert ", ".join(backend.model_files) in str(err.value)


# --- each entry reaches its hub ------------------------------------------------------------


def funasr_location(tmp_path: Path) -> ModelLocation:
    return resolve(
        "paraformer-zh-streaming", model_dirs=(), cache_root=tmp_path, exists=files_at(tmp_path)
    )


def whisper_location(tmp_path: Path) -> ModelLocation:
    return resolve(
        "whisper-tiny.en",
        model_dirs=(),
        cache_root=tmp_path,
        exists=files_at(tmp_path),
        hf_cache_root=tmp_path / "hf",
    )


@pytest.fixture
def hubs_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every endpoint counts as reachable (nothing connects: the libraries are fakes)."""
    monkeypatch.setattr("tingxie.engine.download.check_reachable", lambda endpoint: None)


def test_funasr_models_come_from_modelscope(tmp_path: Path, hubs_answer: None) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def modelscope(model_id: str, **kwargs: Any) -> str:
        calls.append((model_id, kwargs))
        kwargs["progress_callbacks"][0]("model.pt", 5).end()
        return str(tmp_path / "ms")

    seen: list[tuple[str, int, int]] = []
    path = backend_named(FUNASR).download(
        funasr_location(tmp_path), None, {}, lambda *a: seen.append(a), snapshot_download=modelscope
    )
    assert path == tmp_path / "ms"
    ((model_id, kwargs),) = calls
    assert model_id.startswith("iic/speech_paraformer") and kwargs["revision"] == "master"
    assert "endpoint" not in kwargs and "allow_patterns" not in kwargs  # the whole repository
    assert seen[-1] == ("model.pt", 5, 5)


def test_whisper_models_come_from_hugging_face_with_faster_whispers_files(
    tmp_path: Path, hubs_answer: None
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def huggingface(repo_id: str, **kwargs: Any) -> str:
        calls.append((repo_id, kwargs))
        return str(tmp_path / "hf-snapshot")

    path = backend_named(WHISPER).download(
        whisper_location(tmp_path), "main", {}, snapshot_download=huggingface
    )
    assert path == tmp_path / "hf-snapshot"
    ((repo_id, kwargs),) = calls
    assert repo_id == "Systran/faster-whisper-tiny.en" and kwargs["revision"] == "main"
    assert kwargs["endpoint"] == "https://huggingface.co"
    assert kwargs["allow_patterns"] == list(WHISPER_DOWNLOAD_PATTERNS)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("model", "variables", "page"),
    [
        (
            "paraformer-zh-streaming",
            {"MODELSCOPE_ENDPOINT": "http://127.0.0.1:9"},
            "modelscope.cn/models/iic/",
        ),
        ("whisper-base", {"HF_ENDPOINT": "http://127.0.0.1:9"}, "huggingface.co/Systran/"),
    ],
)
def test_fetch_offline_explains_through_the_models_backend(
    tmp_path: Path, model: str, variables: dict[str, str], page: str
) -> None:
    env = {
        "MODELSCOPE_CACHE": str(tmp_path / "ms"),
        "HF_HUB_CACHE": str(tmp_path / "hf"),
        **variables,
    }
    with pytest.raises(ModelDownloadError) as err:
        fetch(EngineConfig(model=model), environ=env)
    message = str(err.value)
    assert "cannot reach http://127.0.0.1:9" in message and page in message


def test_fetch_with_downloading_off_explains_without_trying(tmp_path: Path) -> None:
    env = {"MODELSCOPE_CACHE": str(tmp_path), "MODELSCOPE_ENDPOINT": "http://127.0.0.1:9"}
    with pytest.raises(ModelNotFoundError, match="downloading is turned off") as err:
        fetch(EngineConfig(allow_download=False), environ=env)
    assert "To install it by hand" in str(err.value)


# --- each entry reaches its runtime --------------------------------------------------------


def stand_in_runtime(monkeypatch: pytest.MonkeyPatch, module: str) -> list[dict[str, Any]]:
    """Replace ``tingxie.engine.<module>`` by a module whose ``load`` records its arguments
    and returns a ``FakeDecoder`` (so the real runtime is never imported)."""
    calls: list[dict[str, Any]] = []

    def load(path: Path, **kwargs: Any) -> FakeDecoder:
        calls.append(dict(kwargs, path=path))
        return FakeDecoder()

    stand_in = types.ModuleType(f"tingxie.engine.{module}")
    stand_in.load = load  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, f"tingxie.engine.{module}", stand_in)
    monkeypatch.setattr(tingxie.engine, module, stand_in, raising=False)
    return calls


def model_dir(root: Path, *names: str) -> Path:
    root.mkdir()
    for name in names:
        (root / name).write_bytes(b"")
    return root


def test_a_funasr_directory_is_loaded_by_the_funasr_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = stand_in_runtime(monkeypatch, "funasr_backend")
    folder = model_dir(tmp_path / "para", "config.yaml", "model.pt")
    recognizer = load_recognizer(EngineConfig(model=str(folder), device="cpu", threads=2))
    try:
        assert isinstance(recognizer.decoder, FakeDecoder)
    finally:
        recognizer.close()
    assert calls == [
        {"path": folder, "name": "para", "device": "cpu", "threads": 2, "precision": "int8"}
    ]


def test_a_ctranslate2_directory_is_loaded_by_faster_whisper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = stand_in_runtime(monkeypatch, "whisper_backend")
    folder = model_dir(tmp_path / "tiny", "model.bin", "config.json", "tokenizer.json")
    recognizer = load_recognizer(EngineConfig(model=str(folder), language="zh"))
    recognizer.close()
    assert calls == [
        {"path": folder, "name": "tiny", "device": "cpu", "threads": None, "language": "zh"}
    ]
