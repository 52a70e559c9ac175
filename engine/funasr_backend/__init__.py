"""The FunASR backend: the only package that imports funasr and torch.

``load`` builds FunASR's ``AutoModel`` from a local directory (never a download: the
loader resolves names to directories first) and wraps it in a ``ParaformerDecoder``, a
``ChunkDecoder`` that runs FunASR's own streaming steps (feature extraction with the
frontend cache, ``encode_chunk``, ``calc_predictor_chunk``,
``cal_decoder_with_predictor_chunk``, greedy search) exactly as
``ParaformerStreaming.inference`` does, but also keeps each token's probability
(``decoder``); ``batched`` runs those steps for several utterances in one pass.

The second pass's models load the same way: ``load_offline`` (an offline Paraformer or
SeACo-Paraformer, ``offline``), ``load_punctuator`` (CT-Transformer, ``punctuation``) and
``load_segmenter`` (fsmn-vad, ``segmenter``), each running FunASR's own steps.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from ..interface import ModelInfo
from ..precision import choose_precision
from .decoder import ParaformerDecoder
from .offline import OfflineDecoder, load_offline
from .punctuation import CTPunctuator, load_punctuator
from .segmenter import FsmnSegmenter, load_segmenter

__all__ = [
    "CTPunctuator",
    "FsmnSegmenter",
    "OfflineDecoder",
    "ParaformerDecoder",
    "load",
    "load_offline",
    "load_punctuator",
    "load_segmenter",
    "parameter_count",
    "write_random_weights",
]

log = logging.getLogger(__name__)

_import_lock = threading.Lock()


def _funasr() -> Any:
    """Import funasr once (5-8 s, ~500 MB) on first use, never at Tingxie's import time.

    funasr prints banners to stdout while importing and loading; they go to stderr so that
    stdout stays the program's own (``tingxie transcribe`` prints only the text there).
    """
    with _import_lock, contextlib.redirect_stdout(sys.stderr):
        import funasr

        return funasr


def load(
    path: Path,
    *,
    name: str,
    device: str = "cpu",
    threads: int | None = None,
    precision: str = "fp32",
) -> ParaformerDecoder:
    """Load a streaming Paraformer from a local model directory.

    ``precision="int8"`` runs the Linear layers in int8 (``int8.Int8Linear``: weights
    per output channel, activations quantized at run time, per row when utterances share a
    call); CPU only. See
    docs/performance.md for its speed and its agreement with fp32.

    Raises ``ModelLoadError`` when the directory is not a loadable streaming model.
    """
    precision = choose_precision(precision, device)
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
    weights of the Linear layers it replaces by int8 ones) out of the memory-mapped
    checkpoint, so that afterwards nothing refers to the mapping and the fp32 file is
    released."""
    import torch

    from .int8 import will_quantize

    with torch.no_grad():
        for module in model.modules():
            for name, param in list(module.named_parameters(recurse=False)):
                if will_quantize(module) and name == "weight":
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
    """Replace every ``nn.Linear`` by an ``int8.Int8Linear``, in place (an utterance's
    result never depends on the other utterances batched with it)."""
    import warnings

    import torch

    from .int8 import quantize_linear_layers

    for name, param in model.named_parameters():
        if not bool(torch.isfinite(param).all()):
            # int8 activations of a batch share one kernel range: a NaN or inf in one
            # utterance's rows would spoil the others' (finite audio and weights never
            # produce one)
            raise ModelLoadError(f"the weights hold NaN or infinite values ({name})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's quantized-tensor deprecation notice
        quantize_linear_layers(model)


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
    punc_list = getattr(model, "punc_list", None)
    if punc_list and "<unk>" in punc_list:
        # A trained CT-Transformer never predicts its "<unk>" class, which FunASR would
        # write into the text as "<unk>"; random weights would, at every other word.
        with torch.no_grad():
            model.decoder.bias[punc_list.index("<unk>")] = -1e4
    torch.save(model.state_dict(), model_dir / "model.pt")
    return sum(p.numel() for p in model.parameters())


def parameter_count(weights: Path) -> int:
    """The number of parameters in a saved state_dict (``model.pt``)."""
    import torch

    state = torch.load(weights, map_location="cpu", weights_only=True)
    return sum(t.numel() for t in state.values() if hasattr(t, "numel"))
