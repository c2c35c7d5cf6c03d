"""How records are assigned to train/val/test: groups, then one of four rules.

Records are assigned in *groups*, never alone: records with byte-identical
signals (same ``sha256``) and records of one patient (where the layout knows
patients, ``meta["patient"]``) form one group, transitively, and a group goes
to one side. Then:

* :func:`stratified_single_label` — one label per record (CinC 2017): within each
  label (in vocabulary order, then other codes sorted, unlabelled ``""`` among
  them) the groups are sorted by their first record's name, shuffled with
  ``numpy.random.default_rng(seed)`` and cut at the cumulative fractions. A group
  takes the label of its first record (by name). This is the split dacl has
  always made: the same seed gives the same CinC 2017 split.
* :func:`iterative_stratification` — several labels per record: Sechidis,
  Tsoumakas & Vlahavas, "On the stratification of multi-label data" (ECML PKDD
  2011), applied to groups. Each side wants ``fraction × n`` records in all and
  ``fraction × n_l`` records of each label ``l``. Repeatedly, the label with the
  fewest unassigned groups is taken, and each of its groups (in an order
  shuffled by the seed) goes to the side that still wants most records of that
  label; ties go to the side that wants most records in all, then to a side
  drawn by the seed. Groups without labels go last, by the records still wanted.
  A side with fraction 0 gets nothing. Deterministic per seed.
* :func:`by_folds` — given folds (PTB-XL's ``strat_fold``, ``meta["fold"]``):
  each side is a set of folds (default 1–8 train, 9 val, 10 test).
* :func:`from_assignment` — an explicit ``record,split`` table (official test
  sets, another tool's split).

The last two do not move records: a group that the folds or the table put on
two sides is an error naming it (a patient or a duplicate recording would leak).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from dacl.io.documents import excerpt, listing

SPLITS: tuple[str, str, str] = ("train", "val", "test")
#: PTB-XL's recommended folds: 1-8 train, 9 validation, 10 test (Wagner et al. 2020; Strodthoff et al. 2021).
DEFAULT_FOLDS: dict[str, frozenset[int]] = {
    "train": frozenset(range(1, 9)),
    "val": frozenset({9}),
    "test": frozenset({10}),
}
#: The largest ``record,split`` file read.
MAX_ASSIGN_BYTES = 64 << 20


def groups_of(
    names: Sequence[str], sha256: Sequence[str], patients: Sequence[str] | None, eligible: Sequence[bool]
) -> list[list[int]]:
    """Eligible records joined by identical signals or a shared patient (transitively); each group sorted by
    name, the groups sorted by their first record's name."""
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_of: dict[str, int] = {}
    for i in range(len(names)):
        if not eligible[i]:
            continue
        keys = [f"sha:{sha256[i]}" if sha256[i] else f"record:{names[i]}"]
        if patients is not None and patients[i]:
            keys.append(f"patient:{patients[i]}")
        for key in keys:
            j = first_of.setdefault(key, i)
            parent[root(i)] = root(j)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(names)):
        if eligible[i]:
            members[root(i)].append(i)
    groups = [sorted(m, key=lambda i: names[i]) for m in members.values()]
    return sorted(groups, key=lambda g: names[g[0]])


def cut_points(fractions: Sequence[float], k: int) -> tuple[int, int]:
    """Ranks at which ``k`` shuffled items change side (train below the first, test from the second)."""
    return int(round(fractions[0] * k)), int(round((fractions[0] + fractions[1]) * k))


def stratified_single_label(
    groups: list[list[int]], labels: Sequence[str], vocabulary: Sequence[str], fractions: Sequence[float], seed: int
) -> dict[int, str]:
    """Side of each group (by its index in ``groups``), stratified by the label of its first record."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for g, members in enumerate(groups):
        by_label[labels[members[0]]].append(g)
    strata = [c for c in vocabulary if c in by_label] + sorted(k for k in by_label if k not in vocabulary)
    rng = np.random.default_rng(seed)
    side: dict[int, str] = {}
    for label in strata:
        stratum = by_label[label]  # already in name order
        order = rng.permutation(len(stratum))
        cut_train, cut_val = cut_points(fractions, len(stratum))
        for rank, g in enumerate(order):
            side[stratum[g]] = "train" if rank < cut_train else "val" if rank < cut_val else "test"
    return side


def iterative_stratification(
    groups: list[list[int]], label_sets: Sequence[Sequence[str]], fractions: Sequence[float], seed: int
) -> dict[int, str]:
    """Side of each group by iterative stratification (see the module docstring)."""
    rng = np.random.default_rng(seed)
    state = _Wanted(groups, label_sets, fractions)
    while state.todo:
        label, members = state.rarest(rng)
        for g in members:
            state.place(g, _best_side(state.open_sides, state.wanted_label[label], state.wanted, rng))
    for g in rng.permutation(len(groups)).tolist():
        if g not in state.side:
            state.place(g, _best_side(state.open_sides, state.wanted, state.wanted, rng))
    return {g: SPLITS[s] for g, s in state.side.items()}


class _Wanted:
    """What each side still wants (records in all, records of each label), and the groups placed so far."""

    def __init__(
        self, groups: list[list[int]], label_sets: Sequence[Sequence[str]], fractions: Sequence[float]
    ) -> None:
        self.open_sides = [s for s, f in enumerate(fractions) if f > 0]
        self.counts = [_label_counts(members, label_sets) for members in groups]
        self.sizes = [len(members) for members in groups]
        self.wanted = np.array([f * sum(self.sizes) for f in fractions], dtype=np.float64)
        self.wanted_label: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(fractions)))
        for c in self.counts:
            for label, n in c.items():
                self.wanted_label[label] = self.wanted_label[label] + np.asarray(fractions) * n
        self.todo = {g for g, c in enumerate(self.counts) if c}
        self.side: dict[int, int] = {}

    def rarest(self, rng: np.random.Generator) -> tuple[str, list[int]]:
        """The label with the fewest unplaced groups (ties drawn by ``rng``) and those groups, shuffled."""
        remaining: dict[str, list[int]] = defaultdict(list)
        for g in sorted(self.todo):
            for label in self.counts[g]:
                remaining[label].append(g)
        fewest = min(len(v) for v in remaining.values())
        rarest = sorted(label for label, v in remaining.items() if len(v) == fewest)
        label = rarest[int(rng.integers(len(rarest)))] if len(rarest) > 1 else rarest[0]
        members = remaining[label]
        return label, [members[i] for i in rng.permutation(len(members))]

    def place(self, g: int, s: int) -> None:
        self.side[g] = s
        self.todo.discard(g)
        self.wanted[s] -= self.sizes[g]
        for label, n in self.counts[g].items():
            self.wanted_label[label][s] -= n


def _label_counts(members: list[int], label_sets: Sequence[Sequence[str]]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for i in members:
        for label in set(label_sets[i]):
            counts[label] += 1
    return dict(counts)


def _best_side(sides: list[int], first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> int:
    """The side that wants most by ``first``, then by ``second``, then one drawn by ``rng``."""
    best = [s for s in sides if first[s] == max(first[t] for t in sides)]
    if len(best) > 1:
        best = [s for s in best if second[s] == max(second[t] for t in best)]
    return best[int(rng.integers(len(best)))] if len(best) > 1 else best[0]


def parse_folds(text: str) -> dict[str, frozenset[int]]:
    """``"1-8/9/10"`` -> the folds of train, val and test (each side a comma list of folds or ranges)."""
    parts = text.split("/")
    if len(parts) != 3:
        raise ValueError(f"folds: expected TRAIN/VAL/TEST (e.g. 1-8/9/10), got {text!r}")
    sides: dict[str, frozenset[int]] = {}
    for name, part in zip(SPLITS, parts, strict=True):
        folds: set[int] = set()
        for item in filter(None, (p.strip() for p in part.split(","))):
            try:
                lo, _, hi = item.partition("-")
                folds.update(range(int(lo), int(hi or lo) + 1))
            except ValueError:
                raise ValueError(f"folds: {item!r} is not a fold number or a range like 1-8") from None
        sides[name] = frozenset(folds)
    overlap = (sides["train"] & sides["val"]) | (sides["train"] & sides["test"]) | (sides["val"] & sides["test"])
    if overlap:
        raise ValueError(f"folds: fold(s) {sorted(overlap)} are on two sides")
    return sides


def by_folds(
    groups: list[list[int]], names: Sequence[str], folds: Sequence[str], sides: Mapping[str, frozenset[int]]
) -> dict[int, str]:
    """Side of each group from its records' folds; a group whose records' folds fall on two sides (or on none)
    is an error."""
    side_of_fold = {fold: side for side, fs in sides.items() for fold in fs}
    out: dict[int, str] = {}
    problems = []
    for g, members in enumerate(groups):
        found = {side_of_fold.get(fold) if (fold := _fold(folds[i])) is not None else None for i in members}
        if None in found:
            problems.append(f"{names[members[0]]} (fold {excerpt(folds[members[0]], 10) or 'missing'})")
        elif len(found) > 1:
            shown = ", ".join(names[i] for i in members[:3])
            problems.append(f"{shown} (one patient or duplicate, folds on two sides)")
        else:
            out[g] = found.pop()  # type: ignore[assignment]
    if problems:
        raise ValueError(f"cannot split by folds {_folds_text(sides)}: {listing(problems, 5)}")
    return out


def _fold(text: str) -> int | None:
    try:
        return int(float(text))
    except ValueError:
        return None


def _folds_text(sides: Mapping[str, frozenset[int]]) -> str:
    return "/".join(",".join(str(f) for f in sorted(sides[s])) for s in SPLITS)


def read_assignment(path: str) -> dict[str, str]:
    """A ``record,split`` CSV (an optional ``record,split`` header; sides train, val or test): record -> side."""
    with open(path, "rb") as f:
        raw = f.read(MAX_ASSIGN_BYTES + 1)
    if len(raw) > MAX_ASSIGN_BYTES:
        raise ValueError(f"{path} is larger than {MAX_ASSIGN_BYTES >> 20} MiB; not a record,split table")
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"{path} is not a UTF-8 CSV of record,split rows ({type(err).__name__})") from None
    if rows and [c.strip().lower() for c in rows[0]] == ["record", "split"]:
        rows = rows[1:]
    out: dict[str, str] = {}
    bad, repeated = [], []
    for lineno, row in enumerate(rows, start=1):
        if not "".join(row).strip():
            continue
        if len(row) != 2 or row[1].strip() not in SPLITS:
            bad.append(f"line {lineno}: '{excerpt(','.join(row))}'")
            continue
        name = row[0].strip()
        if name in out:
            repeated.append(excerpt(name))
        out[name] = row[1].strip()
    if bad:
        raise ValueError(f"{path}: expected record,split rows with split train, val or test: {listing(bad, 3)}")
    if repeated:
        raise ValueError(f"{path} assigns {len(repeated)} records more than once: {listing(repeated)}")
    return out


def from_assignment(
    groups: list[list[int]], names: Sequence[str], assignment: Mapping[str, str], every: Sequence[str], path: str
) -> dict[int, str]:
    """Side of each group from a ``record -> side`` table; records it names that the dataset lacks, usable
    records it leaves out, and groups it puts on two sides are one error each."""
    unknown = sorted(set(assignment) - set(every))
    if unknown:
        raise ValueError(
            f"{path} names {len(unknown)} records the dataset does not have: {listing([excerpt(u) for u in unknown])}"
        )
    out: dict[int, str] = {}
    missing: list[str] = []
    split_groups: list[str] = []
    for g, members in enumerate(groups):
        found = {assignment.get(names[i]) for i in members}
        if None in found:
            missing.extend(names[i] for i in members if names[i] not in assignment)
        elif len(found) > 1:
            split_groups.append(", ".join(names[i] for i in members[:3]))
        else:
            out[g] = found.pop()  # type: ignore[assignment]
    if missing:
        raise ValueError(f"{path} does not assign {len(missing)} usable records: {listing(missing)}")
    if split_groups:
        raise ValueError(f"{path} puts one patient or duplicate recording on two sides: {listing(split_groups, 5)}")
    return out
