"""What the desktop's parts report to the window: problems and the microphone's state. Pure
data, no Qt; ``Dictation``, the microphone supervisor and the result sinks all speak it."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class ProblemKind(enum.Enum):
    NO_MICROPHONE = "no_microphone"
    MICROPHONE_FAILED = "microphone_failed"  # could not open, or lost while running
    MODEL_NOT_READY = "model_not_ready"
    RECOGNITION_FAILED = "recognition_failed"
    HISTORY_FAILED = "history_failed"
    DELIVERY_FAILED = "delivery_failed"  # a result sink other than the history failed
    FOCUS_MOVED = "focus_moved"  # not typed: the window of the key-down lost the focus
    INSERT_FAILED = "insert_failed"  # the text could not go into the other application
    INSERT_NOTICE = "insert_notice"  # it went in, differently (e.g. only to the clipboard)
    HOTKEY_UNAVAILABLE = "hotkey_unavailable"  # a global key cannot be watched here


@dataclass(frozen=True)
class Problem:
    """Something the user should see; ``detail`` is the technical reason."""

    kind: ProblemKind
    detail: str = ""


ProblemListener = Callable[[Problem], None]
"""Where a part reports a ``Problem``; called from any thread, must return at once."""


@dataclass(frozen=True)
class AudioStatus:
    """The microphone as the window shows it."""

    ok: bool
    device: str = ""
    open: bool = False  # the stream is open (False also when released after idle time)
    detail: str = ""
