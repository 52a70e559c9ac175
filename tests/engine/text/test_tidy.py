"""Tidy-up: full-width punctuation, spacing between Chinese and Latin text, the final stop."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tingxie.engine.text.tidy import (
    CJK,
    drop_final_stop,
    fullwidth_punctuation,
    space_cjk_latin,
    tidy,
)


@pytest.mark.parametrize(
    ("text", "tidied"),
    [
        ("你好,世界", "你好，世界"),
        ("你好 , 世界", "你好，世界"),
        ("真的吗?", "真的吗？"),
        ("什么?!", "什么？！"),
        ("注意:明天开会;别迟到!", "注意：明天开会；别迟到！"),
        ("我们用Python.", "我们用Python。"),  # ends a Chinese sentence
        ("我用Python, 你呢", "我用Python，你呢"),
        ("Hello, 你好", "Hello，你好"),
        ("版本1.5的", "版本1.5的"),  # inside numbers
        ("下午3:20开会", "下午3:20开会"),
        ("比分是3:2.", "比分是3:2。"),
        ("等一下...", "等一下..."),  # an ellipsis
        ("Hello, world. How are you?", "Hello, world. How are you?"),  # English
        ("我喜欢Hello, World这首歌", "我喜欢Hello, World这首歌"),  # a comma between Latin words
        ("Hello world.\n你好.", "Hello world.\n你好。"),
        ("你好，世界。", "你好，世界。"),
        ("好的 。 ", "好的。"),
    ],
)
def test_fullwidth_punctuation(text: str, tidied: str) -> None:
    assert fullwidth_punctuation(text) == tidied


@pytest.mark.parametrize(
    ("text", "spaced"),
    [
        ("我用Python写代码", "我用 Python 写代码"),
        ("我有123个苹果", "我有 123 个苹果"),
        ("增长了50%的用户", "增长了 50% 的用户"),
        ("体重30kg左右", "体重 30kg 左右"),
        ("今天38.5°的高温", "今天 38.5° 的高温"),
        ("花了$100买的", "花了 $100 买的"),
        ("下午3:20开会", "下午 3:20 开会"),
        ("发到john@gmail.com吧", "发到 john@gmail.com 吧"),
        ("我用 Python 写", "我用 Python 写"),  # already spaced
        ("你好，Python。", "你好，Python。"),  # nothing next to punctuation
        ("ASCII text only 123", "ASCII text only 123"),
        ("日本語とEnglish", "日本語と English"),
        ("Café很好", "Café 很好"),
    ],
)
def test_space_cjk_latin(text: str, spaced: str) -> None:
    assert space_cjk_latin(text) == spaced


def test_digits_can_stay_unspaced() -> None:
    assert space_cjk_latin("我用Python写了100行", digits=False) == "我用 Python 写了100行"
    assert space_cjk_latin("增长50%的", digits=False) == "增长50%的"


@pytest.mark.parametrize(
    ("text", "units", "result"),
    [
        ("好的。", 8, "好的"),
        ("好的，我马上到。", 8, "好的，我马上到"),  # 7 units
        ("我们明天下午三点开会。", 8, "我们明天下午三点开会。"),  # 10 units
        ("我们明天下午三点开会。", 10, "我们明天下午三点开会"),
        ("OK.", 8, "OK"),
        ("See you tomorrow.", 8, "See you tomorrow"),  # a Latin word counts two
        ("See you tomorrow at noon.", 8, "See you tomorrow at noon."),
        ("用 Python 3.11 写。", 8, "用 Python 3.11 写"),
        ("我们用 Python 3.11 写代码。", 8, "我们用 Python 3.11 写代码。"),  # 10 units
        ("真的吗？", 8, "真的吗？"),  # other marks stay
        ("好的！", 8, "好的！"),
        ("等一下...", 8, "等一下..."),
        ("等一下。。", 8, "等一下。。"),
        ("好的。", 0, "好的。"),  # 0: never
        ("他说“好的”。", 8, "他说“好的”"),
        ("好的。\n", 8, "好的\n"),
        ("", 8, ""),
        ("。", 8, "。"),
    ],
)
def test_drop_final_stop(text: str, units: int, result: str) -> None:
    assert drop_final_stop(text, units) == result


def test_tidy_runs_all_three_in_order() -> None:
    assert tidy("我用python写了100行,好吗?") == "我用 python 写了 100 行，好吗？"
    assert tidy("好的.") == "好的"
    assert (
        tidy("现在是2024年3月5号下午3:20,我们开会.")
        == "现在是 2024 年 3 月 5 号下午 3:20，我们开会。"
    )


def test_tidy_steps_can_be_turned_off() -> None:
    text = "我用python写了100行,好的."
    assert tidy(text, punctuation=False, spacing=False, final_stop_units=0) == text
    assert tidy(text, spacing=False) == "我用python写了100行，好的。"
    assert tidy("好的.", punctuation=False) == "好的"


_TEXT = st.text(
    alphabet=st.sampled_from(
        list("你好我们的是。，！？、：；,.?!:; \t\n\"'”）abcXYZ0123456789%$°.-")
    ),
    max_size=40,
)
_KEPT = re.compile(f"[{CJK}A-Za-z0-9]")


@settings(max_examples=300, deadline=None)
@given(_TEXT, st.integers(min_value=0, max_value=12), st.booleans(), st.booleans())
def test_tidy_is_idempotent(text: str, units: int, spacing: bool, digits: bool) -> None:
    once = tidy(text, spacing=spacing, space_digits=digits, final_stop_units=units)
    assert tidy(once, spacing=spacing, space_digits=digits, final_stop_units=units) == once


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TEXT, st.text(max_size=40)), st.integers(min_value=0, max_value=12))
def test_tidy_keeps_every_letter_digit_and_chinese_character(text: str, units: int) -> None:
    assert _KEPT.findall(tidy(text, final_stop_units=units)) == _KEPT.findall(text)
