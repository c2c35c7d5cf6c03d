"""Training on (W, L, P, F) features with several labels per record: how leads enter the models, what a run
records, the multi-label SupCon labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import DIFFAUG_TINY, TINY, multilabel_featureset

from dacl.embedding.embedder import load_embedder
from dacl.features.context import contextualise
from dacl.training import train
from dacl.training.config import load_config
from dacl.training.inputs import prepare_inputs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_leads_enter_as_blocks_of_one_vector_and_labels_as_multi_hot_rows(tmp_path: Path):
    fs = multilabel_featureset(n_leads=3)
    config = load_config(TINY).replace(train={"device": "cpu"})
    inputs = prepare_inputs(config, fs, torch.device("cpu"), tmp_path / "inputs")
    train_mask = fs.window_mask("train")
    x = fs.features[train_mask]
    per_lead = [contextualise(x[:, lead], config.context) for lead in range(3)]
    np.testing.assert_array_equal(contextualise(x, config.context), np.concatenate(per_lead, axis=1))
    assert inputs.x_train.shape == (int(train_mask.sum()), 3 * per_lead[0].shape[1])
    assert inputs.feature_shape == (3, 6, 5) and inputs.leads == ("I", "II", "V1")
    assert inputs.y_train.dtype == torch.float32 and inputs.y_train.shape == (int(train_mask.sum()), 5)
    np.testing.assert_array_equal(inputs.y_train.numpy(), fs.record_targets[fs.record_index[train_mask]])


@pytest.mark.parametrize("method", ["dacl", "dae", "diffaug"])
def test_methods_train_on_several_leads_and_record_them(tmp_path: Path, method: str):
    fs = multilabel_featureset(n_records=40, n_leads=2)
    base = load_config(DIFFAUG_TINY if method == "diffaug" else TINY)
    config = base.replace(
        train={"method": method, "device": "cpu"}, vae={"epochs": 2}, encoder={"epochs": 2}, dae={"epochs": 2}
    )
    run = train(config, fs, tmp_path / method, progress=False)
    bundle = torch.load(run / "model.pt", weights_only=True)
    assert bundle["leads"] == ["I", "II"]
    emb = load_embedder(run)
    assert emb.leads == ("I", "II")
    z = emb.embed(fs.features[:7])
    assert z.shape[0] == 7 and np.isfinite(z).all()
    # One lead fewer: refused (by the window shape; DiffAug's scaler by the vector width).
    match = r"expected \(n, \d+\) input" if method == "diffaug" else r"expects features of shape \(W, 2, 6, 5\)"
    with pytest.raises(ValueError, match=match):
        emb.embed(fs.features[:7, :1])


def test_runs_from_before_leads_load_as_one_lead(tmp_path: Path):
    """model.pt written before leads recorded feature_shape (P, F) and no leads: one lead, any lead name."""
    from helpers import xor_featureset

    from dacl.io.torchfiles import torch_save

    fs = xor_featureset(n_records=30, seed=8)
    config = load_config(TINY).replace(train={"device": "cpu"}, vae={"epochs": 1}, encoder={"epochs": 1})
    run = train(config, fs, tmp_path / "run", progress=False)
    now = load_embedder(run).embed(fs.features[:5])
    bundle = torch.load(run / "model.pt", weights_only=True)
    bundle["feature_shape"] = bundle["feature_shape"][1:]
    del bundle["leads"]
    torch_save(bundle, run / "model.pt")
    old = load_embedder(run)
    assert old.leads is None and old.feature_shape == (1, 8, 6)
    np.testing.assert_array_equal(old.embed(fs.features[:5]), now)
    np.testing.assert_array_equal(old.embed(fs.features[:5, 0]), now)  # a (W, P, F) array is one lead
