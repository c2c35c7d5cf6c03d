"""TOML configs: shipped files load, the resolved config round-trips, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from dacl.config import Config, config_from_dict, load_config, parse_override, to_toml

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


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
    from dacl.config import load_config

    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    assert load_config("tiny") == load_config(CONFIGS / "tiny.toml")
    with pytest.raises(FileNotFoundError, match="nope"):
        load_config("nope")
