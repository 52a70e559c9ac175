"""Audio steps of FunASR's runtime protocol that the seed protocol does not need: PCM at
another rate, audio files sent as bytes, and where a speaker pauses. No I/O; numpy and
soundfile (the project's audio stack, ``tingxie.engine.audio``) only.

- ``StreamResampler``: int16 PCM at ``rate`` in, 16 kHz out, piece by piece, giving the
  samples resampling the whole stream at once would give (FunASR clients send 8 kHz, or a
  WAV's own rate with ``audio_fs``).
- ``decode_audio_file``: the bytes of a file (``wav_format`` other than pcm) as 16 kHz PCM.
- ``PauseDetector``: where a segment of speech ends (a pause of ``end_silence_s`` after
  speech), so that 2pass clients get each sentence's finished text as FunASR's VAD-driven
  servers send it. Loudness against a tracked noise floor; a missed pause only makes a
  segment longer (the second pass cuts long audio itself), a false one splits a sentence.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from math import gcd
from typing import Optional

import numpy as np
import numpy.typing as npt

from tingxie.engine.audio import float_to_int16, resample
from tingxie.engine.interface import SAMPLE_RATE

__all__ = ["AudioDecodeError", "PauseDetector", "PauseRules", "StreamResampler",
           "decode_audio_file"]

Samples = npt.NDArray[np.int16]


class AudioDecodeError(ValueError):
    """Bytes that no installed decoder reads as audio; the message says why."""


def decode_audio_file(data: bytes) -> Samples:
    """The audio in ``data`` (any format soundfile reads: WAV, FLAC, OGG, MP3...) as 16 kHz
    mono int16, channels averaged; 16 kHz 16-bit mono is passed through bit-exact.
    Raises ``AudioDecodeError``."""
    import soundfile as sf

    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            if f.samplerate == SAMPLE_RATE and f.subtype == "PCM_16" and f.channels == 1:
                return np.ascontiguousarray(f.read(dtype="int16"))
            rate = int(f.samplerate)
            audio = f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioDecodeError(
            f"cannot decode the audio file ({len(data)} bytes): {exc}; send WAV, FLAC, OGG "
            "or MP3, or PCM with wav_format \"pcm\""
        ) from exc
    mono = audio.mean(axis=1).astype(np.float32)
    return float_to_int16(resample(mono, rate))


class StreamResampler:
    """Polyphase resampling (``scipy.signal.resample_poly``, its default filter) of a
    stream: each output sample is computed once all the input its filter reaches has come,
    from a window of the input that holds all of it, so the pieces joined equal the whole
    stream resampled at once (to float rounding)."""

    def __init__(self, rate: int, target: int = SAMPLE_RATE) -> None:
        g = gcd(rate, target)
        self.up, self.down = target // g, rate // g
        self._reach = 10 * max(self.up, self.down)  # the filter's half length, upsampled
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0  # input index of _buffer[0] (a multiple of down)
        self._received = 0  # input samples so far
        self._emitted = 0  # output samples so far

    def feed(self, samples: Samples) -> Samples:
        """The output samples that ``samples`` (and what came before) complete."""
        self._buffer = np.concatenate([self._buffer, samples.astype(np.float32) / 32768.0])
        self._received += len(samples)
        # output n needs input i up to (n * down + reach) / up
        last = ((self._received - 1) * self.up - self._reach) // self.down
        return self._emit(last + 1)

    def flush(self) -> Samples:
        """The rest, the stream's end padded with zeros as ``resample_poly`` pads it."""
        total = -(-self._received * self.up // self.down)
        return self._emit(total)

    def _emit(self, end: int) -> Samples:
        start = self._emitted
        if end <= start:
            return np.zeros(0, dtype=np.int16)
        from scipy.signal import resample_poly

        # the window starts where output `start`'s filter begins, on a multiple of down so
        # that its outputs fall on the stream's output grid
        first = max(0, (start * self.down - self._reach) // self.up)
        first -= first % self.down
        window = self._buffer[first - self._buffer_start:]
        out = resample_poly(window, self.up, self.down)
        offset = first * self.up // self.down  # output index of out[0]
        piece = out[start - offset : end - offset]
        self._emitted = end
        keep = max(0, (end * self.down - self._reach) // self.up)
        keep -= keep % self.down
        if keep > self._buffer_start:
            self._buffer = self._buffer[keep - self._buffer_start:]
            self._buffer_start = keep
        return float_to_int16(piece)


@dataclass(frozen=True)
class PauseRules:
    end_silence_s: float = 0.8
    """Quiet after speech that ends a segment (FunASR's VAD: ``max_end_sil`` 800 ms)."""
    min_speech_s: float = 0.2
    """Speech a segment needs before a pause can end it."""
    frame_s: float = 0.01
    min_level: float = 0.004
    """RMS (of full scale, about -48 dBFS) below which a frame is never speech."""
    above_floor: float = 4.0
    """A frame is speech when its RMS is this many times the noise floor (12 dB)."""
    floor_rise: float = 1.001
    """How fast the noise floor follows louder sound, per frame (it falls at once)."""


class PauseDetector:
    """Says where a pause after speech ends a segment; then starts over for the next."""

    def __init__(self, rules: PauseRules = PauseRules()) -> None:
        self.rules = rules
        self._frame = max(1, int(rules.frame_s * SAMPLE_RATE))
        self._pending = np.zeros(0, dtype=np.float32)
        self._floor = rules.min_level  # a quiet room until heard otherwise
        self._speech_frames = 0
        self._quiet_frames = 0

    def feed(self, samples: Samples) -> Optional[int]:
        """How many of ``samples`` belong to the segment when a pause ends it within them
        (the rest is the next segment's, to be fed again); None when none does."""
        rules = self.rules
        held = len(self._pending)
        audio = np.concatenate([self._pending, samples.astype(np.float32) / 32768.0])
        frames = len(audio) // self._frame
        speech_needed = max(1, round(rules.min_speech_s / rules.frame_s))
        quiet_needed = max(1, round(rules.end_silence_s / rules.frame_s))
        if frames:
            blocks = audio[: frames * self._frame].reshape(frames, self._frame)
            levels = np.sqrt(np.mean(np.square(blocks, dtype=np.float64), axis=1))
        for i in range(frames):
            level = float(levels[i])
            self._floor = max(min(level, self._floor * rules.floor_rise), 1e-6)
            if level >= max(rules.min_level, self._floor * rules.above_floor):
                self._speech_frames += 1
                self._quiet_frames = 0
            elif self._speech_frames >= speech_needed:
                self._quiet_frames += 1
                if self._quiet_frames >= quiet_needed:
                    self._speech_frames = self._quiet_frames = 0
                    self._pending = np.zeros(0, dtype=np.float32)
                    return (i + 1) * self._frame - held
        self._pending = audio[frames * self._frame:]
        return None
