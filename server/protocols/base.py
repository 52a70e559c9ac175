"""What every wire protocol shares: the actions it asks of the adapter and the interface
the adapter drives.

A protocol is one state machine per connection, without I/O. The websockets adapter
(``tingxie.server.app``) hands it each client message and carries out the ``Action``s it
returns, in order: messages to send and engine calls. The results of engine calls come
back through the protocol's ``partial_ready`` / ``final_ready`` / ``engine_failed``, in the
order the calls were asked for, and what those return is sent in that order too. So a
protocol decides every byte a client sees, and the adapter decides none.

A second protocol is a module beside ``seed`` implementing ``ConnectionProtocol`` and one
``Router.add`` (``tingxie.server.router``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol, Sequence, Union

from tingxie.engine.interface import SAMPLE_RATE
from tingxie.engine.second_pass import Refinement

from ..config import ServerConfig

__all__ = [
    "Action",
    "BeginUtterance",
    "Compute",
    "ConnectionProtocol",
    "Counted",
    "Discard",
    "Feed",
    "Finish",
    "IgnoredAudio",
    "Outgoing",
    "PCM_BYTES_PER_SECOND",
    "ProtocolFactory",
    "Reply",
]

PCM_BYTES_PER_SECOND = SAMPLE_RATE * 2
"""Bytes per second of the engine's PCM (int16 mono), the only audio a ``Feed`` carries."""


class Outgoing(Protocol):
    """A message for the client: a text frame (``str``) or a binary frame (``bytes``)."""

    def serialize(self) -> str | bytes: ...


# --- actions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """Send this message now (after everything queued before it)."""

    message: Outgoing


@dataclass(frozen=True)
class BeginUtterance:
    """A new utterance starts: make sure an engine session is open. If none can be opened,
    the adapter calls ``engine_lost`` and carries out what it returns instead of the rest."""

    utterance: int


@dataclass(frozen=True)
class Feed:
    """Feed ``pcm`` (``PCM_BYTES_PER_SECOND``) to the engine session; pass the result to
    ``partial_ready`` in queue order. ``report`` False: the result must not produce a reply
    (another reply answers that client message)."""

    utterance: int
    pcm: bytes
    report: bool = True


@dataclass(frozen=True)
class Finish:
    """End the utterance in the engine (``Session.finish(options)``: what the client asked
    of the second pass, None for the service's defaults); pass the result to
    ``final_ready`` in queue order."""

    utterance: int
    options: Optional[Refinement] = None


@dataclass(frozen=True)
class Discard:
    """Discard the utterance in progress in the engine (``Session.reset``)."""

    utterance: int


@dataclass(frozen=True)
class IgnoredAudio:
    """Audio that arrived outside an utterance, dropped without reply (counted in ``/stats``)."""

    nbytes: int


@dataclass(frozen=True)
class Compute:
    """Run ``work`` (slow and pure: it touches no protocol state; decoding an audio file,
    say) on a worker thread, so the event loop never waits on it; then carry out the
    actions ``then(result)`` returns, on the loop, before any action after this one. This
    connection's messages are not read meanwhile."""

    work: Callable[[], Any]
    then: Callable[[Any], "list[Action]"]


Action = Union[Reply, BeginUtterance, Feed, Finish, Discard, IgnoredAudio, Compute]


class Counted(enum.Enum):
    """What a message sent to the client counts as in ``/stats``."""

    NOTHING = "nothing"
    ERROR = "error"
    """``errors_sent``."""
    FINAL = "final"
    """When it answers a ``Finish``: one more utterance, with its stop-to-final latency."""


# --- the interface the adapter drives -----------------------------------------------------


class ConnectionProtocol(Protocol):
    """One connection's state machine. No method raises for any client input; none does I/O.

    The adapter calls ``connected`` once, then ``receive`` for every client message, and
    ``close`` when it ends the connection itself (idle timeout, server shutdown) so an
    utterance in flight still gets its final. ``engine_lost`` is called when the engine
    refuses a call (no session can be opened, or the model was replaced).
    """

    def connected(self) -> list[Action]:
        """What to do when the connection opens (a greeting, say)."""
        ...

    def receive(self, data: str | bytes, *, engine_ready: bool) -> list[Action]:
        """What to do for one client message; ``engine_ready`` is whether the model is loaded."""
        ...

    def close(self) -> list[Action]:
        """What to do before the server closes the connection."""
        ...

    def engine_lost(self) -> list[Action]:
        """What to do when the engine refused a call: the utterance in flight ends."""
        ...

    def partial_ready(
        self, utterance: int, text: str, confidence: float, processing_time_ms: float
    ) -> Optional[Outgoing]:
        """The message for a ``Feed``'s result, or None to send nothing."""
        ...

    def final_ready(
        self, utterance: int, text: str, confidence: float, processing_time_ms: float,
        *, refined: bool = False,
    ) -> Outgoing:
        """The message for a ``Finish``'s result; ``refined``: the offline model decoded
        its text again (``Result.refined``)."""
        ...

    def engine_failed(self, utterance: int, reason: str, final: bool) -> Sequence[Outgoing]:
        """The messages for a ``Feed`` (``final`` False) or ``Finish`` that failed in the engine."""
        ...

    def idle_timeout(self, seconds: float) -> Outgoing:
        """The last message before the server closes a connection silent for ``seconds``."""
        ...

    def counts_as(self, message: Outgoing) -> Counted:
        """What ``message`` counts as in ``/stats`` once sent."""
        ...


class ProtocolFactory(Protocol):
    """Makes the state machine of one new connection, from the service's settings."""

    def __call__(self, config: ServerConfig) -> ConnectionProtocol: ...
