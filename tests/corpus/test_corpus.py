"""Reading PhysioNet-layout corpora: zip vs folder, parity with wfdb, every bad input by name."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import wfdb

from dacl.corpus import Record, RecordError, open_corpus, sample_path
from dacl.corpus.cinc2017 import CLASSES, parse_reference


def _zip_folder(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as z:
        for f in sorted(folder.iterdir()):
            z.write(f, f"training2017/{f.name}")
    return dest


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    """The shipped sample, extracted: tmp/training2017/..."""
    with zipfile.ZipFile(sample_path()) as z:
        z.extractall(tmp_path / "extracted")
    return tmp_path / "extracted" / "training2017"


def _names(folder: Path) -> list[str]:
    return (folder / "RECORDS").read_text().split()


def test_sample_has_every_class_and_matching_reference():
    corpus = open_corpus(sample_path())
    assert (corpus.layout, corpus.task, corpus.vocabulary) == ("cinc2017", "single-label", CLASSES)
    assert corpus.layout_reason == "REFERENCE.csv at the corpus root"
    labels = {name: corpus.labels_of(name) for name in corpus.names}
    assert all(v is not None and len(v) == 1 for v in labels.values())
    assert {"N", "A", "O", "~"} <= {v[0] for v in labels.values() if v}


def test_zip_and_folder_give_identical_records(sample_dir: Path):
    from_zip = list(open_corpus(sample_path()))
    from_folder = list(open_corpus(sample_dir))
    from_parent = list(open_corpus(sample_dir.parent))  # the folder holding training2017/
    assert [r.name for r in from_zip] == [r.name for r in from_folder] == [r.name for r in from_parent]
    for a, b in zip(from_zip, from_folder, strict=True):
        assert isinstance(a, Record)
        np.testing.assert_array_equal(a.signal, b.signal)
        assert (a.fs, a.label, a.sha256) == (b.fs, b.label, b.sha256)
        assert a.signal.dtype == np.float64 and a.signal.shape == (1, a.n_samples) and a.leads == ("I",)


def test_reader_matches_wfdb_rdrecord(sample_dir: Path):
    for rec in open_corpus(sample_dir):
        ref = wfdb.rdrecord(str(sample_dir / rec.name))
        assert ref.fs == rec.fs
        np.testing.assert_array_equal(rec.signal, ref.p_signal.T)


def test_sha256_identifies_identical_signals(sample_dir: Path):
    corpus = open_corpus(sample_dir)
    a, b = corpus.names[:2]
    assert corpus.read(a).sha256 == corpus.read(a).sha256
    assert corpus.read(a).sha256 != corpus.read(b).sha256


def test_missing_path_raises_file_not_found(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="nope.zip"):
        open_corpus(tmp_path / "nope.zip")


def test_not_a_corpus(tmp_path: Path):
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(ValueError, match="not a WFDB corpus"):
        open_corpus(tmp_path)
    with pytest.raises(ValueError, match="neither a folder nor a zip"):
        open_corpus(tmp_path / "x.txt")


def test_without_records_file_lists_headers(sample_dir: Path):
    names = _names(sample_dir)
    (sample_dir / "RECORDS").unlink()
    assert open_corpus(sample_dir).names == sorted(names)


# ------------------------------------------------------------------ bad records


def _expect_bad(folder: Path, name: str, match: str, tmp_path: Path) -> None:
    """The record fails by name from the folder and from a zip of it; the others still read."""
    for source in (folder, _zip_folder(folder, tmp_path / f"bad-{name}.zip")):
        corpus = open_corpus(source)
        with pytest.raises(RecordError, match=match) as info:
            corpus.read(name)
        assert info.value.name == name and name in str(info.value)
        results = corpus.read_many(corpus.names, threads=3)
        bad = [r for r in results if isinstance(r, RecordError)]
        assert [e.name for e in bad] == [name]
        assert len(results) == len(corpus.names)


def test_corrupt_mat_header(sample_dir: Path, tmp_path: Path):
    name = _names(sample_dir)[3]
    mat = sample_dir / f"{name}.mat"
    data = bytearray(mat.read_bytes())
    data[0:4] = (99).to_bytes(4, "little")  # not an int16 matrix
    mat.write_bytes(bytes(data))
    _expect_bad(sample_dir, name, "MATLAB v4", tmp_path)


def test_truncated_mat(sample_dir: Path, tmp_path: Path):
    name = _names(sample_dir)[4]
    mat = sample_dir / f"{name}.mat"
    mat.write_bytes(mat.read_bytes()[:1000])
    _expect_bad(sample_dir, name, "truncated", tmp_path)


def test_truncated_header(sample_dir: Path, tmp_path: Path):
    name = _names(sample_dir)[5]
    hea = sample_dir / f"{name}.hea"
    hea.write_text(hea.read_text().splitlines()[0] + "\n")
    _expect_bad(sample_dir, name, "truncated", tmp_path)


def test_garbage_header(sample_dir: Path, tmp_path: Path):
    name = _names(sample_dir)[6]
    (sample_dir / f"{name}.hea").write_text(f"{name} one three hundred\n")
    _expect_bad(sample_dir, name, "header record line .*: signal count 'one' is not a non-negative integer", tmp_path)


def test_record_listed_without_files(sample_dir: Path, tmp_path: Path):
    name = _names(sample_dir)[7]
    (sample_dir / f"{name}.mat").unlink()
    _expect_bad(sample_dir, name, "missing", tmp_path)
    (sample_dir / f"{name}.hea").unlink()
    _expect_bad(sample_dir, name, "missing", tmp_path)


def _write_mat(folder: Path, name: str, digital: np.ndarray) -> None:
    """A record in the challenge's own layout (format 16 + MATLAB v4 header)."""
    n = len(digital)
    header = np.array([30, 1, n, 0, 4], "<i4").tobytes() + b"val\0"
    (folder / f"{name}.mat").write_bytes(header + digital.astype("<i2").tobytes())
    first = int(digital[0]) if n else 0
    (folder / f"{name}.hea").write_text(f"{name} 1 300 {n}\n{name}.mat 16+24 1000/mV 16 0 {first} 0 0 ECG\n")


def test_nan_record(sample_dir: Path, tmp_path: Path):
    name = _names(sample_dir)[8]
    digital = np.arange(3000, dtype=np.int16)
    digital[1234] = -32768  # WFDB's invalid-sample marker -> NaN
    _write_mat(sample_dir, name, digital)
    _expect_bad(sample_dir, name, r"non-finite.*NaN.*sample 1234", tmp_path)


def test_empty_and_too_short_records(sample_dir: Path, tmp_path: Path):
    names = _names(sample_dir)
    _write_mat(sample_dir, names[9], np.zeros(0, np.int16))
    with pytest.raises(RecordError, match=f"{names[9]}.*empty"):
        open_corpus(sample_dir).read(names[9])
    _write_mat(sample_dir, names[9], np.ones(100, np.int16))
    corpus = open_corpus(sample_dir)
    assert corpus.read(names[9]).signal.size == 100
    with pytest.raises(RecordError, match=f"{names[9]}.*too short"):
        corpus.read(names[9], min_samples=300)


@pytest.mark.parametrize("fmt", ["212", "516"])
def test_other_formats_read_from_folder_and_zip(sample_dir: Path, tmp_path: Path, fmt: str):
    # Format 212 is decoded by the numpy reader, 516 (FLAC) by wfdb (from a temporary copy for the zip).
    name = "B00001"
    signal = np.round(np.sin(np.linspace(0, 20, 2000))[:, None] * 500) / 1000
    wfdb.wrsamp(
        name,
        fs=250,
        units=["mV"],
        sig_name=["ECG"],
        p_signal=signal,
        fmt=[fmt],
        adc_gain=[1000],
        baseline=[0],
        write_dir=str(sample_dir),
    )
    with open(sample_dir / "RECORDS", "a") as f:
        f.write(f"{name}\n")
    (sample_dir / "REFERENCE.csv").write_text((sample_dir / "REFERENCE.csv").read_text() + f"{name},N\n")
    expected = wfdb.rdrecord(str(sample_dir / name)).p_signal[:, 0]
    for source in (sample_dir, _zip_folder(sample_dir, tmp_path / "fmt212.zip")):
        rec = open_corpus(source).read(name)
        assert rec.fs == 250
        np.testing.assert_array_equal(rec.signal[0], expected)


# ------------------------------------------------------------------ REFERENCE.csv


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda rows: rows + ["Z99999,N"], "labels for 1 records not in the corpus: Z99999"),
        (lambda rows: rows[1:], "1 records without a label: {first}"),
        (lambda rows: [rows[0].split(",")[0] + ",X"] + rows[1:], "unknown labels.*{first}='X'"),
        (lambda rows: rows + [rows[0]], "duplicated rows for {first}"),
    ],
    ids=["extra", "missing", "unknown-letter", "duplicated"],
)
def test_reference_mismatch_raises_by_name(sample_dir: Path, tmp_path: Path, edit, match):
    ref = sample_dir / "REFERENCE.csv"
    rows = ref.read_text().split()
    first = rows[0].split(",")[0]
    ref.write_text("\n".join(edit(rows)) + "\n")
    for source in (sample_dir, _zip_folder(sample_dir, tmp_path / "ref.zip")):
        with pytest.raises(ValueError, match=match.format(first=first)):
            open_corpus(source)


def test_partial_labels_policy(sample_dir: Path):
    ref = sample_dir / "REFERENCE.csv"
    rows = ref.read_text().split()
    first = rows[0].split(",")[0]
    ref.write_text("\n".join(rows[1:] + ["Z99999,N"]) + "\n")
    corpus = open_corpus(sample_dir, partial_labels=True)
    assert corpus.label(first) is None and corpus.labels_of(first) is None
    assert corpus.read(first).labels == ()
    assert "Z99999" not in corpus.names
    # Unknown letters and duplicates are never accepted.
    with pytest.raises(ValueError, match="duplicated"):
        parse_reference("A,N\nA,N\n", ["A"], partial_labels=True)
    with pytest.raises(ValueError, match="unknown labels"):
        parse_reference("A,Q\n", ["A"], partial_labels=True)


def test_no_reference_means_unlabelled(sample_dir: Path):
    (sample_dir / "REFERENCE.csv").unlink()
    corpus = open_corpus(sample_dir)  # no marker: generic WFDB records, the lead as its header names it
    assert (corpus.layout, corpus.task, corpus.vocabulary) == ("wfdb", "none", None)
    assert next(iter(corpus)).label is None and next(iter(corpus)).leads == ("ECG",)
    forced = open_corpus(sample_dir, "cinc2017")
    assert (forced.layout, forced.task, forced.vocabulary, forced.layout_reason) == (
        "cinc2017",
        "none",
        None,
        "chosen by the caller",
    )
    assert next(iter(forced)).leads == ("I",) and next(iter(forced)).labels == ()


def test_duplicated_records_listing(sample_dir: Path):
    records = sample_dir / "RECORDS"
    names = _names(sample_dir)
    records.write_text("\n".join(names + names[:1]) + "\n")
    with pytest.raises(ValueError, match=f"more than once: {names[0]}"):
        open_corpus(sample_dir)


def test_iteration_stops_at_first_bad_record(sample_dir: Path):
    name = _names(sample_dir)[2]
    shutil.copy(sample_dir / f"{_names(sample_dir)[0]}.hea", sample_dir / f"{name}.hea")
    with pytest.raises(RecordError, match=f"record {name}: header names record"):
        list(open_corpus(sample_dir))
