"""``OfflineDecoder``: FunASR's offline Paraformer steps as a ``SegmentDecoder``.

The second pass's recognizer: a whole segment at once through the model that
``AutoModel(model=DIR)`` builds (``Paraformer``, or ``SeacoParaformer`` = ``paraformer-zh``,
which takes hotwords), by the steps its ``inference`` runs: fbank features, ``encode``,
``calc_predictor`` (CIF: how many tokens), the decoder (SeACo's
``_seaco_decode_with_ASF`` with the hotwords' bias), greedy search, keeping each token's
probability, which ``generate`` drops. The text is joined as ``generate`` joins it
(``sentence_postprocess``: characters together, BPE pieces and English words spaced; with
SeACo's timestamps, FunASR's output is spaced per token, which the punctuation model joins).

``open_model`` loads any FunASR model directory the way the streaming ``load`` does, for
``punctuation`` and ``segmenter`` too.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

from ..backend import Token
from ..errors import ModelLoadError
from ..interface import ModelInfo
from ..precision import choose_precision


def open_model(path: Path, *, device: str, threads: int | None, precision: str = "fp32") -> Any:
    """FunASR's ``AutoModel`` for the local model directory ``path`` (never a download),
    its weights memory-mapped on the CPU and, at ``precision="int8"``, its Linear layers
    in int8 (as the streaming ``load``). Raises ``ModelLoadError``."""
    from . import (
        _copy_out_of_file,
        _funasr,
        _load_weights_mapped,
        _quantize_linear_layers,
        _return_freed_memory,
    )

    if not (path / "config.yaml").is_file():
        raise ModelLoadError(f"{path} is not a FunASR model directory (no config.yaml)")
    funasr = _funasr()
    on_cpu = device.startswith("cpu")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            automodel = funasr.AutoModel(
                model=str(path),
                device=device,
                ncpu=cpu_threads(threads),
                disable_update=True,
                disable_pbar=True,
                disable_log=True,
                **({"init_param": None} if on_cpu else {}),
            )
        if on_cpu:
            _load_weights_mapped(automodel.model, path / "model.pt")
    except ModelLoadError:
        raise
    except Exception as exc:  # funasr raises anything from KeyError to AssertionError
        raise ModelLoadError(f"cannot load the model in {path}: {exc}") from exc
    if precision == "int8":
        if on_cpu:
            _copy_out_of_file(automodel.model)
        _quantize_linear_layers(automodel.model)
    _return_freed_memory()
    return automodel


def cpu_threads(threads: int | None) -> int:
    """torch's intra-op threads for ``threads`` (None: the machine's cores, at most 4, as
    the streaming model's)."""
    return threads or min(os.cpu_count() or 1, 4)


class Threads:
    """Runs a decode on ``threads`` torch threads and gives the count back afterwards:
    torch's setting is global, and the streaming decoder on the same worker keeps its own
    choice."""

    def __init__(self, threads: int) -> None:
        import torch

        self._torch = torch
        self._threads = threads

    def __enter__(self) -> None:
        self._before = self._torch.get_num_threads()
        if self._before != self._threads:
            self._torch.set_num_threads(self._threads)

    def __exit__(self, *_: object) -> None:
        if self._torch.get_num_threads() != self._before:
            self._torch.set_num_threads(self._before)


def load_offline(
    path: Path,
    *,
    name: str,
    device: str = "cpu",
    threads: int | None = None,
    precision: str = "fp32",
) -> "OfflineDecoder":
    """Load an offline FunASR Paraformer (SeACo-Paraformer takes hotwords) from a local
    model directory. Raises ``ModelLoadError`` when it is not one."""
    precision = choose_precision(precision, device)
    automodel = open_model(path, device=device, threads=threads, precision=precision)
    model = automodel.model
    model_class = type(model).__name__
    if hasattr(model, "encode_chunk") or not hasattr(model, "cal_decoder_with_predictor"):
        raise ModelLoadError(
            f"{name} ({model_class}) is not an offline Paraformer; the second pass needs one "
            "such as paraformer-zh"
        )
    info = ModelInfo(
        name=name,
        backend="funasr",
        path=str(path),
        streaming=False,
        device=device,
        precision=precision,
    )
    return OfflineDecoder(automodel, info, threads=cpu_threads(threads))


_CJK_OR_DIGITS = re.compile(r"^[\u4E00-\u9FA50-9]+$")


class OfflineDecoder:
    """A ``SegmentDecoder`` around a loaded FunASR ``Paraformer`` / ``SeacoParaformer``."""

    def __init__(self, automodel: Any, info: ModelInfo, threads: int = 1) -> None:
        import torch
        from funasr.utils.load_utils import extract_fbank
        from funasr.utils.postprocess_utils import sentence_postprocess

        self._torch = torch
        self._threads = Threads(max(1, threads))
        self._model = automodel.model
        self._automodel = automodel
        kwargs = automodel.kwargs
        self._frontend = kwargs["frontend"]
        self._tokenizer = kwargs["tokenizer"]
        self._device = kwargs.get("device", "cpu")
        self._extract_fbank = extract_fbank
        self._postprocess = sentence_postprocess
        self._skip = {self._model.sos, self._model.eos, self._model.blank_id}
        self._seaco = hasattr(self._model, "_seaco_decode_with_ASF")
        # SeACo's CifPredictorV3 gives timestamps, and generate joins the text with them
        self._timestamps = self._seaco and kwargs.get("predictor") == "CifPredictorV3"
        self._seg_dict = self._load_seg_dict() if self._seaco else None
        self.info = info

    @property
    def automodel(self) -> Any:
        """FunASR's ``AutoModel``, for parity checks against ``generate``."""
        return self._automodel

    @property
    def takes_hotwords(self) -> bool:
        return self._seaco

    def _load_seg_dict(self) -> dict[str, str] | None:
        """SeACo's ``seg_dict`` (word -> tokens), found beside the CMVN file as
        ``generate_hotwords_list`` finds it; None without one."""
        cmvn = getattr(self._frontend, "cmvn_file", None)
        if not cmvn:
            return None
        file = Path(cmvn).parent / "seg_dict"
        if not file.is_file():
            return None
        table: dict[str, str] = {}
        for line in file.read_text(encoding="utf-8").splitlines():
            parts = line.strip().split()
            if parts:
                table[parts[0]] = " ".join(parts[1:])
        return table

    def hotword_ids(self, hotwords: Sequence[str]) -> list[list[int]] | None:
        """The token ids of each hotword then ``<s>`` (the "no hotword" entry), as SeACo's
        ``generate_hotwords_list`` makes them from ``hotword=" ".join(hotwords)`` (words
        split on whitespace; through ``seg_dict``, a Chinese word's characters each); None
        when there are none. Never reads a file or a URL, whatever a hotword says."""
        words = " ".join(hotwords).split()
        if not words:
            return None
        ids = []
        for word in words:
            pieces = [word]
            if self._seg_dict is not None:
                pieces = self._seg_tokenize(word, self._seg_dict)
            ids.append(self._tokenizer.tokens2ids(pieces))
        ids.append([self._model.sos])
        return ids

    @staticmethod
    def _seg_tokenize(word: str, seg_dict: dict[str, str]) -> list[str]:
        word = word.lower()
        if word in seg_dict:
            return seg_dict[word].split()
        if _CJK_OR_DIGITS.match(word):
            return [t for c in word for t in seg_dict.get(c, "<unk>").split()]
        return ["<unk>"]

    def decode_segment(
        self, samples: npt.NDArray[np.float32], hotwords: Sequence[str]
    ) -> list[Token]:
        torch = self._torch
        model = self._model
        with self._threads, torch.no_grad():
            audio = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
            speech, lengths = self._extract_fbank([audio], data_type="sound", frontend=self._frontend)
            speech, lengths = speech.to(self._device), lengths.to(self._device)
            encoder_out, encoder_lens = model.encode(speech, lengths)
            if isinstance(encoder_out, tuple):
                encoder_out = encoder_out[0]
            predictor = model.calc_predictor(encoder_out, encoder_lens)
            embeds, count = predictor[0], predictor[1].round().long()
            if int(torch.max(count)) < 1:
                return []
            if self._seaco:
                scores = model._seaco_decode_with_ASF(
                    encoder_out,
                    encoder_lens,
                    embeds,
                    count,
                    hw_list=self.hotword_ids(hotwords),
                )
            else:
                scores = model.cal_decoder_with_predictor(encoder_out, encoder_lens, embeds, count)[0]
            return self._tokens(scores[0, : int(count[0]), :])

    def _tokens(self, scores: Any) -> list[Token]:
        """Greedy search over log-probabilities (tokens, vocabulary), as ``inference``."""
        best, ids = scores.max(dim=-1)
        probabilities = best.exp().tolist()
        kept = [(i, p) for i, p in zip(ids.tolist(), probabilities) if i not in self._skip]
        texts = self._tokenizer.ids2tokens([i for i, _ in kept])
        return [Token(t, min(1.0, p)) for t, (_, p) in zip(texts, kept)]

    def text(self, tokens: Sequence[str]) -> str:
        if not tokens:
            return ""
        if self._timestamps:
            # the text does not depend on the timestamps' values, only on there being some
            text = self._postprocess(list(tokens), [[0, 0] for _ in tokens])[0]
        else:
            text = self._postprocess(list(tokens))[0]
        return str(text)
