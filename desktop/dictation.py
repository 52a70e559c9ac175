"""``Dictation``: one utterance at a time on the engine, without widgets or keys.

``press`` opens (or reuses) a session and feeds it the microphone's pre-roll and then every
live block; ``release`` finishes the utterance; its final goes to the ``ResultSink`` (the
fan-out to the transcript, the history…). Who presses is the push-to-talk controller's
business (``tingxie.desktop.push_to_talk``); keeping the microphone usable is the
``MicrophoneSupervisor``'s (``tingxie.desktop.microphone``).

Threads: ``press``/``release``/``tick``/``close`` come from the GUI thread (or the
controller's), audio blocks from the sound card's thread, results from the engine's worker
thread. The result callbacks run on that shared worker, so they only build the result and
hand it off: the sink returns at once, the events are queued signals. Nothing here blocks on
inference (``close`` waits, briefly, for the last final).
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
from tingxie.engine.second_pass import Refinement

from .audio import Block
from .events import AudioStatus, Problem, ProblemKind
from .history import FinalUtterance
from .microphone import MicrophoneSupervisor
from .sinks import ResultSink

__all__ = [
    "AudioStatus",
    "Dictation",
    "DictationConfig",
    "DictationEvents",
    "DictationState",
    "Problem",
    "ProblemKind",
]

log = logging.getLogger(__name__)


class DictationState(enum.Enum):
    IDLE = "idle"
    LISTENING = "listening"  # the key or button is held
    FINISHING = "finishing"  # released; waiting for the final


class UtteranceMonitor(Protocol):
    """Watches each utterance's audio as it is fed (hands-free's voice activity). Calls
    return at once: ``audio`` comes on the sound card's thread."""

    def started(self, number: int) -> None: ...
    def audio(self, number: int, block: Block) -> None: ...
    def ended(self, number: int) -> None: ...


class DictationEvents(Protocol):
    """Where ``Dictation`` reports; called from any thread, must return at once."""

    def state_changed(self, state: DictationState) -> None: ...
    def partial(self, text: str) -> None: ...
    def problem(self, problem: Problem) -> None: ...


@dataclass(frozen=True)
class DictationConfig:
    close_timeout_s: float = 3.0
    """How long ``close`` waits for the final of an utterance in progress."""
    final_timeout_s: float = 30.0
    """A final not there this long after release is given up (shown as a problem; the
    session is replaced), so the window never stays stuck in FINISHING."""
    max_utterance_s: float = 300.0
    """A hold longer than this is cut into utterances of at most this length: the one
    spoken so far is finished (its text delivered) and the next starts at once on the same
    hold, with the audio of the gap (nothing is lost, nothing heard twice)."""


@dataclass
class _Utterance:
    number: int
    pressed_at: float
    context: object = None
    released_at: float | None = None
    done: bool = False
    text: str = field(default="")


class Dictation:
    """Push-to-talk dictation on an ``EngineHandle`` and a ``MicrophoneSupervisor``; a
    ``Talker`` for the push-to-talk controller. ``close`` closes ``sink`` too.

    ``context`` is called at each press; what it returns travels with the utterance to the
    sink as ``FinalUtterance.context`` (the window focused at key-down, for the sink that
    types the text there). An utterance cut by ``max_utterance_s`` keeps its press's.
    ``refinement`` is called at each release: what the user's settings ask of the second
    pass (hotwords, punctuation, ITN on/off); None: the engine's defaults.
    """

    def __init__(
        self,
        handle: EngineHandle,
        microphone: MicrophoneSupervisor,
        events: DictationEvents,
        sink: ResultSink | None = None,
        *,
        config: DictationConfig = DictationConfig(),
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = datetime.now,
        context: Callable[[], object] | None = None,
        monitor: UtteranceMonitor | None = None,
        refinement: Callable[[], Refinement | None] | None = None,
    ) -> None:
        self._handle = handle
        self._refinement = refinement
        self._context = context
        self._monitor = monitor
        self._mic = microphone
        self._events = events
        self._sink = sink
        self._config = config
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.RLock()
        self._session: Session | None = None
        self._session_owner: object = None
        self._listening: _Utterance | None = None
        self._finishing: list[_Utterance] = []
        self._count = 0
        self._state = DictationState.IDLE
        self._closed = False
        self._settled = threading.Condition(self._lock)

    # --- facts ---------------------------------------------------------------------------
    @property
    def state(self) -> DictationState:
        return self._state

    @property
    def listening(self) -> bool:
        """An utterance is being spoken (pressed, not yet released)."""
        return self._listening is not None

    @property
    def microphone(self) -> MicrophoneSupervisor:
        return self._mic

    # --- push to talk --------------------------------------------------------------------
    def press(self) -> bool:
        """Start an utterance. Returns False (and reports why) if it cannot start."""
        with self._lock:
            if self._closed or self._listening is not None:
                return self._listening is not None
            self._mic.note_activity()
            if self._handle.recognizer is None:
                status = self._handle.status
                self._events.problem(Problem(ProblemKind.MODEL_NOT_READY, status.state.value))
                return False
        if not self._mic.ensure_open():
            return False
        context = self._capture_context()
        with self._lock:
            if self._closed or self._listening is not None:
                return self._listening is not None
            return self._begin(context)

    def _capture_context(self) -> object:
        if self._context is None:
            return None
        try:
            return self._context()
        except Exception:  # noqa: BLE001 - no context is better than no dictation
            log.exception("capturing the press's context failed")
            return None

    def _begin(self, context: object) -> bool:
        """Called with the lock held: start an utterance, the pre-roll first."""
        try:
            session = self._current_session()
        except EngineError as exc:
            self._events.problem(Problem(ProblemKind.RECOGNITION_FAILED, str(exc)))
            return False
        self._count += 1
        utt = _Utterance(self._count, self._clock(), context)
        self._listening = utt
        self._set_state(DictationState.LISTENING)
        self._events.partial("")
        if self._monitor is not None:
            self._monitor.started(utt.number)
        preroll = self._mic.listen(
            lambda block: self._on_block(utt, block), lambda: self._on_mic_ended(utt)
        )
        if len(preroll):
            self._feed(utt, preroll, session)
        return True

    def release(self, number: int | None = None) -> None:
        """End the utterance being held (only if it is utterance ``number``, when given: a
        late voice-activity stop must not end the next one); its final arrives later
        through the sink."""
        with self._lock:
            if self._listening is not None and number in (None, self._listening.number):
                self._finish(self._listening)

    def _on_block(self, utt: _Utterance, block: Block) -> bool:
        with self._lock:
            if self._listening is not utt:
                return False
            self._feed(utt, block)
            return True

    def _on_mic_ended(self, utt: _Utterance) -> None:
        with self._lock:
            if self._listening is utt:
                self._finish(utt)

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
        if self._monitor is not None:
            self._monitor.audio(utt.number, block)
        try:
            future = (session or self._current_session()).feed(block)
        except EngineError as exc:
            self._events.problem(Problem(ProblemKind.RECOGNITION_FAILED, str(exc)))
            return
        future.add_done_callback(lambda f: self._on_partial(utt, f))

    def _finish(self, utt: _Utterance) -> None:
        """Called with the lock held: finish ``utt`` and wait for its final off-thread."""
        self._listening = None
        self._mic.unlisten()
        utt.released_at = self._clock()
        if self._monitor is not None:
            self._monitor.ended(utt.number)
        try:
            future = self._current_session().finish(self._options())
        except EngineError as exc:
            utt.done = True
            self._events.problem(Problem(ProblemKind.RECOGNITION_FAILED, str(exc)))
            self._set_state(DictationState.IDLE)
            return
        self._finishing.append(utt)
        self._set_state(DictationState.FINISHING)
        future.add_done_callback(lambda f: self._on_final(utt, f))

    def _options(self) -> Refinement | None:
        """What the user's settings ask of this utterance's second pass (the hotwords as
        they are now: edits apply from the next release on)."""
        if self._refinement is None:
            return None
        try:
            return self._refinement()
        except Exception:  # the settings must never cost the user the utterance
            log.exception("reading the second pass's settings failed; using the defaults")
            return None

    # --- the engine's worker thread ------------------------------------------------------
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
                context=utt.context,
            )
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
                # A hand-off (sinks return at once): the history is written on its own thread.
                if self._sink is not None:
                    self._deliver(self._sink, utterance)
            else:
                self._events.partial("")
            if self._listening is None and not self._finishing:
                self._set_state(DictationState.IDLE)
            self._settled.notify_all()

    def _deliver(self, sink: ResultSink, utterance: FinalUtterance) -> None:
        """A sink that raises (a bare one, not a ``FanOut``) is a problem, not an exception
        out of the engine's callback: that would skip the state change to IDLE and leave
        the window in FINISHING, with no final left to give up."""
        try:
            sink.deliver(utterance)
        except Exception as exc:  # noqa: BLE001 - reported; the dictation goes on
            log.error("result sink %s failed; the text: %s", sink.name, utterance.text)
            self._events.problem(Problem(ProblemKind.DELIVERY_FAILED, f"{sink.name}: {exc}"))

    # --- housekeeping --------------------------------------------------------------------
    def tick(self) -> None:
        """Call about twice a second from the GUI: gives up finals that never come, and lets
        the microphone supervisor retry, release or notice a silent stream."""
        if self._closed:
            return
        self._give_up_overdue_finals(self._clock())
        self._cut_long_utterance(self._clock())
        self._mic.tick()

    def _cut_long_utterance(self, now: float) -> None:
        with self._lock:
            utt = self._listening
            if utt is None or now - utt.pressed_at < self._config.max_utterance_s:
                return
            log.info("utterance %d reached %g s: finished, the next one goes on",
                     utt.number, self._config.max_utterance_s)
            # Both under the lock: the blocks that arrive in between wait in the pre-roll,
            # which the next utterance takes first.
            self._finish(utt)
            self._begin(utt.context)

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
        finals, close the microphone and the session, then the sink (the history is on disk
        when this returns)."""
        with self._lock:
            self._closed = True
            if self._listening is not None:
                self._finish(self._listening)
            # Real time, not the injected clock: this is how long the user waits.
            if not self._settled.wait_for(
                lambda: not self._finishing, self._config.close_timeout_s
            ):
                log.warning("closing with %d final(s) still pending", len(self._finishing))
        self._mic.close()
        if self._session is not None:
            self._session.close()
        if self._sink is not None:
            self._sink.close()

    # --- internals -----------------------------------------------------------------------
    def _set_state(self, state: DictationState) -> None:
        if state != self._state:
            self._state = state
            self._events.state_changed(state)
