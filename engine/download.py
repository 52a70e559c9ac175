"""Fetching a model from its hub (ModelScope, Hugging Face), with progress, and without
hanging when offline.

Both hubs go the same way (``download``): a setting that forbids going online fails at
once; a TCP check of the endpoint fails in seconds on a machine without network (the hub
libraries retry for minutes); then the hub library's ``snapshot_download`` fetches the
model into the hub's own cache, reporting bytes to the caller's ``DownloadProgress``. Every
failure is a ``ModelDownloadError`` carrying ``not_found_message``: what was looked for,
where, and how to install the model by hand. What differs between hubs is data, a ``Hub``.

modelscope and huggingface_hub are imported inside ``snapshot_download`` only.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence
from urllib.parse import urlparse

from .errors import ModelDownloadError
from .interface import DownloadProgress
from .models import ModelLocation, not_found_message

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0

SnapshotDownload = Callable[..., str]
"""A hub library's ``snapshot_download``: the repository id first, returns its directory."""


@dataclass(frozen=True)
class Request:
    """One model to fetch, as a hub's ``call`` gets it. ``what`` names the model in
    progress reports where the hub library does not name files; ``patterns`` limits the
    download to matching files (None: the whole repository)."""

    hub_id: str
    revision: Optional[str]
    endpoint: str
    what: str
    patterns: Optional[tuple[str, ...]]
    progress: Optional[DownloadProgress]


@dataclass(frozen=True)
class Hub:
    """A model hub and the library that downloads from it.

    ``endpoint_variables``: environment variables naming the endpoint, first set one wins
    (as the library itself reads them); ``offline_variables``: variables that, when true,
    forbid downloading. ``snapshot_download`` imports the library's function (raises
    ``ImportError`` when it is not installed); ``call`` runs it for a ``Request``,
    adapting the library's progress reports to ``Request.progress``.
    """

    name: str
    default_endpoint: str
    endpoint_variables: tuple[str, ...]
    offline_variables: tuple[str, ...]
    package: str  # what to install when snapshot_download cannot be imported
    snapshot_download: Callable[[], SnapshotDownload]
    call: Callable[[SnapshotDownload, Request], str]

    def endpoint(self, environ: Mapping[str, str]) -> str:
        """The endpoint the hub library would use, with a scheme (https when none given)."""
        configured = next((environ[v] for v in self.endpoint_variables if environ.get(v)), "")
        endpoint = configured.strip() or self.default_endpoint
        return endpoint if "://" in endpoint else "https://" + endpoint

    def offline_setting(self, environ: Mapping[str, str]) -> Optional[str]:
        """The variable that forbids downloading, if one is set to a true value."""
        for variable in self.offline_variables:
            if environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on"):
                return variable
        return None


def check_reachable(endpoint: str, timeout: float = CONNECT_TIMEOUT_S) -> Optional[str]:
    """None if a TCP connection to the endpoint opens within ``timeout``, else the reason
    (naming the endpoint)."""
    url = urlparse(endpoint)
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"cannot reach {endpoint} ({exc.__class__.__name__}: {exc})"


def download(
    location: ModelLocation,
    hub: Hub,
    revision: Optional[str],
    environ: Mapping[str, str],
    progress: Optional[DownloadProgress] = None,
    *,
    patterns: Optional[Sequence[str]] = None,
    snapshot_download: Optional[SnapshotDownload] = None,
) -> Path:
    """Download ``location.hub_id`` from ``hub`` into the hub's cache; the model directory.

    ``patterns``: only the files that match (None: all). ``snapshot_download`` replaces the
    hub library's (tests). Blocking (minutes for a large model); ``progress`` is called on
    the calling thread.

    Raises ``ModelDownloadError`` with the explanation of ``not_found_message`` when
    downloading is turned off by the hub's offline variable, the endpoint cannot be
    reached, the library is missing, or the library fails in any way.
    """
    if location.hub_id is None:
        raise ModelDownloadError(not_found_message(location, "it has no hub id"))
    offline = hub.offline_setting(environ)
    if offline is not None:
        raise ModelDownloadError(not_found_message(location, f"{offline} is set"))
    endpoint = hub.endpoint(environ)
    reason = check_reachable(endpoint)
    if reason is not None:
        raise ModelDownloadError(not_found_message(location, reason))
    if snapshot_download is None:
        try:
            snapshot_download = hub.snapshot_download()
        except ImportError as exc:
            raise ModelDownloadError(
                not_found_message(location, f"the {hub.package} package is missing ({exc})")
            ) from exc
    request = Request(
        location.hub_id,
        revision,
        endpoint,
        location.spec,
        tuple(patterns) if patterns is not None else None,
        progress,
    )
    log.info("downloading model %s from %s (%s)", location.hub_id, hub.name, endpoint)
    try:
        path = hub.call(snapshot_download, request)
    except Exception as exc:  # the hub libraries raise many types; all mean "download failed"
        raise ModelDownloadError(not_found_message(location, str(exc) or repr(exc))) from exc
    return Path(path)


# --- ModelScope --------------------------------------------------------------------------


def _modelscope_snapshot_download() -> SnapshotDownload:
    from modelscope.hub.snapshot_download import snapshot_download

    return snapshot_download  # type: ignore[no-any-return]


def _modelscope_call(snapshot_download: SnapshotDownload, request: Request) -> str:
    # modelscope reads its endpoint from the environment itself.
    options: dict[str, Any] = {}
    if request.patterns is not None:
        options["allow_patterns"] = list(request.patterns)
    return snapshot_download(
        request.hub_id,
        revision=request.revision or "master",
        progress_callbacks=[_modelscope_progress(request.progress)] if request.progress else None,
        **options,
    )


def _modelscope_progress(progress: DownloadProgress) -> type:
    """A modelscope ``ProgressCallback`` class (one instance per file) reporting to
    ``progress`` by file name."""
    from modelscope.hub.callback import ProgressCallback

    class _Progress(ProgressCallback):  # type: ignore[misc]
        def __init__(self, filename: str, file_size: int) -> None:
            super().__init__(filename, file_size)
            self.done = 0
            progress(filename, 0, file_size)

        def update(self, size: int) -> None:
            self.done += size
            progress(self.filename, self.done, self.file_size)

        def end(self) -> None:
            progress(self.filename, self.file_size or self.done, self.file_size)

    return _Progress


MODELSCOPE = Hub(
    name="ModelScope",
    default_endpoint="https://www.modelscope.cn",
    endpoint_variables=("MODELSCOPE_ENDPOINT", "MODELSCOPE_DOMAIN"),
    offline_variables=(),
    package="modelscope",
    snapshot_download=_modelscope_snapshot_download,
    call=_modelscope_call,
)


# --- Hugging Face ------------------------------------------------------------------------


def _huggingface_snapshot_download() -> SnapshotDownload:
    from huggingface_hub import snapshot_download

    return snapshot_download  # type: ignore[no-any-return]


def _huggingface_call(snapshot_download: SnapshotDownload, request: Request) -> str:
    return snapshot_download(
        request.hub_id,
        revision=request.revision,
        endpoint=request.endpoint,
        allow_patterns=list(request.patterns) if request.patterns is not None else None,
        tqdm_class=_tqdm_progress(request.progress, request.what) if request.progress else None,
    )


def _tqdm_progress(progress: DownloadProgress, what: str) -> type:
    """A tqdm class that reports huggingface_hub's byte counters to ``progress`` as
    ``what`` (its bars that count files are not reported)."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    class _Progress(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # no bar of its own; Tingxie shows progress
            super().__init__(*args, **kwargs)
            self._bytes = kwargs.get("unit") == "B"

        def update(self, n: float | None = 1) -> bool | None:
            self.n += n or 0
            if self._bytes:
                progress(what, int(self.n), int(self.total or 0))
            return None

    return _Progress


HUGGINGFACE = Hub(
    name="Hugging Face",
    default_endpoint="https://huggingface.co",
    endpoint_variables=("HF_ENDPOINT",),
    offline_variables=("HF_HUB_OFFLINE",),
    package="huggingface_hub",
    snapshot_download=_huggingface_snapshot_download,
    call=_huggingface_call,
)
