from pathlib import Path

import pytest

from tingxie.engine.errors import ModelNotFoundError
from tingxie.engine.models import FUNASR_NAMES, modelscope_cache_root, not_found_message, resolve

ONLINE = FUNASR_NAMES["paraformer-zh-streaming"]


def model_at(*dirs: Path):  # type: ignore[no-untyped-def]
    files = {d / f for d in dirs for f in ("config.yaml", "model.pt")}
    parents = {p for d in dirs for p in [d, *d.parents]}
    return lambda p: p in files or p in parents


def test_a_known_name_is_found_in_the_modelscope_cache() -> None:
    cache = Path("/home/u/.cache/modelscope/hub")
    where = cache / "models" / ONLINE
    loc = resolve("paraformer-zh-streaming", model_dirs=(), cache_root=cache, exists=model_at(where))
    assert loc.path == where and loc.hub_id == ONLINE


def test_the_old_cache_layout_is_found_too() -> None:
    cache = Path("/c")
    loc = resolve(ONLINE, model_dirs=(), cache_root=cache, exists=model_at(cache / ONLINE))
    assert loc.path == cache / ONLINE


def test_tingxie_model_dirs_come_before_the_cache() -> None:
    cache, own = Path("/c"), Path("/app/models")
    exists = model_at(cache / "models" / ONLINE, own / "paraformer-zh-streaming")
    loc = resolve("paraformer-zh-streaming", model_dirs=(own,), cache_root=cache, exists=exists)
    assert loc.path == own / "paraformer-zh-streaming"


def test_a_missing_named_model_is_to_be_downloaded_into_the_cache() -> None:
    loc = resolve("paraformer-zh-streaming", model_dirs=(), cache_root=Path("/c"), exists=model_at())
    assert loc.path is None
    assert loc.download_to == Path("/c/models") / ONLINE
    message = not_found_message(loc, "offline")
    assert ONLINE in message and "/c/models/" + ONLINE in message and "--model DIR" in message


def test_a_missing_directory_never_becomes_a_download() -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve("./my-model", model_dirs=(), cache_root=Path("/c"), exists=model_at())
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve("/opt/models/x/y", model_dirs=(), cache_root=Path("/c"), exists=model_at())


def test_a_directory_without_model_files_is_explained() -> None:
    d = Path("/data/empty")
    with pytest.raises(ModelNotFoundError, match="not a model directory"):
        resolve(str(d), model_dirs=(), cache_root=Path("/c"), exists=lambda p: p == d)


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ModelNotFoundError, match="paraformer-zh-streaming"):
        resolve("parafromer", model_dirs=(), cache_root=Path("/c"), exists=model_at())


def test_modelscope_cache_env_wins() -> None:
    assert modelscope_cache_root({"MODELSCOPE_CACHE": "/x"}, Path("/h")) == Path("/x")
    assert modelscope_cache_root({}, Path("/h")) == Path("/h/.cache/modelscope/hub")
