"""Hotwords from strings and files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tingxie.engine.text import hotwords as hotwords_module
from tingxie.engine.text.hotwords import (
    MAX_HOTWORDS,
    load_hotwords,
    parse_hotwords,
    read_hotwords,
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("阿里巴巴 达摩院", ("阿里巴巴", "达摩院")),
        (
            "阿里巴巴,达摩院，通义、千问;魔搭；FunASR",
            ("阿里巴巴", "达摩院", "通义", "千问", "魔搭", "FunASR"),
        ),
        ("  阿里巴巴 \n 达摩院\t\t通义  ", ("阿里巴巴", "达摩院", "通义")),
        ("阿里巴巴 达摩院 阿里巴巴", ("阿里巴巴", "达摩院")),
        ("Python python PYTHON", ("Python",)),
        ('{"阿里巴巴": 20, "达摩院": 10}', ("阿里巴巴", "达摩院")),
        ("{not json", ("{not", "json")),
        ("", ()),
        (" ,、 ", ()),
    ],
)
def test_parse_hotwords(text: str, words: tuple[str, ...]) -> None:
    assert parse_hotwords(text) == words


def test_read_hotwords_from_a_file_content() -> None:
    content = (
        "\ufeff# names\n"
        "阿里巴巴 20\n"
        "达摩院\n"
        "\n"
        "machine   learning\n"
        "通义千问\t15\n"
        "C#\n"
        "  # indented comment\n"
        "达摩院 30\n"
    )
    assert read_hotwords(content) == ("阿里巴巴", "达摩院", "machine learning", "通义千问", "C#")


def test_a_trailing_number_is_a_weight() -> None:
    assert read_hotwords("GPT 4\nGPT-4\n2024\n") == ("GPT", "GPT-4", "2024")


def test_load_hotwords_reads_an_existing_file_and_parses_anything_else(tmp_path: Path) -> None:
    path = tmp_path / "hot.txt"
    path.write_text("阿里巴巴 20\nmachine learning\n", encoding="utf-8")
    assert load_hotwords(str(path)) == ("阿里巴巴", "machine learning")
    assert load_hotwords(path) == ("阿里巴巴", "machine learning")
    assert load_hotwords(str(tmp_path / "absent.txt")) == (str(tmp_path / "absent.txt"),)
    assert load_hotwords("阿里巴巴 达摩院") == ("阿里巴巴", "达摩院")
    assert load_hotwords(None) == () and load_hotwords("  ") == ()
    with pytest.raises(OSError):
        load_hotwords(tmp_path / "absent.txt")


def test_too_many_hotwords_are_cut_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    many = " ".join(f"词{i}" for i in range(MAX_HOTWORDS + 50))
    with caplog.at_level(logging.WARNING, logger=hotwords_module.__name__):
        words = parse_hotwords(many)
    assert words == tuple(f"词{i}" for i in range(MAX_HOTWORDS))
    assert f"{MAX_HOTWORDS + 50} hotwords" in caplog.text


@given(st.text(max_size=200))
def test_any_string_gives_distinct_words_without_separators(text: str) -> None:
    words = parse_hotwords(text)
    assert len({w.casefold() for w in words}) == len(words) <= MAX_HOTWORDS
    assert all(w and not any(c.isspace() or c in ",，、;；" for c in w) for w in words)


@given(st.text(max_size=200))
def test_any_file_content_gives_distinct_single_line_words(content: str) -> None:
    words = read_hotwords(content)
    assert len({w.casefold() for w in words}) == len(words)
    assert all(w and w == w.strip() and "\n" not in w and not w.startswith("#") for w in words)
