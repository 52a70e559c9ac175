"""``TextChain``: a recognizer's text → the finished text, in one call.

``TextChain(...).finish(text)`` runs, each step optional:

1. ITN (``itn.InverseNormalizer``): 二零二四年三月五号 → 2024年3月5号;
2. tidy-up (``tidy.tidy``): full-width punctuation, spacing, the final stop of a phrase;
3. the user's replacement rules (``rules.Rules``), which therefore see the tidied text.

A chain is an immutable value, cheap to call again and again from any thread: the ITN
grammars load once per process (on the first ``finish``, or ``load()``) and are shared.
Edited rules make a new chain: ``chain.with_rules(Rules.load(path))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from .itn import InverseNormalizer
from .rules import Rules
from .tidy import DROP_FINAL_STOP, tidy


@dataclass(frozen=True)
class TextChain:
    """The text steps and their options.

    ``itn``: inverse text normalization, in ``language`` ("zh": Chinese, and English where
    the text has no Chinese; "en": English only; anything else raises ``ValueError``).
    ``punctuation`` / ``spacing`` / ``space_digits`` / ``final_stop_units``: the tidy-up
    (see ``tidy.tidy``; ``final_stop_units=0`` keeps every final stop).
    ``rules``: replacement rules, applied last.
    """

    itn: bool = True
    language: str = "zh"
    punctuation: bool = True
    spacing: bool = True
    space_digits: bool = True
    final_stop_units: int = DROP_FINAL_STOP
    rules: Rules = field(default_factory=Rules)
    _normalizer: InverseNormalizer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_normalizer", InverseNormalizer(self.language))

    @classmethod
    def build(
        cls,
        *,
        itn: bool = True,
        language: str = "zh",
        tidy: bool = True,
        final_stop_units: int = DROP_FINAL_STOP,
        rules_file: Optional[Path] = None,
    ) -> TextChain:
        """A chain from settings: ``tidy=False`` turns the whole tidy-up off; the rules are
        read from ``rules_file`` (its bad lines are logged and in ``chain.rules.errors``).

        Raises ``OSError`` / ``UnicodeDecodeError`` when the rules file cannot be read,
        ``ValueError`` for an unknown ``language``."""
        return cls(
            itn=itn,
            language=language,
            punctuation=tidy,
            spacing=tidy,
            final_stop_units=final_stop_units if tidy else 0,
            rules=Rules.load(rules_file) if rules_file is not None else Rules(),
        )

    def with_rules(self, rules: Rules) -> TextChain:
        """This chain with other replacement rules."""
        return replace(self, rules=rules)

    def load(self) -> None:
        """Read the ITN grammars now (about 0.3 s), not on the first ``finish``.

        Raises ``ImportError`` when wetext is not installed."""
        if self.itn:
            self._normalizer.load()

    def finish(self, text: str, *, itn: bool = True) -> str:
        """``text`` finished: ITN (if the chain's ``itn`` and this call's ``itn``), tidy-up,
        outer whitespace removed, then the rules. Never raises."""
        if self.itn and itn:
            text = self._normalizer.normalize(text)
        text = tidy(
            text,
            punctuation=self.punctuation,
            spacing=self.spacing,
            space_digits=self.space_digits,
            final_stop_units=self.final_stop_units,
        ).strip()
        return self.rules.apply(text) if len(self.rules) else text
