"""PCM conversion and audio-file reading. Pure numpy/soundfile/scipy, no model."""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .errors import AudioFileError, AudioFormatError
from .interface import SAMPLE_RATE, Pcm


def pcm_to_int16(pcm: Pcm) -> npt.NDArray[np.int16]:
    """Little-endian int16 bytes or an int16 array as a 1-D int16 array (no copy where possible).

    Raises ``AudioFormatError`` for an odd number of bytes or an array of another dtype/shape.
    """
    if isinstance(pcm, np.ndarray):
        if pcm.dtype != np.int16:
            raise AudioFormatError(f"audio array must be int16, got {pcm.dtype}")
        if pcm.ndim != 1:
            if pcm.ndim == 2 and 1 in pcm.shape:
                return pcm.reshape(-1)
            raise AudioFormatError(f"audio array must be mono (1-D), got shape {pcm.shape}")
        return pcm
    if isinstance(pcm, (bytes, bytearray, memoryview)):
        n = len(pcm) if not isinstance(pcm, memoryview) else pcm.nbytes
        if n % 2:
            raise AudioFormatError(
                f"16-bit PCM must have an even number of bytes, got {n}"
            )
        return np.frombuffer(pcm, dtype="<i2").astype(np.int16, copy=False)
    raise AudioFormatError(f"audio must be bytes or an int16 array, got {type(pcm).__name__}")


def int16_to_float(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
    """Scale int16 samples to float32 in [-1, 1), as FunASR's models expect."""
    return (samples.astype(np.float32) / 32768.0).astype(np.float32, copy=False)


def resample(
    samples: npt.NDArray[np.float32], rate: int, target: int = SAMPLE_RATE
) -> npt.NDArray[np.float32]:
    """Polyphase resampling of mono float audio from ``rate`` to ``target`` Hz."""
    if rate == target:
        return samples
    from scipy.signal import resample_poly

    g = gcd(rate, target)
    out = resample_poly(samples, target // g, rate // g)
    return np.asarray(out, dtype=np.float32)


def float_to_int16(samples: npt.NDArray[np.floating]) -> npt.NDArray[np.int16]:
    """Clip float audio to [-1, 1] and convert to int16 PCM."""
    clipped = np.clip(samples, -1.0, 1.0 - 1.0 / 32768)
    return np.round(clipped * 32768.0).astype(np.int16)


def read_audio_file(path: str | Path) -> npt.NDArray[np.int16]:
    """Any file soundfile reads (WAV of any rate, channel count or sample format, FLAC, OGG...)
    as 16 kHz mono int16 PCM. Channels are averaged.

    Raises ``AudioFileError`` with the reason when the file is missing or unreadable.
    """
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise AudioFileError(f"audio file not found: {p}")
    if p.is_dir():
        raise AudioFileError(f"not an audio file but a directory: {p}")
    try:
        if _is_native_pcm16(p):
            data, rate = sf.read(str(p), dtype="int16", always_2d=True)
            if data.shape[1] == 1:
                return np.ascontiguousarray(data[:, 0])
            return float_to_int16(data.astype(np.float32).mean(axis=1) / 32768.0)
        data_f, rate = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioFileError(f"cannot read audio file {p}: {exc}") from exc
    mono = data_f.mean(axis=1).astype(np.float32)
    return float_to_int16(resample(mono, int(rate)))


def _is_native_pcm16(path: Path) -> bool:
    """True for 16 kHz 16-bit PCM files, which are passed through bit-exact."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError):
        return False
    return info.samplerate == SAMPLE_RATE and info.subtype == "PCM_16"
