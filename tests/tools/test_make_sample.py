"""tools/make_sample.py: the shipped sample is reproducible from a PhysioNet 2017 training zip."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from helpers import TOOLS, load_script

from dacl.corpus import sample_path

make_sample = load_script(TOOLS / "make_sample.py")


def members(path: Path) -> list[tuple[str, tuple[int, ...], int, bytes]]:
    with zipfile.ZipFile(path) as z:
        return [(i.filename, i.date_time, i.external_attr, z.read(i)) for i in z.infolist()]


def test_the_sample_of_the_sample_is_the_sample(tmp_path: Path) -> None:
    """Drawn from the shipped sample itself (its classes hold exactly the quotas), the tool writes the same zip."""
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    counts = make_sample.make_sample(sample_path(), first)
    assert counts == make_sample.QUOTA
    assert members(first) == members(sample_path())
    make_sample.make_sample(sample_path(), second)
    assert first.read_bytes() == second.read_bytes()  # fixed times and order: byte for byte


def test_choose_records_fills_each_quota_with_a_seeded_draw() -> None:
    labels = {f"A{i:05d}": "NAO~"[i % 4] for i in range(400)}
    labels |= {"A00227": "O", "A01176": "O"}  # a documented duplicate pair: kept together
    chosen = make_sample.choose_records(labels, seed=0)
    assert chosen == sorted(chosen) and len(set(chosen)) == len(chosen)
    assert {"A00227", "A01176"} <= set(chosen)
    assert {c: sum(labels[n] == c for n in chosen) for c in "NAO~"} == make_sample.QUOTA
    assert make_sample.choose_records(labels, seed=0) == chosen
    assert make_sample.choose_records(labels, seed=1) != chosen


def test_a_source_without_labels_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "unlabelled.zip"
    with zipfile.ZipFile(sample_path()) as zin, zipfile.ZipFile(source, "w") as zout:
        for info in zin.infolist():
            if not info.filename.endswith("REFERENCE.csv"):
                zout.writestr(info, zin.read(info))
    with pytest.raises(ValueError, match="no REFERENCE.csv"):
        make_sample.make_sample(source, tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()
