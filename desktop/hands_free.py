"""Hands-free dictation: in ``TalkMode.HANDS_FREE`` a press starts an utterance and voice
activity ends it — after ``silence_s`` without speech once speech was heard, or when
nothing was said at all for ``start_timeout_s``. No Qt.

``HandsFree`` is ``Dictation``'s ``UtteranceMonitor``: it gets the utterance's audio as it is
fed (on the sound card's thread, so it only queues it) and runs the voice-activity model on
a thread of its own; the model is loaded there on first use. When the endpoint comes it
calls ``stop(number)`` (``Dictation.release``), once, for the utterance it was listening
to, which ends it only if it is still the one being spoken.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from tingxie.engine.vad import Endpoint, EndpointConfig, Endpointer, SpeechProbability

from .audio import Block
from .events import Problem, ProblemKind, ProblemListener

log = logging.getLogger(__name__)

_Item = tuple[str, int, Block | None]


class HandsFree:
    """``enabled()`` is asked at each utterance's start (the talk mode then)."""

    def __init__(
        self,
        stop: Callable[[int], None],
        make_model: Callable[[], SpeechProbability],
        on_problem: ProblemListener,
        *,
        enabled: Callable[[], bool],
        config: Callable[[], EndpointConfig] = EndpointConfig,
    ) -> None:
        self._stop = stop
        self._make_model = make_model
        self._on_problem = on_problem
        self._enabled = enabled
        self._config = config
        self._model: SpeechProbability | None = None
        self._failed = False
        self._watching: int | None = None  # the utterance number being watched
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="tingxie-hands-free",
                                        daemon=True)
        self._thread.start()

    # --- UtteranceMonitor ----------------------------------------------------------------
    def started(self, number: int) -> None:
        if not self._enabled():
            return
        with self._lock:
            self._watching = number
        self._queue.put(("start", number, None))

    def audio(self, number: int, block: Block) -> None:
        if self._watching == number:
            self._queue.put(("audio", number, block))

    def ended(self, number: int) -> None:
        with self._lock:
            if self._watching == number:
                self._watching = None

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5.0)

    # --- the model's thread --------------------------------------------------------------
    def _run(self) -> None:
        endpointer: Endpointer | None = None
        number = -1
        while (item := self._queue.get()) is not None:
            kind, n, block = item
            if kind == "start":
                model = self._load()
                endpointer = Endpointer(model, self._config()) if model is not None else None
                number = n
                continue
            if endpointer is None or n != number or block is None:
                continue
            try:
                endpoint = endpointer.feed(block)
            except Exception as exc:  # noqa: BLE001 - the user stops by key instead
                log.exception("voice activity failed")
                self._on_problem(Problem(ProblemKind.RECOGNITION_FAILED,
                                         f"voice activity: {exc}"))
                endpointer = None
                continue
            if endpoint is not None:
                endpointer = None
                with self._lock:
                    current = self._watching == number
                    if current:
                        self._watching = None
                if current:
                    log.info("hands-free: %s", "speech ended" if endpoint is
                             Endpoint.SPEECH_ENDED else "no speech heard")
                    self._stop(number)

    def _load(self) -> SpeechProbability | None:
        if self._model is None and not self._failed:
            try:
                self._model = self._make_model()
            except Exception as exc:  # noqa: BLE001 - ImportError, a broken file
                self._failed = True
                log.exception("the voice-activity model could not be loaded")
                self._on_problem(Problem(ProblemKind.RECOGNITION_FAILED,
                                         f"hands-free needs voice activity: {exc}"))
        return self._model
