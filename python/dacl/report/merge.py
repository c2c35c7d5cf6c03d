"""One evaluation from several: add other ``dacl evaluate`` folders' methods or robustness curves to a metrics.json.

Evaluations of one dataset are often run apart (a run that finished late, robustness
curves computed in parallel). :func:`merge_evaluations` adds their rows to one
``metrics.json`` so one report shows them together, and refuses anything scored on
another split. Merging is idempotent: a method or curve already there with the same
numbers is skipped, the same name with other numbers is an error.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dacl.io.atomic import atomic_output, write_json
from dacl.io.lock import WriterLock
from dacl.report.markdown import read_metrics

#: What must agree before rows of two evaluations may share a table (with its value when a document lacks it:
#: metrics.json files written before ``scored_split`` existed were scored on test).
SAME_SPLIT: dict[str, Any] = {"split": None, "scored_split": "test"}


def merge_evaluations(target: Path, methods_from: Sequence[Path] = (), robustness_from: Sequence[Path] = ()) -> Path:
    """Add the methods of ``methods_from`` and the robustness curves of ``robustness_from`` to ``target``'s
    metrics.json (each a ``dacl evaluate`` folder or its metrics.json); returns the metrics.json path.

    Method rows keep their record embeddings for the report's embedding map: the file is
    copied in as ``embeddings_<i>.npz``.
    """
    folder, _ = read_metrics(Path(target))
    path = folder / "metrics.json"
    with WriterLock(folder, "evaluation"):
        _, doc = read_metrics(path)  # read again under the lock
        for source in methods_from:
            _add_methods(doc, folder, Path(source))
        curves = list(doc.get("robustness") or [])
        for source in robustness_from:
            _add_curves(curves, doc, Path(source))
        if curves:
            doc["robustness"] = curves
        write_json(path, doc)
    return path


def _check_same_split(doc: dict[str, Any], other: dict[str, Any], source: Path, also: dict[str, Any]) -> None:
    for key, default in {**SAME_SPLIT, **also}.items():
        if other.get(key, default) != doc.get(key, default):
            raise ValueError(
                f"{source}: scored on another split than the evaluation merged into ({key} differs); refusing to merge"
            )


def _already_there(rows: list[dict[str, Any]], row: dict[str, Any], same: str, source: Path) -> bool:
    """Whether ``row`` is in ``rows`` already (same name and ``same`` entry); the same name with another is an error."""
    for existing in rows:
        if existing.get("method") == row.get("method"):
            if existing.get(same) == row.get(same):
                return True
            raise ValueError(f"{source}: {row.get('method')!r} is already in the evaluation with other numbers")
    return False


def _add_methods(doc: dict[str, Any], folder: Path, source: Path) -> None:
    source_folder, other = read_metrics(source)
    _check_same_split(doc, other, source_folder, {"n_records": None})
    methods = doc.setdefault("methods", [])
    for m in other.get("methods", []):
        if _already_there(methods, m, "metrics", source_folder):
            continue
        m = dict(m)
        embeddings = m.pop("test_records_file", None)
        copy = None if embeddings is None else _copy_embeddings(source_folder, str(embeddings), folder, len(methods))
        if copy is not None:
            m["test_records_file"] = copy
        methods.append(m)


def _copy_embeddings(source: Path, name: str, folder: Path, index: int) -> str | None:
    """Copy a method's record embeddings (a file beside its metrics.json) in; ``None`` when the file is gone."""
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"{source}/metrics.json: test_records_file must name a file beside it, got {name[:40]!r}")
    if not (source / name).is_file():
        return None
    copy = f"embeddings_{index}.npz"
    with open(source / name, "rb") as src, atomic_output(folder / copy) as dst:
        shutil.copyfileobj(src, dst)
    return copy


def _add_curves(curves: list[dict[str, Any]], doc: dict[str, Any], source: Path) -> None:
    source_folder, other = read_metrics(source)
    _check_same_split(doc, other, source_folder, {})
    for curve in other.get("robustness") or []:
        if not _already_there(curves, curve, "points", source_folder):
            curves.append(curve)
