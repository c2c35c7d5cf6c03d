"""The one mixed-precision helper of every training loop (what a CPU can check of it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import ScaledOnCPU

from dacl.io.torchfiles import load_torch, torch_save
from dacl.training.precision import Precision, autocast_dtype

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_autocast_only_on_cuda_bf16_where_supported_else_fp16() -> None:
    assert autocast_dtype(CPU, True) is None
    assert autocast_dtype(CUDA, False, bf16_supported=True) is None
    assert autocast_dtype(CUDA, True, bf16_supported=True) is torch.bfloat16
    assert autocast_dtype(CUDA, True, bf16_supported=False) is torch.float16


def test_on_the_cpu_it_is_plain_float32_training() -> None:
    precision = Precision(CPU, enabled=True)
    assert not precision.enabled and not precision.loss_scaling and precision.label == "off"
    assert precision.state_dict() == {}

    def model_and_loss() -> tuple[torch.nn.Module, torch.Tensor]:
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 2)
        return model, model(torch.ones(3, 4)).pow(2).mean()

    a, loss_a = model_and_loss()
    opt_a = torch.optim.AdamW(a.parameters(), lr=0.1)
    with precision.autocast():
        precision.step(loss_a, opt_a)
    b, loss_b = model_and_loss()
    opt_b = torch.optim.AdamW(b.parameters(), lr=0.1)
    loss_b.backward()
    opt_b.step()
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)


def test_the_loss_scale_round_trips_through_a_weights_only_checkpoint(tmp_path: Path) -> None:
    precision = ScaledOnCPU(CPU, True)
    model = torch.nn.Linear(3, 1)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(3):
        precision.step(model(torch.ones(2, 3)).sum(), optimiser)
    assert precision.scaler.get_scale() == 2.0**23
    torch_save({"scaler": precision.state_dict()}, tmp_path / "checkpoint.pt")
    resumed = ScaledOnCPU(CPU, True)
    resumed.load_state_dict(load_torch(tmp_path / "checkpoint.pt")["scaler"])
    assert resumed.state_dict() == precision.state_dict()


def test_a_checkpoint_without_loss_scaling_resumes_with_a_fresh_scale() -> None:
    """A run started on the CPU (empty scaler state) may resume on a GPU that needs fp16 scaling."""
    precision = ScaledOnCPU(CPU, True)
    precision.load_state_dict({})
    assert precision.scaler.get_scale() == 2.0**20


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fp16_on_cuda_scales_the_loss() -> None:
    precision = Precision(CUDA, True, bf16_supported=False)
    assert precision.dtype is torch.float16 and precision.loss_scaling and precision.scaler.is_enabled()
