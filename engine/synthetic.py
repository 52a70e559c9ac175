"""Synthetic models: a real paraformer-zh-streaming model directory with random weights.

``python -m tingxie.engine.synthetic OUT_DIR --size tiny|small|full`` writes ``config.yaml``,
``configuration.json``, ``tokens.json``, ``am.mvn`` and ``model.pt`` in the layout of the
ModelScope download, so the same loading code serves real and synthetic models. ``full``
is the exact 220M architecture of paraformer-zh-streaming; ``small`` and ``tiny`` are fast
fixtures for tests. Everything is deterministic (fixed seed, ``dither: 0``).

The text a synthetic model produces is meaningless but fully determined by the audio, which
is what tests of the pipeline need.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .interface import SAMPLE_RATE

FEATURE_DIM = 80 * 7  # n_mels * lfr_m


@dataclass(frozen=True)
class Size:
    width: int
    encoder_blocks: int
    decoder_blocks: int
    linear_units: int
    heads: int
    vocab: int


SIZES = {
    # the published paraformer-zh-streaming (FunASR paraformer_streaming template)
    "full": Size(width=512, encoder_blocks=50, decoder_blocks=16, linear_units=2048, heads=4, vocab=8404),
    "small": Size(width=128, encoder_blocks=12, decoder_blocks=4, linear_units=512, heads=4, vocab=8404),
    "tiny": Size(width=64, encoder_blocks=2, decoder_blocks=1, linear_units=128, heads=2, vocab=1000),
}


def config(size: Size) -> dict[str, Any]:
    """The config.yaml contents of paraformer-zh-streaming, scaled to ``size``."""
    return {
        "model": "ParaformerStreaming",
        "model_conf": {
            "ctc_weight": 0.0,
            "lsm_weight": 0.1,
            "length_normalized_loss": True,
            "predictor_weight": 1.0,
            "predictor_bias": 1,
            "sampling_ratio": 0.75,
        },
        "encoder": "SANMEncoderChunkOpt",
        "encoder_conf": {
            "output_size": size.width,
            "attention_heads": size.heads,
            "linear_units": size.linear_units,
            "num_blocks": size.encoder_blocks,
            "dropout_rate": 0.1,
            "positional_dropout_rate": 0.1,
            "attention_dropout_rate": 0.1,
            "input_layer": "pe_online",
            "pos_enc_class": "SinusoidalPositionEncoder",
            "normalize_before": True,
            "kernel_size": 11,
            "sanm_shfit": 0,
            "selfattention_layer_type": "sanm",
            "chunk_size": [12, 15],
            "stride": [8, 10],
            "pad_left": [0, 0],
            "encoder_att_look_back_factor": [4, 4],
            "decoder_att_look_back_factor": [1, 1],
        },
        "decoder": "ParaformerSANMDecoder",
        "decoder_conf": {
            "attention_heads": size.heads,
            "linear_units": size.linear_units,
            "num_blocks": size.decoder_blocks,
            "dropout_rate": 0.1,
            "positional_dropout_rate": 0.1,
            "self_attention_dropout_rate": 0.1,
            "src_attention_dropout_rate": 0.1,
            "att_layer_num": size.decoder_blocks,
            "kernel_size": 11,
            "sanm_shfit": 5,  # sic: FunASR 1.4's classes spell it so
        },
        "predictor": "CifPredictorV2",
        "predictor_conf": {
            "idim": size.width,
            "threshold": 1.0,
            "l_order": 1,
            "r_order": 1,
            "tail_threshold": 0.45,
        },
        "frontend": "WavFrontendOnline",
        "frontend_conf": {
            "fs": SAMPLE_RATE,
            "window": "hamming",
            "n_mels": 80,
            "frame_length": 25,
            "frame_shift": 10,
            "lfr_m": 7,
            "lfr_n": 6,
            "dither": 0.0,
        },
        "specaug": None,
        "normalize": None,
        "input_size": FEATURE_DIM,
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True},
    }


def tokens(vocab: int) -> list[str]:
    """blank, <s>, </s>, then common CJK characters, and <unk> last (the real layout)."""
    chars = [chr(0x4E00 + i) for i in range(vocab - 4)]
    return ["<blank>", "<s>", "</s>", *chars, "<unk>"]


def am_mvn(seed: int) -> str:
    """Kaldi nnet1 global CMVN (``<AddShift>`` then ``<Rescale>``, 560 values each), with
    shifts and scales in the range real fbank statistics have."""
    rng = np.random.default_rng(seed)
    shift = -rng.uniform(8.0, 14.0, FEATURE_DIM)
    scale = rng.uniform(0.2, 0.4, FEATURE_DIM)

    def row(values: np.ndarray) -> str:
        return "[ " + " ".join(f"{v:.6f}" for v in values) + " ]"

    return (
        "<Nnet>\n"
        f"<Splice> {FEATURE_DIM} {FEATURE_DIM}\n[ 0 ]\n"
        f"<AddShift> {FEATURE_DIM} {FEATURE_DIM}\n<LearnRateCoef> 0 {row(shift)}\n"
        f"<Rescale> {FEATURE_DIM} {FEATURE_DIM}\n<LearnRateCoef> 0 {row(scale)}\n"
        "</Nnet>\n"
    )


def speechlike(seed: int, seconds: float) -> np.ndarray:
    """Deterministic 16 kHz int16 test audio to go with a synthetic model: voiced bursts
    (a tone plus noise) and pauses, so that chunks differ the way speech chunks do."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    envelope = (np.sin(2 * np.pi * rng.uniform(0.5, 3) * t) > -0.2).astype(np.float32)
    voice = np.sin(2 * np.pi * rng.uniform(120, 300) * t) + 0.5 * rng.standard_normal(n)
    return (np.clip(0.25 * envelope * voice, -1, 1) * 32767).astype(np.int16)


CONFIGURATION = {
    "framework": "pytorch",
    "task": "auto-speech-recognition",
    "model": {"type": "funasr"},
    "pipeline": {"type": "funasr-pipeline"},
    "file_path_metas": {
        "init_param": "model.pt",
        "config": "config.yaml",
        "tokenizer_conf": {"token_list": "tokens.json"},
        "frontend_conf": {"cmvn_file": "am.mvn"},
    },
}


def write(out_dir: Path, size: str = "tiny", seed: int = 0) -> int:
    """Write a synthetic model of ``size`` into ``out_dir``; returns its parameter count."""
    import yaml

    spec = SIZES[size]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.yaml").write_text(
        yaml.safe_dump(config(spec), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    (out_dir / "configuration.json").write_text(json.dumps(CONFIGURATION, indent=2))
    (out_dir / "tokens.json").write_text(
        json.dumps(tokens(spec.vocab), ensure_ascii=False), encoding="utf-8"
    )
    (out_dir / "am.mvn").write_text(am_mvn(seed))
    model_pt = out_dir / "model.pt"
    if model_pt.exists():
        model_pt.unlink()
    from .funasr_backend import write_random_weights

    return write_random_weights(out_dir, seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tingxie.engine.synthetic",
        description="Write a paraformer-zh-streaming model directory with random weights.",
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    params = write(args.out_dir, args.size, args.seed)
    print(f"wrote {args.size} model ({params:,} parameters) to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
