"""Fetching a model from ModelScope, with progress and without hanging when offline."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlparse

from .errors import ModelDownloadError
from .interface import DownloadProgress
from .models import ModelLocation, not_found_message

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0


def hub_endpoint(environ: dict[str, str]) -> str:
    """The ModelScope endpoint modelscope itself would use."""
    endpoint = environ.get("MODELSCOPE_ENDPOINT") or environ.get("MODELSCOPE_DOMAIN") or ""
    endpoint = endpoint.strip() or "https://www.modelscope.cn"
    if "://" not in endpoint:
        endpoint = "https://" + endpoint
    return endpoint


def check_reachable(endpoint: str, timeout: float = CONNECT_TIMEOUT_S) -> Optional[str]:
    """None if a TCP connection to the endpoint opens within ``timeout``, else the reason.

    modelscope retries with long timeouts; this check makes an offline machine fail in
    seconds with a clear message instead.
    """
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
    revision: Optional[str],
    environ: dict[str, str],
    progress: Optional[DownloadProgress] = None,
    snapshot_download: Optional[Callable[..., str]] = None,
) -> Path:
    """Download ``location.hub_id`` into the ModelScope cache and return its directory.

    Raises ``ModelDownloadError`` with the explanation of ``not_found_message``.
    """
    assert location.hub_id is not None
    endpoint = hub_endpoint(environ)
    reason = check_reachable(endpoint)
    if reason is not None:
        raise ModelDownloadError(not_found_message(location, reason))
    if snapshot_download is None:
        try:
            from modelscope.hub.snapshot_download import snapshot_download
        except ImportError as exc:
            raise ModelDownloadError(
                not_found_message(location, f"the modelscope package is missing ({exc})")
            ) from exc

    callback_cls = _progress_class(progress) if progress else None
    log.info("downloading model %s from %s", location.hub_id, endpoint)
    try:
        path = snapshot_download(
            location.hub_id,
            revision=revision or "master",
            progress_callbacks=[callback_cls] if callback_cls else None,
        )
    except Exception as exc:  # modelscope raises many types; all mean "download failed"
        raise ModelDownloadError(not_found_message(location, str(exc))) from exc
    return Path(path)


def _progress_class(progress: DownloadProgress) -> type:
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
