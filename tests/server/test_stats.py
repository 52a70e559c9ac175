"""The counters behind /stats, on their own: percentiles, the latency window, the
real-time factor."""

from __future__ import annotations

import pytest

from tingxie.server.protocols.base import PCM_BYTES_PER_SECOND
from tingxie.server.stats import LATENCY_WINDOW, ServerStats, percentile


def test_percentiles_interpolate_between_neighbours() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([float(v) for v in range(101)], 95) == 95.0
    assert percentile([1.0, 2.0], 95) == pytest.approx(1.95)


def test_a_fresh_service_reports_nothing_measured_yet() -> None:
    s = ServerStats(clock=lambda: 10.0).snapshot()
    assert (s.utterances, s.latency_p50_ms, s.latency_p95_ms, s.real_time_factor) == (0, None, None, None)
    assert s.uptime_s == 0.0


def test_counts_audio_latency_and_real_time_factor() -> None:
    now = [100.0]
    stats = ServerStats(clock=lambda: now[0])
    stats.connection_accepted()
    stats.connection_accepted()
    stats.connection_refused()
    stats.set_active(1)
    stats.audio_received(PCM_BYTES_PER_SECOND * 3)
    stats.audio_ignored()
    stats.error_sent()
    stats.processed(processing_ms=300.0, audio_ms=3000.0)
    stats.processed(processing_ms=100.0, audio_ms=2000.0)
    for latency in (100.0, 200.0, 300.0):
        stats.final_sent(latency)
    now[0] = 160.0
    s = stats.snapshot()
    assert (s.active_connections, s.total_connections, s.refused_connections) == (1, 2, 1)
    assert (s.utterances, s.ignored_audio_messages, s.errors_sent) == (3, 1, 1)
    assert s.audio_seconds == 3.0
    assert (s.latency_p50_ms, s.latency_p95_ms) == (200.0, pytest.approx(290.0))
    assert s.real_time_factor == pytest.approx(400 / 5000)
    assert s.uptime_s == 60.0
    body = stats.as_json()
    assert body["latency_ms"] == {"p50": 200.0, "p95": 290.0, "count": 3}
    assert body["connections"] == {"active": 1, "total": 2, "refused": 1}
    assert body["real_time_factor"] == 0.08


def test_percentiles_cover_the_most_recent_window_while_the_count_keeps_growing() -> None:
    stats = ServerStats()
    for _ in range(LATENCY_WINDOW):
        stats.final_sent(1000.0)
    for _ in range(LATENCY_WINDOW):
        stats.final_sent(10.0)  # the old, slow ones have left the window
    s = stats.snapshot()
    assert s.utterances == 2 * LATENCY_WINDOW
    assert (s.latency_p50_ms, s.latency_p95_ms) == (10.0, 10.0)
    assert stats.as_json()["latency_ms"]["count"] == LATENCY_WINDOW

