"""Markdown report and PNG plots from one or more ``metrics.json`` files.

:func:`write_report` reads what ``dacl evaluate`` wrote (``metrics.json``, the
per-method ``embeddings_<i>.npz`` and the robustness curves inside
``metrics.json``) and writes ``report.md`` beside the figures:

* ``roc_af.png``: AF-vs-rest ROC curves, one per method;
* ``robustness.png``: AUROC vs SNR (white noise) and vs baseline-wander level;
* ``embedding_map.png``: 2-D PCA of the test records' embeddings, by class;
* ``auroc_vs_tmax.png``: AUROC vs the diffusion ``t_max``, when runs record one.

Plots use matplotlib's Agg canvas directly (no pyplot, no global backend).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dacl.io.atomic import atomic_output, write_text
from dacl.corpus.cinc2017 import CLASSES
from dacl.metrics import format_interval

#: What the DACL paper (arXiv 2509.20048) reports, for reference only; see
#: shared docs: task, classes, split and probe are not stated in the sources.
PAPER_NUMBERS: tuple[tuple[str, str, str, str], ...] = (
    ("DACL", "v1/v2", "AUROC 0.7815", "'patient-level'; task and classes not stated (abstract)"),
    ("Contrastive + Gaussian aug.", "v1/v2", "AUROC 0.6716", "third-party summary, table not seen"),
    ("Denoising autoencoder", "v1/v2", "AUROC 0.7532", "third-party summary, table not seen"),
    ("Manifold-aware DACL", "v3", "AUROC 0.9741", "AF detection, single-lead ECG (abstract)"),
)

METRIC_LABELS = {
    "auroc_af": "AUROC AF-vs-rest",
    "auroc_macro_ovr": "AUROC macro OvR",
    "f1_challenge": "Challenge F1 (N,A,O)",
    "accuracy": "Accuracy",
}
CLASS_COLOURS = {"N": "tab:blue", "A": "tab:red", "O": "tab:green", "~": "tab:gray"}


# ----------------------------------------------------------------------- I/O


def load_metrics(paths: list[Path]) -> tuple[dict[str, Any], list[tuple[Path, dict[str, Any]]]]:
    """Read ``metrics.json`` files; returns the first document and every method with its folder."""
    docs = []
    for p in paths:
        p = Path(p)
        p = p / "metrics.json" if p.is_dir() else p
        if not p.is_file():
            raise FileNotFoundError(f"metrics file not found: {p}")
        try:
            docs.append((p.parent, json.loads(p.read_text())))
        except json.JSONDecodeError as err:
            raise ValueError(f"{p} is not valid JSON ({err})") from None
    methods = [(folder, m) for folder, doc in docs for m in doc.get("methods", [])]
    if not methods:
        raise ValueError("no evaluated methods in the given metrics files")
    first = dict(docs[0][1])
    first["robustness"] = [c for _, doc in docs for c in doc.get("robustness", []) or []]
    first["_sources"] = [str(folder) for folder, _ in docs]
    first["_splits"] = [doc.get("split") for _, doc in docs]
    return first, methods


def _save(fig: Figure, path: Path) -> None:
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
        ax.plot(m["roc_af"]["fpr"], m["roc_af"]["tpr"], lw=1.8,
                label=f"{m['method']}  {auc['value']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01),
           title="AF vs rest, per record (AUROC, 95% CI)")
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=7)
    _save(fig, path)


def plot_robustness(curves: list[dict[str, Any]], path: Path, metric: str = "auroc_af") -> None:
    fig = Figure(figsize=(10, 4.2))
    ax_snr, ax_bw = fig.subplots(1, 2, sharey=True)
    for i, curve in enumerate(curves):
        colour = f"C{i}"
        pts = curve["points"]
        clean = next((p for p in pts if p["kind"] == "clean"), None)
        for ax, kind in ((ax_snr, "awgn"), (ax_bw, "wander")):
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
    ax_snr.set(xlabel="SNR of added white noise (dB)", ylabel=METRIC_LABELS.get(metric, metric),
               title="White Gaussian noise")
    ax_snr.invert_xaxis()  # noisier to the right
    ax_bw.set(xlabel="baseline wander RMS / signal std", title="Baseline wander (0.1-0.5 Hz)")
    for ax in (ax_snr, ax_bw):
        ax.grid(alpha=0.3)
    ax_snr.legend(fontsize=7, loc="lower left")
    fig.suptitle("Clean-trained probe on corrupted test records (dotted: clean; band: 95% CI)", fontsize=10)
    _save(fig, path)


def plot_embedding_map(entries: list[tuple[str, np.ndarray, np.ndarray]], path: Path, seed: int = 0) -> None:
    """2-D PCA of standardised record embeddings, one panel per method."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    n = len(entries)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(4.4 * cols, 4.2 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, (name, emb, labels) in zip(axes, entries):
        z = StandardScaler().fit_transform(emb.astype(np.float64))
        k = min(2, z.shape[1], z.shape[0])
        xy = PCA(n_components=k, random_state=seed).fit_transform(z) if k >= 1 else np.zeros((len(z), 2))
        if xy.shape[1] == 1:
            xy = np.column_stack([xy[:, 0], np.zeros(len(xy))])
        # Draw the big class first so the minority classes stay visible.
        for c in sorted(range(len(CLASSES)), key=lambda c: -(labels == c).sum()):
            sel = labels == c
            if sel.any():
                ax.scatter(xy[sel, 0], xy[sel, 1], s=9, alpha=0.7, color=CLASS_COLOURS[CLASSES[c]],
                           label=f"{CLASSES[c]} ({sel.sum()})", edgecolors="none")
        ax.set(title=name, xlabel="PC 1", ylabel="PC 2")
        ax.legend(fontsize=7, markerscale=1.5)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle("Test-record embeddings (mean over windows), PCA", fontsize=10)
    _save(fig, path)


def plot_tmax(methods: list[dict[str, Any]], path: Path) -> None:
    fig = Figure(figsize=(5.5, 4))
    ax = fig.add_subplot()
    pts = sorted((float(m["t_max"]), m["metrics"]["auroc_af"]) for m in methods)
    x = np.array([p[0] for p in pts])
    v = np.array([p[1]["value"] for p in pts])
    err = np.array([[p[1]["value"] - p[1]["low"], p[1]["high"] - p[1]["value"]] for p in pts]).T
    ax.errorbar(x, v, yerr=err, fmt="o-", capsize=3)
    ax.set(xlabel="t_max (largest diffusion step of the views)", ylabel="AUROC AF-vs-rest",
           title="AUROC vs diffusion t_max (95% CI)")
    if x.min() > 0 and x.max() / x.min() > 20:
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    _save(fig, path)


# -------------------------------------------------------------------- report


def _ci(e: dict[str, float] | None, signed: bool = False) -> str:
    if e is None:
        return "—"
    return format_interval(e["value"], e["low"], e["high"], signed)


def write_report(out_dir: str | os.PathLike[str], metrics_paths: list[str | os.PathLike[str]] | None = None) -> Path:
    """Write ``report.md`` and the PNGs into ``out_dir``; returns the report path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc, methods = load_metrics([Path(p) for p in (metrics_paths or [out])])
    ms = [m for _, m in methods]
    lines = ["# dacl evaluation report", ""]
    lines += [f"Created {doc.get('created', '?')} by dacl {doc.get('dacl_version', '?')}; "
              f"features: `{doc.get('features')}`.", ""]

    lines += ["## Data split", ""]
    n_rec, n_win = doc.get("n_records", {}), doc.get("n_windows", {})
    lines += ["| split | labelled records | windows |", "|---|---:|---:|"]
    lines += [f"| {s} | {n_rec.get(s, '—')} | {n_win.get(s, '—')} |" for s in ("train", "val", "test")]
    lines += ["", f"Split provenance (from the dataset manifest): `{json.dumps(doc.get('split'))}`"]
    if any(s != doc["_splits"][0] for s in doc["_splits"]):
        lines += ["", "**Warning:** the metrics files come from different splits; rows are not comparable."]
    lines += [""]

    lines += ["## Results (this implementation)", "",
              "Per-record scores (mean of window probabilities), test split; value [95 % bootstrap CI "
              "over records]. Probe fitted on train-split windows only.", ""]
    keys = list(METRIC_LABELS)
    lines += ["| method | probe | " + " | ".join(METRIC_LABELS[k] for k in keys) + " | 5-NN accuracy | test records |",
              "|---|---|" + "---|" * len(keys) + "---:|---:|"]
    for m in ms:
        cells = [_ci(m["metrics"].get(k)) for k in keys]
        knn = m.get("knn_accuracy")
        cells.append("—" if knn is None else f"{knn:.4f}")
        lines += [f"| {m['method']} | {m['probe']} | " + " | ".join(cells) + f" | {m['n_records']['test']} |"]
    lines += ["", "Per-class one-vs-rest AUROC and F1:", "",
              "| method | " + " | ".join(f"AUROC {c}" for c in CLASSES) + " | " + " | ".join(f"F1 {c}" for c in CLASSES) + " |",
              "|---|" + "---:|" * (2 * len(CLASSES))]
    for m in ms:
        auc = [f"{m['auroc_per_class'][c]:.4f}" if c in m["auroc_per_class"] else "—" for c in CLASSES]
        f1 = [f"{m['f1_per_class'][c]:.4f}" if m["f1_per_class"].get(c) is not None else "—" for c in CLASSES]
        lines += [f"| {m['method']} | " + " | ".join(auc + f1) + " |"]
    diffs = [m for m in ms if "difference_to" in m]
    if diffs:
        ref = diffs[0]["difference_to"]["method"]
        lines += ["", f"Difference to {ref} (method − {ref}; paired bootstrap over the same test records — "
                  "an interval that excludes 0 is a real difference, overlapping per-method CIs are not evidence "
                  "of none):", "",
                  "| method | " + " | ".join(f"Δ {METRIC_LABELS[k]}" for k in keys) + " |",
                  "|---|" + "---|" * len(keys)]
        for m in diffs:
            d = m["difference_to"]
            cells = [_ci(d.get(k), signed=True) for k in keys]
            lines += [f"| {m['method']} | " + " | ".join(cells) + " |"]
    notes = [f"- {m['method']}: {n}" for m in ms for n in m.get("notes", [])]
    if notes:
        lines += ["", "Notes:", *notes]
    lines += [""]

    lines += ["## The paper's reported numbers (for reference; not reproduced here)", "",
              "From arXiv 2509.20048 as far as the sources show (docs/dacl-method.md §2). The paper's task, classes, "
              "split and probe are not stated, so these are **not** directly comparable to the table above.", "",
              "| method (paper) | version | reported | context |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in PAPER_NUMBERS]
    lines += [""]

    figures = []
    if all("roc_af" in m for m in ms):
        plot_roc(ms, out / "roc_af.png")
        figures.append(("ROC, AF vs rest", "roc_af.png"))

    entries = []
    for folder, m in methods:
        f = m.get("test_records_file")
        if f and (folder / f).is_file():
            with np.load(folder / f) as z:
                entries.append((m["method"], z["embeddings"], z["labels"]))
    if entries:
        plot_embedding_map(entries, out / "embedding_map.png")
        figures.append(("Embedding map (PCA)", "embedding_map.png"))

    curves = doc["robustness"]
    if curves:
        plot_robustness(curves, out / "robustness.png")
        figures.append(("Robustness", "robustness.png"))
        lines += ["## Robustness (clean-trained probe, corrupted test records)", "",
                  "AUROC AF-vs-rest [95 % CI]. White noise SNR per record against the clean signal variance; "
                  "baseline wander = three 0.1–0.5 Hz sinusoids, RMS relative to the signal std.", ""]
        labels = [p["label"] for p in curves[0]["points"]]
        lines += ["| method | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        for c in curves:
            by = {p["label"]: p["metrics"]["auroc_af"] for p in c["points"]}
            lines += [f"| {c['method']} | " + " | ".join(_ci(by.get(lab)) for lab in labels) + " |"]
        lines += [""]
        paired = [c for c in curves if c.get("difference_to")]
        if paired:
            lines += [f"Difference in AUROC AF-vs-rest to {paired[0]['difference_to']} under each corruption "
                      "(paired bootstrap over the same corrupted test records):", "",
                      "| method | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
            for c in paired:
                by = {p["label"]: (p.get("difference") or {}).get("auroc_af") for p in c["points"]}
                lines += [f"| {c['method']} | " + " | ".join(_ci(by.get(lab), signed=True) for lab in labels) + " |"]
            lines += [""]

    swept = [m for m in ms if m.get("t_max") is not None]
    if len({m["t_max"] for m in swept}) >= 2:
        plot_tmax(swept, out / "auroc_vs_tmax.png")
        figures.append(("AUROC vs t_max", "auroc_vs_tmax.png"))

    if figures:
        lines += ["## Figures", ""]
        lines += [f"### {title}\n\n![{title}]({name})\n" for title, name in figures]
    lines += ["## Protocol", ""] + [f"- {k}: {v}" for k, v in doc.get("protocol", {}).items()] + [""]

    path = out / "report.md"
    write_text(path, "\n".join(lines))
    return path


# ------------------------------------------------------- DiffAug generated views


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
    from sklearn.decomposition import PCA

    originals, generated, others = (np.asarray(a, dtype=np.float64) for a in (originals, generated, others))
    if originals.ndim != 2 or generated.ndim != 3 or generated.shape[0] != originals.shape[0] \
            or generated.shape[2] != originals.shape[1]:
        raise ValueError(f"expected originals (n, D) and generated (n, K, D); got {originals.shape}, {generated.shape}")
    if others.ndim != 2 or others.shape[1] != originals.shape[1]:
        raise ValueError(f"others must be (m, {originals.shape[1]}), got {others.shape}")
    n, k, dim = generated.shape
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels has {len(labels)} entries for {n} samples")
    names = labels if labels is not None else [f"sample {i}" for i in range(n)]
    rows = min(n, max_lines)

    fig = Figure(figsize=(14, max(4.5, 2.1 * rows)))
    grid = GridSpec(rows, 2, figure=fig, width_ratios=[1.6, 1.0], wspace=0.18, hspace=0.12)
    dims = np.arange(dim)
    lo = min(originals[:rows].min(), generated[:rows].min())
    hi = max(originals[:rows].max(), generated[:rows].max())
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    for i in range(rows):
        ax = fig.add_subplot(grid[i, 0])
        colour = f"C{i}"
        for j in range(k):
            ax.plot(dims, generated[i, j], color=colour, lw=0.6, alpha=0.45, label="generated views" if j == 0 else None)
        ax.plot(dims, originals[i], color="black", lw=1.0, label="original")
        for start, name in dim_groups or []:
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

    ax = fig.add_subplot(grid[:, 1])
    fit_on = np.concatenate([originals, others])
    n_comp = min(2, fit_on.shape[0], dim)
    pca = PCA(n_components=n_comp).fit(fit_on)

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
        ax.scatter(xo[i, 0], xo[i, 1], s=110, marker="*", color=colour, edgecolors="black", linewidths=0.7,
                   label=names[i], zorder=3)
    ratio = pca.explained_variance_ratio_
    ax.set(xlabel=f"PC 1 ({ratio[0]:.0%} var.)", ylabel=f"PC 2 ({ratio[1]:.0%} var.)" if len(ratio) > 1 else "PC 2",
           title="PCA (fitted on originals + others); ★ original, • its views")
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7, loc="best", markerscale=0.8)
    fig.suptitle(title, fontsize=10)
    _save(fig, Path(path))
