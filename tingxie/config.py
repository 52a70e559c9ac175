"""Reading the command line and the environment, once, into typed configuration.

The composition root (``tingxie.__main__``) calls ``parse`` and nothing else reads
arguments or Tingxie's environment variables. Precedence: the command line, then the
environment (the seed service's variables and Tingxie's own), then, for the desktop app,
what the user chose in the window (``Options.model`` is None when neither names a model),
then the defaults.

The second pass (``--refine``, ``--punc``, ``--vad``, ``--itn``, ``--hotwords``, ``--rules``
and their variables) follows the same order; ``Options.explicit`` names what the command
line or the environment set, and ``Options.engine_for`` fills the rest from the user's saved
settings, then from the product's defaults (``SECOND_PASS_DEFAULTS``, ITN on; for a Whisper
streaming model no offline or punctuation model: Whisper punctuates, and FunASR's Chinese
offline model would replace its English or other-language text).

A value that cannot be used raises ``ConfigError`` whose message names the option or the
variable it came from (``TORCH_NUM_THREADS must be a whole number of at least 1, got
'abc'``); the program prints it and exits with status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar

from tingxie.engine.backends import WHISPER, Exists
from tingxie.engine.loader import SECOND_PASS_DEFAULTS, EngineConfig, default_model_dirs
from tingxie.engine.models import DEFAULT_MODEL, WHISPER_NAMES, backend_of_dir
from tingxie.engine.precision import DEFAULT_PRECISION, PRECISIONS
from tingxie.engine.text.hotwords import load_hotwords
from tingxie.server.config import DEFAULT_PORT, ServerConfig
from tingxie.server.errors import ServerError

from . import __version__

LANGUAGES = ("auto", "zh", "en")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
NO_MODEL = "none"
"""What ``--refine``, ``--punc``, ``--vad`` (and their variables) take for no model."""

SECOND_PASS_FIELDS = ("refine", "punc", "vad", "itn", "hotwords", "rules")
"""The ``EngineConfig`` fields of the second pass that the command line may set."""
SAVED_FIELDS = ("refine", "punc", "itn", "rules")
"""Those the desktop's saved settings may fill (``Options.engine_for``)."""

T = TypeVar("T")


class ConfigError(Exception):
    """A command-line option or environment variable has a value Tingxie cannot use."""


@dataclass(frozen=True)
class Options:
    """What the command line and the environment asked for.

    ``command`` is "app" (the window), "server" (``--server-only``) or "transcribe".
    ``engine.model`` is the model to load unless ``model`` is None, in which case the
    desktop app uses the user's last choice (``model_for``, ``engine_for``). ``port`` is
    the port given on the command line or in PORT (None: the desktop app uses its saved
    port). ``second_pass`` holds the second-pass fields of ``EngineConfig`` that the
    command line or the environment set (``refine`` None: "none" was asked for); ``engine``
    has the defaults for the others.
    """

    command: str
    engine: EngineConfig
    server: ServerConfig
    log_level: int = logging.INFO
    model: Optional[str] = None
    port: Optional[int] = None
    file: Optional[Path] = None
    second_pass: Mapping[str, Any] = field(default_factory=dict)

    @property
    def explicit(self) -> frozenset[str]:
        """The ``EngineConfig`` field names the command line or the environment set (the
        desktop's Settings show them as fixed)."""
        named = {"model"} if self.model is not None else set()
        return frozenset(named | set(self.second_pass))

    def engine_for(
        self, saved_model: Optional[str], saved: Mapping[str, Any]
    ) -> EngineConfig:
        """The engine configuration for the desktop app: ``saved_model`` (the user's last
        model; None if never chosen) and ``saved`` (``SAVED_FIELDS`` -> value; an absent key
        was never chosen, ``refine``/``punc`` None is "none") wherever the command line and
        the environment set nothing; the product's defaults for what neither says (they
        depend on the model: see ``second_pass_fields``)."""
        model = self.engine.model if self.model is not None or not saved_model else saved_model
        given = {k: v for k, v in saved.items() if k in SAVED_FIELDS}
        given.update(self.second_pass)
        return replace(self.engine, model=model, **second_pass_fields(model, given))

    def model_for(self, saved: Optional[str]) -> EngineConfig:
        """The engine configuration with the user's saved model where none was asked for
        (and no other saved settings)."""
        return self.engine_for(saved, {})


def is_whisper_model(spec: str, exists: Exists = Path.exists) -> bool:
    """Whether ``spec`` names a Whisper model (a name, its Hugging Face id, or a
    CTranslate2 folder). Pure apart from ``exists``."""
    spec = spec.strip()
    if spec in WHISPER_NAMES or spec in WHISPER_NAMES.values():
        return True
    path = Path(os.path.expanduser(spec))
    return exists(path) and backend_of_dir(path, exists) == WHISPER


def second_pass_fields(
    model: str, given: Mapping[str, Any], exists: Exists = Path.exists
) -> dict[str, Any]:
    """The second-pass fields of ``EngineConfig`` for the streaming ``model``: those in
    ``given`` as they are, defaults for the others. The defaults: ``SECOND_PASS_DEFAULTS``
    with ITN on, except for a Whisper model (no offline and no punctuation model: Whisper
    punctuates, and the Chinese offline model would replace English text); the voice-activity
    model only where an offline model decodes (it only cuts audio for it)."""
    whisper = is_whisper_model(model, exists)

    def model_field(name: str, default: Optional[str]) -> Optional[str]:
        return given[name] if name in given else default

    refine = model_field("refine", None if whisper else SECOND_PASS_DEFAULTS["refine"])
    return {
        "refine": refine,
        "punc": model_field("punc", None if whisper else SECOND_PASS_DEFAULTS["punc"]),
        "vad": model_field("vad", SECOND_PASS_DEFAULTS["vad"] if refine else None),
        "itn": bool(given.get("itn", True)),
        "hotwords": tuple(given.get("hotwords", ())),
        "rules": given.get("rules"),
    }


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


def model_or_none(name: str, raw: str) -> Optional[str]:
    """A second-pass model spec; "none" (any case) for no model."""
    value = raw.strip()
    if not value:
        raise ConfigError(f"{name} must name a model, or be {NO_MODEL}")
    return None if value.lower() == NO_MODEL else value


def hotwords(name: str, raw: str) -> tuple[str, ...]:
    """Words ("听写 魔搭", "a, b") or the path of a hotwords file (one per line)."""
    spec = raw.strip()
    as_path = Path(os.path.expanduser(spec))
    if not as_path.is_file() and _meant_as_file(spec):
        # say so, rather than bias the model towards the file's name
        raise ConfigError(f"{name} must be words or a hotwords file; there is no file {spec!r}")
    try:
        return load_hotwords(str(as_path) if as_path.is_file() else spec)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name} must be a readable UTF-8 hotwords file: {exc}") from None


def _meant_as_file(spec: str) -> bool:
    """A single token that reads as a path (``~/hot.txt``, ``./words``, ``C:\\w.txt``), not
    words such as ``TCP/IP``."""
    if any(c.isspace() or c in ",，、;；" for c in spec):
        return False
    return spec.lower().endswith(".txt") or spec.startswith(("/", "~", "./", "../", ".\\")) or (
        len(spec) > 2 and spec[1] == ":" and spec[2] in "\\/"
    )


def rules_file(name: str, raw: str) -> Path:
    """A replacement rules file that exists (edits are picked up while Tingxie runs)."""
    path = Path(os.path.expanduser(raw.strip()))
    if not path.is_file():
        raise ConfigError(f"{name} must be a rules file; there is no file {raw.strip()!r}")
    return path


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
    p = common.add_argument_group(
        "second pass (on release: the utterance decoded again, punctuated, finished)"
    )
    p.add_argument(
        "--refine", metavar="MODEL|none", type=_argparse_type(model_or_none, "--refine"),
        help="offline FunASR Paraformer that decodes each utterance again (default: "
        f"$TINGXIE_REFINE or {SECOND_PASS_DEFAULTS['refine']}, SeACo-Paraformer, which takes "
        "hotwords; none for a Whisper model)",
    )
    p.add_argument(
        "--punc", metavar="MODEL|none", type=_argparse_type(model_or_none, "--punc"),
        help=f"punctuation model (default: $TINGXIE_PUNC or {SECOND_PASS_DEFAULTS['punc']}; "
        "none for a Whisper model, which punctuates)",
    )
    p.add_argument(
        "--vad", metavar="MODEL|none", type=_argparse_type(model_or_none, "--vad"),
        help="voice-activity model that cuts long utterances for the offline model "
        f"(default: $TINGXIE_VAD or {SECOND_PASS_DEFAULTS['vad']})",
    )
    p.add_argument(
        "--itn", action=argparse.BooleanOptionalAction,
        help="inverse text normalization: 一百二十三 -> 123 (default: $TINGXIE_ITN or on)",
    )
    p.add_argument(
        "--hotwords", metavar="'W1 W2'|FILE", type=_argparse_type(hotwords, "--hotwords"),
        help="words the offline model favours: separated by spaces or commas, or a file with "
        "one per line (default: $HOTWORDS)",
    )
    p.add_argument(
        "--rules", metavar="FILE", type=_argparse_type(rules_file, "--rules"),
        help="replacement rules applied last ('find = replacement', 're:' for a regex), "
        "re-read when the file changes (default: $TINGXIE_RULES)",
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
    level_name = _pick(args.log_level, environ, "LOG_LEVEL", one_of(LOG_LEVELS, upper=True))
    model = _pick(args.model, environ, "MODEL_NAME", text)
    batching_off = bool(args.no_batching) or (
        _pick(None, environ, "TINGXIE_BATCHING", switch) is False
    )
    second_pass = _second_pass(vars(namespace), environ)
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
    engine = replace(engine, **second_pass_fields(engine.model, second_pass))
    if engine.hotwords and not engine.refine:
        # Only the offline model is biased by hotwords; a setting that changes nothing
        # would let users believe it works.
        source = "--hotwords" if "hotwords" in vars(namespace) else "HOTWORDS"
        why = "--refine/TINGXIE_REFINE is none" if "refine" in second_pass else (
            "a Whisper model has no offline model by default")
        raise ConfigError(
            f"{source} is set, but only the second pass's offline model takes hotwords and "
            f"{why}: give --refine {SECOND_PASS_DEFAULTS['refine']} (or another SeACo-"
            "Paraformer), or leave the hotwords out"
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
        second_pass=second_pass,
    )


_SECOND_PASS_SOURCES: tuple[tuple[str, str, Callable[[str, str], Any]], ...] = (
    ("refine", "TINGXIE_REFINE", model_or_none),
    ("punc", "TINGXIE_PUNC", model_or_none),
    ("vad", "TINGXIE_VAD", model_or_none),
    ("itn", "TINGXIE_ITN", switch),
    ("hotwords", "HOTWORDS", hotwords),  # the seed service's variable
    ("rules", "TINGXIE_RULES", rules_file),
)
"""Each second-pass field: its variable and how the variable's text is read (the option
of the same name was read by argparse)."""


def _second_pass(given: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The second-pass fields the command line (``given``: argparse's attributes, absent
    when not on the command line) or else the environment set; a value may be None ("none")."""
    chosen: dict[str, Any] = {}
    for name, variable, convert in _SECOND_PASS_SOURCES:
        if name in given:
            chosen[name] = given[name]
        elif environ.get(variable, "").strip():
            chosen[name] = convert(variable, environ[variable])
    return chosen
