"""Settings from the seed's environment variables and the command line."""

from __future__ import annotations

import argparse
import logging

import pytest

from tingxie.server.cli import add_arguments, config_from_args
from tingxie.server.config import EngineEnv, ServerConfig
from tingxie.server.errors import ServerError


def test_defaults_are_the_seeds_and_safe() -> None:
    config = ServerConfig()
    assert (config.host, config.port, config.max_connections, config.idle_timeout_s) == (
        "127.0.0.1", 9999, 20, 300.0)
    assert config.token is None
    assert config.max_message_bytes == 1 << 20
    assert config.websocket_max_size > config.max_message_bytes


def test_seed_environment_variables() -> None:
    env = {"HOST": "0.0.0.0", "PORT": "8000", "WS_TIMEOUT": "60", "MAX_CONNECTIONS": "5",
           "TINGXIE_TOKEN": "t", "MODEL_NAME": "paraformer-zh-streaming",
           "MODEL_REVISION": "v2.0.4", "DEVICE": "cpu", "HOTWORDS": "听写, 魔搭 ,",
           "LOG_LEVEL": "debug", "TORCH_NUM_THREADS": "2"}
    config = ServerConfig.from_env(env)
    assert (config.host, config.port, config.idle_timeout_s, config.max_connections, config.token) == (
        "0.0.0.0", 8000, 60.0, 5, "t")
    engine = EngineEnv.from_env(env)
    assert engine == EngineEnv("paraformer-zh-streaming", "v2.0.4", "cpu", ("听写", "魔搭"), 2,
                               logging.DEBUG)
    assert EngineEnv.from_env({}) == EngineEnv()
    assert ServerConfig.from_env({"PORT": ""}) == ServerConfig()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT must be a whole number"),
        ({"PORT": "70000"}, "port must be between"),
        ({"MAX_CONNECTIONS": "0"}, "max connections"),
        ({"WS_TIMEOUT": "soon"}, "WS_TIMEOUT must be a number"),
    ],
)
def test_bad_environment_values_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ServerError, match=message):
        ServerConfig.from_env(env)


def test_bad_log_level_is_named() -> None:
    with pytest.raises(ServerError, match="LOG_LEVEL"):
        EngineEnv.from_env({"LOG_LEVEL": "loud"})


def test_command_line_beats_environment() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--port", "7000", "--max-connections", "3", "--token", "x"])
    config = config_from_args(args, {"PORT": "8000", "HOST": "0.0.0.0"})
    assert (config.host, config.port, config.max_connections, config.token) == (
        "0.0.0.0", 7000, 3, "x")
    assert config_from_args(parser.parse_args([]), {}) == ServerConfig()
