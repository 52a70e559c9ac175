"""Tidy-up after ITN: the small typographic fixes a person would otherwise make by hand.

Pure functions on ``str``, each idempotent (``f(f(x)) == f(x)``) and never removing a
letter, digit or Chinese character:

- ``fullwidth_punctuation``: ``, . ? ! : ;`` next to Chinese become ``，。？！：；``; ASCII
  stays in English sentences and inside numbers (1.5, 3:20); no spaces around full-width
  punctuation.
- ``space_cjk_latin``: one space between Chinese (CJK) and Latin letters or digits, as
  pangu.js does ("我用 Python 写了 100 行"), none inside a number with its unit (50%, 30kg,
  38.5°, $100), none next to punctuation.
- ``drop_final_stop``: the final 。 or . of a short phrase, which a punctuation model adds
  to every utterance, is removed: a phrase of a few words is usually typed into a search
  box, a file name or a chat reply (好的, 收到, 没问题), where the stop would have to be
  deleted by hand, while a sentence keeps it. ``DROP_FINAL_STOP`` = 8 units is where
  CapsWriter-Offline draws the line for Chinese, which its users know: 好的，我马上到 (7)
  loses the stop, 我们明天下午三点开会 (10) keeps it. A Chinese character is one unit, a
  Latin word or number two (an English word has about two syllables to a character's one),
  so English phrases of up to four words lose it ("See you tomorrow"), sentences keep it.

``tidy`` runs them in that order.
"""

from __future__ import annotations

import re

DROP_FINAL_STOP = 8
"""Phrases of at most this many units lose their final full stop (0: never)."""

# pangu.js's CJK ranges (radicals, kana, bopomofo, enclosed, ideographs) and the
# supplementary ideographs.
CJK = (
    "\u2e80-\u2eff\u2f00-\u2fdf\u3040-\u309f\u30a0-\u30fa\u30fc-\u30ff\u3100-\u312f"
    "\u3200-\u32ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
)
FULLWIDTH = "，。？！：；、「」『』《》〈〉（）【】"
"""Full-width punctuation: no space belongs on either side of it."""

_TO_FULLWIDTH = {",": "，", ".": "。", "?": "？", "!": "！", ":": "：", ";": "；"}
_SENTENCE_END = "。！？.!?\n"
_CLOSING = "\"'”’)）」』》】"
_IS_CJK = re.compile(f"[{CJK}]")
_AROUND_FULLWIDTH = re.compile(f"[ \\t]+(?=[{FULLWIDTH}])|(?<=[{FULLWIDTH}])[ \\t]+")
_LATIN = "A-Za-z\u00c0-\u024f"
_UNIT_AFTER = "%‰°℃"  # written right after a number: 50%
_UNIT_BEFORE = "$€£¥"  # written right before one: $100
_UNITS = re.compile(f"[{CJK}]|[{_LATIN}0-9][{_LATIN}0-9'’.\\-]*")


def fullwidth_punctuation(text: str) -> str:
    """``text`` with ASCII ``, . ? ! : ;`` written full-width where they punctuate Chinese.

    A mark converts when the nearest letter before it (past spaces and other punctuation)
    or the nearest character after it (past spaces) is Chinese, or when it ends a
    sentence that has Chinese in it (我们用 Python. → 我们用 Python。). It stays ASCII
    between two ASCII letters or digits (1.5, 3:20, e.g) and in a run of dots (...).
    Spaces and tabs next to full-width punctuation are removed.
    """
    chars = list(text)
    for i, c in enumerate(chars):
        full = _TO_FULLWIDTH.get(c)
        if full is None:
            continue
        before = text[i - 1] if i else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if before.isascii() and before.isalnum() and after.isascii() and after.isalnum():
            continue
        if c == "." and "." in (before, after):
            continue
        if _is_cjk(_letter_before(text, i)) or _is_cjk(after if after.strip() else _after(text, i)):
            chars[i] = full
        elif c in ".?!" and not after.strip() and _sentence_has_cjk(text, i):
            chars[i] = full
    return _AROUND_FULLWIDTH.sub("", "".join(chars))


def space_cjk_latin(text: str, *, digits: bool = True) -> str:
    """``text`` with a space between CJK characters and Latin letters (and digits, unless
    ``digits`` is False) that touch, either way round.

    A unit sign travels with its number: 增长50%的 → 增长 50% 的, 花了$100 → 花了 $100.
    Existing spaces are kept; nothing is added next to punctuation.
    """
    alnum = _LATIN + ("0-9" if digits else "")
    after_cjk = f"[{alnum}]" + (f"|[{_UNIT_BEFORE}][0-9]" if digits else "")
    before_cjk = f"[{alnum}]" + (f"|(?<=[0-9])[{_UNIT_AFTER}]" if digits else "")
    text = re.sub(f"([{CJK}])(?={after_cjk})", r"\1 ", text)
    return re.sub(f"({before_cjk})(?=[{CJK}])", r"\1 ", text)


def drop_final_stop(text: str, max_units: int = DROP_FINAL_STOP) -> str:
    """``text`` without its final ``。`` or ``.`` when it has at most ``max_units`` units
    (a CJK character counts one, a run of Latin letters and digits two); unchanged
    when ``max_units`` is 0, for other final marks (？！…), for an ellipsis (...) and for a
    stop that follows whitespace."""
    body = text.rstrip()
    if max_units <= 0 or not body or body[-1] not in "。.":
        return text
    if len(body) < 2 or not (body[-2].isalnum() or body[-2] in _CLOSING):
        return text  # an ellipsis, or a stop after a space: not a sentence's end
    units = sum(1 if _is_cjk(unit) else 2 for unit in _UNITS.findall(body[:-1]))
    if units > max_units:
        return text
    return body[:-1] + text[len(body) :]


def tidy(
    text: str,
    *,
    punctuation: bool = True,
    spacing: bool = True,
    space_digits: bool = True,
    final_stop_units: int = DROP_FINAL_STOP,
) -> str:
    """``fullwidth_punctuation`` (if ``punctuation``), ``space_cjk_latin`` (if
    ``spacing``; digits too if ``space_digits``), then ``drop_final_stop`` for phrases of
    at most ``final_stop_units`` units (0: never)."""
    if punctuation:
        text = fullwidth_punctuation(text)
    if spacing:
        text = space_cjk_latin(text, digits=space_digits)
    return drop_final_stop(text, final_stop_units)


def _is_cjk(c: str) -> bool:
    return bool(c) and _IS_CJK.match(c) is not None


def _letter_before(text: str, i: int) -> str:
    """The nearest character before ``i`` that is neither whitespace nor punctuation."""
    for c in reversed(text[:i]):
        if c.isalnum() or _is_cjk(c):
            return c
        if c == "\n":
            return ""
    return ""


def _after(text: str, i: int) -> str:
    """The nearest character after ``i`` that is not a space or tab."""
    for c in text[i + 1 :]:
        if c not in " \t":
            return c
    return ""


def _sentence_has_cjk(text: str, i: int) -> bool:
    start = max(text.rfind(c, 0, i) for c in _SENTENCE_END) + 1
    return _IS_CJK.search(text, start, i) is not None
