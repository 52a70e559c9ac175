"""The embedded service in the window: the real ``tingxie.server.background.BackgroundServer``."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tingxie.desktop.app import default_server_factory
from tingxie.desktop.service import FakeServer, ServiceController, ServiceState, ServiceStatus


def test_controller_reports_start_failure_and_success() -> None:
    seen: list[ServiceStatus] = []
    controller = ServiceController(
        lambda host, port, listener: FakeServer(host, port, listener, fail=OSError("in use")),
        seen.append,
    )
    controller.start("127.0.0.1", 9999).join(5)
    assert [s.state for s in seen] == [ServiceState.STARTING, ServiceState.FAILED]
    assert seen[-1].error == "in use"
    ok = ServiceController(lambda h, p, listener: FakeServer(h, p, listener), seen.append)
    ok.start("127.0.0.1", 9998).join(5)
    assert ok.status == ServiceStatus(ServiceState.RUNNING, "ws://127.0.0.1:9998/ws/asr", 0)
    ok.stop(wait=True)
    assert ok.status.state is ServiceState.OFF


def test_real_server_runs_counts_clients_and_reports_a_busy_port(
    qtbot: Any, make_app: Any, app_settings: Any
) -> None:
    factory = default_server_factory()
    if factory is None:
        pytest.skip("server/ is not importable")
    from websockets.sync.client import connect

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        app_settings.service_port = port
        app = make_app(server_factory=factory)
        w = app.window
        qtbot.waitUntil(lambda: "not running" in w.service_label.text(), timeout=10000)
        assert str(port) in w.service_label.text()  # the reason names the port
    app.window.apply_service_settings()  # the port is free now
    qtbot.waitUntil(lambda: "running at ws://127.0.0.1" in w.service_label.text(), timeout=10000)
    with connect(f"ws://127.0.0.1:{port}/ws/asr", open_timeout=10):
        qtbot.waitUntil(lambda: "1 client(s)" in w.service_label.text(), timeout=5000)
    qtbot.waitUntil(lambda: "0 client(s)" in w.service_label.text(), timeout=5000)
