"""The report's figures, drawn on matplotlib's Agg canvas directly (no pyplot, no global backend).

* :func:`plot_roc`: AF-vs-rest ROC curves, one per method;
* :func:`plot_label_auroc`: multi-label data: each label's AUROC with its CI, per method;
* :func:`plot_robustness`: AUROC vs the level of each corruption kind (white noise, wander, mains, ...);
* :func:`plot_embedding_map`: 2-D PCA of the test records' embeddings, by class (or main label);
* :func:`plot_tmax`: AUROC vs the diffusion ``t_max``, when runs record one;
* :func:`plot_af_by_split`: AF AUROC per record-level split, methods side by side;
* :func:`plot_generated_views`: DiffAug's generated views beside their originals.

Every figure is written through :func:`save_png` (atomically).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dacl.corpus.cinc2017 import CLASSES
from dacl.io.atomic import atomic_output

#: The metrics of a results table, and how the report names them.
METRIC_LABELS = {
    "auroc_af": "AUROC AF-vs-rest",
    "auroc_macro_ovr": "AUROC macro OvR",
    "f1_challenge": "Challenge F1 (N,A,O)",
    "accuracy": "Accuracy",
}
#: The multi-label headline metric, and how the report names it.
MULTI_LABEL_METRIC_LABELS = {"auroc_macro": "macro AUROC over labels"}
CLASS_COLOURS = {"N": "tab:blue", "A": "tab:red", "O": "tab:green", "~": "tab:gray"}


def save_png(fig: Figure, path: Path) -> None:
    """Write ``fig`` as a PNG at ``path`` (atomically)."""
    FigureCanvasAgg(fig)
    with atomic_output(path) as f:
        fig.savefig(f, format="png", dpi=130, bbox_inches="tight")


# --------------------------------------------------------------------- plots


def plot_roc(methods: list[dict[str, Any]], path: Path) -> None:
    fig = Figure(figsize=(5.2, 5))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=1, label="chance")
    for m in methods:
        auc = m["metrics"]["auroc_af"]
        ax.plot(
            m["roc_af"]["fpr"],
            m["roc_af"]["tpr"],
            lw=1.8,
            label=f"{m['method']}  {auc['value']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]",
        )
    ax.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        xlim=(0, 1),
        ylim=(0, 1.01),
        title="AF vs rest, per record (AUROC, 95% CI)",
    )
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=7)
    save_png(fig, path)


#: Panel titles of the corruption kinds (dacl.probe.corruptions.KINDS) in the robustness figure.
KIND_TITLES = {
    "awgn": "White Gaussian noise",
    "wander": "Baseline wander (0.1-0.5 Hz)",
    "powerline50": "Mains 50 Hz + harmonics",
    "powerline60": "Mains 60 Hz + harmonics",
    "emg": "EMG bursts (20-150 Hz)",
    "motion": "Electrode-motion transients",
    "steps": "Baseline steps",
    "pink": "Pink (1/f) noise",
    "brown": "Brown (1/f^2) noise",
}


def plot_robustness(
    curves: list[dict[str, Any]],
    path: Path,
    metric: str = "auroc_af",
    title: str = "Clean-trained probe on corrupted test records (dotted: clean; band: 95% CI)",
) -> None:
    """One panel per corruption kind (in the curves' order): each method's metric against the level, its
    ``low``-``high`` band shaded."""
    from dacl.probe.corruptions import SNR_KINDS

    kinds = list(dict.fromkeys(p["kind"] for c in curves for p in c["points"] if p["kind"] != "clean")) or ["awgn"]
    cols = min(len(kinds), 4)
    rows = -(-len(kinds) // cols)
    # Constrained layout: a panel's title stays clear of the x label of the panel above it.
    fig = Figure(figsize=(2.6 * cols + 2, 3.4 * rows + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharey=True, squeeze=False)).ravel()
    for i, curve in enumerate(curves):
        colour = f"C{i}"
        pts = curve["points"]
        clean = next((p for p in pts if p["kind"] == "clean"), None)
        for ax, kind in zip(axes, kinds, strict=False):
            sel = sorted((p for p in pts if p["kind"] == kind), key=lambda p: p["level"])
            if not sel:
                continue
            x = np.array([p["level"] for p in sel])
            est = [p["metrics"][metric] for p in sel]
            v = np.array([e["value"] for e in est])
            lo = np.array([e["low"] for e in est])
            hi = np.array([e["high"] for e in est])
            ax.plot(x, v, "o-", color=colour, label=curve["method"])
            ax.fill_between(x, lo, hi, color=colour, alpha=0.15, lw=0)
            if clean is not None:
                ax.axhline(clean["metrics"][metric]["value"], color=colour, ls=":", lw=1)
    for ax, kind in zip(axes, kinds, strict=False):
        snr = kind in SNR_KINDS
        ax.set(xlabel="nominal SNR (dB)" if snr else "RMS / signal std", title=KIND_TITLES.get(kind, kind))
        if snr:
            ax.invert_xaxis()  # noisier to the right
        ax.grid(alpha=0.3)
    for ax in axes[len(kinds) :]:
        ax.set_visible(False)
    axes[0].set_ylabel({**METRIC_LABELS, **MULTI_LABEL_METRIC_LABELS}.get(metric, metric))
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(title, fontsize=10)
    save_png(fig, path)


def plot_label_auroc(methods: list[dict[str, Any]], path: Path) -> None:
    """Each label's AUROC [95 % CI] on the test records, one marker per method (multi-label results)."""
    codes = list(dict.fromkeys(c for m in methods for c in m.get("auroc_per_label", {})))
    fig = Figure(figsize=(6.5, 1.2 + 0.28 * max(len(codes), 1)))
    ax = fig.add_subplot()
    rows = np.arange(len(codes))
    for i, m in enumerate(methods):
        per = m.get("auroc_per_label", {})
        y = rows + (i - (len(methods) - 1) / 2) * 0.8 / max(len(methods), 1)
        have = [k for k, c in enumerate(codes) if c in per]
        value = np.array([per[codes[k]]["value"] for k in have])
        low = np.array([per[codes[k]]["low"] for k in have])
        high = np.array([per[codes[k]]["high"] for k in have])
        ax.errorbar(
            value,
            y[have],
            xerr=[value - low, high - value],
            fmt="o",
            ms=3.5,
            capsize=2,
            lw=1,
            label=f"{m['method']} (macro {m['metrics']['auroc_macro']['value']:.3f})",
            color=f"C{i}",
        )
    ax.axvline(0.5, color="0.6", ls="--", lw=1)
    ax.set_yticks(rows, codes, fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="AUROC on the test records (95% CI)", xlim=(0, 1.01), title="AUROC per label")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7, loc="lower left")
    save_png(fig, path)


def plot_embedding_map(
    entries: list[tuple[str, np.ndarray, np.ndarray]], path: Path, names: list[str] | None = None, seed: int = 0
) -> None:
    """2-D PCA of standardised record embeddings, one panel per method; records coloured by their class, an
    index into ``names`` (default: CinC 2017's classes; ``-1``: none)."""
    names = list(CLASSES) if names is None else names
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    n = len(entries)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(4.4 * cols, 4.2 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, (name, emb, labels) in zip(axes, entries, strict=False):  # the grid may have spare axes
        z = StandardScaler().fit_transform(emb.astype(np.float64))
        k = min(2, z.shape[1], z.shape[0])
        xy = PCA(n_components=k, random_state=seed).fit_transform(z) if k >= 1 else np.zeros((len(z), 2))
        if xy.shape[1] == 1:
            xy = np.column_stack([xy[:, 0], np.zeros(len(xy))])
        # Draw the big class first so the minority classes stay visible.
        for c in sorted(range(-1, len(names)), key=lambda c: -(labels == c).sum()):
            sel = labels == c
            if sel.any():
                cls = names[c] if c >= 0 else "none of these"
                colour = "0.75" if c < 0 else CLASS_COLOURS.get(cls, f"C{c % 10}")
                ax.scatter(
                    xy[sel, 0],
                    xy[sel, 1],
                    s=9,
                    alpha=0.7,
                    color=colour,
                    label=f"{cls} ({sel.sum()})",
                    edgecolors="none",
                )
        ax.set(title=name, xlabel="PC 1", ylabel="PC 2")
        ax.legend(fontsize=7, markerscale=1.5)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle("Test-record embeddings (mean over windows), PCA", fontsize=10)
    save_png(fig, path)


def plot_tmax(methods: list[dict[str, Any]], path: Path, metric: str = "auroc_af") -> None:
    fig = Figure(figsize=(5.5, 4))
    ax = fig.add_subplot()
    pts = sorted(((float(m["t_max"]), m["metrics"][metric]) for m in methods), key=lambda p: p[0])
    x = np.array([p[0] for p in pts])
    v = np.array([p[1]["value"] for p in pts])
    err = np.array([[p[1]["value"] - p[1]["low"], p[1]["high"] - p[1]["value"]] for p in pts]).T
    ax.errorbar(x, v, yerr=err, fmt="o-", capsize=3)
    name = {**METRIC_LABELS, **MULTI_LABEL_METRIC_LABELS}.get(metric, metric)
    ax.set(xlabel="t_max (largest diffusion step of the views)", ylabel=name, title="AUROC vs diffusion t_max (95% CI)")
    if x.min() > 0 and x.max() / x.min() > 20:
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    save_png(fig, path)


def plot_af_by_split(
    series: dict[str, list[tuple[int, dict[str, float]]]],
    n_test: Sequence[int],
    path: Path,
    paper_af: float | None = None,
) -> None:
    """AF-vs-rest AUROC with its 95 % CI per split seed: one series per method (``label -> [(seed, estimate)]``),
    side by side, and the paper's figure as a dashed line when given."""
    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.add_subplot()
    for i, (name, points) in enumerate(series.items()):
        offset = (i - (len(series) - 1) / 2) * 0.24
        e = [est for _, est in points]
        yerr = [[v["value"] - v["low"] for v in e], [v["high"] - v["value"] for v in e]]
        ax.errorbar(
            [seed + offset for seed, _ in points], [v["value"] for v in e], yerr=yerr, fmt="o", capsize=3, label=name
        )
    if paper_af is not None:
        ax.axhline(paper_af, ls="--", color="0.4", lw=1, label=f"paper v3 ({paper_af})")
    counts = sorted(set(n_test))
    each = f"; {counts[0]:,} test records each" if len(counts) == 1 else ""
    ax.set(
        xlabel=f"split seed (record-level, stratified{each})",
        ylabel="AUROC AF vs rest",
        title="Test AUROC on different splits of the same records (95% CI)",
    )
    ax.set_xticks(sorted({seed for points in series.values() for seed, _ in points}))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=3)
    save_png(fig, path)


# --------------------------------------------------------------------- DiffAug's generated views


def plot_generated_views(
    originals: np.ndarray,
    generated: np.ndarray,
    others: np.ndarray,
    path: str | os.PathLike[str],
    labels: list[str] | None = None,
    title: str = "DiffAug: original vs generated views",
    xlabel: str = "input dimension",
    dim_groups: list[tuple[int, str]] | None = None,
    max_lines: int = 4,
) -> None:
    """Originals ``(n, D)``, their generated views ``(n, K, D)`` and other points ``(m, D)``.

    Left, one row per sample (at most ``max_lines``): the original vector
    (black) and its K views (colour) as lines over the dimensions;
    ``dim_groups`` ``[(start, name), ...]`` marks named dimension ranges.
    Right: a 2-D PCA fitted on originals + others, with the others in grey,
    each original as a large marker and its views as small markers of the
    same colour joined to it.
    """
    from matplotlib.gridspec import GridSpec

    originals, generated, others = (np.asarray(a, dtype=np.float64) for a in (originals, generated, others))
    _check_views(originals, generated, others, labels)
    n = generated.shape[0]
    names = labels if labels is not None else [f"sample {i}" for i in range(n)]
    rows = min(n, max_lines)
    fig = Figure(figsize=(14, max(4.5, 2.1 * rows)))
    grid = GridSpec(rows, 2, figure=fig, width_ratios=[1.6, 1.0], wspace=0.18, hspace=0.12)
    _plot_view_lines(fig, grid, originals[:rows], generated[:rows], names, xlabel, dim_groups or [])
    _plot_view_map(fig.add_subplot(grid[:, 1]), originals, generated, others, names)
    fig.suptitle(title, fontsize=10)
    save_png(fig, Path(path))


def _check_views(originals: np.ndarray, generated: np.ndarray, others: np.ndarray, labels: list[str] | None) -> None:
    if (
        originals.ndim != 2
        or generated.ndim != 3
        or generated.shape[0] != originals.shape[0]
        or generated.shape[2] != originals.shape[1]
    ):
        raise ValueError(f"expected originals (n, D) and generated (n, K, D); got {originals.shape}, {generated.shape}")
    if others.ndim != 2 or others.shape[1] != originals.shape[1]:
        raise ValueError(f"others must be (m, {originals.shape[1]}), got {others.shape}")
    if labels is not None and len(labels) != generated.shape[0]:
        raise ValueError(f"labels has {len(labels)} entries for {generated.shape[0]} samples")


def _plot_view_lines(
    fig: Figure,
    grid: Any,
    originals: np.ndarray,
    generated: np.ndarray,
    names: list[str],
    xlabel: str,
    dim_groups: list[tuple[int, str]],
) -> None:
    """One panel per sample: its views (colour) and the original (black) as lines over the dimensions."""
    rows, k, dim = generated.shape
    dims = np.arange(dim)
    lo, hi = min(originals.min(), generated.min()), max(originals.max(), generated.max())
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    for i in range(rows):
        ax = fig.add_subplot(grid[i, 0])
        colour = f"C{i}"
        for j in range(k):
            ax.plot(
                dims, generated[i, j], color=colour, lw=0.6, alpha=0.45, label="generated views" if j == 0 else None
            )
        ax.plot(dims, originals[i], color="black", lw=1.0, label="original")
        for start, name in dim_groups:
            if start > 0:
                ax.axvline(start - 0.5, color="0.4", ls="--", lw=0.8)
            ax.text(start + 0.005 * dim, hi + 0.5 * pad, name, fontsize=7, va="top", color="0.3")
        ax.set_xlim(-0.5, dim - 0.5)
        ax.set_ylim(lo - pad, hi + 2 * pad)
        ax.set_ylabel(names[i], fontsize=8, color=colour)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
        if i == 0:
            ax.legend(fontsize=7, loc="lower right", ncol=2)
        if i < rows - 1:
            ax.tick_params(labelbottom=False)
        else:
            ax.set_xlabel(xlabel, fontsize=8)


def _plot_view_map(ax: Any, originals: np.ndarray, generated: np.ndarray, others: np.ndarray, names: list[str]) -> None:
    """A 2-D PCA (fitted on originals + others): the others in grey, each original and its views joined."""
    from sklearn.decomposition import PCA

    n, k, dim = generated.shape
    fit_on = np.concatenate([originals, others])
    pca = PCA(n_components=min(2, fit_on.shape[0], dim)).fit(fit_on)

    def project(a: np.ndarray) -> np.ndarray:
        xy = pca.transform(a)
        return xy if xy.shape[1] == 2 else np.column_stack([xy, np.zeros((len(xy), 2 - xy.shape[1]))])

    if len(others):
        o = project(others)
        ax.scatter(o[:, 0], o[:, 1], s=5, color="0.7", alpha=0.6, edgecolors="none", label=f"other windows ({len(o)})")
    xo = project(originals)
    xg = project(generated.reshape(n * k, dim)).reshape(n, k, 2)
    for i in range(n):
        colour = f"C{i}"
        for j in range(k):
            ax.plot([xo[i, 0], xg[i, j, 0]], [xo[i, 1], xg[i, j, 1]], color=colour, lw=0.5, alpha=0.5)
        ax.scatter(xg[i, :, 0], xg[i, :, 1], s=14, color=colour, edgecolors="none", alpha=0.9)
        ax.scatter(
            xo[i, 0],
            xo[i, 1],
            s=110,
            marker="*",
            color=colour,
            edgecolors="black",
            linewidths=0.7,
            label=names[i],
            zorder=3,
        )
    ratio = pca.explained_variance_ratio_
    ax.set(
        xlabel=f"PC 1 ({ratio[0]:.0%} var.)",
        ylabel=f"PC 2 ({ratio[1]:.0%} var.)" if len(ratio) > 1 else "PC 2",
        title="PCA (fitted on originals + others); ★ original, • its views",
    )
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7, loc="best", markerscale=0.8)
