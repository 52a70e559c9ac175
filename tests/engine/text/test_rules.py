"""Replacement rules: the file format, bad lines, catastrophic regexes."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tingxie.engine.errors import EngineError
from tingxie.engine.text import rules as rules_module
from tingxie.engine.text.rules import RuleError, Rules

EXAMPLE = r"""
# units
毫安时 = mAh
赫兹      =      Hz

re: (艾特)\s*(\w+)\s*点\s*(\w+)    =     @\2.\3
re: [，。]?换行[，。]? = \n
\[breath\] =
C++ = C plus plus
等号 = =
"""


def test_literal_and_regex_rules_apply_in_order() -> None:
    rules = Rules.parse(EXAMPLE)
    assert rules.errors == () and len(rules) == 7
    assert rules.apply("充电宝有一万毫安时，频率五十赫兹") == "充电宝有一万mAh，频率五十Hz"
    assert rules.apply("发到艾特 gmail 点 com") == "发到@gmail.com"
    assert rules.apply("第一行，换行。第二行") == "第一行\n第二行"
    assert rules.apply(r"你好\[breath\]") == "你好"  # literal: brackets and backslashes as written
    assert rules.apply("学C++") == "学C plus plus"
    assert rules.apply("等号") == "="


def test_a_rule_sees_what_the_previous_one_left() -> None:
    rules = Rules.parse("甲 = 乙\n乙 = 丙")
    assert rules.apply("甲乙") == "丙丙"


def test_literal_replacements_take_newline_tab_and_backslash_escapes() -> None:
    rules = Rules.parse(
        r"回车 = \n" + "\n" + r"制表 = \t" + "\n" + r"反斜 = \\" + "\n" + r"别的 = \q"
    )
    assert rules.apply("回车制表反斜别的") == "\n\t\\\\q"


def test_regex_rules_may_ignore_case() -> None:
    assert Rules.parse("re: (?i)ollama = Ollama").apply("run OLLAMA and ollama") == (
        "run Ollama and Ollama"
    )


def test_comments_blank_lines_bom_and_crlf() -> None:
    rules = Rules.parse("\ufeff# note\r\n\r\n  甲 = 乙  \r\n   # indented comment\r\n")
    assert len(rules) == 1 and rules.errors == ()
    assert rules.apply("甲") == "乙"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("re: (艾特 = @", "bad regex"),
        ("re: [a-", "no ' = '"),
        ("没有等号", "no ' = '"),
        ("甲=乙", "no ' = '"),  # the = needs spaces around it
        (" = 乙", "nothing to find"),
        (r"re: (a)(b) = \3", "bad replacement"),
        (r"re: (?P<x>a) = \g<y>", "bad replacement"),
        (r"re: a = \q", "bad replacement"),
    ],
)
def test_a_bad_line_is_reported_with_its_number_and_the_others_apply(
    line: str, reason: str
) -> None:
    rules = Rules.parse(f"# first\n甲 = 乙\n{line}\n丙 = 丁\n", source="hot-rule.txt")
    assert len(rules) == 2
    assert rules.apply("甲丙") == "乙丁"
    (error,) = rules.errors
    assert isinstance(error, RuleError) and isinstance(error, EngineError)
    assert error.line == 3 and error.source == "hot-rule.txt" and reason in error.reason
    assert str(error).startswith(f"hot-rule.txt line 3: {reason}")


def test_load_reads_a_file_and_reads_it_again_after_an_edit(tmp_path: Path) -> None:
    path = tmp_path / "rules.txt"
    path.write_text("甲 = 乙\nre: ( = x\n", encoding="utf-8")
    first = Rules.load(path)
    assert first.apply("甲") == "乙" and [e.line for e in first.errors] == [2]
    assert first.source == str(path)
    path.write_text("甲 = 丙\n", encoding="utf-8")
    again = Rules.load(path)
    assert again.apply("甲") == "丙" and again.errors == ()
    assert first.apply("甲") == "乙"  # rules already read do not change


def test_load_refuses_a_missing_or_non_utf8_file(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        Rules.load(tmp_path / "absent.txt")
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("毫安时 = mAh".encode("gbk"))
    with pytest.raises(UnicodeDecodeError):
        Rules.load(gbk)


def test_a_catastrophic_regex_is_stopped_and_leaves_the_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rules = Rules.parse("甲 = 乙\nre: (a|aa)+$ = x\n丙 = 丁")
    text = "甲" + "a" * 40 + "b丙"
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=rules_module.__name__):
        out = rules.apply(text)
    assert out == "乙" + "a" * 40 + "b丁"
    assert time.monotonic() - started < 10 * rules_module.REGEX_TIMEOUT_S + 1
    assert "line 2" in caplog.text and "stopped" in caplog.text


def test_no_rules_change_nothing() -> None:
    assert Rules().apply("你好") == "你好" and len(Rules.parse("# only comments\n")) == 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(max_size=60))
def test_parsing_any_text_and_applying_to_any_text_never_raises(source: str, text: str) -> None:
    rules = Rules.parse(source)
    assert isinstance(rules.apply(text), str)
    assert all(isinstance(e, RuleError) and e.line >= 1 for e in rules.errors)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="ab()|*+?.^$[]\\{}=: 1甲", min_size=1, max_size=20), st.text(max_size=40))
def test_any_regex_line_is_a_rule_or_an_error(pattern: str, text: str) -> None:
    rules = Rules.parse(f"re: {pattern} = x")
    assert len(rules) + len(rules.errors) == 1
    assert isinstance(rules.apply(text), str)
