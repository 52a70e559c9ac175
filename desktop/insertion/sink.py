"""The result sink that puts each final into the application the user was working in, and
"paste last result". No Qt.

``InsertSink`` sits behind the history (``HistorySink(then=[...])``): it gets an utterance
only once its line is on disk, so a failed insertion never loses the text. Each utterance's
``context`` is the ``Target`` focused at key-down (``Dictation``'s press context):

- a Target of Tingxie itself (its window had the focus: Space, the hold button) gets
  nothing typed — the transcript already shows it;
- a Target that no longer has the focus gets nothing typed (``FocusMoved``): the user is
  told, and "paste last" puts the text where the focus is now;
- no Target (the platform cannot tell, Wayland): the text goes wherever the focus is;
- ``UNKNOWN`` (the platform could have told but the question failed): nothing is typed,
  as for a focus change;
- ``OWN`` (the press came from Tingxie's window, where the platform cannot tell, Wayland):
  nothing is typed.

While a hold key is still down the sink waits, however long: typing under a held Ctrl would
be shortcuts, and releasing the user's keys for them would end the hold (a key whose
release was lost is ended by its source's own check).
Insertion runs on the sink's own thread, one utterance at a time, in order.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..events import Problem, ProblemKind, ProblemListener
from ..history import FinalUtterance
from .base import FocusMoved, Inserted, Method, Target, TextInserter, choose

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InsertConfig:
    """The user's insertion settings."""

    enabled: bool = True
    method: Method = Method.AUTO
    paste_apps: Sequence[str] = ()
    """Application names (Target.app) always pasted into under AUTO."""


class InsertEvents(Protocol):
    """What the sink reports, from its own thread (the floating preview fades on it)."""

    def inserted(self, text: str, result: Inserted) -> None: ...


UNKNOWN = object()
"""The press context when the focused window could not be found out."""
OWN = object()
"""The press context when the press came from Tingxie's own window (Space, its button):
the transcript shows the text; nothing is typed, whatever the platform can tell."""


def own_process(target: Target) -> bool:
    """True for a window of this process (Tingxie's own)."""
    return target.pid == os.getpid()


class InsertSink:
    """A ``ResultSink`` typing finals into the window focused at their key-down, with
    ``paste_last``. ``held`` tells whether a hold key is down now."""

    name = "insert"

    def __init__(
        self,
        inserter: TextInserter,
        on_problem: ProblemListener,
        *,
        config: InsertConfig = InsertConfig(),
        held: Callable[[], bool] = lambda: False,
        events: InsertEvents | None = None,
        is_own: Callable[[Target], bool] = own_process,
    ) -> None:
        self.inserter = inserter
        self.config = config
        self._on_problem = on_problem
        self._held = held
        self._events = events
        self._is_own = is_own
        self._last: str | None = None
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="tingxie-insert", daemon=True)
        self._thread.start()

    @property
    def last(self) -> str | None:
        """The latest final's text (what "paste last" inserts)."""
        return self._last

    def focused(self) -> object:
        """The press context for ``Dictation``: the focused window, None if unknown."""
        try:
            return self.inserter.focused()
        except Exception as exc:  # noqa: BLE001 - InsertError, or the X connection's own
            log.warning("the focused window is unknown: %s", exc)
            return UNKNOWN

    # --- ResultSink ----------------------------------------------------------------------
    def deliver(self, utterance: FinalUtterance) -> None:
        self._last = utterance.text
        if not self.config.enabled:
            return
        self._post(lambda: self._insert(utterance))

    def close(self) -> None:
        """Insert what is queued, then close the inserter."""
        with self._idle:
            if self._closed:
                return
            self._closed = True
        self._jobs.put(None)
        self._thread.join(30.0)
        self.inserter.close()

    # --- paste last ----------------------------------------------------------------------
    def paste_last(self) -> bool:
        """Insert the latest final where the focus is now; False if there is none yet."""
        text = self._last
        if text is None:
            return False
        self._post(lambda: self._insert_now(text))
        return True

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until everything posted so far is done; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    # --- the sink's thread ---------------------------------------------------------------
    def _post(self, job: Callable[[], None]) -> None:
        with self._idle:
            if self._closed:
                log.warning("insertion after close dropped (the text is in the history)")
                return
            self._pending += 1
        self._jobs.put(job)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:  # noqa: BLE001 - a bug in one insertion must not stop the next
                log.exception("inserting text failed")
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _wait_for_keys_up(self) -> None:
        while self._held() and not self._closed:
            time.sleep(0.02)

    def _insert(self, utterance: FinalUtterance) -> None:
        if utterance.context is OWN:
            return
        if utterance.context is UNKNOWN:
            log.info("not typed, the focused window was unknown at key-down: %s",
                     utterance.text)
            self._on_problem(Problem(ProblemKind.FOCUS_MOVED,
                                     "the window focused at key-down is unknown"))
            return
        target = utterance.context if isinstance(utterance.context, Target) else None
        if target is not None and self._is_own(target):
            return  # spoken into Tingxie's own window: the transcript has it
        self._wait_for_keys_up()
        self._do(utterance.text, target)

    def _insert_now(self, text: str) -> None:
        self._wait_for_keys_up()
        found = self.focused()
        if found is UNKNOWN:
            self._on_problem(Problem(ProblemKind.INSERT_FAILED,
                                     "the focused window is unknown"))
            return
        target = found if isinstance(found, Target) else None
        if target is not None and self._is_own(target):
            self._on_problem(Problem(ProblemKind.INSERT_FAILED,
                                     "Tingxie's own window has the focus"))
            return
        self._do(text, target)

    def _do(self, text: str, target: Target | None) -> None:
        how = choose(self.config.method, target, paste_apps=self.config.paste_apps)
        try:
            result = self.inserter.insert(text, target, how)
        except FocusMoved as exc:
            log.info("not typed, %s: %s", exc, text)
            self._on_problem(Problem(ProblemKind.FOCUS_MOVED, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - InsertError, or a platform error: told
            log.warning("not inserted (%s): %s", exc, text)
            self._on_problem(Problem(ProblemKind.INSERT_FAILED, str(exc) or type(exc).__name__))
            return
        log.info("inserted by %s into %s", result.how.method.value,
                 (target.app or hex(target.id)) if target else "the focused window")
        if result.notice:
            self._on_problem(Problem(ProblemKind.INSERT_NOTICE, result.notice))
        if self._events is not None:
            self._events.inserted(text, result)

