"""The frozen executables' entry point: PyInstaller runs this file as ``__main__``.

Both executables of the bundle (``tingxie`` and, on Windows, ``tingxie-cli``) start here;
everything else happens in the composition root, ``tingxie.__main__.main``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys


def _give_windowless_process_streams() -> None:
    """A Windows GUI executable (``console=False``) starts with ``sys.stdout`` and
    ``sys.stderr`` set to None; logging and funasr's banners would then raise. Writes go
    nowhere instead (use ``tingxie-cli`` to see them)."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            # open for the life of the process, like the streams it stands in for
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def run() -> None:
    multiprocessing.freeze_support()  # torch/joblib may spawn helpers: they re-enter here
    _give_windowless_process_streams()
    from tingxie.__main__ import main

    sys.exit(main())


if __name__ == "__main__":
    run()
