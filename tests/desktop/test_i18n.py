import re
import string

import pytest

from tingxie.desktop.i18n import LANGUAGES, Texts, choose_language, keys


@pytest.mark.parametrize(
    ("setting", "locale", "expected"),
    [("auto", "zh_CN", "zh"), ("auto", "en_US", "en"), ("auto", "C", "en"), ("en", "zh_CN", "en"),
     ("zh", "de_DE", "zh"), ("bogus", "zh_TW", "zh")],
)
def test_choose_language(setting: str, locale: str, expected: str) -> None:
    assert choose_language(setting, locale) == expected


def test_every_text_has_both_languages_with_the_same_placeholders() -> None:
    fields = lambda s: sorted(f for _, f, _, _ in string.Formatter().parse(s) if f)
    en, zh = Texts("en"), Texts("zh")
    for key in keys():
        assert fields(_raw(key, 0)) == fields(_raw(key, 1)), key
        assert re.search(r"[\u4e00-\u9fff]", _raw(key, 1)), key
    assert en("state_listening") != zh("state_listening")
    assert zh("latency", ms=123.4, rtf=0.156) == "松开到出字：123 毫秒 · 实时率 0.16"
    assert LANGUAGES == ("en", "zh")


def _raw(key: str, index: int) -> str:
    from tingxie.desktop import i18n

    return i18n._TEXT[key][index]
