from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tingxie.engine.audio import pcm_to_int16, read_audio_file
from tingxie.engine.errors import AudioFileError, AudioFormatError


def test_bytes_become_little_endian_int16() -> None:
    assert pcm_to_int16(b"\x01\x00\xff\xff").tolist() == [1, -1]


def test_odd_number_of_bytes_is_refused() -> None:
    with pytest.raises(AudioFormatError, match="even number of bytes"):
        pcm_to_int16(b"\x01\x00\x02")


def test_float_arrays_are_refused() -> None:
    with pytest.raises(AudioFormatError, match="int16"):
        pcm_to_int16(np.zeros(4, dtype=np.float32))


def test_16k_int16_wav_is_read_bit_exact(tmp_path: Path) -> None:
    samples = np.random.default_rng(0).integers(-32768, 32767, 16000, dtype=np.int16)
    sf.write(tmp_path / "a.wav", samples, 16000, subtype="PCM_16")
    assert np.array_equal(read_audio_file(tmp_path / "a.wav"), samples)


def test_44k_stereo_float_wav_becomes_16k_mono(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    sf.write(tmp_path / "b.wav", np.stack([left, left], axis=1), 44100, subtype="FLOAT")
    out = read_audio_file(tmp_path / "b.wav")
    assert out.dtype == np.int16 and len(out) == 16000
    # amplitude kept: a 0.5 sine has RMS 0.354 of full scale
    assert abs(np.sqrt(np.mean((out / 32768.0) ** 2)) - 0.354) < 0.01


def test_8bit_wav_is_converted(tmp_path: Path) -> None:
    sf.write(tmp_path / "c.wav", np.zeros(8000), 8000, subtype="PCM_U8")
    assert len(read_audio_file(tmp_path / "c.wav")) == 16000


def test_unreadable_and_missing_files_explain_themselves(tmp_path: Path) -> None:
    (tmp_path / "bad.wav").write_bytes(b"RIFF not really a wav")
    with pytest.raises(AudioFileError, match="cannot read audio file"):
        read_audio_file(tmp_path / "bad.wav")
    with pytest.raises(AudioFileError, match="not found"):
        read_audio_file(tmp_path / "missing.wav")
