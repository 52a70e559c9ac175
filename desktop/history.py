"""The dictation history: every final utterance appended to ``history.jsonl``.

One JSON object a line: ``time`` (ISO 8601, local time with offset, when the final
arrived), ``text``, ``duration`` (seconds the key/button was held), ``audio`` (seconds of
audio recognised, pre-roll included), ``latency`` (milliseconds from release to final).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

DATA_DIR_ENV = "TINGXIE_DATA_DIR"


@dataclass(frozen=True)
class FinalUtterance:
    """A finished utterance as shown in the transcript and written to the history."""

    time: str
    text: str
    duration: float
    audio: float
    latency: float
    rtf: float = 0.0  # the model's compute time / the audio's duration
    context: object = field(default=None, compare=False, repr=False)
    """Where the utterance was spoken (the window focused at key-down); not written."""

    def to_json(self) -> str:
        line = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "context"}
        return json.dumps(line, ensure_ascii=False)


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the history lives: ``$TINGXIE_DATA_DIR`` if set, else the platform's user data
    directory for Tingxie (platformdirs)."""
    env = os.environ if env is None else env
    override = env.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("tingxie", appauthor=False))


class History:
    """Appends finals to a JSON-lines file; safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, utterance: FinalUtterance) -> None:
        """Append one line and flush it to disk. Raises ``OSError`` if it cannot be written."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(utterance.to_json() + "\n")
                f.flush()
                os.fsync(f.fileno())

    def read(self) -> list[FinalUtterance]:
        """Every utterance in the file (lines that do not parse are skipped)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(FinalUtterance(**json.loads(line)))
            except (ValueError, TypeError):
                continue
        return out
