"""Training configuration: the sections of ``dacl train``, loaded from TOML, with overrides.

One section per concept: ``[train]`` and ``[data]`` here, ``[context]``
(:mod:`dacl.features.context`), ``[vae]`` (:mod:`dacl.latent.config`),
``[diffusion]``, ``[gauss]`` and ``[signal_views]`` (:mod:`dacl.views.config`), ``[encoder]``,
``[dae]`` and ``[diffaug]`` (:mod:`dacl.embedding.config`). Every field has a
default; a TOML file only states what it changes. Unknown sections or keys
are an error, so a typo does not silently fall back to a default. Values the
DACL paper does not publish are marked "ours" in the comments; see
configs/dacl.toml for the reasoning. The machinery is :mod:`dacl.settings`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

from dacl.embedding.config import DAESection, DiffAugSection, EncoderSection
from dacl.features.context import ContextConfig
from dacl.latent.config import VAESection
from dacl.settings import NON_NEGATIVE, check_fields, option, read_config_file, section_from_dict, within
from dacl.settings import to_toml as tables_to_toml
from dacl.training.methods import METHODS
from dacl.views.config import DiffusionSection, GaussSection, SignalViewsSection


@dataclass(frozen=True)
class TrainSection:
    method: str = option("dacl", "the method to train", "--method", choices=tuple(METHODS))
    seed: int = option(0, "random seed", "--seed")
    device: str = option("auto", "auto | cpu | cuda", "--device")  # auto = cuda if available, else cpu
    amp: bool = True  # autocast (bf16 if supported, else fp16) on cuda only
    # torch CPU threads during training. CPU float reductions split across threads round
    # differently, so only a fixed count makes a seed give the same weights on any machine;
    # 0 = torch's default (faster on many free cores, bit-reproducible only on the same count).
    threads: int = 1

    def __post_init__(self) -> None:
        # Seeds feed numpy's SeedSequence (non-negative) and torch (64-bit, after ``seed * 1009 + k``).
        check_fields(
            self, "train", {"seed": within(0, 2**32 - 1), "threads": NON_NEGATIVE}, choices={"method": tuple(METHODS)}
        )
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"train.device must be auto, cpu or cuda, got {self.device!r}")


@dataclass(frozen=True)
class DataSection:
    features: str = option(
        "", "dataset directory written by `dacl preprocess`", "--features", metavar="DATASET_DIR", default_text="none"
    )
    train_split: str = "train"
    val_split: str = "val"  # model selection / early stopping only


@dataclass(frozen=True)
class Config:
    train: TrainSection = TrainSection()
    data: DataSection = DataSection()
    context: ContextConfig = ContextConfig()
    vae: VAESection = VAESection()
    diffusion: DiffusionSection = DiffusionSection()
    gauss: GaussSection = GaussSection()
    signal_views: SignalViewsSection = SignalViewsSection()
    encoder: EncoderSection = EncoderSection()
    dae: DAESection = DAESection()
    diffaug: DiffAugSection = DiffAugSection()

    def __post_init__(self) -> None:
        if self.diffusion.n_views == 0 and self.signal_views.n_views == 0:
            raise ValueError("diffusion.n_views = 0 needs signal-space views (signal_views.n_views >= 1)")
        method = METHODS[self.train.method]
        if self.signal_views.n_views and not (method.trainer == "stages" and "encoder" in method.stages):
            raise ValueError(
                f"signal_views.n_views = {self.signal_views.n_views} feeds the SupCon encoder of the "
                f"stage trainer; method {method.name!r} has none (set signal_views.n_views = 0)"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **sections: dict[str, Any]) -> Config:
        """A copy with some fields of some sections changed: ``replace(vae={"epochs": 3})``."""
        d = self.to_dict()
        for name, values in sections.items():
            if name not in d:
                raise ValueError(f"unknown config section [{name}]")
            d[name].update(values)
        return config_from_dict(d)


#: The sections of a training configuration, by name.
SECTIONS: dict[str, type] = {f.name: get_type_hints(Config)[f.name] for f in dataclasses.fields(Config)}


def config_from_dict(d: dict[str, Any]) -> Config:
    """Build a :class:`Config` from nested dicts, rejecting unknown sections/keys."""
    unknown_sections = set(d) - set(SECTIONS)
    sections = {name: section_from_dict(cls, name, d.get(name, {})) for name, cls in SECTIONS.items()}
    if unknown_sections:
        raise ValueError(f"unknown config section(s): {sorted(unknown_sections)}")
    return Config(**sections)


def load_config(path: str | Path | None = None) -> Config:
    """Read a TOML config (``None`` = all defaults); see :func:`dacl.settings.read_config_file`."""
    return Config() if path is None else config_from_dict(read_config_file(path))


def to_toml(config: Config) -> str:
    """The resolved config as TOML text (round-trips through :func:`load_config`)."""
    return tables_to_toml(config.to_dict())
