"""The VAE: its loss falls on structured data, and its KL term is zero at the prior."""

from __future__ import annotations

import pytest
import torch

from dacl.latent.vae import VAE, vae_loss


def test_vae_loss_decreases_on_structured_data() -> None:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 3, generator=g) @ torch.randn(3, 20, generator=g)  # rank-3 data in 20-d
    vae = VAE(20, latent_dim=4, hidden=(32, 16))
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        loss, recon, kl = vae_loss(x, vae(x), beta=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10
    out = vae(x, sample=False)
    assert out.recon.shape == x.shape and out.mu.shape == (256, 4) and out.logvar.shape == (256, 4)
    torch.testing.assert_close(vae.encode(x)[0], out.mu)


def test_vae_kl_is_zero_at_the_prior() -> None:
    vae = VAE(5, latent_dim=3, hidden=(8,))
    x = torch.randn(4, 5)
    out = vae(x)
    prior = out._replace(mu=torch.zeros(4, 3), logvar=torch.zeros(4, 3))
    _, _, kl = vae_loss(x, prior)
    assert kl.item() == pytest.approx(0.0, abs=1e-7)
