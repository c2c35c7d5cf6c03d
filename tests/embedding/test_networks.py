"""The encoders: the U-Net, the DAE, and DiffAug's encoder, head and conditional denoiser."""

from __future__ import annotations

import pytest
import torch

from dacl.embedding.nn.dae import DenoisingAutoencoder
from dacl.embedding.nn.diffaug import ConditionalDenoiser, ProjectionHead, SemanticEncoder
from dacl.embedding.nn.unet import UNet1DEncoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("time_conditioning", [False, True])
@pytest.mark.parametrize("readout", ["flatten", "mean"])
@pytest.mark.parametrize("latent_dim", [16, 13])
def test_unet_shapes(time_conditioning: bool, readout: str, latent_dim: int) -> None:
    enc = UNet1DEncoder(
        latent_dim,
        channels=(8, 16, 32),
        embed_dim=24,
        proj_dim=12,
        time_conditioning=time_conditioning,
        readout=readout,
    )  # type: ignore[arg-type]
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


def test_network_shapes() -> None:
    enc = SemanticEncoder(12, (32, 32), 5)
    head = ProjectionHead(5, (16,), 2)
    den = ConditionalDenoiser(12, 5, timesteps=50, hidden=24, n_blocks=3)
    x = torch.randn(7, 12)
    z = enc(x)
    assert z.shape == (7, 5) and head(z).shape == (7, 2)
    assert den(x, torch.randint(0, 50, (7,)), z).shape == (7, 12)
    learned = ConditionalDenoiser(12, 5, timesteps=50, hidden=24, n_blocks=1, time_embedding="learned")
    assert learned(x, torch.zeros(7, dtype=torch.long), z).shape == (7, 12)


def test_denoiser_uses_condition_and_time() -> None:
    torch.manual_seed(0)
    den = ConditionalDenoiser(6, 3, timesteps=20, hidden=16, n_blocks=2)
    x, t, c = torch.randn(4, 6), torch.full((4,), 5), torch.randn(4, 3)
    base = den(x, t, c)
    assert not torch.allclose(base, den(x, t, c + 1.0))
    assert not torch.allclose(base, den(x, torch.full((4,), 15), c))
