"""The contrastive losses: supcon_loss (Khosla et al. 2020) and DiffAug's soft contrastive loss and kernel."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dacl.embedding.losses import heavy_tailed_kernel, log_heavy_tailed_kernel, soft_contrastive_loss, supcon_loss

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def naive_supcon(features: torch.Tensor, labels: torch.Tensor | None, temperature: float) -> float:
    """Loop over anchors exactly as eq. 2 of Khosla et al. reads (float64, no tricks)."""
    b, v, _ = features.shape
    z = features.double().reshape(b * v, -1)
    sample = [i // v for i in range(b * v)]
    total, anchors = 0.0, 0
    for i in range(b * v):
        positives = [
            p
            for p in range(b * v)
            if p != i
            and (
                sample[p] == sample[i]
                or (labels is not None and labels[sample[p]] == labels[sample[i]] and labels[sample[i]] >= 0)
            )
        ]
        if not positives:
            continue
        denom = sum(math.exp(float(z[i] @ z[a]) / temperature) for a in range(b * v) if a != i)
        total += -sum(float(z[i] @ z[p]) / temperature - math.log(denom) for p in positives) / len(positives)
        anchors += 1
    return total / anchors


def random_features(b: int, v: int, d: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(b, v, d, generator=g), dim=-1)


@pytest.mark.parametrize("with_labels", [True, False])
def test_matches_naive_loop(with_labels: bool) -> None:
    feats = random_features(6, 3, 5)
    labels = torch.tensor([0, 1, 0, 2, 1, -1]) if with_labels else None
    got = supcon_loss(feats, labels, temperature=0.2).item()
    assert got == pytest.approx(naive_supcon(feats, labels, 0.2), rel=1e-5)


def test_invariant_to_sample_permutation() -> None:
    feats = random_features(8, 2, 4, seed=1)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(3))
    a = supcon_loss(feats, labels, 0.1)
    b = supcon_loss(feats[perm], labels[perm], 0.1)
    torch.testing.assert_close(a, b)


def test_aligned_positives_give_lower_loss_than_random() -> None:
    g = torch.Generator().manual_seed(2)
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    centres = F.normalize(torch.randn(4, 16, generator=g), dim=-1)
    aligned = F.normalize(centres[labels][:, None, :] + 0.05 * torch.randn(8, 2, 16, generator=g), dim=-1)
    random = random_features(8, 2, 16, seed=5)
    assert supcon_loss(aligned, labels, 0.1) < supcon_loss(random, labels, 0.1)
    # Unsupervised (SimCLR) as well: views of one sample identical vs unrelated.
    same = F.normalize(torch.randn(8, 1, 16, generator=g), dim=-1).expand(8, 2, 16)
    assert supcon_loss(same, None, 0.1) < supcon_loss(random, None, 0.1)


def test_gradient_is_finite_even_for_tiny_temperature() -> None:
    feats = random_features(5, 2, 3, seed=4).requires_grad_(True)
    loss = supcon_loss(feats, torch.tensor([0, 1, 0, 1, 1]), temperature=0.01)
    loss.backward()
    assert torch.isfinite(loss)
    assert feats.grad is not None and torch.isfinite(feats.grad).all()


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="batch, n_views"):
        supcon_loss(torch.zeros(4, 3), None)
    with pytest.raises(ValueError, match="temperature"):
        supcon_loss(random_features(2, 2, 3), None, temperature=0.0)
    with pytest.raises(ValueError, match="no anchor has a positive"):
        supcon_loss(random_features(3, 1, 3), torch.tensor([0, 1, 2]))


@pytest.mark.parametrize(
    ("nu", "d", "expected", "rtol"),
    [(100.0, 0.0, 0.9945, 1e-3), (100.0, 1.0, 0.36, 2e-2), (0.01, 0.0, 0.0155, 1e-2)],
)
def test_kernel_reference_points(nu: float, d: float, expected: float, rtol: float) -> None:
    # Closed-form values of S_ν(d) = 2π g(ν)² (1 + d/ν)^-(ν+1) quoted in docs/diffaug.md §2.
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


# --------------------------------------------------------------- several labels per sample


def supcon_before_multilabel(features: torch.Tensor, labels: torch.Tensor | None, temperature: float) -> torch.Tensor:
    """supcon_loss as it was before label-overlap weights (git 61f8ac8), verbatim but for the argument checks."""
    batch, n_views, _ = features.shape
    z = features.float().reshape(batch * n_views, -1)
    sample = torch.arange(batch, device=z.device).repeat_interleave(n_views)
    positive = sample[:, None] == sample[None, :]
    if labels is not None:
        lab = labels.to(z.device)[sample]
        positive = positive | ((lab[:, None] == lab[None, :]) & (lab[:, None] >= 0))
    self_mask = torch.eye(batch * n_views, dtype=torch.bool, device=z.device)
    positive = positive & ~self_mask
    logits = z @ z.T / temperature
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    n_pos = positive.sum(dim=1)
    has_pos = n_pos > 0
    mean_log_prob_pos = log_prob.masked_fill(~positive, 0.0).sum(dim=1)[has_pos] / n_pos[has_pos]
    return -mean_log_prob_pos.mean()


@pytest.mark.parametrize("seed", range(4))
def test_single_labels_give_todays_loss_and_gradient_bit_for_bit(seed: int) -> None:
    """Class indices, and the same labels as one-hot rows, give exactly the loss (and gradient) of before."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(-1, 4, (16,), generator=g)
    one_hot = torch.zeros(16, 4)
    one_hot[labels >= 0, labels[labels >= 0]] = 1.0
    for given in (labels, one_hot, None):
        a = random_features(16, 3, 8, seed=seed).requires_grad_(True)
        b = a.detach().clone().requires_grad_(True)
        new, old = supcon_loss(a, given, 0.1), supcon_before_multilabel(b, None if given is None else labels, 0.1)
        new.backward()
        old.backward()
        assert torch.equal(new, old) and torch.equal(a.grad, b.grad)


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def naive_multilabel_supcon(
    features: torch.Tensor, targets: torch.Tensor, temperature: float, overlap=jaccard
) -> float:
    """The weighted loss as the docstring states it, anchor by anchor (float64): w = 1 for the sample's other
    views, ``overlap`` (the Jaccard index) of the label sets for other samples' views."""
    b, v, _ = features.shape
    z = features.double().reshape(b * v, -1)
    sets = [set(torch.nonzero(t).flatten().tolist()) for t in targets]
    total, anchors = 0.0, 0
    for i in range(b * v):
        weights = {}
        for p in range(b * v):
            if p == i:
                continue
            si, sp = sets[i // v], sets[p // v]
            w = 1.0 if i // v == p // v else overlap(si, sp)
            if w > 0:
                weights[p] = w
        if not weights:
            continue
        log_denom = math.log(sum(math.exp(float(z[i] @ z[a]) / temperature) for a in range(b * v) if a != i))
        total += -sum(w * (float(z[i] @ z[p]) / temperature - log_denom) for p, w in weights.items()) / sum(
            weights.values()
        )
        anchors += 1
    return total / anchors


def test_several_labels_weight_positives_by_their_overlap() -> None:
    feats = random_features(6, 2, 5, seed=7)
    targets = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.float32)
    got = supcon_loss(feats, targets, temperature=0.2).item()
    assert got == pytest.approx(naive_multilabel_supcon(feats, targets, 0.2), rel=1e-5)
    # The weights matter: "any shared label is a full positive" gives another loss.
    any_shared = naive_multilabel_supcon(feats, targets, 0.2, overlap=lambda a, b: float(bool(a & b)))
    assert got != pytest.approx(any_shared, rel=1e-3)
    # A sample without labels has only its own views as positives, like label -1.
    lone = torch.zeros(2, 3)
    assert supcon_loss(feats[:2], lone, 0.2).item() == pytest.approx(supcon_loss(feats[:2], None, 0.2).item())
    with pytest.raises(ValueError, match="0 or 1"):
        supcon_loss(feats, targets * 2, 0.2)
    with pytest.raises(ValueError, match=r"\(6,\) or \(6, classes\)"):
        supcon_loss(feats, targets[:4], 0.2)
