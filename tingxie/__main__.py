"""The composition root: parse arguments and environment once, build the objects, run.

    tingxie [--model NAME|DIR]                 the desktop app
    tingxie --server-only [--host H] [--port P] the /ws/asr service, headless (no Qt import)
    tingxie transcribe FILE [--model NAME|DIR]  print the text of an audio file

Each takes the second pass's options (--refine, --punc, --vad, --itn/--no-itn, --hotwords,
--rules: ``tingxie.config``).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Mapping, Sequence

from tingxie.engine.errors import EngineError

from .config import ConfigError, Options, parse

log = logging.getLogger("tingxie")


def configure_logging(level: int) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,  # funasr installs its own root handler on import
    )


def download_progress(what: str, done: int, total: int) -> None:
    if total:
        sys.stderr.write(f"\rdownloading {what}: {done / 1e6:.1f} / {total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\rdownloading {what}: {done / 1e6:.1f} MB")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    try:
        options = parse(argv, os.environ if environ is None else environ)
    except ConfigError as exc:
        sys.stderr.write(f"tingxie: error: {exc}\n")
        return 2
    configure_logging(options.log_level)
    try:
        if options.command == "transcribe":
            return run_transcribe(options)
        if options.command == "server":
            return run_server_only(options)
        return run_desktop(options)
    except EngineError as exc:
        sys.stderr.write(f"tingxie: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130


def run_transcribe(options: Options) -> int:
    from tingxie.engine.audio import read_audio_file
    from tingxie.engine.loader import load_recognizer

    from .transcribe import transcribe

    assert options.file is not None  # argparse requires it for "transcribe"
    read_audio_file(options.file)  # fail on a bad file before loading the model
    recognizer = load_recognizer(options.engine, download_progress)
    configure_logging(options.log_level)  # again: importing funasr replaced the handlers
    try:
        transcribe(recognizer, options.file)
    finally:
        recognizer.close()
    return 0


def run_server_only(options: Options) -> int:
    """The /ws/asr service in the foreground; the model loads in the background (``/health``
    answers 503 until it is ready). SIGINT/SIGTERM stop it gracefully."""
    from tingxie.engine.handle import EngineHandle
    from tingxie.engine.loader import load_recognizer
    from tingxie.server.cli import run_server_only as serve

    engine = options.engine
    handle = EngineHandle(engine.model, lambda progress: load_recognizer(engine, progress))
    handle.load_in_background()
    try:
        return serve(handle, options.server)
    finally:
        handle.close()


def run_desktop(options: Options) -> int:
    """The window; the model loads in the background while it is already usable. The
    engine's configuration is the command line's where it set something, the user's
    Settings elsewhere (``Options.engine_for``, called by the desktop's EngineSettings)."""
    from tingxie.desktop.app import run

    return run(engine=options, service_port=options.port)


if __name__ == "__main__":
    sys.exit(main())
