"""Contrastive losses.

Each loss is one small pure function over L2-normalised features, in the
layout of SupContrast: ``features`` is ``(batch, n_views, dim)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def supcon_loss(
    features: torch.Tensor,
    labels: torch.Tensor | None = None,
    temperature: float = 0.1,
) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020, "SupCon", eq. 2, L_out), with label-overlap weights
    for several labels per sample.

    Every view is an anchor ``i``. Each other view ``p`` of the batch has a weight
    ``w_ip``: 1 for the other views of the same sample; for a view of another sample,
    1 if the two samples share their label and 0 if not (``labels`` of shape ``(B,)``),
    or the Jaccard index ``|Y_i ∩ Y_p| / |Y_i ∪ Y_p|`` of their label sets (``labels``
    multi-hot, ``(B, C)``); 0 without ``labels``. The loss of an anchor is

        ``-sum_p w_ip log softmax_i(z_i·z_p/τ) / sum_p w_ip``

    (the softmax over every view but ``i``), averaged over the anchors with some
    positive weight. With 0/1 weights this is SupCon exactly (the mean over the
    positives ``P(i)``), so single-label data, given as class indices or as one-hot
    rows, get the very same loss; without labels it is SimCLR's NT-Xent (Chen et al.
    2020). Weighting positives by how much their labels overlap the anchor's is the
    multi-label SupCon idea of Zhang & Wu, "Multi-Label Supervised Contrastive
    Learning" (AAAI 2024); the Jaccard index is our choice of that overlap measure.

    A label of ``-1`` (unlabelled), or an all-zero multi-hot row, matches no other
    sample, so such a sample only has its own views as positives.

    Args:
        features: ``(B, V, d)`` L2-normalised projections (V views per sample).
        labels: ``(B,)`` integer class labels, ``(B, C)`` multi-hot rows, or ``None`` for SimCLR.
        temperature: softmax temperature τ > 0.

    Returns:
        Scalar loss.
    """
    if features.ndim != 3:
        raise ValueError(f"features must be (batch, n_views, dim), got shape {tuple(features.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    batch, n_views, _ = features.shape
    # Computed in float32 even under autocast: log-sum-exp over 1/τ-scaled logits.
    z = features.float().reshape(batch * n_views, -1)
    sample = torch.arange(batch, device=z.device).repeat_interleave(n_views)
    self_mask = torch.eye(batch * n_views, dtype=torch.bool, device=z.device)
    weight = positive_weights(labels, batch, z.device)[sample][:, sample]
    weight = torch.where(sample[:, None] == sample[None, :], 1.0, weight).masked_fill(self_mask, 0.0)

    logits = z @ z.T / temperature
    # Excluding self from the softmax denominator: -inf on the diagonal.
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)

    total = weight.sum(dim=1)
    has_pos = total > 0
    if not bool(has_pos.any()):
        raise ValueError("no anchor has a positive: need n_views >= 2 or repeated labels")
    weighted = (log_prob.masked_fill(weight == 0, 0.0) * weight).sum(dim=1)
    return -(weighted[has_pos] / total[has_pos]).mean()


def positive_weights(labels: torch.Tensor | None, batch: int, device: torch.device) -> torch.Tensor:
    """``(B, B)`` float weights between samples (before views): shared class (0/1), Jaccard index of the label
    sets (multi-hot rows), or 0 without labels; see :func:`supcon_loss`."""
    if labels is None:
        return torch.zeros((batch, batch), device=device)
    if labels.shape[0] != batch or labels.ndim not in (1, 2):
        raise ValueError(f"labels must have shape ({batch},) or ({batch}, classes), got {tuple(labels.shape)}")
    labels = labels.to(device)
    if labels.ndim == 1:
        return ((labels[:, None] == labels[None, :]) & (labels[:, None] >= 0)).float()
    y = labels.float()
    if not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("multi-hot labels must be 0 or 1")
    inter = y @ y.T
    union = y.sum(dim=1)[:, None] + y.sum(dim=1)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp_min(1.0), 0.0)


def l2_normalise(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``x / ||x||`` along ``dim`` (eps-safe)."""
    return F.normalize(x, dim=dim)


# --------------------------------------------------------------- DiffAug (soft contrastive)


def log_heavy_tailed_kernel(sq_dist: torch.Tensor, nu: float) -> torch.Tensor:
    """``log S_ν(d)`` for ``S_ν(d) = 2π g(ν)² (1 + d/ν)^-(ν+1)``, ``g(ν) = Γ((ν+1)/2) / (√(νπ) Γ(ν/2))``.

    The DLME/DMT-EV similarity used by DiffAug (Zang et al. 2024) on *squared*
    distances ``d``; ``g`` is the Student-t density at 0. Large ν is nearly
    Gaussian, small ν very heavy-tailed. Computed in log space with lgamma and
    log1p, so tiny ν (Γ(ν/2) ~ 2/ν) and large d stay finite. (The released code
    writes 2π as 2·3.14; we use π.)
    """
    if nu <= 0:
        raise ValueError(f"nu must be > 0, got {nu}")
    log_g = math.lgamma((nu + 1.0) / 2.0) - 0.5 * math.log(nu * math.pi) - math.lgamma(nu / 2.0)
    return math.log(2.0 * math.pi) + 2.0 * log_g - (nu + 1.0) * torch.log1p(sq_dist / nu)


def heavy_tailed_kernel(sq_dist: torch.Tensor, nu: float) -> torch.Tensor:
    """``S_ν(d)``, see :func:`log_heavy_tailed_kernel`."""
    return torch.exp(log_heavy_tailed_kernel(sq_dist, nu))


def _squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(n, m)`` squared Euclidean distances; no sqrt, so the gradient at d = 0 is finite."""
    d = a.square().sum(1, keepdim=True) + b.square().sum(1)[None, :] - 2.0 * a @ b.T
    return d.clamp_min(0.0)


def soft_contrastive_loss(
    code: torch.Tensor,
    head: torch.Tensor,
    head_pos: torch.Tensor,
    nu_p: float = 100.0,
    nu_q: float = 0.01,
    eps: float = 1e-5,
    detach_p: bool = False,
) -> torch.Tensor:
    """DiffAug's soft contrastive loss L_SCL (Zang et al. 2024; the released ``LossManifold``).

    ``P_ij = S_{ν_P}(‖z_i − z_j‖²)`` between the encoder codes of the B
    originals is a soft target: near-duplicates in code space are not pushed
    apart as hard negatives. ``Q_ij = S_{ν_Q}(‖h_i − h⁺_j‖²)`` compares each
    original's head output with every positive's. The loss is the mean over
    (i, j) of the two-way cross-entropy
    ``−[P_ij log(Q_ij + ε) + (1 − P_ij) log(1 − Q_ij + ε)]``.

    As in the released code P keeps its gradient (``detach_p=False``), which
    also spreads the codes apart; ``detach_p=True`` makes P a fixed target.

    Args:
        code: ``(B, c)`` encoder codes of the originals.
        head: ``(B, h)`` projection-head outputs of the originals.
        head_pos: ``(B, h)`` projection-head outputs of their positives (row i ↔ row i).
        nu_p, nu_q: kernel degrees of freedom for P and Q.
        eps: the released code's 1e-5 inside both logs.

    Returns:
        Scalar loss.
    """
    if code.ndim != 2 or head.ndim != 2 or head_pos.shape != head.shape or code.shape[0] != head.shape[0]:
        raise ValueError(
            "expected code (B, c), head (B, h), head_pos (B, h); got "
            f"{tuple(code.shape)}, {tuple(head.shape)}, {tuple(head_pos.shape)}"
        )
    # float32 even under autocast: the kernels span many orders of magnitude.
    code, head, head_pos = code.float(), head.float(), head_pos.float()
    p = heavy_tailed_kernel(_squared_distances(code, code), nu_p)
    if detach_p:
        p = p.detach()
    q = heavy_tailed_kernel(_squared_distances(head, head_pos), nu_q)
    bce = -(p * torch.log(q + eps) + (1.0 - p) * torch.log(1.0 - q + eps))
    return bce.mean()
