"""The second pass's recognizer on FunASR's real code (synthetic SeACo-Paraformer and
Paraformer, random weights): the tokens ``decode_segment`` gives and their text are what
``AutoModel(model=DIR).generate`` gives, hotwords reach SeACo's bias as ``hotword=`` does."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tingxie.engine import synthetic
from tingxie.engine.errors import ModelLoadError
from tingxie.engine.funasr_backend import OfflineDecoder, load_offline

pytestmark = pytest.mark.slow

OFFLINE = ("paraformer-zh", "paraformer")


def automodel(path: Path) -> Any:
    from tingxie.engine.funasr_backend import _funasr

    funasr = _funasr()
    with contextlib.redirect_stdout(sys.stderr):
        return funasr.AutoModel(
            model=str(path), disable_update=True, disable_pbar=True, disable_log=True, ncpu=1
        )


@pytest.fixture(scope="module")
def decoders(second_pass_model_dirs: dict[str, Path]) -> dict[str, OfflineDecoder]:
    return {
        m: load_offline(second_pass_model_dirs[m], name=m, threads=1, precision="fp32")
        for m in OFFLINE
    }


@pytest.fixture(scope="module")
def references(second_pass_model_dirs: dict[str, Path]) -> dict[str, Any]:
    return {m: automodel(second_pass_model_dirs[m]) for m in OFFLINE}


def generated_text(reference: Any, audio: np.ndarray, hotwords: list[str]) -> str:
    kwargs = {"hotword": " ".join(hotwords)} if hotwords else {}
    results = reference.generate(input=audio, **kwargs)
    return results[0]["text"] if results else ""  # SeACo gives no result for no tokens


def signal(seed: int, seconds: float) -> np.ndarray:
    return synthetic.speechlike(seed, seconds).astype(np.float32) / 32768.0


VOCABULARY = synthetic.tokens(synthetic.SIZES["tiny"].vocab)[3:-1]
hotword_lists = st.lists(
    st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=4).map("".join), max_size=4
)


@pytest.mark.parametrize("model", OFFLINE)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 1000),
    seconds=st.sampled_from([0.3, 1.5, 4.0, 9.0]),
    hotwords=hotword_lists,
)
def test_tokens_and_text_are_funasrs(
    decoders: dict[str, OfflineDecoder], references: dict[str, Any], model: str,
    seed: int, seconds: float, hotwords: list[str],
) -> None:
    audio = signal(seed, seconds)
    tokens = decoders[model].decode_segment(audio, hotwords)
    assert decoders[model].text([t.text for t in tokens]) == generated_text(
        references[model], audio, hotwords
    )
    assert all(0.0 < t.probability <= 1.0 for t in tokens)


def test_seaco_takes_hotwords_and_they_change_its_text(decoders: dict[str, OfflineDecoder]) -> None:
    seaco, plain = decoders["paraformer-zh"], decoders["paraformer"]
    assert seaco.takes_hotwords and not plain.takes_hotwords
    audio = signal(7, 4.0)
    bare = [t.text for t in seaco.decode_segment(audio, [])]
    changed = [
        hotwords
        for hotwords in (["一丁"], ["七万", "丈三"], ["下不与丐"])
        if [t.text for t in seaco.decode_segment(audio, hotwords)] != bare
    ]
    assert changed  # the bias is applied (random weights: some hotwords change the text)
    # the plain Paraformer has no bias: hotwords change nothing
    assert plain.decode_segment(audio, ["一丁"]) == plain.decode_segment(audio, [])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(
        st.one_of(
            st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=4).map("".join),
            st.sampled_from(["hello", "TCP", "a1", "一a", "12", "一 丁", "  "]),
        ),
        max_size=5,
    )
)
def test_hotword_ids_are_seacos_own(decoders: dict[str, OfflineDecoder], words: list[str]) -> None:
    seaco = decoders["paraformer-zh"]
    loaded = seaco.automodel
    joined = " ".join(words)
    expected = None
    if joined.split():
        expected = loaded.model.generate_hotwords_list(
            joined, tokenizer=loaded.kwargs["tokenizer"], frontend=loaded.kwargs["frontend"]
        )
    assert seaco.hotword_ids(words) == expected


def test_a_hotword_that_names_a_file_or_url_stays_a_word(
    decoders: dict[str, OfflineDecoder], tmp_path: Path
) -> None:
    listing = tmp_path / "words.txt"
    listing.write_text("一丁\n七万\n", encoding="utf-8")
    ids = decoders["paraformer-zh"].hotword_ids([str(listing), "http://127.0.0.1:9/x.txt"])
    assert ids is not None and len(ids) == 3  # two words (unknown tokens) and <s>


def test_the_torch_thread_count_is_given_back(second_pass_model_dirs: dict[str, Path]) -> None:
    import torch

    decoder = load_offline(second_pass_model_dirs["paraformer-zh"], name="x", threads=2)
    torch.set_num_threads(1)
    decoder.decode_segment(signal(1, 2.0), [])
    assert torch.get_num_threads() == 1


def test_int8_quantizes_the_linear_layers_and_still_decodes(
    second_pass_model_dirs: dict[str, Path], decoders: dict[str, OfflineDecoder]
) -> None:
    from tingxie.engine.funasr_backend.int8 import Int8Linear

    int8 = load_offline(second_pass_model_dirs["paraformer-zh"], name="x", threads=1, precision="int8")
    assert int8.info.precision == "int8" and not int8.info.streaming
    assert any(isinstance(m, Int8Linear) for m in int8.automodel.model.modules())
    audio = signal(3, 4.0)
    fp32 = [t.text for t in decoders["paraformer-zh"].decode_segment(audio, [])]
    tokens = [t.text for t in int8.decode_segment(audio, [])]
    # the same number of tokens (the CIF predictor stays fp32), mostly the same ones
    assert len(tokens) == len(fp32) > 0
    assert sum(a == b for a, b in zip(tokens, fp32)) >= len(fp32) // 2


def test_other_models_are_refused(
    tmp_path: Path, tiny_model_dir: Path, second_pass_model_dirs: dict[str, Path]
) -> None:
    with pytest.raises(ModelLoadError, match="not an offline Paraformer"):
        load_offline(tiny_model_dir, name="paraformer-zh-streaming")
    with pytest.raises(ModelLoadError, match="not an offline Paraformer"):
        load_offline(second_pass_model_dirs["ct-punc"], name="ct-punc")
    with pytest.raises(ModelLoadError, match="no config.yaml"):
        load_offline(tmp_path, name="empty")
