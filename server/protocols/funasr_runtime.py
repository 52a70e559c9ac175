"""FunASR's runtime WebSocket protocol (what ``funasr_wss_client.py``, FunASR's HTML5 page
and its C++/Java/Go samples speak), served at ``/`` on Tingxie's port, without I/O.

One connection sends inputs (a file or a recording), each: a JSON configuration message,
binary audio frames, and ``{"is_speaking": false}`` (with ``"is_end": true`` from the
current Python client, which then waits for the acknowledgement). An input is recognized in
segments, each one engine utterance:

- ``online``: the streaming text as it grows, as ``online`` replies carrying the new
  characters; a segment's final adds its last characters.
- ``2pass``: the same streaming text (``2pass-online``), and when a segment ends (a pause
  of 0.8 s after speech, the input's end, or the utterance length limit) its finished
  text as ``2pass-offline``: the final of the second pass (offline model, punctuation, ITN,
  the hotwords), which clients put in place of that segment's streaming text.
- ``offline``: no streaming replies; the input's finished text (``offline``) at its end
  (one per ``max_utterance_s`` of a longer input).

Unlike FunASR's own servers: the hotwords are used in every format FunASR clients send
them (JSON object or text, words in a string, a list); the last characters always come,
with or without ``is_end``; ``is_final`` is true only on the last reply of an input, never
while the client is still sending it. Bad input gets an error reply (``ErrorCode``) and
the connection stays usable. The messages are ``funasr_runtime_messages``; resampling, file
decoding and pause detection ``funasr_runtime_audio``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from tingxie.engine.interface import SAMPLE_RATE
from tingxie.engine.second_pass import Refinement

from ..config import ServerConfig
from ..errors import ProtocolError
from .base import (
    Action,
    BeginUtterance,
    Compute,
    Counted,
    Feed,
    Finish,
    IgnoredAudio,
    Outgoing,
    Reply,
)
from .funasr_runtime_audio import (
    AudioDecodeError,
    PauseDetector,
    PauseRules,
    Samples,
    StreamResampler,
    decode_audio_file,
)
from .funasr_runtime_messages import (
    Audio,
    Configuration,
    EndAcknowledgement,
    ErrorCode,
    ErrorReply,
    InputOutcome,
    Mode,
    ResultMessage,
    ServerMessage,
    parse_client_message,
)

__all__ = ["MAX_FILE_BYTES", "PATH", "FunasrRuntimeProtocol", "streaming_tail"]

PATH = "/"
"""Where FunASR's clients connect (``ws(s)://host:port``)."""

MAX_FILE_BYTES = 64 << 20
"""The most bytes of one audio file (``wav_format`` other than pcm) kept for decoding."""

ONLINE_FINAL = Refinement(refine=False, punctuate=False, itn=False, hotwords=())
"""What ``online`` asks of a segment's final: the streaming text, only its last characters
added (punctuation or ITN would change characters the client already shows)."""


def streaming_tail(sent: str, final: str) -> str:
    """What to send after ``sent`` (the streaming text a client was given) so that it shows
    ``final``: the rest of ``final``. Spaces the text steps put between Chinese and Latin
    letters do not count as a difference; where ``final`` differs otherwise (a replacement
    rule), it cannot be taken back: the part of ``final`` past the length of ``sent``."""
    if final.startswith(sent):
        return final[len(sent):]
    i = j = 0
    while i < len(sent) and j < len(final):
        if sent[i] == final[j]:
            i, j = i + 1, j + 1
        elif final[j] == " ":
            j += 1
        elif sent[i] == " ":
            i += 1
        else:
            return final[j + len(sent) - i:]
    return final[j:]


@dataclass
class _Settings:
    """The connection's settings so far (FunASR: any JSON message may change any)."""

    mode: Mode = Mode.TWO_PASS
    wav_name: str = "microphone"
    wav_format: str = "pcm"
    audio_fs: int = SAMPLE_RATE
    hotwords: Optional[tuple[str, ...]] = None
    itn: Optional[bool] = None

    def update(self, message: Configuration) -> None:
        for key in ("mode", "wav_name", "wav_format", "audio_fs", "itn"):
            value = getattr(message, key)
            if value is not None:
                setattr(self, key, value)
        if message.hotwords is not None:
            self.hotwords = message.hotwords


@dataclass
class _Segment:
    """One engine utterance: a stretch of an input between pauses."""

    mode: Mode
    wav_name: str
    outcome: InputOutcome
    sent: str = ""  # the streaming text the client was given
    last: bool = False  # the input's last segment: its reply is final


@dataclass
class _Input:
    """One file or recording, from its first audio to ``is_speaking`` false."""

    mode: Mode
    wav_name: str
    pauses: Optional[PauseDetector]
    resampler: Optional[StreamResampler]
    file: Optional[bytearray]  # the bytes of an audio file (wav_format not pcm)
    outcome: InputOutcome = field(default_factory=InputOutcome)
    segment: int = 0  # its utterance in progress (0: none)
    fed: int = 0  # samples fed to that utterance
    odd: bytes = b""  # a byte of PCM whose sample's other byte is in the next frame
    failed: bool = False  # its audio is being dropped until its end
    began: bool = False  # audio of it reached a segment or the file

    @property
    def final_mode(self) -> str:
        return self.mode.final_mode


def _decoded(data: bytes) -> Samples | AudioDecodeError:
    """An audio file's samples, or why there are none (on a worker thread: no raising)."""
    try:
        return decode_audio_file(data)
    except AudioDecodeError as exc:
        return exc


class FunasrRuntimeProtocol:
    """What one connection of FunASR's runtime protocol answers (a
    ``base.ConnectionProtocol``).

    ``max_message_bytes`` bounds a message; ``max_utterance_s`` a segment (a longer one is
    cut there, its audio kept); ``max_file_bytes`` an audio file sent as bytes.
    """

    def __init__(
        self,
        *,
        max_message_bytes: int = 1 << 20,
        max_utterance_s: float = 300.0,
        max_file_bytes: int = MAX_FILE_BYTES,
        pauses: PauseRules = PauseRules(),
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self.max_segment_samples = max(1, int(max_utterance_s * SAMPLE_RATE))
        self.max_file_bytes = max_file_bytes
        self.pause_rules = pauses
        self._settings = _Settings()
        self._configured = False
        self._told_unconfigured = False
        self._input: Optional[_Input] = None
        self._utterance = 0
        self._segments: dict[int, _Segment] = {}
        # The end being carried out (its final and acknowledgement still to come), for
        # engine_lost, which replaces the actions left of it.
        self._ending: Optional[tuple[_Input, bool]] = None

    @classmethod
    def for_config(cls, config: ServerConfig) -> "FunasrRuntimeProtocol":
        """A ``base.ProtocolFactory``: the limits are the service's settings."""
        return cls(max_message_bytes=config.max_message_bytes,
                   max_utterance_s=config.max_utterance_s)

    # --- client messages --------------------------------------------------------------
    def connected(self) -> list[Action]:
        return []  # FunASR's servers greet with nothing; clients speak first

    def receive(self, data: str | bytes, *, engine_ready: bool = True) -> list[Action]:
        """Actions answering one client message. Never raises for any input."""
        self._ending = None
        try:
            message = parse_client_message(data, self.max_message_bytes)
        except ProtocolError as exc:
            actions: list[Action] = [Reply(self._error(exc.code, exc.message))]
            if isinstance(data, (bytes, bytearray, memoryview)):
                actions.append(IgnoredAudio(len(data)))
            return actions
        if isinstance(message, Audio):
            return self._audio(message.data, engine_ready)
        return self._configure(message, engine_ready)

    def close(self) -> list[Action]:
        """The server closes the connection (idle timeout, shutdown): the segment in
        flight is finished, so its final is delivered."""
        self._ending = None
        current = self._input
        self._input = None
        if current is None or not current.segment:
            return []
        return self._finish_segment(current, last=True)

    def engine_lost(self) -> list[Action]:
        """The engine refused a call (no session, or the model was replaced). The adapter
        skipped the actions after that call, so each segment of the input still waiting
        for its final gets one now, with the text already shown; an end being carried out
        gets its acknowledgement; later audio starts a new segment."""
        current = self._input if self._ending is None else self._ending[0]
        reason = "the model was stopped or replaced"
        actions: list[Action] = [Reply(self._error(
            ErrorCode.MODEL_NOT_READY, f"{reason}: the audio of this segment is lost"))]
        if current is None:
            return actions
        current.outcome.failed(reason)
        current.segment, current.fed = 0, 0
        last_told = False
        for utterance, segment in list(self._segments.items()):
            if segment.outcome is current.outcome:
                del self._segments[utterance]
                actions.append(Reply(self._segment_final(segment, segment.sent, False)))
                last_told = last_told or segment.last
        if self._ending is not None:
            _, is_end = self._ending
            self._ending = None
            if not last_told:
                actions.append(Reply(ResultMessage(current.final_mode, "", current.wav_name,
                                                   is_final=True)))
            if is_end:
                actions.append(Reply(EndAcknowledgement(
                    current.final_mode, current.wav_name, current.outcome)))
        return actions

    def _configure(self, message: Configuration, engine_ready: bool) -> list[Action]:
        self._settings.update(message)
        self._configured = True
        current = self._input
        if current is not None and not message.ends_input:
            if not current.began:
                self._input = None  # nothing of it yet: it starts with these settings
            elif message.wav_name is not None:
                current.wav_name = message.wav_name
        if message.ends_input:
            return self._end(bool(message.is_end), engine_ready)
        return []

    def _start_input(self) -> _Input:
        s = self._settings
        is_file = s.wav_format != "pcm"
        return _Input(
            mode=s.mode,
            wav_name=s.wav_name,
            pauses=None if s.mode is Mode.OFFLINE else PauseDetector(self.pause_rules),
            resampler=None if is_file or s.audio_fs == SAMPLE_RATE else StreamResampler(s.audio_fs),
            file=bytearray() if is_file else None,
        )

    def _audio(self, data: bytes, engine_ready: bool) -> list[Action]:
        if not self._configured:
            if self._told_unconfigured:
                return [IgnoredAudio(len(data))]
            self._told_unconfigured = True
            return [IgnoredAudio(len(data)), Reply(self._error(
                ErrorCode.NOT_CONFIGURED,
                "audio before the first JSON message ({\"mode\": ..., \"wav_name\": ..., "
                "\"is_speaking\": true}): dropped"))]
        if not data:
            return []
        if self._input is None:
            self._input = self._start_input()
        current = self._input
        if current.failed:
            return [IgnoredAudio(len(data))]
        if current.file is not None:
            if len(current.file) + len(data) > self.max_file_bytes:
                current.failed = True
                current.file = bytearray()
                current.outcome.failed("audio file too large")
                return [IgnoredAudio(len(data)), Reply(self._error(
                    ErrorCode.TOO_LARGE, f"an audio file over {self.max_file_bytes} bytes: "
                    "dropped; send it in parts, or as PCM"))]
            current.file += data
            current.began = True
            return []
        data = current.odd + data
        current.odd = data[len(data) - len(data) % 2:]
        samples = np.frombuffer(data[: len(data) - len(current.odd)], dtype="<i2").astype(np.int16)
        if current.resampler is not None:
            samples = current.resampler.feed(samples)
        return self._pcm(current, samples, engine_ready)

    def _pcm(self, current: _Input, samples: Samples, engine_ready: bool) -> list[Action]:
        """Feed 16 kHz ``samples`` to the input's segments, cutting where they end."""
        actions: list[Action] = []
        while len(samples) and not current.failed:
            if not current.segment:
                if not engine_ready:
                    current.failed = True
                    current.outcome.failed("the model is not loaded")
                    actions.append(IgnoredAudio(2 * len(samples)))
                    actions.append(Reply(self._error(
                        ErrorCode.MODEL_NOT_READY,
                        "the model is not loaded yet: this input's audio is dropped; "
                        "try again shortly")))
                    break
                self._utterance += 1
                current.began = True
                current.segment = self._utterance
                current.fed = 0
                self._segments[current.segment] = _Segment(
                    current.mode, current.wav_name, current.outcome)
                actions.append(BeginUtterance(current.segment))
            room = self.max_segment_samples - current.fed
            piece = samples[:room]
            pause = current.pauses.feed(piece) if current.pauses is not None else None
            take = len(piece) if pause is None else pause
            if take:
                actions.append(Feed(current.segment, piece[:take].tobytes(),
                                    report=current.mode is not Mode.OFFLINE))
                current.fed += take
            samples = samples[take:]
            if pause is not None or current.fed >= self.max_segment_samples:
                actions += self._finish_segment(current, last=False)
        return actions

    def _end(self, is_end: bool, engine_ready: bool) -> list[Action]:
        """``is_speaking`` false: the input's last segment is finished (with its last
        characters), then, for ``is_end``, the acknowledgement. An audio file is decoded
        first, off the event loop."""
        current = self._input if self._input is not None else self._start_input()
        self._input = None
        if current.file is not None and not current.failed:
            data = bytes(current.file)
            current.file = None
            return [Compute(
                work=lambda: _decoded(data),
                then=lambda decoded: self._end_input(current, is_end, engine_ready, decoded),
            )]
        return self._end_input(current, is_end, engine_ready, None)

    def _end_input(
        self, current: _Input, is_end: bool, engine_ready: bool,
        decoded: Samples | AudioDecodeError | None,
    ) -> list[Action]:
        self._ending = (current, is_end)
        actions: list[Action] = []
        if isinstance(decoded, AudioDecodeError):
            current.failed = True
            current.outcome.failed("the audio file could not be decoded")
            actions.append(Reply(self._error(ErrorCode.BAD_AUDIO, str(decoded), current)))
        elif decoded is not None:
            actions += self._pcm(current, decoded, engine_ready)
        elif current.resampler is not None and not current.failed:
            actions += self._pcm(current, current.resampler.flush(), engine_ready)
        if current.segment:
            actions += self._finish_segment(current, last=True)
        else:
            actions.append(Reply(ResultMessage(current.final_mode, "", current.wav_name,
                                               is_final=True)))
        if is_end:
            actions.append(Reply(EndAcknowledgement(current.final_mode, current.wav_name,
                                                    current.outcome)))
        return actions

    def _finish_segment(self, current: _Input, last: bool) -> list[Action]:
        segment = self._segments[current.segment]
        segment.last = last
        utterance = current.segment
        current.segment, current.fed = 0, 0
        return [Finish(utterance, self._options(current.mode))]

    def _options(self, mode: Mode) -> Refinement:
        if mode is Mode.ONLINE:
            return ONLINE_FINAL
        s = self._settings
        return Refinement(itn=s.itn, hotwords=s.hotwords)

    # --- engine results ---------------------------------------------------------------
    def partial_ready(
        self, utterance: int, text: str, confidence: float, processing_time_ms: float
    ) -> Optional[ResultMessage]:
        """The new streaming characters of a segment, or None (nothing new; or the text
        changed rather than grew: what was sent stays, the final settles it)."""
        segment = self._segments.get(utterance)
        if segment is None or not text.startswith(segment.sent) or text == segment.sent:
            return None
        new = text[len(segment.sent):]
        segment.sent = text
        return ResultMessage(segment.mode.partial_mode, new, segment.wav_name, is_final=False)

    def final_ready(
        self, utterance: int, text: str, confidence: float, processing_time_ms: float,
        *, refined: bool = False,
    ) -> ResultMessage:
        """A segment's last reply: its finished text (``offline``, ``2pass-offline``) or
        the rest of its streaming text (``online``)."""
        segment = self._segments.pop(utterance, None)
        if segment is None:  # a segment engine_lost already answered: nothing to add
            return ResultMessage(self._settings.mode.partial_mode, "", self._settings.wav_name,
                                 is_final=False, ends_segment=True)
        return self._segment_final(segment, text, True)

    def _segment_final(self, segment: _Segment, text: str, ends: bool) -> ResultMessage:
        if segment.mode is Mode.ONLINE:
            text = streaming_tail(segment.sent, text)
        return ResultMessage(segment.mode.final_mode, text, segment.wav_name,
                             is_final=segment.last, ends_segment=ends)

    def engine_failed(self, utterance: int, reason: str, final: bool) -> list[ServerMessage]:
        """An error reply; for a segment's end also its final (the streaming text already
        shown, so a 2pass client keeps it) and the failure is in the acknowledgement."""
        if utterance not in self._segments:
            return []  # a segment the engine lost: the client was told (engine_lost)
        messages: list[ServerMessage] = [
            self._error(ErrorCode.RECOGNITION_FAILED, f"recognition failed: {reason}")]
        if final:
            segment = self._segments.pop(utterance)
            segment.outcome.failed(f"recognition failed: {reason}")
            messages.append(self._segment_final(segment, segment.sent, True))
        return messages

    def idle_timeout(self, seconds: float) -> ErrorReply:
        return self._error(ErrorCode.IDLE_TIMEOUT, f"no message for {seconds:g} s: closing")

    def counts_as(self, message: Outgoing) -> Counted:
        if isinstance(message, ErrorReply):
            return Counted.ERROR
        if isinstance(message, ResultMessage) and message.ends_segment:
            return Counted.FINAL
        return Counted.NOTHING

    def _error(self, code: int, message: str, current: Optional[_Input] = None) -> ErrorReply:
        current = self._input if current is None else current
        mode = current.mode if current is not None else self._settings.mode
        name = current.wav_name if current is not None else self._settings.wav_name
        return ErrorReply(mode.partial_mode, name, int(code), message)

