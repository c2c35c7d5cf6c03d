"""DiffAug building blocks: soft contrastive loss, networks, EMA, diffusion training and samplers (CPU, tiny)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dacl.embedding.nn.diffaug import (
    EMA,
    ConditionalDenoiser,
    Diffusion,
    ProjectionHead,
    SemanticEncoder,
    VectorScaler,
    make_generator,
)
from dacl.embedding.losses import heavy_tailed_kernel, log_heavy_tailed_kernel, soft_contrastive_loss
from dacl.metrics import knn_accuracy



@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Toy-sized nets gain nothing from intra-op threads; on a shared 2-core box they only contend.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ------------------------------------------------------------- soft contrastive


@pytest.mark.parametrize(
    ("nu", "d", "expected", "rtol"),
    [(100.0, 0.0, 0.9945, 1e-3), (100.0, 1.0, 0.36, 2e-2), (0.01, 0.0, 0.0155, 1e-2)],
)
def test_kernel_reference_points(nu: float, d: float, expected: float, rtol: float) -> None:
    # Closed-form values of S_ν(d) = 2π g(ν)² (1 + d/ν)^-(ν+1) quoted in docs/diffaug-method.md §2.
    value = float(heavy_tailed_kernel(torch.tensor([d], dtype=torch.float64), nu))
    assert value == pytest.approx(expected, rel=rtol)


def test_kernel_matches_direct_formula_and_is_stable() -> None:
    d = torch.tensor([0.0, 0.5, 3.0, 1e6], dtype=torch.float64)
    for nu in (0.01, 1.0, 100.0):
        g = math.gamma((nu + 1) / 2) / (math.sqrt(nu * math.pi) * math.gamma(nu / 2))
        direct = 2 * math.pi * g**2 * (1 + d / nu) ** (-(nu + 1))
        torch.testing.assert_close(heavy_tailed_kernel(d, nu), direct, rtol=1e-10, atol=0.0)
    assert torch.isfinite(log_heavy_tailed_kernel(torch.tensor([1e30]), 0.01)).all()
    with pytest.raises(ValueError, match="nu"):
        heavy_tailed_kernel(d, 0.0)


def test_soft_contrastive_lower_for_aligned_pairs() -> None:
    g = torch.Generator().manual_seed(0)
    code = torch.randn(32, 8, generator=g)
    head = torch.randn(32, 2, generator=g) * 3
    aligned = head + 0.01 * torch.randn(32, 2, generator=g)
    shuffled = aligned[torch.randperm(32, generator=g)]
    assert soft_contrastive_loss(code, head, aligned) < soft_contrastive_loss(code, head, shuffled)


def test_soft_contrastive_gradients_finite_at_zero_distance() -> None:
    code = torch.zeros(6, 4, requires_grad=True)  # all codes equal: d = 0 everywhere
    head = torch.randn(6, 3, requires_grad=True)
    loss = soft_contrastive_loss(code, head, head.detach().clone().requires_grad_())
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(code.grad).all() and torch.isfinite(head.grad).all()


def test_soft_contrastive_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="head_pos"):
        soft_contrastive_loss(torch.zeros(4, 3), torch.zeros(4, 2), torch.zeros(5, 2))


# ---------------------------------------------------------------------- networks


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
    moved = lambda ema: min(float((q - s).min()) for q, s in zip(ema.model.parameters(), start, strict=True))
    assert moved(plain) < 0.1
    assert moved(warm) > 0.99
    assert warm.current_decay() < 0.9999 and plain.current_decay() == 0.9999
    resumed = EMA(net, decay=0.9999)
    resumed.load_state_dict(warm.state_dict())
    assert resumed.num_updates == 800 and resumed.current_decay() == warm.current_decay()


def test_vector_scaler_maps_to_unit_box_and_inverts() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 2.0, size=(500, 3))
    s = VectorScaler.fit(x, clip_sigma=3.0)
    y = s.transform(x)
    assert y.dtype == np.float32 and np.abs(y).max() <= 1.0
    inner = np.abs(y).max(axis=1) < 1.0
    back = s.inverse_torch(torch.from_numpy(y[inner]).double()).numpy()
    np.testing.assert_allclose(back, x[inner], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="NaN"):
        VectorScaler.fit(np.array([[np.nan], [1.0]]))


# --------------------------------------------------------------------- diffusion


@pytest.fixture(scope="module")
def diffusion() -> Diffusion:
    return Diffusion.from_native("cosine", 40, variance="fixed_small")


def test_schedule_that_does_not_reach_noise_is_refused() -> None:
    with pytest.raises(ValueError, match="pure noise"):
        Diffusion.from_native("linear", 10)  # 1e-4..2e-2 over 10 steps keeps ~90% of the signal


def test_ddim_all_steps_eta1_equals_ddpm_posterior_variance(diffusion: Diffusion) -> None:
    # Song et al. 2021 §4.1: η = 1 on all T steps is the DDPM ancestral sampler with σ² = β̃_t.
    torch.manual_seed(0)
    den = ConditionalDenoiser(5, 3, timesteps=40, hidden=16, n_blocks=2).eval()
    cond = torch.randn(6, 3)
    for clip in (1.0, None):
        a = diffusion.sample_ddpm(den, cond, clip=clip, generator=make_generator("cpu", 7))
        b = diffusion.sample_ddim(den, cond, steps=40, eta=1.0, clip=clip, generator=make_generator("cpu", 7))
        assert a.shape == (6, 5) and torch.isfinite(a).all()
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_samplers_deterministic_per_seed(diffusion: Diffusion) -> None:
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


def _train_denoiser(x: torch.Tensor, cond: torch.Tensor, diffusion: Diffusion, steps: int) -> tuple[ConditionalDenoiser, list[float]]:
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


def test_generator_loss_decreases_and_samples_follow_condition(diffusion: Diffusion) -> None:
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
    assert all(b < a * 1.1 for a, b in zip(losses, losses[1:])), losses  # no divergence along the way

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


# ------------------------------------------------------------------------ metric


def test_knn_accuracy_separable_vs_shuffled() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    good = knn_accuracy(x[:200], y[:200], x[200:], y[200:], k=5)
    bad = knn_accuracy(x[:200], rng.permutation(y[:200]), x[200:], y[200:], k=5)
    assert good > 0.85 and bad < 0.7
    with pytest.raises(ValueError, match="k must"):
        knn_accuracy(x[:3], y[:3], x[3:], y[3:], k=10)
