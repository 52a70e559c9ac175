"""Chunked streaming recognition on one inference worker, for any chunk-based model.

A ``ChunkDecoder`` (the model backend) decodes fixed-size chunks of audio with a
per-utterance state. ``StreamingRecognizer`` owns one worker thread that alone
calls the decoder; ``StreamingSession`` buffers the caller's audio into chunks
and hands them to the worker through a queue. Callers never wait on inference:
every call returns a ``Future``.

The worker keeps its own record of each session (the utterance it is decoding) and never
touches the session object: a session's ``reset`` and ``close`` reach it as queued items,
in order with that session's audio.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import weakref
from collections import deque
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, Union

import numpy as np
import numpy.typing as npt

from .audio import int16_to_float, pcm_to_int16
from .backend import BatchingDecoder, ChunkDecoder, StreamCountHint, Token, revises
from .errors import EngineClosedError, RecognitionError
from .interface import SAMPLE_RATE, ModelInfo, Pcm, Result
from .second_pass import PASS_BUDGET_S, Refined, Refinement, SecondPass

log = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass
class _Job:
    session: int  # the session's id
    utterance: int
    chunks: list[npt.NDArray[np.int16]]
    tail: npt.NDArray[np.int16] | None  # set on the final job: audio after the last chunk
    future: Future[Result]
    submitted: float
    audio_ms: float
    options: Refinement | None = None  # the final job: what its client asked of the second pass
    next_chunk: int = 0  # worker's progress through ``chunks``
    # Set by the worker when the utterance's reset arrives: nothing more is decoded, and the
    # future resolves (empty) in its turn, so that a session's futures still settle in order.
    discarded: bool = False

    @property
    def final(self) -> bool:
        return self.tail is not None


@dataclass(frozen=True)
class _Reset:
    """The session discarded ``utterance``: its audio queued before this is not decoded."""

    session: int
    utterance: int


@dataclass(frozen=True)
class _Close:
    """The session is closed (or was dropped): its queued work fails, its record goes."""

    session: int


_Work = Union[_Job, _Reset, _Close, None]  # None: the recognizer closes


def _settle(
    future: Future[Result], result: Result | None = None, error: Exception | None = None
) -> None:
    """Complete ``future`` unless the caller cancelled it or it is already done. A cancelled
    ``feed`` future only means nobody waits for that partial: its audio is still decoded."""
    if future.done():
        return
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]
    except InvalidStateError:  # cancelled between the check and here
        pass


@dataclass
class _Utterance:
    """Worker-owned decoding progress of one utterance."""

    number: int
    state: Any
    tokens: list[Token] = field(default_factory=list)
    compute_ms: float = 0.0
    # The utterance's audio, for the second pass's offline model (None: not kept).
    audio: list[npt.NDArray[np.int16]] | None = None


@dataclass
class _Refining:
    """An utterance whose streaming decode is done, in its second pass (worker-owned)."""

    job: _Job
    draft: list[Token]
    options: Refinement
    audio: npt.NDArray[np.int16] | None  # None: no offline decode (or it failed)
    cuts: list[tuple[int, int]]
    compute_ms: float
    tokens: list[Token] = field(default_factory=list)
    next_cut: int = 0


FINISHING_PASSES = 2
"""Short passes after each full round for sessions with a final queued: enough for a last
full chunk and the tail."""


@dataclass
class _Step:
    """One decoding step of a round: ``samples`` of ``utt`` for ``job``."""

    job: _Job
    utt: _Utterance
    samples: npt.NDArray[np.int16]
    final: bool


class StreamingRecognizer:
    """A ``Recognizer`` for a ``ChunkDecoder``: one worker thread owns the model.

    An idle recognizer's worker blocks on its queue and uses no CPU.
    """

    def __init__(
        self,
        decoder: ChunkDecoder,
        *,
        batching: bool = True,
        clock: Clock = time.perf_counter,
        second_pass: SecondPass | None = None,
    ) -> None:
        self._decoder = decoder
        self._second = second_pass
        self._batching = batching and isinstance(decoder, BatchingDecoder)
        self._revises = revises(decoder)
        self._clock = clock
        self._queue: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._ids = itertools.count()
        # The worker's record of each session, by id: the utterance it is decoding. Written
        # and read by the worker thread only; an entry lives from the utterance's first job
        # until its final is decoded, it is reset, the worker fails on it, or the session is
        # closed or dropped. Nothing in it grows with the number of utterances.
        self._records: dict[int, _Utterance] = {}
        # Utterances in their second pass, by session id, in the order they ended. A
        # session's later work waits until its utterance is refined, so that its futures
        # still complete in call order. Worker thread only.
        self._refining: dict[int, _Refining] = {}
        self._thread = threading.Thread(target=self._run, name="tingxie-inference", daemon=True)
        self._thread.start()

    @property
    def info(self) -> ModelInfo:
        return self._decoder.info

    @property
    def decoder(self) -> ChunkDecoder:
        return self._decoder

    @property
    def second_pass(self) -> SecondPass | None:
        """The models and text steps that finish each utterance (None: finals are the
        streaming decode's text as it is)."""
        return self._second

    @property
    def models(self) -> list[ModelInfo]:
        """Every loaded model: the streaming one first, then the second pass's."""
        return [self._decoder.info, *(self._second.models if self._second else [])]

    @property
    def batching(self) -> bool:
        """Whether concurrent sessions' chunks are decoded together."""
        return self._batching

    @property
    def tracked_sessions(self) -> int:
        """How many sessions the worker holds decoding progress for (an utterance under
        way). Read from any thread; for tests and monitoring."""
        return len(self._records)

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
    def _new_session_id(self) -> int:
        # Ids are never reused (``id()`` would be, after a dropped session is collected).
        with self._lock:
            return next(self._ids)

    def _submit(self, job: _Job) -> None:
        with self._lock:
            if self._closed:
                raise EngineClosedError("the recognizer is closed")
            self._queue.put(job)

    def _reset(self, session: int, utterance: int) -> None:
        self._tell(_Reset(session, utterance))

    def _forget(self, session: int) -> None:
        self._tell(_Close(session))

    def _tell(self, item: _Reset | _Close) -> None:
        # No lock: ``_forget`` also runs from the garbage collector (a dropped session), on
        # any thread, possibly one inside ``_submit``. An item that lands behind close's
        # ``None`` is harmless: no future waits on it.
        if not self._closed:
            self._queue.put(item)

    # --- the worker -------------------------------------------------------------------
    def _run(self) -> None:
        """Serve jobs until ``close``. Jobs of one session run in order; the next chunks of
        different sessions are decoded together, one batch per round, when the decoder
        can batch (``decode_many``)."""
        pending: dict[int, deque[_Job]] = {}  # by session id, jobs in arrival order
        stopping = False
        while not stopping:
            if not pending and not self._refining and self._take(self._queue.get(), pending):
                break  # idle: blocked on the queue, no CPU, until then
            stopping = self._take_arrived(pending)
            self._guarded_round(pending, finishing_only=False)
            # Users who released the key: the rest of their audio (a last chunk, the tail)
            # in short passes of its own right away, not in the next full rounds.
            for _ in range(FINISHING_PASSES):
                if stopping or self._take_arrived(pending):
                    stopping = True
                    break
                if not any(j.tail is not None for jobs in pending.values() for j in jobs):
                    break
                self._guarded_round(pending, finishing_only=True)
            # Then one pass of second passes: at most PASS_BUDGET_S of audio, so that the
            # others' next chunks wait for one pass only.
            if self._refining and not stopping:
                self._guarded_refine_pass()
        # Closing: what has not been decoded yet fails at once instead of delaying close().
        closed = EngineClosedError("the recognizer was closed")
        self._fail_all(pending, closed)
        self._records.clear()
        self._refining.clear()
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Job):
                _settle(item.future, error=closed)

    def _take_arrived(self, pending: dict[int, deque[_Job]]) -> bool:
        """Take in what was queued meanwhile; True when ``close`` was asked."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if self._take(item, pending):
                return True

    def _take(self, item: _Work, pending: dict[int, deque[_Job]]) -> bool:
        """Take in one queued item; True when it is the recognizer's close. Called between
        rounds only, so no step of the jobs it touches is being decoded."""
        if item is None:
            return True
        if isinstance(item, _Job):
            pending.setdefault(item.session, deque()).append(item)
        elif isinstance(item, _Reset):
            # The session's later calls are for later utterances: every job of the discarded
            # one is queued already (ahead of this item), in ``pending``.
            for job in pending.get(item.session, ()):
                if job.utterance == item.utterance:
                    job.discarded = True
            utt = self._records.get(item.session)
            if utt is not None and utt.number == item.utterance:
                del self._records[item.session]
            refining = self._refining.get(item.session)
            if refining is not None and refining.job.utterance == item.utterance:
                del self._refining[item.session]
                self._complete(refining.job, [], 0.0)
        else:
            self._records.pop(item.session, None)  # before the futures: waiters see it gone
            gone = EngineClosedError("the session was closed")
            refining = self._refining.pop(item.session, None)
            if refining is not None:
                _settle(refining.job.future, error=gone)
            for job in pending.pop(item.session, ()):
                _settle(job.future, error=gone)
        return False

    def _guarded_round(
        self, pending: dict[int, deque[_Job]], *, finishing_only: bool
    ) -> None:
        try:
            self._round(pending, finishing_only=finishing_only)
        except Exception as exc:  # a bug here must not kill the worker and hang everyone
            log.exception("the inference worker failed")
            self._fail_all(pending, RecognitionError(f"the recognizer failed: {exc}"))

    def _fail_all(self, pending: dict[int, deque[_Job]], error: Exception) -> None:
        for refining in self._refining.values():
            _settle(refining.job.future, error=error)
        self._refining.clear()
        for session, jobs in pending.items():
            self._records.pop(session, None)
            for job in jobs:
                _settle(job.future, error=error)
        pending.clear()

    def _round(self, pending: dict[int, deque[_Job]], *, finishing_only: bool) -> None:
        """One step for every session with work (``finishing_only``: every session with a
        final queued): its next full chunk or its final tail, decoded together with the
        other sessions' steps, or the result of a job that is done."""
        steps: list[_Step] = []
        # A session whose last utterance is in its second pass waits (call order).
        sessions = [s for s in pending if s not in self._refining]
        if finishing_only:
            sessions = [s for s in sessions if any(j.tail is not None for j in pending[s])]
        for session in sessions:
            jobs = pending[session]
            while jobs:
                job = jobs[0]
                if job.discarded:
                    jobs.popleft()
                    self._complete(job, [], 0.0)
                    continue
                utt = self._utterance_for(job)
                if utt is None:
                    jobs.popleft()
                    continue
                if job.next_chunk < len(job.chunks):
                    steps.append(_Step(job, utt, job.chunks[job.next_chunk], final=False))
                    job.next_chunk += 1
                    break
                if job.tail is not None:  # stays queued until decoded (see below)
                    steps.append(_Step(job, utt, job.tail, final=True))
                    break
                jobs.popleft()
                self._complete(job, utt.tokens, utt.compute_ms)
            if not jobs:
                del pending[session]
        if not steps:
            return
        if isinstance(self._decoder, StreamCountHint):
            self._decoder.set_streams(len(steps))
        if len(steps) > 1 and self._batching:
            decoded = self._batch(steps)
        else:
            decoded = [self._step(s.job, s.utt, [s.samples], final=s.final) for s in steps]
        for step, ok in zip(steps, decoded):
            job = step.job
            if not step.final and (job.next_chunk < len(job.chunks) or job.tail is not None):
                continue  # more to decode for this job
            # The job's last step (its tail, or its last chunk: the partial goes out now,
            # not a round later). Jobs leave the queue only here, so that a worker failure
            # before this point still finds them in ``pending`` and fails them.
            jobs = pending.get(job.session)
            if jobs and jobs[0] is job:
                jobs.popleft()
                if not jobs:
                    del pending[job.session]
            if step.final and self._records.get(job.session) is step.utt:
                del self._records[job.session]
            if ok and step.final and self._second is not None:
                self._start_refining(job, step.utt)
            elif ok:
                self._complete(job, step.utt.tokens, step.utt.compute_ms)

    def _utterance_for(self, job: _Job) -> "_Utterance | None":
        """The session's decoding progress for ``job``'s utterance, started if new."""
        utt = self._records.get(job.session)
        if utt is None or utt.number != job.utterance:
            keep = self._second is not None and self._second.decoder is not None
            utt = _Utterance(job.utterance, None, audio=[] if keep else None)
            self._records[job.session] = utt
        if utt.state is None:
            try:
                utt.state = self._decoder.new_state()
            except Exception as exc:
                self._fail(job, utt, exc)
                return None
        return utt

    # --- the second pass -------------------------------------------------------------
    def _start_refining(self, job: _Job, utt: _Utterance) -> None:
        """``utt``'s streaming decode is done: plan its second pass (in the next refine
        passes; at once when nothing is left to decode)."""
        assert self._second is not None
        options = self._second.options(job.options)
        audio = None
        cuts: list[tuple[int, int]] = []
        started = self._clock()
        if self._second.decodes(options) and utt.audio:
            audio = np.concatenate(utt.audio)
            cuts = self._second.cuts(audio)
        utt.audio = None
        utt.compute_ms += (self._clock() - started) * 1000.0
        refining = _Refining(job, list(utt.tokens), options, audio, cuts, utt.compute_ms)
        self._refining[job.session] = refining
        if audio is None or not cuts:
            self._finish_refining(refining)

    def _guarded_refine_pass(self) -> None:
        try:
            self._refine_pass()
        except Exception as exc:  # a bug here must not kill the worker and hang everyone
            log.exception("the second pass failed")
            for refining in self._refining.values():
                _settle(refining.job.future, error=RecognitionError(f"the second pass failed: {exc}"))
            self._refining.clear()

    def _refine_pass(self) -> None:
        """The next segment of each utterance in its second pass, oldest first, until
        ``PASS_BUDGET_S`` of audio is decoded; utterances whose last segment is done are
        finished (punctuation, text steps) and their finals go out."""
        assert self._second is not None
        if isinstance(self._decoder, StreamCountHint):
            self._decoder.set_streams(len(self._refining) + 1)  # whole segments: every thread
        budget = int(PASS_BUDGET_S * SAMPLE_RATE)
        for refining in list(self._refining.values()):
            if budget <= 0:
                break
            if refining.audio is None or refining.next_cut >= len(refining.cuts):
                continue
            start, end = refining.cuts[refining.next_cut]
            budget -= end - start
            began = self._clock()
            try:
                refining.tokens.extend(
                    self._second.decode(refining.audio[start:end], refining.options)
                )
                refining.next_cut += 1
            except Exception:
                # The draft is still there: the user gets it (unrefined), not an error.
                log.exception("the offline model failed; the final is the live draft")
                refining.audio = None
            finally:
                refining.compute_ms += (self._clock() - began) * 1000.0
            if refining.audio is None or refining.next_cut >= len(refining.cuts):
                self._finish_refining(refining)

    def _finish_refining(self, refining: _Refining) -> None:
        assert self._second is not None
        job = refining.job
        if self._refining.get(job.session) is refining:
            del self._refining[job.session]
        decoded = refining.tokens if refining.audio is not None else None
        began = self._clock()
        draft_text = self._decoder.text([t.text for t in refining.draft])
        refined = self._second.finish(draft_text, refining.draft, decoded, refining.options)
        refining.compute_ms += (self._clock() - began) * 1000.0
        self._complete(job, refined.tokens, refining.compute_ms, refined)

    def _step(
        self, job: _Job, utt: _Utterance, chunks: list[npt.NDArray[np.int16]], *, final: bool
    ) -> bool:
        started = self._clock()
        try:
            for chunk in chunks:
                if utt.state is None:
                    utt.state = self._decoder.new_state()
                self._decode(utt, chunk, final)
        except Exception as exc:  # the model failed: translate at the engine boundary
            self._fail(job, utt, exc)
            return False
        finally:
            utt.compute_ms += (self._clock() - started) * 1000.0
        return True

    def _batch(self, steps: list["_Step"]) -> list[bool]:
        """Decode ``steps`` in one ``decode_many`` call; returns which succeeded (all or
        none: after a failure every utterance in the batch is in an unknown state)."""
        decoder = self._decoder
        assert isinstance(decoder, BatchingDecoder)  # only with ``self._batching``
        for s in steps:
            if s.utt.audio is not None:
                s.utt.audio.append(s.samples)
        started = self._clock()
        try:
            added = decoder.decode_many([(s.utt.state, int16_to_float(s.samples), s.final) for s in steps])
            if len(added) != len(steps):
                raise RuntimeError(f"decode_many returned {len(added)} results for {len(steps)}")
        except Exception as exc:
            for s in steps:
                self._fail(s.job, s.utt, exc)
            return [False] * len(steps)
        finally:
            share = (self._clock() - started) * 1000.0 / len(steps)
            for s in steps:
                s.utt.compute_ms += share
        for s, tokens in zip(steps, added):
            if self._revises:
                s.utt.tokens = list(tokens)
            else:
                s.utt.tokens.extend(tokens)
        return [True] * len(steps)

    def _fail(self, job: _Job, utt: _Utterance, exc: Exception) -> None:
        """The model failed on a chunk of ``utt``: ``job`` fails with ``RecognitionError``
        (the caller learns that audio was lost), the decoder state is unusable and is started
        afresh for the utterance's next chunk, and the text recognised so far is kept."""
        log.error("decoding failed", exc_info=exc)
        utt.state = None
        _settle(job.future, error=RecognitionError(f"the model failed while decoding: {exc}"))

    def _decode(self, utt: _Utterance, samples: npt.NDArray[np.int16], final: bool) -> None:
        if utt.audio is not None:
            utt.audio.append(samples)
        tokens = self._decoder.decode(utt.state, int16_to_float(samples), final)
        if self._revises:
            utt.tokens = list(tokens)
        else:
            utt.tokens.extend(tokens)

    def _complete(
        self,
        job: _Job,
        tokens: Sequence[Token],
        compute_ms: float,
        refined: Refined | None = None,
    ) -> None:
        try:
            result = self._result(job, tokens, compute_ms, refined)
        except Exception as exc:  # e.g. the backend's text() failed: this job only
            log.exception("building the result failed")
            _settle(job.future, error=RecognitionError(f"the recognizer failed: {exc}"))
            return
        _settle(job.future, result)

    def _result(
        self,
        job: _Job,
        tokens: Sequence[Token],
        compute_ms: float,
        refined: Refined | None = None,
    ) -> Result:
        texts = tuple(t.text for t in tokens)
        confidence = float(np.mean([t.probability for t in tokens])) if tokens else 0.0
        return Result(
            text=self._decoder.text(texts) if refined is None else refined.text,
            refined=refined is not None and refined.refined,
            is_final=job.final,
            confidence=confidence,
            processing_time_ms=(self._clock() - job.submitted) * 1000.0,
            audio_ms=job.audio_ms,
            tokens=texts,
            compute_ms=compute_ms,
        )


class StreamingSession:
    """One speaker's utterances on a ``StreamingRecognizer`` (see ``tingxie.engine.interface.Session``).

    Thread-safe: ``feed``/``finish``/``reset`` may be called from any thread. Audio is
    cut into the decoder's chunk size here; the decoder state lives on the worker, which
    learns of everything (audio, reset, close) through its queue, in call order. Audio fed
    before a ``reset`` is not decoded into any later utterance.
    """

    def __init__(self, recognizer: StreamingRecognizer) -> None:
        self._recognizer = recognizer
        self._id = recognizer._new_session_id()
        self._chunk = recognizer.decoder.chunk_samples
        self._lock = threading.Lock()
        self._pending = np.empty(0, dtype=np.int16)
        self._samples = 0  # samples fed into the current utterance
        self._number = 0  # current utterance
        self._closed = False
        # Tells the worker to forget the session on ``close``, or when a session that was
        # never closed is collected (its decoder state would otherwise stay on the worker).
        self._forget = weakref.finalize(self, recognizer._forget, self._id)
        self._forget.atexit = False

    @property
    def audio_ms(self) -> float:
        return self._samples * 1000.0 / SAMPLE_RATE

    def feed(self, pcm: Pcm) -> Future[Result]:
        samples = pcm_to_int16(pcm)
        submitted = self._recognizer._clock()
        with self._lock:
            self._check_open()
            # A copy: the caller may reuse its buffer before the worker gets to it.
            buf = np.concatenate((self._pending, samples))
            n = len(buf) // self._chunk
            chunks = [buf[i * self._chunk : (i + 1) * self._chunk] for i in range(n)]
            future = self._submit(chunks, None, submitted, self._samples + len(samples))
            self._pending = buf[n * self._chunk :]
            self._samples += len(samples)
            return future

    def finish(self, options: Refinement | None = None) -> Future[Result]:
        submitted = self._recognizer._clock()
        with self._lock:
            self._check_open()
            future = self._submit([], self._pending, submitted, self._samples, options)
            self._pending = np.empty(0, dtype=np.int16)
            self._number += 1
            self._samples = 0
            return future

    def reset(self) -> None:
        with self._lock:
            if not self._closed:
                self._recognizer._reset(self._id, self._number)
            self._number += 1
            self._pending = np.empty(0, dtype=np.int16)
            self._samples = 0

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._pending = np.empty(0, dtype=np.int16)
        self._forget()  # once: the finalizer is dead after this call

    def _check_open(self) -> None:
        if self._closed:
            raise EngineClosedError("the session is closed")

    def _submit(
        self,
        chunks: list[npt.NDArray[np.int16]],
        tail: npt.NDArray[np.int16] | None,
        submitted: float,
        samples: int,
        options: Refinement | None = None,
    ) -> Future[Result]:
        """Queue a job; raises ``EngineClosedError`` (state unchanged) if the recognizer is
        closed."""
        future: Future[Result] = Future()
        audio_ms = samples * 1000.0 / SAMPLE_RATE
        job = _Job(self._id, self._number, chunks, tail, future, submitted, audio_ms, options)
        self._recognizer._submit(job)
        return future
