"""``report.md`` from one or more ``metrics.json`` files, with its figures.

:func:`write_report` reads what ``dacl evaluate`` wrote (``metrics.json``, the
per-method ``embeddings_<i>.npz`` and the robustness curves inside
``metrics.json``) and writes ``report.md`` beside the figures of
:mod:`dacl.report.plots`. Single-label (CinC 2017) results get the 4-class
tables, the AF ROC and the paper's numbers; multi-label results the macro AUROC
over labels and a per-label table and figure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from dacl.corpus.cinc2017 import CLASSES
from dacl.io.atomic import write_text
from dacl.io.documents import read_json_object
from dacl.probe.metrics import format_interval
from dacl.report.plots import (
    METRIC_LABELS,
    MULTI_LABEL_METRIC_LABELS,
    plot_embedding_map,
    plot_label_auroc,
    plot_robustness,
    plot_roc,
    plot_tmax,
)

#: The DACL paper's v3 AF-vs-rest AUROC on PhysioNet 2017 (abstract): the bar the AF results are read against.
PAPER_AF_AUROC = 0.9741
#: What the DACL paper (arXiv 2509.20048) reports, for reference only (docs/dacl.md §2): task,
#: classes, split and probe are not stated in the sources.
PAPER_NUMBERS: tuple[tuple[str, str, str, str], ...] = (
    ("DACL", "v1/v2", "AUROC 0.7815", "'patient-level'; task and classes not stated (abstract)"),
    ("Contrastive + Gaussian aug.", "v1/v2", "AUROC 0.6716", "third-party summary, table not seen"),
    ("Denoising autoencoder", "v1/v2", "AUROC 0.7532", "third-party summary, table not seen"),
    ("Manifold-aware DACL", "v3", f"AUROC {PAPER_AF_AUROC}", "AF detection, single-lead ECG (abstract)"),
)


#: Every metric's name in the report's tables.
ALL_LABELS = {**METRIC_LABELS, **MULTI_LABEL_METRIC_LABELS}

#: A figure of the report: ``(title, file name)``.
Figures = list[tuple[str, str]]


def read_metrics(path: Path) -> tuple[Path, dict[str, Any]]:
    """The folder and document of a ``metrics.json`` written by ``dacl evaluate`` (``path``: the file or its folder)."""
    path = Path(path)
    path = path / "metrics.json" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"metrics file not found: {path}")
    return path.parent, read_json_object(path, "metrics.json of dacl evaluate")


def load_metrics(paths: list[Path]) -> tuple[dict[str, Any], list[tuple[Path, dict[str, Any]]]]:
    """Read ``metrics.json`` files; returns the first document and every method with its folder."""
    docs = [read_metrics(p) for p in paths]
    methods = [(folder, m) for folder, doc in docs for m in doc.get("methods", [])]
    if not methods:
        raise ValueError("no evaluated methods in the given metrics files")
    first = dict(docs[0][1])
    first["robustness"] = [c for _, doc in docs for c in doc.get("robustness", []) or []]
    first["_sources"] = [str(folder) for folder, _ in docs]
    first["_splits"] = [doc.get("split") for _, doc in docs]
    return first, methods


def format_ci(e: dict[str, float] | None, signed: bool = False) -> str:
    """An estimate as stored in metrics.json, ``"0.9577 [0.9435, 0.9701]"`` (``—`` when absent)."""
    if e is None:
        return "—"
    return format_interval(e["value"], e["low"], e["high"], signed)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _data_split(doc: dict[str, Any]) -> list[str]:
    n_rec, n_win = doc.get("n_records", {}), doc.get("n_windows", {})
    lines = ["## Data split", "", "| split | labelled records | windows |", "|---|---:|---:|"]
    lines += [f"| {s} | {n_rec.get(s, '—')} | {n_win.get(s, '—')} |" for s in ("train", "val", "test")]
    lines += ["", f"Split provenance (from the dataset manifest): `{json.dumps(doc.get('split'))}`"]
    if any(s != doc["_splits"][0] for s in doc["_splits"]):
        lines += ["", "**Warning:** the metrics files come from different splits; rows are not comparable."]
    return lines + [""]


def _multi_label(ms: list[dict[str, Any]]) -> bool:
    return any(m.get("protocol") == "per-label" for m in ms)


def _results_multilabel(ms: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Results (this implementation)",
        "",
        "Per-record scores (mean of window probabilities per label), test split; value [95 % bootstrap CI "
        "over records]. One logistic-regression probe per label, fitted on train-split windows only. Macro "
        "AUROC: the mean over the labels with positive and negative test records (the PTB-XL benchmark "
        "protocol).",
        "",
        _row(["method", "probe", "macro AUROC", "labels scored", "test records"]),
        "|---|---|---|---:|---:|",
    ]
    for m in ms:
        lines.append(
            _row(
                [
                    m["method"],
                    m["probe"],
                    format_ci(m["metrics"].get("auroc_macro")),
                    str(len(m.get("auroc_per_label", {}))),
                    str(m["n_records"]["test"]),
                ]
            )
        )
    codes = list(dict.fromkeys(c for m in ms for c in m.get("auroc_per_label", {})))
    positives = {c: e.get("n_positive") for m in ms for c, e in m.get("auroc_per_label", {}).items()}
    lines += [
        "",
        "Per-label AUROC [95 % CI] (positives among the test records):",
        "",
        _row(["label", "positives", *(m["method"] for m in ms)]),
        "|---|---:|" + "---|" * len(ms),
    ]
    for c in codes:
        lines.append(
            _row([c, str(positives.get(c, "—")), *(format_ci(m.get("auroc_per_label", {}).get(c)) for m in ms)])
        )
    lines += _differences(ms, ["auroc_macro"])
    notes = [f"- {m['method']}: {n}" for m in ms for n in m.get("notes", [])]
    if notes:
        lines += ["", "Notes:", *notes]
    return lines + [""]


def _results(ms: list[dict[str, Any]]) -> list[str]:
    if _multi_label(ms):
        return _results_multilabel(ms)
    keys = list(METRIC_LABELS)
    lines = [
        "## Results (this implementation)",
        "",
        "Per-record scores (mean of window probabilities), test split; value [95 % bootstrap CI "
        "over records]. Probe fitted on train-split windows only.",
        "",
        _row(["method", "probe", *(METRIC_LABELS[k] for k in keys), "5-NN accuracy", "test records"]),
        "|---|---|" + "---|" * len(keys) + "---:|---:|",
    ]
    for m in ms:
        knn = m.get("knn_accuracy")
        lines.append(
            _row(
                [
                    m["method"],
                    m["probe"],
                    *(format_ci(m["metrics"].get(k)) for k in keys),
                    "—" if knn is None else f"{knn:.4f}",
                    str(m["n_records"]["test"]),
                ]
            )
        )
    lines += [
        "",
        "Per-class one-vs-rest AUROC and F1:",
        "",
        _row(["method", *(f"AUROC {c}" for c in CLASSES), *(f"F1 {c}" for c in CLASSES)]),
        "|---|" + "---:|" * (2 * len(CLASSES)),
    ]
    for m in ms:
        auc = [f"{m['auroc_per_class'][c]:.4f}" if c in m["auroc_per_class"] else "—" for c in CLASSES]
        f1 = [f"{m['f1_per_class'][c]:.4f}" if m["f1_per_class"].get(c) is not None else "—" for c in CLASSES]
        lines.append(_row([m["method"], *auc, *f1]))
    lines += _differences(ms, keys)
    notes = [f"- {m['method']}: {n}" for m in ms for n in m.get("notes", [])]
    if notes:
        lines += ["", "Notes:", *notes]
    return lines + [""]


def paired_differences(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A method's paired differences by reference method (files from before ``paired`` hold ``difference_to`` only)."""
    if "paired" in m:
        return dict(m["paired"])
    return {m["difference_to"]["method"]: m["difference_to"]} if "difference_to" in m else {}


def _differences(ms: list[dict[str, Any]], keys: list[str]) -> list[str]:
    """A table of each method's paired difference to each reference, for the metrics ``keys``."""
    lines: list[str] = []
    for ref in dict.fromkeys(r for m in ms for r in paired_differences(m)):
        lines += [
            "",
            f"Difference to {ref} (method − {ref}; paired bootstrap over the same test records — "
            "an interval that excludes 0 is a real difference, overlapping per-method CIs are not evidence "
            "of none):",
            "",
            _row(["method", *(f"Δ {ALL_LABELS.get(k, k)}" for k in keys)]),
            "|---|" + "---|" * len(keys),
        ]
        for m in ms:
            d = paired_differences(m).get(ref)
            if d is not None:
                lines.append(_row([m["method"], *(format_ci(d.get(k), signed=True) for k in keys)]))
    return lines


def _paper_numbers() -> list[str]:
    lines = [
        "## The paper's reported numbers (for reference; not reproduced here)",
        "",
        "From arXiv 2509.20048 as far as the sources show (see docs/dacl.md §2 in the dacl repository). "
        "The paper's task, classes, split and probe are not stated, so these are **not** directly "
        "comparable to the table above.",
        "",
        "| method (paper) | version | reported | context |",
        "|---|---|---|---|",
    ]
    return lines + [_row(list(row)) for row in PAPER_NUMBERS] + [""]


def robustness_metric(curves: list[dict[str, Any]]) -> str:
    """The metric the robustness curves report: AF-vs-rest AUROC (single-label) or macro AUROC (multi-label)."""
    first = curves[0]["points"][0]["metrics"] if curves and curves[0]["points"] else {}
    return "auroc_af" if "auroc_af" in first else "auroc_macro"


def _robustness(curves: list[dict[str, Any]]) -> list[str]:
    key = robustness_metric(curves)
    name = "AUROC AF-vs-rest" if key == "auroc_af" else "Macro AUROC over labels"
    lines = [
        "## Robustness (clean-trained probe, corrupted test records)",
        "",
        f"{name} [95 % CI]. White noise SNR per record (and lead) against the clean signal variance; "
        "baseline wander = three 0.1–0.5 Hz sinusoids, RMS relative to the signal std.",
        "",
    ]
    definitions = {k: v for c in curves for k, v in (c.get("definitions") or {}).items()}
    if set(definitions) - {"awgn", "wander"}:
        lines += [
            "Corruptions (models in dacl.probe.corruptions):",
            "",
            *(f"- `{kind}`: {text}" for kind, text in definitions.items()),
            "",
        ]
    labels = [p["label"] for p in curves[0]["points"]]
    header = [_row(["method", *labels]), "|---|" + "---|" * len(labels)]
    lines += header
    for c in curves:
        by = {p["label"]: p["metrics"][key] for p in c["points"]}
        lines.append(_row([c["method"], *(format_ci(by.get(lab)) for lab in labels)]))
    lines += [""]
    what = "AUROC AF-vs-rest" if key == "auroc_af" else "macro AUROC"
    for ref in dict.fromkeys(r for c in curves for p in c["points"] for r in point_differences(c, p)):
        lines += [
            f"Difference in {what} to {ref} under each corruption "
            "(paired bootstrap over the same corrupted test records):",
            "",
            *header,
        ]
        for c in curves:
            by = {p["label"]: point_differences(c, p).get(ref, {}).get(key) for p in c["points"]}
            if any(v is not None for v in by.values()):
                lines.append(_row([c["method"], *(format_ci(by.get(lab), signed=True) for lab in labels)]))
        lines += [""]
    return lines


def point_differences(curve: dict[str, Any], point: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A robustness point's paired differences by reference method (older files: ``difference`` only)."""
    if "paired" in point:
        return dict(point["paired"])
    return {curve["difference_to"]: point["difference"]} if "difference" in point and curve.get("difference_to") else {}


def _embedding_entries(
    methods: list[tuple[Path, dict[str, Any]]],
) -> tuple[list[tuple[str, np.ndarray, np.ndarray]], list[str]]:
    """``(method, record embeddings, class of each record)`` of every method whose embeddings file is there, and
    the class names: CinC 2017's classes, or for multi-label records the most frequent test label each has."""
    entries, names = [], list(CLASSES)
    for folder, m in methods:
        f = m.get("test_records_file")
        if f and (folder / f).is_file():
            with np.load(folder / f) as z:
                labels = z["labels"]
                if labels.ndim == 2:
                    labels, names = _main_label(labels, m.get("labels") or [])
                entries.append((m["method"], z["embeddings"], labels))
    return entries, names


def _main_label(targets: np.ndarray, codes: list[str], top: int = 8) -> tuple[np.ndarray, list[str]]:
    """Each record's most frequent label (among the ``top`` most frequent; ``-1``: none of them)."""
    order = np.argsort(-targets.sum(axis=0), kind="stable")[:top]
    out = np.full(len(targets), -1, dtype=np.int64)
    for rank in reversed(range(len(order))):  # the most frequent label wins: written last
        out[targets[:, order[rank]].astype(bool)] = rank
    names = [codes[c] if c < len(codes) else str(c) for c in order]
    return out, names


def _draw_figures(out: Path, doc: dict[str, Any], methods: list[tuple[Path, dict[str, Any]]]) -> Figures:
    """Draw every figure the metrics allow; returns them in report order."""
    ms = [m for _, m in methods]
    figures: Figures = []
    if all("roc_af" in m for m in ms):
        plot_roc(ms, out / "roc_af.png")
        figures.append(("ROC, AF vs rest", "roc_af.png"))
    if _multi_label(ms):
        plot_label_auroc(ms, out / "auroc_per_label.png")
        figures.append(("AUROC per label", "auroc_per_label.png"))
    entries, names = _embedding_entries(methods)
    if entries:
        plot_embedding_map(entries, out / "embedding_map.png", names)
        figures.append(("Embedding map (PCA)", "embedding_map.png"))
    if doc["robustness"]:
        plot_robustness(doc["robustness"], out / "robustness.png", robustness_metric(doc["robustness"]))
        figures.append(("Robustness", "robustness.png"))
    swept = [m for m in ms if m.get("t_max") is not None]
    if len({m["t_max"] for m in swept}) >= 2:
        key = "auroc_macro" if _multi_label(ms) else "auroc_af"
        plot_tmax(swept, out / "auroc_vs_tmax.png", key)
        figures.append(("AUROC vs t_max", "auroc_vs_tmax.png"))
    return figures


def write_report(out_dir: str | os.PathLike[str], metrics_paths: list[str | os.PathLike[str]] | None = None) -> Path:
    """Write ``report.md`` and the PNGs into ``out_dir``; returns the report path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc, methods = load_metrics([Path(p) for p in (metrics_paths or [out])])
    ms = [m for _, m in methods]
    lines = [
        "# dacl evaluation report",
        "",
        f"Created {doc.get('created', '?')} by dacl {doc.get('dacl_version', '?')}; features: `{doc.get('features')}`.",
        "",
    ]
    if doc.get("scored_split") == "val":
        lines += [
            "**Scored on the val split, for model selection**: the test records were removed before "
            "anything was embedded, and every 'test' below means the val records.",
            "",
        ]
    lines += _data_split(doc) + _results(ms) + ([] if _multi_label(ms) else _paper_numbers())
    figures = _draw_figures(out, doc, methods)
    if doc["robustness"]:
        lines += _robustness(doc["robustness"])
    if figures:
        lines += ["## Figures", ""]
        lines += [f"### {title}\n\n![{title}]({name})\n" for title, name in figures]
    lines += ["## Protocol", ""] + [f"- {k}: {v}" for k, v in doc.get("protocol", {}).items()] + [""]
    path = out / "report.md"
    write_text(path, "\n".join(lines))
    return path
