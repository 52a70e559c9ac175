"""Same audio, same result: an utterance decoded alone and beside any others gets the same
tokens and the same probabilities, bit for bit, at fp32 and at int8."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tingxie.engine.loader import EngineConfig, load_recognizer
from tingxie.engine.synthetic import speechlike

pytestmark = pytest.mark.slow

CHUNK = 9600
FIRES = 2
"""Tokens a chunk may fire: a trained model fires 1-3 in 600 ms, the random one more; with
fewer than 4 rows a float matrix product sums in other orders (``batched.MIN_ROWS``)."""


def clip(seed: int, seconds: float, gain: float) -> np.ndarray:
    return np.clip(speechlike(seed, seconds).astype(np.float32) / 32768 * gain, -1, 1)


class Decoding:
    """``me`` chunk by chunk through the decoder, with ``neighbours`` (each already
    ``ahead`` chunks into its own audio) in the same passes, as the worker batches them."""

    def __init__(self, decoder: Any, silent: set[int] | None = None) -> None:
        self.decoder = decoder
        self.silent = silent or set()  # neighbours whose chunks fire no token
        self._real_predict = decoder._predict
        self._states: list[Any] = []

    def _predict(self, encoder_out: Any, state: Any, *, is_final: bool) -> tuple[Any, int]:
        embeds, count = self._real_predict(encoder_out, state, is_final=is_final)
        if any(state is self._states[i] for i in self.silent):
            return embeds, 0
        return embeds[:, :FIRES], min(count, FIRES)

    def run(self, me: np.ndarray, neighbours: list[np.ndarray], ahead: list[int]) -> list[Any]:
        d = self.decoder
        self._states = [d.new_state() for _ in range(len(neighbours) + 1)]
        d._predict = self._predict
        try:
            for state, audio, done in zip(self._states[1:], neighbours, ahead):
                for k in range(done):
                    d.decode(state, audio[k * CHUNK : (k + 1) * CHUNK], False)
            tokens = []
            chunks = -(-len(me) // CHUNK)
            for k in range(chunks):
                final = k == chunks - 1
                items = [(self._states[0], me[k * CHUNK : (k + 1) * CHUNK], final)]
                for state, audio, done in zip(self._states[1:], neighbours, ahead):
                    j = done + k
                    items.append((state, audio[j * CHUNK : (j + 1) * CHUNK], final))
                d.set_streams(len(items))  # as the worker: 1 thread alone, 2 for several
                if len(items) == 1:
                    tokens += d.decode(*items[0])
                else:
                    tokens += d.decode_many(items)[0]
        finally:
            del d._predict
        return [(t.text, t.probability) for t in tokens]


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_an_utterance_gets_the_same_tokens_and_probabilities_beside_any_others(
    tiny_model_dir: Path, precision: str
) -> None:
    recognizer = load_recognizer(
        EngineConfig(model=str(tiny_model_dir), threads=2, precision=precision)
    )
    try:
        me = clip(5, 4.0, 1.0)
        alone = Decoding(recognizer.decoder).run(me, [], [])
        assert len(alone) >= 8
        besides = {
            "a quiet one": ([clip(6, 6.0, 0.02)], [0], set()),
            "a loud one, ahead": ([clip(7, 8.0, 8.0)], [3], set()),
            "one that fires nothing": ([clip(8, 6.0, 1.0)], [1], {1}),
            "seven at other points, loud and quiet": (
                [clip(10 + i, 9.0, g) for i, g in enumerate([0.01, 0.5, 3, 8, 1, 1, 1])],
                list(range(7)),
                {3},
            ),
            "fifteen": ([clip(30 + i, 12.0, 1.0) for i in range(15)], list(range(15)), set()),
        }
        for what, (neighbours, ahead, silent) in besides.items():
            beside = Decoding(recognizer.decoder, silent).run(me, neighbours, ahead)
            assert beside == alone, f"beside {what}"
    finally:
        recognizer.close()
