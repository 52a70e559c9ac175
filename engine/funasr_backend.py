"""The FunASR streaming Paraformer backend: the only module that imports funasr and torch.

``load`` builds FunASR's ``AutoModel`` from a local directory (never a download: the
loader resolves names to directories first) and wraps it in a ``ParaformerDecoder``, a
``ChunkDecoder`` that runs FunASR's own streaming steps (feature extraction with the
frontend cache, ``encode_chunk``, ``calc_predictor_chunk``,
``cal_decoder_with_predictor_chunk``, greedy search) exactly as
``ParaformerStreaming.inference`` does, but also keeps each token's probability.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import numpy.typing as npt

from .errors import ModelLoadError
from .loader import PRECISIONS
from .interface import ModelInfo
from .streaming import Token

log = logging.getLogger(__name__)

# FunASR's documented streaming setting: 600 ms chunks with 300 ms look-ahead.
CHUNK_SIZE = (0, 10, 5)
ENCODER_CHUNK_LOOK_BACK = 4
DECODER_CHUNK_LOOK_BACK = 1

_import_lock = threading.Lock()


def _funasr() -> Any:
    """Import funasr once (5-8 s, ~500 MB) on first use, never at Tingxie's import time.

    funasr prints banners to stdout while importing and loading; they go to stderr so that
    stdout stays the program's own (``tingxie transcribe`` prints only the text there).
    """
    with _import_lock, contextlib.redirect_stdout(sys.stderr):
        import funasr

        return funasr


class ParaformerDecoder:
    """A ``ChunkDecoder`` around a loaded FunASR ``ParaformerStreaming`` model."""

    def __init__(self, automodel: Any, info: ModelInfo, threads: int = 1) -> None:
        import torch

        self._torch = torch
        self._threads = max(1, threads)
        self._threads_now = torch.get_num_threads()
        self._automodel = automodel
        self._model = automodel.model
        self._kwargs = dict(automodel.kwargs)
        self._frontend = self._kwargs["frontend"]
        self._tokenizer = self._kwargs["tokenizer"]
        self._device = self._kwargs.get("device", "cpu")
        self.info = info
        self.chunk_samples = CHUNK_SIZE[1] * 960  # 960 samples = one 60 ms encoder frame
        from funasr.utils.load_utils import extract_fbank
        from funasr.utils.postprocess_utils import sentence_postprocess

        self._extract_fbank = extract_fbank
        self._postprocess = sentence_postprocess
        self._skip = {self._model.sos, self._model.eos, self._model.blank_id}

    def set_streams(self, streams: int) -> None:
        """Choose torch's intra-op threads for the decodes about to run, given how many
        utterances have work. Measured on 2 cores (docs/performance.md): a single live
        speaker's release→final is fastest on one thread (the pool's wake-up after each
        pause costs more than the second core gains), several utterances decoded together
        are fastest on all of ``threads``."""
        want = 1 if streams <= 1 else self._threads
        if want != self._threads_now:
            self._torch.set_num_threads(want)
            self._threads_now = want

    @property
    def automodel(self) -> Any:
        """FunASR's ``AutoModel``, for parity checks against ``generate``."""
        return self._automodel

    def new_state(self) -> Any:
        cache: dict[str, Any] = {}
        self._model.init_cache(
            cache,
            chunk_size=list(CHUNK_SIZE),
            encoder_chunk_look_back=ENCODER_CHUNK_LOOK_BACK,
            decoder_chunk_look_back=DECODER_CHUNK_LOOK_BACK,
            encoder_conf=self._kwargs["encoder_conf"],
            frontend_conf=self._kwargs["frontend_conf"],
        )
        return cache

    def decode(
        self, state: Any, samples: npt.NDArray[np.float32], is_final: bool
    ) -> list[Token]:
        torch = self._torch
        model = self._model
        with torch.no_grad():
            audio = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
            if is_final and len(audio) < 960:
                # Too short for a frame: flush what the encoder already buffered.
                state["encoder"]["tail_chunk"] = True
                speech = state["encoder"]["feats"]
                lengths = torch.tensor([speech.shape[1]], dtype=torch.int64)
            else:
                speech, lengths = self._extract_fbank(
                    [audio],
                    data_type="sound",
                    frontend=self._frontend,
                    cache=state["frontend"],
                    is_final=is_final,
                )
            speech = speech.to(device=self._device)
            lengths = lengths.to(device=self._device)
            encoder_out, _ = model.encode_chunk(speech, lengths, cache=state, is_final=is_final)
            if isinstance(encoder_out, tuple):
                encoder_out = encoder_out[0]
            return self._predict_and_decode(encoder_out, state, is_final=is_final)

    def _predict_and_decode(self, encoder_out: Any, state: Any, *, is_final: bool) -> list[Token]:
        """CIF predictor and decoder for one utterance's encoded chunk, then greedy search:
        ``ParaformerStreaming.generate_chunk``, keeping each token's probability."""
        torch = self._torch
        model = self._model
        with torch.no_grad():
            encoder_lens = torch.tensor([encoder_out.size(1)])
            predictor = model.calc_predictor_chunk(
                encoder_out, encoder_lens, cache=state, is_final=is_final
            )
            embeds, token_count = predictor[0], predictor[1].round().long()
            if torch.max(token_count) < 1:
                return []
            decoder_out, _ = model.cal_decoder_with_predictor_chunk(
                encoder_out, encoder_lens, embeds, token_count, cache=state
            )
            scores = decoder_out[0, : token_count[0], :]  # log-softmax per position
            best, ids = scores.max(dim=-1)
            probabilities = best.exp().tolist()
            ids_list = ids.tolist()
        kept = [(i, p) for i, p in zip(ids_list, probabilities) if i not in self._skip]
        texts = self._tokenizer.ids2tokens([i for i, _ in kept])
        return [Token(t, p) for t, (_, p) in zip(texts, kept)]

    def decode_many(
        self, items: Sequence[tuple[Any, npt.NDArray[np.float32]]]
    ) -> list[list[Token]]:
        """Decode the next full chunk of several utterances: features, predictor and decoder
        per utterance, the encoder (most of the compute) once for each group of utterances
        whose encoder caches have the same shape (same number of chunks seen, up to the
        look-back of 4). Same tokens as ``decode`` on each in turn."""
        torch = self._torch
        results: list[list[Token]] = [[] for _ in items]
        groups: dict[tuple[Any, ...], list[int]] = {}
        speech: list[Any] = []
        with torch.no_grad():
            for i, (state, samples) in enumerate(items):
                audio = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
                feats, lengths = self._extract_fbank(
                    [audio], data_type="sound", frontend=self._frontend,
                    cache=state["frontend"], is_final=False,
                )
                if self._model.normalize is not None:  # as encode_chunk does
                    feats, lengths = self._model.normalize(feats, lengths)
                speech.append(feats.to(device=self._device))
                groups.setdefault(self._encoder_shape(state, feats), []).append(i)
            for members in groups.values():
                states = [items[i][0] for i in members]
                encoded = self._encode_together([speech[i] for i in members], states)
                for row, i in enumerate(members):
                    results[i] = self._predict_and_decode(
                        encoded[row : row + 1], states[row], is_final=False
                    )
        return results

    @staticmethod
    def _encoder_shape(state: Any, feats: Any) -> tuple[Any, ...]:
        """Utterances can share an encoder call when these are equal."""
        opt = state["encoder"]["opt"]
        cached = None if opt is None else tuple(c["k"].shape[2] for c in opt if c is not None)
        return (feats.shape[1], cached, state["encoder"]["tail_chunk"])

    def _encode_together(self, speeches: list[Any], states: list[Any]) -> Any:
        """``SANMEncoderChunkOpt.forward_chunk`` for a batch: position encoding and overlap
        per utterance (each has its own position and carried frames), the layers on the
        stacked batch with the per-layer look-back caches stacked and split again."""
        torch = self._torch
        encoder = self._model.encoder
        scale = encoder.output_size() ** 0.5
        rows = []
        for feats, state in zip(speeches, states):
            x = encoder.embed(feats * scale, state["encoder"])
            rows.append(encoder._add_overlap_chunk(x, state["encoder"]))
        xs = torch.cat(rows, dim=0)
        layers = list(encoder.encoders0) + list(encoder.encoders)
        enc0 = states[0]["encoder"]
        chunk_size, look_back = enc0["chunk_size"], enc0["encoder_chunk_look_back"]
        caches = [s["encoder"]["opt"] or [None] * len(layers) for s in states]
        for index, layer in enumerate(layers):
            cache = None
            if caches[0][index] is not None:
                cache = {
                    key: torch.cat([c[index][key] for c in caches], dim=0) for key in ("k", "v")
                }
            xs, cache = layer.forward_chunk(xs, cache, chunk_size, look_back)
            for row, c in enumerate(caches):
                c[index] = {key: cache[key][row : row + 1] for key in ("k", "v")}
        if encoder.normalize_before:
            xs = encoder.after_norm(xs)
        if look_back > 0 or look_back == -1:
            for state, c in zip(states, caches):
                state["encoder"]["opt"] = c
        return xs

    def text(self, tokens: Sequence[str]) -> str:
        if not tokens:
            return ""
        text, _ = self._postprocess(list(tokens))
        return str(text)


def load(
    path: Path,
    *,
    name: str,
    device: str = "cpu",
    threads: Optional[int] = None,
    precision: str = "fp32",
) -> ParaformerDecoder:
    """Load a streaming Paraformer from a local model directory.

    ``precision="int8"`` quantizes the weights of every Linear layer to int8 (dynamic
    quantization: activations stay float); CPU only. See docs/performance.md for its speed
    and its agreement with fp32.

    Raises ``ModelLoadError`` when the directory is not a loadable streaming model.
    """
    if precision not in PRECISIONS:
        raise ModelLoadError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision == "int8" and not device.startswith("cpu"):
        raise ModelLoadError("int8 precision runs on the CPU only; use --precision fp32 on GPUs")
    funasr = _funasr()
    ncpu = threads or min(os.cpu_count() or 1, 4)
    weights = path / "model.pt"
    on_cpu = device.startswith("cpu")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            automodel = funasr.AutoModel(
                model=str(path),
                device=device,
                ncpu=ncpu,
                disable_update=True,
                disable_pbar=True,
                disable_log=True,
                # On the CPU the weights are loaded below, memory-mapped: FunASR's own loader
                # holds three copies of them at once (3 GB peak for the 0.9 GB model).
                **({"init_param": None} if on_cpu else {}),
            )
        if on_cpu:
            _load_weights_mapped(automodel.model, weights)
    except ModelLoadError:
        raise
    except Exception as exc:  # funasr raises anything from KeyError to AssertionError
        raise ModelLoadError(f"cannot load the model in {path}: {exc}") from exc
    model_class = type(automodel.model).__name__
    if not hasattr(automodel.model, "encode_chunk"):
        raise ModelLoadError(
            f"{name} ({model_class}) is not a streaming model; Tingxie's FunASR engine needs "
            "a streaming Paraformer such as paraformer-zh-streaming"
        )
    if precision == "int8":
        if on_cpu:
            _copy_out_of_file(automodel.model)
        _quantize_linear_layers(automodel.model)
    _return_freed_memory()
    info = ModelInfo(
        name=name,
        backend="funasr",
        path=str(path),
        streaming=True,
        device=device,
        precision=precision,
    )
    return ParaformerDecoder(automodel, info, threads=ncpu)


def _load_weights_mapped(model: Any, weights: Path) -> None:
    """Load ``weights`` into ``model`` without copies: the checkpoint is memory-mapped and
    its tensors become the model's parameters (``assign=True``), so the file's pages are
    the only copy. Keys may carry a ``module.`` prefix (checkpoints saved from DDP), as
    FunASR's own loader allows. Raises ``ModelLoadError`` when the checkpoint does not fit."""
    import pickle

    import torch

    errors = (RuntimeError, pickle.UnpicklingError, OSError, EOFError, ValueError)
    try:
        loaded = torch.load(weights, map_location="cpu", mmap=True, weights_only=True)
    except errors:
        try:  # checkpoints in torch's legacy (pre-zip) format cannot be memory-mapped
            loaded = torch.load(weights, map_location="cpu", weights_only=True)
        except errors as exc:
            raise ModelLoadError(f"cannot read the weights {weights}: {exc}") from exc
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(loaded, dict) and key in loaded and isinstance(loaded[key], dict):
            loaded = loaded[key]
    own = model.state_dict()
    state = {}
    for name, tensor in own.items():
        source = loaded.get(name, loaded.get("module." + name))
        if source is None or tuple(source.shape) != tuple(tensor.shape):
            raise ModelLoadError(
                f"{weights} does not fit the model in config.yaml: "
                f"{'no' if source is None else 'a differently shaped'} tensor for {name}"
            )
        state[name] = source
    model.load_state_dict(state, strict=True, assign=True)
    model.eval()


def _copy_out_of_file(model: Any) -> None:
    """Before int8 quantization: copy every tensor that quantization keeps (all but the
    Linear weights, which it replaces by int8 copies) out of the memory-mapped checkpoint,
    so that afterwards nothing refers to the mapping and the fp32 file is released."""
    import torch

    with torch.no_grad():
        for module in model.modules():
            for name, param in list(module.named_parameters(recurse=False)):
                if isinstance(module, torch.nn.Linear) and name == "weight":
                    continue
                module._parameters[name] = torch.nn.Parameter(
                    param.detach().clone(), requires_grad=False
                )
            for name, buf in list(module.named_buffers(recurse=False)):
                if buf is not None:
                    module._buffers[name] = buf.clone()


def _return_freed_memory() -> None:
    """Give memory freed while loading back to the OS (glibc keeps it in its heap)."""
    import gc

    gc.collect()  # FunASR's model objects hold reference cycles
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass


def _quantize_linear_layers(model: Any) -> None:
    """Replace every ``nn.Linear`` by a dynamically quantized int8 one, in place."""
    import warnings

    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # per-tensor quantization deprecation notice
        quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


def write_random_weights(model_dir: Path, seed: int) -> int:
    """Build the model described by ``model_dir``'s config with FunASR's own classes,
    initialised randomly from ``seed``, and save its state_dict as ``model.pt``.

    Returns the number of parameters.
    """
    funasr = _funasr()
    import torch

    with contextlib.redirect_stdout(sys.stderr):
        automodel = funasr.AutoModel(
            model=str(model_dir),
            device="cpu",
            ncpu=1,
            seed=seed,  # AutoModel seeds torch/numpy/random itself before building
            disable_update=True,
            disable_pbar=True,
            disable_log=True,
        )
    model = automodel.model
    torch.save(model.state_dict(), model_dir / "model.pt")
    return sum(p.numel() for p in model.parameters())
