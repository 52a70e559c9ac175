"""The command line and the environment, read once by ``tingxie.config.parse``."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from tingxie.config import ConfigError, parse
from tingxie.engine.models import DEFAULT_MODEL
from tingxie.server.config import ServerConfig

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_seeds_and_safe() -> None:
    options = parse([], {})
    assert options.command == "app"
    assert options.server == ServerConfig()
    server = options.server
    assert (server.host, server.port, server.max_connections, server.idle_timeout_s) == (
        "127.0.0.1", 9999, 20, 300.0)
    assert server.token is None and server.max_message_bytes == 1 << 20
    engine = options.engine
    assert (engine.model, engine.device, engine.threads, engine.precision) == (
        DEFAULT_MODEL, "cpu", None, "auto")
    assert engine.batching and engine.allow_download and engine.language == "auto"
    assert options.model is None and options.port is None
    assert options.log_level == logging.INFO


def test_seed_environment_variables() -> None:
    env = {"HOST": "0.0.0.0", "PORT": "8000", "WS_TIMEOUT": "60", "MAX_CONNECTIONS": "5",
           "TINGXIE_TOKEN": "t", "MODEL_NAME": "paraformer-zh-streaming",
           "MODEL_REVISION": "v2.0.4", "DEVICE": "cuda:1", "LOG_LEVEL": "debug",
           "TORCH_NUM_THREADS": "2", "TINGXIE_MAX_UTTERANCE_S": "30", "PRECISION": "fp32",
           "TINGXIE_BATCHING": "0", "ASR_LANGUAGE": "zh"}
    options = parse(["--server-only"], env)
    assert options.command == "server"
    s = options.server
    assert (s.host, s.port, s.idle_timeout_s, s.max_connections, s.token, s.max_utterance_s) == (
        "0.0.0.0", 8000, 60.0, 5, "t", 30.0)
    e = options.engine
    assert (e.model, e.revision, e.device, e.threads, e.precision, e.batching, e.language) == (
        "paraformer-zh-streaming", "v2.0.4", "cuda:1", 2, "fp32", False, "zh")
    assert options.model == "paraformer-zh-streaming" and options.port == 8000
    assert options.log_level == logging.DEBUG
    assert parse([], {"PORT": "", "TORCH_NUM_THREADS": " "}) == parse([], {})  # empty: unset


def test_command_line_beats_environment() -> None:
    env = {"PORT": "8000", "HOST": "0.0.0.0", "MODEL_NAME": "from-env", "TORCH_NUM_THREADS": "abc",
           "LOG_LEVEL": "loud"}
    options = parse(["--port", "7000", "--max-connections", "3", "--token", "x", "--model", "m",
                     "--threads", "3", "--log-level", "warning"], env)
    s = options.server
    assert (s.host, s.port, s.max_connections, s.token) == ("0.0.0.0", 7000, 3, "x")
    # the command line's value is used, so the variable's bad value is never read
    assert (options.engine.model, options.engine.threads) == ("m", 3)
    assert options.log_level == logging.WARNING


def test_options_after_transcribe_and_before_it_both_count() -> None:
    before = parse(["--model", "a", "--offline", "transcribe", "x.wav"], {})
    after = parse(["transcribe", "x.wav", "--model", "a", "--offline"], {})
    for options in (before, after):
        assert options.command == "transcribe" and options.file == Path("x.wav")
        assert options.engine.model == "a" and not options.engine.allow_download


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT must be a whole number between 0 and 65535, got 'http'"),
        ({"PORT": "70000"}, "PORT must be a whole number between 0 and 65535"),
        ({"MAX_CONNECTIONS": "0"}, "MAX_CONNECTIONS must be a whole number of at least 1"),
        ({"WS_TIMEOUT": "soon"}, "WS_TIMEOUT must be a positive number"),
        ({"TINGXIE_MAX_UTTERANCE_S": "-1"}, "TINGXIE_MAX_UTTERANCE_S must be a positive number"),
        ({"TORCH_NUM_THREADS": "abc"}, "TORCH_NUM_THREADS must be a whole number of at least 1, got 'abc'"),
        ({"TORCH_NUM_THREADS": "0"}, "TORCH_NUM_THREADS must be a whole number"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of DEBUG, INFO"),
        ({"PRECISION": "fp16"}, "PRECISION must be one of auto, int8, fp32"),
        ({"ASR_LANGUAGE": "fr"}, "ASR_LANGUAGE must be one of auto, zh, en"),
        ({"TINGXIE_BATCHING": "maybe"}, "TINGXIE_BATCHING must be 1 or 0"),
    ],
)
def test_a_bad_environment_value_names_its_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(")):
        parse([], env)


def test_hotwords_are_refused_until_a_model_uses_them() -> None:
    with pytest.raises(ConfigError, match="HOTWORDS is set, but the streaming model"):
        parse(["--server-only"], {"HOTWORDS": "听写, 魔搭"})
    parse([], {"HOTWORDS": " "})  # empty: unset


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "x"], "argument --port: must be a whole number between 0 and 65535, got 'x'"),
        (["--threads", "abc"], "argument --threads: must be a whole number of at least 1"),
        (["--precision", "fp16"], "argument --precision: invalid choice"),
    ],
)
def test_a_bad_option_names_the_option(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse(argv, {})
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_the_saved_model_is_used_only_when_none_was_asked_for() -> None:
    assert parse([], {}).model_for("/saved").model == "/saved"
    assert parse([], {}).model_for(None).model == DEFAULT_MODEL
    assert parse(["--model", "cli"], {}).model_for("/saved").model == "cli"
    assert parse([], {"MODEL_NAME": "env"}).model_for("/saved").model == "env"


@pytest.mark.parametrize(
    ("env", "needle"),
    [({"TORCH_NUM_THREADS": "abc"}, "TORCH_NUM_THREADS"), ({"PORT": "x"}, "PORT"),
     ({"HOTWORDS": "听写"}, "HOTWORDS")],
)
def test_the_program_prints_one_line_and_exits_2(env: dict[str, str], needle: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tingxie", "--server-only"], cwd=ROOT, capture_output=True,
        text=True, timeout=60, env={"PATH": "/usr/bin:/bin", **env},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tingxie: error: {needle}"), result.stderr
