"""Where a model is: pure decisions about names, directories and caches (no I/O of its own;
the caller passes in what exists on disk).

A model spec is either a name users know from FunASR (``paraformer-zh-streaming``), a
ModelScope id (``iic/speech_paraformer-large_asr_nat-zh-cn-16k-common-vocab8404-online``),
a Whisper name (``whisper-tiny.en``, ``whisper-small``: faster-whisper's CTranslate2
conversions on Hugging Face), or a local directory. Names and ids are looked for, in order,
in Tingxie's own model folders (e.g. ``models/`` beside the frozen executable) and the
ModelScope cache (Whisper names: the Hugging Face cache), and are downloaded only when found
nowhere. A directory is never turned into a download; its files say which backend loads it
(the first entry of ``backends.BACKENDS`` whose ``detect`` claims it: ``config.yaml`` +
``model.pt``: FunASR; ``model.bin`` + ``config.json``: Whisper).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from .backends import BACKENDS, FUNASR, WHISPER, Exists, backend_for_dir, backend_named
from .errors import ModelNotFoundError

DEFAULT_MODEL = "paraformer-zh-streaming"

# FunASR's own short names (funasr/download/name_maps_from_hub.py) for the models that the
# streaming Paraformer backend runs, plus the offline ones users know, so that asking for
# those gives a clear answer instead of "unknown model".
FUNASR_NAMES: Mapping[str, str] = {
    "paraformer-zh-streaming": "iic/speech_paraformer-large_asr_nat-zh-cn-16k-common-vocab8404-online",
    "paraformer-zh": "iic/speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch",
    "paraformer": "iic/speech_paraformer-large_asr_nat-zh-cn-16k-common-vocab8404-pytorch",
    "paraformer-en": "iic/speech_paraformer-large-vad-punc_asr_nat-en-16k-common-vocab10020",
    "fsmn-vad": "iic/speech_fsmn_vad_zh-cn-16k-common-pytorch",
    "ct-punc": "iic/punc_ct-transformer_cn-en-common-vocab471067-large",
}

# faster-whisper's CTranslate2 conversions (faster_whisper.utils._MODELS), by Tingxie name.
WHISPER_NAMES: Mapping[str, str] = {
    f"whisper-{size}": repo
    for size, repo in {
        "tiny": "Systran/faster-whisper-tiny",
        "tiny.en": "Systran/faster-whisper-tiny.en",
        "base": "Systran/faster-whisper-base",
        "base.en": "Systran/faster-whisper-base.en",
        "small": "Systran/faster-whisper-small",
        "small.en": "Systran/faster-whisper-small.en",
        "medium": "Systran/faster-whisper-medium",
        "medium.en": "Systran/faster-whisper-medium.en",
        "large-v2": "Systran/faster-whisper-large-v2",
        "large-v3": "Systran/faster-whisper-large-v3",
        "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
        "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
    }.items()
}

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ModelLocation:
    """Where a spec points. ``path`` is set when the model is on disk; otherwise ``hub_id``
    says what to download and ``download_to`` where it will land."""

    spec: str
    name: str
    path: Optional[Path]
    hub_id: Optional[str]
    searched: tuple[Path, ...]
    download_to: Optional[Path] = None
    backend: str = FUNASR  # the name of the entry of backends.BACKENDS that loads it


def modelscope_cache_root(environ: Mapping[str, str], home: Path) -> Path:
    """The ModelScope hub cache, as modelscope computes it (``MODELSCOPE_CACHE`` wins)."""
    configured = environ.get("MODELSCOPE_CACHE")
    if configured:
        return Path(os.path.expanduser(configured))
    return home / ".cache" / "modelscope" / "hub"


def huggingface_cache_root(environ: Mapping[str, str], home: Path) -> Path:
    """The Hugging Face hub cache, as huggingface_hub computes it (``HF_HUB_CACHE``, then
    ``HF_HOME``/hub, then ``XDG_CACHE_HOME``/huggingface/hub)."""
    if environ.get("HF_HUB_CACHE"):
        return Path(os.path.expanduser(environ["HF_HUB_CACHE"]))
    if environ.get("HF_HOME"):
        return Path(os.path.expanduser(environ["HF_HOME"])) / "hub"
    xdg = environ.get("XDG_CACHE_HOME")
    return (Path(os.path.expanduser(xdg)) if xdg else home / ".cache") / "huggingface" / "hub"


def looks_like_path(spec: str) -> bool:
    """True when the user clearly meant a directory, not a name or hub id."""
    return (
        spec.startswith(("/", ".", "~", "\\"))
        or "\\" in spec
        or bool(re.match(r"^[A-Za-z]:", spec))
        or spec.count("/") > 1
    )


def is_model_dir(path: Path, exists: Exists) -> bool:
    """A FunASR model directory (the ModelScope layout)."""
    return backend_named(FUNASR).detect(path, exists)


def is_ctranslate2_dir(path: Path, exists: Exists) -> bool:
    """A CTranslate2 model directory (what faster-whisper loads), not a FunASR one."""
    return backend_named(WHISPER).detect(path, exists)


def backend_of_dir(path: Path, exists: Exists) -> Optional[str]:
    """The name of the backend that loads the model directory ``path``; None if none does."""
    backend = backend_for_dir(path, exists)
    return backend.name if backend else None


def _layouts() -> str:
    return " or ".join(f"{', '.join(b.model_files)} ({b.layout})" for b in BACKENDS)


def resolve(
    spec: str,
    *,
    model_dirs: Sequence[Path],
    cache_root: Path,
    exists: Exists,
    hf_cache_root: Optional[Path] = None,
    list_dir: Callable[[Path], Sequence[Path]] = lambda _: (),
) -> ModelLocation:
    """Decide where ``spec`` is, and which backend loads it.

    ``model_dirs``: Tingxie's own folders of models, searched first (by short name and by
    the last part of the hub id). ``cache_root``: the ModelScope cache. ``hf_cache_root``:
    the Hugging Face cache, where Whisper names are looked for. ``exists`` tells whether a
    path exists and ``list_dir`` what a directory holds (passed in so this stays pure).

    Raises ``ModelNotFoundError`` for a directory that does not exist or is not a model,
    and for a name that is neither known nor a hub id.
    """
    spec = spec.strip()
    if not spec:
        raise ModelNotFoundError("no model given")
    as_path = Path(os.path.expanduser(spec))
    known_name = spec in FUNASR_NAMES or spec in WHISPER_NAMES
    if looks_like_path(spec) or (exists(as_path) and not known_name):
        if not exists(as_path):
            raise ModelNotFoundError(
                f"model directory {as_path} does not exist. Give an existing folder that "
                f"holds {_layouts()}, or a model name such as {DEFAULT_MODEL}."
            )
        backend = backend_of_dir(as_path, exists)
        if backend is None:
            raise ModelNotFoundError(
                f"{as_path} is not a model directory: it must hold {_layouts()}."
            )
        return ModelLocation(spec, as_path.name, as_path, None, (as_path,), backend=backend)

    whisper_name = next((n for n, i in WHISPER_NAMES.items() if i == spec), spec)
    if whisper_name in WHISPER_NAMES:  # a Whisper name, or its Hugging Face id
        return _resolve_whisper(whisper_name, model_dirs, hf_cache_root, exists, list_dir)
    hub_id = FUNASR_NAMES.get(spec)
    if hub_id is None:
        if not _HUB_ID.match(spec):
            known = ", ".join(sorted(FUNASR_NAMES) + sorted(WHISPER_NAMES))
            raise ModelNotFoundError(
                f"unknown model {spec!r}: give a model name ({known}), a ModelScope id "
                "(organisation/name) or a local model directory."
            )
        hub_id = spec
    org, repo = hub_id.split("/", 1)
    candidates: list[Path] = []
    for d in model_dirs:
        candidates += [d / spec, d / repo, d / org / repo]
    # modelscope >= 1.20 stores models under hub/models/<org>/<name>; older versions under
    # hub/<org>/<name> (with '.' in the name replaced by '___').
    candidates += [
        cache_root / "models" / org / repo,
        cache_root / org / repo,
        cache_root / org / repo.replace(".", "___"),
    ]
    seen: list[Path] = []
    for c in candidates:
        if c in seen:
            continue
        seen.append(c)
        if is_model_dir(c, exists):
            return ModelLocation(spec, spec, c, hub_id, tuple(seen))
    return ModelLocation(
        spec, spec, None, hub_id, tuple(seen), download_to=cache_root / "models" / org / repo
    )


def _resolve_whisper(
    spec: str,
    model_dirs: Sequence[Path],
    hf_cache_root: Optional[Path],
    exists: Exists,
    list_dir: Callable[[Path], Sequence[Path]],
) -> ModelLocation:
    hub_id = WHISPER_NAMES[spec]
    org, repo = hub_id.split("/", 1)
    candidates: list[Path] = []
    for d in model_dirs:
        candidates += [d / spec, d / repo, d / org / repo]
    cached = None
    if hf_cache_root is not None:
        # huggingface_hub's layout: models--<org>--<name>/snapshots/<commit>/<files>
        cached = hf_cache_root / f"models--{org}--{repo}"
        candidates += sorted(list_dir(cached / "snapshots"))
    for c in candidates:
        if is_ctranslate2_dir(c, exists):
            return ModelLocation(spec, spec, c, hub_id, tuple(candidates), backend=WHISPER)
    searched = tuple(candidates) + ((cached / "snapshots",) if cached else ())
    return ModelLocation(spec, spec, None, hub_id, searched, download_to=cached, backend=WHISPER)


def not_found_message(location: ModelLocation, reason: str) -> str:
    """The explanation a user gets when a named model is neither on disk nor downloadable:
    ``reason``, the folders looked in, and how to install the model by hand."""
    looked = "\n".join(f"  - {p}" for p in location.searched)
    return (
        f"model {location.spec!r} ({location.hub_id}) is not on this computer and could not "
        f"be downloaded: {reason}\n"
        f"Looked in:\n{looked}\n" + backend_named(location.backend).install_by_hand(location)
    )
