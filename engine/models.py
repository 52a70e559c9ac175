"""Where a model is: pure decisions about names, directories and caches (no I/O of its own;
the caller passes in what exists on disk).

A model spec is either a name users know from FunASR (``paraformer-zh-streaming``), a
ModelScope id (``iic/speech_paraformer-large_asr_nat-zh-cn-16k-common-vocab8404-online``),
or a local directory. Names and ids are looked for, in order, in Tingxie's own model
folders (e.g. ``models/`` beside the frozen executable) and the ModelScope cache, and are
downloaded only when found nowhere. A directory is never turned into a download.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

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

REQUIRED_FILES = ("config.yaml", "model.pt")
"""A model directory in the ModelScope layout holds at least these."""

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


def modelscope_cache_root(environ: Mapping[str, str], home: Path) -> Path:
    """The ModelScope hub cache, as modelscope computes it (``MODELSCOPE_CACHE`` wins)."""
    configured = environ.get("MODELSCOPE_CACHE")
    if configured:
        return Path(os.path.expanduser(configured))
    return home / ".cache" / "modelscope" / "hub"


def looks_like_path(spec: str) -> bool:
    """True when the user clearly meant a directory, not a name or hub id."""
    return (
        spec.startswith(("/", ".", "~", "\\"))
        or "\\" in spec
        or bool(re.match(r"^[A-Za-z]:", spec))
        or spec.count("/") > 1
    )


def is_model_dir(path: Path, exists: Callable[[Path], bool]) -> bool:
    return all(exists(path / f) for f in REQUIRED_FILES)


def resolve(
    spec: str,
    *,
    model_dirs: Sequence[Path],
    cache_root: Path,
    exists: Callable[[Path], bool],
) -> ModelLocation:
    """Decide where ``spec`` is.

    ``model_dirs``: Tingxie's own folders of models, searched first (by short name and by
    the last part of the hub id). ``cache_root``: the ModelScope cache. ``exists`` tells
    whether a path exists (passed in so this stays pure).

    Raises ``ModelNotFoundError`` for a directory that does not exist or is not a model,
    and for a name that is neither known nor a hub id.
    """
    spec = spec.strip()
    if not spec:
        raise ModelNotFoundError("no model given")
    as_path = Path(os.path.expanduser(spec))
    if looks_like_path(spec) or (exists(as_path) and spec not in FUNASR_NAMES):
        if not exists(as_path):
            raise ModelNotFoundError(
                f"model directory {as_path} does not exist. Give an existing folder that "
                f"holds {', '.join(REQUIRED_FILES)}, or a model name such as {DEFAULT_MODEL}."
            )
        if not is_model_dir(as_path, exists):
            raise ModelNotFoundError(
                f"{as_path} is not a model directory: it must hold {', '.join(REQUIRED_FILES)} "
                "(the layout of a ModelScope download)."
            )
        return ModelLocation(spec, as_path.name, as_path, None, (as_path,))

    hub_id = FUNASR_NAMES.get(spec)
    if hub_id is None:
        if not _HUB_ID.match(spec):
            known = ", ".join(sorted(FUNASR_NAMES))
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


def not_found_message(location: ModelLocation, reason: str) -> str:
    """The explanation a user gets when a named model is neither on disk nor downloadable."""
    looked = "\n".join(f"  - {p}" for p in location.searched)
    target = location.download_to or (location.searched[-1] if location.searched else None)
    return (
        f"model {location.spec!r} ({location.hub_id}) is not on this computer and could not "
        f"be downloaded: {reason}\n"
        f"Looked in:\n{looked}\n"
        f"To install it by hand, download https://www.modelscope.cn/models/{location.hub_id} "
        f"(all files: config.yaml, model.pt, tokens.json, am.mvn, ...) into {target}, "
        "or pass the folder with --model DIR."
    )
