"""The user's replacement rules, applied to the finished text (after ITN and tidy-up).

A rules file is UTF-8 text, one rule per line, in the spirit of CapsWriter-Offline's
``hot-rule.txt``::

    # a comment; blank lines are ignored
    毫安时 = mAh                                  literal: every 毫安时 becomes mAh
    re: (艾特)\\s*(\\w+)\\s*点\\s*(\\w+) = @\\2.\\3      regex, with groups in the replacement
    re: [，。]?换行[，。]? = \\n                     \\n, \\t and \\\\ in a replacement
    \\[breath\\] =                                 an empty replacement deletes

- What to find and its replacement are separated by the first ``=`` that has whitespace
  before it and whitespace or the line's end after it; the spaces around both are dropped.
  A find text cannot contain such an `` = `` (in a regex write ``[=]``).
- Literal rules match exactly (case-sensitive). A line starting with ``re:`` is a regular
  expression (the ``regex`` package's syntax, a superset of Python's ``re``; ``(?i)`` for
  any case); its replacement takes ``\\1`` and ``\\g<name>``. CapsWriter's lines are all
  regexes: prefix them with ``re:``.
- Rules apply top to bottom, each to the text the previous one left.

A bad line (no `` = ``, nothing to find, a regex that does not compile, a replacement that
names a missing group) is skipped and reported in ``Rules.errors`` as a ``RuleError`` with
its line number; the other lines still apply. ``apply`` never raises: a regex that runs
longer than ``REGEX_TIMEOUT_S`` on a text (catastrophic backtracking such as ``(a|aa)+$``)
is stopped by the ``regex`` package, leaves that text as it was and is logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import regex

from ..errors import EngineError

log = logging.getLogger(__name__)

REGEX_TIMEOUT_S = 0.05
"""How long one regex rule may run on one text (a sane rule takes microseconds)."""

REGEX_PREFIX = "re:"

_SEPARATOR = re.compile(r"(?:^|\s)=(?:\s|$)")
_ESCAPE = re.compile(r"\\([nt\\])")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}


class RuleError(EngineError):
    """A line of a rules file that is not a rule. ``line`` counts from 1."""

    def __init__(self, source: str, line: int, text: str, reason: str) -> None:
        super().__init__(f"{source} line {line}: {reason}: {text}")
        self.source = source
        self.line = line
        self.text = text
        self.reason = reason


@dataclass(frozen=True)
class Rule:
    """One replacement: ``find`` (literal, or a regex if ``is_regex``) → ``replacement``."""

    find: str
    replacement: str  # for a literal rule with its escapes resolved; a regex template else
    is_regex: bool = False
    line: int = 0
    _pattern: Optional[Any] = field(default=None, compare=False, repr=False)

    def apply(self, text: str) -> str:
        """``text`` with every match replaced. Raises ``TimeoutError`` for a regex that runs
        too long (``Rules.apply`` catches it)."""
        if self._pattern is None:
            return text.replace(self.find, self.replacement)
        result: str = self._pattern.sub(self.replacement, text, timeout=REGEX_TIMEOUT_S)
        return result


@dataclass(frozen=True)
class Rules:
    """Replacement rules in file order, and the lines that were not rules."""

    rules: tuple[Rule, ...] = ()
    errors: tuple[RuleError, ...] = ()
    source: str = "<rules>"

    @classmethod
    def parse(cls, text: str, source: str = "<rules>") -> Rules:
        """The rules in ``text`` (a file's content); bad lines go to ``errors``."""
        rules, errors = [], []
        for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            try:
                rules.append(_rule(stripped, number))
            except _BadLine as bad:
                errors.append(RuleError(source, number, stripped, str(bad)))
        for error in errors:
            log.warning("%s", error)
        return cls(tuple(rules), tuple(errors), source)

    @classmethod
    def load(cls, path: Path) -> Rules:
        """The rules in the UTF-8 file at ``path`` (a byte-order mark is allowed).

        Raises ``OSError`` when it cannot be read, ``UnicodeDecodeError`` when it is not
        UTF-8."""
        return cls.parse(Path(path).read_text(encoding="utf-8"), source=str(path))

    def __len__(self) -> int:
        return len(self.rules)

    def apply(self, text: str) -> str:
        """``text`` after every rule in order; never raises (a failing rule is skipped and
        logged)."""
        for rule in self.rules:
            try:
                text = rule.apply(text)
            except TimeoutError:
                log.warning(
                    "%s line %d: the regex ran longer than %.2f s and was stopped; "
                    "it did not apply to %r",
                    self.source, rule.line, REGEX_TIMEOUT_S, text[:80],
                )  # fmt: skip
            except Exception:
                log.warning(
                    "%s line %d failed on %r", self.source, rule.line, text[:80], exc_info=True
                )
        return text


class _BadLine(Exception):
    pass


def _rule(line: str, number: int) -> Rule:
    is_regex = line.startswith(REGEX_PREFIX)
    if is_regex:
        line = line[len(REGEX_PREFIX) :].lstrip()
    separator = _SEPARATOR.search(line)
    if separator is None:
        raise _BadLine("no ' = ' between what to find and its replacement")
    find, replacement = line[: separator.start()].strip(), line[separator.end() :].strip()
    if not find:
        raise _BadLine("nothing to find before ' = '")
    if not is_regex:
        return Rule(find, _ESCAPE.sub(lambda m: _ESCAPES[m.group(1)], replacement), line=number)
    try:
        pattern = regex.compile(find)
    except regex.error as exc:
        raise _BadLine(f"bad regex ({exc})") from None
    _check_template(find, replacement)
    return Rule(find, replacement, is_regex=True, line=number, _pattern=pattern)


def _check_template(find: str, replacement: str) -> None:
    """Raise ``_BadLine`` when ``replacement`` names a group ``find`` lacks or has a bad
    escape. The ``regex`` package checks a template only when it is used on a match: it is
    used here on an empty match of the same groups."""
    try:
        empty = regex.compile(f"(?:{find}\n)|").match("")
    except regex.error:
        return  # a pattern that cannot be wrapped: checked when it first matches
    if empty is None:
        return
    try:
        empty.expand(replacement)
    except (regex.error, IndexError) as exc:
        raise _BadLine(f"bad replacement ({exc})") from None
