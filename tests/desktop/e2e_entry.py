"""A stand-in for ``tingxie [--model DIR]`` used by the end-to-end test while the composition
root's desktop branch is not there: ``python -m tests.desktop.e2e_entry MODEL_DIR PORT``."""

from __future__ import annotations

import logging
import sys


def main(argv: list[str]) -> int:
    from desktop.app import run
    from engine.handle import EngineHandle
    from engine.loader import EngineConfig, load_recognizer

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True)
    model, port = argv[0], int(argv[1])
    config = EngineConfig(model=model)
    handle = EngineHandle(model, lambda progress: load_recognizer(config, progress))
    try:
        return run(handle, service_port=port)
    finally:
        handle.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
