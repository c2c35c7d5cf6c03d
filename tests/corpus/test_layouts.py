"""The synthetic PTB-XL, MIMIC-IV-ECG, CinC 2020/2021 and annotated corpora: detection, records, labels,
metadata, ranges, zip = folder, and every bad input by name."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import wfdb
from corpus_layouts import (
    SCP_STATEMENTS,
    Written,
    write_annotated,
    write_cinc2021,
    write_mimic_iv_ecg,
    write_ptbxl,
    write_record,
    zip_tree,
)

from dacl.corpus import Corpus, Interval, RecordError, open_corpus
from dacl.corpus.annotations import majority_label, rhythm_intervals
from dacl.corpus.leads import STANDARD_LEADS
from dacl.corpus.records import signal_sha256


@pytest.fixture(scope="module")
def ptbxl(tmp_path_factory: pytest.TempPathFactory) -> Written:
    return write_ptbxl(tmp_path_factory.mktemp("ptbxl") / "ptb-xl-1.0.3", n_records=12, seconds=2.0)


@pytest.fixture(scope="module")
def mimic(tmp_path_factory: pytest.TempPathFactory) -> Written:
    return write_mimic_iv_ecg(tmp_path_factory.mktemp("mimic"), seconds=2.0)


@pytest.fixture(scope="module")
def cinc(tmp_path_factory: pytest.TempPathFactory) -> Written:
    return write_cinc2021(tmp_path_factory.mktemp("cinc"), seconds=2.0)


@pytest.fixture(scope="module")
def annotated(tmp_path_factory: pytest.TempPathFactory) -> Written:
    return write_annotated(tmp_path_factory.mktemp("atr"), minutes=1.0)


def _same_as_wfdb(corpus: Corpus, root: Path, **read: object) -> None:
    """Every record equals wfdb's reading of it, lead by lead matched by name (never position)."""
    for name in corpus.names:
        rec = corpus.read(name, **read)  # type: ignore[arg-type]
        ref = wfdb.rdrecord(str(root / name))
        columns = [[i for i, s in enumerate(ref.sig_name) if s.casefold() == lead.casefold()][0] for lead in rec.leads]
        np.testing.assert_array_equal(rec.signal, ref.p_signal.T[columns])
        assert rec.fs == ref.fs and rec.sha256 == signal_sha256(rec.signal)


def _same_corpus(a: Corpus, b: Corpus) -> None:
    assert (a.layout, a.names, a.task, a.vocabulary) == (b.layout, b.names, b.task, b.vocabulary)
    for name in a.names:
        x, y = a.read(name, keep_invalid=True), b.read(name, keep_invalid=True)
        np.testing.assert_array_equal(x.signal, y.signal)
        assert (x.leads, x.fs, x.labels, x.sha256, dict(x.meta)) == (y.leads, y.fs, y.labels, y.sha256, dict(y.meta))


# ------------------------------------------------------------------ PTB-XL


def _scp_expected(codes: dict[str, float], level: str, threshold: float) -> tuple[str, ...]:
    """The benchmark's aggregation, written out from the fixture's statement table."""
    kept = [c for c, likelihood in codes.items() if likelihood >= threshold]
    diagnostic, form, rhythm, klass, sub = (0, 1, 2, 3, 4)
    pick = {
        "all": lambda c: c,
        "diagnostic": lambda c: c if SCP_STATEMENTS[c][diagnostic] else None,
        "subdiagnostic": lambda c: SCP_STATEMENTS[c][sub] if SCP_STATEMENTS[c][diagnostic] else None,
        "superdiagnostic": lambda c: SCP_STATEMENTS[c][klass] if SCP_STATEMENTS[c][diagnostic] else None,
        "form": lambda c: c if SCP_STATEMENTS[c][form] else None,
        "rhythm": lambda c: c if SCP_STATEMENTS[c][rhythm] else None,
    }[level]
    return tuple(sorted({pick(c) for c in kept} - {None}))


def test_ptbxl_is_detected_and_reads_like_wfdb(ptbxl: Written):
    corpus = open_corpus(ptbxl.root.parent)  # the folder holding the download folder
    assert (corpus.layout, corpus.task) == ("ptbxl", "multi-label")
    assert corpus.layout_reason == "ptbxl_database.csv at the corpus root; filename_hr records"
    assert corpus.names == ptbxl.names and corpus.names[0] == "records500/00000/00001_hr"
    _same_as_wfdb(corpus, ptbxl.root)
    rec = corpus.read(corpus.names[0])
    assert rec.leads == STANDARD_LEADS and rec.fs == 500  # headers write AVR AVL AVF
    lr = open_corpus(ptbxl.root, ptbxl_records="100")
    assert lr.names == [r.filename_lr for r in ptbxl.rows] and lr.read(lr.names[0]).fs == 100
    _same_as_wfdb(lr, ptbxl.root)


@pytest.mark.parametrize("level", ["all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm"])
@pytest.mark.parametrize("threshold", [0.0, 50.0])
def test_ptbxl_labels_by_level_and_threshold(ptbxl: Written, level: str, threshold: float):
    corpus = open_corpus(ptbxl.root, scp_level=level, scp_threshold=threshold)
    vocabulary = sorted({label for c in SCP_STATEMENTS for label in _scp_expected({c: 100.0}, level, 0.0)})
    assert corpus.vocabulary == tuple(vocabulary)
    for name, row in zip(corpus.names, ptbxl.rows, strict=True):
        assert corpus.labels_of(name) == _scp_expected(row.scp_codes, level, threshold), (name, row.scp_codes)
    assert open_corpus(ptbxl.root, scp_level="superdiagnostic").labels_of(ptbxl.names[2]) == ("MI",)


def test_ptbxl_metadata_patients_and_folds(ptbxl: Written):
    corpus = open_corpus(ptbxl.root)
    for name, row in zip(corpus.names, ptbxl.rows, strict=True):
        meta = corpus.read(name).meta
        assert meta == {
            "ecg_id": row.ecg_id,
            "fold": row.fold,
            "patient": str(row.patient_id),
            "age": row.age,
            "sex": "male" if row.sex == 0 else "female",
            "database": "ptbxl",
        }
    patients = [corpus.read(n).meta["patient"] for n in corpus.names]
    assert len(set(patients)) == len(patients) // 2  # two records each: what a grouped split must keep together


def test_ptbxl_auto_falls_back_to_100_hz_and_a_table_without_records_fails(tmp_path: Path):
    only_lr = write_ptbxl(tmp_path / "lr", n_records=3, seconds=1.0, rates=("100",))
    corpus = open_corpus(only_lr.root)
    assert corpus.names == [r.filename_lr for r in only_lr.rows]
    with pytest.raises(
        ValueError,
        match=r"ptbxl_database.csv lists 3 records, but none of their headers "
        r"\(filename_hr\) is here \(the first: records500/00000/00001_hr.hea\)",
    ):
        open_corpus(only_lr.root, ptbxl_records="500")
    shutil.rmtree(only_lr.root / "records100")
    with pytest.raises(ValueError, match="none of their headers .filename_hr or filename_lr. is here"):
        open_corpus(only_lr.root)


def test_a_ptbxl_record_missing_on_disk_is_a_bad_record(tmp_path: Path):
    written = write_ptbxl(tmp_path / "p", n_records=3, seconds=1.0)
    (written.root / f"{written.names[1]}.dat").unlink()
    corpus = open_corpus(written.root)
    results = corpus.read_many(corpus.names)
    assert [isinstance(r, RecordError) for r in results] == [False, True, False]
    assert "signal file 00002_hr.dat is missing" in str(results[1])


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda t: t.replace("'NORM': 100.0", "'BOGUS': 100.0", 1), "line 2: SCP code .BOGUS. is not in scp_st"),
        (lambda t: t.replace("{'NORM': 100.0, 'SR': 0.0}", "oops", 1), "line 2: scp_codes 'oops' is not a"),
        (lambda t: t.replace("records500/00000/00002_hr", "records500/00000/00001_hr", 1), "1 records more than once"),
        (lambda t: t.replace("records500/00000/00002_hr", "../../etc/passwd", 1), "line 3: filename_hr .* relative"),
        (lambda t: t.replace(",1,records100", ",x,records100", 1), "line 2: strat_fold 'x' is not an integer"),
        (lambda t: t.replace("filename_hr", "file_hr", 1), "lacks the column.s. filename_hr"),
    ],
    ids=["unknown-code", "malformed-codes", "duplicate", "outside", "fold", "column"],
)
def test_a_ptbxl_table_that_disagrees_is_one_error_naming_the_line(tmp_path: Path, edit, match: str):
    written = write_ptbxl(tmp_path / "p", n_records=3, seconds=1.0)
    table = written.root / "ptbxl_database.csv"
    table.write_text(edit(table.read_text()))
    with pytest.raises(ValueError, match=match) as info:
        open_corpus(written.root)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_ptbxl_needs_its_statements_and_valid_options(tmp_path: Path):
    written = write_ptbxl(tmp_path / "p", n_records=2, seconds=1.0)
    with pytest.raises(ValueError, match="scp_level must be one of all, diagnostic"):
        open_corpus(written.root, scp_level="super")
    with pytest.raises(ValueError, match="scp_threshold must be a likelihood in percent"):
        open_corpus(written.root, scp_threshold=150)
    with pytest.raises(ValueError, match="ptbxl_records must be auto, 500 or 100"):
        open_corpus(written.root, ptbxl_records="250")
    (written.root / "scp_statements.csv").unlink()
    with pytest.raises(ValueError, match="ptbxl_database.csv is here but scp_statements.csv is not"):
        open_corpus(written.root)


# ------------------------------------------------------------------ MIMIC-IV-ECG


def test_mimic_is_detected_unlabelled_with_patients(mimic: Written):
    corpus = open_corpus(mimic.root)
    assert (corpus.layout, corpus.task, corpus.vocabulary) == ("mimic-iv-ecg", "none", None)
    assert corpus.layout_reason == "record_list.csv beside a files/ tree"
    assert corpus.names == mimic.names
    for name, row in zip(corpus.names, mimic.rows, strict=True):
        rec = corpus.read(name, keep_invalid=True)
        assert rec.labels == () and corpus.labels_of(name) is None
        assert {k: rec.meta[k] for k in ("patient", "study", "ecg_time")} == {
            "patient": str(row.subject_id),
            "study": str(row.study_id),
            "ecg_time": row.ecg_time,
        }
        # Stored I II III aVR aVF aVL ...: kept in the record's order, named canonically.
        assert rec.leads == ("I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6")
    _same_as_wfdb(corpus, mimic.root, keep_invalid=True)


def test_mimic_invalid_samples_are_nan_and_counted_when_kept(mimic: Written):
    corpus = open_corpus(mimic.root)
    first = corpus.names[0]
    with pytest.raises(RecordError, match=f"{first}: signal contains 2 non-finite values .NaN.*lead 1 at sample 100"):
        corpus.read(first)
    rec = corpus.read(first, keep_invalid=True)
    assert rec.meta["invalid"] == {"II": 2}
    assert np.isnan(rec.signal[1, [100, rec.n_samples - 10]]).all() and np.isnan(rec.signal).sum() == 2


def test_mimic_record_list_without_its_records(tmp_path: Path):
    written = write_mimic_iv_ecg(tmp_path / "m", n_subjects=1, studies_per_subject=2, seconds=1.0)
    for row in written.rows:
        (written.root / f"{row.path}.hea").unlink()
    with pytest.raises(ValueError, match=r"record_list.csv lists 2 records, but none of their headers \(path\) is"):
        open_corpus(written.root)


# ------------------------------------------------------------------ CinC 2020/2021


def test_cinc2021_nested_folders_are_detected_with_their_databases(cinc: Written):
    for root, prefix in [(cinc.root, ""), (cinc.root.parent, "training/")]:  # the training folder, or above it
        corpus = open_corpus(root)
        assert (corpus.layout, corpus.task) == ("cinc2021", "multi-label")
        assert corpus.names == [prefix + n for n in cinc.names]
        assert corpus.layout_reason == f"'# Dx:' comment in the header of {corpus.names[0].rsplit('/', 1)[-1]}"
    corpus = open_corpus(cinc.root)
    for name, row in zip(corpus.names, cinc.rows, strict=True):
        rec = corpus.read(name)
        assert rec.labels == tuple(c.strip() for c in row.dx.split(",") if c.strip())  # a trailing comma is fine
        expected = {"sex": row.sex.lower(), "database": row.database}
        if row.age != "NaN":
            expected["age"] = int(row.age)
        assert dict(rec.meta) == expected
    _same_as_wfdb(corpus, cinc.root)


def test_cinc2021_records_files_in_each_group_are_followed(tmp_path: Path):
    written = write_cinc2021(tmp_path, seconds=1.0, records_files=True)
    (written.root / "RECORDS").write_text(
        "".join(f"{p.parent.name}/{p.name}/\n" for p in sorted(written.root.glob("*/g*")))
    )
    corpus = open_corpus(written.root)
    assert sorted(corpus.names) == written.names and "records_sha256" in corpus.fingerprint


def test_cinc2021_scored_classes_merge_equivalents_and_drop_unscored(cinc: Written):
    corpus = open_corpus(cinc.root, label_map="cinc-scored")
    assert len(corpus.vocabulary) == 26
    scored = {name: corpus.labels_of(name) for name in corpus.names}
    assert scored["georgia/g2/E00002"] == ("164889003", "713427006")  # AF, RBBB counted as CRBBB
    assert scored["georgia/g1/E00003"] == ("713427006",)  # CRBBB; 55930002 is not scored
    assert scored["georgia/g2/E00004"] == ("427172004",)  # PVC and VPB: one class
    assert scored["chapman_shaoxing/g2/JS00004"] == ("733534002", "426783006")  # LBBB = CLBBB, NSR
    assert scored["chapman_shaoxing/g1/JS00003"] == ()  # only unscored codes: labelled, no scored class
    raw = open_corpus(cinc.root)
    assert "55930002" in raw.vocabulary and "59118001" in raw.vocabulary


def test_cinc2021_malformed_or_missing_dx_is_a_bad_record(tmp_path: Path):
    written = write_cinc2021(tmp_path, seconds=1.0)
    bad, missing = written.names[0], written.names[1]
    for name, old, new in [(bad, "# Dx: ", "# Dx: 42x,"), (missing, "# Dx: ", "# Note: ")]:
        hea = written.root / f"{name}.hea"
        hea.write_text(hea.read_text().replace(old, new))
    corpus = open_corpus(written.root)
    with pytest.raises(RecordError, match=f"{bad}: '# Dx:' comment holds '42x', which is not a SNOMED CT code"):
        corpus.read(bad)
    with pytest.raises(RecordError, match=f"{missing}: header has no '# Dx:' comment"):
        corpus.read(missing)
    assert [isinstance(r, RecordError) for r in corpus.read_many(corpus.names)].count(True) == 2
    lenient = open_corpus(written.root, partial_labels=True)
    assert lenient.labels_of(missing) is None and lenient.read(missing).labels == ()


# ------------------------------------------------------------------ zip = folder


def test_every_synthetic_layout_reads_the_same_zipped(
    tmp_path: Path, ptbxl: Written, mimic: Written, cinc: Written, annotated: Written
):
    for written, prefix in [(ptbxl, "ptb-xl-1.0.3/"), (mimic, ""), (cinc, "training/"), (annotated, "x/y/")]:
        archive = zip_tree(written.root, tmp_path / f"{written.root.name}.zip", prefix)
        zipped, folder = open_corpus(archive), open_corpus(written.root)
        _same_corpus(zipped, folder)
        assert [zipped.annotations(n) for n in zipped.names] == [folder.annotations(n) for n in folder.names]


# ------------------------------------------------------------------ ranges, info, annotations


def test_a_range_is_the_slice_of_the_whole_record(annotated: Written, tmp_path: Path):
    archive = zip_tree(annotated.root, tmp_path / "a.zip")
    for corpus in (open_corpus(annotated.root), open_corpus(archive)):
        whole = corpus.read("rec_a")
        for a, b in [(0, 1), (5000, 7000), (whole.n_samples - 3, whole.n_samples), (1, None)]:
            part = corpus.read("rec_a", sampfrom=a, sampto=b)
            np.testing.assert_array_equal(part.signal, whole.signal[:, a:b])
            assert part.start == a and part.leads == whole.leads and part.sha256 == signal_sha256(part.signal)
        with pytest.raises(RecordError, match=r"rec_a: sample range 10:5 is outside"):
            corpus.read("rec_a", sampfrom=10, sampto=5)
        with pytest.raises(RecordError, match="too short: 10 samples"):
            corpus.read("rec_a", sampfrom=0, sampto=10, min_samples=11)


def test_info_reads_no_samples(tmp_path: Path):
    written = write_annotated(tmp_path / "a", minutes=0.5)
    corpus = open_corpus(written.root)
    before = corpus.info("rec_a")
    assert (before.n_samples, before.fs, before.leads, before.units) == (6000, 200.0, ("I", "II"), ("mV", "mV"))
    (written.root / "rec_a.dat").unlink()  # the header alone answers
    assert corpus.info("rec_a") == before
    with pytest.raises(RecordError, match="signal file rec_a.dat is missing"):
        corpus.read("rec_a")


def test_annotations_are_rhythm_intervals(annotated: Written):
    corpus = open_corpus(annotated.root)
    n = annotated.rows[0].n_samples
    assert corpus.annotations("rec_a") == [
        Interval(0, n // 4, "N"),
        Interval(n // 4, n // 2, "AFIB"),
        Interval(n // 2, n, "N"),
    ]
    assert corpus.annotations("rec_b") == []  # annotated, but no rhythm change: no interval
    assert corpus.annotations("rec_c") is None  # no .atr at all
    assert corpus.read("rec_a").meta == {"comments": ["paroxysmal atrial fibrillation"]}


def test_rhythm_intervals_and_the_majority_rule():
    got = rhythm_intervals(
        [0, 5, 10, 10, 40, 50, 70, 120],
        ["+", "N", "+", "N", "+", "+", "+", "+"],
        ["(N", "", "(AFIB\x00", "(X", "(AFIB", "(N", "", "(VT"],
        100,
    )
    # (AFIB at 10 then (AFIB again at 40: one interval; a '+' without text is no change; 120 is past the end.
    assert got == [Interval(0, 10, "N"), Interval(10, 50, "AFIB"), Interval(50, 100, "N")]
    assert rhythm_intervals([30], ["+"], ["(N"], 100) == [Interval(30, 100, "N")]  # nothing before the first
    assert majority_label(got, 0, 20) is None  # N 10, AFIB 10: no majority
    assert majority_label(got, 0, 19) == "N" and majority_label(got, 5, 30) == "AFIB"
    assert majority_label(got, 40, 70) == "N"  # AFIB 10, N 20
    assert majority_label([Interval(30, 100, "N")], 0, 50) is None  # uncovered for 30 of 50 samples


# ------------------------------------------------------------------ leads and units


def _one_record(folder: Path, leads: list[str], units: str = "mV", n: int = 300) -> Path:
    signal = np.vstack([np.sin(np.arange(n) / (10 + i)) for i in range(len(leads))])
    write_record(folder, "r1", signal, leads, 250.0, units=units, gain=1000.0 if units == "mV" else 1.0)
    return folder


def test_microvolts_become_millivolts(tmp_path: Path):
    folder = _one_record(tmp_path / "uv", ["I", "II"], units="uV")
    rec = open_corpus(folder).read("r1")
    ref = wfdb.rdrecord(str(folder / "r1"))
    assert ref.units == ["uV", "uV"]
    np.testing.assert_allclose(rec.signal, ref.p_signal.T / 1000, rtol=0, atol=1e-12)


def test_an_ecg_lead_in_another_unit_is_a_bad_record(tmp_path: Path):
    folder = _one_record(tmp_path / "mmhg", ["II"], units="mmHg")
    with pytest.raises(RecordError, match="r1: lead II is in 'mmHg'; ECG leads must be in mV or µV"):
        open_corpus(folder).read("r1")


def test_leads_required_picks_by_name_and_names_what_is_missing(tmp_path: Path):
    folder = _one_record(tmp_path / "l", ["V1", "avf", "ABP"])
    whole = open_corpus(folder).read("r1")
    assert whole.leads == ("V1", "aVF") and whole.meta["dropped"] == ["ABP (mV)"]
    picked = open_corpus(folder, leads_required=["aVF", "v1"]).read("r1")
    assert picked.leads == ("aVF", "V1")
    np.testing.assert_array_equal(picked.signal, whole.signal[::-1])
    with_abp = open_corpus(folder, leads_required=["ABP", "V1"]).read("r1")
    assert with_abp.leads == ("ABP", "V1") and with_abp.meta["units"] == {"ABP": "mV"}
    with pytest.raises(RecordError, match="r1: missing leads: V3, I"):
        open_corpus(folder, leads_required=["V3", "I", "V1"]).read("r1")
    with pytest.raises(ValueError, match="each once"):
        open_corpus(folder, leads_required=["V1", "v1"])
    with pytest.raises(TypeError, match="sequence of lead names"):
        open_corpus(folder, leads_required="V1")


def test_two_signals_with_one_lead_name_or_no_ecg_lead_are_bad_records(tmp_path: Path):
    twice = _one_record(tmp_path / "twice", ["II", "ii"])
    with pytest.raises(RecordError, match="r1: lead II is the name of 2 signals"):
        open_corpus(twice).read("r1")
    none = _one_record(tmp_path / "none", ["ABP", "PLETH"])
    with pytest.raises(RecordError, match=r"r1: has no ECG leads \(its signals: ABP, PLETH\)"):
        open_corpus(none).read("r1")


# ------------------------------------------------------------------ generic WFDB labels, options, layouts


def test_a_labels_csv_labels_a_generic_corpus(annotated: Written, tmp_path: Path):
    labels = tmp_path / "labels.csv"
    labels.write_text("record,labels\nrec_a,AF;N\nrec_b,N\nrec_c,\n")
    corpus = open_corpus(annotated.root, labels=labels)
    assert (corpus.layout, corpus.task, corpus.vocabulary) == ("wfdb", "multi-label", ("AF", "N"))
    assert [corpus.labels_of(n) for n in corpus.names] == [("AF", "N"), ("N",), ()]
    assert "labels_sha256" in corpus.fingerprint
    labels.write_text("rec_a,AF\nrec_b,N\nrec_c,N\n")
    assert open_corpus(annotated.root, labels=labels).task == "single-label"


def test_a_labels_csv_that_disagrees_with_the_records(annotated: Written, tmp_path: Path):
    labels = tmp_path / "labels.csv"
    labels.write_text("rec_a,AF\nrec_b,N\nghost,N\n")
    with pytest.raises(
        ValueError,
        match=r"labels.csv disagrees with the records: labels for 1 records not in the "
        r"corpus: ghost; 1 records without a label: rec_c",
    ):
        open_corpus(annotated.root, labels=labels)
    corpus = open_corpus(annotated.root, labels=labels, partial_labels=True)
    assert corpus.labels_of("rec_c") is None and corpus.labels_of("rec_a") == ("AF",)
    with pytest.raises(FileNotFoundError, match="labels file not found"):
        open_corpus(annotated.root, labels=tmp_path / "nope.csv")


def test_unknown_layouts_and_misplaced_options_are_errors(annotated: Written, cinc: Written, tmp_path: Path):
    with pytest.raises(ValueError, match="unknown corpus layout 'ptb'; expected auto or one of cinc2017, cinc2021"):
        open_corpus(annotated.root, "ptb")
    with pytest.raises(ValueError, match="label_map applies to the cinc2021 layout only; this corpus is wfdb"):
        open_corpus(annotated.root, label_map="cinc-scored")
    with pytest.raises(ValueError, match="unknown label_map 'scored'"):
        open_corpus(cinc.root, label_map="scored")
    with pytest.raises(ValueError, match="scp_level / scp_threshold apply to the ptbxl layout only"):
        open_corpus(cinc.root, scp_level="rhythm")
    (tmp_path / "l.csv").write_text("x,y\n")
    with pytest.raises(ValueError, match="a labels CSV applies to the wfdb layout only; this corpus is cinc2021"):
        open_corpus(cinc.root, labels=tmp_path / "l.csv")


def test_a_layout_can_be_forced(cinc: Written):
    forced = open_corpus(cinc.root, "wfdb")
    assert (forced.layout, forced.layout_reason, forced.task) == ("wfdb", "chosen by the caller", "none")
    assert forced.read(forced.names[0]).meta["comments"][2].startswith("Dx:")
    with pytest.raises(ValueError, match="ptbxl_database.csv"):
        open_corpus(cinc.root, "ptbxl")


# ------------------------------------------------------------------ where the corpus root is


def test_per_group_records_files_do_not_hide_the_other_groups(tmp_path: Path):
    """CinC folders keep a RECORDS in each gN folder: the root is still above them all, zipped or not."""
    written = write_cinc2021(tmp_path / "c", seconds=1.0, records_files=True)
    archive = zip_tree(written.root, tmp_path / "c.zip", "training/")
    for source in (written.root, archive):
        assert open_corpus(source).names == written.names
    one_database = written.root / "georgia"  # holds g1/ and g2/, each a corpus folder with RECORDS
    assert open_corpus(one_database).names == [
        n.removeprefix("georgia/") for n in written.names if n.startswith("georgia/")
    ]
    assert open_corpus(one_database / "g1").names == ["E00001", "E00003"]


def test_macos_copies_in_a_zip_are_not_records(tmp_path: Path, annotated: Written):
    archive = zip_tree(annotated.root, tmp_path / "a.zip", "data/")
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("__MACOSX/data/._rec_a.hea", b"\x00\x05\x16\x07 AppleDouble")
        z.writestr("data/._rec_b.hea", b"\x00\x05\x16\x07 AppleDouble")
    corpus = open_corpus(archive)
    assert corpus.names == annotated.names and corpus.layout == "wfdb"


# ------------------------------------------------------------------ untrusted annotation files and names


def test_annotation_files_are_bounded_confined_and_named(tmp_path: Path):
    written = write_annotated(tmp_path / "a", minutes=0.5)
    (tmp_path / "secret.atr").write_bytes((written.root / "rec_a.atr").read_bytes())
    (written.root / "rec_a.atr").unlink()
    (written.root / "rec_a.atr").symlink_to(tmp_path / "secret.atr")
    (written.root / "rec_b.atr").write_bytes(b"\xff" * 7)  # not an annotation file
    corpus = open_corpus(written.root)
    with pytest.raises(RecordError, match="rec_a: .*outside the corpus folder"):
        corpus.annotations("rec_a")
    with pytest.raises(RecordError, match="rec_b: annotation file rec_b.atr is unreadable"):
        corpus.annotations("rec_b")
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("rec_c.hea", "rec_c.dat"):
            z.write(written.root / name, name)
        with z.open("rec_c.atr", "w", force_zip64=True) as out:  # 65 MiB of zeros from ~64 KB
            for _ in range(65):
                out.write(bytes(1 << 20))
    with pytest.raises(RecordError, match="rec_c: annotation file rec_c.atr is larger than 64 MiB"):
        open_corpus(archive).annotations("rec_c")


def test_a_name_the_corpus_does_not_list_is_a_bad_record(annotated: Written):
    corpus = open_corpus(annotated.root)
    for call in (corpus.read, corpus.info, corpus.annotations, corpus.labels_of):
        with pytest.raises(RecordError, match="record ../rec_a: is not a record of this corpus"):
            call("../rec_a")
