"""The command line and the environment, read once by ``tingxie.config.parse``."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from tingxie.config import ConfigError, is_whisper_model, parse
from tingxie.engine.backends import CTRANSLATE2_FILES
from tingxie.engine.loader import SECOND_PASS_DEFAULTS
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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "x"], "argument --port: must be a whole number between 0 and 65535, got 'x'"),
        (["--threads", "abc"], "argument --threads: must be a whole number of at least 1"),
        (["--precision", "fp16"], "argument --precision: invalid choice"),
        (["--refine", " "], "argument --refine: must name a model, or be none"),
        (["--rules", "/nowhere/rules.txt"],
         "argument --rules: must be a rules file; there is no file '/nowhere/rules.txt'"),
        (["--hotwords", "/nowhere/hot.txt"],
         "argument --hotwords: must be words or a hotwords file; there is no file"),
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
     ({"HOTWORDS": "听写", "TINGXIE_REFINE": "none"}, "HOTWORDS"),
     ({"TINGXIE_RULES": "/nowhere/rules.txt"}, "TINGXIE_RULES")],
)
def test_the_program_prints_one_line_and_exits_2(env: dict[str, str], needle: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tingxie", "--server-only"], cwd=ROOT, capture_output=True,
        text=True, timeout=60, env={"PATH": "/usr/bin:/bin", **env},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tingxie: error: {needle}"), result.stderr


# --- the second pass ---------------------------------------------------------------------


def second_pass(options_engine: object) -> tuple[object, ...]:
    e = options_engine
    return (e.refine, e.punc, e.vad, e.itn, e.hotwords, e.rules)  # type: ignore[attr-defined]


def test_the_second_pass_is_on_by_default() -> None:
    options = parse([], {})
    assert second_pass(options.engine) == (
        "paraformer-zh", "ct-punc", "fsmn-vad", True, (), None)
    assert SECOND_PASS_DEFAULTS == {"refine": "paraformer-zh", "punc": "ct-punc",
                                    "vad": "fsmn-vad"}
    assert options.explicit == frozenset()


def test_second_pass_options(tmp_path: Path) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text("听写 = Tingxie\n", encoding="utf-8")
    options = parse(["--refine", "/models/seaco", "--punc", "None", "--vad", "none",
                     "--no-itn", "--hotwords", "听写 魔搭, 通义", "--rules", str(rules)], {})
    assert second_pass(options.engine) == (
        "/models/seaco", None, None, False, ("听写", "魔搭", "通义"), rules)
    assert options.explicit == {"refine", "punc", "vad", "itn", "hotwords", "rules"}
    assert parse(["--itn"], {"TINGXIE_ITN": "0"}).engine.itn is True


def test_second_pass_variables_and_the_seeds_hotwords(tmp_path: Path) -> None:
    words = tmp_path / "hotwords.txt"
    words.write_text("# names\n阿里巴巴 20\nmachine learning\n", encoding="utf-8")
    rules = tmp_path / "rules.txt"
    rules.touch()
    env = {"TINGXIE_REFINE": "paraformer-zh", "TINGXIE_PUNC": "none", "TINGXIE_VAD": "NONE",
           "TINGXIE_ITN": "off", "HOTWORDS": str(words), "TINGXIE_RULES": str(rules)}
    options = parse(["--server-only"], env)
    assert second_pass(options.engine) == (
        "paraformer-zh", None, None, False, ("阿里巴巴", "machine learning"), rules)
    assert options.explicit == {"refine", "punc", "vad", "itn", "hotwords", "rules"}
    assert parse([], {"HOTWORDS": "听写、魔搭"}).engine.hotwords == ("听写", "魔搭")
    assert parse([], {"HOTWORDS": "TCP/IP 5G"}).engine.hotwords == ("TCP/IP", "5G")
    # the command line beats the variable, whose bad value is then never read
    cli = parse(["--refine", "r", "--itn", "--vad", "v"], {**env, "TINGXIE_ITN": "maybe"})
    assert (cli.engine.refine, cli.engine.itn, cli.engine.vad) == ("r", True, "v")
    assert parse([], {"TINGXIE_REFINE": " ", "HOTWORDS": ""}) == parse([], {})  # empty: unset


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TINGXIE_ITN": "maybe"}, "TINGXIE_ITN must be 1 or 0, got 'maybe'"),
        ({"TINGXIE_RULES": "/nowhere/r.txt"},
         "TINGXIE_RULES must be a rules file; there is no file '/nowhere/r.txt'"),
        ({"HOTWORDS": "~/no/such/words.txt"},
         "HOTWORDS must be words or a hotwords file; there is no file '~/no/such/words.txt'"),
        ({"HOTWORDS": "听写", "TINGXIE_REFINE": "none"},
         "HOTWORDS is set, but only the second pass's offline model takes hotwords and "
         "--refine/TINGXIE_REFINE is none: give --refine paraformer-zh"),
        ({"HOTWORDS": "听写", "MODEL_NAME": "whisper-base"},
         "HOTWORDS is set, but only the second pass's offline model takes hotwords and a "
         "Whisper model has no offline model by default"),
    ],
)
def test_a_bad_second_pass_variable_names_itself(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(")):
        parse([], env)


def test_hotwords_with_a_whisper_model_need_an_offline_model_asked_for() -> None:
    options = parse(["--model", "whisper-base", "--hotwords", "听写", "--refine",
                     "paraformer-zh"], {})
    assert (options.engine.refine, options.engine.hotwords) == ("paraformer-zh", ("听写",))
    with pytest.raises(ConfigError, match="^--hotwords is set"):
        parse(["--hotwords", "听写", "--refine", "none"], {})


def test_a_hotwords_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    words = tmp_path / "hot.txt"
    words.write_bytes("听写".encode("gbk"))
    with pytest.raises(ConfigError, match="^HOTWORDS must be a readable UTF-8 hotwords file"):
        parse([], {"HOTWORDS": str(words)})


def test_a_whisper_model_gets_no_offline_or_punctuation_model_by_default(tmp_path: Path) -> None:
    for model in ("whisper-tiny.en", "Systran/faster-whisper-small"):
        assert second_pass(parse(["--model", model], {}).engine) == (
            None, None, None, True, (), None)
    ct2 = tmp_path / "my-whisper"
    ct2.mkdir()
    for name in CTRANSLATE2_FILES:
        (ct2 / name).touch()
    assert is_whisper_model(str(ct2)) and not is_whisper_model(DEFAULT_MODEL)
    assert not is_whisper_model(str(tmp_path / "missing"))
    assert parse([], {"MODEL_NAME": str(ct2)}).engine.refine is None
    # what is asked for explicitly wins; ITN and the rules still apply to Whisper's text
    asked = parse(["--model", "whisper-base", "--punc", "ct-punc", "--no-itn"], {})
    assert second_pass(asked.engine) == (None, "ct-punc", None, False, (), None)


def test_the_saved_settings_fill_only_what_the_command_line_left(tmp_path: Path) -> None:
    saved_rules = tmp_path / "rules.txt"
    saved = {"refine": None, "punc": "my-punc", "itn": False, "rules": saved_rules}
    plain = parse([], {}).engine_for("/saved/model", saved)
    assert plain.model == "/saved/model"
    assert second_pass(plain) == (None, "my-punc", None, False, (), saved_rules)

    cli_rules = tmp_path / "cli-rules.txt"
    cli_rules.touch()
    options = parse(["--refine", "paraformer-zh", "--itn", "--rules", str(cli_rules),
                     "--hotwords", "听写", "--model", "cli-model"], {})
    config = options.engine_for("/saved/model", saved)
    assert config.model == "cli-model"
    assert second_pass(config) == ("paraformer-zh", "my-punc", "fsmn-vad", True, ("听写",),
                                   cli_rules)
    assert options.explicit == {"model", "refine", "itn", "rules", "hotwords"}
    # nothing saved: the product's defaults, as model_for gives them
    assert parse([], {}).engine_for(None, {}) == parse([], {}).model_for(None) == parse([], {}).engine
    # keys the desktop may not set are not taken
    assert parse([], {}).engine_for(None, {"vad": "x", "hotwords": ("a",)}).vad == "fsmn-vad"


def test_a_saved_whisper_model_gets_whispers_defaults() -> None:
    config = parse([], {}).engine_for("whisper-small", {"itn": True})
    assert (config.model, config.refine, config.punc, config.vad) == (
        "whisper-small", None, None, None)
    chosen = parse([], {}).engine_for("whisper-small", {"punc": "ct-punc"})
    assert (chosen.refine, chosen.punc) == (None, "ct-punc")


def test_second_pass_options_after_transcribe() -> None:
    options = parse(["transcribe", "x.wav", "--refine", "none", "--no-itn", "--punc", "p"], {})
    assert options.command == "transcribe"
    assert (options.engine.refine, options.engine.punc, options.engine.itn) == (None, "p", False)
