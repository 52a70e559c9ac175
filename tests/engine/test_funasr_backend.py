"""The real FunASR code on a synthetic model: parity with FunASR's own streaming decode."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tingxie.engine.errors import ModelDownloadError, ModelLoadError, ModelNotFoundError
from tingxie.engine.loader import EngineConfig, load_recognizer
from tingxie.engine.streaming import StreamingRecognizer
from tingxie.engine.synthetic import speechlike

pytestmark = pytest.mark.slow

CHUNK = 9600


def funasr_reference(recognizer: StreamingRecognizer, audio: np.ndarray) -> str:
    """FunASR's documented streaming loop: ``AutoModel.generate`` on 600 ms pieces,
    ``is_final`` on the last, texts concatenated."""
    automodel = recognizer.decoder.automodel  # type: ignore[attr-defined]
    x = audio.astype(np.float32) / 32768.0
    pieces = max(1, -(-len(x) // CHUNK))
    cache: dict = {}
    text = ""
    for i in range(pieces):
        out = automodel.generate(
            input=x[i * CHUNK : (i + 1) * CHUNK],
            cache=cache,
            is_final=i == pieces - 1,
            chunk_size=[0, 10, 5],
            encoder_chunk_look_back=4,
            decoder_chunk_look_back=1,
            disable_pbar=True,
        )
        text += out[0]["text"]
    return text


def session_final(recognizer: StreamingRecognizer, audio: np.ndarray, piece: int):  # type: ignore[no-untyped-def]
    session = recognizer.open_session()
    for i in range(0, len(audio), piece):
        session.feed(audio[i : i + piece])
    final = session.finish().result(timeout=60)
    session.close()
    return final


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 10_000),
    seconds=st.floats(0.2, 4.0),
    piece=st.integers(16, 32000),  # 1 ms to 2 s
)
def test_session_matches_funasr_generate_token_for_token(
    tiny_recognizer: StreamingRecognizer, seed: int, seconds: float, piece: int
) -> None:
    audio = speechlike(seed, seconds)
    final = session_final(tiny_recognizer, audio, piece)
    reference = funasr_reference(tiny_recognizer, audio)
    assert "".join(final.tokens) == reference
    assert final.text == reference
    assert final.is_final


@pytest.mark.parametrize("tail_ms", [60, 200, 299])
def test_tokens_in_the_last_300_ms_reach_the_final(
    tiny_recognizer: StreamingRecognizer, tail_ms: int
) -> None:
    audio = speechlike(7, 1.8 + tail_ms / 1000)
    session = tiny_recognizer.open_session()
    partial = session.feed(audio).result(timeout=60)
    final = session.finish().result(timeout=60)
    assert final.text.startswith(partial.text)
    assert len(final.tokens) > len(partial.tokens), "the tail added nothing"
    assert final.text == funasr_reference(tiny_recognizer, audio)
    # and the tail matters: without it the decode is different
    assert funasr_reference(tiny_recognizer, audio[: -tail_ms * 16]) != final.text


def test_confidence_and_timing_are_computed(tiny_recognizer: StreamingRecognizer) -> None:
    final = session_final(tiny_recognizer, speechlike(3, 2.0), 1600)
    assert final.tokens
    assert 0.0 < final.confidence < 1.0
    other = session_final(tiny_recognizer, speechlike(4, 2.0), 1600)
    assert other.confidence != final.confidence
    assert final.processing_time_ms > 0 and final.audio_ms == pytest.approx(2000.0)


def test_eight_threads_at_once_give_the_sequential_texts(
    tiny_recognizer: StreamingRecognizer,
) -> None:
    audios = [speechlike(100 + i, 1.5 + 0.3 * i) for i in range(8)]
    sequential = [session_final(tiny_recognizer, a, 3200).text for a in audios]
    results: list[str | None] = [None] * 8

    def speaker(i: int) -> None:
        results[i] = session_final(tiny_recognizer, audios[i], 800 + 100 * i).text

    threads = [threading.Thread(target=speaker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == sequential
    assert len(set(sequential)) == 8


@pytest.mark.timeout(60)
def test_a_missing_named_model_fails_fast_with_an_explanation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9")  # refuses at once
    with pytest.raises(ModelDownloadError) as err:
        load_recognizer(EngineConfig(model="paraformer-zh-streaming"))
    message = str(err.value)
    assert "iic/speech_paraformer-large_asr_nat-zh-cn-16k-common-vocab8404-online" in message
    assert "cannot reach http://127.0.0.1:9" in message
    assert str(tmp_path / "cache") in message  # where it looked, and where to put it
    with pytest.raises(ModelNotFoundError, match="downloading is turned off"):
        load_recognizer(EngineConfig(model="paraformer-zh-streaming", allow_download=False))


@pytest.mark.timeout(60)
def test_a_missing_directory_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_recognizer(EngineConfig(model=str(tmp_path / "nowhere")))


def test_a_broken_model_directory_is_a_load_error(tmp_path: Path, tiny_model_dir: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in tiny_model_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="cannot read the weights"):
        load_recognizer(EngineConfig(model=str(broken), threads=1))
    (broken / "config.yaml").write_text("model: NoSuchModel\n")
    with pytest.raises(ModelLoadError, match="cannot load the model"):
        load_recognizer(EngineConfig(model=str(broken), threads=1))


def test_weights_of_another_architecture_are_refused(tmp_path: Path, tiny_model_dir: Path) -> None:
    import torch

    other = tmp_path / "other"
    other.mkdir()
    for f in tiny_model_dir.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    state = torch.load(other / "model.pt", weights_only=True)
    state["encoder.encoders0.0.norm1.weight"] = torch.zeros(3)
    torch.save(state, other / "model.pt")
    with pytest.raises(ModelLoadError, match="does not fit the model"):
        load_recognizer(EngineConfig(model=str(other), threads=1))


def test_int8_decodes_and_reports_its_precision(tiny_model_dir: Path) -> None:
    recognizer = load_recognizer(
        EngineConfig(model=str(tiny_model_dir), threads=1, precision="int8")
    )
    try:
        assert recognizer.info.precision == "int8"
        assert recognizer.batching
        final = session_final(recognizer, speechlike(5, 2.0), 1600)
        assert final.is_final and final.tokens and 0.0 < final.confidence <= 1.0
    finally:
        recognizer.close()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_int8_releases_the_fp32_weights_file(tmp_path: Path, tiny_model_dir: Path) -> None:
    """After int8 quantization nothing refers to the memory-mapped fp32 checkpoint any more
    (one forgotten tensor keeps the whole file mapped: +0.9 GB RSS on the full model)."""
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    recognizer = load_recognizer(EngineConfig(model=str(model), threads=1, precision="int8"))
    try:
        import gc

        gc.collect()
        mapped = [
            line
            for line in Path("/proc/self/maps").read_text().splitlines()
            if str(model / "model.pt") in line
        ]
        assert mapped == []
        assert session_final(recognizer, speechlike(5, 1.5), 1600).is_final
    finally:
        recognizer.close()


def test_int8_text_of_one_user_does_not_depend_on_anothers_audio(tiny_model_dir: Path) -> None:
    """A quiet utterance batched beside a quiet neighbour, a loud one, and one whose chunks
    fire no token (silence, for a trained model) gets the same tokens and probabilities,
    bit for bit: int8 activations are quantized per row."""
    recognizer = load_recognizer(
        EngineConfig(model=str(tiny_model_dir), threads=1, precision="int8")
    )
    decoder = recognizer.decoder
    quiet = speechlike(5, 3.0).astype(np.float32) / 32768 * 0.02
    neighbours = {
        "quiet": speechlike(6, 3.0).astype(np.float32) / 32768 * 0.02,
        "loud": np.clip(speechlike(6, 3.0).astype(np.float32) / 32768 * 8, -1, 1),
    }
    real_predict = decoder._predict  # type: ignore[attr-defined]

    def decode(neighbour: np.ndarray, neighbour_fires: bool = True) -> list[tuple[str, float]]:
        states = [decoder.new_state(), decoder.new_state()]

        def predict(encoder_out, state, *, is_final):  # type: ignore[no-untyped-def]
            embeds, count = real_predict(encoder_out, state, is_final=is_final)
            # the random model fires on anything: silence a neighbour by hand
            return embeds, count if neighbour_fires or state is not states[1] else 0

        decoder._predict = predict  # type: ignore[attr-defined]
        tokens = []
        try:
            for k in range(0, len(quiet), CHUNK):
                final = k + CHUNK >= len(quiet)
                items = [(states[0], quiet[k : k + CHUNK], final)]
                items.append((states[1], neighbour[k : k + CHUNK], final))
                tokens += decoder.decode_many(items)[0]  # type: ignore[attr-defined]
        finally:
            del decoder._predict  # type: ignore[attr-defined]
        return [(t.text, t.probability) for t in tokens]

    try:
        reference = decode(neighbours["quiet"])
        assert reference
        for other in (decode(neighbours["loud"]), decode(neighbours["loud"], False)):
            assert other == reference
    finally:
        recognizer.close()


def test_transcribe_prints_the_funasr_text_on_the_last_line(
    tmp_path: Path, tiny_model_dir: Path, tiny_recognizer: StreamingRecognizer
) -> None:
    audio = speechlike(11, 2.7)
    wav = tmp_path / "speech.wav"
    sf.write(wav, audio, 16000, subtype="PCM_16")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tingxie",
            "transcribe",
            str(wav),
            "--model",
            str(tiny_model_dir),
            "--precision",
            "fp32",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == funasr_reference(tiny_recognizer, audio)


def test_transcribe_reports_an_unreadable_file(tmp_path: Path, tiny_model_dir: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"garbage")
    run = subprocess.run(
        [sys.executable, "-m", "tingxie", "transcribe", str(bad), "--model", str(tiny_model_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1
    assert "cannot read audio file" in run.stderr
    assert run.stdout == ""


def assert_same_tokens(got: list, expected: list) -> None:  # type: ignore[type-arg]
    """Same tokens; probabilities equal to float rounding (FunASR's modules and the batched
    pass sum matrix products in other orders)."""
    assert [[t.text for t in tokens] for tokens in got] == [
        [t.text for t in tokens] for tokens in expected
    ]
    for tokens, want in zip(got, expected):
        assert [t.probability for t in tokens] == pytest.approx(
            [t.probability for t in want], rel=1e-5
        )


def test_batched_chunks_give_the_tokens_of_one_by_one_decoding(
    tiny_recognizer: StreamingRecognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copy

    from tingxie.engine.funasr_backend import batched

    decoded_together: list[int] = []
    real_decode_together = batched.decode_together

    def counting(decoder, memories, embeds, caches):  # type: ignore[no-untyped-def]
        decoded_together.append(len(memories))
        return real_decode_together(decoder, memories, embeds, caches)

    monkeypatch.setattr(batched, "decode_together", counting)
    decoder = tiny_recognizer.decoder
    audios = [speechlike(200 + i, 6.0).astype(np.float32) / 32768 for i in range(6)]
    states = [decoder.new_state() for _ in audios]
    # bring the utterances to different points: 0, 1, 2, 5, 5 and 7 chunks decoded
    for state, audio, done in zip(states, audios, [0, 1, 2, 5, 5, 7]):
        for k in range(done):
            decoder.decode(state, audio[k * CHUNK : (k + 1) * CHUNK], False)
    for step in range(3):
        items, expected, alone = [], [], []
        for state, audio, done in zip(states, audios, [0, 1, 2, 5, 5, 7]):
            k = done + step
            chunk = audio[k * CHUNK : (k + 1) * CHUNK]
            twin, single = copy.deepcopy(state), copy.deepcopy(state)
            expected.append(decoder.decode_as_funasr(twin, chunk, False))  # type: ignore[attr-defined]
            alone.append(decoder.decode(single, chunk, False))
            items.append((state, chunk, False))
        together = decoder.decode_many(items)  # type: ignore[attr-defined]
        assert_same_tokens(together, expected)
        assert together == alone  # bit for bit: nobody's tokens depend on the others
    # then the finals, tails of 0, 480, 959, 960 and 3000 samples (and one more chunk)
    tails = [0, 480, 959, 960, 3000, CHUNK]
    items, expected, alone = [], [], []
    for state, audio, done, tail in zip(states, audios, [0, 1, 2, 5, 5, 7], tails):
        k = done + 3
        piece = audio[k * CHUNK : k * CHUNK + tail]
        twin, single = copy.deepcopy(state), copy.deepcopy(state)
        expected.append(decoder.decode_as_funasr(twin, piece, True))  # type: ignore[attr-defined]
        alone.append(decoder.decode(single, piece, True))
        items.append((state, piece, True))
    together = decoder.decode_many(items)  # type: ignore[attr-defined]
    assert_same_tokens(together, expected)
    assert together == alone
    assert any(expected)
    assert max(decoded_together) > 1, "the decoder never ran several utterances together"


def test_sessions_decoded_in_batches_match_funasr(tiny_recognizer: StreamingRecognizer) -> None:
    """Many sessions fed at once (the worker batches their chunks) still match FunASR."""
    # tails of 0 and 480 samples (shorter than a frame), and longer ones
    seconds = [3.0, 3.03, 3.25, 3.5, 3.75, 4.0]
    audios = [speechlike(300 + i, s) for i, s in enumerate(seconds)]
    decoder = tiny_recognizer.decoder
    batch_sizes: list[int] = []
    real_decode_many = decoder.decode_many  # type: ignore[attr-defined]

    def counting(items):  # type: ignore[no-untyped-def]
        batch_sizes.append(len(items))
        return real_decode_many(items)

    decoder.decode_many = counting  # type: ignore[attr-defined]
    sessions = [tiny_recognizer.open_session() for _ in audios]
    futures = []
    for start in range(0, max(len(a) for a in audios), 4800):
        for s, a in zip(sessions, audios):
            if start < len(a):
                s.feed(a[start : start + 4800])
    futures = [s.finish() for s in sessions]
    try:
        finals = [f.result(timeout=120).text for f in futures]
    finally:
        del decoder.decode_many  # type: ignore[attr-defined]
    assert max(batch_sizes) > 1, "the worker never batched"
    assert finals == [funasr_reference(tiny_recognizer, a) for a in audios]
