"""One configuration for every command: an experiment file, flags and ``--set``.

The schema (:data:`SCHEMA`) is every section of every command: ``[preprocess]``
(:class:`~dacl.features.featurizer.PreprocessConfig` and the build's
:class:`~dacl.features.build.BuildOptions`), the training sections
(:data:`dacl.training.config.SECTIONS`) and ``[evaluate]``
(:class:`~dacl.probe.config.EvaluateConfig`). ``dacl preprocess``, ``dacl train``
and ``dacl evaluate`` all read it the same way (:func:`load_experiment`):

1. ``--config FILE`` (a path, or the name of a config shipped in the package);
2. the command's own flags, which override the file (only the flags given);
3. ``--set section.key=value``, which overrides both.

Every section of the result is checked, not only the ones the command uses, so
an unknown section or key — or a bad value — anywhere in the file is an error
whichever command reads it first. An example file::

    [preprocess]
    window = 3000
    split = [0.7, 0.1, 0.2]

    [train]
    method = "dacl"

    [encoder]
    epochs = 20

    [evaluate]
    n_boot = 500
    robustness = true
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dacl.features.build import BuildOptions
from dacl.features.featurizer import PreprocessConfig
from dacl.probe.config import EvaluateConfig
from dacl.settings import parse_override, read_config_file, section_values, unknown_keys
from dacl.training.config import SECTIONS as TRAINING_SECTIONS
from dacl.training.config import Config, config_from_dict

#: Every section an experiment file may hold, and the dataclass(es) its keys belong to.
SCHEMA: dict[str, tuple[type, ...]] = {
    "preprocess": (PreprocessConfig, BuildOptions),
    **{name: (cls,) for name, cls in TRAINING_SECTIONS.items()},
    "evaluate": (EvaluateConfig,),
}

Tables = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Experiment:
    """The merged tables of an experiment (file, flags, ``--set``), and the typed sections they make."""

    tables: Tables

    def preprocess(self) -> tuple[PreprocessConfig, BuildOptions]:
        values = self.tables.get("preprocess", {})
        return (
            PreprocessConfig(**section_values(PreprocessConfig, "preprocess", values)),
            BuildOptions(**section_values(BuildOptions, "preprocess", values)),
        )

    def training(self) -> Config:
        return config_from_dict({k: v for k, v in self.tables.items() if k in TRAINING_SECTIONS})

    def evaluate(self) -> EvaluateConfig:
        return EvaluateConfig(**section_values(EvaluateConfig, "evaluate", self.tables.get("evaluate", {})))

    def check(self) -> None:
        """Build every section, so that a bad value anywhere is an error whichever command reads the file."""
        self.preprocess()
        self.training()
        self.evaluate()


def _check_schema(tables: Mapping[str, Any]) -> None:
    unknown = set(tables) - set(SCHEMA)
    if unknown:
        raise ValueError(f"unknown config section(s): {sorted(unknown)}")
    for name, values in tables.items():
        if not isinstance(values, Mapping):
            raise ValueError(f"config section [{name}] must be a table, got {type(values).__name__}")
        unknown_keys(name, values, (f.name for cls in SCHEMA[name] for f in dataclasses.fields(cls)))


def load_experiment(
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    flags: Mapping[str, Mapping[str, Any]] | None = None,
) -> Experiment:
    """The experiment of ``--config`` (``None``: all defaults), overridden by ``flags``
    (``{section: {key: value}}``) and then by the ``--set`` texts ``overrides``; every section checked."""
    from_file = read_config_file(config) if config is not None else {}
    _check_schema(from_file)
    tables: Tables = {name: dict(values) for name, values in from_file.items()}
    for section, values in (flags or {}).items():
        tables.setdefault(section, {}).update(values)
    for text in overrides:
        section, key, value = parse_override(text)
        _check_schema({section: {key: value}})
        tables.setdefault(section, {})[key] = value
    experiment = Experiment(tables)
    experiment.check()
    return experiment


def add_config_arguments(parser: argparse.ArgumentParser, example: str) -> None:
    """``--config`` and ``--set``, the same for every command that reads an experiment file."""
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="experiment TOML: a file, or the name of a config shipped with dacl; flags override it",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help=f"override any config value, e.g. --set {example} (repeatable; overrides the file and the flags)",
    )
