"""The seed protocol's messages (``/ws/asr``), parsed and serialized, without I/O.

Client messages (``str`` JSON or ``bytes`` of raw PCM) parse into ``Control`` or ``Audio``;
server messages are typed values serialized in the seed service's field layout. Bad client
input raises ``ProtocolError`` with an ``ErrorCode``. The state machine that answers them
is ``tingxie.server.protocols.seed``.

Wire format (compatible with the seed service)::

    client -> {"type": "control", "command": "start"|"stop"|"reset", "timestamp": 1698756432000}
    client -> {"type": "control", "command": "start", "hotwords": "a b" | ["a", "b"],
               "refine": false, "punc": false, "itn": false}   (Tingxie extension: options
               of the utterance's second pass, each optional; none: the service's defaults)
    client -> {"type": "audio", "data": "<base64 int16 LE PCM, 16 kHz mono>", "timestamp": ...}
    client -> a binary frame of raw int16 LE PCM (Tingxie extension)
    server -> {"type": "status", "code": 200, "message": "...", "timestamp": ...}
    server -> {"type": "result", "mode": "partial"|"final", "text": "...", "timestamp": ...,
               "confidence": 0.93, "processing_time_ms": 12.5}
               (a final also has "refined": true|false, Tingxie extension: whether the
               offline model decoded the text again, or it is the live draft, finished)
    server -> {"type": "error", "code": 400, "message": "...", "timestamp": ...}
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from dataclasses import dataclass
from typing import Any, Optional, Union

from tingxie.engine.second_pass import Refinement
from tingxie.engine.text.hotwords import MAX_HOTWORDS, parse_hotwords

from ..errors import ProtocolError
from .base import PCM_BYTES_PER_SECOND

__all__ = [
    "Audio",
    "ClientMessage",
    "Command",
    "Control",
    "ErrorCode",
    "ErrorMessage",
    "ProtocolError",
    "ResultMessage",
    "ServerMessage",
    "StatusMessage",
    "parse_client_message",
    "parse_server_message",
]


class ErrorCode(enum.IntEnum):
    """The ``code`` of every ``error`` message the service sends."""

    BAD_REQUEST = 400
    """Not JSON, not an object, nested too deep, unknown ``type`` or ``command``,
    a missing or mistyped field."""
    IDLE_TIMEOUT = 408
    """No message for WS_TIMEOUT seconds; sent just before the server closes the connection."""
    NOT_RECORDING = 409
    """``stop`` without a ``start`` before it."""
    TOO_LARGE = 413
    """A message over the size limit (1 MiB), or audio beyond the maximum utterance length
    (that audio is dropped; ``stop`` still delivers the final of what was kept)."""
    BAD_AUDIO = 422
    """``data`` is not base64, or the PCM has an odd number of bytes."""
    RECOGNITION_FAILED = 500
    """The model failed while decoding; the audio of that message is lost."""
    MODEL_NOT_READY = 503
    """``start`` while the model is still loading (or failed to load)."""


MAX_NESTING = 32
"""JSON nested deeper than this is refused before it reaches the parser's recursion limit."""



# --- client messages ------------------------------------------------------------------


class Command(enum.Enum):
    START = "start"
    STOP = "stop"
    RESET = "reset"


Timestamp = Union[int, float, None]


def _timestamp(obj: dict[str, Any]) -> Timestamp:
    value = obj.get("timestamp")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"'timestamp' must be a number (milliseconds), got {type(value).__name__}",
        )
    return value


def _with_timestamp(obj: dict[str, Any], timestamp: Timestamp) -> dict[str, Any]:
    if timestamp is not None:
        obj["timestamp"] = timestamp
    return obj


START_OPTIONS = {"refine": "refine", "punc": "punctuate", "itn": "itn"}
"""The switches a ``start`` may carry, by JSON field: the ``Refinement`` field each sets."""


def _hotwords(value: Any) -> tuple[str, ...]:
    """``hotwords`` of a ``start``: a string of words (spaces, commas, 、, ... as
    ``parse_hotwords`` reads them) or a list of strings (one word or phrase each)."""
    if isinstance(value, str):
        return parse_hotwords(value)
    if isinstance(value, list) and all(isinstance(word, str) for word in value):
        seen: set[str] = set()
        words = []
        for word in (" ".join(w.split()) for w in value):
            if word and word.casefold() not in seen:
                seen.add(word.casefold())
                words.append(word)
        return tuple(words[:MAX_HOTWORDS])
    if isinstance(value, list):
        got = "a list holding " + next(type(w).__name__ for w in value if not isinstance(w, str))
    else:
        got = type(value).__name__
    raise ProtocolError(
        ErrorCode.BAD_REQUEST,
        f"'hotwords' must be a string or a list of strings, got {got}",
    )


def _start_options(obj: dict[str, Any]) -> Optional[Refinement]:
    """The second-pass options of a ``start`` (None when it carries none)."""
    fields: dict[str, Any] = {}
    for key, field_name in START_OPTIONS.items():
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                f"'{key}' must be true or false, got {type(value).__name__}",
            )
        fields[field_name] = value
    if obj.get("hotwords") is not None:
        fields["hotwords"] = _hotwords(obj["hotwords"])
    return Refinement(**fields) if fields else None


@dataclass(frozen=True)
class Control:
    """``{"type": "control", "command": ..., "timestamp": ...}``; a ``start`` may carry
    ``options`` for its utterance's second pass (``hotwords``, ``refine``, ``punc``,
    ``itn``; other commands' are not read)."""

    command: Command
    timestamp: Timestamp = None
    options: Optional[Refinement] = None

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> "Control":
        """From a decoded JSON object whose ``type`` is ``control``; raises ``ProtocolError``."""
        command = obj.get("command")
        if command is None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "control message without 'command'")
        if not isinstance(command, str):
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                f"'command' must be a string, got {type(command).__name__}",
            )
        try:
            parsed = Command(command)
        except ValueError:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                f"unknown command {_clip(command)!r}: expected start, stop or reset",
            ) from None
        timestamp = _timestamp(obj)
        options = _start_options(obj) if parsed is Command.START else None
        return cls(parsed, timestamp, options)

    def serialize(self) -> str:
        message: dict[str, Any] = {"type": "control", "command": self.command.value}
        options = self.options
        if options is not None:
            for key, field_name in START_OPTIONS.items():
                if getattr(options, field_name) is not None:
                    message[key] = getattr(options, field_name)
            if options.hotwords is not None:
                message["hotwords"] = list(options.hotwords)
        return json.dumps(_with_timestamp(message, self.timestamp), ensure_ascii=False)


@dataclass(frozen=True)
class Audio:
    """Audio for the utterance in progress: int16 little-endian PCM, 16 kHz mono.

    Arrives as ``{"type": "audio", "data": "<base64>"}`` or as a binary frame (``binary``).
    """

    pcm: bytes
    timestamp: Timestamp = None
    binary: bool = False

    @property
    def seconds(self) -> float:
        return len(self.pcm) / PCM_BYTES_PER_SECOND

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> "Audio":
        """From a decoded JSON object whose ``type`` is ``audio``; raises ``ProtocolError``."""
        data = obj.get("data")
        if data is None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "audio message without 'data'")
        if not isinstance(data, str):
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                f"'data' must be a base64 string, got {type(data).__name__}",
            )
        timestamp = _timestamp(obj)
        try:
            # Whitespace is tolerated (base64.encodebytes adds newlines); anything else is not.
            pcm = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError(ErrorCode.BAD_AUDIO, "'data' is not valid base64") from None
        return cls.from_pcm(pcm, timestamp)

    @classmethod
    def from_pcm(cls, pcm: bytes, timestamp: Timestamp = None, binary: bool = False) -> "Audio":
        if len(pcm) % 2:
            raise ProtocolError(
                ErrorCode.BAD_AUDIO,
                f"16-bit PCM needs an even number of bytes, got {len(pcm)}",
            )
        return cls(bytes(pcm), timestamp, binary)

    def serialize(self) -> str | bytes:
        if self.binary:
            return self.pcm
        payload = {"type": "audio", "data": base64.b64encode(self.pcm).decode("ascii")}
        return json.dumps(_with_timestamp(payload, self.timestamp))


ClientMessage = Union[Control, Audio]


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _nesting_depth(text: str) -> int:
    """Deepest bracket nesting outside JSON strings (a cheap scan, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_client_message(data: str | bytes, max_bytes: int) -> ClientMessage:
    """Parse one WebSocket message from a client.

    ``str`` is JSON (``control`` or ``audio``), ``bytes`` is raw PCM. Raises
    ``ProtocolError`` with an ``ErrorCode``: 413 over ``max_bytes`` (UTF-8 size),
    400 for malformed JSON or fields, 422 for bad audio.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        size = len(data)
        if size > max_bytes:
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"message of {size} bytes is over the limit of {max_bytes} bytes",
            )
        return Audio.from_pcm(bytes(data), binary=True)
    size = len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ProtocolError(
            ErrorCode.TOO_LARGE,
            f"message of {size} bytes is over the limit of {max_bytes} bytes",
        )
    # str.count is C-fast; the character scan runs only when brackets could nest that deep
    # (base64 audio has none), so large audio messages cost the event loop nothing here.
    if data.count("[") + data.count("{") > MAX_NESTING and _nesting_depth(data) > MAX_NESTING:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"JSON nested deeper than {MAX_NESTING} levels"
        )
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"invalid JSON: {_clip(str(exc), 80)}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"a message must be a JSON object, got {type(obj).__name__}"
        )
    kind = obj.get("type")
    if kind is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "message without 'type'")
    if kind == "control":
        return Control.parse(obj)
    if kind == "audio":
        return Audio.parse(obj)
    if isinstance(kind, str):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"unknown type {_clip(kind)!r}: expected control or audio"
        )
    raise ProtocolError(
        ErrorCode.BAD_REQUEST, f"'type' must be a string, got {type(kind).__name__}"
    )


# --- server messages ------------------------------------------------------------------


@dataclass(frozen=True)
class StatusMessage:
    code: int
    message: str
    timestamp: int

    def serialize(self) -> str:
        return json.dumps(
            {"type": "status", "code": self.code, "message": self.message,
             "timestamp": self.timestamp},
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class ErrorMessage:
    code: int
    message: str
    timestamp: int

    def serialize(self) -> str:
        return json.dumps(
            {"type": "error", "code": self.code, "message": self.message,
             "timestamp": self.timestamp},
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class ResultMessage:
    """A recognition result: ``mode`` is ``partial`` (the utterance so far) or ``final``.

    ``refined`` (finals only; None: not said): whether the offline model decoded the text
    again, or it is the live draft (punctuated and finished where those steps are on)."""

    mode: str
    text: str
    timestamp: int
    confidence: float
    processing_time_ms: float
    refined: Optional[bool] = None

    @property
    def is_final(self) -> bool:
        return self.mode == "final"

    def serialize(self) -> str:
        message: dict[str, Any] = {
            "type": "result",
            "mode": self.mode,
            "text": self.text,
            "timestamp": self.timestamp,
            "confidence": round(self.confidence, 4),
            "processing_time_ms": round(self.processing_time_ms, 1),
        }
        if self.refined is not None:
            message["refined"] = self.refined
        return json.dumps(message, ensure_ascii=False)


ServerMessage = Union[StatusMessage, ErrorMessage, ResultMessage]


def parse_server_message(data: str) -> ServerMessage:
    """Parse what the server sent (for clients and tests); raises ``ProtocolError`` (400)
    for anything outside the documented layout."""
    try:
        obj = json.loads(data)
    except ValueError:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "invalid JSON") from None
    try:
        kind = obj["type"]
        if kind == "status":
            if set(obj) != {"type", "code", "message", "timestamp"}:
                raise KeyError(sorted(obj))
            return StatusMessage(_int(obj["code"]), _str(obj["message"]), _int(obj["timestamp"]))
        if kind == "error":
            if set(obj) != {"type", "code", "message", "timestamp"}:
                raise KeyError(sorted(obj))
            code = _int(obj["code"])
            if code not in {c.value for c in ErrorCode}:
                raise KeyError(f"undocumented code {code}")
            return ErrorMessage(code, _str(obj["message"]), _int(obj["timestamp"]))
        if kind == "result":
            fields = {"type", "mode", "text", "timestamp", "confidence", "processing_time_ms"}
            if obj.get("mode") == "final":
                fields.add("refined")  # every final of Tingxie's says it
            if set(obj) != fields or obj["mode"] not in ("partial", "final"):
                raise KeyError(sorted(obj))
            refined = obj.get("refined")
            if refined is not None and not isinstance(refined, bool):
                raise TypeError(f"expected bool, got {refined!r}")
            return ResultMessage(
                obj["mode"], _str(obj["text"]), _int(obj["timestamp"]),
                _num(obj["confidence"]), _num(obj["processing_time_ms"]), refined,
            )
        raise KeyError(kind)
    except (KeyError, TypeError) as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"not a server message: {exc}") from None


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected int, got {value!r}")
    return value


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected number, got {value!r}")
    return float(value)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {value!r}")
    return value
