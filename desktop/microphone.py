"""``MicrophoneSupervisor``: keeps an ``AudioSource`` usable and routes its blocks. No Qt.

It opens the stream, retries a failed one, notices a stream that went silent (a device lost
without an error), releases it after idle time, and keeps the pre-roll. While someone
listens (``listen``) every block goes to them; otherwise blocks fill the pre-roll, which the
next listener gets first, so no block is lost or doubled between the two.

Threads: blocks and stream errors arrive on the sound card's thread; ``start``, ``tick``,
``set_device`` and ``listen`` come from the GUI thread (or the controller's). A listener's
callbacks are called without the supervisor's lock held, so they may take their own locks,
and a caller may hold its own lock while calling ``listen``/``unlisten`` (lock order:
caller → supervisor, never the other way).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .audio import (
    AudioError,
    AudioSource,
    Block,
    InputDevice,
    NoMicrophoneError,
    PreRoll,
    level_of,
)
from .events import AudioStatus, Problem, ProblemKind

Clock = Callable[[], float]

BlockListener = Callable[[Block], bool]
"""Takes a live block; returns False if it no longer wants audio (the block then goes to the
pre-roll, as if nobody were listening)."""

EndListener = Callable[[], None]
"""The stream stopped under the listener (device lost, stalled, switched); it is detached."""


class MicrophoneEvents(Protocol):
    """Where the supervisor reports; called from any thread."""

    def level(self, value: float) -> None: ...

    def audio_changed(self, status: AudioStatus) -> None: ...

    def problem(self, problem: Problem) -> None: ...


@dataclass(frozen=True)
class MicrophoneConfig:
    preroll_s: float = 0.4
    """Audio kept from before the press and prepended to the utterance."""
    idle_release_s: float = 0.0
    """Close the microphone after this long without a press (0: keep it open)."""
    stall_s: float | None = 3.0
    """A running stream silent this long counts as lost (None: never)."""
    retry_s: float = 2.0
    """How often a failed microphone is retried by ``tick``."""


class MicrophoneSupervisor:
    """One microphone, kept open (or released when idle), its blocks routed."""

    def __init__(
        self,
        audio: AudioSource,
        events: MicrophoneEvents,
        *,
        config: MicrophoneConfig = MicrophoneConfig(),
        device: str | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._audio = audio
        self._events = events
        self._config = config
        self._device = device
        self._clock = clock
        self._lock = threading.Lock()
        self._preroll = PreRoll(config.preroll_s)
        self._listener: tuple[BlockListener, EndListener] | None = None
        self._status = AudioStatus(ok=False, device=device or "")
        self._opened_at = 0.0
        self._last_block: float | None = None
        self._last_activity = clock()
        self._last_retry = -1e9
        self._closed = False

    # --- facts ---------------------------------------------------------------------------
    @property
    def status(self) -> AudioStatus:
        return self._status

    @property
    def device(self) -> str | None:
        return self._device

    @property
    def running(self) -> bool:
        return self._audio.running

    def devices(self) -> list[InputDevice]:
        """Input devices available now (raises ``AudioError`` if they cannot be listed)."""
        return self._audio.devices()

    # --- the stream ----------------------------------------------------------------------
    def start(self) -> bool:
        """Open the microphone (again). On failure the problem is reported (once while it
        keeps failing alike) and False returned; ``tick`` retries later."""
        self._last_retry = self._clock()
        try:
            self._audio.start(self._device, self._on_block, self._on_error)
        except AudioError as exc:
            kind = (
                ProblemKind.NO_MICROPHONE
                if isinstance(exc, NoMicrophoneError)
                else ProblemKind.MICROPHONE_FAILED
            )
            before = self._status
            self._set_status(AudioStatus(False, self._device or "", False, str(exc)))
            if before.ok or before.detail != str(exc):  # a retry failing alike stays quiet
                self._events.problem(Problem(kind, str(exc)))
            return False
        with self._lock:
            self._opened_at = self._clock()
            self._last_block = None
            self._last_activity = self._opened_at
        self._set_status(AudioStatus(True, self._device or "", True))
        return True

    def ensure_open(self) -> bool:
        """Open the stream unless it is running (released when idle, or failed)."""
        return self._audio.running or self.start()

    def set_device(self, name: str | None) -> None:
        """Switch microphone (None: the system default); reopens the stream if it was open
        or failing. A listener is ended first (its utterance keeps what it got)."""
        self._device = name
        if not self._closed and (self._audio.running or not self._status.ok):
            self._end_listener()
            self._audio.stop()
            self._preroll.clear()
            self.start()

    def close(self) -> None:
        """Stop the stream for good (``tick`` and ``set_device`` do nothing after)."""
        self._closed = True
        with self._lock:
            self._listener = None
        self._audio.stop()

    # --- listening -----------------------------------------------------------------------
    def listen(self, on_block: BlockListener, on_end: EndListener) -> Block:
        """From now on every block goes to ``on_block`` (replacing any listener); returns the
        pre-roll, the audio from just before, which the caller uses first."""
        with self._lock:
            self._listener = (on_block, on_end)
            self._last_activity = self._clock()
            return self._preroll.take()

    def unlisten(self) -> None:
        """Blocks go back to the pre-roll."""
        with self._lock:
            self._listener = None
            self._last_activity = self._clock()

    def note_activity(self) -> None:
        """The user tried to talk: the idle release counts from now."""
        with self._lock:
            self._last_activity = self._clock()

    # --- housekeeping --------------------------------------------------------------------
    def tick(self) -> None:
        """Call about twice a second: retries a failed microphone, releases an idle one,
        and notices a stream that went silent."""
        if self._closed:
            return
        now = self._clock()
        cfg = self._config
        if not self._status.ok:
            if self._status.detail and now - self._last_retry >= cfg.retry_s:
                self.start()
            return
        if not self._audio.running:
            return
        with self._lock:
            last = self._last_block if self._last_block is not None else self._opened_at
            stalled = cfg.stall_s is not None and now - last > cfg.stall_s
            idle = (
                cfg.idle_release_s > 0
                and self._listener is None
                and now - self._last_activity > cfg.idle_release_s
            )
        if stalled:
            self._audio.stop()
            self._on_error(AudioError("no sound arrives from the microphone"))
        elif idle:
            self._audio.stop()
            self._preroll.clear()
            self._set_status(AudioStatus(True, self._device or "", False))

    # --- the sound card's thread ---------------------------------------------------------
    def _on_block(self, block: Block) -> None:
        self._events.level(level_of(block))
        with self._lock:
            self._last_block = self._clock()
            listener = self._listener
            if listener is None:  # under the lock: ``listen`` takes the pre-roll atomically
                self._preroll.push(block)
                return
        if listener[0](block):
            return
        with self._lock:  # it stopped listening just now; a new listener may have come
            current = self._listener
            if current is None or current is listener:
                self._preroll.push(block)
                return
        current[0](block)

    def _on_error(self, error: AudioError) -> None:
        # The stream is closed later by the retry (``start``).
        self._preroll.clear()
        self._set_status(AudioStatus(False, self._device or "", False, str(error)))
        self._end_listener()  # what was said before the failure still gets its final
        self._events.level(0.0)
        self._events.problem(Problem(ProblemKind.MICROPHONE_FAILED, str(error)))

    # --- internals -----------------------------------------------------------------------
    def _end_listener(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener[1]()

    def _set_status(self, status: AudioStatus) -> None:
        with self._lock:
            changed = status != self._status
            self._status = status
        if changed:
            self._events.audio_changed(status)
