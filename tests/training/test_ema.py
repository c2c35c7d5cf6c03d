"""The EMA of DiffAug's denoiser: starts as a copy, tracks, warms up, resumes."""

from __future__ import annotations

import pytest
import torch

from dacl.embedding.nn.diffaug import ConditionalDenoiser
from dacl.training.ema import EMA

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_ema_starts_as_copy_and_tracks() -> None:
    torch.manual_seed(0)
    net = ConditionalDenoiser(6, 3, timesteps=20, hidden=16, n_blocks=2)
    ema = EMA(net, decay=0.5, warmup=False)
    for p, q in zip(net.parameters(), ema.model.parameters(), strict=True):
        assert torch.equal(p, q) and p.data_ptr() != q.data_ptr() and not q.requires_grad
    before = [q.clone() for q in ema.model.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    ema.update(net)
    for b, q in zip(before, ema.model.parameters(), strict=True):
        torch.testing.assert_close(q, b + 0.5)
    with pytest.raises(ValueError, match="decay"):
        EMA(net, decay=1.0)


def test_ema_warmup_follows_a_short_run_and_resumes() -> None:
    """With decay 0.9999 and no warm-up, 800 updates leave ~92 % of the initial
    weights in the EMA; with the warm-up the EMA follows the trained net."""
    torch.manual_seed(0)
    net = ConditionalDenoiser(6, 3, timesteps=20, hidden=16, n_blocks=2)
    plain, warm = EMA(net, decay=0.9999, warmup=False), EMA(net, decay=0.9999)
    start = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)  # "training" moved every weight by 1
    for _ in range(800):
        plain.update(net)
        warm.update(net)

    def moved(ema) -> float:
        return min(float((q - s).min()) for q, s in zip(ema.model.parameters(), start, strict=True))

    assert moved(plain) < 0.1
    assert moved(warm) > 0.99
    assert warm.current_decay() < 0.9999 and plain.current_decay() == 0.9999
    resumed = EMA(net, decay=0.9999)
    resumed.load_state_dict(warm.state_dict())
    assert resumed.num_updates == 800 and resumed.current_decay() == warm.current_decay()
