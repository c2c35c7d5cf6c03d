"""Data-parallel training: 2 gloo ranks (spawned CPU processes) against one process, and torchrun end to end.

Each rank is a process of its own (``torch.multiprocessing.spawn``) that joins a gloo
process group through a file store, trains, and writes what the test compares into
the test's directory.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
from helpers import DIFFAUG_TINY, TINY, xor_featureset

from dacl.cli import main as cli_main
from dacl.embedding.embedder import input_vectors, load_embedder
from dacl.training import train
from dacl.training.config import Config, load_config
from dacl.training.contrastive import Trainer
from dacl.training.diffaug import fit_diffaug
from dacl.training.distributed import SINGLE, Distributed, current, gather_rows
from dacl.training.methods import METHODS

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORLD = 2
#: Two ranks with per-rank batch B/2 and one process with batch B train on the same batches and noise;
#: only the order of float additions differs (a gradient summed from two halves, then DDP's average). Over
#: a few epochs of Adam the embeddings of the two runs then differ by this much at most. (Weights are not
#: compared one by one: a conv bias before a GroupNorm of one channel per group has a zero gradient up
#: to rounding, which Adam's normalised step turns into lr-sized moves that change no output.)
ATOL = 1e-4


def stage_config(method: str, batch: int, epochs: int = 2) -> Config:
    return load_config(TINY).replace(
        train={"method": method, "device": "cpu"},
        vae={"epochs": epochs, "batch_size": batch},
        encoder={"epochs": epochs, "batch_size": batch},
        dae={"epochs": epochs, "batch_size": batch},
    )


def diffaug_config(batch: int) -> Config:
    return load_config(DIFFAUG_TINY).replace(train={"device": "cpu"}, diffaug={"batch_size": batch})


def features():
    return xor_featureset(n_records=40, seed=1)


# ------------------------------------------------------------------ running ranks


def _rank(rank: int, store: str, job: Callable[[int], None]) -> None:
    warnings.simplefilter("error")  # as pytest runs the tests: a warning in a rank fails it
    torch.set_num_threads(1)
    torch_dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        job(rank)
    finally:
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def run_ranks(tmp: Path, job: Callable[[int], None]) -> None:
    """``job(rank)`` in each of WORLD processes joined in a gloo group."""
    mp.spawn(_rank, args=(str(tmp / "store"), job), nprocs=WORLD, join=True)


def _trained_weights(out: Path, config: Config, rank: int | None = None) -> None:
    """Train a stage method (in this process's group, if any) and save the weights this rank ends with."""
    trainer = Trainer(
        config, features(), out / "run", method=METHODS[config.train.method], progress=False, dist=current()
    )
    trainer.run()
    torch.save(trainer.loop.done, out / f"weights{'' if rank is None else rank}.pt")


def _diffaug_weights(out: Path, config: Config, rank: int | None = None) -> None:
    fs = features()
    raw = input_vectors(fs.features[fs.window_mask("train")], config.diffaug, config.context, device="cpu")
    models = fit_diffaug(raw, config, out / "run", "cpu", progress=False, dist=current())
    torch.save(models.state_dict(), out / f"weights{'' if rank is None else rank}.pt")


def flat(state: dict) -> dict[str, torch.Tensor]:
    """The tensors of a nested state dict, by dotted name."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in flat(value).items()})
        elif isinstance(value, torch.Tensor):
            out[key] = value
    return out


def load_flat(path: Path) -> dict[str, torch.Tensor]:
    return flat(torch.load(path, weights_only=True))


# ------------------------------------------------------------------ tests


@pytest.mark.slow
@pytest.mark.parametrize("method", ["dacl", "dae"])
def test_two_ranks_end_equal_and_match_one_process_with_the_global_batch(tmp_path: Path, method: str) -> None:
    """DACL (VAE + SupCon encoder, projections gathered over the ranks) and the DAE baseline."""
    (tmp_path / "ddp").mkdir()
    run_ranks(tmp_path / "ddp", functools.partial(_trained_weights, tmp_path / "ddp", stage_config(method, 8)))
    _trained_weights(tmp_path, stage_config(method, 16))

    rank0, rank1 = load_flat(tmp_path / "ddp" / "weights0.pt"), load_flat(tmp_path / "ddp" / "weights1.pt")
    assert rank0.keys() == rank1.keys() and rank0
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    fs = features()
    two, one = (load_embedder(run).embed(fs.features) for run in (tmp_path / "ddp" / "run", tmp_path / "run"))
    np.testing.assert_allclose(two, one, rtol=0, atol=ATOL)
    histories = [json.loads((run / "history.json").read_text()) for run in (tmp_path / "ddp" / "run", tmp_path / "run")]
    for stage in METHODS[method].stages:
        losses = [[row["train_loss"] for row in h["stages"][stage]] for h in histories]
        np.testing.assert_allclose(*losses, rtol=1e-5)  # the loss of the global batch, reduced over the ranks
    assert (histories[0]["world_size"], histories[1]["world_size"]) == (2, 1)
    assert (
        histories[0]["global_batch_size"]
        == histories[1]["global_batch_size"]
        == {stage: 16 for stage in METHODS[method].stages}
    )


@pytest.mark.slow
def test_diffaug_ranks_end_equal_and_record_the_global_batch(tmp_path: Path) -> None:
    """DiffAug's soft contrastive loss over codes gathered from both ranks; its BatchNorm statistics are per
    rank on the CPU (DDP broadcasts rank 0's running statistics), so only rank equality is exact."""
    run_ranks(tmp_path, functools.partial(_diffaug_weights, tmp_path, diffaug_config(16)))
    rank0, rank1 = load_flat(tmp_path / "weights0.pt"), load_flat(tmp_path / "weights1.pt")
    assert rank0.keys() == rank1.keys() and rank0
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert (history["world_size"], history["global_batch_size"]) == (2, 32)


def _interrupted_then_resumed(out: Path, config: Config, rank: int) -> None:
    fs = features()
    train(config, fs, out / "full", progress=False)

    def stop(stage: str, epoch: int, _loss: float) -> None:
        if (stage, epoch) == ("encoder", 1):
            raise KeyboardInterrupt

    with contextlib.suppress(KeyboardInterrupt):
        train(config, fs, out / "resumed", progress=False, on_epoch_end=stop)
    torch_dist.barrier()  # rank 0 has written the checkpoint every rank resumes from
    train(config, fs, out / "resumed", progress=False, resume=True)


@pytest.mark.slow
def test_resume_under_ddp_equals_the_uninterrupted_run(tmp_path: Path) -> None:
    run_ranks(tmp_path, functools.partial(_interrupted_then_resumed, tmp_path, stage_config("dacl", 8)))
    full, resumed = load_flat(tmp_path / "full" / "model.pt"), load_flat(tmp_path / "resumed" / "model.pt")
    assert full.keys() == resumed.keys() and full
    for name in full:
        assert torch.equal(full[name], resumed[name]), name
    history = json.loads((tmp_path / "resumed" / "history.json").read_text())
    assert [row["epoch"] for row in history["stages"]["encoder"]] == [1, 2]


def _gathered(out: Path, rank: int) -> None:
    group = current()
    rows = torch.arange(3 * 2, dtype=torch.float64).reshape(3, 2)[slice(*group.bounds(3))].requires_grad_()
    everything = gather_rows(rows, 3, group)
    (everything * torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64)).sum().backward()
    torch.save({"gathered": everything.detach(), "grad": rows.grad}, out / f"gather{rank}.pt")


def test_gather_rows_concatenates_in_rank_order_and_sums_the_gradient_of_each_ranks_rows(tmp_path: Path) -> None:
    """3 rows over 2 ranks (1 and 2 rows): every rank sees all 3; each rank's rows get the gradient
    both ranks' (equal) losses give them, 2x the single-process one, which DDP's average halves."""
    run_ranks(tmp_path, functools.partial(_gathered, tmp_path))
    expect = torch.arange(6, dtype=torch.float64).reshape(3, 2)
    weights = torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64).expand(3, 2)
    for rank, (lo, hi) in enumerate(Distributed(0, 2).bounds(3, r) for r in range(2)):
        got = torch.load(tmp_path / f"gather{rank}.pt", weights_only=True)
        assert torch.equal(got["gathered"], expect)
        assert torch.equal(got["grad"], 2 * weights[lo:hi])


def test_a_single_process_shares_nothing() -> None:
    x = torch.ones(4, 3, requires_grad=True)
    assert gather_rows(x, 4, SINGLE) is x and SINGLE.local(x) is x and SINGLE.mean(2.5) == 2.5
    assert Distributed(1, 3).bounds(7) == (2, 4) and Distributed(2, 3).bounds(7) == (4, 7)


@pytest.mark.slow
def test_torchrun_trains_a_run_that_dacl_evaluate_scores(tmp_path: Path) -> None:
    data, run = tmp_path / "A", tmp_path / "R"
    assert cli_main(["preprocess", "--sample", "--out", str(data), "--no-progress"]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # torchrun, as the python module it is (the venv's python, whatever PATH says).
    args = f"--standalone --nproc-per-node 2 -m dacl train --config tiny --features {data} --device cpu --out {run}"
    command = [sys.executable, "-m", "torch.distributed.run", *args.split(), "--no-progress"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Warning" not in done.stderr, done.stderr[-2000:]
    assert done.stdout.count("run written to") == 1  # rank 0 reports
    history = json.loads((run / "history.json").read_text())
    assert history["world_size"] == 2
    assert (
        cli_main(["evaluate", str(run), "--features", str(data), "--out", str(tmp_path / "eval"), "--n-boot", "20"])
        == 0
    )
    assert any((tmp_path / "eval").iterdir())
