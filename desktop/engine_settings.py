"""The engine's configuration as the command line and the user's Settings make it, and
what each utterance asks of the second pass. No Qt.

Precedence: what the command line (or the environment) set wins; the user's Settings
fill the rest; the product's defaults what neither says. ``tingxie.config.Options`` knows
which is which (``EngineChoice``); this module only decides, from the Settings' snapshot:

- the ``EngineConfig`` to load (``EngineSettings.config``): the offline and punctuation
  models, ITN, the rules file (``rules.txt`` in the data directory unless ``--rules``);
- whether a change of Settings needs the engine reloaded (``needs_reload``: the models or
  the rules file changed, or ITN was turned on in an engine loaded without its grammars);
- each release's ``Refinement`` (``EngineSettings.refinement``): second pass, punctuation
  and ITN on or off as Settings say, the user's hotwords (``hotwords.txt``, read as it is
  at that release) after the command line's.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from tingxie.engine.loader import SECOND_PASS_DEFAULTS, EngineConfig, default_model_dirs
from tingxie.engine.models import DEFAULT_MODEL
from tingxie.engine.second_pass import Refinement
from tingxie.engine.text.hotwords import MAX_HOTWORDS

from .settings import AppSettings
from .vocabulary import RULES_FILE, Vocabulary

SAVED_FIELDS = ("refine", "punc", "itn", "rules")
"""The ``EngineConfig`` fields the user's Settings may fill (unless the command line set
them)."""

NO_MODEL = "none"
"""What the user writes (as on the command line) for no offline or punctuation model."""


class EngineChoice(Protocol):
    """What the command line and the environment asked of the engine
    (``tingxie.config.Options``)."""

    @property
    def explicit(self) -> frozenset[str]:
        """The ``EngineConfig`` field names the command line or the environment set."""
        ...

    def engine_for(self, saved_model: str | None, saved: Mapping[str, object]) -> EngineConfig:
        """The configuration: ``saved_model`` (the user's last model, None if never) and
        ``saved`` (field name -> value, keys of ``SAVED_FIELDS``) wherever the command line
        and the environment set nothing."""
        ...


@dataclass(frozen=True)
class DefaultChoice:
    """An ``EngineChoice`` with nothing set on a command line: the product's defaults,
    then the user's Settings (for ``build`` without one, and tests)."""

    explicit: frozenset[str] = frozenset()
    model_dirs: tuple[Path, ...] | None = None  # None: ``default_model_dirs()``

    def engine_for(self, saved_model: str | None, saved: Mapping[str, object]) -> EngineConfig:
        base = EngineConfig(
            model=saved_model or DEFAULT_MODEL,
            model_dirs=self.model_dirs if self.model_dirs is not None else default_model_dirs(),
            refine=SECOND_PASS_DEFAULTS["refine"],
            punc=SECOND_PASS_DEFAULTS["punc"],
            vad=SECOND_PASS_DEFAULTS["vad"],
            itn=True,
        )
        return replace(base, **{k: v for k, v in saved.items() if k in SAVED_FIELDS})  # type: ignore[arg-type]


@dataclass(frozen=True)
class SecondPassSettings:
    """A snapshot of the Settings about the second pass (read on the GUI thread; the
    releases that use it may come from another)."""

    refine: bool = True
    punctuate: bool = True
    itn: bool = True
    refine_model: str | None = None  # None: the default; "none": no offline model
    punc_model: str | None = None

    @classmethod
    def of(cls, settings: AppSettings) -> SecondPassSettings:
        return cls(
            refine=settings.refine,
            punctuate=settings.punctuate,
            itn=settings.itn,
            refine_model=settings.refine_model,
            punc_model=settings.punc_model,
        )


def saved_engine_settings(choice: SecondPassSettings, rules: Path) -> dict[str, object]:
    """The ``saved`` of ``EngineChoice.engine_for``: only what the user chose (a model left
    at its default is not named, so that the command line's defaults, e.g. none for a
    Whisper model, stay theirs). Pure."""
    saved: dict[str, object] = {"itn": choice.itn, "rules": rules}
    for field, model in (("refine", choice.refine_model), ("punc", choice.punc_model)):
        if model:
            saved[field] = None if model.strip().lower() == NO_MODEL else model.strip()
    return saved


def needs_reload(loaded: EngineConfig, wanted: EngineConfig) -> bool:
    """Whether going from ``loaded`` to ``wanted`` takes loading the engine again: another
    model or rules file, or ITN wanted where its grammars were not loaded (turning it off
    needs nothing: each utterance says whether). Pure."""
    if (loaded.model, loaded.refine, loaded.punc, loaded.vad, loaded.rules) != (
        wanted.model, wanted.refine, wanted.punc, wanted.vad, wanted.rules
    ):
        return True
    return wanted.itn and not loaded.itn


def refinement(
    choice: SecondPassSettings,
    fixed: frozenset[str],
    default_hotwords: tuple[str, ...],
    hotwords: tuple[str, ...],
) -> Refinement:
    """One utterance's options: each switch as Settings say unless the command line fixed
    it (then the engine's default, which is the command line's); the user's ``hotwords``
    after the command line's ``default_hotwords`` (none: the engine's defaults). Pure."""
    words: tuple[str, ...] | None = None
    if hotwords:
        seen: set[str] = set()
        distinct = []
        for word in default_hotwords + hotwords:
            if word.lower() not in seen:
                seen.add(word.lower())
                distinct.append(word)
        words = tuple(distinct[:MAX_HOTWORDS])
    return Refinement(
        refine=None if "refine" in fixed else choice.refine,
        punctuate=None if "punc" in fixed else choice.punctuate,
        itn=None if "itn" in fixed else choice.itn,
        hotwords=words,
    )


class EngineSettings:
    """The engine's configuration for the Settings as they are, and the per-utterance
    options (``refinement``, given to ``Dictation``: safe on any thread).

    ``data_dir`` holds ``hotwords.txt`` and ``rules.txt`` (the rules file is the command
    line's where it set one). ``loaded`` is the configuration of the engine now loaded or
    loading; ``apply`` moves it on."""

    def __init__(self, choice: EngineChoice, settings: AppSettings, data_dir: Path) -> None:
        self.choice = choice
        self.settings = settings
        self.data_dir = Path(data_dir)
        self._lock = threading.Lock()
        self._snapshot = SecondPassSettings.of(settings)
        self._chosen: str | None = None
        self.loaded = self.config()
        rules = self.loaded.rules if "rules" in self.fixed else None
        self.vocabulary = Vocabulary.in_data_dir(self.data_dir, rules=rules)

    @property
    def fixed(self) -> frozenset[str]:
        """What the command line set (Settings show it and cannot change it)."""
        return frozenset(self.choice.explicit)

    def config(self) -> EngineConfig:
        """The configuration for the Settings now. A model the user chose in the window
        during this run wins even over the command line's, as choosing one always has."""
        with self._lock:
            snapshot = self._snapshot
        saved = saved_engine_settings(snapshot, self.data_dir / RULES_FILE)
        config = self.choice.engine_for(self._chosen or self.settings.model, saved)
        return replace(config, model=self._chosen) if self._chosen else config

    def apply(self) -> EngineConfig | None:
        """Settings were changed: take their new snapshot; returns the configuration to
        reload the engine with, or None when the loaded one still serves."""
        with self._lock:
            self._snapshot = SecondPassSettings.of(self.settings)
        wanted = self.config()
        if not needs_reload(self.loaded, wanted):
            return None
        self.loaded = wanted
        return wanted

    def model_chosen(self, model: str) -> EngineConfig:
        """The user picked ``model`` in the window: the configuration to load."""
        self._chosen = model
        self.loaded = self.config()
        return self.loaded

    def refinement(self) -> Refinement:
        """What the user's Settings and hotwords ask of the utterance released now."""
        with self._lock:
            snapshot = self._snapshot
        return refinement(snapshot, self.fixed, self.loaded.hotwords, self.vocabulary.hotwords())
