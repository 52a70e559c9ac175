"""Hotwords for SeACo-Paraformer's biasing, from a command line, a variable or a file.

- ``parse_hotwords("阿里巴巴 达摩院, 通义、千问")``: a string from ``--hotwords``, the
  seed's ``HOTWORDS`` or Settings; words are separated by whitespace, commas (, ，),
  enumeration commas (、), semicolons (; ；) or line breaks. A JSON object
  ``{"word": weight, ...}`` (what FunASR's HTML client sends) gives its words.
- ``read_hotwords(content)``: a file, one hotword per line, so a line may hold a phrase
  with spaces ("machine learning"); ``#`` starts a comment line; FunASR's trailing weight
  ("阿里巴巴 20") is dropped: a line's last field is taken as a weight when it is a whole
  number, so write "GPT-4", not "GPT 4".
- ``load_hotwords(spec)``: a path to an existing file is read as a file; any other string
  is parsed as words.

All return a tuple of distinct words in their first order; words that differ only in case
count once (the model lowercases them). SeACo-Paraformer's recall drops with long lists
(FunASR's maintainers advise at most ~200): past ``MAX_HOTWORDS`` the rest is dropped and a
warning logged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Optional, Union

log = logging.getLogger(__name__)

MAX_HOTWORDS = 200
"""Hotwords passed to the model at most."""

_SEPARATORS = re.compile(r"[\s,，、;；]+")
_WEIGHT = re.compile(r"^(.*?\S)\s+\d+$")


def parse_hotwords(text: str) -> tuple[str, ...]:
    """The hotwords in a one-line (or multi-line) string; see the module docstring."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            weights = json.loads(stripped)
        except ValueError:
            weights = None
        if isinstance(weights, dict):
            return _distinct(str(word).strip() for word in weights)
    return _distinct(_SEPARATORS.split(stripped))


def read_hotwords(content: str) -> tuple[str, ...]:
    """The hotwords in a hotwords file's ``content``: one per line, ``#`` comment lines,
    an optional trailing whole-number weight."""
    words = []
    for line in content.lstrip("\ufeff").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        weighted = _WEIGHT.match(line)
        words.append(" ".join((weighted.group(1) if weighted else line).split()))
    return _distinct(words)


def load_hotwords(spec: Optional[Union[str, Path]]) -> tuple[str, ...]:
    """The hotwords ``spec`` names: a ``Path`` or a string naming an existing file is read
    (UTF-8) as a hotwords file, any other string parsed as words; None or blank: none.

    Raises ``OSError`` for a ``Path`` that cannot be read, ``UnicodeDecodeError`` for a file
    that is not UTF-8."""
    if spec is None:
        return ()
    if isinstance(spec, Path) or ("\n" not in spec and spec.strip() and Path(spec).is_file()):
        return read_hotwords(Path(spec).read_text(encoding="utf-8"))
    return parse_hotwords(spec)


def _distinct(words: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for word in words:
        key = word.casefold()
        if word and key not in seen:
            seen.add(key)
            out.append(word)
    if len(out) > MAX_HOTWORDS:
        log.warning(
            "%d hotwords: only the first %d are used (more make the model miss them)",
            len(out),
            MAX_HOTWORDS,
        )
        out = out[:MAX_HOTWORDS]
    return tuple(out)
