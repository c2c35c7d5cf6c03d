"""The WFDB reader: parity with wfdb.rdrecord on real and generated records, zip = folder, ranges, bad input."""

from __future__ import annotations

import shutil
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
import wfdb
from _wfdb_testdata import SHARED_DATA, CountingSource, write_record, zip_folder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dacl.corpus import RecordError, sample_path
from dacl.corpus.leads import STANDARD_LEADS, canonical_lead, is_ecg, mv_divisor
from dacl.corpus.sources import FolderSource, ZipSource
from dacl.corpus.wfdb import WfdbRecord, open_record, parse_header, read_path, read_record

needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared real WFDB samples absent ({SHARED_DATA})")

#: Lead names expected from the real samples' headers (as written there: see each .hea).
EXPECTED_LEADS = {
    "cinc2021-sample": STANDARD_LEADS,  # aVR/aVL/aVF
    "ptbxl-sample": STANDARD_LEADS,  # AVR/AVL/AVF
    "cpsc2021-sample": ("I", "II"),
    "wfdb-sample/100": ("MLII", "V5"),
    "wfdb-sample/s0010_re": STANDARD_LEADS + ("vx", "vy", "vz"),  # i ii iii avr ... v6 vx vy vz
    "wfdb-sample/03700181": ("MCL1", "ABP", "RESP"),
    "wfdb-sample/a103l": ("II", "V", "PLETH"),
}
#: The one sample the numpy decoder hands to wfdb (several samples per frame, skew).
FALLBACK = {"wfdb-sample/03700181"}
FOLDERS = ("cinc2021-sample", "cpsc2021-sample", "wfdb-sample", "ptbxl-sample")


def _records(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.hea"))


def _expected_leads(folder: str, name: str) -> tuple[str, ...]:
    return EXPECTED_LEADS.get(f"{folder}/{name}", EXPECTED_LEADS.get(folder, ()))


def _assert_matches_wfdb(rec: WfdbRecord, path: Path) -> None:
    ref = wfdb.rdrecord(str(path))
    assert rec.signal.dtype == np.float64 and rec.signal.flags.c_contiguous
    assert rec.signal.shape == (ref.n_sig, ref.sig_len)
    # Bit-identical, NaN where wfdb has NaN (the acceptance bar is 1e-9).
    np.testing.assert_array_equal(rec.signal, ref.p_signal.T)
    assert rec.fs == ref.fs
    # wfdb reads headers as ASCII, dropping other characters ("µV" -> "V"); we keep them.
    assert tuple(_ascii(u) for u in rec.units) == tuple(ref.units)
    assert rec.invalid == tuple(int(n) for n in np.isnan(ref.p_signal).sum(axis=0))
    assert [_ascii(c) for c in rec.header.comments] == ref.comments


def _ascii(text: str) -> str:
    return text.encode("ascii", "ignore").decode()


def _same_record(a: WfdbRecord, b: WfdbRecord) -> None:
    np.testing.assert_array_equal(a.signal, b.signal)
    fields = ("fs", "leads", "units", "sampfrom", "invalid", "reader", "header")
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]


# ------------------------------------------------------------------ real records


@needs_shared
@pytest.mark.parametrize("folder", FOLDERS)
def test_real_records_match_wfdb(folder: str):
    names = _records(SHARED_DATA / folder)
    assert names
    for name in names:
        rec = read_path(SHARED_DATA / folder / name)
        _assert_matches_wfdb(rec, SHARED_DATA / folder / name)
        assert rec.leads == _expected_leads(folder, name), name
        assert rec.reader.startswith("wfdb") == (f"{folder}/{name}" in FALLBACK), (name, rec.reader)
        if folder != "wfdb-sample":  # all ECG leads in mV (written "mV" or "mv")
            assert {mv_divisor(u) for u in rec.units} == {1.0}


@needs_shared
def test_real_samples_cover_the_cases_the_reader_must_handle():
    """The facts the parity test relies on, read from the headers themselves."""
    hr = parse_header("HR06000", (SHARED_DATA / "cinc2021-sample/HR06000.hea").read_text())
    assert set(hr.units) == {"mv"} and hr.signals[0].fmt == "16" and hr.signals[0].byte_offset == 24
    ptbxl = parse_header("00001_lr", (SHARED_DATA / "ptbxl-sample/00001_lr.hea").read_text())
    assert max(s.checksum or 0 for s in ptbxl.signals) > 32767  # unsigned checksums
    mitbih = parse_header("100", (SHARED_DATA / "wfdb-sample/100.hea").read_text())
    assert min(s.checksum or 0 for s in mitbih.signals) < 0 and mitbih.signals[0].fmt == "212"  # signed
    ptb = parse_header("s0010_re", (SHARED_DATA / "wfdb-sample/s0010_re.hea").read_text())
    assert len({s.file_name for s in ptb.signals}) == 2
    invalid = read_path(SHARED_DATA / "wfdb-sample/03700181")
    assert invalid.invalid_leads  # holds invalid samples, reported per lead


def test_shipped_physionet2017_sample_matches_wfdb(tmp_path: Path):
    with zipfile.ZipFile(sample_path()) as z:
        z.extractall(tmp_path)
    folder = tmp_path / "training2017"
    names = _records(folder)
    assert len(names) == 40
    with ZipSource(sample_path(), "training2017/") as zipped:
        for name in names:
            rec = read_record(zipped, name)
            _assert_matches_wfdb(rec, folder / name)
            assert rec.leads == ("ECG",) and rec.reader == "numpy"
            _same_record(rec, read_path(folder / name))


@needs_shared
@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_zip_and_folder_give_identical_records(tmp_path: Path, compression: int):
    for folder in FOLDERS:
        archive = zip_folder(SHARED_DATA / folder, tmp_path / f"{folder}.zip", compression, prefix="inner/")
        with ZipSource(archive, "inner/") as zipped:
            for name in _records(SHARED_DATA / folder):
                _same_record(read_record(zipped, name), read_path(SHARED_DATA / folder / name))


def test_records_in_subfolders_read_their_signal_files_beside_the_header(tmp_path: Path):
    (tmp_path / "records500" / "00000").mkdir(parents=True)
    digital = np.arange(24).reshape(12, 2) - 5
    write_record(
        tmp_path / "records500" / "00000",
        "00001_hr",
        digital,
        fmts=["16", "16"],
        files=[0, 0],
        gains=[1000.0, 1000.0],
        baselines=[0, 0],
        units=["mV", "mV"],
        leads=["I", "II"],
    )
    rec = read_record(FolderSource(tmp_path), "records500/00000/00001_hr")
    _assert_matches_wfdb(rec, tmp_path / "records500" / "00000" / "00001_hr")
    zipped = zip_folder(tmp_path / "records500" / "00000", tmp_path / "z.zip", prefix="records500/00000/")
    with ZipSource(zipped, "") as source:
        _same_record(read_record(source, "records500/00000/00001_hr"), rec)


# ------------------------------------------------------------------ ranges


def _every_format_record(folder: Path) -> list[Path]:
    """One record per numpy-decoded format (16, 212, 24, 32, 80 by wfdb; 61 and 160 converted from 16)."""
    rng = np.random.default_rng(7)
    paths = []
    bounds = {"16": 2**15, "212": 2**11, "24": 2**23, "32": 2**31, "80": 2**7}
    for fmt, lim in bounds.items():
        digital = rng.integers(-lim, lim, size=(1001, 3))  # odd length: 212's last pair is half empty
        digital[rng.integers(0, 1001, 5), 1] = -lim  # invalid samples
        paths.append(
            write_record(
                folder,
                f"f{fmt}",
                digital,
                fmts=[fmt] * 3,
                files=[0, 0, 0],
                gains=[200.0, 0.5, 1e4],
                baselines=[0, -7, 12345],
                units=["mV", "uV", "mV"],
                leads=["I", "avf", "V6"],
                byte_offsets={0: 5},
            )
        )
    paths.append(_converted_from_16(folder, paths[0], "61", lambda d: d.astype(">i2")))
    paths.append(_converted_from_16(folder, paths[0], "160", lambda d: (d.astype(np.int32) + 32768).astype("<u2")))
    return paths


def _converted_from_16(folder: Path, source: Path, fmt: str, convert) -> Path:
    header = (source.with_suffix(".hea")).read_text().replace(" 16+5 ", f" {fmt} ").replace("f16", f"f{fmt}")
    data = np.frombuffer(source.with_name("f16_0.dat").read_bytes()[5:], "<i2")
    (folder / f"f{fmt}_0.dat").write_bytes(convert(data).tobytes())
    (folder / f"f{fmt}.hea").write_text(header)
    return folder / f"f{fmt}"


def _check_random_ranges(path: Path, rng: np.random.Generator, n_ranges: int = 25) -> None:
    whole = read_path(path)
    n = whole.signal.shape[1]
    with open_record(FolderSource(path.parent), path.name) as reader:
        edges = [(0, 0), (0, 1), (n - 1, n), (n, n), (1, n), (1, 2), (0, n)]
        drawn = [tuple(sorted(rng.integers(0, n + 1, 2))) for _ in range(n_ranges)]
        for a, b in edges + drawn:
            part = reader.read(int(a), int(b))
            np.testing.assert_array_equal(part.signal, whole.signal[:, a:b])
            assert part.sampfrom == a and part.invalid == tuple(np.isnan(part.signal).sum(axis=1))


def test_ranges_equal_slices_of_the_whole_read_for_every_format(tmp_path: Path):
    rng = np.random.default_rng(0)
    for path in _every_format_record(tmp_path):
        _assert_matches_wfdb(read_path(path), path)
        assert read_path(path).reader == "numpy"
        _check_random_ranges(path, rng)


@needs_shared
@pytest.mark.parametrize(
    "record",
    [
        "wfdb-sample/100",
        "wfdb-sample/s0010_re",
        "wfdb-sample/a103l",
        "wfdb-sample/03700181",
        "cinc2021-sample/HR06000",
        "cpsc2021-sample/data_21_8",
    ],
)
def test_ranges_of_real_records_equal_slices(record: str):
    _check_random_ranges(SHARED_DATA / record, np.random.default_rng(1), n_ranges=10)


@needs_shared
def test_a_range_reads_only_its_bytes():
    """Record 100: 30 min, two 212 signals interleaved in one 1.95 MB file."""
    source = CountingSource(SHARED_DATA / "wfdb-sample")
    with open_record(source, "100") as reader:
        assert reader.n_samples == 650000
        source.reads.clear()
        part = reader.read(300001, 301001)  # odd start: the pair's first sample is decoded and dropped
    assert part.signal.shape == (2, 1000)
    assert sum(source.reads) <= 3 * 1000 + 3  # 1000 frames x 2 samples x 1.5 bytes, plus one 212 pair
    # Two signal files (PTB s0010_re: 12 + 3 signals) and a .mat (CinC 2015 a103l): also just the range.
    for name, frame_bytes in [("s0010_re", 30), ("a103l", 6)]:
        source = CountingSource(SHARED_DATA / "wfdb-sample")
        with open_record(source, name) as reader:
            source.reads.clear()  # the header and the MATLAB header were read on opening
            reader.read(1000, 1500)
        assert sum(source.reads) == 500 * frame_bytes


def _holter(folder: Path, hours: float = 2.0, fs: int = 250) -> tuple[Path, int]:
    """A long two-lead format-16 record written directly (wfdb would hold it whole in memory)."""
    n = int(hours * 3600 * fs)
    rng = np.random.default_rng(3)
    data = rng.integers(-300, 300, size=2 * n, dtype=np.int16)
    (folder / "holter.dat").write_bytes(data.astype("<i2").tobytes())
    sums = data.reshape(n, 2).sum(axis=0, dtype=np.int64) % 65536
    (folder / "holter.hea").write_text(
        f"holter 2 {fs} {n}\n"
        f"holter.dat 16 200(5)/mV 16 0 {data[0]} {sums[0]} 0 ECG1\n"
        f"holter.dat 16 200(-5)/mV 16 0 {data[1]} {sums[1]} 0 ECG2\n"
    )
    return folder / "holter", n


def test_a_long_record_walks_in_bounded_chunks(tmp_path: Path):
    path, n = _holter(tmp_path)
    chunk = 60 * 250  # one minute
    source = CountingSource(tmp_path)
    with open_record(source, "holter") as reader:
        source.reads.clear()
        parts = list(reader.chunks(chunk))
    assert len(parts) == -(-n // chunk)
    assert max(source.reads) <= chunk * 4  # 2 signals x 2 bytes per frame: never more than one chunk
    assert sum(source.reads) == 4 * n  # each byte once
    assert [p.sampfrom for p in parts] == list(range(0, n, chunk))
    sample = [parts[0], parts[len(parts) // 2], parts[-1]]
    for p in sample:
        ref = wfdb.rdrecord(str(path), sampfrom=p.sampfrom, sampto=p.sampfrom + p.signal.shape[1])
        np.testing.assert_array_equal(p.signal, ref.p_signal.T)


def test_a_range_of_a_deflated_zip_member_is_read_with_bounded_memory(tmp_path: Path):
    (tmp_path / "rec").mkdir()
    path, n = _holter(tmp_path / "rec")  # 7.2 MB of samples
    archive = zip_folder(tmp_path / "rec", tmp_path / "holter.zip", zipfile.ZIP_DEFLATED, prefix="")
    expected = read_path(path, n - 15000, n)
    with ZipSource(archive, "") as source:
        tracemalloc.start()
        try:
            tail = read_record(source, "holter", n - 15000, n)  # the last minute: 7.1 MB to skip
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    _same_record(tail, expected)
    assert peak < 2_000_000, peak


# ------------------------------------------------------------------ generated records


#: wfdb wants unique names; case variants of one lead ("II", "ii") are allowed and stay separate leads.
_LEAD_NAMES = [
    "I",
    "ii",
    "II",
    "iii",
    "AVR",
    "avl",
    "aVF",
    "V1",
    "v2",
    "V3",
    "v4",
    "V5",
    "v6",
    "MLII",
    "ABP",
    "vx",
    "PLETH",
]


@st.composite
def _generated_records(draw: st.DrawFn) -> dict:
    n_signals = draw(st.integers(1, 15))
    files = sorted(draw(st.lists(st.integers(0, 2), min_size=n_signals, max_size=n_signals)))  # WFDB: consecutive
    file_fmts = {f: draw(st.sampled_from(["16", "212", "24", "32", "80"])) for f in sorted(set(files))}
    return {
        "n_samples": draw(st.integers(1, 400)),
        "files": files,
        "fmts": [file_fmts[f] for f in files],
        "gains": draw(
            st.lists(
                st.sampled_from([0.5, 1.0, 200.0, 1000.0, 2000.0, 30061.276794035417, 7247.0]),
                min_size=n_signals,
                max_size=n_signals,
            )
        ),
        "baselines": draw(st.lists(st.integers(-200000, 200000), min_size=n_signals, max_size=n_signals)),
        "units": draw(
            st.lists(st.sampled_from(["mV", "mv", "uV", "µV", "mmHg", "NU"]), min_size=n_signals, max_size=n_signals)
        ),
        "leads": draw(st.lists(st.sampled_from(_LEAD_NAMES), min_size=n_signals, max_size=n_signals, unique=True)),
        "byte_offsets": draw(st.dictionaries(st.sampled_from(sorted(set(files))), st.integers(0, 40))),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "range": draw(st.tuples(st.floats(0, 1), st.floats(0, 1))),
    }


_LIMITS = {"16": 2**15, "212": 2**11, "24": 2**23, "32": 2**31, "80": 2**7}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_generated_records())
def test_generated_records_match_wfdb(spec: dict):
    rng = np.random.default_rng(spec["seed"])
    n, fmts = spec["n_samples"], spec["fmts"]
    digital = np.stack([rng.integers(-_LIMITS[f], _LIMITS[f], n) for f in fmts], axis=1)
    digital[rng.random(digital.shape) < 0.02] = 0
    for i, f in enumerate(fmts):  # a few invalid samples (the format's most negative value)
        digital[rng.random(n) < 0.02, i] = -_LIMITS[f]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_record(
            Path(tmp),
            "gen",
            digital,
            fmts=fmts,
            files=spec["files"],
            gains=spec["gains"],
            baselines=spec["baselines"],
            units=spec["units"],
            leads=spec["leads"],
            byte_offsets=spec["byte_offsets"],
        )
        rec = read_path(path)
        _assert_matches_wfdb(rec, path)
        assert rec.leads == tuple(canonical_lead(name) for name in spec["leads"])
        assert rec.units == tuple(spec["units"])
        assert rec.reader == "numpy"
        a, b = sorted(int(x * n) for x in spec["range"])
        if a < b:
            part = read_path(path, a, b)
            ref = wfdb.rdrecord(str(path), sampfrom=a, sampto=b)
            np.testing.assert_array_equal(part.signal, ref.p_signal.T)


_DESCRIPTIONS = st.sampled_from(["I", "aVR", "lead II", "V 1", "ECG chest 3", "ABP", "MLII"])


@st.composite
def _header_texts(draw: st.DrawFn) -> str:
    n_signals = draw(st.integers(1, 4))
    record = ["gen", str(n_signals)]
    depth = draw(st.integers(0, 3))
    if depth >= 1:
        record.append(draw(st.sampled_from(["500", "360", "128.5", "1000/2000", "250/500(12)", "62.5/125(-3)"])))
    if depth >= 2:
        record.append(str(draw(st.integers(0, 10**7))))
    if depth >= 3:
        record += ["10:20:30", "01/02/2000"]
    lines = [" ".join(record)]
    for _ in range(n_signals):
        fmt = draw(st.sampled_from(["16", "212", "24", "32", "80", "8", "310"]))
        fmt += draw(st.sampled_from(["", "x1", "x4"])) + draw(st.sampled_from(["", ":3"]))
        fmt += draw(st.sampled_from(["", "+24", "+512"]))
        gain = draw(st.sampled_from(["0", "200", "1000.0", "30061.276794035417", "1.052e+04", "12.84"]))
        gain += draw(st.sampled_from(["", "(0)", "(-1605)", "(512)"]))
        gain += draw(st.sampled_from(["", "/mV", "/mv", "/uV", "/mmHg"]))
        fields = ["gen.dat", fmt, gain] + [
            str(draw(st.integers(lo, hi)))
            for lo, hi in [(0, 32), (-2048, 2048), (-40000, 40000), (-40000, 70000), (0, 8)]
        ]
        fields.append(draw(_DESCRIPTIONS))
        lines.append(" ".join(fields[: draw(st.integers(2, len(fields)))]))
    comments = draw(st.lists(st.sampled_from(["# Age: 78", "#Dx: 164889003,59118001,", "# sex: female"]), max_size=3))
    where = draw(st.integers(0, len(lines)))
    return "\n".join(lines[:where] + comments + lines[where:]) + "\n"


@settings(max_examples=60, deadline=None)
@given(_header_texts())
def test_generated_headers_parse_as_wfdb_parses_them(text: str):
    header = parse_header("gen", text)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "gen.hea").write_text(text)
        ref = wfdb.rdheader(str(Path(tmp, "gen")))
    assert (header.n_signals, header.fs, header.counter_freq, header.base_counter, header.n_samples) == (
        ref.n_sig,
        ref.fs,
        ref.counter_freq,
        ref.base_counter,
        ref.sig_len,
    )
    assert list(header.comments) == ref.comments
    signal_fields = [
        ("file_name", "file_name"),
        ("fmt", "fmt"),
        ("samples_per_frame", "samps_per_frame"),
        ("skew", "skew"),
        ("byte_offset", "byte_offset"),
        ("gain", "adc_gain"),
        ("baseline", "baseline"),
        ("units", "units"),
        ("adc_resolution", "adc_res"),
        ("adc_zero", "adc_zero"),
        ("initial_value", "init_value"),
        ("checksum", "checksum"),
        ("block_size", "block_size"),
        ("description", "sig_name"),
    ]
    for i, spec in enumerate(header.signals):
        for ours, theirs in signal_fields:
            expected = getattr(ref, theirs)[i]
            if ours in ("skew", "byte_offset") and expected is None:
                expected = 0  # wfdb leaves absent ones None; both mean 0
            if ours == "description" and expected is None:
                expected = ""
            assert getattr(spec, ours) == expected, (ours, text)


# ------------------------------------------------------------------ names and units


def test_canonical_lead_names():
    variants = {
        "I": ["I", "i", " I "],
        "II": ["ii", "II"],
        "III": ["iii"],
        "aVR": ["avr", "AVR", "aVR", "a VR"],
        "aVL": ["avl", "AVL"],
        "aVF": ["avf", "AVF", "aVf"],
        "V1": ["v1", "V1"],
        "V6": ["v6"],
    }
    for canonical, names in variants.items():
        assert {canonical_lead(n) for n in names} == {canonical}
    for other in ["MLII", "V5", "vx", "ABP", "PLETH", "ECG", "V", "MCL1", ""]:
        expected = "V5" if other == "V5" else other
        assert canonical_lead(other) == expected


def test_mv_divisor():
    assert [mv_divisor(u) for u in ["mV", "mv", "MV", " mV"]] == [1.0] * 4
    assert [mv_divisor(u) for u in ["uV", "uv", "\u00b5V", "\u03bcV"]] == [1000.0] * 4
    assert [mv_divisor(u) for u in ["mmHg", "NU", "V", "", "%"]] == [None] * 5


def test_which_channels_are_ecg_leads():
    for name in [
        *STANDARD_LEADS,
        "avr",
        "AVF",
        "MLII",
        "MLIII",
        "ML5",
        "MCL1",
        "V",
        "vx",
        "Z",
        "V3R",
        "V7",
        "CM5",
        "D2",
        "DIII",
        "ECG",
        "ECG1",
        "EKG lead 2",
    ]:
        assert is_ecg(name, "mV") and is_ecg(name, "mmHg"), name  # by name: a wrong unit is an error later
    for name in ["ABP", "ART", "PAP", "CVP", "PLETH", "RESP", "SpO2", "EEG Fpz-Cz", "EOG", "EMG", "HR", "Pulse"]:
        assert not is_ecg(name, "mV") and not is_ecg(name, "NU"), name  # a known non-ECG name, whatever its unit
    assert is_ecg("chest strap", "uV") and not is_ecg("chest strap", "NU")  # other names: by unit


# ------------------------------------------------------------------ bad input


def _record(folder: Path, name: str, header: str | bytes, files: dict[str, bytes] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = header if isinstance(header, bytes) else header.encode()
    (folder / f"{name}.hea").write_bytes(data)
    for file_name, content in (files or {}).items():
        (folder / file_name).write_bytes(content)
    return folder / name


def _fails(path: Path, match: str) -> RecordError:
    with pytest.raises(RecordError, match=match) as info:
        read_path(path)
    err = info.value
    assert err.name == path.name and str(err).startswith(f"record {path.name}: ")
    assert len(str(err)) < 300, str(err)
    return err


_SIG = "bad.dat 16 200(0)/mV 16 0 0 0 0 I\n"
_DATA = {"bad.dat": np.arange(10, dtype="<i2").tobytes()}


@pytest.mark.parametrize(
    "header, match",
    [
        ("bad 1 250 -5\n" + _SIG, "sample count -5 is negative"),
        ("bad 1 250 5x\n" + _SIG, "sample count '5x' is not a non-negative integer"),
        ("bad 1 250 10\n" + _SIG.replace(" 16 200", " 16+-4 200"), "byte offset -4 is negative"),
        ("bad -1 250 10\n" + _SIG, "signal count"),
        ("bad 1 250 10\n" + _SIG.replace("200(0)", "inf(0)"), "gain inf is not a non-negative finite number"),
        ("bad 1 250 10\n" + _SIG.replace("200(0)", "nan"), "gain nan is not"),
        ("bad 1 250 10\n" + _SIG.replace("200(0)", "-200(0)"), "gain -200.0 is not"),
        ("bad 1 250 10\n" + _SIG.replace("200(0)", "abc(0)"), "gain 'abc' is not a number"),
        ("bad 2 250 10\n" + _SIG, "header \\(.hea\\) is truncated: it declares 2 signals but has 1 signal lines"),
        ("bad 1 250 10\n" + _SIG + _SIG, "declares 1 signals but has 2 signal lines"),
        ("bad 1 inf 10\n" + _SIG, "sampling frequency 'inf' is not a number"),
        ("bad 1 0 10\n" + _SIG, "sampling frequency 0.0 is not a positive"),
        ("bad/2 1 250 10\n" + _SIG, "multi-segment record"),
        ("other 1 250 10\n" + _SIG, "header names record 'other'"),
        ("bad 1 250 10\n" + _SIG.replace(" 16 200", " 999 200"), "unknown WFDB format '999'"),
        ("bad 1 250 10\n" + _SIG.replace(" 16 200", " 16x0 200"), "samples per frame 0 is below 1"),
        ("bad 1 250 10\n" + _SIG.replace("(0)", "(1.5)"), "baseline '1.5' is not an integer"),
        ("bad 1 250 10\n" + _SIG.replace("bad.dat", "../bad.dat"), "is not a plain file name; a file outside"),
        ("bad 1 250 10\n" + _SIG.replace("bad.dat", "gone.dat"), "signal file gone.dat is missing"),
        ("bad 1 250 10 x y z w\n" + _SIG, "has 8 fields, expected 2 to 6"),
        ("# only a comment\n", "no record line"),
        ("bad 0 250 10\n", "declares no signals"),
    ],
)
def test_malformed_headers_raise_naming_the_record(tmp_path: Path, header: str, match: str):
    _fails(_record(tmp_path, "bad", header, _DATA), match)


def test_garbage_and_binary_headers(tmp_path: Path):
    _fails(_record(tmp_path / "a", "bad", bytes(range(256)) * 4), "binary data")
    err = _fails(_record(tmp_path / "b", "bad", "x" * 10_000 + " 1 250\n"), "header names record")
    assert str(err).count("x") < 60  # only a short excerpt is quoted
    long_format = "bad 1 250 10\nbad.dat " + "7" * 5000 + "\n"
    err = _fails(_record(tmp_path / "c", "bad", long_format, _DATA), "unknown WFDB format")
    assert str(err).count("7") < 20
    _fails(_record(tmp_path / "c2", "bad", "bad 1 250 10\nbad.dat 16z 200\n", _DATA), "format field '16z' is not valid")
    _fails(_record(tmp_path / "d", "bad", "bad 1 250 10\n" + "\u00e9\u00e8 16\n", _DATA), "not a plain file name")
    _fails(_record(tmp_path / "e", "bad", b"bad 1 250 10\n" + b"A" * (2 << 20)), "not a WFDB header")


def test_mat_signal_file_must_be_format_16_matching_its_matlab_header(tmp_path: Path):
    good_header = "m 2 500 3\nm.mat 16+24 1000/mV 16 0 0 0 0 I\nm.mat 16+24 1000/mV 16 0 0 0 0 II\n"
    matrix = np.array([[1, 2, 3], [4, 5, -32768]], dtype="<i2")
    mat = np.array([30, 2, 3, 0, 4], dtype="<i4").tobytes() + b"val\0" + matrix.T.tobytes()
    rec = read_path(_record(tmp_path / "ok", "m", good_header, {"m.mat": mat}))
    assert rec.signal.shape == (2, 3) and rec.invalid == (0, 1)
    for fmt in ("212", "8", "310", "16x2"):
        _fails(
            _record(tmp_path / fmt, "m", good_header.replace("16+24", f"{fmt}+24"), {"m.mat": mat}),
            "a .mat signal file holds format 16 only",
        )
    _fails(
        _record(tmp_path / "rows", "m", good_header.replace("m 2 500 3", "m 2 500 2"), {"m.mat": mat}),
        "holds a 2x3 matrix, the header declares 2x2",
    )
    _fails(_record(tmp_path / "type", "m", good_header, {"m.mat": b"\x00" * 4 + mat[4:]}), "not the MATLAB v4 int16")
    _fails(
        _record(tmp_path / "extra", "m", good_header, {"m.mat": mat + b"\0\0"}),
        "larger than its header declares .*; corrupt",
    )
    _fails(_record(tmp_path / "short", "m", good_header, {"m.mat": mat[:-2]}), "truncated: 34 bytes, its matrix 36")


def test_truncated_signal_file(tmp_path: Path):
    _fails(_record(tmp_path, "bad", "bad 1 250 100\n" + _SIG, _DATA), r"truncated: 20 bytes, .* \(200 bytes\)")


def test_huge_declared_sample_count_fails_before_reading(tmp_path: Path):
    path = _record(tmp_path, "bad", "bad 12 500 1000000000000000\n" + _SIG * 12, _DATA)
    tracemalloc.start()
    try:
        _fails(path, "truncated")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_checksum_mismatch_is_corruption(tmp_path: Path):
    digital = (np.arange(100) * 7 - 300).reshape(50, 2)  # checksums 2150 and 2500 (0 would mean "not computed")
    path = write_record(
        tmp_path,
        "cs",
        digital,
        fmts=["16", "16"],
        files=[0, 0],
        gains=[200.0, 200.0],
        baselines=[0, 0],
        units=["mV", "mV"],
        leads=["I", "II"],
    )
    read_path(path)  # intact
    data = bytearray((tmp_path / "cs_0.dat").read_bytes())
    data[2 * 2 * 10 + 2] ^= 1  # sample 10 of signal 1
    (tmp_path / "cs_0.dat").write_bytes(bytes(data))
    err = _fails(path, "checksum mismatch")
    assert "signal 1 ('II')" in str(err) and "signal 0" not in str(err)
    assert read_path(path, 0, 49).signal.shape == (2, 49)  # a partial read cannot check it
    with open_record(FolderSource(tmp_path), "cs") as reader, pytest.raises(RecordError, match="checksum mismatch"):
        for _ in reader.chunks(7):
            pass


def test_checksums_in_signed_or_unsigned_form_and_zero_are_accepted(tmp_path: Path):
    digital = np.full((10, 1), -5000)  # sums to -50000: signed -50000 + 65536 = 15536
    path = write_record(
        tmp_path, "cs", digital, fmts=["16"], files=[0], gains=[200.0], baselines=[0], units=["mV"], leads=["I"]
    )
    header = (tmp_path / "cs.hea").read_text()
    assert " 15536 " in header
    for written in ("15536", "-50000", "0"):
        (tmp_path / "cs.hea").write_text(header.replace(" 15536 ", f" {written} "))
        assert read_path(path).signal.shape == (1, 10)
    (tmp_path / "cs.hea").write_text(header.replace(" 15536 ", " 15537 "))
    _fails(path, "checksum mismatch")


def test_trailing_comma_dx_comment_parses_and_comments_stay_raw(tmp_path: Path):
    header = "bad 1 250 10\n" + _SIG + "# Age: 59\n# Dx: 164889003,59118001,\n#Rx: Unknown\n"
    rec = read_path(_record(tmp_path, "bad", header, _DATA))
    assert rec.header.comments == ("Age: 59", "Dx: 164889003,59118001,", "Rx: Unknown")


def test_a_range_outside_the_record_is_refused(tmp_path: Path):
    path = _record(tmp_path, "bad", "bad 1 250 10\n" + _SIG, _DATA)
    for a, b in [(-1, 5), (5, 4), (0, 11)]:
        with pytest.raises(RecordError, match="outside 0:10"):
            read_path(path, a, b)


def test_missing_header_and_paths_outside_the_source(tmp_path: Path):
    with pytest.raises(RecordError, match="header file nope.hea is missing"):
        read_path(tmp_path / "nope")
    with pytest.raises(ValueError, match="not a path inside the corpus"):
        read_record(FolderSource(tmp_path / "sub"), "../outside")


@needs_shared
def test_fallback_through_a_zip_copies_only_that_record_and_cleans_up(tmp_path: Path, monkeypatch):
    folder = tmp_path / "one"
    folder.mkdir()
    for suffix in (".hea", ".dat"):
        shutil.copy(SHARED_DATA / "wfdb-sample" / f"03700181{suffix}", folder)
    archive = zip_folder(folder, tmp_path / "one.zip")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with ZipSource(archive, "data/") as source, open_record(source, "03700181") as reader:
        assert reader.fallback == "4 samples per frame (signal 0)"
        (copy,) = scratch.iterdir()
        assert sorted(p.name for p in copy.iterdir()) == ["03700181.dat", "03700181.hea"]
        parts = list(reader.chunks(20000))
    assert not any(scratch.iterdir())
    whole = read_path(folder / "03700181")
    np.testing.assert_array_equal(np.concatenate([p.signal for p in parts], axis=1), whole.signal)
