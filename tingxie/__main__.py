"""The composition root: parse arguments and environment once, build the objects, run.

    tingxie [--model NAME|DIR]                 the desktop app
    tingxie --server-only [--host H] [--port P] the /ws/asr service, headless (no Qt import)
    tingxie transcribe FILE [--model NAME|DIR]  print the text of an audio file
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Mapping, Sequence

from tingxie.engine.errors import EngineError
from tingxie.engine.loader import EngineConfig, default_model_dirs
from tingxie.engine.models import DEFAULT_MODEL
from tingxie.engine.precision import DEFAULT_PRECISION, PRECISIONS

from . import __version__

log = logging.getLogger("tingxie")


def engine_arguments(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    g = parser.add_argument_group("model")
    g.add_argument(
        "--model",
        default=None,
        help="model name, ModelScope id or local model directory "
        f"(default: $MODEL_NAME, else the app's last choice, else {DEFAULT_MODEL})",
    )
    g.add_argument("--model-revision", default=environ.get("MODEL_REVISION") or None)
    g.add_argument("--device", default=environ.get("DEVICE", "cpu"), help="cpu, cuda, cuda:0 ...")
    g.add_argument(
        "--threads",
        type=int,
        default=int(environ["TORCH_NUM_THREADS"]) if environ.get("TORCH_NUM_THREADS") else None,
        help="torch threads for inference (default: $TORCH_NUM_THREADS or up to 4)",
    )
    g.add_argument(
        "--language",
        choices=("auto", "zh", "en"),
        default=environ.get("ASR_LANGUAGE", "auto"),
        help="spoken language for Whisper models (default: $ASR_LANGUAGE or auto: detect); "
        "FunASR models ignore it",
    )
    g.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=environ.get("PRECISION", DEFAULT_PRECISION),
        help="FunASR weights: int8 (Linear layers in int8, twice as fast on CPU), fp32 "
        "(FunASR's exact output) or auto (int8 on CPU, fp32 on GPU; default: $PRECISION "
        "or %(default)s; see docs/performance.md)",
    )
    g.add_argument(
        "--no-batching",
        action="store_true",
        default=environ.get("TINGXIE_BATCHING", "1") == "0",
        help="decode concurrent sessions one by one instead of batching their chunks "
        "(for comparison; $TINGXIE_BATCHING=0)",
    )
    g.add_argument(
        "--offline",
        action="store_true",
        help="never download a model; fail with an explanation when it is not on disk",
    )


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-level",
        default=environ.get("LOG_LEVEL", "INFO"),
        help="DEBUG, INFO, WARNING, ERROR (default: $LOG_LEVEL or INFO)",
    )
    engine_arguments(common, environ)

    parser = argparse.ArgumentParser(
        prog="tingxie",
        description="Tingxie (听写): hold to talk, speak, release - the text is there.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"tingxie {__version__}")
    parser.add_argument(
        "--server-only",
        action="store_true",
        help="run the /ws/asr service headless, without the window",
    )
    try:
        from tingxie.server.cli import add_arguments as add_server_arguments
    except ImportError:  # the service is optional in a trimmed build
        pass
    else:
        add_server_arguments(parser)
    sub = parser.add_subparsers(dest="command")
    t = sub.add_parser(
        "transcribe",
        parents=[common],
        help="print the text of an audio file (any WAV; final text on the last stdout line)",
    )
    t.add_argument("file", type=Path)
    return parser


def model_spec(args: argparse.Namespace, environ: Mapping[str, str], saved: str | None = None) -> str:
    """--model, else $MODEL_NAME, else what the user last chose in the window, else the default."""
    return args.model or environ.get("MODEL_NAME") or saved or DEFAULT_MODEL


def engine_config(args: argparse.Namespace, model: str | None = None) -> EngineConfig:
    return EngineConfig(
        model=model or model_spec(args, os.environ),
        revision=args.model_revision,
        device=args.device,
        threads=args.threads,
        allow_download=not args.offline,
        precision=args.precision,
        batching=not args.no_batching,
        model_dirs=default_model_dirs(),
        language=args.language,
    )


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
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


def run_transcribe(args: argparse.Namespace) -> int:
    from tingxie.engine.audio import read_audio_file
    from tingxie.engine.loader import load_recognizer

    from .transcribe import transcribe

    read_audio_file(args.file)  # fail on a bad file before loading the model
    recognizer = load_recognizer(engine_config(args), download_progress)
    configure_logging(args.log_level)
    try:
        transcribe(recognizer, args.file)
    finally:
        recognizer.close()
    return 0


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    args = build_parser(env).parse_args(argv)
    configure_logging(args.log_level)
    try:
        if args.command == "transcribe":
            return run_transcribe(args)
        if args.server_only:
            return run_server_only(args, env)
        return run_desktop(args, env)
    except EngineError as exc:
        sys.stderr.write(f"tingxie: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130


def run_server_only(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """The /ws/asr service in the foreground; the model loads in the background (``/health``
    answers 503 until it is ready). SIGINT/SIGTERM stop it gracefully."""
    from tingxie.engine.handle import EngineHandle
    from tingxie.engine.loader import load_recognizer
    from tingxie.server.cli import config_from_args
    from tingxie.server.cli import run_server_only as serve
    from tingxie.server.errors import ServerError

    try:
        config = config_from_args(args, environ)
    except ServerError as exc:
        sys.stderr.write(f"tingxie: error: {exc}\n")
        return 2
    engine = engine_config(args, model_spec(args, environ))
    handle = EngineHandle(engine.model, lambda progress: load_recognizer(engine, progress))
    handle.load_in_background()
    try:
        return serve(handle, config)
    finally:
        handle.close()


def run_desktop(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """The window; the model loads in the background while it is already usable."""
    from tingxie.desktop.app import run
    from tingxie.engine.handle import EngineHandle, Loader
    from tingxie.engine.loader import load_recognizer

    def loader_for(model: str) -> Loader:
        config = engine_config(args, model)
        return lambda progress: load_recognizer(config, progress)

    def handle_for(saved_model: str | None) -> EngineHandle:
        model = model_spec(args, environ, saved_model)
        return EngineHandle(model, loader_for(model))

    return run(handle_for, loader_for=loader_for, service_port=getattr(args, "port", None))


if __name__ == "__main__":
    sys.exit(main())
