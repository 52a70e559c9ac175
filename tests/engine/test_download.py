"""Downloading a named model: progress reaches the caller; an unreachable hub fails fast."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from tingxie.engine.download import check_reachable, download, hub_endpoint
from tingxie.engine.errors import ModelDownloadError
from tingxie.engine.models import resolve


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


def location(tmp_path: Path):  # type: ignore[no-untyped-def]
    return resolve(
        "paraformer-zh-streaming", model_dirs=(), cache_root=tmp_path, exists=lambda p: False
    )


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
        location(tmp_path), None, env, lambda *a: seen.append(a), fake_snapshot_download
    )
    assert path == tmp_path / "downloaded"
    assert seen[:4] == [("model.pt", 0, 300), ("model.pt", 100, 300), ("model.pt", 200, 300),
                        ("model.pt", 300, 300)]
    assert seen[-1] == ("config.yaml", 10, 10)


def test_a_hub_failure_is_explained(tmp_path: Path, listening_port: int) -> None:
    def failing(*args: Any, **kwargs: Any) -> str:
        raise ConnectionError("503 from hub")

    env = {"MODELSCOPE_ENDPOINT": f"http://127.0.0.1:{listening_port}"}
    with pytest.raises(ModelDownloadError, match="503 from hub") as err:
        download(location(tmp_path), None, env, None, failing)
    assert "To install it by hand" in str(err.value)


@pytest.mark.timeout(30)
def test_an_unreachable_hub_fails_before_modelscope_is_called(tmp_path: Path) -> None:
    called = []
    env = {"MODELSCOPE_ENDPOINT": "http://127.0.0.1:9"}
    with pytest.raises(ModelDownloadError, match="cannot reach"):
        download(location(tmp_path), None, env, None, lambda *a, **k: called.append(a) or "")
    assert not called


def test_endpoint_follows_modelscope_variables() -> None:
    assert hub_endpoint({}) == "https://www.modelscope.cn"
    assert hub_endpoint({"MODELSCOPE_DOMAIN": "mirror.example"}) == "https://mirror.example"
    assert hub_endpoint({"MODELSCOPE_ENDPOINT": "http://h:1"}) == "http://h:1"
    assert check_reachable("http://127.0.0.1:9", timeout=2) is not None
