"""The second pass's text steps as the loader builds them: real wetext grammars, the user's
rules file re-read when it changes."""

from __future__ import annotations

import os
from pathlib import Path

from tingxie.engine.text_steps import finisher_for


def test_numbers_become_digits_without_spaces_around_them_in_chinese() -> None:
    steps = finisher_for(itn=True, language="zh", rules=None)
    assert steps.finish("我有一百二十三个苹果") == "我有123个苹果"
    assert steps.finish("我们用python写代码") == "我们用 python 写代码"


def test_itn_can_be_turned_off_for_one_utterance() -> None:
    steps = finisher_for(itn=True, language="zh", rules=None)
    assert steps.finish("一百二十三", itn=False) == "一百二十三"
    assert finisher_for(itn=False, language="zh", rules=None).finish("一百二十三") == "一百二十三"


def test_a_language_without_grammars_is_tidied_not_normalized() -> None:
    steps = finisher_for(itn=True, language="ja", rules=None)
    assert steps.chain.itn is False
    assert steps.finish("  東京へ行きます ") == "東京へ行きます"


def test_the_final_stop_of_a_short_phrase_goes_only_when_asked() -> None:
    assert finisher_for(itn=True, language="zh", rules=None).finish("好的。") == "好的。"
    assert finisher_for(itn=True, language="zh", rules=None, drop_final_stop=8).finish("好的。") == "好的"


def test_edited_rules_apply_at_the_next_utterance(tmp_path: Path) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text("听写 = Tingxie\n", encoding="utf-8")
    steps = finisher_for(itn=True, language="zh", rules=rules)
    assert steps.finish("打开听写") == "打开Tingxie"  # the replacement as written: rules run last
    rules.write_text("听写 = TX\n", encoding="utf-8")
    os.utime(rules, (1, 1))  # a new mtime even within the file system's resolution
    assert steps.finish("打开听写") == "打开TX"
    rules.unlink()
    assert steps.finish("打开听写") == "打开听写"
