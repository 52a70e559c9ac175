"""Parity of the second pass with FunASR's own offline chain, on FunASR's real code
(synthetic models, random weights): at fp32, without ITN, the text the second pass gives
an utterance is ``AutoModel(model=OFFLINE, punc_model=PUNC).generate(input=audio[,
hotword=" ".join(hotwords)])[0]["text"]``, token for token (funasr 1.4.16 punctuates without
a VAD model); directly (``SecondPass``) and through ``load_recognizer`` and a session."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.speech import SENTENCES, synthesize
from tingxie.engine import synthetic
from tingxie.engine.audio import read_audio_file
from tingxie.engine.funasr_backend import load_offline, load_punctuator
from tingxie.engine.interface import Recognizer
from tingxie.engine.loader import EngineConfig, load_recognizer
from tingxie.engine.second_pass import Refinement, SecondPass

pytestmark = pytest.mark.slow

OFFLINE = ("paraformer-zh", "paraformer")
VOCABULARY = synthetic.tokens(synthetic.SIZES["tiny"].vocab)[3:-1]
hotword_lists = st.lists(
    st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3).map("".join), max_size=3
)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """Real speech (flite, 16 kHz int16): three single sentences and two of them joined."""
    root = tmp_path_factory.mktemp("parity-speech")
    spoken = [read_audio_file(synthesize(s, root / f"{i}.wav")) for i, s in enumerate(SENTENCES[:3])]
    return [*spoken, np.concatenate([spoken[0], np.zeros(8000, np.int16), spoken[1]])]


def utterance(recordings: list[np.ndarray], source: int, seed: int) -> np.ndarray:
    """One of the recordings, or (``source`` past them) a synthetic signal of 1-10 s."""
    if source < len(recordings):
        return recordings[source]
    return synthetic.speechlike(seed, 1.0 + seed % 10)


@pytest.fixture(scope="module")
def references(second_pass_model_dirs: dict[str, Path]) -> dict[str, Any]:
    """FunASR's own offline chain for each offline model."""
    from tingxie.engine.funasr_backend import _funasr

    funasr = _funasr()
    with contextlib.redirect_stdout(sys.stderr):
        return {
            m: funasr.AutoModel(
                model=str(second_pass_model_dirs[m]), punc_model=str(second_pass_model_dirs["ct-punc"]),
                disable_update=True, disable_pbar=True, disable_log=True, ncpu=1,
            )
            for m in OFFLINE
        }


def funasr_text(reference: Any, samples: np.ndarray, hotwords: list[str]) -> str:
    kwargs = {"hotword": " ".join(hotwords)} if hotwords else {}
    results = reference.generate(input=samples.astype(np.float32) / 32768.0, **kwargs)
    return results[0]["text"] if results else ""  # SeACo gives no result for no tokens


@pytest.fixture(scope="module")
def second_passes(second_pass_model_dirs: dict[str, Path]) -> dict[str, SecondPass]:
    punctuator = load_punctuator(second_pass_model_dirs["ct-punc"], name="ct-punc", threads=1)
    return {
        m: SecondPass(
            load_offline(second_pass_model_dirs[m], name=m, threads=1, precision="fp32"),
            punctuator,
            None,
            finisher=None,
        )
        for m in OFFLINE
    }


@pytest.mark.parametrize("model", OFFLINE)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.integers(0, 6), seed=st.integers(0, 10_000), hotwords=hotword_lists)
def test_the_second_pass_gives_funasrs_text(
    recordings: list[np.ndarray], references: dict[str, Any], second_passes: dict[str, SecondPass],
    model: str, source: int, seed: int, hotwords: list[str],
) -> None:
    samples = utterance(recordings, source, seed)
    second = second_passes[model]
    options = second.options(Refinement(itn=False, hotwords=tuple(hotwords)))
    assert second.cuts(samples) == [(0, len(samples))]  # one segment, as generate decodes it
    refined = second.finish("", [], second.decode(samples, options), options)
    assert refined.refined
    assert refined.text == funasr_text(references[model], samples, hotwords)


@pytest.fixture(scope="module")
def recognizer(tiny_model_dir: Path, second_pass_model_dirs: dict[str, Path]) -> Iterator[Recognizer]:
    recognizer = load_recognizer(
        EngineConfig(
            model=str(tiny_model_dir), refine=str(second_pass_model_dirs["paraformer-zh"]),
            punc=str(second_pass_model_dirs["ct-punc"]), vad=None, itn=False,
            precision="fp32", threads=1,
        )
    )
    yield recognizer
    recognizer.close()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.integers(0, 6), seed=st.integers(0, 10_000), hotwords=hotword_lists)
def test_a_sessions_final_is_funasrs_text(
    recordings: list[np.ndarray], references: dict[str, Any], recognizer: Recognizer,
    source: int, seed: int, hotwords: list[str],
) -> None:
    samples = utterance(recordings, source, seed)
    session = recognizer.open_session()
    try:
        for i in range(0, len(samples), 1600):  # 100 ms pieces, as a microphone sends them
            session.feed(samples[i : i + 1600])
        final = session.finish(Refinement(hotwords=tuple(hotwords))).result(timeout=120)
    finally:
        session.close()
    assert final.is_final and final.refined
    assert final.text == funasr_text(references["paraformer-zh"], samples, hotwords)
