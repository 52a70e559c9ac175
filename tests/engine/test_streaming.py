"""The session/worker machinery, with the fake decoder (the model itself is tested in
test_funasr_backend.py)."""

from __future__ import annotations

import gc
import threading
import time
import tracemalloc
from concurrent.futures import Future
from typing import Any

import numpy as np
import pytest

from tingxie.engine import streaming
from tingxie.engine.errors import AudioFormatError, EngineClosedError, RecognitionError
from tingxie.engine.fake import FakeDecoder, tone
from tingxie.engine.streaming import StreamingRecognizer, StreamingSession


@pytest.fixture
def recognizer():  # type: ignore[no-untyped-def]
    r = StreamingRecognizer(FakeDecoder())
    yield r
    r.close()


class Gated(FakeDecoder):
    """Holds every decode until ``gate`` is set; ``busy`` tells that the worker is inside."""

    def __init__(self) -> None:
        super().__init__()
        self.gate, self.busy = threading.Event(), threading.Event()

    def decode(self, state: Any, samples: Any, is_final: bool) -> Any:
        self.busy.set()
        self.gate.wait(10)
        return super().decode(state, samples, is_final)


def loud_then_quiet() -> np.ndarray:
    return np.concatenate([tone(0.3, 0.6), tone(0.1, 0.6), tone(0.47, 0.4)])


def test_pieces_of_any_size_give_the_same_text(recognizer: StreamingRecognizer) -> None:
    audio = loud_then_quiet()
    finals = []
    for piece in (1, 160, 9599, 9600, 9601, len(audio)):
        s = recognizer.open_session()
        for i in range(0, len(audio), piece):
            s.feed(audio[i : i + piece])
        finals.append(s.finish().result(timeout=10).text)
    assert finals == ["六二九"] * 6


def test_partials_grow_and_the_final_flushes_the_tail(recognizer: StreamingRecognizer) -> None:
    s = recognizer.open_session()
    first = s.feed(tone(0.3, 0.6)).result(timeout=10)
    second = s.feed(tone(0.47, 0.4)).result(timeout=10)  # < one chunk: nothing new yet
    final = s.finish().result(timeout=10)
    assert (first.text, first.is_final) == ("六", False)
    assert second.text == "六"
    assert (final.text, final.is_final) == ("六九", True)
    assert final.audio_ms == pytest.approx(1000.0)


def test_confidence_is_the_mean_token_probability(recognizer: StreamingRecognizer) -> None:
    s = recognizer.open_session()
    s.feed(np.concatenate([tone(0.3, 0.6), tone(0.1, 0.6)]))
    final = s.finish().result(timeout=10)
    # FakeDecoder gives probability 0.5 + rms per token
    assert final.confidence == pytest.approx(((0.5 + 0.3) + (0.5 + 0.1)) / 2, abs=1e-3)
    empty = s.finish().result(timeout=10)
    assert (empty.text, empty.confidence) == ("", 0.0)


def test_after_finish_the_session_starts_a_new_utterance(recognizer: StreamingRecognizer) -> None:
    s = recognizer.open_session()
    s.feed(tone(0.3, 0.6))
    s.finish()
    s.feed(tone(0.1, 0.6))
    assert s.finish().result(timeout=10).text == "二"


def test_reset_discards_the_utterance_but_not_an_earlier_final(
    recognizer: StreamingRecognizer,
) -> None:
    s = recognizer.open_session()
    s.feed(tone(0.3, 0.6))
    earlier = s.finish()
    s.feed(tone(0.47, 1.2))
    s.reset()
    s.feed(tone(0.1, 0.6))
    assert earlier.result(timeout=10).text == "六"
    assert s.finish().result(timeout=10).text == "二"


def test_bad_audio_is_refused_at_once(recognizer: StreamingRecognizer) -> None:
    s = recognizer.open_session()
    with pytest.raises(AudioFormatError):
        s.feed(b"\x00\x01\x02")
    s.feed(tone(0.3, 0.6))
    assert s.finish().result(timeout=10).text == "六"


def test_a_model_failure_loses_that_chunk_only() -> None:
    r = StreamingRecognizer(FakeDecoder(fail_on="九"))
    try:
        s = r.open_session()
        s.feed(tone(0.3, 0.6))
        failing = s.feed(tone(0.47, 0.6))
        with pytest.raises(RecognitionError, match="fake failure"):
            failing.result(timeout=10)
        s.feed(tone(0.1, 0.6))
        # the text before the failure is kept; decoding goes on with a fresh state
        assert s.finish().result(timeout=10).text == "六二"
        other = r.open_session()
        other.feed(tone(0.3, 0.6))
        assert other.finish().result(timeout=10).text == "六"
    finally:
        r.close()


def test_only_the_worker_thread_calls_the_model() -> None:
    seen: set[str] = set()

    class Recording(FakeDecoder):
        def decode(self, state: Any, samples: Any, is_final: bool) -> Any:
            seen.add(threading.current_thread().name)
            return super().decode(state, samples, is_final)

    r = StreamingRecognizer(Recording())
    try:
        s = r.open_session()
        s.feed(tone(0.3, 1.2))
        s.finish().result(timeout=10)
    finally:
        r.close()
    assert seen == {"tingxie-inference"}


def test_feed_returns_before_inference_finishes() -> None:
    decoder = Gated()
    r = StreamingRecognizer(decoder)
    try:
        s = r.open_session()
        future: Future = s.feed(tone(0.3, 0.6))
        assert not future.done()  # the caller was not blocked on the model
        decoder.gate.set()
        assert future.result(timeout=10).text == "六"
    finally:
        r.close()


def test_closing_fails_queued_work_and_refuses_more() -> None:
    decoder = Gated()
    r = StreamingRecognizer(decoder)
    s = r.open_session()
    first = s.feed(tone(0.3, 0.6))
    queued = s.finish()
    closer = threading.Thread(target=r.close)
    closer.start()
    decoder.gate.set()
    closer.join(10)
    assert first.result(timeout=10).text == "六"
    assert queued.done()
    with pytest.raises(EngineClosedError):
        s.feed(tone(0.3, 0.6))
    with pytest.raises(EngineClosedError):
        r.open_session()


def test_an_idle_recognizer_uses_no_cpu(recognizer: StreamingRecognizer) -> None:
    import time

    import psutil

    s = recognizer.open_session()
    s.feed(tone(0.3, 1.2)).result(timeout=10)
    worker = recognizer._thread
    me = psutil.Process()

    def worker_cpu() -> float:
        return next(
            th.user_time + th.system_time for th in me.threads() if th.id == worker.native_id
        )

    before = worker_cpu()
    time.sleep(1.0)  # idle on purpose: nothing is fed
    assert worker_cpu() - before < 0.01


def test_a_cancelled_future_does_not_stop_the_worker(recognizer: StreamingRecognizer) -> None:
    s = recognizer.open_session()
    s.feed(tone(0.3, 0.6)).cancel()
    s.feed(tone(0.1, 0.6)).cancel()
    assert s.finish().result(timeout=10).text == "六二"  # the audio still counts
    other = recognizer.open_session()
    other.feed(tone(0.47, 0.6))
    assert other.finish().result(timeout=10).text == "九"


def test_a_failing_final_is_reported_not_left_pending() -> None:
    r = StreamingRecognizer(FakeDecoder(fail_on="四"))
    try:
        s = r.open_session()
        audio = tone(0.2, 0.7)
        feeds = [s.feed(audio[i : i + 1600]) for i in range(0, len(audio), 1600)]
        final = s.finish()
        with pytest.raises(RecognitionError, match="fake failure"):
            final.result(timeout=10)  # never left pending
        assert all(f.done() for f in feeds)
        s.feed(tone(0.1, 0.6))
        assert s.finish().result(timeout=10).text == "二"  # the next utterance works
    finally:
        r.close()


def test_a_failed_batch_fails_its_chunks_and_decoding_goes_on() -> None:
    class Batching(Gated):
        failed_once = False

        def decode_many(self, items: Any) -> Any:
            if not self.failed_once:
                self.failed_once = True
                raise RuntimeError("batch failed")
            return [self.decode(state, samples, final) for state, samples, final in items]

    decoder = Batching()
    r = StreamingRecognizer(decoder)
    try:
        a, b, c = r.open_session(), r.open_session(), r.open_session()
        first = a.feed(tone(0.3, 0.6))  # occupies the worker until the gate opens
        assert decoder.busy.wait(10)
        batched = [b.feed(tone(0.3, 0.6)), c.feed(tone(0.1, 0.6))]
        decoder.gate.set()
        assert first.result(timeout=10).text == "六"
        for future in batched:
            with pytest.raises(RecognitionError, match="batch failed"):
                future.result(timeout=10)
        b.feed(tone(0.47, 0.6))
        c.feed(tone(0.47, 0.6))
        assert [b.finish().result(timeout=10).text, c.finish().result(timeout=10).text] == [
            "九",
            "九",
        ]
    finally:
        r.close()


def test_compute_time_gives_the_real_time_factor() -> None:
    r = StreamingRecognizer(FakeDecoder(delay_s=0.05))
    try:
        s = r.open_session()
        s.feed(tone(0.3, 1.5))
        final = s.finish().result(timeout=10)
        # two full chunks and the tail, 50 ms of "model" each
        assert 150.0 <= final.compute_ms < 1000.0
        assert final.compute_ms / final.audio_ms == pytest.approx(final.compute_ms / 1500.0)
    finally:
        r.close()


def test_fed_audio_is_copied_so_the_caller_may_reuse_its_buffer() -> None:
    decoder = Gated()
    r = StreamingRecognizer(decoder)
    try:
        s = r.open_session()
        buffer = tone(0.3, 0.6)
        s.feed(buffer)
        buffer[:] = tone(0.1, 0.6)  # reused before the worker decoded it
        raw = bytearray(tone(0.47, 0.6).tobytes())
        s.feed(raw)
        raw[:] = bytes(len(raw))
        decoder.gate.set()
        assert s.finish().result(timeout=10).text == "六九"
    finally:
        r.close()


def test_a_broken_result_fails_one_job_and_the_worker_lives_on() -> None:
    class BadText(FakeDecoder):
        def text(self, tokens: Any) -> str:
            if "九" in tokens:
                raise ValueError("cannot join")
            return super().text(tokens)

    r = StreamingRecognizer(BadText())
    try:
        s = r.open_session()
        with pytest.raises(RecognitionError, match="cannot join"):
            s.feed(tone(0.47, 0.6)).result(timeout=10)
        other = r.open_session()
        other.feed(tone(0.3, 0.6))
        assert other.finish().result(timeout=10).text == "六"
    finally:
        r.close()


def test_close_does_not_decode_what_is_still_queued() -> None:
    started = threading.Event()

    class Slow(FakeDecoder):
        def decode(self, state: Any, samples: Any, is_final: bool) -> Any:
            started.set()
            time.sleep(0.05)
            return super().decode(state, samples, is_final)

    r = StreamingRecognizer(Slow())
    s = r.open_session()
    futures = [s.feed(tone(0.3, 0.6)) for _ in range(50)]  # 2.5 s of decoding queued
    assert started.wait(10)
    r.close()
    assert all(f.done() for f in futures)
    assert sum(1 for f in futures if f.exception() is not None) > 40
    assert isinstance(futures[-1].exception(), EngineClosedError)


def test_a_refused_feed_changes_nothing() -> None:
    r = StreamingRecognizer(FakeDecoder())
    s = r.open_session()
    r.close()
    with pytest.raises(EngineClosedError):
        s.feed(tone(0.3, 0.1))
    assert s.audio_ms == 0.0


def test_users_who_released_get_the_rest_of_their_audio_in_a_pass_of_their_own() -> None:
    """After a round, the sessions with a final queued get short passes of their own (their
    last chunk, then their tail, each batched), ahead of the others' next chunks."""

    class Recording(Gated):
        def __init__(self) -> None:
            super().__init__()
            self.batches: list[list[tuple[str, bool]]] = []

        def decode_many(self, items: Any) -> Any:
            self.batches.append([(state["name"], final) for state, _, final in items])
            return [self.decode(state, samples, final) for state, samples, final in items]

    decoder = Recording()
    names = iter("ABC")
    decoder.new_state = lambda: {"chunks": 0, "name": next(names)}  # type: ignore[method-assign]
    r = StreamingRecognizer(decoder)
    try:
        a, b, c = r.open_session(), r.open_session(), r.open_session()
        first = a.feed(tone(0.3, 0.6))  # occupies the worker until the gate opens
        assert decoder.busy.wait(10)
        speaking = a.feed(tone(0.3, 0.6))
        b.feed(tone(0.1, 0.9))  # a full chunk and a 300 ms tail
        c.feed(tone(0.2, 0.7))
        finals = [b.finish(), c.finish()]
        decoder.gate.set()
        assert first.result(timeout=10).text == "六"
        assert [f.result(timeout=10).text for f in finals] == ["二二", "四四"]
        assert speaking.result(timeout=10).text == "六六"
        assert decoder.batches == [
            [("B", False), ("C", False)],
            [("B", True), ("C", True)],
        ]  # A's chunk comes next, alone (``decode``)
    finally:
        r.close()


def test_a_worker_failure_mid_round_fails_the_final_instead_of_losing_it() -> None:
    class Broken(FakeDecoder):
        broken = True

        def set_streams(self, streams: int) -> None:
            if self.broken:
                self.broken = False
                raise RuntimeError("worker bug")

    r = StreamingRecognizer(Broken())
    try:
        s = r.open_session()
        s.feed(tone(0.3, 0.3))  # under a chunk: the audio waits for the tail
        with pytest.raises(RecognitionError, match="worker bug"):
            s.finish().result(timeout=10)
        s.feed(tone(0.3, 0.7))
        assert s.finish().result(timeout=10).text == "六六"
    finally:
        r.close()


def in_order(futures: list[Future]) -> list[int]:
    """Indexes of ``futures`` in the order they complete (from now on)."""
    done: list[int] = []
    for i, future in enumerate(futures):
        future.add_done_callback(lambda _, i=i: done.append(i))
    return done


def worker_caught_up(r: StreamingRecognizer) -> None:
    """Return once the worker has taken in everything queued so far (its queue is FIFO:
    a new session's final is decoded after every earlier item was taken in)."""
    barrier = r.open_session()
    barrier.feed(tone(0.3, 0.3))
    barrier.finish().result(timeout=10)
    barrier.close()


def test_a_reset_queued_behind_chunks_discards_exactly_those_chunks() -> None:
    decoder = Gated()
    r = StreamingRecognizer(decoder)
    try:
        s = r.open_session()
        first = s.feed(tone(0.47, 1.2))  # two chunks: the worker holds the first in the gate
        assert decoder.busy.wait(10)
        queued = s.feed(tone(0.47, 0.6))
        s.reset()
        after = s.feed(tone(0.1, 0.6))
        final = s.finish()
        order = in_order([first, queued, after, final])
        decoder.gate.set()
        assert final.result(timeout=10).text == "二"  # none of the discarded 九s
        assert [first.result().text, queued.result().text] == ["", ""]
        assert order == [0, 1, 2, 3]
        # the chunk in the gate, then 二's chunk and the final's (empty) tail: the rest of the
        # discarded audio was never decoded
        assert decoder.calls == 3
    finally:
        r.close()


def test_a_reset_keeps_an_earlier_final_and_the_call_order() -> None:
    decoder = Gated()
    r = StreamingRecognizer(decoder)
    try:
        s = r.open_session()
        first = s.feed(tone(0.3, 0.6))  # held in the gate
        assert decoder.busy.wait(10)
        earlier = s.finish()
        doomed = s.feed(tone(0.47, 1.2))
        s.reset()
        s.reset()  # an utterance with no audio at all
        after = s.feed(tone(0.1, 0.6))
        final = s.finish()
        order = in_order([first, earlier, doomed, after, final])
        decoder.gate.set()
        assert [f.result(timeout=10).text for f in (first, earlier, doomed, after, final)] == [
            "六",
            "六",
            "",
            "二",
            "二",
        ]
        assert order == [0, 1, 2, 3, 4]
    finally:
        r.close()


def test_thousands_of_resets_leave_nothing_behind(recognizer: StreamingRecognizer) -> None:
    s = recognizer.open_session()
    chunk = tone(0.47, 0.6)

    def utterances(resets: int) -> str:
        for _ in range(resets):
            s.feed(chunk)
            s.reset()
        s.feed(tone(0.1, 0.6))
        # the final comes after every reset before it was taken in
        return s.finish().result(timeout=60).text

    def held() -> int:  # memory the streaming module allocated and still holds
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, streaming.__file__)]
        )
        return sum(stat.size for stat in snapshot.statistics("filename"))

    tracemalloc.start()
    try:
        assert utterances(100) == "二"
        before = held()
        assert utterances(5000) == "二"
        grown = held() - before
    finally:
        tracemalloc.stop()
    assert recognizer.tracked_sessions == 0  # the final was decoded: nothing under way
    # a record of every discarded utterance would be well over 100 kB by now
    assert grown < 32_000
    s.feed(chunk).result(timeout=10)
    assert recognizer.tracked_sessions == 1  # one record for the utterance under way


def test_closing_a_session_frees_its_record(recognizer: StreamingRecognizer) -> None:
    sessions = [recognizer.open_session() for _ in range(3)]
    for s in sessions:
        s.feed(tone(0.3, 0.6)).result(timeout=10)
    assert recognizer.tracked_sessions == 3
    sessions[0].close()
    sessions[0].close()  # twice is harmless
    worker_caught_up(recognizer)
    assert recognizer.tracked_sessions == 2
    for s in sessions[1:]:
        s.close()
    worker_caught_up(recognizer)
    assert recognizer.tracked_sessions == 0


def test_a_dropped_session_is_forgotten_too(recognizer: StreamingRecognizer) -> None:
    s = recognizer.open_session()
    s.feed(tone(0.3, 0.6)).result(timeout=10)
    assert recognizer.tracked_sessions == 1
    del s
    gc.collect()
    worker_caught_up(recognizer)
    assert recognizer.tracked_sessions == 0


def test_closing_a_session_fails_its_queued_final() -> None:
    decoder = Gated()
    r = StreamingRecognizer(decoder)
    try:
        s = r.open_session()
        first = s.feed(tone(0.3, 0.6))  # held in the gate
        assert decoder.busy.wait(10)
        final = s.finish()
        s.close()
        decoder.gate.set()
        assert first.result(timeout=10).text == "六"  # it was being decoded
        with pytest.raises(EngineClosedError, match="session was closed"):
            final.result(timeout=10)
        assert r.tracked_sessions == 0
        with pytest.raises(EngineClosedError):
            s.feed(tone(0.3, 0.6))
        s.reset()  # harmless
        other = r.open_session()
        other.feed(tone(0.1, 0.6))
        assert other.finish().result(timeout=10).text == "二"
    finally:
        r.close()


def test_closing_a_session_while_its_final_is_decoded_still_gives_it() -> None:
    decoder = Gated()
    r = StreamingRecognizer(decoder)
    try:
        s = r.open_session()
        s.feed(tone(0.3, 0.3))  # under a chunk: decoded with the tail
        final = s.finish()
        assert decoder.busy.wait(10)  # the tail is in the gate
        s.close()
        decoder.gate.set()
        assert final.result(timeout=10).text == "六"
        worker_caught_up(r)
        assert r.tracked_sessions == 0
    finally:
        r.close()


def test_the_worker_never_writes_to_a_session(monkeypatch: pytest.MonkeyPatch) -> None:
    writers: set[str] = set()

    def recording(self: StreamingSession, name: str, value: Any) -> None:
        writers.add(threading.current_thread().name)
        object.__setattr__(self, name, value)

    monkeypatch.setattr(StreamingSession, "__setattr__", recording)
    r = StreamingRecognizer(FakeDecoder())
    try:
        s = r.open_session()
        s.feed(tone(0.3, 1.2)).result(timeout=10)
        s.reset()
        s.feed(tone(0.1, 0.6))
        assert s.finish().result(timeout=10).text == "二"
        s.feed(tone(0.3, 0.6))
        s.close()
        worker_caught_up(r)
    finally:
        r.close()
    assert writers == {threading.current_thread().name}
    assert not hasattr(s, "_utterance") and not hasattr(s, "_discarded")


def test_reset_and_close_after_the_recognizer_closed_are_harmless() -> None:
    r = StreamingRecognizer(FakeDecoder())
    s = r.open_session()
    s.feed(tone(0.3, 0.6)).result(timeout=10)
    r.close()
    s.reset()
    s.close()
    assert s.audio_ms == 0.0
    assert r.tracked_sessions == 0
