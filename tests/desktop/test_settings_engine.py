"""The engine's configuration from the command line and the user's Settings, and each
release's second-pass options (``tingxie.desktop.engine_settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tingxie.desktop.engine_settings import (
    DefaultChoice,
    EngineSettings,
    SecondPassSettings,
    needs_reload,
    refinement,
    saved_engine_settings,
)
from tingxie.engine.loader import SECOND_PASS_DEFAULTS, EngineConfig
from tingxie.engine.second_pass import Refinement


@dataclass(frozen=True)
class CommandLine:
    """A stand-in for ``tingxie.config.Options``: ``given`` are the fields the command
    line set; ``engine_for`` fills the others from ``saved``, then the defaults."""

    given: Mapping[str, Any] = field(default_factory=dict)
    defaults: EngineConfig = EngineConfig(
        model="streaming", refine="offline", punc="punc", itn=True)

    @property
    def explicit(self) -> frozenset[str]:
        return frozenset(self.given)

    def engine_for(self, saved_model: str | None, saved: Mapping[str, object]) -> EngineConfig:
        config = replace(self.defaults, model=saved_model or self.defaults.model)
        config = replace(config, **{k: v for k, v in saved.items() if k not in self.given})
        return replace(config, **self.given)


def test_saved_settings_name_only_what_the_user_chose() -> None:
    rules = Path("/data/rules.txt")
    assert saved_engine_settings(SecondPassSettings(), rules) == {"itn": True, "rules": rules}
    chosen = SecondPassSettings(itn=False, refine_model=" /m/offline ", punc_model="None")
    assert saved_engine_settings(chosen, rules) == {
        "itn": False, "rules": rules, "refine": "/m/offline", "punc": None}


def test_reload_only_for_other_models_rules_or_itn_turned_on() -> None:
    loaded = EngineConfig(model="m", refine="r", punc="p", itn=True, rules=Path("a"))
    assert not needs_reload(loaded, loaded)
    assert not needs_reload(loaded, replace(loaded, itn=False))  # each utterance says so
    assert needs_reload(replace(loaded, itn=False), loaded)  # the grammars were not loaded
    for change in ({"model": "n"}, {"refine": None}, {"punc": "q"}, {"vad": "v"},
                   {"rules": Path("b")}):
        assert needs_reload(loaded, replace(loaded, **change)), change
    assert not needs_reload(loaded, replace(loaded, hotwords=("x",), device="cuda"))


def test_each_utterance_gets_the_switches_unless_the_command_line_fixed_them() -> None:
    off = SecondPassSettings(refine=False, punctuate=False, itn=False)
    assert refinement(off, frozenset(), (), ()) == Refinement(
        refine=False, punctuate=False, itn=False, hotwords=None)
    assert refinement(off, frozenset({"refine", "itn"}), (), ()) == Refinement(
        refine=None, punctuate=False, itn=None, hotwords=None)


def test_the_users_hotwords_come_after_the_command_lines_once_each() -> None:
    on = SecondPassSettings()
    assert refinement(on, frozenset(), ("达摩院",), ()).hotwords is None  # the engine's own
    assert refinement(on, frozenset(), ("达摩院", "GPT"), ("听写", "gpt", "达摩院")).hotwords == (
        "达摩院", "GPT", "听写")
    many = tuple(f"w{i}" for i in range(300))
    assert len(refinement(on, frozenset(), (), many).hotwords or ()) == 200


def test_settings_fill_what_the_command_line_left(app_settings: Any, tmp_path: Path) -> None:
    app_settings.refine_model, app_settings.punc_model, app_settings.itn = "mine", "none", False
    plain = EngineSettings(CommandLine(), app_settings, tmp_path)
    assert (plain.loaded.refine, plain.loaded.punc, plain.loaded.itn) == ("mine", None, False)
    assert plain.loaded.rules == tmp_path / "rules.txt" == plain.vocabulary.rules_path
    assert plain.vocabulary.hotwords_path == tmp_path / "hotwords.txt"
    given = {"refine": "cli-offline", "itn": True, "rules": tmp_path / "cli-rules.txt"}
    cli = EngineSettings(CommandLine(given), app_settings, tmp_path)
    assert (cli.loaded.refine, cli.loaded.punc, cli.loaded.itn) == ("cli-offline", None, True)
    assert cli.fixed == {"refine", "itn", "rules"}
    assert cli.vocabulary.rules_path == tmp_path / "cli-rules.txt"  # the file in effect


def test_a_settings_change_reloads_only_when_it_must(app_settings: Any, tmp_path: Path) -> None:
    engine = EngineSettings(CommandLine(), app_settings, tmp_path)
    app_settings.refine = False  # per utterance
    assert engine.apply() is None
    assert engine.refinement().refine is False
    app_settings.punc_model = "other-punc"
    wanted = engine.apply()
    assert wanted is not None and wanted.punc == "other-punc" and engine.loaded == wanted
    assert engine.apply() is None  # already loaded


def test_a_model_chosen_in_the_window_stays_through_settings_changes(
    app_settings: Any, tmp_path: Path
) -> None:
    engine = EngineSettings(CommandLine({"model": "cli-model"}), app_settings, tmp_path)
    assert engine.loaded.model == "cli-model"
    app_settings.model = "/picked"
    assert engine.model_chosen("/picked").model == "/picked"
    app_settings.refine_model = "other"
    wanted = engine.apply()
    assert wanted is not None and (wanted.model, wanted.refine) == ("/picked", "other")


def test_the_refinement_reads_the_hotwords_file_at_each_release(
    app_settings: Any, tmp_path: Path
) -> None:
    engine = EngineSettings(CommandLine({"hotwords": ("达摩院",)}), app_settings, tmp_path)
    assert engine.refinement().hotwords is None
    (tmp_path / "hotwords.txt").write_text("听写\n", encoding="utf-8")
    assert engine.refinement().hotwords == ("达摩院", "听写")


def test_without_a_command_line_the_products_defaults(app_settings: Any, tmp_path: Path) -> None:
    engine = EngineSettings(DefaultChoice(model_dirs=()), app_settings, tmp_path)
    assert engine.fixed == frozenset()
    loaded = engine.loaded
    assert (loaded.refine, loaded.punc, loaded.vad) == tuple(
        SECOND_PASS_DEFAULTS[k] for k in ("refine", "punc", "vad"))
    assert loaded.itn and loaded.rules == tmp_path / "rules.txt"


def test_with_the_real_command_line_it_wins_and_settings_fill_the_rest(
    app_settings: Any, tmp_path: Path
) -> None:
    from tingxie.config import parse

    app_settings.refine_model, app_settings.punc_model, app_settings.itn = "saved", "none", True
    app_settings.refine = False
    options = parse(["--refine", "cli-offline", "--no-itn", "--hotwords", "达摩院 通义"], {})
    engine = EngineSettings(options, app_settings, tmp_path)
    assert {"refine", "itn", "hotwords"} <= engine.fixed and "punc" not in engine.fixed
    loaded = engine.loaded
    assert (loaded.refine, loaded.punc, loaded.itn) == ("cli-offline", None, False)
    assert loaded.hotwords == ("达摩院", "通义") and loaded.rules == tmp_path / "rules.txt"
    (tmp_path / "hotwords.txt").write_text("听写\n", encoding="utf-8")
    assert engine.refinement() == Refinement(
        refine=None, punctuate=True, itn=None, hotwords=("达摩院", "通义", "听写"))
    # Without the flags, the saved choices count.
    plain = EngineSettings(parse([], {}), app_settings, tmp_path)
    assert plain.fixed == frozenset()
    assert (plain.loaded.refine, plain.loaded.punc, plain.loaded.itn) == ("saved", None, True)
    assert plain.refinement().refine is False


def test_a_whisper_model_keeps_its_own_defaults_unless_the_user_chose(
    app_settings: Any, tmp_path: Path
) -> None:
    from tingxie.config import parse

    options = parse(["--model", "whisper-base"], {})
    assert EngineSettings(options, app_settings, tmp_path).loaded.refine is None
    app_settings.refine_model = "paraformer-zh"
    assert EngineSettings(options, app_settings, tmp_path).loaded.refine == "paraformer-zh"
