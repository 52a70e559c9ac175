"""Turning a model spec (a name or a directory) into a loaded ``Recognizer``.

Which runtime loads a model, and from which hub a named one is downloaded, is the entry of
``backends.BACKENDS`` that ``models.resolve`` chose; this module only runs the steps.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Optional, Sequence

from .backends import backend_named
from .errors import ModelNotFoundError
from .interface import DownloadProgress
from .models import (
    DEFAULT_MODEL,
    ModelLocation,
    huggingface_cache_root,
    modelscope_cache_root,
    not_found_message,
    resolve,
)
from .precision import DEFAULT_PRECISION
from .streaming import StreamingRecognizer


@dataclass(frozen=True)
class EngineConfig:
    """Everything needed to load a model. Built once, in the composition root."""

    model: str = DEFAULT_MODEL
    revision: Optional[str] = None
    device: str = "cpu"
    threads: Optional[int] = None  # torch intra-op threads; None: the machine's cores, max 4
    allow_download: bool = True
    precision: str = DEFAULT_PRECISION  # see PRECISIONS
    batching: bool = True  # decode the chunks of concurrent sessions together
    model_dirs: tuple[Path, ...] = ()  # searched before the ModelScope cache
    language: str = "auto"  # Whisper models: "auto", "zh" or "en" (FunASR models ignore it)


def default_model_dirs(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """``models/`` beside a frozen executable (offline installs), then the user's data dir
    (``$TINGXIE_DATA_DIR``, else the platform's)."""
    env = os.environ if environ is None else environ
    dirs: list[Path] = []
    if getattr(sys, "frozen", False):
        dirs.append(Path(sys.executable).resolve().parent / "models")
    data = env.get("TINGXIE_DATA_DIR")
    if data:
        dirs.append(Path(data) / "models")
    else:
        from platformdirs import user_data_dir

        dirs.append(Path(user_data_dir("tingxie", appauthor=False)) / "models")
    return tuple(dirs)


def locate(config: EngineConfig, environ: Mapping[str, str] | None = None) -> ModelLocation:
    """Where ``config.model`` is (or would be downloaded to). Pure apart from ``exists``."""
    env = os.environ if environ is None else environ
    return resolve(
        config.model,
        model_dirs=config.model_dirs,
        cache_root=modelscope_cache_root(env, Path.home()),
        exists=lambda p: p.exists(),
        hf_cache_root=huggingface_cache_root(env, Path.home()),
        list_dir=lambda p: list(p.iterdir()) if p.is_dir() else [],
    )


def fetch(
    config: EngineConfig,
    progress: DownloadProgress | None = None,
    environ: Mapping[str, str] | None = None,
) -> ModelLocation:
    """``locate``, downloading when the model is found nowhere; returns a location with
    ``path`` set. Raises ``ModelNotFoundError`` / ``ModelDownloadError``."""
    env = dict(os.environ if environ is None else environ)
    location = locate(config, env)
    if location.path is not None:
        return location
    if not config.allow_download:
        raise ModelNotFoundError(not_found_message(location, "downloading is turned off"))
    path = backend_named(location.backend).download(location, config.revision, env, progress)
    return replace(location, path=path)


def load_recognizer(
    config: EngineConfig, progress: DownloadProgress | None = None
) -> StreamingRecognizer:
    """Resolve, fetch if needed, and load the model; blocking (seconds). Run it off the GUI
    thread and the event loop.

    Raises ``ModelNotFoundError`` / ``ModelDownloadError`` / ``ModelLoadError``.
    """
    location = fetch(config, progress)
    assert location.path is not None  # fetch returns a location on disk
    decoder = backend_named(location.backend).load(location.path, location.name, config)
    return StreamingRecognizer(decoder, batching=config.batching)


def model_dirs_from(paths: Sequence[str]) -> tuple[Path, ...]:
    return tuple(Path(p) for p in paths)
