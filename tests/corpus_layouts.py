"""Small synthetic corpora in the published layouts, written with ``wfdb`` (test fixtures for any test folder).

* :func:`write_ptbxl`: PTB-XL (``ptbxl_database.csv`` + ``scp_statements.csv`` + ``records100/`` and
  ``records500/``), with patients owning several records and the ten ``strat_fold`` folds;
* :func:`write_mimic_iv_ecg`: MIMIC-IV-ECG (``files/pNNNN/pNNNNNNNN/sNNNNNNNN/`` + ``record_list.csv``),
  aVF stored before aVL, one record with invalid samples;
* :func:`write_cinc2021`: CinC 2020/2021 nested sub-database folders (``training/<db>/gN/``) of
  ``.mat`` records with ``# Age/# Sex/# Dx`` comments (a trailing comma, an equivalent pair, unscored codes);
* :func:`write_annotated`: long two-lead records with ``.atr`` rhythm changes (``(N``, ``(AFIB``) and beats.

Each returns what it wrote, so tests derive their expectations from the same facts. Signals are
ECG-like and differ by label, so a model can learn from them. ``zip_tree`` zips any of them.
"""

from __future__ import annotations

import csv
import datetime
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import wfdb

#: PTB-XL's lead names as its headers write them.
PTBXL_LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
#: MIMIC-IV-ECG's lead order: aVF before aVL.
MIMIC_LEADS = ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"]
CINC_LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]

#: A few SCP statements with PTB-XL's columns (code -> diagnostic, form, rhythm, class, subclass).
SCP_STATEMENTS = {
    "NORM": (1, 0, 0, "NORM", "NORM"),
    "IMI": (1, 0, 0, "MI", "IMI"),
    "ASMI": (1, 0, 0, "MI", "AMI"),
    "LVH": (1, 0, 0, "HYP", "LVH"),
    "NDT": (1, 1, 0, "STTC", "STTC"),
    "LAFB": (1, 0, 0, "CD", "LAFB/LPFB"),
    "LVOLT": (0, 1, 0, "", ""),
    "ABQRS": (0, 1, 0, "", ""),
    "SR": (0, 0, 1, "", ""),
    "AFIB": (0, 0, 1, "", ""),
    "STACH": (0, 0, 1, "", ""),
}
#: The statements each synthetic PTB-XL record draws from, cycling (code -> likelihood).
_PTBXL_CODES = [
    {"NORM": 100.0, "SR": 0.0},
    {"IMI": 80.0, "ABQRS": 0.0, "SR": 0.0},
    {"ASMI": 50.0, "IMI": 15.0, "AFIB": 0.0},
    {"LVH": 100.0, "LVOLT": 0.0, "STACH": 0.0},
    {"NDT": 100.0, "LAFB": 100.0, "SR": 0.0},
]


def ecg_signal(n_leads: int, n_samples: int, fs: float, seed: int, rate_bpm: float = 70.0) -> np.ndarray:
    """An ECG-like ``(n_leads, n_samples)`` signal in mV: QRS spikes at ``rate_bpm``, each lead its own
    amplitude, baseline wander and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / fs
    beats = np.zeros(n_samples)
    for centre in np.arange(0.2, n_samples / fs, 60.0 / rate_bpm):
        beats += np.exp(-(((t - centre) / 0.012) ** 2)) - 0.15 * np.exp(-(((t - centre - 0.25) / 0.05) ** 2))
    gains = rng.uniform(0.3, 1.5, size=(n_leads, 1)) * rng.choice([-1, 1], size=(n_leads, 1))
    wander = 0.1 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6, size=(n_leads, 1)))
    return gains * beats + wander + 0.02 * rng.standard_normal((n_leads, n_samples))


def write_record(
    folder: Path,
    name: str,
    signal_mv: np.ndarray,
    leads: list[str],
    fs: float,
    *,
    gain: float = 1000.0,
    units: str = "mV",
    comments: list[str] | None = None,
    mat: bool = False,
    base_datetime: datetime.datetime | None = None,
    invalid: list[tuple[int, int]] | None = None,
) -> np.ndarray:
    """Write one format-16 record with ``wfdb.wrsamp`` (as a CinC ``.mat`` with ``mat``); returns its digital
    samples ``(n_leads, n_samples)``. ``invalid`` lists ``(lead, sample)`` set to WFDB's invalid value."""
    folder.mkdir(parents=True, exist_ok=True)
    digital = np.clip(np.round(signal_mv * gain), -32767, 32767).astype(np.int64)
    for lead, sample in invalid or []:
        digital[lead, sample] = -32768
    wfdb.wrsamp(
        name,
        fs=fs,
        units=[units] * len(leads),
        sig_name=list(leads),
        d_signal=digital.T.copy(),
        fmt=["16"] * len(leads),
        adc_gain=[gain] * len(leads),
        baseline=[0] * len(leads),
        comments=comments,
        base_datetime=base_datetime,
        write_dir=str(folder),
    )
    if mat:
        _dat_to_mat(folder, name, digital.shape)
    return digital


def _dat_to_mat(folder: Path, name: str, shape: tuple[int, int]) -> None:
    """Turn ``name.dat`` into the CinC ``.mat``: a MATLAB v4 int16 matrix (leads x samples, stored column by
    column, i.e. frame by frame as format 16 is) behind a 24-byte header, declared ``16x1+24``."""
    n_leads, n_samples = shape
    data = (folder / f"{name}.dat").read_bytes()
    (folder / f"{name}.dat").unlink()
    header = np.array([30, n_leads, n_samples, 0, 4], "<i4").tobytes() + b"val\0"
    (folder / f"{name}.mat").write_bytes(header + data)
    hea = folder / f"{name}.hea"
    hea.write_text(hea.read_text().replace(f"{name}.dat 16 ", f"{name}.mat 16x1+24 "))


# ------------------------------------------------------------------ PTB-XL


@dataclass
class PtbxlRow:
    ecg_id: int
    patient_id: int
    fold: int
    age: int
    sex: int
    scp_codes: dict[str, float]
    filename_lr: str
    filename_hr: str


@dataclass
class Written:
    """What a fixture wrote: its root, the records in layout order, and per-layout facts."""

    root: Path
    names: list[str]
    rows: list = field(default_factory=list)


def write_ptbxl(
    root: Path, n_records: int = 20, seconds: float = 10.0, rates: tuple[str, ...] = ("500", "100"), seed: int = 0
) -> Written:
    """PTB-XL's layout: ``n_records`` records at 500 and/or 100 Hz; patients own two records each (their
    records share a fold, as in PTB-XL); folds cycle 1..10. Names (``Written.names``) are the 500 Hz ones."""
    rows = []
    for i in range(n_records):
        ecg_id = i + 1
        folder = f"{(ecg_id // 1000) * 1000:05d}"
        codes = _PTBXL_CODES[i % len(_PTBXL_CODES)]
        row = PtbxlRow(
            ecg_id,
            1000 + i // 2,
            (i // 2) % 10 + 1,
            40 + i,
            i % 2,
            codes,
            f"records100/{folder}/{ecg_id:05d}_lr",
            f"records500/{folder}/{ecg_id:05d}_hr",
        )
        rows.append(row)
        rate = 70.0 + 30.0 * list(_PTBXL_CODES).index(codes)
        for fs, name in ((500, row.filename_hr), (100, row.filename_lr)):
            if str(fs) in rates:
                signal = ecg_signal(12, int(seconds * fs), fs, seed + ecg_id, rate)
                write_record(root / Path(name).parent, Path(name).name, signal, PTBXL_LEADS, fs)
    _write_scp_statements(root / "scp_statements.csv")
    with open(root / "ptbxl_database.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            ["ecg_id", "patient_id", "age", "sex", "report", "scp_codes", "strat_fold", "filename_lr", "filename_hr"]
        )
        for r in rows:
            out.writerow(
                [
                    r.ecg_id,
                    f"{r.patient_id}.0",
                    r.age,
                    r.sex,
                    "sinusrhythmus, normal ekg",
                    repr(r.scp_codes),
                    r.fold,
                    r.filename_lr,
                    r.filename_hr,
                ]
            )
    return Written(root, [r.filename_hr for r in rows], rows)


def _write_scp_statements(path: Path) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "",
                "description",
                "diagnostic",
                "form",
                "rhythm",
                "diagnostic_class",
                "diagnostic_subclass",
                "Statement Category",
            ]
        )
        for code, (diagnostic, form, rhythm, klass, subclass) in SCP_STATEMENTS.items():
            flags = ["1.0" if flag else "" for flag in (diagnostic, form, rhythm)]
            out.writerow([code, f"statement {code}", *flags, klass, subclass, "synthetic"])


# ------------------------------------------------------------------ MIMIC-IV-ECG


@dataclass
class MimicRow:
    subject_id: int
    study_id: int
    ecg_time: str
    path: str


def write_mimic_iv_ecg(
    root: Path, n_subjects: int = 3, studies_per_subject: int = 2, seconds: float = 10.0, seed: int = 0
) -> Written:
    """MIMIC-IV-ECG's layout: ``files/p1000/p100000NN/sNNNNNNNN/NNNNNNNN`` records (500 Hz, gain 200) listed in
    ``record_list.csv``; the first record holds two invalid samples in lead II (samples 100 and n - 10)."""
    rows = []
    for s in range(n_subjects):
        subject = 10000032 + s
        for k in range(studies_per_subject):
            study = 40000000 + 1000 * s + k
            path = f"files/p{str(subject)[:4]}/p{subject}/s{study}/{study}"
            rows.append(MimicRow(subject, study, f"2180-07-{10 + k:02d} 08:44:00", path))
            n = int(seconds * 500)
            invalid = [(1, 100), (1, n - 10)] if not rows[:-1] else None
            write_record(
                root / Path(path).parent,
                Path(path).name,
                ecg_signal(12, n, 500, seed + study),
                MIMIC_LEADS,
                500,
                gain=200.0,
                base_datetime=datetime.datetime(2180, 7, 10 + k, 8, 44),
                invalid=invalid,
            )
    with open(root / "record_list.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["subject_id", "study_id", "file_name", "ecg_time", "path"])
        for r in rows:
            out.writerow([r.subject_id, r.study_id, r.study_id, r.ecg_time, r.path])
    return Written(root, [r.path for r in rows], rows)


# ------------------------------------------------------------------ CinC 2020/2021


@dataclass
class CincRow:
    name: str
    database: str
    age: str
    sex: str
    dx: str  # the '# Dx:' text as written


#: (database folder, record prefix, its records' '# Dx:' texts): trailing commas, equivalent codes
#: (59118001 ~ 713427006, 17338001 ~ 427172004, 164909002 ~ 733534002) and unscored codes (55930002,
#: 164873001) as in the real data.
_CINC_DATABASES = [
    ("georgia", "E", ["426783006", "164889003,59118001,", "713427006,55930002", "427172004,17338001"]),
    ("chapman_shaoxing", "JS", ["426177001, 164934002", "164889003", "55930002", "164909002,733534002,426783006"]),
    ("cpsc_2018", "A", ["426783006", "164873001"]),
]


def write_cinc2021(
    root: Path, seconds: float = 10.0, fs: float = 500.0, groups: int = 2, seed: int = 0, records_files: bool = False
) -> Written:
    """CinC 2020/2021's nested layout under ``root/training``: ``<database>/g1..gN/`` folders of ``.mat``
    records (``16x1+24``) with ``# Age``, ``# Sex`` and ``# Dx`` comments; with ``records_files``, a
    ``RECORDS`` in each ``gN`` folder. ``Written.names`` are relative to ``root/training``, sorted."""
    rows = []
    for db, prefix, dxs in _CINC_DATABASES:
        for i, dx in enumerate(dxs):
            group = f"g{i % groups + 1}"
            number = 1 + i
            name = f"{prefix}{number:05d}" if prefix != "A" else f"A{number:04d}"
            age, sex = ("NaN" if i == 1 else str(50 + i)), ("Female" if i % 2 else "Male")
            comments = [f"Age: {age}", f"Sex: {sex}", f"Dx: {dx}", "Rx: Unknown", "Hx: Unknown", "Sx: Unknown"]
            rate = 60.0 + 10.0 * len(dx.split(","))
            write_record(
                root / "training" / db / group,
                name,
                ecg_signal(12, int(seconds * fs), fs, seed + len(rows), rate),
                CINC_LEADS,
                fs,
                comments=comments,
                mat=True,
            )
            rows.append(CincRow(f"{db}/{group}/{name}", db, age, sex, dx))
    if records_files:
        for folder in sorted((root / "training").glob("*/g*")):
            (folder / "RECORDS").write_text("".join(f"{p.stem}\n" for p in sorted(folder.glob("*.hea"))))
    rows.sort(key=lambda r: r.name)
    return Written(root / "training", [r.name for r in rows], rows)


# ------------------------------------------------------------------ annotated long records


@dataclass
class AnnotatedRow:
    name: str
    n_samples: int
    rhythms: list[tuple[int, str]]  # (sample, rhythm name) of each '+' annotation


def write_annotated(root: Path, fs: float = 200.0, minutes: float = 2.0, seed: int = 0) -> Written:
    """Two-lead records (I, II) with ``.atr`` files: beats (``N``) every 0.8 s and rhythm changes
    (``+`` with ``(N`` / ``(AFIB``); the second record has no rhythm change, the third no ``.atr``."""
    n = int(minutes * 60 * fs)
    plans = {
        "rec_a": [(0, "N"), (n // 4, "AFIB"), (n // 2, "N")],
        "rec_b": [],
        "rec_c": None,
    }
    rows = []
    for k, (name, rhythms) in enumerate(plans.items()):
        write_record(
            root,
            name,
            ecg_signal(2, n, fs, seed + k),
            ["I", "II"],
            fs,
            comments=["non atrial fibrillation" if not rhythms else "paroxysmal atrial fibrillation"],
        )
        if rhythms is not None:
            beats = [(int(s), "N", "") for s in np.arange(int(0.2 * fs), n, int(0.8 * fs))]
            changes = [(s, "+", f"({r}") for s, r in rhythms]
            marks = sorted(beats + changes, key=lambda a: (a[0], a[1] != "+"))
            wfdb.wrann(
                name,
                "atr",
                np.array([m[0] for m in marks]),
                symbol=[m[1] for m in marks],
                aux_note=[m[2] for m in marks],
                write_dir=str(root),
            )
        rows.append(AnnotatedRow(name, n, rhythms or []))
    return Written(root, sorted(plans), rows)


def zip_tree(folder: Path, dest: Path, prefix: str = "", compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """Zip every file below ``folder`` under ``prefix`` (paths kept)."""
    with zipfile.ZipFile(dest, "w", compression=compression) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file() and f != dest:
                z.write(f, prefix + f.relative_to(folder).as_posix())
    return dest
