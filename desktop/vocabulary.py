"""The user's vocabulary: hotwords and replacement rules, each kept in a file of the data
directory (beside ``history.jsonl``), so that an edit by hand counts as much as one in the
dialog. No Qt.

- ``hotwords.txt``: one hotword (or phrase) per line, ``#`` comments; the format of
  ``tingxie.engine.text.hotwords.read_hotwords``. ``Vocabulary.hotwords`` re-reads it when
  it changes (one ``stat`` per call), so the next release after an edit uses the new list.
- ``rules.txt``: the replacement rules of ``tingxie.engine.text.rules`` (``find =
  replacement``, ``re:`` for a regex). The engine loads this file itself
  (``EngineConfig.rules``) and re-reads it when it changes; saving here is all it takes.

Both files are written whole and then renamed over the old one, so that the engine, which
may read them at any moment on its own thread, never sees half a file.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from tingxie.engine.text.hotwords import read_hotwords
from tingxie.engine.text.rules import RuleError, Rules

log = logging.getLogger(__name__)

HOTWORDS_FILE = "hotwords.txt"
RULES_FILE = "rules.txt"


@dataclass(frozen=True)
class SavedRules:
    """What ``Vocabulary.save_rules`` wrote: ``text`` as saved (each bad line turned into a
    comment, so that it neither applies nor is lost), the ``errors`` of the text as the
    user gave it (line numbers are the same in both), and how many rules apply."""

    text: str
    errors: tuple[RuleError, ...]
    rules: int


def check_rules(text: str, source: str = RULES_FILE) -> tuple[RuleError, ...]:
    """The lines of ``text`` that are not rules, each with its number and why. Pure."""
    return Rules.parse(text, source=source).errors


def comment_out(text: str, errors: tuple[RuleError, ...]) -> str:
    """``text`` with the lines ``errors`` name turned into comments (``# `` before them);
    the other lines, and so every line's number, stay as they are. Pure."""
    bad = {error.line for error in errors}
    lines = text.splitlines()
    for number in bad:
        if 1 <= number <= len(lines):
            lines[number - 1] = "# " + lines[number - 1]
    return "\n".join(lines) + ("\n" if lines else "")


class Vocabulary:
    """The hotwords file and the rules file. ``hotwords`` may be called from any thread
    (the release comes from the hands-free thread too); the rest from the GUI thread."""

    def __init__(self, hotwords_path: Path, rules_path: Path) -> None:
        self.hotwords_path = Path(hotwords_path)
        self.rules_path = Path(rules_path)
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._hotwords: tuple[str, ...] = ()

    @classmethod
    def in_data_dir(cls, folder: Path, rules: Path | None = None) -> Vocabulary:
        """``hotwords.txt`` and ``rules.txt`` in ``folder``; ``rules`` another rules file
        (the command line's ``--rules``)."""
        return cls(folder / HOTWORDS_FILE, rules if rules is not None else folder / RULES_FILE)

    # --- hotwords ------------------------------------------------------------------------
    def hotwords(self) -> tuple[str, ...]:
        """The hotwords as the file says now (none while there is no file). A file that
        cannot be read keeps the words last read (logged once per change)."""
        try:
            st = self.hotwords_path.stat()
            seen: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            seen = None
        with self._lock:
            if seen != self._seen:
                self._seen = seen
                if seen is None:
                    self._hotwords = ()
                else:
                    try:
                        self._hotwords = read_hotwords(
                            self.hotwords_path.read_text(encoding="utf-8"))
                    except (OSError, UnicodeDecodeError) as exc:
                        log.warning("cannot read the hotwords file %s (%s); keeping the "
                                    "hotwords last read", self.hotwords_path, exc)
            return self._hotwords

    def hotwords_text(self) -> str:
        """The hotwords file's content to edit ("" when there is none)."""
        return _read(self.hotwords_path)

    def save_hotwords(self, text: str) -> tuple[str, ...]:
        """Write ``text`` as the hotwords file; returns the hotwords it holds. Raises
        ``OSError``."""
        _write(self.hotwords_path, _with_final_newline(text))
        return read_hotwords(text)

    # --- replacement rules ---------------------------------------------------------------
    def rules_text(self) -> str:
        """The rules file's content to edit ("" when there is none)."""
        return _read(self.rules_path)

    def save_rules(self, text: str) -> SavedRules:
        """Write ``text`` as the rules file, its bad lines turned into comments: the good
        ones apply (the engine re-reads the file at its next utterance), nothing the user
        wrote is lost. Raises ``OSError``."""
        errors = check_rules(text, self.rules_path.name)
        saved = comment_out(text, errors) if errors else _with_final_newline(text)
        _write(self.rules_path, saved)
        return SavedRules(saved, errors, len(Rules.parse(saved)))


def _with_final_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").lstrip("\ufeff")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("cannot read %s: %s", path, exc)
        return ""


def _write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
