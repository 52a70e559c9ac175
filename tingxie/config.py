"""Reading the command line and the environment, once, into typed configuration.

The composition root (``tingxie.__main__``) calls ``parse`` and nothing else reads
arguments or Tingxie's environment variables. Precedence: the command line, then the
environment (the seed service's variables and Tingxie's own), then, for the desktop app,
what the user chose in the window (``Options.model`` is None when neither names a model),
then the defaults.

A value that cannot be used raises ``ConfigError`` whose message names the option or the
variable it came from (``TORCH_NUM_THREADS must be a whole number of at least 1, got
'abc'``); the program prints it and exits with status 2.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, TypeVar

from tingxie.engine.loader import EngineConfig, default_model_dirs
from tingxie.engine.models import DEFAULT_MODEL
from tingxie.engine.precision import DEFAULT_PRECISION, PRECISIONS
from tingxie.server.config import DEFAULT_PORT, ServerConfig
from tingxie.server.errors import ServerError

from . import __version__

LANGUAGES = ("auto", "zh", "en")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

T = TypeVar("T")


class ConfigError(Exception):
    """A command-line option or environment variable has a value Tingxie cannot use."""


@dataclass(frozen=True)
class Options:
    """What the command line and the environment asked for.

    ``command`` is "app" (the window), "server" (``--server-only``) or "transcribe".
    ``engine.model`` is the model to load unless ``model`` is None, in which case the
    desktop app uses the user's last choice (``model_for``). ``port`` is the port given on
    the command line or in PORT (None: the desktop app uses its saved port).
    """

    command: str
    engine: EngineConfig
    server: ServerConfig
    log_level: int = logging.INFO
    model: Optional[str] = None
    port: Optional[int] = None
    file: Optional[Path] = None

    def model_for(self, saved: Optional[str]) -> EngineConfig:
        """The engine configuration with the user's saved model where none was asked for."""
        if self.model is not None or not saved:
            return self.engine
        return replace(self.engine, model=saved)


# --- converters: (variable or option name, raw text) -> value, or ConfigError -------------


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str, str], int]:
    def convert(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f"of at least {minimum}"
            raise ConfigError(f"{name} must be a whole number {bound}, got {raw!r}")
        return value

    return convert


def positive_number(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def one_of(choices: Sequence[str], *, upper: bool = False) -> Callable[[str, str], str]:
    def convert(name: str, raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return value

    return convert


def switch(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def text(name: str, raw: str) -> str:
    return raw.strip()


PORT = whole_number(0, 65535)
THREADS = whole_number(1)
CONNECTIONS = whole_number(1)


def _pick(
    cli: Optional[T], environ: Mapping[str, str], variable: str, convert: Callable[[str, str], T]
) -> Optional[T]:
    """The command line's value, else the variable's (empty counts as unset), else None."""
    if cli is not None:
        return cli
    raw = environ.get(variable, "")
    if not raw.strip():
        return None
    return convert(variable, raw)


def _argparse_type(convert: Callable[[str, str], T], option: str) -> Callable[[str], T]:
    """A converter as an argparse ``type``: its error names the option."""

    def parse(raw: str) -> T:
        try:
            return convert(option, raw)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(option + " ")) from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The command line. Defaults are None: ``parse`` fills them from the environment."""
    # SUPPRESS: an option absent from the command line leaves no attribute, so the same
    # options after ``transcribe`` do not overwrite those given before it with None.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument(
        "--log-level", type=_argparse_type(one_of(LOG_LEVELS, upper=True), "--log-level"),
        help="DEBUG, INFO, WARNING, ERROR (default: $LOG_LEVEL or INFO)",
    )
    g = common.add_argument_group("model")
    g.add_argument(
        "--model",
        help="model name, ModelScope id or local model directory "
        f"(default: $MODEL_NAME, else the app's last choice, else {DEFAULT_MODEL})",
    )
    g.add_argument("--model-revision", help="model revision (default: $MODEL_REVISION)")
    g.add_argument("--device", help="cpu, cuda, cuda:0 ... (default: $DEVICE or cpu)")
    g.add_argument(
        "--threads", type=_argparse_type(THREADS, "--threads"),
        help="torch threads for inference (default: $TORCH_NUM_THREADS or up to 4)",
    )
    g.add_argument(
        "--language", choices=LANGUAGES,
        help="spoken language for Whisper models (default: $ASR_LANGUAGE or auto: detect); "
        "FunASR models ignore it",
    )
    g.add_argument(
        "--precision", choices=PRECISIONS,
        help="FunASR weights: int8 (Linear layers in int8, twice as fast on CPU), fp32 "
        "(FunASR's exact output) or auto (int8 on CPU, fp32 on GPU; default: $PRECISION "
        f"or {DEFAULT_PRECISION}; see docs/performance.md)",
    )
    g.add_argument(
        "--no-batching", action="store_const", const=True,
        help="decode concurrent sessions one by one instead of batching their chunks "
        "(for comparison; $TINGXIE_BATCHING=0)",
    )
    g.add_argument(
        "--offline", action="store_true",
        help="never download a model; fail with an explanation when it is not on disk",
    )

    parser = argparse.ArgumentParser(
        prog="tingxie",
        description="Tingxie (听写): hold to talk, speak, release - the text is there.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"tingxie {__version__}")
    parser.add_argument(
        "--server-only", action="store_true",
        help="run the /ws/asr service headless, without the window",
    )
    s = parser.add_argument_group("service")
    s.add_argument(
        "--host", help="address to listen on (default: $HOST or 127.0.0.1; 0.0.0.0 for other "
        "machines)",
    )
    s.add_argument(
        "--port", type=_argparse_type(PORT, "--port"),
        help=f"port for WebSocket and HTTP (default: $PORT or {DEFAULT_PORT}; in the app, the "
        "port saved in Settings)",
    )
    s.add_argument(
        "--max-connections", type=_argparse_type(CONNECTIONS, "--max-connections"),
        help="WebSocket clients at once (default: $MAX_CONNECTIONS or 20)",
    )
    s.add_argument(
        "--token", help="shared secret clients must send as ?token= or 'Authorization: Bearer' "
        "(default: $TINGXIE_TOKEN)",
    )
    sub = parser.add_subparsers(dest="command")
    t = sub.add_parser(
        "transcribe",
        parents=[common],
        help="print the text of an audio file (any WAV; final text on the last stdout line)",
    )
    t.add_argument("file", type=Path)
    return parser


_OPTIONS = (
    "log_level", "model", "model_revision", "device", "threads", "language", "precision",
    "no_batching", "offline", "host", "port", "max_connections", "token", "file", "command",
)
"""Every option's attribute; those absent from the command line are None."""


def parse(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Options:
    """Parse the command line ``argv`` and ``environ`` into ``Options``.

    Raises ``ConfigError`` naming the variable for an unusable environment value;
    argparse exits (status 2, naming the option) for an unusable option."""
    namespace = build_parser().parse_args(argv)
    args = argparse.Namespace(**{**dict.fromkeys(_OPTIONS), **vars(namespace)})
    if environ.get("HOTWORDS", "").strip():
        # The seed's variable. Streaming Paraformer has no hotword biasing, and accepting a
        # setting that changes nothing would let users believe it works.
        raise ConfigError(
            "HOTWORDS is set, but the streaming model takes no hotwords: Tingxie has no "
            "model that uses them yet. Unset HOTWORDS to start."
        )
    level_name = _pick(args.log_level, environ, "LOG_LEVEL", one_of(LOG_LEVELS, upper=True))
    model = _pick(args.model, environ, "MODEL_NAME", text)
    batching_off = bool(args.no_batching) or (
        _pick(None, environ, "TINGXIE_BATCHING", switch) is False
    )
    engine = EngineConfig(
        model=model or DEFAULT_MODEL,
        revision=_pick(args.model_revision, environ, "MODEL_REVISION", text),
        device=_pick(args.device, environ, "DEVICE", text) or "cpu",
        threads=_pick(args.threads, environ, "TORCH_NUM_THREADS", THREADS),
        allow_download=not args.offline,  # None (absent) or True
        precision=_pick(args.precision, environ, "PRECISION", one_of(PRECISIONS))
        or DEFAULT_PRECISION,
        batching=not batching_off,
        model_dirs=default_model_dirs(environ),
        language=_pick(args.language, environ, "ASR_LANGUAGE", one_of(LANGUAGES)) or "auto",
    )
    port = _pick(args.port, environ, "PORT", PORT)
    changes = {
        "host": _pick(args.host, environ, "HOST", text),
        "port": port,
        "max_connections": _pick(args.max_connections, environ, "MAX_CONNECTIONS", CONNECTIONS),
        "token": _pick(args.token, environ, "TINGXIE_TOKEN", text),
        "idle_timeout_s": _pick(None, environ, "WS_TIMEOUT", positive_number),
        "max_utterance_s": _pick(None, environ, "TINGXIE_MAX_UTTERANCE_S", positive_number),
    }
    try:
        server = ServerConfig(**{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
    except ServerError as exc:  # values each fine alone, not together
        raise ConfigError(f"service settings: {exc}") from None
    command = args.command or ("server" if args.server_only else "app")
    return Options(
        command=command,
        engine=engine,
        server=server,
        log_level=logging.getLevelName(level_name or "INFO"),
        model=model,
        port=port,
        file=getattr(args, "file", None),
    )
