"""The user's hotwords and rules files (``Vocabulary``) and the dialog that edits them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tingxie.desktop.i18n import Texts
from tingxie.desktop.vocabulary import Vocabulary, check_rules, comment_out
from tingxie.engine.text.rules import Rules


def vocabulary(tmp_path: Path) -> Vocabulary:
    return Vocabulary.in_data_dir(tmp_path / "data")


def test_hotwords_follow_the_file_also_when_edited_by_hand(tmp_path: Path) -> None:
    v = vocabulary(tmp_path)
    assert v.hotwords() == () and v.hotwords_text() == ""
    assert v.save_hotwords("听写\n# a comment\n阿里巴巴 20\nmachine  learning") == (
        "听写", "阿里巴巴", "machine learning")
    assert v.hotwords_path == tmp_path / "data" / "hotwords.txt"
    assert v.hotwords() == ("听写", "阿里巴巴", "machine learning")
    v.hotwords_path.write_text("北京\n", encoding="utf-8")  # edited by hand
    os.utime(v.hotwords_path, ns=(1, 1))  # even within the clock's resolution: a new time
    assert v.hotwords() == ("北京",)
    v.hotwords_path.unlink()
    assert v.hotwords() == ()


def test_an_unreadable_hotwords_file_keeps_the_words_last_read(tmp_path: Path) -> None:
    v = vocabulary(tmp_path)
    v.save_hotwords("听写")
    assert v.hotwords() == ("听写",)
    v.hotwords_path.write_bytes(b"\xff\xfe\x00bad")
    os.utime(v.hotwords_path, ns=(2, 2))
    assert v.hotwords() == ("听写",)


def test_rules_with_bad_lines_are_saved_with_those_lines_as_comments(tmp_path: Path) -> None:
    v = vocabulary(tmp_path)
    text = "毫安时 = mAh\nno separator here\nre: ([ = x\n\nre: (艾特)(\\w+) = @\\2"
    errors = check_rules(text)
    assert [(e.line, e.text) for e in errors] == [(2, "no separator here"), (3, "re: ([ = x")]
    assert all(e.reason for e in errors)
    saved = v.save_rules(text)
    assert [str(e) for e in saved.errors] == [str(e) for e in errors] and saved.rules == 2
    on_disk = v.rules_path.read_text(encoding="utf-8")
    assert on_disk == saved.text == (
        "毫安时 = mAh\n# no separator here\n# re: ([ = x\n\nre: (艾特)(\\w+) = @\\2\n")
    rules = Rules.load(v.rules_path)
    assert rules.errors == () and rules.apply("5000毫安时，艾特tingxie") == "5000mAh，@tingxie"
    assert v.rules_text() == on_disk
    assert comment_out("a = b\n", ()) == "a = b\n"


def test_the_rules_file_may_be_the_command_lines(tmp_path: Path) -> None:
    elsewhere = tmp_path / "my-rules.txt"
    v = Vocabulary.in_data_dir(tmp_path / "data", rules=elsewhere)
    v.save_rules("a = b")
    assert elsewhere.read_text(encoding="utf-8") == "a = b\n"
    assert not (tmp_path / "data" / "rules.txt").exists()


# --- the dialog --------------------------------------------------------------------------


def dialog(qtbot: Any, v: Vocabulary, language: str = "en", **kwargs: Any) -> Any:
    from tingxie.desktop.vocabulary_dialog import VocabularyDialog

    d = VocabularyDialog(v, Texts(language), **kwargs)
    qtbot.addWidget(d)
    return d


def test_the_dialog_lists_each_bad_rule_line_with_its_number_and_why(
    qtbot: Any, tmp_path: Path
) -> None:
    d = dialog(qtbot, vocabulary(tmp_path))
    assert d.error_texts() == [] and d.rule_errors.isHidden()
    d.rules_edit.setPlainText("好 = 好的\nnot a rule\nre: (unclosed = x")
    qtbot.waitUntil(lambda: len(d.error_texts()) == 2)  # once typing pauses
    errors = d.error_texts()
    assert errors[0].startswith("Line 2: ") and errors[0].endswith("— not a rule")
    assert errors[1].startswith("Line 3: ") and "(unclosed" in errors[1]
    assert not d.rule_errors.isHidden()
    assert d.rules_count.text() == "1 rule(s)"
    d.rules_edit.setPlainText("好 = 好的")
    qtbot.waitUntil(lambda: d.error_texts() == [])
    assert d.rule_errors.isHidden()


def test_saving_good_rules_and_hotwords_closes_the_dialog(qtbot: Any, tmp_path: Path) -> None:
    v = vocabulary(tmp_path)
    d = dialog(qtbot, v)
    d.hotwords_edit.setPlainText("听写\n北京")
    assert d.hotwords_count.text() == "2 hotword(s)"
    d.rules_edit.setPlainText("四四 = 44")
    with qtbot.waitSignal(d.accepted, timeout=1000):
        d.save()
    assert d.saved_ok
    assert v.hotwords() == ("听写", "北京")
    assert Rules.load(v.rules_path).apply("四四") == "44"
    again = dialog(qtbot, v)  # opened again: the files' content
    assert again.hotwords_edit.toPlainText() == "听写\n北京\n"
    assert again.rules_edit.toPlainText() == "四四 = 44\n"


def test_saving_with_bad_lines_keeps_the_good_ones_and_tells_the_user(
    qtbot: Any, tmp_path: Path
) -> None:
    v = vocabulary(tmp_path)
    d = dialog(qtbot, v)
    d.show()
    d.rules_edit.setPlainText("四四 = 44\noops")
    d.save()
    assert d.isVisible() and d.saved_ok  # stays open: the user must see what happened
    assert d.rules_edit.toPlainText() == "四四 = 44\n# oops\n"
    assert d.error_texts() == []  # nothing bad left in the text
    status = d.status.text()
    assert status.startswith("Saved: 1 rule(s) apply.") and "Line 2: " in status and "oops" in status
    assert Rules.load(v.rules_path).apply("四四") == "44"


def test_a_file_that_cannot_be_written_is_told(qtbot: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    d = dialog(qtbot, Vocabulary.in_data_dir(blocker))
    d.show()
    d.hotwords_edit.setPlainText("听写")
    d.save()
    assert d.isVisible() and not d.saved_ok
    assert d.status.text().startswith("Could not save: ")


def test_the_dialog_in_chinese_shows_the_command_lines_hotwords(
    qtbot: Any, tmp_path: Path
) -> None:
    d = dialog(qtbot, vocabulary(tmp_path), language="zh", fixed_hotwords=("达摩院", "通义"))
    assert d.windowTitle() == "热词和替换规则"
    assert d.fixed_hotwords.text() == "命令行另外指定：达摩院 通义"
    assert not d.fixed_hotwords.isHidden()
    d.rules_edit.setPlainText("x")
    qtbot.waitUntil(lambda: len(d.error_texts()) == 1)
    assert d.error_texts()[0].startswith("第 1 行：")
