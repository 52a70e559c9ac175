"""``Dictation``: the push-to-talk controller, without widgets.

Press opens (or reuses) a session and feeds it the pre-roll and then every live block;
release finishes the utterance; its final goes to the history and to the listener.

Threads: ``press``/``release``/``tick``/``close`` come from the GUI thread, audio blocks
and audio errors from the sound card's thread, results from the engine's worker thread.
Nothing here blocks on inference (``close`` waits, briefly, for the last final). Every
event goes to ``DictationEvents``, which the Qt bridge turns into queued signals.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tingxie.engine.errors import EngineClosedError, EngineError
from tingxie.engine.handle import EngineHandle
from tingxie.engine.interface import Result, Session

from .audio import (
    AudioError,
    AudioSource,
    Block,
    InputDevice,
    NoMicrophoneError,
    PreRoll,
    level_of,
)
from .history import FinalUtterance, History

log = logging.getLogger(__name__)


class DictationState(enum.Enum):
    IDLE = "idle"
    LISTENING = "listening"  # the key or button is held
    FINISHING = "finishing"  # released; waiting for the final


class ProblemKind(enum.Enum):
    NO_MICROPHONE = "no_microphone"
    MICROPHONE_FAILED = "microphone_failed"  # could not open, or lost while running
    MODEL_NOT_READY = "model_not_ready"
    RECOGNITION_FAILED = "recognition_failed"
    HISTORY_FAILED = "history_failed"


@dataclass(frozen=True)
class Problem:
    """Something the user should see; ``detail`` is the technical reason."""

    kind: ProblemKind
    detail: str = ""


@dataclass(frozen=True)
class AudioStatus:
    """The microphone as the window shows it."""

    ok: bool
    device: str = ""
    open: bool = False  # the stream is open (False also when released after idle time)
    detail: str = ""


class DictationEvents(Protocol):
    """Where ``Dictation`` reports; called from any thread."""

    def state_changed(self, state: DictationState) -> None: ...
    def partial(self, text: str) -> None: ...
    def final(self, utterance: FinalUtterance) -> None: ...
    def problem(self, problem: Problem) -> None: ...
    def level(self, value: float) -> None: ...
    def audio_changed(self, status: AudioStatus) -> None: ...


@dataclass(frozen=True)
class DictationConfig:
    preroll_s: float = 0.4
    """Audio kept from before the press and prepended to the utterance."""
    idle_release_s: float = 0.0
    """Close the microphone after this long without a press (0: keep it open)."""
    stall_s: float | None = 3.0
    """A running stream silent this long counts as lost (None: never)."""
    retry_s: float = 2.0
    """How often a failed microphone is retried by ``tick``."""
    close_timeout_s: float = 3.0
    """How long ``close`` waits for the final of an utterance in progress."""
    final_timeout_s: float = 30.0
    """A final not there this long after release is given up (shown as a problem; the
    session is replaced), so the window never stays stuck in FINISHING."""


@dataclass
class _Utterance:
    number: int
    pressed_at: float
    released_at: float | None = None
    done: bool = False
    text: str = field(default="")


class Dictation:
    """Push-to-talk dictation on an ``EngineHandle`` and an ``AudioSource``."""

    def __init__(
        self,
        handle: EngineHandle,
        audio: AudioSource,
        events: DictationEvents,
        history: History | None = None,
        *,
        config: DictationConfig = DictationConfig(),
        device: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self._handle = handle
        self._audio = audio
        self._events = events
        self._history = history
        self._config = config
        self._device = device
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.RLock()
        self._preroll = PreRoll(config.preroll_s)
        self._session: Session | None = None
        self._session_owner: object = None
        self._listening: _Utterance | None = None
        self._finishing: list[_Utterance] = []
        self._count = 0
        self._state = DictationState.IDLE
        self._audio_status = AudioStatus(ok=False, device=device or "")
        self._opened_at = 0.0
        self._last_block: float | None = None
        self._last_activity = clock()
        self._last_retry = -1e9
        self._closed = False
        self._settled = threading.Condition(self._lock)

    # --- facts ---------------------------------------------------------------------------
    @property
    def state(self) -> DictationState:
        return self._state

    @property
    def audio_status(self) -> AudioStatus:
        return self._audio_status

    @property
    def device(self) -> str | None:
        return self._device

    # --- the microphone ------------------------------------------------------------------
    def devices(self) -> list[InputDevice]:
        """Input devices available now (raises ``AudioError`` if they cannot be listed)."""
        return self._audio.devices()

    def start_audio(self) -> bool:
        """Open the microphone (again). On failure the problem is reported and False returned;
        ``tick`` retries later."""
        self._last_retry = self._clock()
        try:
            self._audio.start(self._device, self._on_block, self._on_audio_error)
        except AudioError as exc:
            kind = (
                ProblemKind.NO_MICROPHONE
                if isinstance(exc, NoMicrophoneError)
                else ProblemKind.MICROPHONE_FAILED
            )
            before = self._audio_status
            self._set_audio(AudioStatus(False, self._device or "", False, str(exc)))
            if before.ok or before.detail != str(exc):  # a retry failing alike stays quiet
                self._events.problem(Problem(kind, str(exc)))
            return False
        with self._lock:
            self._opened_at = self._clock()
            self._last_block = None
            self._last_activity = self._opened_at
        self._set_audio(AudioStatus(True, self._device or "", True))
        return True

    def set_device(self, name: str | None) -> None:
        """Switch microphone (None: the system default); reopens the stream if it was open."""
        self._device = name
        if not self._closed and (self._audio.running or not self._audio_status.ok):
            with self._lock:
                listening = self._listening
            if listening is not None:
                self.release()
            self._audio.stop()
            self._preroll.clear()
            self.start_audio()

    def _on_block(self, block: Block) -> None:
        self._events.level(level_of(block))
        with self._lock:
            self._last_block = self._clock()
            if self._listening is None:
                self._preroll.push(block)
                return
            self._feed(self._listening, block)

    def _on_audio_error(self, error: AudioError) -> None:
        # Called on the audio thread: the stream is closed later by the retry (``start``).
        with self._lock:
            self._preroll.clear()
            self._set_audio(AudioStatus(False, self._device or "", False, str(error)))
            # What was said before the failure still gets its final.
            if self._listening is not None:
                self._finish(self._listening)
        self._events.level(0.0)
        self._events.problem(Problem(ProblemKind.MICROPHONE_FAILED, str(error)))

    # --- push to talk --------------------------------------------------------------------
    def press(self) -> bool:
        """Start an utterance. Returns False (and reports why) if it cannot start."""
        with self._lock:
            if self._closed or self._listening is not None:
                return self._listening is not None
            self._last_activity = self._clock()
            if self._handle.recognizer is None:
                status = self._handle.status
                self._events.problem(Problem(ProblemKind.MODEL_NOT_READY, status.state.value))
                return False
        if not self._audio.running and not self.start_audio():
            return False
        with self._lock:
            try:
                session = self._current_session()
            except EngineError as exc:
                self._events.problem(Problem(ProblemKind.RECOGNITION_FAILED, str(exc)))
                return False
            self._count += 1
            utt = _Utterance(self._count, self._clock())
            self._listening = utt
            self._set_state(DictationState.LISTENING)
            self._events.partial("")
            preroll = self._preroll.take()
            if len(preroll):
                self._feed(utt, preroll, session)
            return True

    def release(self) -> None:
        """End the utterance being held; its final arrives later through ``events.final``."""
        with self._lock:
            if self._listening is not None:
                self._last_activity = self._clock()
                self._finish(self._listening)

    def _current_session(self) -> Session:
        recognizer = self._handle.recognizer
        if recognizer is None:
            raise EngineClosedError("the model is not loaded")
        if self._session is None or self._session_owner is not recognizer:
            if self._session is not None:
                self._session.close()
            self._session = recognizer.open_session()
            self._session_owner = recognizer
        return self._session

    def _feed(self, utt: _Utterance, block: Block, session: Session | None = None) -> None:
        try:
            future = (session or self._current_session()).feed(block)
        except EngineError as exc:
            self._events.problem(Problem(ProblemKind.RECOGNITION_FAILED, str(exc)))
            return
        future.add_done_callback(lambda f: self._on_partial(utt, f))

    def _finish(self, utt: _Utterance) -> None:
        """Called with the lock held: finish ``utt`` and wait for its final off-thread."""
        self._listening = None
        utt.released_at = self._clock()
        try:
            future = self._current_session().finish()
        except EngineError as exc:
            utt.done = True
            self._events.problem(Problem(ProblemKind.RECOGNITION_FAILED, str(exc)))
            self._set_state(DictationState.IDLE)
            return
        self._finishing.append(utt)
        self._set_state(DictationState.FINISHING)
        future.add_done_callback(lambda f: self._on_final(utt, f))

    def _on_partial(self, utt: _Utterance, future: Future[Result]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        with self._lock:
            if utt.done:
                return
            if exc is not None:
                self._events.problem(Problem(ProblemKind.RECOGNITION_FAILED, str(exc)))
                return
            text = future.result().text
            if text != utt.text:
                utt.text = text
                self._events.partial(text)

    def _on_final(self, utt: _Utterance, future: Future[Result]) -> None:
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - RecognitionError / EngineClosedError: shown, not fatal
            result = None
            problem = Problem(ProblemKind.RECOGNITION_FAILED, str(exc))
        now = self._clock()
        utterance: FinalUtterance | None = None
        if result is not None and result.text.strip():
            assert utt.released_at is not None
            utterance = FinalUtterance(
                time=self._wall_clock().astimezone().isoformat(timespec="milliseconds"),
                text=result.text,
                duration=round(utt.released_at - utt.pressed_at, 3),
                audio=round(result.audio_ms / 1000.0, 3),
                latency=round((now - utt.released_at) * 1000.0, 1),
                rtf=round(result.compute_ms / result.audio_ms, 3) if result.audio_ms else 0.0,
            )
            if self._history is not None:
                try:
                    self._history.append(utterance)
                except OSError as exc:
                    self._events.problem(Problem(ProblemKind.HISTORY_FAILED, str(exc)))
        with self._lock:
            given_up = utt.done and utt not in self._finishing
            utt.done = True
            if utt in self._finishing:
                self._finishing.remove(utt)
            if given_up and result is None:
                return
            if result is None:
                self._events.problem(problem)
            elif utterance is not None:
                self._events.final(utterance)
            else:
                self._events.partial("")
            if self._listening is None and not self._finishing:
                self._set_state(DictationState.IDLE)
            self._settled.notify_all()

    # --- housekeeping --------------------------------------------------------------------
    def tick(self) -> None:
        """Call about twice a second from the GUI: retries a failed microphone, releases an
        idle one, notices a stream that went silent (a device lost without an error) and
        gives up finals that never come."""
        if self._closed:
            return
        now = self._clock()
        cfg = self._config
        self._give_up_overdue_finals(now)
        if not self._audio_status.ok:
            if self._audio_status.detail and now - self._last_retry >= cfg.retry_s:
                self.start_audio()
            return
        if not self._audio.running:
            return
        with self._lock:
            last = self._last_block if self._last_block is not None else self._opened_at
            stalled = cfg.stall_s is not None and now - last > cfg.stall_s
            idle = (
                cfg.idle_release_s > 0
                and self._listening is None
                and now - self._last_activity > cfg.idle_release_s
            )
        if stalled:
            self._audio.stop()
            self._on_audio_error(AudioError("no sound arrives from the microphone"))
        elif idle:
            self._audio.stop()
            self._preroll.clear()
            self._set_audio(AudioStatus(True, self._device or "", False))

    def _give_up_overdue_finals(self, now: float) -> None:
        with self._lock:
            overdue = [
                u
                for u in self._finishing
                if u.released_at is not None
                and now - u.released_at > self._config.final_timeout_s
            ]
            if not overdue:
                return
            for utt in overdue:
                utt.done = True
                self._finishing.remove(utt)
            # The engine lost track of this session: start the next utterance on a new one —
            # but never under an utterance being spoken right now (its audio is on it).
            if self._session is not None and self._listening is None:
                self._session.close()
                self._session = None
            self._events.problem(
                Problem(
                    ProblemKind.RECOGNITION_FAILED,
                    f"no result from the engine {self._config.final_timeout_s:g} s after release",
                )
            )
            if self._listening is None:
                self._set_state(DictationState.IDLE)
            self._settled.notify_all()

    def close(self) -> None:
        """Stop: finish an utterance in progress, wait up to ``close_timeout_s`` for pending
        finals (they are written to the history), then close the microphone and session."""
        with self._lock:
            self._closed = True
            if self._listening is not None:
                self._finish(self._listening)
            # Real time, not the injected clock: this is how long the user waits.
            if not self._settled.wait_for(
                lambda: not self._finishing, self._config.close_timeout_s
            ):
                log.warning("closing with %d final(s) still pending", len(self._finishing))
        self._audio.stop()
        if self._session is not None:
            self._session.close()

    # --- internals -----------------------------------------------------------------------
    def _set_state(self, state: DictationState) -> None:
        if state != self._state:
            self._state = state
            self._events.state_changed(state)

    def _set_audio(self, status: AudioStatus) -> None:
        if status != self._audio_status:
            self._audio_status = status
            self._events.audio_changed(status)
