"""Benchmark several commits in one run: each commit's package folders extracted with
``git archive`` and staged as the installed ``tingxie`` tree, a benchmark run as a child
process on each, so nothing of the working tree or the editable install leaks in.

A child prints its result as one JSON line, last, with ``"modules"``: where its
``tingxie`` modules came from (``imported_from``); the parent checks each lies inside the
staged tree (``run_staged``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
PARTS = {"tingxie": "tingxie", "engine": "tingxie/engine", "desktop": "tingxie/desktop",
         "server": "tingxie/server", "assets": "tingxie/assets"}


def stage(commit: str, into: Path) -> tuple[str, Path]:
    """Extract ``commit``'s package folders as the installed tree ``into/stage-SHA/tingxie``;
    returns the commit's short hash and the folder to put first on ``PYTHONPATH``."""
    sha = subprocess.run(["git", "rev-parse", "--short", commit], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    raw = into / f"raw-{sha}"
    tree = into / f"stage-{sha}"
    raw.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", sha, *PARTS], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(raw)], input=archive, check=True)
    tree.mkdir()
    (raw / "tingxie").rename(tree / "tingxie")  # first: the others go inside it
    for part, target in PARTS.items():
        if part != "tingxie":
            (raw / part).rename(tree / target)
    return sha, tree


def imported_from(*modules: ModuleType) -> dict[str, str]:
    """For a child's result: the file each of ``modules`` was loaded from."""
    return {m.__name__: str(m.__file__) for m in modules}


def run_staged(tree: Path, module: str, args: Sequence[str]) -> dict[str, Any]:
    """``python -m module *args`` with ``tree`` first on the path; its last stdout line,
    parsed, after checking its modules came from ``tree``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), str(ROOT)]))
    # cwd is the staged tree: ``-m`` puts it first on sys.path, ahead of the checkout's own
    # ``tingxie/`` folder.
    out = subprocess.run([sys.executable, "-m", module, *args], cwd=tree, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{module} failed ({out.returncode}):\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    for name, path in result["modules"].items():
        if not Path(path).resolve().is_relative_to(tree.resolve()):
            raise RuntimeError(f"{name} came from {path}, not from the staged {tree}")
    return result
