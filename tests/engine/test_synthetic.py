"""``python -m tingxie.engine.synthetic``: every model of the 2-pass chain, in the layout of
its ModelScope download, loads in FunASR's own ``AutoModel`` and runs ``generate``; ``full``
is the published architecture."""

from __future__ import annotations

import contextlib
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tingxie.engine import synthetic

pytestmark = pytest.mark.slow


def automodel(path: Path) -> Any:
    from tingxie.engine.funasr_backend import _funasr

    funasr = _funasr()
    with contextlib.redirect_stdout(sys.stderr):
        return funasr.AutoModel(
            model=str(path), disable_update=True, disable_pbar=True, disable_log=True, ncpu=1
        )


def audio(seed: int = 1, seconds: float = 3.0) -> np.ndarray:
    return synthetic.speechlike(seed, seconds).astype(np.float32) / 32768.0


FILES = {
    "paraformer-zh-streaming": {"config.yaml", "configuration.json", "tokens.json", "am.mvn", "model.pt"},
    "paraformer-zh": {"config.yaml", "configuration.json", "tokens.json", "am.mvn", "model.pt", "seg_dict"},
    "paraformer": {"config.yaml", "configuration.json", "tokens.json", "am.mvn", "model.pt"},
    "ct-punc": {"config.yaml", "configuration.json", "tokens.json", "jieba_usr_dict", "model.pt"},
    "fsmn-vad": {"config.yaml", "configuration.json", "am.mvn", "model.pt"},
}

MODEL_CLASS = {
    "paraformer-zh-streaming": "ParaformerStreaming",
    "paraformer-zh": "SeacoParaformer",
    "paraformer": "Paraformer",
    "ct-punc": "CTTransformer",
    "fsmn-vad": "FsmnVADStreaming",
}


@pytest.mark.parametrize("size", ["tiny", "small"])
@pytest.mark.parametrize("model", synthetic.MODELS)
def test_each_model_is_written_in_its_layout_and_funasr_runs_it(
    tmp_path: Path, model: str, size: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / model
    assert synthetic.main([str(out), "--model", model, "--size", size, "--seed", "2"]) == 0
    assert f"wrote {size} {model}" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == FILES[model]
    config = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert config["model"] == MODEL_CLASS[model]
    meta = json.loads((out / "configuration.json").read_text())["file_path_metas"]
    for name in (meta["init_param"], meta["config"]):
        assert (out / name).is_file()

    loaded = automodel(out)
    assert type(loaded.model).__name__ == MODEL_CLASS[model]
    if model == "ct-punc":
        text = "".join(synthetic.tokens(1000)[3:40])
        result = loaded.generate(input=text)[0]["text"]
        # the punctuation model keeps the words and ends the text with a stop
        assert "".join(c for c in result if c not in "，。？、") == text
        assert result[-1] in "。？"
        assert "<unk>" not in result
    elif model == "fsmn-vad":
        segments = loaded.generate(input=audio(seconds=4.0))[0]["value"]
        assert all(0 <= a < b <= 4000 for a, b in segments)
    elif model == "paraformer-zh-streaming":
        cache: dict[str, Any] = {}
        speech = audio()
        texts = [
            loaded.generate(input=speech[i : i + 9600], cache=cache, is_final=i + 9600 >= len(speech),
                            chunk_size=[0, 10, 5], encoder_chunk_look_back=4,
                            decoder_chunk_look_back=1)[0]["text"]
            for i in range(0, len(speech), 9600)
        ]
        assert "".join(texts)
    else:
        vocabulary = set(json.loads((out / "tokens.json").read_text(encoding="utf-8")))
        text = loaded.generate(input=audio())[0]["text"]
        assert text and set(text.replace(" ", "")) <= vocabulary


def test_the_same_seed_writes_the_same_model(tmp_path: Path) -> None:
    for name in ("a", "b"):
        synthetic.write_model(tmp_path / name, "paraformer-zh", "tiny", seed=5)
    for file in FILES["paraformer-zh"] - {"model.pt"}:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    first = automodel(tmp_path / "a").generate(input=audio(), hotword="一丁")[0]["text"]
    assert automodel(tmp_path / "b").generate(input=audio(), hotword="一丁")[0]["text"] == first


def test_seaco_reads_hotwords_through_seg_dict(tmp_path: Path) -> None:
    out = tmp_path / "seaco"
    synthetic.write_model(out, "paraformer-zh", "tiny", seed=0)
    loaded = automodel(out)
    ids = loaded.model.generate_hotwords_list(
        "一丁 七万", tokenizer=loaded.kwargs["tokenizer"], frontend=loaded.kwargs["frontend"]
    )
    unk = loaded.kwargs["tokenizer"].tokens2ids(["<unk>"])[0]
    assert len(ids) == 3 and all(unk not in word for word in ids)  # every character known
    assert [len(w) for w in ids] == [2, 2, 1]


def test_the_default_command_still_writes_the_streaming_model(tmp_path: Path) -> None:
    out = tmp_path / "model"
    done = subprocess.run(
        [sys.executable, "-m", "tingxie.engine.synthetic", str(out), "--size", "tiny"],
        capture_output=True, text=True, check=True,
    )
    assert "paraformer-zh-streaming" in done.stdout
    config = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert config["model"] == "ParaformerStreaming"


def test_the_real_fsmn_vad_is_copied_from_its_package(tmp_path: Path) -> None:
    out = tmp_path / "vad"
    params = synthetic.write_model(out, "fsmn-vad", real_weights=True)
    assert params == 428_738
    source = synthetic.real_vad_dir()
    assert source is not None
    assert (out / "model.pt").read_bytes() == (source / "model.pt").read_bytes()
    # the synthetic fsmn-vad has the real one's config and tensors
    synthetic.write_model(tmp_path / "random", "fsmn-vad", "tiny", seed=0)
    import torch

    real = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    fake = torch.load(tmp_path / "random" / "model.pt", map_location="cpu", weights_only=True)
    assert {k: tuple(v.shape) for k, v in real.items()} == {k: tuple(v.shape) for k, v in fake.items()}
    real_config = yaml.safe_load((source / "config.yaml").read_text())
    assert synthetic.vad_config() == real_config


def test_unknown_models_and_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        synthetic.main([str(tmp_path), "--model", "whisper"])
    with pytest.raises(ValueError):
        synthetic.write_model(tmp_path, "paraformer-zh", "huge")
    with pytest.raises(SystemExit):
        synthetic.main([str(tmp_path), "--model", "ct-punc", "--real-weights"])


def parameters(model: str, size: str) -> int:
    """The parameter count of ``model`` at ``size``, built by FunASR's own classes on torch's
    meta device (no memory, no weights)."""
    import torch

    from tingxie.engine.funasr_backend import _funasr

    _funasr()
    from funasr.register import tables
    from funasr.utils.misc import deep_update

    config = copy.deepcopy(synthetic.model_config(model, size))
    sizes = synthetic.PUNC_SIZES if model == "ct-punc" else synthetic.SIZES
    config["vocab_size"] = sizes[size].vocab
    config["input_size"] = synthetic.VAD_FEATURE_DIM if model == "fsmn-vad" else synthetic.FEATURE_DIM
    kwargs: dict[str, Any] = {}
    deep_update(kwargs, config.get("model_conf", {}))
    deep_update(kwargs, config)
    with torch.device("meta"):
        built = tables.model_classes.get(config["model"])(**kwargs)
    return sum(p.numel() for p in built.parameters())


@pytest.mark.parametrize(
    ("model", "published"),
    [
        ("paraformer-zh-streaming", 220.1e6),  # paraformer-zh-streaming: 220M
        ("paraformer-zh", 247.3e6),  # SeACo-Paraformer-large
        ("paraformer", 220.1e6),  # Paraformer-large: 220M
        ("ct-punc", 73.0e6),  # punc_ct-transformer_zh-cn-common-vocab272727
        ("fsmn-vad", 428_738),  # the real weights' count, exactly
    ],
)
def test_full_is_the_published_architecture(model: str, published: float) -> None:
    count = parameters(model, "full")
    assert abs(count - published) < (1 if model == "fsmn-vad" else 0.05e6)
    config = synthetic.model_config(model, "full")
    if model != "fsmn-vad":
        assert config["encoder_conf"]["num_blocks"] == (4 if model == "ct-punc" else 50)
