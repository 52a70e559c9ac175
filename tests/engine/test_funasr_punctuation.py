"""The punctuation model on FunASR's real code (synthetic ct-punc, random weights): the text
``punctuate`` gives is ``AutoModel(model=PUNC).generate(input=text)``'s, for Chinese text
(characters and the model's words, spaced per character as SeACo writes it, or not), mixed
with English words, and long enough to span several of its 20-word mini-sentences."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tingxie.engine import synthetic
from tingxie.engine.errors import ModelLoadError
from tingxie.engine.funasr_backend import CTPunctuator, load_punctuator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def punctuator(second_pass_model_dirs: dict[str, Path]) -> CTPunctuator:
    return load_punctuator(second_pass_model_dirs["ct-punc"], name="ct-punc", threads=1)


@pytest.fixture(scope="module")
def reference(second_pass_model_dirs: dict[str, Path]) -> Any:
    from tingxie.engine.funasr_backend import _funasr

    funasr = _funasr()
    with contextlib.redirect_stdout(sys.stderr):
        return funasr.AutoModel(
            model=str(second_pass_model_dirs["ct-punc"]), disable_update=True,
            disable_pbar=True, disable_log=True, ncpu=1,
        )


@pytest.fixture(scope="module")
def words(second_pass_model_dirs: dict[str, Path]) -> list[str]:
    lines = (second_pass_model_dirs["ct-punc"] / "jieba_usr_dict").read_text(encoding="utf-8")
    return [line.split()[0] for line in lines.splitlines()[:200]]


CHARACTERS = synthetic.tokens(synthetic.SIZES["tiny"].vocab)[3:-1]
ENGLISH = ["hello", "world", "TCP", "ok", "it's"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), spaced=st.booleans(), length=st.integers(1, 70))
def test_the_text_is_funasrs(
    punctuator: CTPunctuator, reference: Any, words: list[str], data: st.DataObject,
    spaced: bool, length: int,
) -> None:
    pieces = data.draw(
        st.lists(
            st.one_of(st.sampled_from(CHARACTERS), st.sampled_from(words), st.sampled_from(ENGLISH)),
            min_size=length, max_size=length,
        )
    )
    text = " ".join(pieces) if spaced else "".join(
        f" {p} " if p.isascii() else p for p in pieces
    ).strip()
    assert punctuator.punctuate(text) == reference.generate(input=text)[0]["text"]


def test_long_text_is_punctuated_whole(punctuator: CTPunctuator, words: list[str]) -> None:
    text = "".join(words[:60])  # about 180 characters: several mini-sentences
    result = punctuator.punctuate(text)
    assert "".join(c for c in result if c not in "，。？、") == text
    assert sum(c in "，。？、" for c in result) >= 3
    assert result[-1] in "。？"


def test_words_come_from_its_vocabulary(second_pass_model_dirs: dict[str, Path]) -> None:
    vocabulary = json.loads((second_pass_model_dirs["ct-punc"] / "tokens.json").read_text("utf-8"))
    # every character any synthetic recognizer writes is a token, so no text becomes <unk>
    assert set(synthetic.tokens(synthetic.SIZES["full"].vocab)[3:-1]) <= set(vocabulary)


def test_empty_text_stays_empty(punctuator: CTPunctuator, reference: Any) -> None:
    for text in ("", "  "):
        assert punctuator.punctuate(text) == reference.generate(input=text)[0]["text"] == ""


def test_other_models_are_refused(second_pass_model_dirs: dict[str, Path]) -> None:
    with pytest.raises(ModelLoadError, match="not a punctuation model"):
        load_punctuator(second_pass_model_dirs["fsmn-vad"], name="fsmn-vad")
