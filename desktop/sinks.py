"""Where final results go: the ``ResultSink`` interface, the fan-out to several sinks, and
the history sink that writes ``history.jsonl`` on a thread of its own. No Qt.

``deliver`` is called on the engine's inference worker (a final result's callback), which
every user of the engine shares, server clients included. So a sink only hands the result
off — to a queue, to a queued Qt signal — and returns: disk, GUI and network work happen on
the sink's own thread. The transcript view is a sink too (``EngineBridge.deliver`` emits a
queued signal); text typed into another application will be another.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from typing import Protocol

from .events import Problem, ProblemKind, ProblemListener
from .history import FinalUtterance, History

log = logging.getLogger(__name__)


class ResultSink(Protocol):
    """Receives each final utterance that has text."""

    name: str
    """For logs and problems: "history", "transcript"…"""

    def deliver(self, utterance: FinalUtterance) -> None:
        """Hand ``utterance`` off and return at once (called on the inference thread). An
        exception is reported by the fan-out; it does not stop the other sinks."""
        ...

    def close(self) -> None:
        """Finish what was handed off (may wait for it); ``deliver`` is not called again."""
        ...


class FanOut:
    """A ``ResultSink`` delivering to several, in order. A sink that raises is logged and
    reported as a ``Problem`` (``DELIVERY_FAILED``); the next sinks still get the result."""

    name = "fan-out"

    def __init__(self, sinks: Sequence[ResultSink], on_problem: ProblemListener) -> None:
        self.sinks = list(sinks)
        self._on_problem = on_problem

    def deliver(self, utterance: FinalUtterance) -> None:
        for sink in self.sinks:
            try:
                sink.deliver(utterance)
            except Exception as exc:  # noqa: BLE001 - one broken sink must not cost the others
                log.exception("result sink %s failed", sink.name)
                self._on_problem(Problem(ProblemKind.DELIVERY_FAILED, f"{sink.name}: {exc}"))

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:  # noqa: BLE001 - close the rest; nothing to show at exit
                log.exception("closing result sink %s failed", sink.name)


class HistorySink:
    """A ``ResultSink`` appending to a ``History`` (with its fsync) on its own writer thread.

    ``deliver`` queues the utterance and returns. A failed write is logged (text included)
    and reported as a ``HISTORY_FAILED`` problem. ``then`` are sinks that must not act before
    the text is safe on disk (typing it into another application): they get each utterance
    on the writer thread once its line is written — or could not be, since then they hold
    the only copy. ``close`` writes everything queued before it returns (waiting up to
    ``close_timeout_s``; the lines still unwritten then are logged, text included), then
    closes ``then``. ``deliver`` after ``close`` (a final later than the dictation waited
    for) raises ``OSError``, the line logged, text included.
    """

    name = "history"

    def __init__(
        self,
        history: History,
        on_problem: ProblemListener,
        *,
        then: Sequence[ResultSink] = (),
        close_timeout_s: float | None = 10.0,
    ) -> None:
        self.history = history
        self._on_problem = on_problem
        self._then = FanOut(then, on_problem)
        self._close_timeout_s = close_timeout_s
        self._queue: queue.Queue[FinalUtterance | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._writing: FinalUtterance | None = None  # the line the writer is on
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="tingxie-history", daemon=True)
        self._thread.start()

    def deliver(self, utterance: FinalUtterance) -> None:
        with self._idle:
            if self._closed:
                log.error("history line not written (the history is closed): %s",
                          utterance.to_json())
                raise OSError("the history is closed")
            self._pending += 1
        self._queue.put(utterance)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written (and passed on); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        with self._idle:
            if self._closed:
                return
            self._closed = True
        self._queue.put(None)
        self._thread.join(self._close_timeout_s)
        if self._thread.is_alive():
            # The disk hangs and the process is about to exit: the log keeps the text.
            with self._queue.mutex:
                waiting = [u for u in self._queue.queue if u is not None]
            writing = self._writing
            unwritten = ([writing] if writing is not None else []) + waiting
            log.error(
                "the history is still writing after %s s: %d line(s) may be lost",
                self._close_timeout_s,
                len(unwritten),
            )
            for utterance in unwritten:
                log.error("history line not written: %s", utterance.to_json())
            return
        self._then.close()

    def _run(self) -> None:
        while (utterance := self._queue.get()) is not None:
            self._writing = utterance
            try:
                self.history.append(utterance)
            except Exception as exc:  # noqa: BLE001 - OSError, or a bug: the writer goes on
                log.error("history line not written: %s (%s)", utterance.to_json(), exc)
                self._on_problem(Problem(ProblemKind.HISTORY_FAILED, str(exc)))
            self._writing = None
            self._then.deliver(utterance)
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()


class RecordingSink:
    """A ``ResultSink`` for tests: keeps what it got; ``fail`` makes ``deliver`` raise."""

    def __init__(self, name: str = "recording", fail: Exception | None = None) -> None:
        self.name = name
        self.fail = fail
        self.delivered: list[FinalUtterance] = []
        self.threads: list[str] = []
        self.closed = False
        self.arrived = threading.Event()

    def deliver(self, utterance: FinalUtterance) -> None:
        self.threads.append(threading.current_thread().name)
        if self.fail is not None:
            raise self.fail
        self.delivered.append(utterance)
        self.arrived.set()

    def close(self) -> None:
        self.closed = True
