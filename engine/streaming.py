"""Chunked streaming recognition on one inference worker, for any chunk-based model.

A ``ChunkDecoder`` (the model backend) decodes fixed-size chunks of audio with a
per-utterance state. ``StreamingRecognizer`` owns one worker thread that alone
calls the decoder; ``StreamingSession`` buffers the caller's audio into chunks
and hands them to the worker through a queue. Callers never wait on inference:
every call returns a ``Future``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import numpy.typing as npt

from .audio import int16_to_float, pcm_to_int16
from .errors import EngineClosedError, RecognitionError
from .interface import SAMPLE_RATE, ModelInfo, Pcm, Result

log = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass
class Token:
    """One recognised token and the probability the model gave it."""

    text: str
    probability: float


class ChunkDecoder(Protocol):
    """What a streaming model backend provides. Called from the worker thread only."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def chunk_samples(self) -> int:
        """Samples per decoding step (9600 = 600 ms for Paraformer streaming)."""
        ...

    def new_state(self) -> Any:
        """Fresh per-utterance decoder state (FunASR's ``cache``)."""
        ...

    def decode(
        self, state: Any, samples: npt.NDArray[np.float32], is_final: bool
    ) -> list[Token]:
        """Decode one chunk (exactly ``chunk_samples`` long unless ``is_final``), updating
        ``state``; return the tokens this chunk added."""
        ...

    def text(self, tokens: Sequence[str]) -> str:
        """Join tokens into display text."""
        ...


class RevisingDecoder(ChunkDecoder, Protocol):
    """A decoder whose ``decode`` returns the whole utterance's tokens so far, which may
    revise earlier ones (e.g. Whisper re-decoding the growing utterance). Marked by a
    ``revises = True`` attribute; plain ``ChunkDecoder``s only append."""

    revises: bool


@dataclass
class _Job:
    session: "StreamingSession"
    utterance: int
    chunks: list[npt.NDArray[np.int16]]
    tail: npt.NDArray[np.int16] | None  # set on the final job: audio after the last chunk
    future: Future[Result]
    submitted: float
    audio_ms: float

    @property
    def final(self) -> bool:
        return self.tail is not None


@dataclass
class _Utterance:
    """Worker-owned decoding progress of one utterance."""

    number: int
    state: Any
    tokens: list[Token] = field(default_factory=list)


class StreamingRecognizer:
    """A ``Recognizer`` for a ``ChunkDecoder``: one worker thread owns the model.

    An idle recognizer's worker blocks on its queue and uses no CPU.
    """

    def __init__(self, decoder: ChunkDecoder, *, clock: Clock = time.perf_counter) -> None:
        self._decoder = decoder
        self._revises = bool(getattr(decoder, "revises", False))
        self._clock = clock
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tingxie-inference", daemon=True)
        self._thread.start()

    @property
    def info(self) -> ModelInfo:
        return self._decoder.info

    @property
    def decoder(self) -> ChunkDecoder:
        return self._decoder

    def open_session(self) -> "StreamingSession":
        if self._closed:
            raise EngineClosedError("the recognizer is closed")
        return StreamingSession(self)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=30)

    # --- used by sessions -------------------------------------------------------------
    def _submit(self, job: _Job) -> None:
        with self._lock:
            if self._closed:
                raise EngineClosedError("the recognizer is closed")
            self._queue.put(job)

    # --- the worker -------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                break
            self._process(job)
        # Fail whatever was queued behind the stop signal.
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None and not job.future.done():
                job.future.set_exception(EngineClosedError("the recognizer was closed"))

    def _process(self, job: _Job) -> None:
        session = job.session
        if session._closed:
            job.future.set_exception(EngineClosedError("the session was closed"))
            return
        if job.utterance in session._discarded:
            job.future.set_result(self._result(job, []))
            return
        utt = session._utterance
        try:
            if utt is None or utt.number != job.utterance:
                utt = _Utterance(job.utterance, self._decoder.new_state())
                session._utterance = utt
            for chunk in job.chunks:
                self._decode(utt, chunk, False)
            if job.tail is not None:
                self._decode(utt, job.tail, True)
                session._utterance = None
        except Exception as exc:  # the model failed: translate at the engine boundary
            log.exception("decoding failed")
            session._utterance = None
            job.future.set_exception(RecognitionError(f"the model failed while decoding: {exc}"))
            return
        job.future.set_result(self._result(job, utt.tokens))

    def _decode(self, utt: _Utterance, samples: npt.NDArray[np.int16], final: bool) -> None:
        tokens = self._decoder.decode(utt.state, int16_to_float(samples), final)
        if self._revises:
            utt.tokens = list(tokens)
        else:
            utt.tokens.extend(tokens)

    def _result(self, job: _Job, tokens: Sequence[Token]) -> Result:
        texts = tuple(t.text for t in tokens)
        confidence = float(np.mean([t.probability for t in tokens])) if tokens else 0.0
        return Result(
            text=self._decoder.text(texts),
            is_final=job.final,
            confidence=confidence,
            processing_time_ms=(self._clock() - job.submitted) * 1000.0,
            audio_ms=job.audio_ms,
            tokens=texts,
        )


class StreamingSession:
    """One speaker's utterances on a ``StreamingRecognizer`` (see ``engine.interface.Session``).

    Thread-safe: ``feed``/``finish``/``reset`` may be called from any thread. Audio is
    cut into the decoder's chunk size here; the decoder state lives on the worker.
    """

    def __init__(self, recognizer: StreamingRecognizer) -> None:
        self._recognizer = recognizer
        self._chunk = recognizer.decoder.chunk_samples
        self._lock = threading.Lock()
        self._pending = np.empty(0, dtype=np.int16)
        self._samples = 0  # samples fed into the current utterance
        self._number = 0  # current utterance
        self._closed = False
        # Touched by the worker only (and read by it): decoding progress, discarded utterances.
        self._utterance: _Utterance | None = None
        self._discarded: set[int] = set()

    @property
    def audio_ms(self) -> float:
        return self._samples * 1000.0 / SAMPLE_RATE

    def feed(self, pcm: Pcm) -> Future[Result]:
        samples = pcm_to_int16(pcm)
        submitted = self._recognizer._clock()
        with self._lock:
            self._check_open()
            buf = np.concatenate((self._pending, samples)) if len(self._pending) else samples
            n = len(buf) // self._chunk
            chunks = [buf[i * self._chunk : (i + 1) * self._chunk] for i in range(n)]
            self._pending = np.array(buf[n * self._chunk :], dtype=np.int16)
            self._samples += len(samples)
            return self._submit(chunks, None, submitted)

    def finish(self) -> Future[Result]:
        submitted = self._recognizer._clock()
        with self._lock:
            self._check_open()
            tail, self._pending = self._pending, np.empty(0, dtype=np.int16)
            future = self._submit([], tail, submitted)
            self._number += 1
            self._samples = 0
            return future

    def reset(self) -> None:
        with self._lock:
            self._discarded.add(self._number)
            self._number += 1
            self._pending = np.empty(0, dtype=np.int16)
            self._samples = 0

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._pending = np.empty(0, dtype=np.int16)

    def _check_open(self) -> None:
        if self._closed:
            raise EngineClosedError("the session is closed")

    def _submit(
        self,
        chunks: list[npt.NDArray[np.int16]],
        tail: npt.NDArray[np.int16] | None,
        submitted: float,
    ) -> Future[Result]:
        future: Future[Result] = Future()
        job = _Job(self, self._number, chunks, tail, future, submitted, self.audio_ms)
        self._recognizer._submit(job)
        return future
