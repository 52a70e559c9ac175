"""The FunASR protocol's audio steps: streaming resampling equals resampling at once, audio
files as bytes, and where pauses end segments."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from tingxie.engine.audio import float_to_int16
from tingxie.engine.fake import tone
from tingxie.server.protocols.funasr_runtime_audio import (
    AudioDecodeError,
    PauseDetector,
    StreamResampler,
    decode_audio_file,
)


@pytest.mark.parametrize("rate", [8000, 44100, 48000, 22050])
def test_streaming_resampling_equals_resampling_the_whole(rate: int) -> None:
    rng = np.random.default_rng(rate)
    audio = (rng.standard_normal(rate * 2) * 3000).astype(np.int16)
    whole = float_to_int16(resample_poly(audio.astype(np.float32) / 32768.0, *_ratio(rate)))
    resampler = StreamResampler(rate)
    pieces, start = [], 0
    for size in rng.integers(1, 4000, size=200):  # pieces of any size, even one sample
        pieces.append(resampler.feed(audio[start:start + size]))
        start += size
        if start >= len(audio):
            break
    pieces.append(resampler.feed(audio[start:]))
    pieces.append(resampler.flush())
    streamed = np.concatenate(pieces)
    assert len(streamed) == len(whole)
    assert np.abs(streamed.astype(int) - whole.astype(int)).max() <= 1  # float rounding


def _ratio(rate: int) -> tuple[int, int]:
    from math import gcd

    g = gcd(rate, 16000)
    return 16000 // g, rate // g


def _file(audio: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    out = io.BytesIO()
    sf.write(out, audio, rate, format=fmt, subtype=subtype)
    return out.getvalue()


def test_audio_files_as_bytes() -> None:
    audio = tone(0.2, 1.0)
    assert np.array_equal(decode_audio_file(_file(audio, 16000, "WAV", "PCM_16")), audio)
    flac = decode_audio_file(_file(audio, 16000, "FLAC"))
    assert np.array_equal(flac, audio)
    stereo_44k = np.stack([tone(0.2, 1.0, 44100)] * 2, axis=1)
    decoded = decode_audio_file(_file(stereo_44k, 44100, "WAV", "PCM_16"))
    assert len(decoded) == 16000
    assert np.sqrt(np.mean(np.square(decoded / 32768.0))) == pytest.approx(0.2, rel=0.02)
    with pytest.raises(AudioDecodeError, match="cannot decode the audio file"):
        decode_audio_file(b"RIFF not really a wav file")


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), dtype=np.int16)


def test_a_pause_after_speech_ends_a_segment_where_it_reaches_800_ms() -> None:
    audio = np.concatenate([tone(0.1, 1.0), silence(1.0), tone(0.1, 1.0)])
    detector = PauseDetector()
    assert detector.feed(audio[:16000]) is None
    cut = detector.feed(audio[16000:])
    assert cut == 12800  # 0.8 s into the silence
    assert detector.feed(audio[16000 + cut:]) is None  # starts over: no speech before it


def test_pieces_of_any_size_give_the_same_cut() -> None:
    audio = np.concatenate([silence(0.3), tone(0.05, 0.7), silence(2.0)])
    detector = PauseDetector()
    fed = 0
    for size in [333, 1] * 200 + [100000]:
        cut = detector.feed(audio[fed:fed + size])
        if cut is not None:
            fed += cut
            break
        fed += size
    assert fed == int(1.8 * 16000)


def test_no_cut_without_speech_or_in_steady_noise_or_short_gaps() -> None:
    assert PauseDetector().feed(silence(5.0)) is None
    rng = np.random.default_rng(0)
    hum = (rng.standard_normal(16000 * 5) * 0.002 * 32768).astype(np.int16)  # below speech
    assert PauseDetector().feed(hum) is None
    gaps = np.concatenate([np.concatenate([tone(0.1, 0.4), silence(0.5)]) for _ in range(6)])
    assert PauseDetector().feed(gaps) is None  # 0.5 s between words is not the end


def test_speech_stands_out_of_background_noise_and_its_end_is_found() -> None:
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(16000 * 6) * 0.01
    noise[16000 * 3:16000 * 4] += np.sin(np.arange(16000) * 0.3) * 0.2  # a second of speech
    detector = PauseDetector()
    cut = detector.feed(float_to_int16(noise))
    assert cut is not None and 4.7 * 16000 <= cut <= 4.9 * 16000
