"""Downloading a named model from either hub: progress reaches the caller, an unreachable
hub fails fast with the way to install by hand, every library failure is a
ModelDownloadError. The hub libraries are replaced by fakes: no network."""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tingxie.engine.download import HUGGINGFACE, MODELSCOPE, Hub, check_reachable, download
from tingxie.engine.errors import ModelDownloadError
from tingxie.engine.models import ModelLocation, resolve


@pytest.fixture
def listening_port():  # type: ignore[no-untyped-def]
    """A local TCP port that accepts connections (a reachable 'hub')."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield server.getsockname()[1]
    stop.set()
    t.join()
    server.close()


def location(tmp_path: Path) -> ModelLocation:
    return resolve(
        "paraformer-zh-streaming", model_dirs=(), cache_root=tmp_path, exists=lambda p: False
    )


def whisper_location(tmp_path: Path) -> ModelLocation:
    return resolve(
        "whisper-base",
        model_dirs=(),
        cache_root=tmp_path,
        exists=lambda p: False,
        hf_cache_root=tmp_path / "hf",
    )


def endpoint_variable(hub: Hub) -> str:
    return hub.endpoint_variables[0]


def test_progress_is_reported_per_file(tmp_path: Path, listening_port: int) -> None:
    seen: list[tuple[str, int, int]] = []

    def fake_snapshot_download(model_id: str, revision: str, progress_callbacks: Any) -> str:
        # what modelscope does: one callback instance per file, update() per block, end()
        assert model_id.startswith("iic/") and revision == "master"
        for name, size in (("model.pt", 300), ("config.yaml", 10)):
            cb = progress_callbacks[0](name, size)
            for _ in range(size // 100):
                cb.update(100)
            cb.end()
        return str(tmp_path / "downloaded")

    env = {"MODELSCOPE_ENDPOINT": f"http://127.0.0.1:{listening_port}"}
    path = download(
        location(tmp_path),
        MODELSCOPE,
        None,
        env,
        lambda *a: seen.append(a),
        snapshot_download=fake_snapshot_download,
    )
    assert path == tmp_path / "downloaded"
    assert seen[:4] == [
        ("model.pt", 0, 300),
        ("model.pt", 100, 300),
        ("model.pt", 200, 300),
        ("model.pt", 300, 300),
    ]
    assert seen[-1] == ("config.yaml", 10, 10)


@pytest.mark.parametrize(
    ("hub", "where"), [(MODELSCOPE, location), (HUGGINGFACE, whisper_location)]
)
def test_a_library_failure_becomes_a_download_error_with_the_explanation(
    tmp_path: Path, listening_port: int, hub: Hub, where: Any
) -> None:
    failure = ConnectionError("503 from hub")

    def failing(*args: Any, **kwargs: Any) -> str:
        raise failure

    env = {endpoint_variable(hub): f"http://127.0.0.1:{listening_port}"}
    with pytest.raises(ModelDownloadError, match="503 from hub") as err:
        download(where(tmp_path), hub, None, env, None, snapshot_download=failing)
    assert "To install it by hand" in str(err.value)
    assert err.value.__cause__ is failure


def test_a_failure_without_a_message_still_says_what_failed(
    tmp_path: Path, listening_port: int
) -> None:
    def failing(*args: Any, **kwargs: Any) -> str:
        raise TimeoutError()

    env = {"MODELSCOPE_ENDPOINT": f"http://127.0.0.1:{listening_port}"}
    with pytest.raises(ModelDownloadError, match="TimeoutError"):
        download(location(tmp_path), MODELSCOPE, None, env, None, snapshot_download=failing)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("hub", "where"), [(MODELSCOPE, location), (HUGGINGFACE, whisper_location)]
)
def test_an_unreachable_hub_fails_before_its_library_is_called(
    tmp_path: Path, hub: Hub, where: Any
) -> None:
    called = []
    env = {endpoint_variable(hub): "http://127.0.0.1:9"}
    loc = where(tmp_path)
    with pytest.raises(ModelDownloadError) as err:
        download(loc, hub, None, env, None, snapshot_download=lambda *a, **k: called.append(a))
    assert not called
    message = str(err.value)
    assert "cannot reach http://127.0.0.1:9" in message  # the endpoint tried
    assert "To install it by hand" in message and loc.hub_id in message
    assert "--model DIR" in message


def test_the_modelscope_explanation_says_which_folder_to_fill(tmp_path: Path) -> None:
    env = {"MODELSCOPE_ENDPOINT": "http://127.0.0.1:9"}
    loc = location(tmp_path)
    with pytest.raises(ModelDownloadError) as err:
        download(loc, MODELSCOPE, None, env, None, snapshot_download=lambda *a, **k: "")
    assert loc.download_to is not None and f"into {loc.download_to}," in str(err.value)


def test_a_missing_hub_library_is_named(tmp_path: Path, listening_port: int) -> None:
    def not_installed() -> Any:
        raise ImportError("No module named 'modelscope'")

    hub = replace(MODELSCOPE, snapshot_download=not_installed)
    env = {"MODELSCOPE_ENDPOINT": f"http://127.0.0.1:{listening_port}"}
    with pytest.raises(ModelDownloadError, match="the modelscope package is missing"):
        download(location(tmp_path), hub, None, env)


def test_patterns_and_revision_reach_modelscope(tmp_path: Path, listening_port: int) -> None:
    calls: list[dict[str, Any]] = []

    def fake(model_id: str, **kwargs: Any) -> str:
        calls.append(dict(kwargs, model_id=model_id))
        return str(tmp_path)

    env = {"MODELSCOPE_ENDPOINT": f"http://127.0.0.1:{listening_port}"}
    download(location(tmp_path), MODELSCOPE, "v2.0.4", env, None, snapshot_download=fake)
    download(location(tmp_path), MODELSCOPE, None, env, patterns=["*.pt"], snapshot_download=fake)
    assert calls[0] == {
        "model_id": location(tmp_path).hub_id,
        "revision": "v2.0.4",
        "progress_callbacks": None,
    }
    assert calls[1]["revision"] == "master" and calls[1]["allow_patterns"] == ["*.pt"]


def test_endpoint_follows_modelscope_variables() -> None:
    assert MODELSCOPE.endpoint({}) == "https://www.modelscope.cn"
    assert MODELSCOPE.endpoint({"MODELSCOPE_DOMAIN": "mirror.example"}) == "https://mirror.example"
    assert MODELSCOPE.endpoint({"MODELSCOPE_ENDPOINT": "http://h:1"}) == "http://h:1"
    assert (
        MODELSCOPE.endpoint({"MODELSCOPE_ENDPOINT": "http://a", "MODELSCOPE_DOMAIN": "b"})
        == "http://a"
    )
    assert MODELSCOPE.endpoint({"MODELSCOPE_ENDPOINT": "  "}) == "https://www.modelscope.cn"
    assert check_reachable("http://127.0.0.1:9", timeout=2) is not None


def test_endpoint_follows_hugging_face_variables() -> None:
    assert HUGGINGFACE.endpoint({}) == "https://huggingface.co"
    assert HUGGINGFACE.endpoint({"HF_ENDPOINT": "hf-mirror.com"}) == "https://hf-mirror.com"
    assert HUGGINGFACE.offline_setting({"HF_HUB_OFFLINE": "true"}) == "HF_HUB_OFFLINE"
    assert HUGGINGFACE.offline_setting({"HF_HUB_OFFLINE": "0"}) is None
    assert MODELSCOPE.offline_setting({"HF_HUB_OFFLINE": "1"}) is None


def test_a_reachable_endpoint_is_reachable(listening_port: int) -> None:
    assert check_reachable(f"http://127.0.0.1:{listening_port}") is None
