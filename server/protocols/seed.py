"""The seed protocol's connection state machine (``/ws/asr``), without I/O.

``SeedProtocol`` answers one connection the way the seed service did: a ``status``
greeting, ``start`` / audio / ``stop`` / ``reset``, a ``partial`` result whenever the text
of the utterance changes and a ``final`` after ``stop`` (the options a ``start`` carried go
with its utterance's ``Finish`` to the second pass); every bad message gets an ``error``
(``ErrorCode``) and the connection stays usable. Its messages are
``tingxie.server.protocols.seed_messages``; the actions and the interface it implements
are ``tingxie.server.protocols.base``.
"""

from __future__ import annotations

import enum
import time
from typing import Callable, Optional

from tingxie.engine.interface import SAMPLE_RATE
from tingxie.engine.second_pass import Refinement

from ..config import ServerConfig
from ..errors import ProtocolError
from .base import (
    PCM_BYTES_PER_SECOND,
    Action,
    BeginUtterance,
    Counted,
    Discard,
    Feed,
    Finish,
    IgnoredAudio,
    Outgoing,
    Reply,
)
from .seed_messages import (
    Audio,
    Command,
    ErrorCode,
    ErrorMessage,
    ResultMessage,
    ServerMessage,
    StatusMessage,
    parse_client_message,
)

__all__ = ["PATH", "SeedProtocol", "State"]

PATH = "/ws/asr"
"""Where the seed service served this protocol, and where Tingxie serves it."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class State(enum.Enum):
    IDLE = "idle"
    RECORDING = "recording"


class SeedProtocol:
    """What one ``/ws/asr`` connection answers, in order (a ``base.ConnectionProtocol``).

    Feed it every client message with ``receive``; carry out the returned actions in
    order. Results of ``Feed``/``Finish`` actions must be handed back in the same order
    the actions were returned (``partial_ready``/``final_ready``/``engine_failed``): the
    adapter queues them behind the replies emitted before them, so replies go out in the
    order of the messages that caused them.

    ``max_message_bytes`` bounds one client message (413 above it); audio beyond
    ``max_utterance_s`` in one utterance is dropped (413 once, the final still comes).
    """

    def __init__(
        self,
        *,
        max_message_bytes: int = 1 << 20,
        max_utterance_s: float = 300.0,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self.max_utterance_bytes = int(max_utterance_s * SAMPLE_RATE) * 2  # whole samples
        self._clock_ms = clock_ms
        self.state = State.IDLE
        self._utterance = 0  # number of the current (or last) utterance
        self._fed = 0  # bytes of the current utterance fed to the engine
        self._over_limit_told = False
        self._discarded: set[int] = set()
        self._last_partial: tuple[int, str] = (0, "")
        # What the utterance's ``start`` asked of its second pass (None: the defaults).
        self._options: Optional[Refinement] = None

    @classmethod
    def for_config(cls, config: ServerConfig) -> "SeedProtocol":
        """A ``base.ProtocolFactory``: the limits are the service's settings."""
        return cls(
            max_message_bytes=config.max_message_bytes,
            max_utterance_s=config.max_utterance_s,
        )

    # --- messages -----------------------------------------------------------------
    def connected(self) -> list[Action]:
        return [Reply(self._status("connected"))]

    def receive(self, data: str | bytes, *, engine_ready: bool = True) -> list[Action]:
        """Actions answering one client message. Never raises for any input.

        ``engine_ready`` is whether the model is loaded (``start`` is refused with 503
        otherwise).
        """
        try:
            message = parse_client_message(data, self.max_message_bytes)
        except ProtocolError as exc:
            return [Reply(self._error(exc.code, exc.message))]
        if isinstance(message, Audio):
            return self._audio(message)
        if message.command is Command.START:
            return self._start(engine_ready, message.options)
        if message.command is Command.STOP:
            return self._stop()
        return self._reset()

    def close(self) -> list[Action]:
        """The connection is about to close (idle timeout, server shutdown): finish the
        utterance in flight so its final is delivered."""
        if self.state is State.RECORDING:
            self.state = State.IDLE
            return [Finish(self._utterance, self._options)]
        return []

    def engine_lost(self) -> list[Action]:
        """The engine refused a call (closed, e.g. the model is being replaced): the
        utterance ends here. The client is told why and, if it was recording, gets the final
        with the text recognised so far, so nothing already shown to it is lost."""
        actions: list[Action] = [Reply(self._error(
            ErrorCode.MODEL_NOT_READY,
            "the model was stopped or replaced: this utterance ends here; send start again",
        ))]
        if self.state is State.RECORDING:
            last_utterance, last_text = self._last_partial
            text = last_text if last_utterance == self._utterance else ""
            actions.append(Reply(self.final_ready(self._utterance, text, 0.0, 0.0, refined=False)))
        self.state = State.IDLE
        self._discarded.add(self._utterance)
        return actions

    def _start(self, engine_ready: bool, options: Optional[Refinement]) -> list[Action]:
        if self.state is State.RECORDING:  # its options were those of the first start
            return [Reply(self._status("already recording"))]
        if not engine_ready:
            return [Reply(self._error(ErrorCode.MODEL_NOT_READY,
                                      "the model is not loaded yet; try again shortly"))]
        self.state = State.RECORDING
        self._utterance += 1
        self._fed = 0
        self._over_limit_told = False
        self._options = options
        return [BeginUtterance(self._utterance), Reply(self._status("recording started"))]

    def _stop(self) -> list[Action]:
        if self.state is not State.RECORDING:
            return [Reply(self._error(ErrorCode.NOT_RECORDING,
                                      "stop without start: not recording"))]
        self.state = State.IDLE
        return [Reply(self._status("recording stopped")), Finish(self._utterance, self._options)]

    def _reset(self) -> list[Action]:
        if self.state is not State.RECORDING:
            return [Reply(self._status("reset"))]
        self.state = State.IDLE
        self._discarded.add(self._utterance)
        return [Discard(self._utterance), Reply(self._status("reset: utterance discarded"))]

    def _audio(self, audio: Audio) -> list[Action]:
        if self.state is not State.RECORDING:
            return [IgnoredAudio(len(audio.pcm))]
        room = self.max_utterance_bytes - self._fed
        if len(audio.pcm) <= room:
            self._fed += len(audio.pcm)
            return [Feed(self._utterance, audio.pcm)]
        actions: list[Action] = []
        if room > 0:
            self._fed += room
            actions.append(Feed(self._utterance, audio.pcm[:room], report=False))
        if not self._over_limit_told:
            self._over_limit_told = True
            seconds = self.max_utterance_bytes / PCM_BYTES_PER_SECOND
            actions.append(Reply(self._error(
                ErrorCode.TOO_LARGE,
                f"utterance longer than {seconds:g} s: further audio is dropped until stop",
            )))
        return actions

    # --- engine results -------------------------------------------------------------
    def partial_ready(
        self, utterance: int, text: str, confidence: float, processing_time_ms: float
    ) -> ResultMessage | None:
        """The partial to send for a ``Feed``'s result, or None (text unchanged, or the
        utterance was discarded)."""
        if utterance in self._discarded:
            return None
        last_utterance, last_text = self._last_partial
        previous = last_text if last_utterance == utterance else ""
        if text == previous:
            return None
        self._last_partial = (utterance, text)
        return ResultMessage("partial", text, self._clock_ms(), confidence, processing_time_ms)

    def final_ready(
        self, utterance: int, text: str, confidence: float, processing_time_ms: float,
        *, refined: bool = False,
    ) -> ResultMessage:
        """The final to send for a ``Finish``'s result."""
        self._last_partial = (utterance, "")
        return ResultMessage(
            "final", text, self._clock_ms(), confidence, processing_time_ms, refined
        )

    def engine_failed(self, utterance: int, reason: str, final: bool) -> list[ServerMessage]:
        """What to send when a ``Feed`` or ``Finish`` failed in the engine. A failed
        ``Finish`` still yields a final (the text recognised so far) after the error, so a
        client waiting for its final is not left hanging."""
        messages: list[ServerMessage] = [
            self._error(ErrorCode.RECOGNITION_FAILED, f"recognition failed: {reason}")
        ]
        if final:
            last_utterance, last_text = self._last_partial
            text = last_text if last_utterance == utterance else ""
            messages.append(self.final_ready(utterance, text, 0.0, 0.0, refined=False))
        return messages

    def idle_timeout(self, seconds: float) -> ErrorMessage:
        return self._error(ErrorCode.IDLE_TIMEOUT, f"no message for {seconds:g} s: closing")

    def counts_as(self, message: Outgoing) -> Counted:
        if isinstance(message, ErrorMessage):
            return Counted.ERROR
        if isinstance(message, ResultMessage) and message.is_final:
            return Counted.FINAL
        return Counted.NOTHING

    def _status(self, message: str) -> StatusMessage:
        return StatusMessage(200, message, self._clock_ms())

    def _error(self, code: int, message: str) -> ErrorMessage:
        return ErrorMessage(int(code), message, self._clock_ms())
