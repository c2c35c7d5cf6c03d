"""Forward-diffusion views (torch side) against the Rust NoiseSchedule; Gaussian views; DiffAug's DDPM samplers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from dacl._native import NoiseSchedule
from dacl.devices import make_generator
from dacl.embedding.nn.diffaug import ConditionalDenoiser, SemanticEncoder
from dacl.views.diffusion import (
    GaussianDiffusion,
    alphas_cumprod,
    diffusion_views,
    q_sample,
    sample_timesteps,
)
from dacl.views.gaussian import gaussian_views

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_alphas_cumprod_comes_from_rust_with_clean_step_prepended() -> None:
    abar = alphas_cumprod("cosine", 50)
    ref = NoiseSchedule("cosine", 50).alphas_cumprod
    assert abar.shape == (51,) and abar.dtype == torch.float32
    assert abar[0].item() == 1.0
    np.testing.assert_allclose(abar[1:].numpy(), ref.astype(np.float32))
    custom = alphas_cumprod("linear", 10, beta_start=0.01, beta_end=0.2)
    np.testing.assert_allclose(
        custom[1:].numpy(), NoiseSchedule("linear", 10, beta_start=0.01, beta_end=0.2).alphas_cumprod.astype(np.float32)
    )


@pytest.mark.parametrize("t_fixed", [1, 40, 300])
def test_view_statistics_match_the_closed_form(t_fixed: int) -> None:
    """With t fixed, views of one z0 have mean sqrt(ᾱ_t) z0 and variance 1 - ᾱ_t per dimension."""
    abar = alphas_cumprod("linear", 1000)
    z0 = torch.tensor([[2.0, -1.0, 0.5, 0.0]])
    g = torch.Generator().manual_seed(0)
    n = 20000
    if t_fixed == 1:  # through diffusion_views: t_max = 1 pins t
        views, t = diffusion_views(z0.expand(n, 4), 1, 1, abar, g)
        assert (t == 1).all()
        views = views[:, 0]
    else:
        noise = torch.randn((n, 4), generator=g)
        views = q_sample(z0.expand(n, 4), torch.full((n,), t_fixed), abar, noise)
    a = abar[t_fixed].item()
    se_mean = np.sqrt((1 - a) / n)
    torch.testing.assert_close(views.mean(0), np.sqrt(a) * z0[0], atol=5 * se_mean, rtol=0)
    torch.testing.assert_close(views.var(0), torch.full((4,), 1 - a), atol=5 * (1 - a) * np.sqrt(2 / n), rtol=0)


def test_torch_q_sample_agrees_with_rust_given_the_same_noise() -> None:
    schedule = NoiseSchedule("linear", 1000)
    abar = alphas_cumprod("linear", 1000)
    rng = np.random.default_rng(1)
    z0 = rng.normal(size=(6, 5))
    t = rng.integers(1, 1001, size=(6, 3))
    z_rust, eps = schedule.q_sample(z0, t - 1, seed=7)  # Rust index t-1 is step t
    z_torch = q_sample(torch.from_numpy(z0)[:, None, :], torch.from_numpy(t), abar.double(), torch.from_numpy(eps))
    np.testing.assert_allclose(z_torch.numpy(), z_rust, rtol=1e-6, atol=1e-6)


def test_timesteps_cover_1_to_t_max_and_views_are_seeded() -> None:
    g = torch.Generator().manual_seed(3)
    t = sample_timesteps(5000, 2, 7, g)
    assert t.min().item() == 1 and t.max().item() == 7
    abar = alphas_cumprod("linear", 100)
    z0 = torch.randn(4, 6)
    v1, t1 = diffusion_views(z0, 3, 20, abar, torch.Generator().manual_seed(9))
    v2, t2 = diffusion_views(z0, 3, 20, abar, torch.Generator().manual_seed(9))
    assert v1.shape == (4, 3, 6) and t1.shape == (4, 3)
    torch.testing.assert_close(v1, v2)
    assert torch.equal(t1, t2)
    with pytest.raises(ValueError, match="exceeds"):
        diffusion_views(z0, 2, 101, abar, g)
    with pytest.raises(ValueError, match="t_max"):
        sample_timesteps(2, 2, 0, g)


def test_gaussian_views_statistics() -> None:
    z0 = torch.tensor([[1.0, -2.0]])
    views = gaussian_views(z0.expand(20000, 2), 2, 0.3, torch.Generator().manual_seed(4))
    assert views.shape == (20000, 2, 2)
    torch.testing.assert_close(views.mean((0, 1)), z0[0], atol=0.01, rtol=0)
    torch.testing.assert_close(views.std((0, 1)), torch.full((2,), 0.3), atol=0.01, rtol=0)


@pytest.fixture(scope="module")
def diffusion() -> GaussianDiffusion:
    return GaussianDiffusion.from_native("cosine", 40, variance="fixed_small")


def test_schedule_that_does_not_reach_noise_is_refused() -> None:
    with pytest.raises(ValueError, match="pure noise"):
        GaussianDiffusion.from_native("linear", 10)  # 1e-4..2e-2 over 10 steps keeps ~90% of the signal


def test_ddim_all_steps_eta1_equals_ddpm_posterior_variance(diffusion: GaussianDiffusion) -> None:
    # Song et al. 2021 §4.1: η = 1 on all T steps is the DDPM ancestral sampler with σ² = β̃_t.
    torch.manual_seed(0)
    den = ConditionalDenoiser(5, 3, timesteps=40, hidden=16, n_blocks=2).eval()
    cond = torch.randn(6, 3)
    for clip in (1.0, None):
        a = diffusion.sample_ddpm(den, cond, clip=clip, generator=make_generator("cpu", 7))
        b = diffusion.sample_ddim(den, cond, steps=40, eta=1.0, clip=clip, generator=make_generator("cpu", 7))
        assert a.shape == (6, 5) and torch.isfinite(a).all()
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_samplers_deterministic_per_seed(diffusion: GaussianDiffusion) -> None:
    torch.manual_seed(0)
    den = ConditionalDenoiser(5, 3, timesteps=40, hidden=16, n_blocks=2).eval()
    cond = torch.randn(4, 3)
    for sample in (
        lambda g: diffusion.sample_ddpm(den, cond, generator=g),
        lambda g: diffusion.sample_ddim(den, cond, steps=8, eta=0.5, generator=g),
    ):
        a, b, c = sample(make_generator("cpu", 1)), sample(make_generator("cpu", 1)), sample(make_generator("cpu", 2))
        assert torch.equal(a, b) and not torch.equal(a, c)
        assert a.abs().max() <= 1.0 + 1e-6  # final x = clipped x̂0
    with pytest.raises(ValueError, match="steps"):
        diffusion.sample_ddim(den, cond, steps=0)


def _clustered(n_per: int, dim: int, n_clusters: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(n_clusters, dim, generator=g) * 1.2 - 0.6
    labels = torch.arange(n_clusters).repeat_interleave(n_per)
    x = centres[labels] + 0.05 * torch.randn(len(labels), dim, generator=g)
    return x, labels


def _train_denoiser(
    x: torch.Tensor, cond: torch.Tensor, diffusion: GaussianDiffusion, steps: int
) -> tuple[ConditionalDenoiser, list[float]]:
    torch.manual_seed(0)
    den = ConditionalDenoiser(x.shape[1], cond.shape[1], timesteps=diffusion.timesteps, hidden=128, n_blocks=2)
    opt = torch.optim.Adam(den.parameters(), lr=2e-3)
    g = make_generator("cpu", 0)
    eval_g = torch.Generator().manual_seed(123)

    def held_out_loss() -> float:
        eval_g.manual_seed(123)  # same t and ε every time
        with torch.no_grad():
            return float(diffusion.loss(den, x, cond, eval_g))

    losses = [held_out_loss()]
    for i in range(steps):
        idx = torch.randint(0, x.shape[0], (64,), generator=g)
        loss = diffusion.loss(den, x[idx], cond[idx], g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (i + 1) % (steps // 4) == 0:
            losses.append(held_out_loss())
    return den, losses


@pytest.mark.slow
def test_generator_loss_decreases_and_samples_follow_condition(diffusion: GaussianDiffusion) -> None:
    x, labels = _clustered(64, 16, 4, seed=0)
    torch.manual_seed(0)
    enc = SemanticEncoder(16, (32,), 4)
    enc.train()
    with torch.no_grad():
        enc(x)  # fit BatchNorm statistics once, then freeze (Enc is in eval mode during the M phase)
    enc.eval()
    with torch.no_grad():
        cond = enc(x)
    den, losses = _train_denoiser(x, cond, diffusion, steps=800)
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(b < a * 1.1 for a, b in itertools.pairwise(losses)), losses  # no divergence along the way

    # Condition on one sample per cluster; samples should land nearer their own sample than other points.
    picks = torch.tensor([0, 64, 128, 192])
    cond_rep = cond[picks].repeat_interleave(16, 0)
    samples = diffusion.sample_ddim(den.eval(), cond_rep, steps=20, eta=1.0, generator=make_generator("cpu", 3))
    own = x[picks].repeat_interleave(16, 0)
    d_own = (samples - own).norm(dim=1).mean()
    d_other = torch.cdist(samples, x).mean()
    assert d_own < 0.5 * d_other, (float(d_own), float(d_other))
    nearest_label = labels[torch.cdist(samples, x).argmin(dim=1)]
    assert (nearest_label == labels[picks].repeat_interleave(16)).float().mean() > 0.8
