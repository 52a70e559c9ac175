"""The second pass's text steps, built from settings: ITN, tidy-up, replacement rules.

``finisher_for`` builds the ``TextFinisher`` the second pass runs after the models. The
steps themselves live in ``tingxie.engine.text``; a rules file is re-read when it changes
(checked at each utterance: one ``stat``), so edited rules apply without a restart.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)


class ReloadingRules:
    """Replacement rules from a file, re-read when its modification time or size
    changes. A file that cannot be read keeps the rules last read (logged once per change)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: Optional[tuple[float, int]] = None
        self._rules = None  # type: ignore[var-annotated]

    def apply(self, text: str) -> str:
        rules = self._current()
        return text if rules is None else rules.apply(text)

    def _current(self):  # type: ignore[no-untyped-def]
        from .text.rules import Rules

        try:
            st = self.path.stat()
            seen: Optional[tuple[float, int]] = (st.st_mtime, st.st_size)
        except OSError:
            seen = None
        with self._lock:
            if seen != self._seen:
                self._seen = seen
                if seen is None:
                    log.warning("the rules file %s is gone; no replacement rules", self.path)
                    self._rules = None
                else:
                    try:
                        self._rules = Rules.load(self.path)
                    except Exception:
                        log.exception("cannot read the rules file %s; keeping the rules last read", self.path)
            return self._rules


class Steps:
    """A ``TextFinisher``: the ``TextChain`` (ITN, tidy-up), then the rules as their file
    says now."""

    def __init__(self, chain, rules: Optional[ReloadingRules]) -> None:  # type: ignore[no-untyped-def]
        self.chain = chain
        self._rules = rules

    def finish(self, text: str, *, itn: bool = True) -> str:
        text = self.chain.finish(text, itn=itn)
        if self._rules is not None:
            text = self._rules.apply(text)
        return text


ITN_LANGUAGES = ("zh", "en")
"""The languages wetext has ITN grammars for; text in others is tidied, not normalized."""


def finisher_for(
    *, itn: bool, language: str, rules: Optional[Path], drop_final_stop: int = 0
) -> Steps:
    """The text steps for these settings. The ITN grammars load here, once per process
    (about 0.3 s); without wetext the text is finished without ITN (logged)."""
    from .text.chain import TextChain

    if itn and language not in ITN_LANGUAGES:
        log.info("no ITN grammars for %r: numbers stay as the model wrote them", language)
        itn = False
    chain = TextChain(
        itn=itn,
        language=language if language in ITN_LANGUAGES else "zh",
        # 3月5号, 123个: Chinese writes digits without spaces (Latin words get them)
        space_digits=False,
        final_stop_units=drop_final_stop,
    )
    try:
        chain.load()
    except ImportError as exc:
        log.warning("no ITN (%s): install wetext", exc)
        chain = TextChain(itn=False, space_digits=False, final_stop_units=drop_final_stop)
    return Steps(chain, ReloadingRules(rules) if rules is not None else None)
