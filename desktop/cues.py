"""Sound cues: a short rising tone when listening starts, a falling one when it stops.

``Cues.start``/``Cues.stop`` return at once: the tone (made once, ``tone``) is handed to a
``Player`` on Tingxie's cue thread, so opening the sound card never holds up the GUI or the
key. A player that fails (no sound card, no output device) is logged once, then ignored:
cues are a nicety, never a reason for dictation to stop. ``follow`` plays them from the
bridge's ``dictation_state`` signal: start on entering LISTENING, stop on leaving it.

``SoundDevicePlayer`` plays through sounddevice's ``play`` (its own output stream; the
microphone's input stream is not touched). PySide6-Essentials has no QtMultimedia, hence
sounddevice. ``wav_bytes`` gives the same tone as a WAV file, for players that want one.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
import wave
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .dictation import DictationState

if TYPE_CHECKING:
    from .bridge import EngineBridge

log = logging.getLogger(__name__)

RATE = 44_100


def tone(
    start_hz: float,
    end_hz: float,
    *,
    ms: float = 80.0,
    rate: int = RATE,
    volume: float = 0.25,
    fade_ms: float = 10.0,
) -> np.ndarray:
    """A mono int16 sine gliding from ``start_hz`` to ``end_hz`` over ``ms``, faded in and
    out over ``fade_ms`` (a raised-cosine ramp, so it starts and ends at zero: no click)."""
    n = max(1, int(rate * ms / 1000.0))
    freq = np.linspace(start_hz, end_hz, n)
    # The phase is the running integral of the frequency (a glide, not a chirp artefact).
    phase = 2.0 * np.pi * np.cumsum(freq) / rate
    sine = np.sin(phase - phase[0])
    ramp = min(n // 2, max(1, int(rate * fade_ms / 1000.0)))
    envelope = np.ones(n)
    edge = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, ramp))
    envelope[:ramp] = edge
    envelope[n - ramp:] = edge[::-1]
    return np.round(sine * envelope * volume * 32767).astype(np.int16)


def wav_bytes(samples: np.ndarray, rate: int = RATE) -> bytes:
    """``samples`` (mono int16) as a 16-bit PCM WAV file."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return buf.getvalue()


START_TONE = (880.0, 1320.0)  # rising: "go"
STOP_TONE = (660.0, 440.0)  # falling: "done"


class Player(Protocol):
    """Plays mono int16 ``samples`` at ``rate``; may block (it runs on the cue thread);
    raises on failure."""

    def play(self, samples: np.ndarray, rate: int) -> None: ...


class SoundDevicePlayer:
    """``sounddevice.play`` on the default output (imported on first use: a machine
    without PortAudio raises then, and the cue is skipped)."""

    def __init__(self, device: Any = None) -> None:
        self._device = device

    def play(self, samples: np.ndarray, rate: int) -> None:
        import sounddevice as sd

        sd.play(samples, rate, device=self._device, blocking=False)


class Cues:
    """The start and stop cues. ``enabled`` can be changed at any time (the setting);
    ``close`` ends the cue thread (pending cues are dropped)."""

    def __init__(
        self,
        player: Player | None = None,
        *,
        enabled: bool = True,
        rate: int = RATE,
        ms: float = 80.0,
    ) -> None:
        self.enabled = enabled
        self.rate = rate
        self.player: Player = player if player is not None else SoundDevicePlayer()
        self.start_samples = tone(*START_TONE, ms=ms, rate=rate)
        self.stop_samples = tone(*STOP_TONE, ms=ms, rate=rate)
        self._queue: queue.SimpleQueue[np.ndarray | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._failed = False
        self._closed = False
        self._listening = False
        self.played = 0  # cues the player took without raising
        self._pending = 0
        self.idle = threading.Event()  # set while nothing is queued or playing
        self.idle.set()

    @property
    def failed(self) -> bool:
        """The player has failed at least once (logged once)."""
        return self._failed

    def start(self) -> None:
        self._post(self.start_samples)

    def stop(self) -> None:
        self._post(self.stop_samples)

    def follow(self, bridge: EngineBridge) -> None:
        """Play on the bridge's state changes (queued: slots run on the GUI thread)."""
        bridge.dictation_state.connect(self.state_changed)

    def state_changed(self, state: DictationState) -> None:
        listening = state is DictationState.LISTENING
        if listening and not self._listening:
            self.start()
        elif self._listening and not listening:
            self.stop()
        self._listening = listening

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(2.0)

    # --- internals -------------------------------------------------------------------
    def _post(self, samples: np.ndarray) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self._closed:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tingxie-cues", daemon=True)
                self._thread.start()
            self._pending += 1
            self.idle.clear()
            self._queue.put(samples)

    def _run(self) -> None:
        while True:
            samples = self._queue.get()
            if samples is None:
                return
            try:
                self.player.play(samples, self.rate)
                self.played += 1
            except Exception as exc:  # noqa: BLE001 - no sound card: dictation goes on silently
                if not self._failed:
                    log.warning("sound cues cannot be played (%s); going on without them", exc)
                else:
                    log.debug("sound cue failed again: %s", exc)
                self._failed = True
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self.idle.set()
