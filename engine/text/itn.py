"""Inverse text normalization: numbers, dates, times and money as people write them.

``InverseNormalizer(language).normalize(text)`` runs WeTextProcessing's compiled ITN
grammars (the ``wetext`` package, Apache-2.0: the FSTs are inside its wheel, nothing is
downloaded) and returns the text with spoken numbers written as digits::

    我有一百二十三个苹果       → 我有123个苹果
    百分之五十 / 三点一四 / 三分之一 → 50% / 3.14 / 1/3
    i have twenty three apples → i have 23 apples

The grammars load on first use (or ``load()``), once per process, shared by every
instance; calls are serialized by one lock (a typical sentence takes a few milliseconds).
A failure inside wetext never loses text: the input comes back unchanged and the error is
logged.

Languages. ``"zh"``: the Chinese grammar; a line without any Chinese character (English
speech) goes through the English grammar, and so does a run of three or more Latin words
inside Chinese text (an English clause: "他说 i have twenty three apples"); shorter Latin
runs are names and terms and stay as they are. ``"en"``: the English grammar only.

What this module changes in wetext's output (its verbalizer writes Chinese dates, times
and money the English way):

=========================== ===================== ===========================
said                        wetext                here
=========================== ===================== ===========================
二零二四年三月五号           2024/03/05            2024年3月5号 (号/日 as said)
十一月十一日                 11/11                 11月11日
下午三点二十分               3:20p.m.              下午3:20
二零二四年三月五号下午三点    2024/03/053:20p.m.    2024年3月5号下午3:20
三千五百元 / 一千日元         ¥3500 / JPY1000       3500元 / 1000日元
人民币一百元                 人民币¥100            人民币100元
十几个 / 几十个              10几个 / 几10个        十几个 / 几十个 (as said)
十点一刻                     10.1刻                十点一刻 (as said)
二〇二四年                   二〇24年              2024年 (〇 read as 零)
他说"一百"                   他说\\"100\\"          他说"100" (quotes unescaped)
fifty percent               50 %                  50%
he said "twenty three"      (no result)           he said "23"
=========================== ===================== ===========================

Quirks kept as wetext has them (documented, tested in tests/engine/text/test_itn.py):
single digits stay Chinese (一个, 第一名, 五亿, 三点, 下午五点), so idioms such as
一心一意 and 万无一失 are safe; ranges become ``3~5个`` / ``50~60个``; 九九八十一 becomes
``998 11``; 三又二分之一 becomes ``三又1/2``; 一块二毛三 becomes ``1块2毛三``; metric units
are abbreviated (三十公斤 → 30kg, 十五秒 → 15s); in English, capitalized number words
("Twenty three") and hyphenated ones ("twenty-three") are not read, "twelve thirty" is read
as a year (1230), "one third" as "one 3rd", times are zero-padded ("03:00 p.m."), and runs of
spaces between words become one space.

Long text is normalized piece by piece (the grammar's time grows faster than the text):
Chinese is cut after full-width and ASCII sentence punctuation, and pieces still longer
than ``MAX_PIECE`` characters (text without punctuation) at a point with no numeral
nearby; English goes in runs of words between punctuation marks (spoken numbers hold
none), runs longer than ``MAX_EN_WORDS`` cut between two words that cannot be part of a
number. Line breaks are kept.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")

MAX_PIECE = 50
"""Characters of Chinese text without punctuation that one grammar call gets at most."""

_LOCK = threading.Lock()  # wetext's grammars are module globals: one caller at a time
_wetext: Optional[Any] = None  # the wetext module, imported on first use

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_HAN = re.compile(f"[{_HAN}]")
_NUMERALS = "零〇幺一二三四五六七八九十百千万亿两几半点"
# Three or more Latin words in a row, inside Chinese text: an English clause.
_LATIN_CLAUSE = re.compile(r"[A-Za-z][A-Za-z0-9'\-]*(?:[ \t]+[A-Za-z0-9][A-Za-z0-9'\-]*){2,}")
_ZH_PIECE_END = re.compile(r"(?<=[，。！？；：、,!?;])")
# English goes to the grammar in runs of words: spoken numbers hold no punctuation, and the
# grammar would respace punctuation ("(twenty)" → "( 20 )") or find no path at all (a word
# touching a double quote).
_EN_RUN = re.compile(r"[A-Za-z0-9'\-]+(?:[ \t]+[A-Za-z0-9'\-]+)*")
_EN_WORD = re.compile(r"\S+\s*")
MAX_EN_WORDS = 40
"""Words of English without punctuation that one grammar call gets at most."""
# Words that can be part of a spoken number, time, amount or address: no cut beside them.
_EN_NUMBERISH = frozenset(
    """zero oh one two three four five six seven eight nine ten eleven twelve thirteen
    fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty
    seventy eighty ninety hundred thousand million billion trillion first second third
    fourth fifth sixth seventh eighth ninth tenth eleventh twelfth twentieth thirtieth
    hundredth thousandth and a point minus half quarter quarters percent dollar dollars
    cent cents pound pounds euro euros o'clock am pm p m dot at""".split()
)
_CIRCLE_ZERO = re.compile(
    "[〇零一二三四五六七八九]*[零一二三四五六七八九][〇零一二三四五六七八九]*"
)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_AMOUNT = re.compile(r"\d+(?:\.\d+)?")
_SPACED_PERCENT = re.compile(r"(?<=\d) %")


def _grammars() -> Any:
    """The wetext module; importing it reads its grammars (called with ``_LOCK`` held)."""
    global _wetext
    if _wetext is None:
        import wetext  # type: ignore[import-untyped]

        _wetext = wetext
    return _wetext


class InverseNormalizer:
    """Written numbers for ``language``'s spoken ones (``LANGUAGES``; ``ValueError`` else).

    Cheap to create; the grammars are shared by all instances and threads.
    """

    def __init__(self, language: str = "zh") -> None:
        if language not in LANGUAGES:
            raise ValueError(f"no ITN for language {language!r}: use one of {', '.join(LANGUAGES)}")
        self.language = language

    def __repr__(self) -> str:
        return f"InverseNormalizer({self.language!r})"

    def load(self) -> None:
        """Read the grammars now (about 0.3 s) rather than on the first ``normalize``.

        Raises ``ImportError`` when wetext is not installed."""
        with _LOCK:
            _grammars()

    def normalize(self, text: str) -> str:
        """``text`` with its spoken numbers written; never raises, never drops text.

        Line breaks and the whitespace around each piece are kept. On any failure of the
        grammars (or an empty result) the input comes back unchanged and a warning is logged.
        """
        if not text.strip():
            return text
        try:
            with _LOCK:
                wetext = _grammars()
                out = "".join(
                    _line(wetext, line, self.language) for line in text.splitlines(keepends=True)
                )
        except Exception:
            log.warning("ITN failed; the text is kept as recognized: %r", text[:80], exc_info=True)
            return text
        if not out.strip():
            log.warning("ITN gave no text; the text is kept as recognized: %r", text[:80])
            return text
        return out


def _line(wetext: Any, line: str, language: str) -> str:
    body = line.rstrip("\r\n")
    end = line[len(body) :]
    if language == "en" or not _HAS_HAN.search(body):
        return _english(wetext, body) + end
    out, at = [], 0
    for clause in _LATIN_CLAUSE.finditer(body):
        out.append(_chinese(wetext, body[at : clause.start()]))
        out.append(_english(wetext, clause.group()))
        at = clause.end()
    out.append(_chinese(wetext, body[at:]))
    return "".join(out) + end


def _keep_edges(text: str, normalize: Callable[[str], str]) -> str:
    """``normalize`` on ``text`` without its outer whitespace, which is kept; its input back
    when it gives nothing."""
    core = text.strip()
    if not core:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return lead + (normalize(core) or core) + trail


# ---- tokens ----------------------------------------------------------------------------


@dataclass
class _Token:
    name: str  # wetext's class: char, cardinal, measure, date, time, money, ...
    members: dict[str, str]  # unescaped, in the order they were said
    serialized: str  # what wetext's verbalizer reads (canonical member order)


def _tokens(wetext: Any, tagged: str, language: str) -> list[_Token]:
    """wetext's tagger output as tokens. Its parser keeps the tagger's escapes in member
    values and escapes them again when serializing (``"`` would come out as ``\\"``):
    values are unescaped here, so the verbalizer reads them escaped once."""
    from wetext.token_parser import TokenParser  # type: ignore[import-untyped]

    parser = TokenParser(language, "itn")
    parser.parse(tagged)
    tokens = []
    for token in parser.tokens:
        for key, value in token.members.items():
            token.members[key] = _ESCAPED.sub(r"\1", value)
        tokens.append(_Token(token.name, dict(token.members), token.string(parser.orders)))
    return tokens


def _verbalize(wetext: Any, tokens: list[_Token], language: str) -> str:
    """wetext's written form of ``tokens`` ("" for none, or when it gives nothing)."""
    if not tokens:
        return ""
    written: str = wetext.verbalize(" ".join(t.serialized for t in tokens), language, "itn")
    if not written:
        return ""
    # The verbalizer strips the spaces a run of tokens starts or ends with: put them back.
    said = "".join(t.members.get("value", "") if t.name == "char" else "\0" for t in tokens)
    lead = said[: len(said) - len(said.lstrip())]
    trail = said[len(said.rstrip()) :]
    return lead + written + trail


def _said(token: _Token) -> str:
    return "".join(v for k, v in token.members.items() if k not in ("preserve_order", "kind"))


# ---- Chinese ---------------------------------------------------------------------------


def _chinese(wetext: Any, text: str) -> str:
    return "".join(
        _keep_edges(piece, lambda p: _chinese_piece(wetext, p)) for piece in _zh_pieces(text)
    )


def _zh_pieces(text: str) -> list[str]:
    pieces = []
    for piece in _ZH_PIECE_END.split(text):
        while len(piece) > MAX_PIECE:
            cut = next((i for i in range(MAX_PIECE, len(piece) - 1) if _safe_cut(piece, i)), None)
            if cut is None:
                break
            pieces.append(piece[:cut])
            piece = piece[cut:]
        pieces.append(piece)
    return [p for p in pieces if p]


def _safe_cut(text: str, i: int) -> bool:
    """Whether cutting ``text`` before ``i`` splits no number: no numeral, digit or Latin
    letter within two characters on either side."""
    return not any(c in _NUMERALS or c.isascii() and c.isalnum() for c in text[i - 2 : i + 2])


def _chinese_piece(wetext: Any, text: str) -> str:
    # 〇 in 二〇二四 is a zero the grammar does not know.
    text = _CIRCLE_ZERO.sub(lambda m: m.group().replace("〇", "零"), text)
    tagged = wetext.tag(text, "zh", "itn")
    if not tagged:
        return text
    tokens = _tokens(wetext, tagged, "zh")
    out: list[str] = []
    run: list[_Token] = []
    for i, token in enumerate(tokens):
        written = _written_zh(wetext, tokens, i)
        if written is None:
            run.append(token)
            continue
        out += [_zh_run(wetext, run), written]
        run = []
    out.append(_zh_run(wetext, run))
    return "".join(out)


def _zh_run(wetext: Any, run: list[_Token]) -> str:
    return _verbalize(wetext, run, "zh") or "".join(_said(t) for t in run)


def _written_zh(wetext: Any, tokens: list[_Token], i: int) -> Optional[str]:
    """How token ``i`` is written where this module differs from wetext; None: as wetext."""
    token = tokens[i]
    if token.name in ("cardinal", "measure"):
        value = token.members.get("value", "")
        beside = tokens[max(i - 1, 0) : i] + tokens[i + 1 : i + 2]
        if any(t.name == "char" and t.members.get("value") == "几" for t in beside):
            return value  # 十几个, 几十个: an estimate, not a number
        if value.endswith("刻"):
            return value  # 十点一刻 is a time
        return None
    if token.name == "date":
        return _date(wetext, token)
    if token.name == "time":
        return _time(wetext, token)
    if token.name == "money":
        return _money(wetext, token)
    return None


def _date(wetext: Any, token: _Token) -> Optional[str]:
    said = token.members
    parts = [k for k in ("year", "month", "day") if said.get(k)]
    if parts == ["year"]:
        return None  # wetext writes 2024年 already
    written = wetext.verbalize(token.serialized, "zh", "itn").split("/")
    if len(written) != len(parts) or not all(w.isdigit() for w in written):
        return None
    out = []
    for part, digits in zip(parts, written):
        if part == "year":
            out.append(digits + "年")
        elif part == "month":
            out.append(f"{int(digits)}月")
        else:
            out.append(f"{int(digits)}{said['day'][-1] if said['day'][-1] in '号日' else '日'}")
    return "".join(out)


def _time(wetext: Any, token: _Token) -> Optional[str]:
    clock = _CLOCK.match(wetext.verbalize(token.serialized, "zh", "itn"))
    if clock is None:
        return None
    hour, minute, second = clock.groups()
    return (
        token.members.get("noon", "") + f"{int(hour)}:{minute}" + (f":{second}" if second else "")
    )


def _money(wetext: Any, token: _Token) -> Optional[str]:
    amount = _AMOUNT.search(wetext.verbalize(token.serialized, "zh", "itn"))
    currency = token.members.get("currency", "")
    return amount.group() + currency if amount and currency else None


# ---- English ---------------------------------------------------------------------------


def _english(wetext: Any, text: str) -> str:
    out, at = [], 0
    for run in _EN_RUN.finditer(text):
        out.append(text[at : run.start()])
        for piece in _en_pieces(run.group()):
            out.append(_keep_edges(piece, lambda p: _english_piece(wetext, p)))
        at = run.end()
    out.append(text[at:])
    return "".join(out)


def _en_pieces(run: str) -> list[str]:
    """``run`` in pieces of at most ``MAX_EN_WORDS`` words, cut only between two words
    that cannot be part of a number (a run with no such place stays whole)."""
    words = _EN_WORD.findall(run)
    pieces, start = [], 0
    while len(words) - start > MAX_EN_WORDS:
        cut = next(
            (
                i
                for i in range(start + MAX_EN_WORDS, len(words))
                if not {words[i - 1].strip().lower(), words[i].strip().lower()} & _EN_NUMBERISH
            ),
            None,
        )
        if cut is None:
            break
        pieces.append("".join(words[start:cut]))
        start = cut
    pieces.append("".join(words[start:]))
    return pieces


def _english_piece(wetext: Any, text: str) -> str:
    tagged = wetext.tag(" ".join(text.split()), "en", "itn")  # two spaces defeat the grammar
    if not tagged:
        return text
    written = _verbalize(wetext, _tokens(wetext, tagged, "en"), "en")
    return _SPACED_PERCENT.sub("%", written) if written else text
