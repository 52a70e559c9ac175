"""The service on its own thread, as the desktop app runs it."""

from __future__ import annotations

import socket
import threading

import pytest

from tingxie.engine.handle import EngineHandle
from tingxie.server.background import BackgroundServer
from tingxie.server.config import ServerConfig
from tingxie.server.errors import ServerError

from .client import greeted, run


def test_busy_port_is_a_clear_error(fake_handle: EngineHandle) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = BackgroundServer(fake_handle, ServerConfig(port=port))
        with pytest.raises(ServerError, match=f"port {port} is already in use"):
            server.start()
        assert not server.running
        server.stop()  # harmless


def test_unknown_host_is_a_clear_error(fake_handle: EngineHandle) -> None:
    server = BackgroundServer(fake_handle, ServerConfig(host="203.0.113.7", port=0))
    with pytest.raises(ServerError, match="203.0.113.7"):
        server.start()


def test_listener_url_and_restart(fake_handle: EngineHandle) -> None:
    counts: list[int] = []
    changed = threading.Event()

    def on_connections(n: int) -> None:
        counts.append(n)
        changed.set()

    server = BackgroundServer(fake_handle, ServerConfig(port=0), on_connections=on_connections)
    server.start()
    try:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.ws_url == f"ws://127.0.0.1:{server.port}/ws/asr"
        with pytest.raises(ServerError, match="already running"):
            server.start()

        async def one_client() -> None:
            async with greeted(server.ws_url):
                assert server.active_connections == 1

        run(one_client())
        for _ in range(100):
            if counts[-1:] == [0]:
                break
            changed.clear()
            changed.wait(0.05)
        assert counts == [1, 0]
    finally:
        server.stop()
    assert not server.running
    server.stop()
    server.start()  # may start again
    try:
        run(one_client())
    finally:
        server.stop()
