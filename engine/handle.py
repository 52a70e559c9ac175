"""``EngineHandle``: the one place that knows whether the model is loaded yet.

The desktop and the server start before the model is ready (loading takes seconds,
a first download minutes). They hold an ``EngineHandle``, show its ``state``, and
open sessions once it is ``READY``. Listeners are called from the loading thread.
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
    """Holds the recognizer once loaded and tells listeners how loading goes."""

    def __init__(self, model: str, loader: Loader) -> None:
        self._loader = loader
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._recognizer: Optional[Recognizer] = None
        self._status = EngineStatus(EngineState.NOT_LOADED, model)
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()

    @classmethod
    def ready(cls, recognizer: Recognizer) -> "EngineHandle":
        """A handle around an already loaded recognizer."""
        handle = cls(recognizer.info.name, lambda _progress: recognizer)
        handle._recognizer = recognizer
        handle._status = EngineStatus(EngineState.READY, recognizer.info.name)
        handle._ready.set()
        return handle

    @property
    def status(self) -> EngineStatus:
        return self._status

    @property
    def recognizer(self) -> Optional[Recognizer]:
        """The recognizer when ``READY``, else None."""
        return self._recognizer

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def load(self) -> None:
        """Load on the calling thread (blocking); the result is in ``status``."""
        started = time.perf_counter()
        self._set(EngineStatus(EngineState.LOADING, self._status.model))

        def progress(what: str, done: int, total: int) -> None:
            self._set(EngineStatus(EngineState.DOWNLOADING, self._status.model, what, done, total))

        try:
            recognizer = self._loader(progress)
        except EngineError as exc:
            log.error("model %s failed to load: %s", self._status.model, exc)
            self._set(EngineStatus(EngineState.FAILED, self._status.model, str(exc)))
            return
        except Exception as exc:  # a loader bug must still show as a failed state
            log.exception("model %s failed to load", self._status.model)
            self._set(EngineStatus(EngineState.FAILED, self._status.model, repr(exc)))
            return
        self._recognizer = recognizer
        self._set(
            EngineStatus(
                EngineState.READY,
                recognizer.info.name,
                load_seconds=time.perf_counter() - started,
            )
        )
        self._ready.set()

    def load_in_background(self) -> threading.Thread:
        """Start ``load`` on a daemon thread and return it."""
        self._thread = threading.Thread(target=self.load, name="tingxie-model-load", daemon=True)
        self._thread.start()
        return self._thread

    def reload(self, model: str, loader: Loader) -> threading.Thread:
        """Replace the model (e.g. the user picked another one): close the old recognizer,
        load the new one in the background."""
        old = self._recognizer
        self._recognizer = None
        self._ready.clear()
        self._loader = loader
        self._status = EngineStatus(EngineState.NOT_LOADED, model)

        def close_then_load() -> None:
            if old is not None:  # off the caller's (GUI) thread: close waits for the worker
                old.close()
            self.load()

        self._thread = threading.Thread(
            target=close_then_load, name="tingxie-model-load", daemon=True
        )
        self._thread.start()
        return self._thread

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until READY (True) or the timeout passes (False)."""
        return self._ready.wait(timeout)

    def close(self) -> None:
        if self._recognizer is not None:
            self._recognizer.close()

    def _set(self, status: EngineStatus) -> None:
        self._status = status
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(status)
            except Exception:  # a broken listener must not break loading
                log.exception("engine status listener failed")
