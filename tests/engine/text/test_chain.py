"""TextChain: ITN, tidy-up and rules in order, on the real grammars."""

from __future__ import annotations

import re
import threading
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tingxie.engine.text.chain import TextChain
from tingxie.engine.text.rules import Rules
from tingxie.engine.text.tidy import CJK

SAID = "今天是二零二四年三月五号,我们下午三点二十分开会."


def test_every_step_in_order() -> None:
    chain = TextChain(rules=Rules.parse("毫安时 = mAh\nre: (\\d+) 年 = \\1年"))
    assert chain.finish(SAID) == "今天是 2024年 3 月 5 号，我们下午 3:20 开会。"
    # rules see the tidied ITN output
    assert chain.finish("充电宝有一万毫安时") == "充电宝有 10000 mAh"


def test_each_step_can_be_off() -> None:
    assert TextChain(itn=False).finish(SAID) == "今天是二零二四年三月五号，我们下午三点二十分开会。"
    assert TextChain().finish(SAID, itn=False) == TextChain(itn=False).finish(SAID)
    untidy = TextChain(punctuation=False, spacing=False, final_stop_units=0)
    assert untidy.finish(SAID) == "今天是2024年3月5号,我们下午3:20开会."
    plain = TextChain.build(itn=False, tidy=False)
    assert plain.finish(" " + SAID + " ") == SAID


def test_short_phrases_lose_their_final_stop() -> None:
    assert TextChain().finish("好的。") == "好的"
    assert TextChain(final_stop_units=0).finish("好的。") == "好的。"


def test_english_through_a_chinese_chain() -> None:
    said = "I have twenty three apples and one hundred and five pears."
    assert TextChain().finish(said) == "I have 23 apples and 105 pears."
    assert TextChain(language="en").finish(said) == "I have 23 apples and 105 pears."
    assert TextChain().finish("Twenty three.") == "Twenty three"  # a short phrase


def test_build_reads_the_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.txt"
    path.write_text("甲 = 乙\nre: ( = x\n", encoding="utf-8")
    chain = TextChain.build(rules_file=path)
    assert chain.finish("甲方") == "乙方"
    assert [e.line for e in chain.rules.errors] == [2]
    edited = chain.with_rules(Rules.parse("甲 = 丙"))
    assert edited.finish("甲方") == "丙方" and chain.finish("甲方") == "乙方"
    with pytest.raises(OSError):
        TextChain.build(rules_file=tmp_path / "absent.txt")


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError):
        TextChain(language="fr")


def test_chains_are_values() -> None:
    assert TextChain() == TextChain() and hash(TextChain()) == hash(TextChain())
    assert TextChain(itn=False) != TextChain()


def test_one_chain_serves_many_threads() -> None:
    chain = TextChain()
    chain.load()
    sentences = [f"我有{n}个苹果" for n in ("一百二十三", "三十", "两千", "五十六")]
    expected = [chain.finish(s) for s in sentences]
    results: list[list[str]] = []

    def work() -> None:
        results.append([chain.finish(s) for s in sentences * 10])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected * 10] * 4
    assert expected[0] == "我有 123 个苹果"


_CJK = re.compile(f"[{CJK}]")
_PLAIN = "你好我们的是在有人这中大为上国和要出会也对生能而子那得着下自过发后作里用道行所然家"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_without_itn_and_rules_no_chinese_character_is_lost(text: str) -> None:
    out = TextChain(itn=False).finish(text)
    assert Counter(_CJK.findall(out)) == Counter(_CJK.findall(text))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=_PLAIN + " ,.?!，。abc\n", max_size=60))
def test_with_itn_text_without_numerals_keeps_every_chinese_character(text: str) -> None:
    out = TextChain().finish(text)
    assert _CJK.findall(out) == _CJK.findall(text)
