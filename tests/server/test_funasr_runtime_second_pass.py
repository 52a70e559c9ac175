"""FunASR's ``2pass`` and ``offline`` over ``/`` with the real second pass: synthetic
SeACo-Paraformer, CT-Transformer punctuation and fsmn-vad directories (real configs and
layouts, random weights) loaded through FunASR's code, beside the tiny streaming model.
Each segment's finished text must be the refined final a session gives for its audio,
hotwords included."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import numpy.typing as npt
import pytest

from tingxie.engine.handle import EngineHandle
from tingxie.engine.interface import Recognizer
from tingxie.engine.second_pass import Refinement

from ..funasr_client import frames, recognize, run
from .conftest import StartServer
from .test_funasr_runtime import silence, url, voiced

AUDIO = np.concatenate([voiced(1, 1.5), silence(1.0), voiced(2, 1.5), silence(0.2)])
CUT = int(2.3 * 16000)  # 0.8 s into the pause


@pytest.fixture(scope="module")
def refining(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recognizer]:
    from tingxie.engine import synthetic
    from tingxie.engine.loader import EngineConfig, load_recognizer

    base = tmp_path_factory.mktemp("second-pass")
    for model in ("paraformer-zh", "ct-punc", "fsmn-vad"):
        synthetic.write_model(base / model, model, "tiny", seed=0)
    recognizer = load_recognizer(EngineConfig(
        model=str(tiny_model_dir), refine=str(base / "paraformer-zh"), punc=str(base / "ct-punc"),
        vad=str(base / "fsmn-vad"), itn=True, threads=1, precision="fp32"))
    assert recognizer.second_pass is not None and not recognizer.second_pass.problems
    yield recognizer
    recognizer.close()


def refined_final(recognizer: Recognizer, audio: npt.NDArray[np.int16],
                  hotwords: Optional[tuple[str, ...]]) -> str:
    session = recognizer.open_session()
    try:
        for frame in frames(audio.tobytes()):
            session.feed(frame)
        result = session.finish(Refinement(itn=True, hotwords=hotwords)).result(timeout=60)
        assert result.refined and result.text
        return result.text
    finally:
        session.close()


@pytest.mark.parametrize("hotwords, words", [("", None),
                                             ('{"阿里巴巴": 20, "达摩院": 10}', ("阿里巴巴", "达摩院")),
                                             ("阿里巴巴,达摩院", ("阿里巴巴", "达摩院"))])
def test_2pass_segments_are_the_refined_finals(
    start_server: StartServer, refining: Recognizer, hotwords: str,
    words: Optional[tuple[str, ...]],
) -> None:
    server = start_server(handle=EngineHandle.ready(refining))
    transcript = run(recognize(url(server), AUDIO, mode="2pass", hotwords=hotwords))
    expected = [refined_final(refining, AUDIO[:CUT], words),
                refined_final(refining, AUDIO[CUT:], words)]
    assert transcript.texts("2pass-offline") == expected
    assert transcript.acknowledgement is not None and transcript.acknowledgement["is_final"]


def test_hotwords_change_the_offline_text(start_server: StartServer, refining: Recognizer) -> None:
    server = start_server(handle=EngineHandle.ready(refining))
    plain = run(recognize(url(server), AUDIO, mode="offline"))
    biased = run(recognize(url(server), AUDIO, mode="offline", hotwords="阿里巴巴 达摩院"))
    assert plain.texts("offline") == [refined_final(refining, AUDIO, None)]
    assert biased.texts("offline") == [refined_final(refining, AUDIO, ("阿里巴巴", "达摩院"))]
    assert plain.texts("offline") != biased.texts("offline")  # not silently ignored
