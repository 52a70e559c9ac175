"""``EngineBridge``: the one object carrying engine, dictation, microphone and service events
and the transcript's results to the widgets as Qt signals.

Its methods are called from any thread (the sound card's, the engine worker's, the model
loader's, the service starter's); the signals are delivered to widgets through queued
connections, so slots always run on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from tingxie.engine.handle import EngineHandle, EngineStatus

from .dictation import DictationState
from .events import AudioStatus, Problem
from .history import FinalUtterance
from .service import ServiceStatus


class EngineBridge(QObject):
    """Implements ``DictationEvents``, ``MicrophoneEvents`` and ``InsertEvents``; is the
    transcript's ``ResultSink`` (a queued signal: the worker thread only posts it); also
    forwards engine status and service status."""

    name = "transcript"

    dictation_state = Signal(object)  # DictationState
    partial_text = Signal(str)
    final_text = Signal(object)  # FinalUtterance
    problem_raised = Signal(object)  # Problem
    level_changed = Signal(float)
    audio_status = Signal(object)  # AudioStatus
    engine_status = Signal(object)  # EngineStatus
    service_status = Signal(object)  # ServiceStatus
    text_inserted = Signal(str)  # a final went into another application

    # --- DictationEvents, MicrophoneEvents ----------------------------------------------
    def state_changed(self, state: DictationState) -> None:
        self.dictation_state.emit(state)

    def partial(self, text: str) -> None:
        self.partial_text.emit(text)

    def problem(self, problem: Problem) -> None:
        self.problem_raised.emit(problem)

    def level(self, value: float) -> None:
        self.level_changed.emit(value)

    def audio_changed(self, status: AudioStatus) -> None:
        self.audio_status.emit(status)

    # --- ResultSink (the transcript view) ------------------------------------------------
    def deliver(self, utterance: FinalUtterance) -> None:
        self.final_text.emit(utterance)

    def close(self) -> None:
        """Nothing to finish: what was emitted is in the GUI thread's queue."""

    # --- InsertEvents (the insertion sink's thread) ----------------------------------------
    def inserted(self, text: str, result: object) -> None:
        self.text_inserted.emit(text)

    # --- engine and service --------------------------------------------------------------
    def watch(self, handle: EngineHandle) -> None:
        """Forward the handle's status changes (called on its loading thread)."""
        handle.subscribe(self.engine_changed)

    def engine_changed(self, status: EngineStatus) -> None:
        self.engine_status.emit(status)

    def service_changed(self, status: ServiceStatus) -> None:
        self.service_status.emit(status)
