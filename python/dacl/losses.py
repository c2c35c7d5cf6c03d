"""Contrastive losses.

Each loss is one small pure function over L2-normalised features, in the
layout of SupContrast: ``features`` is ``(batch, n_views, dim)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def supcon_loss(
    features: torch.Tensor,
    labels: torch.Tensor | None = None,
    temperature: float = 0.1,
) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020, "SupCon", eq. 2, L_out).

    Every view is an anchor. Its positives are the other views of the same
    sample and, when ``labels`` is given, every view of every other sample
    with the same label; all other views in the batch are negatives. The
    anchor itself is excluded from numerator and denominator. Without labels
    this is SimCLR's NT-Xent (Chen et al. 2020).

    A label of ``-1`` (unlabelled) matches no other sample, so such a sample
    only has its own views as positives.

    Args:
        features: ``(B, V, d)`` L2-normalised projections (V views per sample).
        labels: ``(B,)`` integer class labels, or ``None`` for SimCLR.
        temperature: softmax temperature τ > 0.

    Returns:
        Scalar loss: mean over anchors that have at least one positive of
        ``-mean_{p in P(i)} log softmax_i(z_i·z_p/τ)``.
    """
    if features.ndim != 3:
        raise ValueError(f"features must be (batch, n_views, dim), got shape {tuple(features.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    batch, n_views, _ = features.shape
    # Computed in float32 even under autocast: log-sum-exp over 1/τ-scaled logits.
    z = features.float().reshape(batch * n_views, -1)
    sample = torch.arange(batch, device=z.device).repeat_interleave(n_views)

    positive = sample[:, None] == sample[None, :]
    if labels is not None:
        if labels.shape != (batch,):
            raise ValueError(f"labels must have shape ({batch},), got {tuple(labels.shape)}")
        lab = labels.to(z.device)[sample]
        positive = positive | ((lab[:, None] == lab[None, :]) & (lab[:, None] >= 0))
    self_mask = torch.eye(batch * n_views, dtype=torch.bool, device=z.device)
    positive = positive & ~self_mask

    logits = z @ z.T / temperature
    # Excluding self from the softmax denominator: -inf on the diagonal.
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)

    n_pos = positive.sum(dim=1)
    has_pos = n_pos > 0
    if not bool(has_pos.any()):
        raise ValueError("no anchor has a positive: need n_views >= 2 or repeated labels")
    mean_log_prob_pos = log_prob.masked_fill(~positive, 0.0).sum(dim=1)[has_pos] / n_pos[has_pos]
    return -mean_log_prob_pos.mean()


def l2_normalise(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``x / ||x||`` along ``dim`` (eps-safe)."""
    return F.normalize(x, dim=dim)
