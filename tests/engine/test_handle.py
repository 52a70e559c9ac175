"""EngineHandle: the states a user sees while a model loads, what listeners hear, failures
shown as states, and reloads that never let an older load win. Recognizers are the fake
one (a real worker, no model); tests wait on events and joins, never on sleeps."""

from __future__ import annotations

import threading
from typing import Callable

import pytest

from tingxie.engine.errors import EngineClosedError, ModelDownloadError
from tingxie.engine.fake import fake_recognizer, tone
from tingxie.engine.handle import EngineHandle, EngineState, EngineStatus, Loader
from tingxie.engine.interface import Recognizer
from tingxie.engine.streaming import StreamingRecognizer

pytestmark = pytest.mark.timeout(60)

Progress = Callable[[str, int, int], None]


def is_closed(recognizer: Recognizer) -> bool:
    try:
        recognizer.open_session().close()
    except EngineClosedError:
        return True
    return False


def heard(handle: EngineHandle) -> list[EngineStatus]:
    statuses: list[EngineStatus] = []
    handle.subscribe(statuses.append)
    return statuses


def states(statuses: list[EngineStatus]) -> list[EngineState]:
    return [s.state for s in statuses]


class GatedLoader:
    """A loader that reports progress, then waits for ``release`` before it returns a
    fresh fake recognizer (or raises ``error``)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.error = error
        self.loaded: list[StreamingRecognizer] = []

    def __call__(self, progress: Progress) -> Recognizer:
        progress("model.pt", 0, 100)
        self.started.set()
        self.release.wait()
        progress("model.pt", 100, 100)
        if self.error is not None:
            raise self.error
        recognizer = fake_recognizer()
        self.loaded.append(recognizer)
        return recognizer


def fresh_fake(_progress: Progress) -> Recognizer:
    return fake_recognizer()


# --- one load ----------------------------------------------------------------------------


def test_a_load_goes_through_loading_and_downloading_to_ready() -> None:
    loader = GatedLoader()
    loader.release.set()
    handle = EngineHandle("paraformer-zh-streaming", loader)
    assert handle.status == EngineStatus(EngineState.NOT_LOADED, "paraformer-zh-streaming")
    statuses = heard(handle)
    handle.load()
    assert states(statuses) == [
        EngineState.LOADING,
        EngineState.DOWNLOADING,
        EngineState.DOWNLOADING,
        EngineState.READY,
    ]
    assert [(s.detail, s.done, s.total) for s in statuses[1:3]] == [
        ("model.pt", 0, 100),
        ("model.pt", 100, 100),
    ]
    assert statuses[0].model == "paraformer-zh-streaming"
    assert handle.status is statuses[-1] and handle.status.model == "fake"  # the loaded model
    assert handle.status.load_seconds >= 0
    assert handle.recognizer is loader.loaded[0] and handle.wait_ready(0)
    session = handle.recognizer.open_session()
    session.feed(tone(0.3, 0.6)).result(10)
    assert session.finish().result(10).text == "六"
    handle.close()
    assert is_closed(loader.loaded[0])


def test_no_recognizer_until_ready() -> None:
    loader = GatedLoader()
    handle = EngineHandle("m", loader)
    thread = handle.load_in_background()
    loader.started.wait()
    assert handle.status.state is EngineState.DOWNLOADING and handle.recognizer is None
    assert not handle.wait_ready(0)
    loader.release.set()
    assert handle.wait_ready(None)
    thread.join()
    assert handle.recognizer is loader.loaded[0]
    handle.close()


def test_an_engine_error_is_a_failed_state_with_its_message() -> None:
    loader = GatedLoader(ModelDownloadError("cannot reach https://www.modelscope.cn"))
    loader.release.set()
    handle = EngineHandle("m", loader)
    statuses = heard(handle)
    handle.load()
    assert handle.status == EngineStatus(
        EngineState.FAILED, "m", "cannot reach https://www.modelscope.cn"
    )
    assert statuses[-1] == handle.status and handle.recognizer is None


def test_a_loader_bug_is_a_failed_state_too() -> None:
    def broken(_progress: Progress) -> Recognizer:
        return {}["missing"]  # type: ignore[no-any-return]

    handle = EngineHandle("m", broken)
    handle.load()
    assert handle.status.state is EngineState.FAILED and "KeyError" in handle.status.detail


def test_waiting_ends_when_the_load_fails() -> None:
    loader = GatedLoader(ModelDownloadError("offline"))
    handle = EngineHandle("m", loader)
    handle.load_in_background()
    loader.started.wait()
    waited: list[bool] = []
    waiter = threading.Thread(target=lambda: waited.append(handle.wait_ready(None)))
    waiter.start()
    loader.release.set()
    waiter.join()  # no timeout given: it returns because the load failed
    assert waited == [False] and handle.status.state is EngineState.FAILED


def test_a_broken_listener_neither_stops_loading_nor_the_other_listeners() -> None:
    handle = EngineHandle("m", fresh_fake)

    def broken(status: EngineStatus) -> None:
        raise RuntimeError("listener bug")

    handle.subscribe(broken)
    statuses = heard(handle)
    handle.load()
    assert states(statuses) == [EngineState.LOADING, EngineState.READY]
    assert handle.recognizer is not None
    handle.close()


def test_a_ready_handle_is_ready_at_once() -> None:
    recognizer = fake_recognizer()
    handle = EngineHandle.ready(recognizer)
    assert handle.status.state is EngineState.READY and handle.status.model == "fake"
    assert handle.recognizer is recognizer and handle.wait_ready(0)
    handle.close()
    assert is_closed(recognizer)


# --- reloading ---------------------------------------------------------------------------


class SlowToClose:
    """A recognizer whose ``close`` waits for ``release``."""

    def __init__(self) -> None:
        self.inner = fake_recognizer()
        self.info = self.inner.info
        self.closing = threading.Event()
        self.release = threading.Event()

    def open_session(self):  # type: ignore[no-untyped-def]
        return self.inner.open_session()

    def close(self) -> None:
        self.closing.set()
        self.release.wait()
        self.inner.close()


def test_a_reload_drops_the_old_model_at_once_and_closes_it_off_the_callers_thread() -> None:
    old = SlowToClose()
    handle = EngineHandle.ready(old)
    statuses = heard(handle)
    thread = handle.reload("/models/whisper-tiny", fresh_fake)
    # The caller (the GUI thread) is not held up by close, and sees the old model gone.
    assert handle.status == EngineStatus(EngineState.NOT_LOADED, "/models/whisper-tiny")
    assert handle.recognizer is None and not handle.wait_ready(0)
    old.closing.wait()
    old.release.set()
    thread.join()
    assert is_closed(old.inner)
    assert states(statuses) == [EngineState.NOT_LOADED, EngineState.LOADING, EngineState.READY]
    assert statuses[0].model == statuses[1].model == "/models/whisper-tiny"
    assert handle.recognizer is not None and not is_closed(handle.recognizer)
    handle.close()


def test_a_load_that_ends_after_a_reload_never_replaces_the_new_model() -> None:
    first = GatedLoader()
    handle = EngineHandle("paraformer-zh-streaming", first)
    statuses = heard(handle)
    first_thread = handle.load_in_background()
    first.started.wait()  # still downloading when the user picks a local folder
    second = GatedLoader()
    second.release.set()
    handle.reload("/models/mine", second).join()
    assert handle.recognizer is second.loaded[0]
    heard_before = len(statuses)
    first.release.set()  # the download ends after all
    first_thread.join()
    assert handle.recognizer is second.loaded[0] and handle.status.state is EngineState.READY
    assert len(statuses) == heard_before  # its progress and READY were not shown
    assert is_closed(first.loaded[0]) and not is_closed(second.loaded[0])
    handle.close()


def test_closing_during_a_load_closes_what_it_loads() -> None:
    loader = GatedLoader()
    handle = EngineHandle("m", loader)
    thread = handle.load_in_background()
    loader.started.wait()
    handle.close()
    loader.release.set()
    thread.join()
    assert is_closed(loader.loaded[0]) and handle.recognizer is None


def test_many_reloads_leave_one_open_model_the_last_one() -> None:
    loaded: list[StreamingRecognizer] = []
    lock = threading.Lock()

    def loader_for(model: str) -> Loader:
        def load(_progress: Progress) -> Recognizer:
            recognizer = fake_recognizer()
            with lock:
                loaded.append(recognizer)
            return recognizer

        return load

    handle = EngineHandle("m0", loader_for("m0"))
    threads = [handle.load_in_background()]
    threads += [handle.reload(f"m{i}", loader_for(f"m{i}")) for i in range(1, 12)]
    for thread in threads:
        thread.join()
    assert handle.status.state is EngineState.READY
    assert [r for r in loaded if not is_closed(r)] == [handle.recognizer]
    handle.close()
    assert all(is_closed(r) for r in loaded)


def test_a_listener_may_reload_when_a_load_fails() -> None:
    def offline(_progress: Progress) -> Recognizer:
        raise ModelDownloadError("offline")

    handle = EngineHandle("remote", offline)
    retried: list[threading.Thread] = []

    def fall_back(status: EngineStatus) -> None:
        if status.state is EngineState.FAILED and status.model == "remote":
            retried.append(handle.reload("/models/local", fresh_fake))

    handle.subscribe(fall_back)
    statuses = heard(handle)
    handle.load()
    retried[0].join()
    assert [(s.state, s.model) for s in statuses] == [
        (EngineState.LOADING, "remote"),
        (EngineState.FAILED, "remote"),
        (EngineState.NOT_LOADED, "/models/local"),
        (EngineState.LOADING, "/models/local"),
        (EngineState.READY, "fake"),
    ]
    handle.close()
