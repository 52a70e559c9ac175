"""Counters behind ``/stats``. Updated on the server's event loop, readable from any thread.

The adapter (``tingxie.server.app``) reports what every connection does, whatever its
protocol: connections accepted and refused, audio fed to the engine and audio ignored,
errors sent, and each final with its latency from the client's stop. Nothing is ever reset:
the counts are since the service started.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .protocols.base import PCM_BYTES_PER_SECOND

LATENCY_WINDOW = 1000
"""Release-to-final latencies kept for the percentiles (the most recent ones)."""


def percentile(values: list[float], q: float) -> Optional[float]:
    """The ``q``-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class StatsSnapshot:
    active_connections: int
    total_connections: int
    refused_connections: int
    utterances: int
    audio_seconds: float
    ignored_audio_messages: int
    errors_sent: int
    latency_p50_ms: Optional[float]
    latency_p95_ms: Optional[float]
    real_time_factor: Optional[float]
    uptime_s: float


class ServerStats:
    """What the service has done since it started."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self.active = 0
        self.total = 0
        self.refused = 0
        self.utterances = 0
        self.audio_bytes = 0
        self.ignored_audio = 0
        self.errors = 0
        self._processing_ms = 0.0
        self._processed_audio_ms = 0.0
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def set_active(self, active: int) -> None:
        with self._lock:
            self.active = active

    def connection_accepted(self) -> None:
        with self._lock:
            self.total += 1

    def connection_refused(self) -> None:
        with self._lock:
            self.refused += 1

    def audio_received(self, nbytes: int) -> None:
        with self._lock:
            self.audio_bytes += nbytes

    def audio_ignored(self) -> None:
        with self._lock:
            self.ignored_audio += 1

    def error_sent(self) -> None:
        with self._lock:
            self.errors += 1

    def processed(self, processing_ms: float, audio_ms: float) -> None:
        """One utterance finished: the model's compute time spent on it and its audio
        (their ratio over all utterances is the real-time factor)."""
        with self._lock:
            self._processing_ms += processing_ms
            self._processed_audio_ms += audio_ms

    def final_sent(self, latency_ms: float) -> None:
        """A final went out ``latency_ms`` after the client's ``stop`` arrived."""
        with self._lock:
            self.utterances += 1
            self._latencies.append(latency_ms)

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            latencies = list(self._latencies)
            rtf = (
                self._processing_ms / self._processed_audio_ms
                if self._processed_audio_ms > 0
                else None
            )
            return StatsSnapshot(
                active_connections=self.active,
                total_connections=self.total,
                refused_connections=self.refused,
                utterances=self.utterances,
                audio_seconds=self.audio_bytes / PCM_BYTES_PER_SECOND,
                ignored_audio_messages=self.ignored_audio,
                errors_sent=self.errors,
                latency_p50_ms=percentile(latencies, 50),
                latency_p95_ms=percentile(latencies, 95),
                real_time_factor=rtf,
                uptime_s=self._clock() - self._started,
            )

    def as_json(self) -> dict[str, Any]:
        s = self.snapshot()
        return {
            "connections": {
                "active": s.active_connections,
                "total": s.total_connections,
                "refused": s.refused_connections,
            },
            "utterances": s.utterances,
            "audio_seconds": round(s.audio_seconds, 3),
            "ignored_audio_messages": s.ignored_audio_messages,
            "errors_sent": s.errors_sent,
            "latency_ms": {
                "p50": _round(s.latency_p50_ms),
                "p95": _round(s.latency_p95_ms),
                "count": min(s.utterances, LATENCY_WINDOW),
            },
            "real_time_factor": _round(s.real_time_factor, 4),
            "uptime_s": round(s.uptime_s, 1),
        }


def _round(value: Optional[float], digits: int = 1) -> Optional[float]:
    return None if value is None else round(value, digits)
