"""Training configuration: dataclasses loaded from TOML, with CLI overrides.

One section per concept (``[train]``, ``[data]``, ``[context]``, ``[vae]``,
``[diffusion]``, ``[gauss]``, ``[encoder]``, ``[dae]``). Every field has a
default; a TOML file only states what it changes. Unknown sections or keys
are an error, so a typo does not silently fall back to a default. Values the
DACL paper does not publish are marked "ours" in the comments; see
configs/dacl.toml for the reasoning.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from dacl.context import ContextConfig

METHODS: tuple[str, ...] = ("dacl", "vae", "gauss-contrastive", "dae", "diffaug", "dacl+diffaug")


@dataclass(frozen=True)
class TrainSection:
    method: str = "dacl"
    seed: int = 0
    device: str = "auto"  # auto = cuda if available, else cpu
    amp: bool = True  # autocast (bf16 if supported, else fp16) on cuda only


@dataclass(frozen=True)
class DataSection:
    features: str = ""  # dataset directory written by `dacl preprocess`; --features overrides
    train_split: str = "train"
    val_split: str = "val"  # model selection / early stopping only


@dataclass(frozen=True)
class VAESection:
    latent_dim: int = 32
    hidden: tuple[int, ...] = (256, 128)
    beta: float = 1.0
    beta_warmup_epochs: int = 0  # linear KL warm-up (Bowman et al. 2016); 0 = off
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 0  # early stopping on val loss; 0 = off (best-val weights are still kept)


@dataclass(frozen=True)
class DiffusionSection:
    schedule: str = "linear"  # dacl._native.NoiseSchedule kind
    timesteps: int = 1000
    schedule_params: dict[str, float] = field(default_factory=dict)  # passed to NoiseSchedule
    t_max: int = 200  # views use t ~ U{1..t_max}: "early stage" diffusion (v3)
    n_views: int = 2  # K noisy views per sample
    include_clean: bool = False  # add z0 itself as one more view


@dataclass(frozen=True)
class GaussSection:
    sigma: float = 0.5  # gauss-contrastive views z0 + sigma * N(0, I)


@dataclass(frozen=True)
class EncoderSection:
    channels: tuple[int, ...] = (32, 64, 128)
    embed_dim: int = 128
    proj_dim: int = 64
    time_conditioning: bool = False  # unknown in the paper
    readout: str = "flatten"
    temperature: float = 0.1
    supervised: bool = True  # SupCon with labels; False = SimCLR
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 0


@dataclass(frozen=True)
class DAESection:
    hidden: tuple[int, ...] = (256, 128)
    bottleneck: int = 64
    noise_sigma: float = 0.5  # on standardised inputs
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 0


@dataclass(frozen=True)
class Config:
    train: TrainSection = TrainSection()
    data: DataSection = DataSection()
    context: ContextConfig = ContextConfig()
    vae: VAESection = VAESection()
    diffusion: DiffusionSection = DiffusionSection()
    gauss: GaussSection = GaussSection()
    encoder: EncoderSection = EncoderSection()
    dae: DAESection = DAESection()

    def __post_init__(self) -> None:
        if self.train.method not in METHODS:
            raise ValueError(f"train.method must be one of {METHODS}, got {self.train.method!r}")
        if self.train.device not in ("auto", "cpu", "cuda") and not self.train.device.startswith("cuda:"):
            raise ValueError(f"train.device must be auto, cpu or cuda, got {self.train.device!r}")
        if self.diffusion.n_views < 1:
            raise ValueError(f"diffusion.n_views must be >= 1, got {self.diffusion.n_views}")
        if not 1 <= self.diffusion.t_max <= self.diffusion.timesteps:
            raise ValueError(
                f"diffusion.t_max must be in [1, timesteps={self.diffusion.timesteps}], got {self.diffusion.t_max}"
            )
        if self.encoder.temperature <= 0:
            raise ValueError(f"encoder.temperature must be > 0, got {self.encoder.temperature}")
        if not 0 <= self.vae.beta:
            raise ValueError(f"vae.beta must be >= 0, got {self.vae.beta}")

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


def _coerce(section: str, key: str, value: Any, hint: Any) -> Any:
    origin = getattr(hint, "__origin__", None)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"[{section}] {key} must be a list, got {type(value).__name__}")
        return tuple(int(v) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"[{section}] {key} must be a table, got {type(value).__name__}")
        return dict(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = {float: float, int: int, bool: bool, str: str}.get(hint)
    if expected is not None and (not isinstance(value, expected) or (expected is int and isinstance(value, bool))):
        raise TypeError(f"[{section}] {key} must be {expected.__name__}, got {value!r}")
    return value


def config_from_dict(d: dict[str, Any]) -> Config:
    """Build a :class:`Config` from nested dicts, rejecting unknown sections/keys."""
    sections: dict[str, Any] = {}
    for f in dataclasses.fields(Config):
        cls = f.type if isinstance(f.type, type) else get_type_hints(Config)[f.name]
        values = dict(d.get(f.name, {}))
        hints = get_type_hints(cls)
        unknown = set(values) - set(hints)
        if unknown:
            raise ValueError(f"unknown key(s) in [{f.name}]: {sorted(unknown)}")
        sections[f.name] = cls(**{k: _coerce(f.name, k, v, hints[k]) for k, v in values.items()})
    unknown_sections = set(d) - set(sections)
    if unknown_sections:
        raise ValueError(f"unknown config section(s): {sorted(unknown_sections)}")
    return Config(**sections)


def load_config(path: str | Path | None = None) -> Config:
    """Read a TOML config (``None`` = all defaults)."""
    if path is None:
        return Config()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"config {path} is not valid TOML: {err}") from err
    return config_from_dict(data)


def parse_override(text: str) -> tuple[str, str, Any]:
    """``"section.key=value"`` -> ``(section, key, value)``; the value is parsed as TOML."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ValueError(f"--set expects section.key=value, got {text!r}")
    lhs, rhs = text.split("=", 1)
    section, key = lhs.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {rhs.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = rhs.strip()  # bare strings need no quotes on the command line
    return section, key, value


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def to_toml(config: Config) -> str:
    """The resolved config as TOML text (round-trips through :func:`load_config`)."""
    lines: list[str] = []
    for section, values in config.to_dict().items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
        lines.append("")
    return "\n".join(lines)
