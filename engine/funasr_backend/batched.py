"""The next chunk of several utterances through streaming Paraformer in one pass.

FunASR's ``forward_chunk`` methods take one utterance at a time. Here the position-wise
parts of each layer (layer norms, every Linear: most of the compute and all of the weight
reads) run once on the rows of all utterances stacked, and the parts that mix rows within
one utterance (the encoder's look-back attention, the decoder's FSMN memory and its
attention over the encoder output) run per utterance with that utterance's own caches,
with FunASR's own modules and the same operations in the same order. Each utterance's
numbers therefore do not depend on which others share the pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def encode_together(
    encoder: Any, speeches: Sequence[torch.Tensor], states: Sequence[Any]
) -> torch.Tensor:
    """``SANMEncoderChunkOpt.forward_chunk`` for utterances whose look-back caches have
    the same shape: position encoding and overlap per utterance (each has its own position
    and carried frames), the layers on the stacked batch with the per-layer look-back
    caches stacked and split again. Returns the encoder output, one row per utterance."""
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
            cache = {key: torch.cat([c[index][key] for c in caches], dim=0) for key in ("k", "v")}
        xs, cache = layer.forward_chunk(xs, cache, chunk_size, look_back)
        for row, c in enumerate(caches):
            c[index] = {key: cache[key][row : row + 1] for key in ("k", "v")}
    if encoder.normalize_before:
        xs = encoder.after_norm(xs)
    if look_back > 0 or look_back == -1:
        for state, c in zip(states, caches):
            state["encoder"]["opt"] = c
    return xs


def can_decode_together(decoder: Any) -> bool:
    """Whether ``decode_together`` knows this decoder's layout: FunASR's
    ``ParaformerSANMDecoder`` whose layers all attend to the encoder output (as in
    paraformer-zh-streaming), every layer with a pre-norm."""
    if type(decoder).__name__ != "ParaformerSANMDecoder":
        return False
    if decoder.num_blocks - decoder.att_layer_num > 1:  # FunASR's test for ``decoders2``
        return False
    return bool(decoder.normalize_before) and all(
        layer.normalize_before for layer in list(decoder.decoders) + list(decoder.decoders3)
    )


def decode_together(
    decoder: Any,
    memories: Sequence[torch.Tensor],
    embeds: Sequence[torch.Tensor],
    caches: Sequence[dict[str, Any]],
) -> list[torch.Tensor]:
    """``ParaformerSANMDecoder.forward_chunk`` followed by ``log_softmax`` (FunASR's
    ``cal_decoder_with_predictor_chunk``) for several utterances at once.

    ``memories[i]`` is utterance i's encoder output for this chunk (1, frames, dim),
    ``embeds[i]`` its predictor's token embeddings (1, tokens, dim) and ``caches[i]`` its
    decoder cache (``cache["decoder"]``), updated in place. Returns each utterance's
    log-probabilities, (tokens, vocabulary)."""
    spans = _spans([e.shape[1] for e in embeds])
    memory_spans = _spans([m.shape[1] for m in memories])
    x = torch.cat([e[0] for e in embeds], dim=0)
    memory = torch.cat([m[0] for m in memories], dim=0)
    layers = len(decoder.decoders)
    fsmn = [c["decode_fsmn"] or [None] * layers for c in caches]
    opt = [c["opt"] or [None] * layers for c in caches]
    for index in range(decoder.att_layer_num):
        layer = decoder.decoders[index]
        residual = x
        x = layer.feed_forward(layer.norm1(x))
        if layer.self_attn is not None:
            normed = layer.norm2(x)
            parts = []
            for u, (a, b) in enumerate(spans):
                out, fsmn[u][index] = layer.self_attn(
                    normed[a:b].unsqueeze(0), None, fsmn[u][index]
                )
                parts.append(out[0])
            x = residual + layer.dropout(torch.cat(parts, dim=0))
        if layer.src_attn is not None:
            residual = x
            attended = _cross_attention(
                layer.src_attn, layer.norm3(x), memory, spans, memory_spans, opt, index, caches
            )
            x = residual + attended
    for layer in decoder.decoders3:
        x, _, _, _ = layer.forward_chunk(x, None)
    x = decoder.after_norm(x)
    if decoder.output_layer is not None:
        x = decoder.output_layer(x)
    scores = torch.log_softmax(x, dim=-1)
    for u, cache in enumerate(caches):
        cache["decode_fsmn"] = fsmn[u]
        look_back = cache["decoder_chunk_look_back"]
        if look_back > 0 or look_back == -1:
            cache["opt"] = opt[u]
    return [scores[a:b] for a, b in spans]


def _cross_attention(
    attn: Any,
    queries: torch.Tensor,
    memory: torch.Tensor,
    spans: list[tuple[int, int]],
    memory_spans: list[tuple[int, int]],
    opt: list[list[Any]],
    index: int,
    caches: Sequence[dict[str, Any]],
) -> torch.Tensor:
    """``MultiHeadedAttentionCrossAtt.forward_chunk`` for packed rows: the projections on
    all rows at once, the attention per utterance over its own encoder output and
    look-back cache."""
    heads, d_k = attn.h, attn.d_k
    q = attn.linear_q(queries)
    k_v = attn.linear_k_v(memory)
    parts = []
    for u, ((a, b), (ma, mb)) in enumerate(zip(spans, memory_spans)):
        q_h = q[a:b].reshape(1, -1, heads, d_k).transpose(1, 2)
        k, v = torch.split(k_v[ma:mb], heads * d_k, dim=-1)
        k_h = k.reshape(1, -1, heads, d_k).transpose(1, 2)
        v_h = v.reshape(1, -1, heads, d_k).transpose(1, 2)
        chunk_size = caches[u]["chunk_size"]
        look_back = caches[u]["decoder_chunk_look_back"]
        if chunk_size is not None and look_back > 0:
            keep = look_back * chunk_size[1]
            cache = opt[u][index]
            if cache is not None:
                k_h = torch.cat((cache["k"], k_h), dim=2)
                v_h = torch.cat((cache["v"], v_h), dim=2)
                cache["k"] = k_h[:, :, -keep:, :]
                cache["v"] = v_h[:, :, -keep:, :]
            else:
                opt[u][index] = {"k": k_h[:, :, -keep:, :], "v": v_h[:, :, -keep:, :]}
        q_h = q_h * d_k ** (-0.5)
        scores = torch.matmul(q_h, k_h.transpose(-2, -1))
        weights = attn.dropout(torch.softmax(scores, dim=-1))
        out = torch.matmul(weights, v_h).transpose(1, 2).contiguous().view(-1, heads * d_k)
        parts.append(out)
    return attn.linear_out(torch.cat(parts, dim=0))  # type: ignore[no-any-return]


def _spans(lengths: Sequence[int]) -> list[tuple[int, int]]:
    spans, start = [], 0
    for n in lengths:
        spans.append((start, start + n))
        start += n
    return spans
