"""``EngineHandle``: the one place that knows whether the model is loaded yet.

The desktop and the server start before the model is ready (loading takes seconds,
a first download minutes). They hold an ``EngineHandle``, show its ``state``, and
open sessions once it is ``READY``. Listeners are called from the loading thread, one
status at a time, in the order the states happened.

Each ``reload`` (and ``close``) starts a new generation: a load still running for an
older one (a download the user gave up on by choosing a local folder) can neither report
progress nor install its model when it ends; its recognizer is closed instead.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from .errors import EngineError
from .interface import Recognizer

log = logging.getLogger(__name__)


class EngineState(enum.Enum):
    NOT_LOADED = "not_loaded"
    DOWNLOADING = "downloading"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class EngineStatus:
    """A snapshot of the handle, for display. ``detail`` is the failure reason or what is
    being downloaded; ``done``/``total`` are download bytes (total 0 if unknown)."""

    state: EngineState
    model: str
    detail: str = ""
    done: int = 0
    total: int = 0
    load_seconds: float = 0.0


Loader = Callable[[Callable[[str, int, int], None]], Recognizer]
"""Loads the model, reporting download progress ``(what, done, total)``; raises EngineError."""

Listener = Callable[[EngineStatus], None]


class EngineHandle:
    """Holds the recognizer once loaded and tells listeners how loading goes.

    Thread-safe: ``reload`` and ``close`` may be called from any thread while a load runs.
    """

    def __init__(self, model: str, loader: Loader) -> None:
        self._lock = threading.Lock()  # guards the fields below
        self._changed = threading.Condition(self._lock)  # notified on each new status
        # Held while listeners are told one status, so that they hear statuses in order.
        # Re-entrant: a listener may call reload.
        self._telling = threading.RLock()
        self._listeners: list[Listener] = []
        self._loader = loader
        self._recognizer: Optional[Recognizer] = None
        self._status = EngineStatus(EngineState.NOT_LOADED, model)
        self._generation = 0

    @classmethod
    def ready(cls, recognizer: Recognizer) -> "EngineHandle":
        """A handle around an already loaded recognizer."""
        handle = cls(recognizer.info.name, lambda _progress: recognizer)
        handle._recognizer = recognizer
        handle._status = EngineStatus(EngineState.READY, recognizer.info.name)
        return handle

    @property
    def status(self) -> EngineStatus:
        return self._status

    @property
    def recognizer(self) -> Optional[Recognizer]:
        """The recognizer when ``READY``, else None."""
        return self._recognizer

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every later status. An exception it raises is logged and
        does not stop loading or the other listeners."""
        with self._lock:
            self._listeners.append(listener)

    def load(self) -> None:
        """Load the model on the calling thread (blocking); the result is in ``status``:
        ``READY``, or ``FAILED`` with the reason in ``detail`` (an ``EngineError``'s
        message; any other exception's repr). Never raises. Call it once per model:
        ``reload`` loads the next one."""
        with self._lock:
            generation, model, loader = self._generation, self._status.model, self._loader
        self._load(generation, model, loader)

    def load_in_background(self) -> threading.Thread:
        """Start ``load`` on a daemon thread and return it."""
        thread = threading.Thread(target=self.load, name="tingxie-model-load", daemon=True)
        thread.start()
        return thread

    def reload(self, model: str, loader: Loader) -> threading.Thread:
        """Replace the model (e.g. the user picked another one): ``status`` is
        ``NOT_LOADED`` for ``model`` at once; on a new daemon thread, listeners hear so,
        the old recognizer is closed and the new one loaded. Returns that thread."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            old, self._recognizer = self._recognizer, None
            self._loader = loader
            self._status = EngineStatus(EngineState.NOT_LOADED, model)
            self._changed.notify_all()

        def close_then_load() -> None:
            self._set(EngineStatus(EngineState.NOT_LOADED, model), generation)
            if old is not None:  # off the caller's (GUI) thread: close waits for the worker
                old.close()
            self._load(generation, model, loader)

        thread = threading.Thread(target=close_then_load, name="tingxie-model-load", daemon=True)
        thread.start()
        return thread

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until ``READY`` (True), or until the load fails or ``timeout`` passes
        (False)."""
        settled = (EngineState.READY, EngineState.FAILED)
        with self._changed:
            self._changed.wait_for(lambda: self._status.state in settled, timeout)
            return self._status.state is EngineState.READY

    def close(self) -> None:
        """Close the recognizer, and the one a load still running would install."""
        with self._lock:
            self._generation += 1
            recognizer = self._recognizer
        if recognizer is not None:
            recognizer.close()

    def _load(self, generation: int, model: str, loader: Loader) -> None:
        started = time.perf_counter()
        self._set(EngineStatus(EngineState.LOADING, model), generation)

        def progress(what: str, done: int, total: int) -> None:
            self._set(EngineStatus(EngineState.DOWNLOADING, model, what, done, total), generation)

        try:
            recognizer = loader(progress)
        except EngineError as exc:
            log.error("model %s failed to load: %s", model, exc)
            self._set(EngineStatus(EngineState.FAILED, model, str(exc)), generation)
            return
        except Exception as exc:  # a loader bug must still show as a failed state
            log.exception("model %s failed to load", model)
            self._set(EngineStatus(EngineState.FAILED, model, repr(exc)), generation)
            return
        ready = EngineStatus(
            EngineState.READY, recognizer.info.name, load_seconds=time.perf_counter() - started
        )
        if not self._set(ready, generation, recognizer):
            log.info("model %s loaded after it was replaced; closing it", model)
            recognizer.close()

    def _set(
        self, status: EngineStatus, generation: int, recognizer: Optional[Recognizer] = None
    ) -> bool:
        """Make ``status`` (and ``recognizer``, if given) current and tell the listeners,
        unless ``generation`` is no longer current; whether it was."""
        with self._telling:
            with self._lock:
                if generation != self._generation:
                    return False
                if recognizer is not None:
                    self._recognizer = recognizer
                self._status = status
                self._changed.notify_all()
                listeners = list(self._listeners)
            for listener in listeners:
                try:
                    listener(status)
                except Exception:  # a broken listener must not break loading
                    log.exception("engine status listener failed")
            return True
