"""Every real sample record through open_corpus(layout="auto"): parity with wfdb, leads, labels, zip = folder."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import wfdb
from _wfdb_testdata import SHARED_DATA, zip_folder

from dacl.corpus import RecordError, open_corpus, sample_path
from dacl.corpus.labels import snomed
from dacl.corpus.leads import STANDARD_LEADS
from dacl.corpus.records import signal_sha256

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared real WFDB samples absent ({SHARED_DATA})")

#: What auto-detection must choose for each shared folder.
LAYOUT = {"cinc2021-sample": "cinc2021", "cpsc2021-sample": "wfdb", "wfdb-sample": "wfdb", "ptbxl-sample": "wfdb"}
#: The ECG leads each record must come back with (its other channels are not ECG), from the headers.
ECG_LEADS = {
    "cinc2021-sample": STANDARD_LEADS,
    "ptbxl-sample": STANDARD_LEADS,  # written I II III AVR AVL AVF V1-V6
    "cpsc2021-sample": ("I", "II"),
    "wfdb-sample/100": ("MLII", "V5"),
    "wfdb-sample/s0010_re": STANDARD_LEADS + ("vx", "vy", "vz"),  # written i ii iii avr ... v6 vx vy vz
    "wfdb-sample/03700181": ("MCL1",),  # ABP (mmHg) and RESP dropped
    "wfdb-sample/a103l": ("II", "V"),  # PLETH dropped
}
DROPPED = {"wfdb-sample/03700181": ["ABP (mmHg)", "RESP (mV)"], "wfdb-sample/a103l": ["PLETH (NU)"]}


def _expected_leads(folder: str, name: str) -> tuple[str, ...]:
    return ECG_LEADS.get(f"{folder}/{name}", ECG_LEADS.get(folder, ()))


def _dx_from_header(path: Path) -> tuple[str, ...]:
    """The '# Dx:' codes read straight from the header text (the challenge's own way: split on commas)."""
    for line in path.with_suffix(".hea").read_text().splitlines():
        if line.startswith("# Dx:"):
            return tuple(c.strip() for c in line.split(":", 1)[1].split(",") if c.strip())
    raise AssertionError(f"no Dx in {path}")


@pytest.mark.parametrize("folder", sorted(LAYOUT))
def test_every_real_record_reads_through_auto_and_equals_wfdb(folder: str):
    corpus = open_corpus(SHARED_DATA / folder)
    assert corpus.layout == LAYOUT[folder], corpus.layout_reason
    assert corpus.names == sorted(p.stem for p in (SHARED_DATA / folder).glob("*.hea"))
    for name in corpus.names:
        rec = corpus.read(name, keep_invalid=True)
        ref = wfdb.rdrecord(str(SHARED_DATA / folder / name))
        assert rec.leads == _expected_leads(folder, name), name
        # Each lead is the wfdb channel of the same (normalised) name, never matched by position.
        columns = [
            [i for i, s in enumerate(ref.sig_name) if s.replace(" ", "").casefold() == lead.casefold()][0]
            for lead in rec.leads
        ]
        expected = ref.p_signal.T[columns]  # every ECG lead here is in mV
        np.testing.assert_allclose(rec.signal, expected, rtol=0, atol=1e-9, equal_nan=True)
        assert np.array_equal(np.isnan(rec.signal), np.isnan(expected))
        assert rec.fs == ref.fs and rec.start == 0 and rec.sha256 == signal_sha256(rec.signal)
        assert rec.meta.get("dropped", []) == DROPPED.get(f"{folder}/{name}", [])
        if folder == "cinc2021-sample":
            assert rec.labels == _dx_from_header(SHARED_DATA / folder / name)
            assert corpus.labels_of(name) == rec.labels
        else:
            assert rec.labels == () and corpus.labels_of(name) is None
            assert rec.meta.get("comments", []) == ref.comments


def test_cinc2021_sample_metadata_and_task():
    corpus = open_corpus(SHARED_DATA / "cinc2021-sample")
    assert corpus.layout_reason == "'# Dx:' comment in the header of E07500"
    assert corpus.task == "multi-label"
    codes = sorted({c for n in corpus.names for c in _dx_from_header(SHARED_DATA / "cinc2021-sample" / n)}, key=int)
    assert corpus.vocabulary == tuple(codes)
    rec = corpus.read("HR06000")  # its header writes units 'mv'
    assert rec.meta == {"age": 59, "sex": "female"}  # no patient id is known: none invented


def test_invalid_samples_make_the_record_bad_unless_kept():
    """03700181 holds invalid samples in RESP only (dropped); MCL1 has none, so it reads either way."""
    corpus = open_corpus(SHARED_DATA / "wfdb-sample")
    rec = corpus.read("03700181")
    assert "invalid" not in rec.meta and not np.isnan(rec.signal).any() and rec.leads == ("MCL1",)
    with_resp = open_corpus(SHARED_DATA / "wfdb-sample", leads_required=["MCL1", "RESP"])
    with pytest.raises(RecordError, match=r"03700181: signal contains 4 non-finite values \(NaN"):
        with_resp.read("03700181")
    kept = with_resp.read("03700181", keep_invalid=True)
    assert kept.meta["invalid"] == {"RESP": 4} and kept.meta["units"] == {"RESP": "mV"}
    ref = wfdb.rdrecord(str(SHARED_DATA / "wfdb-sample/03700181"))
    np.testing.assert_array_equal(kept.signal, ref.p_signal.T[[0, 2]])


@pytest.mark.parametrize("folder", sorted(LAYOUT))
def test_zip_and_folder_give_identical_records(tmp_path: Path, folder: str):
    archive = zip_folder(SHARED_DATA / folder, tmp_path / f"{folder}.zip", prefix=f"download/{folder}/")
    zipped, extracted = open_corpus(archive), open_corpus(SHARED_DATA / folder)
    assert (zipped.layout, zipped.names, zipped.task, zipped.vocabulary) == (
        extracted.layout,
        extracted.names,
        extracted.task,
        extracted.vocabulary,
    )
    for name in extracted.names:
        a, b = zipped.read(name, keep_invalid=True), extracted.read(name, keep_invalid=True)
        np.testing.assert_array_equal(a.signal, b.signal)
        assert (a.leads, a.fs, a.labels, a.sha256, dict(a.meta)) == (b.leads, b.fs, b.labels, b.sha256, dict(b.meta))
        assert zipped.annotations(name) == extracted.annotations(name)
        assert zipped.info(name) == extracted.info(name)


def test_cpsc2021_rhythm_annotations_match_rdann():
    corpus = open_corpus(SHARED_DATA / "cpsc2021-sample")
    for name in corpus.names:
        ann = wfdb.rdann(str(SHARED_DATA / "cpsc2021-sample" / name), "atr")
        n = corpus.info(name).n_samples
        # Changes inside the record (data_101_6 ends with one at its very last sample + 1: an empty interval).
        changes = [
            (int(s), note[1:])
            for s, sym, note in zip(ann.sample, ann.symbol, ann.aux_note, strict=True)
            if sym == "+" and note.startswith("(") and s < n
        ]
        intervals = corpus.annotations(name)
        assert [(iv.start, iv.label) for iv in intervals] == changes
        assert [iv.end for iv in intervals] == [s for s, _ in changes[1:]] + [n] * bool(changes)
    assert {iv.label for n in corpus.names for iv in corpus.annotations(n)} == {"AFIB", "N"}


# ------------------------------------------------------------------ the CinC scored classes


#: The sample headers' codes that the challenge's dx_mapping_unscored.csv lists (not scored), by hand.
UNSCORED_IN_SAMPLE = {
    "55930002",
    "55827005",
    "253352002",
    "713422000",
    "164873001",
    "89792004",
    "67741000119109",
    "428750005",
    "426434006",
    "251187003",
    "251170000",
}


def test_scored_table_against_the_real_cinc2021_headers():
    table = snomed.CINC_SCORED
    members = [m for row in table for m in row.members]
    assert len(table) == 26 and len(members) == 30 and len(set(members)) == 30
    assert [row.members for row in table if len(row.members) == 2] == [
        ("733534002", "164909002"),
        ("713427006", "59118001"),
        ("284470004", "63593006"),
        ("427172004", "17338001"),
    ]
    corpus = open_corpus(SHARED_DATA / "cinc2021-sample", label_map="cinc-scored")
    assert corpus.vocabulary == tuple(row.code for row in table)
    seen: set[str] = set()
    for name in corpus.names:
        codes = _dx_from_header(SHARED_DATA / "cinc2021-sample" / name)
        seen.update(codes)
        scored = corpus.read(name).labels
        expected = {"713427006" if c == "59118001" else c for c in codes if c not in UNSCORED_IN_SAMPLE}
        assert set(scored) == expected, name
        assert list(scored) == [c for c in corpus.vocabulary if c in scored]
    # Every code the sample carries is either scored or one the challenge lists as unscored.
    assert seen - set(members) == UNSCORED_IN_SAMPLE
    assert {"59118001", "284470004", "427172004"} <= seen  # an equivalent pair member, PAC, PVC occur


# ------------------------------------------------------------------ CinC 2017


def _reference(z: zipfile.ZipFile) -> dict[str, str]:
    return dict(csv.reader(io.StringIO(z.read("training2017/REFERENCE.csv").decode())))


@pytest.mark.parametrize(
    "path", [sample_path(), SHARED_DATA / "physionet2017" / "training2017-dev.zip"], ids=["shipped-sample", "dev-zip"]
)
def test_cinc2017_records_are_what_wfdb_and_reference_say(tmp_path: Path, path: Path):
    """Names in RECORDS order, one lead named I, samples equal to wfdb's, labels from REFERENCE.csv
    (every 97th record of the dev zip; the whole 6,820 were checked once, see the report)."""
    corpus = open_corpus(path)
    with zipfile.ZipFile(path) as z:
        names = z.read("training2017/RECORDS").decode().split()
        reference = _reference(z)
        picked = names[::97]
        for name in picked:
            for suffix in (".hea", ".mat"):
                (tmp_path / f"{name}{suffix}").write_bytes(z.read(f"training2017/{name}{suffix}"))
    assert corpus.layout == "cinc2017" and corpus.names == names and corpus.vocabulary == ("N", "A", "O", "~")
    for name, rec in zip(picked, corpus.read_many(picked, threads=2), strict=True):
        assert not isinstance(rec, RecordError), rec
        expected = wfdb.rdrecord(str(tmp_path / name)).p_signal.T
        np.testing.assert_array_equal(rec.signal, expected)
        assert (rec.leads, rec.labels, rec.sha256) == (("I",), (reference[name],), signal_sha256(expected))
