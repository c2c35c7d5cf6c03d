"""The method registry: one record per method, and everything that dispatches on it covers every record."""

from __future__ import annotations

from dacl.embedding.embedder import LOADERS
from dacl.training.config import TrainSection
from dacl.training.contrastive import VIEW_SAMPLERS
from dacl.training.methods import METHODS
from dacl.training.runner import TRAINERS


def test_every_record_names_a_trainer_a_loader_and_views_that_exist() -> None:
    for method in METHODS.values():
        assert method.trainer in TRAINERS, method.name
        assert method.embedder in LOADERS, method.name
        assert method.views is None or method.views in VIEW_SAMPLERS, method.name
        if method.views is not None or method.generated_views:
            assert method.stages == ("vae", "encoder") and method.trainer == "stages", method.name


def test_the_config_accepts_exactly_the_registered_methods() -> None:
    assert {TrainSection(method=name).method for name in METHODS} == set(METHODS)
    assert tuple(METHODS) == ("dacl", "vae", "gauss-contrastive", "dae", "diffaug", "dacl+diffaug")


def test_only_diffusion_views_have_a_t_max() -> None:
    assert {name for name, m in METHODS.items() if m.has_t_max} == {"dacl", "dacl+diffaug"}
