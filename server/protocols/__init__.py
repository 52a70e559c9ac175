"""The wire protocols the service speaks, each a state machine without I/O.

- ``base``: what every protocol shares (the actions it asks of the adapter, the
  ``ConnectionProtocol`` interface the adapter drives, ``ProtocolFactory``).
- ``seed``: the seed service's ``/ws/asr`` protocol (``SeedProtocol``, ``PATH``);
  ``seed_messages``: its message types, parsing and serialization.

Which path speaks which protocol is ``tingxie.server.router``.
"""
