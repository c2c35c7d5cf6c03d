"""VAE, DAE and the U-Net encoder: shapes, loss and a short fit."""

from __future__ import annotations

import pytest
import torch

from dacl.embedding.nn.unet import UNet1DEncoder
from dacl.latent.vae import VAE, DenoisingAutoencoder, vae_loss


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


@pytest.mark.parametrize("time_conditioning", [False, True])
@pytest.mark.parametrize("readout", ["flatten", "mean"])
@pytest.mark.parametrize("latent_dim", [16, 13])
def test_unet_shapes(time_conditioning: bool, readout: str, latent_dim: int) -> None:
    enc = UNet1DEncoder(latent_dim, channels=(8, 16, 32), embed_dim=24, proj_dim=12,
                        time_conditioning=time_conditioning, readout=readout)  # type: ignore[arg-type]
    z = torch.randn(5, latent_dim)
    t = torch.randint(0, 100, (5,)) if time_conditioning else None
    out = enc(z, t)
    assert out.embedding.shape == (5, 24) and out.projection.shape == (5, 12)
    torch.testing.assert_close(out.projection.norm(dim=1), torch.ones(5))
    torch.testing.assert_close(enc.embed(z, t), out.embedding)
    with pytest.raises(ValueError, match="expected latents"):
        enc(torch.randn(5, latent_dim + 1))


def test_unet_time_conditioning_changes_output() -> None:
    torch.manual_seed(0)
    enc = UNet1DEncoder(8, channels=(8, 16), time_conditioning=True)
    z = torch.randn(3, 8)
    a = enc.embed(z, torch.zeros(3, dtype=torch.long))
    b = enc.embed(z, torch.full((3,), 50, dtype=torch.long))
    assert not torch.allclose(a, b)
    torch.testing.assert_close(enc.embed(z), a)  # t=None means clean, t = 0


def test_dae_shapes() -> None:
    dae = DenoisingAutoencoder(10, bottleneck=4, hidden=(16,))
    x = torch.randn(6, 10)
    assert dae(x).shape == (6, 10) and dae.encode(x).shape == (6, 4)
