"""The wire protocols the service speaks, each a state machine without I/O.

- ``base``: what every protocol shares (the actions it asks of the adapter, the
  ``ConnectionProtocol`` interface the adapter drives, ``ProtocolFactory``).
- ``seed``: the seed service's ``/ws/asr`` protocol (``SeedProtocol``, ``PATH``);
  ``seed_messages``: its message types, parsing and serialization.
- ``funasr_runtime``: FunASR's runtime WebSocket protocol (``FunasrRuntimeProtocol``, at
  ``/``); ``funasr_runtime_messages``: its messages; ``funasr_runtime_audio``: its audio
  steps (other sample rates, audio files as bytes, pauses between segments).

Which path speaks which protocol is ``tingxie.server.router``.
"""
