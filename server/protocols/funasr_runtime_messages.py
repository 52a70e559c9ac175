"""The messages of FunASR's runtime WebSocket protocol, parsed and serialized, without I/O.

What FunASR's own clients send and expect (``funasr_wss_client.py`` of 2024 and of now, the
HTML5 page, the C++/Java/Go samples; FunASR's ``runtime/docs/websocket_protocol.md``)::

    client -> {"mode": "online"|"offline"|"2pass", "chunk_size": [5, 10, 5] | "5,10,5",
               "chunk_interval": 10, "encoder_chunk_look_back": 4,
               "decoder_chunk_look_back": 0, "audio_fs": 16000, "wav_name": "demo",
               "wav_format": "pcm" | "others" | "wav" | "mp3" ..., "is_speaking": true,
               "hotwords": "{\\"阿里巴巴\\": 20}" | "阿里巴巴 达摩院" | {"阿里巴巴": 20},
               "itn": true}
               (every field optional; any text message may update any of them)
    client -> binary frames: int16 little-endian mono PCM at audio_fs, or for a wav_format
               other than pcm the bytes of the audio file itself
    client -> {"is_speaking": false} (2024 clients) or
              {"is_speaking": false, "is_end": true} (current client: waits for the
              acknowledgement)
    server -> {"mode": "online"|"2pass-online"|"offline"|"2pass-offline", "text": "...",
               "wav_name": "demo", "is_final": false|true}
    server -> {"mode": ..., "text": "", "wav_name": ..., "is_final": true, "is_end": true}
              (the acknowledgement of is_end; "is_final": false and "error" when the engine
              failed on that input)
    server -> {"mode": ..., "text": "", "wav_name": ..., "is_final": false,
               "error": "...", "code": 400} (Tingxie: bad input, the connection stays open)

Bad client input raises ``ProtocolError`` with an ``ErrorCode``. The state machine that
answers these messages is ``tingxie.server.protocols.funasr_runtime``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from tingxie.engine.text.hotwords import parse_hotwords, read_hotwords

from ..errors import ProtocolError

__all__ = [
    "Audio",
    "ClientMessage",
    "Configuration",
    "EndAcknowledgement",
    "ErrorCode",
    "ErrorReply",
    "InputOutcome",
    "Mode",
    "ProtocolError",
    "ResultMessage",
    "ServerMessage",
    "parse_client_message",
]


class ErrorCode(enum.IntEnum):
    """The ``code`` of every error reply (Tingxie's; FunASR's servers send none)."""

    BAD_REQUEST = 400
    """Not JSON, not an object, an unknown ``mode``, a mistyped field."""
    IDLE_TIMEOUT = 408
    """No message for WS_TIMEOUT seconds; sent just before the server closes."""
    NOT_CONFIGURED = 409
    """Audio before the first JSON message (the audio is dropped)."""
    TOO_LARGE = 413
    """A message over the size limit, or an audio file over its limit."""
    BAD_AUDIO = 422
    """Audio file bytes that no installed decoder reads, or an ``audio_fs`` out of range."""
    RECOGNITION_FAILED = 500
    """The model failed while decoding."""
    MODEL_NOT_READY = 503
    """Audio while the model is loading (or failed to load), or the model was replaced."""


class Mode(enum.Enum):
    """What the client asked for: the streaming text, the offline text, or both."""

    ONLINE = "online"
    OFFLINE = "offline"
    TWO_PASS = "2pass"

    @property
    def partial_mode(self) -> str:
        """The ``mode`` of the replies carrying streaming text."""
        return "2pass-online" if self is Mode.TWO_PASS else self.value

    @property
    def final_mode(self) -> str:
        """The ``mode`` of the reply that ends a segment."""
        return "2pass-offline" if self is Mode.TWO_PASS else self.value


# --- client messages --------------------------------------------------------------------

MIN_AUDIO_FS = 8000
MAX_AUDIO_FS = 192000


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _bad(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_REQUEST, message)


def _flag(obj: dict[str, Any], key: str) -> Optional[bool]:
    """A true/false field; 0 and 1 count too (clients in C write them)."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _bad(f"'{key}' must be true or false, got {_clip(json.dumps(value))}")


def _whole(obj: dict[str, Any], key: str, low: int = 0) -> Optional[int]:
    """A whole-number field; a string of digits counts too (FunASR's server reads it so)."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"'{key}' must be a whole number, got {_clip(json.dumps(value))}")
    if value < low:
        raise _bad(f"'{key}' must be at least {low}, got {value}")
    return value


def _chunk_size(value: Any) -> Optional[tuple[int, ...]]:
    if value is None:
        return None
    parts: list[Any]
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not all(p.isdigit() for p in parts):
            raise _bad(f"'chunk_size' must be whole numbers like \"5,10,5\", got {_clip(value)!r}")
        parts = [int(p) for p in parts]
    elif isinstance(value, list):
        parts = value
    else:
        raise _bad(f"'chunk_size' must be a list like [5, 10, 5], got {_type_name(value)}")
    if len(parts) != 3 or not all(
        isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in parts
    ) or parts[1] < 1:
        raise _bad(f"'chunk_size' must be three whole numbers like [5, 10, 5], got "
                   f"{_clip(json.dumps(value, ensure_ascii=False))}")
    return tuple(parts)


def _hotwords(value: Any) -> Optional[tuple[str, ...]]:
    """``hotwords``: FunASR's JSON object ``{"word": weight}`` (as an object or as the JSON
    text the HTML5 page sends), or words in a string (spaces, commas, 、 ... as the current
    Python client joins them), or a list of words. Empty: none asked for (None)."""
    if value is None:
        return None
    if isinstance(value, str):
        words = parse_hotwords(value)
    elif isinstance(value, dict):
        words = parse_hotwords(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, list) and all(isinstance(w, str) for w in value):
        words = read_hotwords("\n".join(value))
    else:
        raise _bad("'hotwords' must be a string, an object {\"word\": weight} or a list of "
                   f"strings, got {_type_name(value)}")
    return words or None


def _text(obj: dict[str, Any], key: str) -> Optional[str]:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _bad(f"'{key}' must be a string, got {_type_name(value)}")
    return str(value)


@dataclass(frozen=True)
class Configuration:
    """A JSON message: settings of the input (each None when the message leaves it as it
    was) and, with ``is_speaking`` False, the end of the input.

    ``chunk_size``, ``chunk_interval`` and the look-backs are FunASR's streaming-model
    settings: read and checked, but Tingxie's streaming decoder keeps its own.
    """

    mode: Optional[Mode] = None
    wav_name: Optional[str] = None
    wav_format: Optional[str] = None
    audio_fs: Optional[int] = None
    is_speaking: Optional[bool] = None
    is_end: Optional[bool] = None
    hotwords: Optional[tuple[str, ...]] = None
    itn: Optional[bool] = None
    chunk_size: Optional[tuple[int, ...]] = None
    chunk_interval: Optional[int] = None
    encoder_chunk_look_back: Optional[int] = None
    decoder_chunk_look_back: Optional[int] = None

    @property
    def ends_input(self) -> bool:
        return self.is_speaking is False

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> "Configuration":
        """From a decoded JSON object; fields it does not know are ignored (clients of
        other FunASR servers send ``svs_lang`` and the like). Raises ``ProtocolError``."""
        mode = obj.get("mode")
        parsed_mode: Optional[Mode] = None
        if mode is not None:
            try:
                parsed_mode = Mode(mode)
            except (ValueError, TypeError):
                raise _bad(f"unknown mode {_clip(json.dumps(mode, ensure_ascii=False))}: "
                           "expected online, offline or 2pass") from None
        audio_fs = _whole(obj, "audio_fs")
        if audio_fs is not None and not MIN_AUDIO_FS <= audio_fs <= MAX_AUDIO_FS:
            raise ProtocolError(ErrorCode.BAD_AUDIO, f"'audio_fs' must be between "
                                f"{MIN_AUDIO_FS} and {MAX_AUDIO_FS} Hz, got {audio_fs}")
        wav_format = _text(obj, "wav_format")
        return cls(
            mode=parsed_mode,
            wav_name=_text(obj, "wav_name"),
            wav_format=None if wav_format is None else wav_format.strip().lower(),
            audio_fs=audio_fs,
            is_speaking=_flag(obj, "is_speaking"),
            is_end=_flag(obj, "is_end"),
            hotwords=_hotwords(obj.get("hotwords")),
            itn=_flag(obj, "itn"),
            chunk_size=_chunk_size(obj.get("chunk_size")),
            chunk_interval=_whole(obj, "chunk_interval", low=1),
            encoder_chunk_look_back=_whole(obj, "encoder_chunk_look_back"),
            decoder_chunk_look_back=_whole(obj, "decoder_chunk_look_back"),
        )

    def serialize(self) -> str:
        message: dict[str, Any] = {}
        for key in ("wav_name", "wav_format", "audio_fs", "is_speaking", "is_end", "itn",
                    "chunk_interval", "encoder_chunk_look_back", "decoder_chunk_look_back"):
            if getattr(self, key) is not None:
                message[key] = getattr(self, key)
        if self.mode is not None:
            message["mode"] = self.mode.value
        if self.chunk_size is not None:
            message["chunk_size"] = list(self.chunk_size)
        if self.hotwords is not None:
            message["hotwords"] = " ".join(self.hotwords)
        return json.dumps(message, ensure_ascii=False)


@dataclass(frozen=True)
class Audio:
    """A binary frame: PCM at the input's ``audio_fs``, or a piece of an audio file."""

    data: bytes

    def serialize(self) -> bytes:
        return self.data


ClientMessage = Union[Configuration, Audio]


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


MAX_NESTING = 32


def parse_client_message(data: str | bytes, max_bytes: int) -> ClientMessage:
    """Parse one WebSocket message: ``bytes`` are audio, ``str`` a JSON object.

    Raises ``ProtocolError``: 413 over ``max_bytes``, 400 for anything but a JSON object
    of well-typed fields.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) > max_bytes:
            raise ProtocolError(ErrorCode.TOO_LARGE, f"message of {len(data)} bytes is over "
                                f"the limit of {max_bytes} bytes")
        return Audio(bytes(data))
    size = len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ProtocolError(ErrorCode.TOO_LARGE,
                            f"message of {size} bytes is over the limit of {max_bytes} bytes")
    if data.count("[") + data.count("{") > MAX_NESTING:
        raise _bad(f"JSON nested or bracketed more than {MAX_NESTING} times")
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise _bad(f"invalid JSON: {_clip(str(exc), 80)}") from None
    if not isinstance(obj, dict):
        raise _bad(f"a message must be a JSON object, got {_type_name(obj)}")
    return Configuration.parse(obj)


# --- server messages --------------------------------------------------------------------


@dataclass(frozen=True)
class ResultMessage:
    """Recognized text. ``mode`` ``online``/``2pass-online``: the characters new since the
    last reply (clients append them); ``offline``/``2pass-offline``: a segment's finished
    text (2pass clients replace that segment's streaming text with it). ``is_final``: the
    last reply of the input (never while the client is still sending it).

    ``ends_segment`` (not sent): it answers a ``Finish``, so it counts as a final in
    ``/stats``."""

    mode: str
    text: str
    wav_name: str
    is_final: bool
    ends_segment: bool = False

    def serialize(self) -> str:
        return json.dumps({"mode": self.mode, "text": self.text, "wav_name": self.wav_name,
                           "is_final": self.is_final}, ensure_ascii=False)


@dataclass(frozen=True)
class ErrorReply:
    """Bad input or a failure, in the reply layout FunASR clients read without failing
    (``text`` empty, ``is_final`` false) plus ``error`` and ``code``."""

    mode: str
    wav_name: str
    code: int
    message: str

    def serialize(self) -> str:
        return json.dumps({"mode": self.mode, "text": "", "wav_name": self.wav_name,
                           "is_final": False, "error": self.message, "code": self.code},
                          ensure_ascii=False)


@dataclass
class InputOutcome:
    """What went wrong with one input (one file or recording), filled in as its results
    come back; read when its acknowledgement is sent, after them."""

    errors: list[str] = field(default_factory=list)

    def failed(self, reason: str) -> None:
        if reason not in self.errors:
            self.errors.append(reason)


@dataclass(frozen=True)
class EndAcknowledgement:
    """The answer to ``is_end``, sent after every result of the input: ``is_final`` true
    when they all came, false with ``error`` when the engine failed on some of it.

    ``outcome`` is read when the message is serialized, which the adapter does only after
    the results queued before it were handed to the protocol."""

    mode: str
    wav_name: str
    outcome: InputOutcome

    def serialize(self) -> str:
        message: dict[str, Any] = {"mode": self.mode, "text": "", "wav_name": self.wav_name,
                                   "is_final": not self.outcome.errors, "is_end": True}
        if self.outcome.errors:
            message["error"] = "; ".join(self.outcome.errors)
        return json.dumps(message, ensure_ascii=False)


ServerMessage = Union[ResultMessage, ErrorReply, EndAcknowledgement]
