"""The service's exceptions: one tree, translated at each boundary.

``ServerError`` is what the desktop app and ``--server-only`` see when the service
cannot start or is misconfigured (a busy port, a bad ``PORT`` value). ``ProtocolError``
is bad client input; the connection turns it into an ``error`` message and stays open.
"""

from __future__ import annotations


class ServerError(Exception):
    """The service cannot start or is misconfigured; the message says why, for a person."""


class ProtocolError(ServerError):
    """A client message the service does not accept.

    ``code`` is the ``code`` of the ``error`` message sent back (the seed protocol's are
    ``tingxie.server.protocols.seed_messages.ErrorCode``), ``message`` its text.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message

    def __repr__(self) -> str:
        return f"ProtocolError({self.code}, {self.message!r})"
