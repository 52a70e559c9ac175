"""The table of engine backends: one entry per runtime that loads models.

An entry says which files make a directory one of its models (``detect``), how a named
model is fetched (``download``: from its hub into the hub's cache), how a directory is
loaded into a ``ChunkDecoder`` (``load``) and what to tell a user who must install a model
by hand. Choosing an entry is a pure function of facts (``backend_named``,
``backend_for_dir``); supporting another runtime is one more entry in ``BACKENDS``.

Nothing heavy is imported here: each entry imports its runtime (funasr and torch,
faster_whisper) and its hub library inside ``download`` and ``load``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Optional, Protocol

from .backend import ChunkDecoder
from .interface import DownloadProgress

if TYPE_CHECKING:
    from .download import SnapshotDownload
    from .loader import EngineConfig
    from .models import ModelLocation

Exists = Callable[[Path], bool]
"""Whether a path exists; passed in so that the decisions here stay pure."""

FUNASR = "funasr"
WHISPER = "whisper"


class Download(Protocol):
    def __call__(
        self,
        location: ModelLocation,
        revision: Optional[str],
        environ: Mapping[str, str],
        progress: Optional[DownloadProgress] = None,
        *,
        snapshot_download: Optional[SnapshotDownload] = None,
    ) -> Path: ...


@dataclass(frozen=True)
class Backend:
    """One runtime that loads models.

    ``name``: the value of ``ModelLocation.backend`` (and ``ModelInfo.backend``).
    ``model_files``: what a model directory of this runtime holds at least, and
    ``layout`` whose layout that is, in words (both for messages).
    ``detect(path, exists)``: whether the directory ``path`` holds such a model.
    ``download(location, revision, environ, progress)``: fetches ``location.hub_id`` and
    returns the model directory; blocking; raises ``ModelDownloadError``.
    ``load(path, name, config)``: the model in ``path`` as a ``ChunkDecoder``; blocking
    (seconds); raises ``ModelLoadError``.
    ``install_by_hand(location)``: the sentence telling a user how to put the model where
    Tingxie finds it, when it could not be downloaded.
    """

    name: str
    model_files: tuple[str, ...]
    layout: str
    detect: Callable[[Path, Exists], bool]
    download: Download
    load: Callable[[Path, str, EngineConfig], ChunkDecoder]
    install_by_hand: Callable[[ModelLocation], str]


# --- FunASR ------------------------------------------------------------------------------

FUNASR_FILES = ("config.yaml", "model.pt")
"""A model directory in the ModelScope layout holds at least these."""


def _is_funasr_dir(path: Path, exists: Exists) -> bool:
    return all(exists(path / f) for f in FUNASR_FILES)


def _download_funasr(
    location: ModelLocation,
    revision: Optional[str],
    environ: Mapping[str, str],
    progress: Optional[DownloadProgress] = None,
    *,
    snapshot_download: Optional[SnapshotDownload] = None,
) -> Path:
    # Imported here: tingxie.engine.download builds its messages with tingxie.engine.models,
    # which asks this table which backend a directory is.
    from .download import MODELSCOPE, download

    return download(
        location, MODELSCOPE, revision, environ, progress, snapshot_download=snapshot_download
    )


def _load_funasr(path: Path, name: str, config: EngineConfig) -> ChunkDecoder:
    from . import funasr_backend
    from .precision import choose_precision

    return funasr_backend.load(
        path,
        name=name,
        device=config.device,
        threads=config.threads,
        precision=choose_precision(config.precision, config.device),
    )


def _install_funasr_by_hand(location: ModelLocation) -> str:
    target = location.download_to or (location.searched[-1] if location.searched else None)
    return (
        f"To install it by hand, download https://www.modelscope.cn/models/{location.hub_id} "
        f"(all files: config.yaml, model.pt, tokens.json, am.mvn, ...) into {target}, "
        "or pass the folder with --model DIR."
    )


# --- faster-whisper ----------------------------------------------------------------------

CTRANSLATE2_FILES = ("model.bin", "config.json")
"""A CTranslate2 (faster-whisper) model directory holds at least these (and no config.yaml)."""

WHISPER_DOWNLOAD_PATTERNS = (
    "config.json",
    "preprocessor_config.json",
    "model.bin",
    "tokenizer.json",
    "vocabulary.*",
)
"""What faster-whisper itself fetches from a model repository."""


def _is_ctranslate2_dir(path: Path, exists: Exists) -> bool:
    return all(exists(path / f) for f in CTRANSLATE2_FILES) and not exists(path / "config.yaml")


def _download_whisper(
    location: ModelLocation,
    revision: Optional[str],
    environ: Mapping[str, str],
    progress: Optional[DownloadProgress] = None,
    *,
    snapshot_download: Optional[SnapshotDownload] = None,
) -> Path:
    from .download import HUGGINGFACE, download  # see _download_funasr

    return download(
        location,
        HUGGINGFACE,
        revision,
        environ,
        progress,
        patterns=WHISPER_DOWNLOAD_PATTERNS,
        snapshot_download=snapshot_download,
    )


def _load_whisper(path: Path, name: str, config: EngineConfig) -> ChunkDecoder:
    from . import whisper_backend

    return whisper_backend.load(
        path, name=name, device=config.device, threads=config.threads, language=config.language
    )


def _install_whisper_by_hand(location: ModelLocation) -> str:
    # The Hugging Face cache keeps files under snapshots/<commit>: not a folder to fill by hand.
    return (
        f"To install it by hand, download https://huggingface.co/{location.hub_id} "
        "(all files: model.bin, config.json, tokenizer.json, vocabulary.txt, ...) into a "
        "folder and pass it with --model DIR (or put it in Tingxie's models folder, named "
        f"{location.spec})."
    )


# --- the table ---------------------------------------------------------------------------

BACKENDS: tuple[Backend, ...] = (
    # FunASR first: a directory that holds both layouts is a FunASR model.
    Backend(
        name=FUNASR,
        model_files=FUNASR_FILES,
        layout="the layout of a ModelScope download",
        detect=_is_funasr_dir,
        download=_download_funasr,
        load=_load_funasr,
        install_by_hand=_install_funasr_by_hand,
    ),
    Backend(
        name=WHISPER,
        model_files=CTRANSLATE2_FILES,
        layout="a CTranslate2 Whisper model",
        detect=_is_ctranslate2_dir,
        download=_download_whisper,
        load=_load_whisper,
        install_by_hand=_install_whisper_by_hand,
    ),
)


def backend_named(name: str, table: tuple[Backend, ...] = BACKENDS) -> Backend:
    """The entry called ``name``. Raises ``KeyError`` for a name not in ``table``."""
    for backend in table:
        if backend.name == name:
            return backend
    raise KeyError(f"no engine backend {name!r} (known: {', '.join(b.name for b in table)})")


def backend_for_dir(
    path: Path, exists: Exists, table: tuple[Backend, ...] = BACKENDS
) -> Optional[Backend]:
    """The first entry of ``table`` whose ``detect`` claims the directory ``path``; None
    when none does."""
    return next((b for b in table if b.detect(path, exists)), None)
