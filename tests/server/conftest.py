"""Fixtures for the service tests: a real server on 127.0.0.1:0 around a fake engine."""

from __future__ import annotations

from typing import Callable, Iterator, Optional

import pytest

from tingxie.engine.fake import fake_recognizer
from tingxie.engine.handle import EngineHandle
from tingxie.server.background import BackgroundServer
from tingxie.server.config import ServerConfig

StartServer = Callable[..., BackgroundServer]


@pytest.fixture
def fake_handle() -> Iterator[EngineHandle]:
    recognizer = fake_recognizer()
    yield EngineHandle.ready(recognizer)
    recognizer.close()


@pytest.fixture
def start_server(fake_handle: EngineHandle) -> Iterator[StartServer]:
    """``start_server(handle=None, **config)``: a running ``BackgroundServer`` on a free
    port (fake engine unless ``handle`` is given); stopped after the test."""
    servers: list[BackgroundServer] = []

    def start(handle: Optional[EngineHandle] = None, **config: object) -> BackgroundServer:
        config.setdefault("port", 0)
        config.setdefault("shutdown_grace_s", 5.0)
        server = BackgroundServer(handle or fake_handle, ServerConfig(**config))  # type: ignore[arg-type]
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(start_server: StartServer) -> BackgroundServer:
    return start_server()
