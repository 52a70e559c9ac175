"""The next chunk of several utterances through streaming Paraformer in one pass.

FunASR's ``forward_chunk`` methods take one utterance at a time. Here the position-wise
parts of each layer (layer norms, every Linear: most of the compute and all of the weight
reads) run once on the rows of all utterances stacked, and the parts that mix rows within
one utterance (the encoder's look-back attention, the decoder's FSMN memory and its
attention over the encoder output) run for groups of utterances with their own caches,
with FunASR's modules and the same operations in the same order. It gives FunASR's tokens
(tested), with probabilities equal to float rounding.

An utterance's result does not depend on its neighbours: it is decoded by this same code
alone (one utterance) or beside others, and every step gives a row the same bits whichever
rows share it. Row-wise steps (layer norms, softmax, int8 Linear layers: ``int8``) and
batched matrix products, convolutions over a batch do so by construction; a float matrix
product (MKL's sgemm) sums a row in one order from ``MIN_ROWS`` rows on and in others
below, so every product runs on at least that many rows (``_rowwise``; zero rows are
appended and dropped). Tested alone against beside others, at fp32 and int8.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

MIN_ROWS = 4
"""Fewest rows a float matrix product is given: from 4 rows on, MKL's sgemm gives each row
the same bits whatever the other rows are (1 row and 2-3 rows are summed in other orders;
measured on AVX2 with 1, 2 and 4 threads, checked by the tests)."""


def _rowwise(step: Any, rows: torch.Tensor) -> torch.Tensor:
    """``step`` (position-wise: each output row depends on its input row only) on
    ``rows`` (rows, dim), run on at least ``MIN_ROWS`` rows so a row's result does not
    depend on how many share the call."""
    n = rows.shape[0]
    if n >= MIN_ROWS:
        return step(rows)  # type: ignore[no-any-return]
    padded = torch.cat((rows, rows.new_zeros((MIN_ROWS - n, *rows.shape[1:]))))
    return step(padded)[:n]  # type: ignore[no-any-return]


def embed_chunk(encoder: Any, feats: torch.Tensor, state: Any) -> torch.Tensor:
    """The start of ``SANMEncoderChunkOpt.forward_chunk`` for one utterance: scaling and
    position encoding (which advances the utterance's position), then the frames carried
    over from the last chunk; on a tail chunk, only those carried frames."""
    # In place, as FunASR does: on a tail chunk that scales the carried frames themselves.
    feats *= encoder.output_size() ** 0.5
    x = encoder.embed(feats, state["encoder"])
    if state["encoder"]["tail_chunk"]:
        return state["encoder"]["feats"]  # type: ignore[no-any-return]
    return encoder._add_overlap_chunk(x, state["encoder"])  # type: ignore[no-any-return]


def can_encode_together(encoder: Any) -> bool:
    """Whether ``encode_together`` knows this encoder's layout: FunASR's
    ``SANMEncoderChunkOpt`` (paraformer-zh-streaming's) with pre-norm SANM layers."""
    if type(encoder).__name__ != "SANMEncoderChunkOpt" or encoder.embed is None:
        return False
    layers = list(encoder.encoders0) + list(encoder.encoders)
    return bool(encoder.normalize_before) and all(
        layer.normalize_before and type(layer.self_attn).__name__ == "MultiHeadedAttentionSANM"
        for layer in layers
    )


def encode_together(
    encoder: Any, chunks: Sequence[torch.Tensor], states: Sequence[Any]
) -> list[torch.Tensor]:
    """The layers of ``SANMEncoderChunkOpt.forward_chunk`` for several utterances.

    ``chunks[i]`` is utterance i's embedded chunk (``embed_chunk``), (1, frames, dim); its
    look-back caches in ``states[i]`` are updated. Utterances whose chunk and caches have
    the same shape share the attention step; the position-wise steps run once on all rows.
    Returns each utterance's encoder output, (1, frames, dim)."""
    look_back = states[0]["encoder"]["encoder_chunk_look_back"]
    chunk_size = states[0]["encoder"]["chunk_size"]
    layers = list(encoder.encoders0) + list(encoder.encoders)
    caches = [s["encoder"]["opt"] or [None] * len(layers) for s in states]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, (chunk, cache) in enumerate(zip(chunks, caches)):
        shape = tuple(None if c is None else tuple(c["k"].shape) for c in cache)
        groups.setdefault((chunk.shape[1], shape), []).append(i)
    members = list(groups.values())
    xs = [torch.cat([chunks[i] for i in m], dim=0) for m in members]
    for index, layer in enumerate(layers):
        xs = _encoder_layer(layer, xs, members, caches, index, chunk_size, look_back)
    rows = encoder.after_norm(_rows(xs))
    if look_back > 0 or look_back == -1:
        for state, cache in zip(states, caches):
            state["encoder"]["opt"] = cache
    out: list[torch.Tensor] = [torch.empty(0)] * len(chunks)
    start = 0
    for m, x in zip(members, xs):
        n, t = x.shape[0], x.shape[1]
        block = rows[start : start + n * t].view(n, t, -1)
        start += n * t
        for row, i in enumerate(m):
            out[i] = block[row : row + 1]
    return out


def _encoder_layer(
    layer: Any,
    xs: list[torch.Tensor],
    members: list[list[int]],
    caches: list[list[Any]],
    index: int,
    chunk_size: Any,
    look_back: int,
) -> list[torch.Tensor]:
    """``EncoderLayerSANM.forward_chunk`` (pre-norm) on groups of utterances, each group
    (utterances, frames, dim) with equal shapes: the projections and the feed-forward on
    every group's rows at once, ``MultiHeadedAttentionSANM.forward_chunk``'s attention and
    FSMN memory per group."""
    attn = layer.self_attn
    heads, d_k = attn.h, attn.d_k
    rows = _rows(xs)
    q_k_v = _rowwise(lambda r: attn.linear_q_k_v(layer.norm1(r)), rows)
    contexts, memories = [], []
    start = 0
    for x, group in zip(xs, members):
        n, t = x.shape[0], x.shape[1]
        part = q_k_v[start : start + n * t].view(n, t, -1)
        start += n * t
        q, k, v = torch.split(part, heads * d_k, dim=-1)
        q_h = torch.reshape(q, (n, t, heads, d_k)).transpose(1, 2)
        k_h = torch.reshape(k, (n, t, heads, d_k)).transpose(1, 2)
        v_h = torch.reshape(v, (n, t, heads, d_k)).transpose(1, 2)
        if chunk_size is not None and look_back > 0 or look_back == -1:
            k_h, v_h = _look_back(group, caches, index, k_h, v_h, chunk_size, look_back)
        memories.append(attn.forward_fsmn(v, None).reshape(n * t, -1))
        q_h = q_h * d_k ** (-0.5)
        scores = torch.matmul(q_h, k_h.transpose(-2, -1))
        weights = attn.dropout(torch.softmax(scores, dim=-1))
        context = torch.matmul(weights, v_h).transpose(1, 2).contiguous()
        contexts.append(context.view(n * t, heads * d_k))
    attended = _rowwise(attn.linear_out, torch.cat(contexts, dim=0)) + torch.cat(memories, dim=0)
    x = rows + attended if layer.in_size == layer.size else attended
    x = x + _rowwise(lambda r: layer.feed_forward(layer.norm2(r)), x)
    out, start = [], 0
    for group_x in xs:
        n, t = group_x.shape[0], group_x.shape[1]
        out.append(x[start : start + n * t].view(n, t, -1))
        start += n * t
    return out


def _look_back(
    group: list[int],
    caches: list[list[Any]],
    index: int,
    k_h: torch.Tensor,
    v_h: torch.Tensor,
    chunk_size: Any,
    look_back: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The look-back step of ``MultiHeadedAttentionSANM.forward_chunk`` for a group: keys
    and values of the earlier chunks in front of this chunk's, and the caches advanced by
    this chunk (less its look-ahead frames). Returns the keys and values to attend to.

    The new caches are views into the keys and values attended to (FunASR concatenates
    the same frames a second time), so a group that stays together from chunk to chunk
    finds its caches already stacked."""
    ahead = chunk_size[2]
    first = caches[group[0]][index]
    if first is None:  # copies: views would keep the whole round's projections alive
        new_k = k_h[:, :, :-ahead, :].contiguous()
        new_v = v_h[:, :, :-ahead, :].contiguous()
    else:
        old_k = _stacked([caches[i][index]["k"] for i in group])
        old_v = _stacked([caches[i][index]["v"] for i in group])
        strided = k_h[:, :, :-ahead, :].shape[
            2
        ]  # FunASR's k_h[:, :, :-ahead] (empty if ahead is 0)
        k_h = torch.cat((old_k, k_h), dim=2)
        v_h = torch.cat((old_v, v_h), dim=2)
        if strided > 0:  # cat(cache, stride) is the front of what is attended to
            new_k, new_v = k_h[:, :, :-ahead, :], v_h[:, :, :-ahead, :]
        else:
            new_k, new_v = old_k, old_v
        if look_back != -1:
            keep = look_back * chunk_size[1]
            new_k, new_v = new_k[:, :, -keep:, :], new_v[:, :, -keep:, :]
    for row, i in enumerate(group):
        caches[i][index] = {"k": new_k[row : row + 1], "v": new_v[row : row + 1]}
    return k_h, v_h


def _stacked(rows: list[torch.Tensor]) -> torch.Tensor:
    """``torch.cat(rows)``, without the copy when the rows already lie one after another
    in one tensor (the caches of a group that was decoded together last time)."""
    first = rows[0]
    if len(rows) == 1:
        return first
    step = first.stride(0)
    storage = first.untyped_storage().data_ptr()
    for r, row in enumerate(rows):
        if (
            row.untyped_storage().data_ptr() != storage
            or row.shape != first.shape
            or row.stride() != first.stride()
            or row.storage_offset() != first.storage_offset() + r * step
        ):
            return torch.cat(rows, dim=0)
    return first.as_strided((len(rows), *first.shape[1:]), first.stride(), first.storage_offset())


def _rows(xs: list[torch.Tensor]) -> torch.Tensor:
    """The groups' (utterances, frames, dim) tensors as one (rows, dim) tensor."""
    if len(xs) == 1:
        return xs[0].reshape(-1, xs[0].shape[-1])
    return torch.cat([x.reshape(-1, x.shape[-1]) for x in xs], dim=0)


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
        x = _rowwise(lambda r: layer.feed_forward(layer.norm1(r)), x)
        if layer.self_attn is not None:
            memory_of_tokens = _fsmn_together(layer.self_attn, layer.norm2(x), spans, fsmn, index)
            x = residual + layer.dropout(memory_of_tokens)
        if layer.src_attn is not None:
            residual = x
            attended = _cross_attention(
                layer.src_attn, layer.norm3(x), memory, spans, memory_spans, opt, index, caches
            )
            x = residual + attended
    for layer in decoder.decoders3:
        x = _rowwise(lambda r: layer.forward_chunk(r, None)[0], x)
    x = decoder.after_norm(x)
    if decoder.output_layer is not None:
        x = _rowwise(decoder.output_layer, x)
    scores = torch.log_softmax(x, dim=-1)
    for u, cache in enumerate(caches):
        cache["decode_fsmn"] = fsmn[u]
        look_back = cache["decoder_chunk_look_back"]
        if look_back > 0 or look_back == -1:
            cache["opt"] = opt[u]
    return [scores[a:b] for a, b in spans]


def _fsmn_together(
    attn: Any,
    inputs: torch.Tensor,
    spans: list[tuple[int, int]],
    fsmn: list[list[Any]],
    index: int,
) -> torch.Tensor:
    """``MultiHeadedAttentionSANMDecoder.forward`` with a cache (the FSMN memory over each
    utterance's tokens so far) for packed rows. Each utterance's window, its cached
    frames and this chunk's, is placed right-aligned in one zero-padded batch, so one
    depthwise convolution serves all; the zeros on the left reach no output that is kept.
    Utterances without a cache yet (their first tokens) go through FunASR's module."""
    kernel = attn.kernel_size
    out: list[Any] = [None] * len(spans)
    windows: dict[int, torch.Tensor] = {}
    for u, (a, b) in enumerate(spans):
        cache = fsmn[u][index]
        rows = inputs[a:b].unsqueeze(0)
        if cache is None:
            result, fsmn[u][index] = attn(rows, None, None)
            out[u] = result[0]
            continue
        window = torch.cat((cache[:, :, 1:], rows.transpose(1, 2)), dim=2)
        window = window[:, :, -(kernel + (b - a) - 1) :]
        fsmn[u][index] = window
        windows[u] = window
    if windows:
        longest = max(w.shape[2] for w in windows.values())
        first = next(iter(windows.values()))
        batch = first.new_zeros((len(windows), first.shape[1], longest))
        for row, window in enumerate(windows.values()):
            batch[row, :, longest - window.shape[2] :] = window[0]
        convolved = attn.fsmn_block(batch).transpose(1, 2)
        for row, u in enumerate(windows):
            a, b = spans[u]
            out[u] = convolved[row, convolved.shape[1] - (b - a) :] + inputs[a:b]
    return attn.dropout(torch.cat(out, dim=0))  # type: ignore[no-any-return]


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
    all rows at once; each utterance attends to its own encoder output and look-back
    cache, utterances with as many of those frames together in one zero-padded batch
    (padded query rows are computed and dropped)."""
    heads, d_k = attn.h, attn.d_k
    q = _rowwise(attn.linear_q, queries) * d_k ** (-0.5)
    k_v = _rowwise(attn.linear_k_v, memory)
    keys: list[Any] = []
    values: list[Any] = []
    for u, (ma, mb) in enumerate(memory_spans):
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
            else:  # copies: views would keep every utterance's projections alive
                opt[u][index] = {
                    "k": k_h[:, :, -keep:, :].contiguous(),
                    "v": v_h[:, :, -keep:, :].contiguous(),
                }
        keys.append(k_h)
        values.append(v_h)
    groups: dict[int, list[int]] = {}
    for u, k_h in enumerate(keys):
        groups.setdefault(k_h.shape[2], []).append(u)
    parts: list[Any] = [None] * len(spans)
    for members in groups.values():
        # at least MIN_ROWS query rows: the products' rows then sum alike however long
        # the group's other members are
        longest = max(MIN_ROWS, *(spans[u][1] - spans[u][0] for u in members))
        q_h = q.new_zeros((len(members), longest, heads * d_k))
        for row, u in enumerate(members):
            a, b = spans[u]
            q_h[row, : b - a] = q[a:b]
        q_h = q_h.view(len(members), longest, heads, d_k).transpose(1, 2)
        k_h = torch.cat([keys[u] for u in members], dim=0)
        v_h = torch.cat([values[u] for u in members], dim=0)
        scores = torch.matmul(q_h, k_h.transpose(-2, -1))
        weights = attn.dropout(torch.softmax(scores, dim=-1))
        context = torch.matmul(weights, v_h).transpose(1, 2)
        for row, u in enumerate(members):
            a, b = spans[u]
            parts[u] = context[row, : b - a].reshape(b - a, heads * d_k)
    return _rowwise(attn.linear_out, torch.cat(parts, dim=0))


def _spans(lengths: Sequence[int]) -> list[tuple[int, int]]:
    spans, start = [], 0
    for n in lengths:
        spans.append((start, start + n))
        start += n
    return spans
