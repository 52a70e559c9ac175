"""Turning a model spec (a name or a directory) into a loaded ``Recognizer``.

Which runtime loads a model, and from which hub a named one is downloaded, is the entry of
``backends.BACKENDS`` that ``models.resolve`` chose; this module only runs the steps.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Optional, Sequence

from .backends import FUNASR, backend_named
from .errors import EngineError, ModelLoadError, ModelNotFoundError
from .interface import DownloadProgress, ModelInfo
from .models import (
    DEFAULT_MODEL,
    ModelLocation,
    huggingface_cache_root,
    modelscope_cache_root,
    not_found_message,
    resolve,
)
from .precision import DEFAULT_PRECISION
from .second_pass import Refinement, SecondPass
from .streaming import StreamingRecognizer

log = logging.getLogger(__name__)


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
    # The second pass (``second_pass``): model specs like ``model`` (None: none); the
    # product's defaults (paraformer-zh, ct-punc, fsmn-vad, ITN on) are chosen by the
    # composition root, so that a bare EngineConfig loads the streaming model alone.
    refine: Optional[str] = None  # an offline FunASR Paraformer (SeACo: hotwords)
    punc: Optional[str] = None  # FunASR's CT-Transformer
    vad: Optional[str] = None  # fsmn-vad: where long utterances are cut
    itn: bool = False  # inverse text normalization (wetext): 一百二十三 -> 123
    hotwords: tuple[str, ...] = ()  # the default hotwords of every utterance
    rules: Optional[Path] = None  # replacement rules file, re-read when it changes
    drop_final_stop: int = 0  # drop the final 。 of phrases up to this many characters


SECOND_PASS_MODELS = (
    ("refine", "offline recognizer"),
    ("punc", "punctuation model"),
    ("vad", "voice-activity model"),
)
"""The second pass's model fields of ``EngineConfig``, with what each is, in words."""


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


def locate(
    config: EngineConfig, environ: Mapping[str, str] | None = None, spec: str | None = None
) -> ModelLocation:
    """Where ``config.model`` (or ``spec``) is (or would be downloaded to). Pure apart
    from ``exists``."""
    env = os.environ if environ is None else environ
    return resolve(
        config.model if spec is None else spec,
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
    return _fetch(config, locate(config, env), progress, env)


def _fetch(
    config: EngineConfig,
    location: ModelLocation,
    progress: DownloadProgress | None,
    env: Mapping[str, str],
) -> ModelLocation:
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
    try:
        second = load_second_pass(config, progress, streaming=decoder.info)
    except BaseException:
        _close_quietly(decoder)
        raise
    return StreamingRecognizer(decoder, batching=config.batching, second_pass=second)


def _close_quietly(decoder: object) -> None:
    close = getattr(decoder, "close", None)
    if callable(close):
        close()


def load_second_pass(
    config: EngineConfig,
    progress: DownloadProgress | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    streaming: ModelInfo | None = None,
) -> SecondPass:
    """The second pass ``config`` asks for: each model resolved, fetched and loaded like
    the streaming one, the text steps built. Blocking (seconds).

    A model that cannot be found, downloaded or loaded does not stop the service: the
    second pass runs without it, and ``SecondPass.problems`` says why (``/health`` and the
    window show it); the live draft is then the final, punctuated and finished as far as
    the remaining steps allow.
    """
    from .text_steps import finisher_for

    env = dict(os.environ if environ is None else environ)
    loaded: dict[str, object] = {}
    problems: list[str] = []
    for field_name, what in SECOND_PASS_MODELS:
        spec = getattr(config, field_name)
        if not spec:
            continue
        try:
            location = _fetch(config, locate(config, env, spec), progress, env)
            assert location.path is not None
            if location.backend != FUNASR:
                raise ModelLoadError(
                    f"{spec} is not a FunASR model; the {what} must be one "
                    f"({SECOND_PASS_DEFAULTS[field_name]} or a folder in the ModelScope layout)"
                )
            loaded[field_name] = _load_second_model(field_name, location, config)
        except EngineError as exc:
            log.warning("the second pass runs without its %s: %s", what, exc)
            problems.append(f"{what} {spec}: {exc}")
    language = config.language
    if language == "auto":
        language = "en" if streaming is not None and streaming.name.endswith(".en") else "zh"
    finisher = finisher_for(
        itn=config.itn,
        language=language,
        rules=config.rules,
        drop_final_stop=config.drop_final_stop,
    )
    return SecondPass(
        loaded.get("refine"),  # type: ignore[arg-type]
        loaded.get("punc"),  # type: ignore[arg-type]
        loaded.get("vad"),  # type: ignore[arg-type]
        finisher,
        defaults=Refinement(hotwords=config.hotwords),
        problems=problems,
    )


SECOND_PASS_DEFAULTS = {"refine": "paraformer-zh", "punc": "ct-punc", "vad": "fsmn-vad"}
"""The product's second pass (what ``tingxie`` loads unless told otherwise)."""


def _load_second_model(field_name: str, location: ModelLocation, config: EngineConfig) -> object:
    from . import funasr_backend
    from .precision import choose_precision

    assert location.path is not None
    precision = choose_precision(config.precision, config.device)
    if field_name == "refine":
        return funasr_backend.load_offline(
            location.path, name=location.name, device=config.device,
            threads=config.threads, precision=precision,
        )
    if field_name == "punc":
        return funasr_backend.load_punctuator(
            location.path, name=location.name, device=config.device,
            threads=config.threads, precision=precision,
        )
    return funasr_backend.load_segmenter(
        location.path, name=location.name, device=config.device, threads=config.threads
    )


def model_dirs_from(paths: Sequence[str]) -> tuple[Path, ...]:
    return tuple(Path(p) for p in paths)
