"""``ParaformerDecoder``: FunASR's streaming Paraformer steps as a ``ChunkDecoder``.

FunASR's streaming steps (feature extraction with the frontend cache, ``encode_chunk``,
``calc_predictor_chunk``, ``cal_decoder_with_predictor_chunk``, greedy search), as
``ParaformerStreaming.generate_chunk`` runs them, keeping each token's probability. For the
layout of paraformer-zh-streaming every chunk, a lone utterance's as several utterances',
goes through ``batched`` (one code path, so an utterance's tokens and probabilities do not
depend on who else is speaking); other layouts run FunASR's modules one utterance at a
time (``decode_as_funasr``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..backend import Token
from ..interface import ModelInfo
from . import batched

# FunASR's documented streaming setting: 600 ms chunks with 300 ms look-ahead.
CHUNK_SIZE = (0, 10, 5)
ENCODER_CHUNK_LOOK_BACK = 4
DECODER_CHUNK_LOOK_BACK = 1


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
        self._batched = batched.can_encode_together(
            self._model.encoder
        ) and batched.can_decode_together(self._model.decoder)

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

    def decode(self, state: Any, samples: npt.NDArray[np.float32], is_final: bool) -> list[Token]:
        if self._batched:
            return self.decode_many([(state, samples, is_final)])[0]
        return self.decode_as_funasr(state, samples, is_final)

    def decode_as_funasr(
        self, state: Any, samples: npt.NDArray[np.float32], is_final: bool
    ) -> list[Token]:
        """The chunk through FunASR's own modules, as ``generate_chunk`` does: the path of
        layouts ``batched`` does not know, and the reference the tests hold it to."""
        with self._torch.no_grad():
            speech, lengths = self._features(state, samples, is_final)
            encoder_out, _ = self._model.encode_chunk(
                speech, lengths, cache=state, is_final=is_final
            )
            if isinstance(encoder_out, tuple):
                encoder_out = encoder_out[0]
            return self._predict_and_decode(encoder_out, state, is_final=is_final)

    def _features(
        self, state: Any, samples: npt.NDArray[np.float32], final: bool
    ) -> tuple[Any, Any]:
        """The chunk's fbank features and their length, through the utterance's frontend
        cache; on a final shorter than a frame, the frames the encoder carries instead."""
        torch = self._torch
        audio = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
        if final and len(audio) < 960:  # too short for a frame: flush the encoder's frames
            state["encoder"]["tail_chunk"] = True
            speech = state["encoder"]["feats"]
            lengths = torch.tensor([speech.shape[1]], dtype=torch.int64)
        else:
            speech, lengths = self._extract_fbank(
                [audio],
                data_type="sound",
                frontend=self._frontend,
                cache=state["frontend"],
                is_final=final,
            )
        return speech.to(device=self._device), lengths.to(device=self._device)

    def _predict_and_decode(self, encoder_out: Any, state: Any, *, is_final: bool) -> list[Token]:
        """CIF predictor and decoder for one utterance's encoded chunk, then greedy search:
        ``ParaformerStreaming.generate_chunk``, keeping each token's probability."""
        torch = self._torch
        with torch.no_grad():
            embeds, count = self._predict(encoder_out, state, is_final=is_final)
            if count < 1:
                return []
            encoder_lens = torch.tensor([encoder_out.size(1)])
            decoder_out, _ = self._model.cal_decoder_with_predictor_chunk(
                encoder_out, encoder_lens, embeds, torch.tensor([count]), cache=state
            )
            return self._tokens(decoder_out[0, :count, :])

    def _predict(self, encoder_out: Any, state: Any, *, is_final: bool) -> tuple[Any, int]:
        """The CIF predictor: the chunk's token embeddings and how many tokens fired."""
        encoder_lens = self._torch.tensor([encoder_out.size(1)])
        predictor = self._model.calc_predictor_chunk(
            encoder_out, encoder_lens, cache=state, is_final=is_final
        )
        return predictor[0], int(predictor[1].round().long()[0])

    def _tokens(self, scores: Any) -> list[Token]:
        """Greedy search over log-probabilities (tokens, vocabulary)."""
        best, ids = scores.max(dim=-1)
        probabilities = best.exp().tolist()
        kept = [(i, p) for i, p in zip(ids.tolist(), probabilities) if i not in self._skip]
        texts = self._tokenizer.ids2tokens([i for i, _ in kept])
        return [Token(t, p) for t, (_, p) in zip(texts, kept)]

    def decode_many(
        self, items: Sequence[tuple[Any, npt.NDArray[np.float32], bool]]
    ) -> list[list[Token]]:
        """Decode the next chunk of several utterances, ``(state, samples, is_final)`` each,
        in one pass (``batched``): features, position encoding and the CIF predictor per
        utterance; the encoder's and decoder's position-wise layers once for all of them,
        their attention per group of utterances with equal shapes. Each utterance gets
        the tokens and probabilities ``decode`` gives it, bit for bit, and FunASR's tokens
        (``decode_as_funasr``; probabilities equal to float rounding)."""
        if not self._batched or not items:
            return [self.decode_as_funasr(state, samples, final) for state, samples, final in items]
        torch = self._torch
        model = self._model
        results: list[list[Token]] = [[] for _ in items]
        with torch.no_grad():
            chunks = [self._embedded(state, samples, final) for state, samples, final in items]
            states = [state for state, _, _ in items]
            encoded = batched.encode_together(model.encoder, chunks, states)
            fired: list[tuple[int, Any, int]] = []
            for i, (state, _, final) in enumerate(items):
                embeds, count = self._predict(encoded[i], state, is_final=final)
                if count >= 1:
                    fired.append((i, embeds, count))
            if not fired:
                return results
            scores = batched.decode_together(
                model.decoder,
                [encoded[i] for i, _, _ in fired],
                [embeds for _, embeds, _ in fired],
                [states[i]["decoder"] for i, _, _ in fired],
            )
            for (i, _, count), s in zip(fired, scores):
                results[i] = self._tokens(s[:count])
        return results

    def _embedded(self, state: Any, samples: npt.NDArray[np.float32], final: bool) -> Any:
        """Features of one utterance's chunk, normalized and position-encoded, as
        ``decode`` computes them before the encoder layers."""
        feats, lengths = self._features(state, samples, final)
        if self._model.normalize is not None:  # as encode_chunk does
            feats, lengths = self._model.normalize(feats, lengths)
        return batched.embed_chunk(self._model.encoder, feats, state)

    def text(self, tokens: Sequence[str]) -> str:
        if not tokens:
            return ""
        text, _ = self._postprocess(list(tokens))
        return str(text)
