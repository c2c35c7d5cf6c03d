"""TOML configs: shipped files load, the resolved config round-trips, mistakes are named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import CONFIGS

from dacl.settings import parse_override
from dacl.training.config import Config, config_from_dict, load_config, to_toml


@pytest.mark.parametrize("name", ["dacl.toml", "tiny.toml"])
def test_shipped_configs_load_and_round_trip(name: str, tmp_path: Path) -> None:
    cfg = load_config(CONFIGS / name)
    (tmp_path / "c.toml").write_text(to_toml(cfg))
    assert load_config(tmp_path / "c.toml") == cfg


def test_mistakes_are_named() -> None:
    with pytest.raises(ValueError, match=r"unknown key\(s\) in \[vae\]: \['latnet_dim'\]"):
        config_from_dict({"vae": {"latnet_dim": 3}})
    with pytest.raises(ValueError, match="unknown config section"):
        config_from_dict({"vea": {}})
    with pytest.raises(TypeError, match=r"\[encoder\] epochs must be int"):
        config_from_dict({"encoder": {"epochs": "ten"}})
    with pytest.raises(ValueError, match="t_max"):
        Config().replace(diffusion={"t_max": 2000})
    with pytest.raises(ValueError, match="train.method"):
        Config().replace(train={"method": "simclr"})
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        load_config("nope.toml")
    with pytest.raises(ValueError, match="normalise_latents must be one of"):
        Config().replace(diffusion={"normalise_latents": "zscore"})


def test_old_boolean_latent_normalisation_still_loads() -> None:
    # runs written before normalise_latents took a mode stored true/false
    assert config_from_dict({"diffusion": {"normalise_latents": True}}).diffusion.normalise_latents == "per_dim"
    assert config_from_dict({"diffusion": {"normalise_latents": False}}).diffusion.normalise_latents == "none"
    assert Config().replace(diffusion={"normalise_latents": "global"}).diffusion.normalise_latents == "global"


def test_parse_override() -> None:
    assert parse_override("diffusion.t_max=50") == ("diffusion", "t_max", 50)
    assert parse_override("vae.hidden=[64, 32]") == ("vae", "hidden", [64, 32])
    assert parse_override("train.device=cpu") == ("train", "device", "cpu")
    with pytest.raises(ValueError, match="section.key=value"):
        parse_override("t_max=50")


def test_bare_name_loads_the_config_shipped_in_the_package(tmp_path: Path, monkeypatch) -> None:
    from dacl.training.config import load_config

    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    assert load_config("tiny") == load_config(CONFIGS / "tiny.toml")
    with pytest.raises(FileNotFoundError, match="nope"):
        load_config("nope")


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        ("vae", "latent_dim", -3, "vae.latent_dim must be >= 1, got -3"),
        ("vae", "epochs", 0, "vae.epochs must be >= 1, got 0"),
        ("vae", "lr", 0.0, "vae.lr must be > 0, got 0.0"),
        ("vae", "beta", float("nan"), "vae.beta must be a finite number, got nan"),
        ("vae", "hidden", [], "vae.hidden must list at least one size, got []"),
        ("vae", "hidden", [64, 0], "vae.hidden: every size must be >= 1, got [64, 0]"),
        ("encoder", "batch_size", 1, "encoder.batch_size must be >= 2, got 1"),
        ("encoder", "channels", [], "encoder.channels must list at least one size"),
        ("encoder", "readout", "max", "encoder.readout must be one of ('flatten', 'mean'), got 'max'"),
        ("encoder", "weight_decay", -1e-4, "encoder.weight_decay must be >= 0"),
        ("dae", "noise_sigma", -0.5, "dae.noise_sigma must be >= 0"),
        ("dae", "patience", -1, "dae.patience must be >= 0"),
        ("gauss", "sigma", float("inf"), "gauss.sigma must be a finite number, got inf"),
        ("diffusion", "timesteps", 1, "diffusion.timesteps must be >= 2"),
        ("diffusion", "n_views", -1, "diffusion.n_views must be >= 0"),  # 0: only beside signal-space views
        ("diffusion", "schedule_params", {"s": float("nan")}, "diffusion.schedule_params.s must be a finite number"),
        ("diffaug", "ema_decay", 1.0, "diffaug.ema_decay must be in [0, 1), got 1.0"),
        ("diffaug", "gen_fraction", 1.5, "diffaug.gen_fraction must be in [0, 1], got 1.5"),
        ("diffaug", "lr_gamma", 0.0, "diffaug.lr_gamma must be > 0"),
        ("diffaug", "den_hidden", 0, "diffaug.den_hidden must be >= 1"),
        ("diffaug", "enc_hidden", [500, -1], "diffaug.enc_hidden: every size must be >= 1"),
        ("diffaug", "batch_size", 1, "diffaug.batch_size must be >= 2"),
        ("train", "seed", -1, "train.seed must be in [0, 4294967295], got -1"),
        ("train", "threads", -2, "train.threads must be >= 0"),
        ("context", "pe_scale", float("nan"), "context.pe_scale must be a finite number"),
    ],
)
def test_bad_numbers_are_named_up_front(section: str, key: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Config().replace(**{section: {key: value}})


def test_list_and_table_elements_follow_the_type_hint() -> None:
    """Sizes are ints: 32.5 or true in a list of sizes is a mistake, not 32 or 1."""
    with pytest.raises(TypeError, match=re.escape("[vae] hidden[1] must be int, got 32.5")):
        config_from_dict({"vae": {"hidden": [64, 32.5]}})
    with pytest.raises(TypeError, match=re.escape("[encoder] channels[0] must be int, got True")):
        config_from_dict({"encoder": {"channels": [True, 8]}})
    with pytest.raises(TypeError, match=re.escape("[diffusion] schedule_params.s must be float, got 'x'")):
        config_from_dict({"diffusion": {"schedule_params": {"s": "x"}}})
    cfg = config_from_dict({"vae": {"hidden": [64, 32]}, "diffusion": {"schedule_params": {"s": 1}}})
    assert cfg.vae.hidden == (64, 32)
    assert cfg.diffusion.schedule_params == {"s": 1.0} and isinstance(cfg.diffusion.schedule_params["s"], float)


def test_shipped_diffaug_configs_pass_the_checks() -> None:
    for name in ("diffaug.toml", "diffaug-tiny.toml"):
        load_config(CONFIGS / name)
