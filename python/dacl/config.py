"""Training configuration: dataclasses loaded from TOML, with CLI overrides.

One section per concept (``[train]``, ``[data]``, ``[context]``, ``[vae]``,
``[diffusion]``, ``[signal_views]``, ``[gauss]``, ``[encoder]``, ``[dae]``). Every field has a
default; a TOML file only states what it changes. Unknown sections or keys
are an error, so a typo does not silently fall back to a default. Values the
DACL paper does not publish are marked "ours" in the comments; see
configs/dacl.toml for the reasoning.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from dacl.context import ContextConfig

METHODS: tuple[str, ...] = ("dacl", "vae", "gauss-contrastive", "dae", "diffaug", "dacl+diffaug")


# --------------------------------------------------------------- validation
# A rule is (test, wording): "vae.lr must be > 0, got -1".
Rule = tuple[Callable[[Any], bool], str]


def at_least(low: int) -> Rule:
    return (lambda v: v >= low), f">= {low}"


def within(low: float, high: float, *, high_open: bool = False) -> Rule:
    if high_open:
        return (lambda v: low <= v < high), f"in [{low}, {high})"
    return (lambda v: low <= v <= high), f"in [{low}, {high}]"


POSITIVE: Rule = ((lambda v: v > 0), "> 0")
NON_NEGATIVE: Rule = at_least(0)
#: Sizes of one training batch: a batch of one has nothing to contrast and breaks BatchNorm.
BATCH: Rule = at_least(2)
#: The optimisation fields every trained stage ([vae], [encoder], [dae]) has.
TRAINING_RULES: dict[str, Rule] = {"epochs": at_least(1), "batch_size": BATCH, "lr": POSITIVE,
                                   "weight_decay": NON_NEGATIVE, "patience": NON_NEGATIVE}


def check_fields(section: Any, name: str, rules: dict[str, Rule] | None = None,
                 choices: dict[str, tuple[str, ...]] | None = None, non_empty: tuple[str, ...] = ()) -> None:
    """Validate one config section up front, so a bad value is one clear ValueError naming it.

    Every float (also inside tables) must be finite and every element of a tuple of ints
    ``>= 1`` (they are layer widths); ``rules`` bound single fields, ``choices`` list the
    allowed strings, ``non_empty`` names tuples that need at least one element.
    """
    for key, hint in get_type_hints(type(section)).items():
        value = getattr(section, key)
        if hint is float and not math.isfinite(value):
            raise ValueError(f"{name}.{key} must be a finite number, got {value}")
        if getattr(hint, "__origin__", None) is dict:
            for k, v in value.items():
                if isinstance(v, float) and not math.isfinite(v):
                    raise ValueError(f"{name}.{key}.{k} must be a finite number, got {v}")
        if getattr(hint, "__args__", None) == (int, ...):
            if key in non_empty and not value:
                raise ValueError(f"{name}.{key} must list at least one size, got []")
            if any(v < 1 for v in value):
                raise ValueError(f"{name}.{key}: every size must be >= 1, got {list(value)}")
    for key, (test, wording) in (rules or {}).items():
        value = getattr(section, key)
        if not test(value):
            raise ValueError(f"{name}.{key} must be {wording}, got {value}")
    for key, allowed in (choices or {}).items():
        if getattr(section, key) not in allowed:
            raise ValueError(f"{name}.{key} must be one of {allowed}, got {getattr(section, key)!r}")


@dataclass(frozen=True)
class TrainSection:
    method: str = "dacl"
    seed: int = 0
    device: str = "auto"  # auto = cuda if available, else cpu
    amp: bool = True  # autocast (bf16 if supported, else fp16) on cuda only
    # torch CPU threads during training. CPU float reductions split across threads round
    # differently, so only a fixed count makes a seed give the same weights on any machine;
    # 0 = torch's default (faster on many free cores, bit-reproducible only on the same count).
    threads: int = 1

    def __post_init__(self) -> None:
        # Seeds feed numpy's SeedSequence (non-negative) and torch (64-bit, after ``seed * 1009 + k``).
        check_fields(self, "train", {"seed": within(0, 2**32 - 1), "threads": NON_NEGATIVE},
                     choices={"method": METHODS})
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"train.device must be auto, cpu or cuda, got {self.device!r}")


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

    def __post_init__(self) -> None:
        check_fields(self, "vae", {**TRAINING_RULES, "latent_dim": at_least(1), "beta": NON_NEGATIVE,
                                   "beta_warmup_epochs": NON_NEGATIVE}, non_empty=("hidden",))


LATENT_NORMS = ("per_dim", "global", "none")


@dataclass(frozen=True)
class DiffusionSection:
    schedule: str = "linear"  # dacl._native.NoiseSchedule kind
    timesteps: int = 1000
    schedule_params: dict[str, float] = field(default_factory=dict)  # passed to NoiseSchedule
    t_max: int = 200  # views use t ~ U{1..t_max}: "early stage" diffusion (v3)
    n_views: int = 2  # K noisy views per sample
    include_clean: bool = False  # add z0 itself as one more view
    # Standardise the VAE means (train-split statistics) before diffusing them, so the noise
    # scale sqrt(1 - ᾱ_t) means the same whatever the VAE's latent scale (the role of the
    # latent scale factor of Rombach et al. 2022). Also applied to gauss-contrastive views.
    # "per_dim": z-score each dimension; "global": centre, then divide by one scale (the RMS
    # of the per-dimension stds), which keeps near-collapsed dimensions small instead of
    # blowing them up to unit variance (large latents with small β have many, measured);
    # "none". true/false (older configs) mean "per_dim"/"none".
    normalise_latents: str | bool = "per_dim"

    def __post_init__(self) -> None:
        norm = self.normalise_latents
        if isinstance(norm, bool):
            object.__setattr__(self, "normalise_latents", "per_dim" if norm else "none")
        # n_views = 0 (no latent views) only beside signal-space views: checked in Config.
        check_fields(self, "diffusion", {"timesteps": at_least(2), "n_views": NON_NEGATIVE},
                     choices={"normalise_latents": LATENT_NORMS})
        if not 1 <= self.t_max <= self.timesteps:
            raise ValueError(f"diffusion.t_max must be in [1, timesteps={self.timesteps}], got {self.t_max}")


@dataclass(frozen=True)
class SignalViewsSection:
    """Signal-space diffusion views for the SupCon encoder (dacl.signal_views, dacl.train_signal_views).

    White noise at an SNR set by ``t ~ U{1..t_max}`` (``abar_t / (1 - abar_t)``), added to the raw
    recording (or the window) and featurised by the dataset's own featuriser; configs/dacl-robust.toml.
    """

    n_views: int = 0  # K signal-space views per window in each SupCon step; 0 = off
    placement: str = "record"  # "record": noise before the band-pass, as the robustness test adds it; "window"
    levels: str = "diffusion"  # "diffusion": t ~ U{1..t_max}; "snr": SNR ~ U(snr_low, snr_high) dB
    schedule: str = "linear"
    timesteps: int = 1000
    t_max: int = 259  # linear schedule: abar_259 ~ 0.5 (0 dB); t = 16 ~ 24 dB, 74 ~ 12 dB, 145 ~ 6 dB
    snr_low: float = 0.0
    snr_high: float = 24.0
    bank_size: int = 8  # B views per window made once per seed, K drawn per epoch; 0 = fresh views every epoch
    vae_views: int = 0  # noisy views per window added to each VAE batch (0 = VAE on clean windows only)
    corpus: str = ""  # the raw corpus; "" = the source recorded in the dataset manifest
    cache: str = ""  # folder that keeps view banks between runs ("" = none)
    threads: int = 1  # Rust featuriser threads (views do not depend on it)

    def __post_init__(self) -> None:
        check_fields(self, "signal_views", {"n_views": NON_NEGATIVE, "timesteps": at_least(2),
                                            "bank_size": NON_NEGATIVE, "vae_views": NON_NEGATIVE,
                                            "threads": at_least(1)},
                     choices={"placement": ("record", "window"), "levels": ("diffusion", "snr")})
        if not 1 <= self.t_max <= self.timesteps:
            raise ValueError(f"signal_views.t_max must be in [1, timesteps={self.timesteps}], got {self.t_max}")
        if self.snr_low > self.snr_high:
            raise ValueError(f"signal_views.snr_low must be <= snr_high, got {self.snr_low} > {self.snr_high}")
        if self.vae_views and not self.bank_size:
            raise ValueError("signal_views.vae_views needs a view bank (bank_size >= 1): fresh views for every "
                             "VAE epoch would featurise the train split once per epoch")
        if self.bank_size and max(self.n_views, self.vae_views) > self.bank_size:
            raise ValueError(f"signal_views: cannot draw {max(self.n_views, self.vae_views)} distinct views per "
                             f"window from a bank of {self.bank_size}")


@dataclass(frozen=True)
class GaussSection:
    sigma: float = 0.5  # gauss-contrastive views z0 + sigma * N(0, I)

    def __post_init__(self) -> None:
        check_fields(self, "gauss", {"sigma": NON_NEGATIVE})


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

    def __post_init__(self) -> None:
        check_fields(self, "encoder", {**TRAINING_RULES, "embed_dim": at_least(1), "proj_dim": at_least(1),
                                       "temperature": POSITIVE},
                     choices={"readout": ("flatten", "mean")}, non_empty=("channels",))


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

    def __post_init__(self) -> None:
        check_fields(self, "dae", {**TRAINING_RULES, "bottleneck": at_least(1), "noise_sigma": NON_NEGATIVE})


@dataclass(frozen=True)
class DiffAugSection:
    """DiffAug (Zang et al. 2024); see configs/diffaug.toml for the reasoning behind each default."""

    input: str = "context"  # "context" ([context] pooling of the scattering) or "vae" (μ of vae_run)
    vae_run: str = ""  # run directory of a trained `--method vae` run, for input = "vae"
    clip_sigma: float = 3.0  # inputs are z-scored, divided by this and clipped to [-1, 1]
    enc_hidden: tuple[int, ...] = (500, 500, 500)
    code_dim: int = 50  # Enc's code: the representation and the condition
    head_hidden: tuple[int, ...] = (500, 500)
    head_dim: int = 16  # released code: 2 (a visualisation head)
    nu_p: float = 100.0
    nu_q: float = 0.01
    detach_p: bool = False
    knn_k: int = 5  # neighbour-mixup positives x+ = a x + (1 - a) x_nb, x_nb among the k nearest
    gen_fraction: float = 0.2  # share of positives replaced by generated ones (rand < p)
    schedule: str = "linear"
    timesteps: int = 1000
    schedule_params: dict[str, float] = field(default_factory=dict)
    variance: str = "fixed_large"
    den_hidden: int = 2000
    den_blocks: int = 4
    cond_hidden: int = 200
    time_embedding: str = "sinusoidal"
    diff_weight: float = 0.01
    ema_decay: float = 0.9999
    ema_warmup: bool = True  # decay min(ema_decay, (1+n)/(10+n)) at update n; see diffaug.EMA
    sampler: str = "ddim"  # how positives are generated: "ddim" (fast) or "ddpm" (all T steps)
    sample_steps: int = 50
    eta: float = 1.0
    clip_x0: float = 1.0  # clip x̂0 to [-clip_x0, clip_x0] while sampling; 0 = off
    warmup_epochs: int = 400  # first E phase (neighbour-mixup positives only)
    m_epochs: int = 400  # each M phase (generator)
    e_epochs: int = 400  # each later E phase (with generated positives)
    cycles: int = 1  # number of M -> E pairs after the warm-up
    batch_size: int = 500
    lr: float = 1e-3
    gen_lr: float = 1e-3
    weight_decay: float = 1e-6
    lr_gamma: float = 0.8  # StepLR every (total epochs // 10), as released
    views: int = 2  # generated views per sample for --method dacl+diffaug
    checkpoint_every: int = 1

    def __post_init__(self) -> None:
        sizes = ("code_dim", "head_dim", "knn_k", "timesteps", "den_hidden", "den_blocks", "cond_hidden", "views",
                 "checkpoint_every")
        check_fields(
            self, "diffaug",
            {**{name: at_least(1) for name in sizes}, "timesteps": at_least(2), "batch_size": BATCH,
             **{name: NON_NEGATIVE for name in ("warmup_epochs", "m_epochs", "e_epochs", "cycles", "eta", "clip_x0",
                                                "weight_decay")},
             **{name: POSITIVE for name in ("clip_sigma", "nu_p", "nu_q", "diff_weight", "lr", "gen_lr", "lr_gamma")},
             "gen_fraction": within(0, 1), "ema_decay": within(0, 1, high_open=True)},
            choices={"input": ("context", "vae"), "sampler": ("ddim", "ddpm"),
                     "variance": ("fixed_large", "fixed_small"), "time_embedding": ("sinusoidal", "learned")},
        )
        if not 1 <= self.sample_steps <= self.timesteps:
            raise ValueError(f"diffaug.sample_steps must be in [1, timesteps={self.timesteps}], got {self.sample_steps}")


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
        # ContextConfig validates its own ranges (dacl.context cannot import this module); add the finite checks.
        check_fields(self.context, "context")
        if self.diffusion.n_views == 0 and self.signal_views.n_views == 0:
            raise ValueError("diffusion.n_views = 0 needs signal-space views (signal_views.n_views >= 1)")

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
    """``value`` as the type ``hint`` says (ints widen to floats); anything else is a TypeError naming the key."""
    origin = getattr(hint, "__origin__", None)
    if origin is tuple:  # homogeneous: tuple[int, ...]
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"[{section}] {key} must be a list, got {type(value).__name__}")
        return tuple(_coerce(section, f"{key}[{i}]", v, hint.__args__[0]) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"[{section}] {key} must be a table, got {type(value).__name__}")
        return {k: _coerce(section, f"{key}.{k}", v, hint.__args__[1]) for k, v in value.items()}
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


def bundled_config(name: str) -> Path:
    """Path of a config shipped in the package: ``dacl``, ``diffaug``, ``tiny``, ``diffaug-tiny``."""
    from importlib.resources import files

    return Path(str(files("dacl") / "configs" / f"{name}.toml"))


def load_config(path: str | Path | None = None) -> Config:
    """Read a TOML config (``None`` = all defaults).

    ``path`` is a file, or the bare name of a config shipped with the package
    (``--config dacl`` works from any folder, also with dacl installed from a wheel).
    """
    if path is None:
        return Config()
    path = Path(path)
    if not path.is_file() and path.suffix == "" and path.parent == Path("."):
        path = bundled_config(path.name)
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
