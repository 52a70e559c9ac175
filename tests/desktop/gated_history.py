"""A history on a disk that hangs, for the tests that keep disk work off other threads."""

from __future__ import annotations

import threading
from pathlib import Path

from tingxie.desktop.history import FinalUtterance, History


class GatedHistory(History):
    """A history whose writes wait for ``gate`` (a disk that hangs) and record their thread."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.threads: list[str] = []

    def append(self, utterance: FinalUtterance) -> None:
        self.threads.append(threading.current_thread().name)
        self.entered.set()
        assert self.gate.wait(10)
        super().append(utterance)
