"""Hypothesis strategies for anything a client could send on ``/ws/asr``: plausible
seed messages with wrong fields (a start's options too), any JSON, any text, any bytes, deep nesting."""

from __future__ import annotations

import base64
import json

from hypothesis import strategies as st


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _control(command: str) -> str:
    return json.dumps({"type": "control", "command": command})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
plausible = st.fixed_dictionaries(
    {"type": st.sampled_from(["control", "audio", "result", "", "CONTROL"])},
    optional={
        "command": st.sampled_from(["start", "stop", "reset", "Start", ""]) | json_values,
        "data": st.binary(max_size=64).map(_b64) | st.text(max_size=30) | json_values,
        "timestamp": st.integers() | st.floats() | st.text(max_size=5) | st.none(),
        # a start's second-pass options
        "hotwords": st.text(max_size=20) | st.lists(st.text(max_size=8), max_size=4)
        | json_values,
        "refine": st.booleans() | json_values,
        "punc": st.booleans() | json_values,
        "itn": st.booleans() | json_values,
    },
)
client_messages = st.one_of(
    plausible.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
    st.integers(1, 300).map(lambda n: "[" * n + "]" * n),
    st.sampled_from([_control("start"), _control("stop"), _control("reset")]),
)
