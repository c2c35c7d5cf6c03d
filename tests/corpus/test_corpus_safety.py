"""Untrusted corpora: decompression bombs, reads outside the corpus folder, odd encodings,
corrupt archives, headers that lie. Each fails by name, in one short line, with bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import FAST_ARGS

from dacl.cli import main as cli_main
from dacl.corpus import RecordError, open_corpus, sample_path

#: A decompression bomb: this many bytes from a few hundred KB of zip.
BOMB_BYTES = 128 << 20
#: What reading one bomb member may add to the peak RSS (it must stay far below BOMB_BYTES).
RSS_ALLOWANCE = 48 << 20
#: Longest message a bad input may produce (the CLI cuts at 1000; ours must be far shorter).
SHORT = 400


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    with zipfile.ZipFile(sample_path()) as z:
        z.extractall(tmp_path / "extracted")
    return tmp_path / "extracted" / "training2017"


def _names(folder: Path) -> list[str]:
    return (folder / "RECORDS").read_text().split()


def _zip(
    folder: Path, dest: Path, replace: dict[str, bytes | int] | None = None, compression: int = zipfile.ZIP_DEFLATED
) -> Path:
    """Zip ``folder`` under ``training2017/``; ``replace`` swaps members for bytes, or for a bomb
    (an int: that many bytes, the first the original member's, the rest zeros, inflating from ~KB)."""
    replace = replace or {}
    with zipfile.ZipFile(dest, "w", compression, compresslevel=9 if compression else None) as z:
        for f in sorted(folder.iterdir()):
            arc = f"training2017/{f.name}"
            value = replace.get(f.name)
            if isinstance(value, int):
                head = f.read_bytes()
                with z.open(arc, "w", force_zip64=True) as out:
                    out.write(head)
                    left = value - len(head)
                    while left > 0:
                        out.write(b"\0" * min(left, 1 << 20))
                        left -= 1 << 20
            elif value is not None:
                z.writestr(arc, value)
            else:
                z.write(f, arc)
    return dest


PEAK = textwrap.dedent(
    """
    import json, resource, sys
    from dacl.corpus import open_corpus
    path, name = sys.argv[1], sys.argv[2]
    open_corpus  # imported before the baseline
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        open_corpus(path).read(name) if name else open_corpus(path)
        error = None
    except Exception as err:
        error = f"{type(err).__name__}: {err}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"grew": (peak - base) * 1024, "error": error}))
    """
)


def _peak(path: Path, name: str = "") -> dict:
    """Open ``path`` (and read record ``name``) in a child; how much its peak RSS grew, and the error."""
    done = subprocess.run([sys.executable, "-c", PEAK, str(path), name], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("member", ["signal", "header", "RECORDS", "REFERENCE.csv"])
def test_decompression_bombs_are_not_inflated(sample_dir: Path, tmp_path: Path, member: str):
    name = _names(sample_dir)[0]
    file = {"signal": f"{name}.mat", "header": f"{name}.hea"}.get(member, member)
    bomb = _zip(sample_dir, tmp_path / "bomb.zip", {file: BOMB_BYTES})
    assert bomb.stat().st_size < 2 << 20
    got = _peak(bomb, name if member in ("signal", "header") else "")
    assert got["error"] is not None, "a bomb was accepted"
    assert got["grew"] < RSS_ALLOWANCE, f"reading the bomb grew the RSS by {got['grew'] >> 20} MiB"
    assert len(got["error"]) < SHORT and "\n" not in got["error"]
    expected = {"signal": f"{name}.mat", "header": name}.get(member, member)
    assert expected in got["error"]


def test_a_bomb_record_is_a_bad_record_not_a_failed_run(sample_dir: Path, tmp_path: Path, capsys):
    name = _names(sample_dir)[2]
    bomb = _zip(sample_dir, tmp_path / "bomb.zip", {f"{name}.mat": BOMB_BYTES})
    out = tmp_path / "ds"
    assert cli_main(["preprocess", str(bomb), "--out", str(out), *FAST_ARGS]) == 0
    assert f"skipped {name}: signal file {name}.mat is larger than its header declares" in capsys.readouterr().out


# ------------------------------------------------------------------ corrupt archives


def _corrupt_member(path: Path, member: str) -> None:
    """Flip bytes in the middle of a member's stored data (its local header is left intact)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + info.compress_size // 3, start + 2 * info.compress_size // 3):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["crc", "inflate"])
@pytest.mark.parametrize("member", ["RECORDS", "REFERENCE.csv"])
def test_corrupt_list_member_is_one_line_naming_it(sample_dir: Path, tmp_path: Path, capsys, member, compression):
    path = _zip(sample_dir, tmp_path / "c.zip", compression=compression)
    _corrupt_member(path, f"training2017/{member}")
    assert cli_main(["preprocess", str(path), "--out", str(tmp_path / "ds"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and member in err and "c.zip" in err, err
    assert not (tmp_path / "ds").exists()


def test_corrupt_record_member_is_a_bad_record(sample_dir: Path, tmp_path: Path):
    name = _names(sample_dir)[4]
    path = _zip(sample_dir, tmp_path / "c.zip")
    _corrupt_member(path, f"training2017/{name}.mat")
    corpus = open_corpus(path)
    with pytest.raises(RecordError, match=f"record {name}: .*corrupt") as info:
        corpus.read(name)
    assert len(str(info.value)) < SHORT


# ------------------------------------------------------------------ reads stay inside the corpus


SECRET = "SECRET-0123456789 do not copy me"


def _secret_header(path: Path) -> None:
    path.write_text(f"{SECRET}\nsecret.mat 16 1000 16 0 0 0 0 ECG\n")


@pytest.mark.parametrize(
    "listed",
    ["../../secret", "ABSOLUTE", "A0/../../x", "./A00141", ""],
    ids=["dotdot", "absolute", "inner-dotdot", "dot", "blank-is-skipped"],
)
def test_records_naming_paths_outside_the_folder_are_refused(sample_dir: Path, tmp_path: Path, listed: str):
    _secret_header(tmp_path / "secret.hea")
    if listed == "ABSOLUTE":
        listed = str(tmp_path / "secret")
    names = _names(sample_dir)
    (sample_dir / "RECORDS").write_text("\n".join(names[:3] + [listed] + names[3:]) + "\n")
    if not listed:  # blank lines are not records: nothing to refuse
        assert open_corpus(sample_dir, partial_labels=True).names == names
        return
    outside = r"RECORDS line 4: record name .* must be a relative path inside the corpus folder"
    with pytest.raises(ValueError, match=outside) as info:
        open_corpus(sample_dir, partial_labels=True)
    assert SECRET not in str(info.value) and len(str(info.value)) < SHORT


def test_header_naming_a_signal_file_outside_is_refused(sample_dir: Path, tmp_path: Path):
    name = _names(sample_dir)[1]
    (tmp_path / "outside.mat").write_bytes((sample_dir / f"{name}.mat").read_bytes())
    hea = sample_dir / f"{name}.hea"
    for target in (str(tmp_path / "outside.mat"), "../../outside.mat"):
        hea.write_text(hea.read_text().replace(f"{name}.mat", target))
        with pytest.raises(RecordError, match=f"record {name}: .*outside the record's folder"):
            open_corpus(sample_dir).read(name)
        hea.write_text(hea.read_text().replace(target, f"{name}.mat"))
    assert open_corpus(sample_dir).read(name).signal.size > 0


def test_symlinks_out_of_the_corpus_are_refused(sample_dir: Path, tmp_path: Path):
    names = _names(sample_dir)
    _secret_header(tmp_path / "secret.hea")
    (sample_dir / f"{names[0]}.hea").unlink()
    (sample_dir / f"{names[0]}.hea").symlink_to(tmp_path / "secret.hea")
    (tmp_path / "outside.mat").write_bytes((sample_dir / f"{names[1]}.mat").read_bytes())
    (sample_dir / f"{names[1]}.mat").unlink()
    (sample_dir / f"{names[1]}.mat").symlink_to(tmp_path / "outside.mat")
    corpus = open_corpus(sample_dir)
    for name in names[:2]:
        with pytest.raises(RecordError, match=f"record {name}: .*outside the corpus folder") as info:
            corpus.read(name)
        assert SECRET not in str(info.value)
    # And nothing of the outside file reaches the dataset.
    out = tmp_path / "ds"
    assert cli_main(["preprocess", str(sample_dir), "--out", str(out), *FAST_ARGS]) == 0
    for f in out.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
    # A symlink that stays inside the corpus is fine.
    (sample_dir / f"{names[2]}.mat").rename(sample_dir / "elsewhere.mat")
    (sample_dir / f"{names[2]}.mat").symlink_to("elsewhere.mat")
    assert open_corpus(sample_dir).read(names[2]).signal.size > 0


def test_file_content_is_quoted_only_as_a_short_excerpt(sample_dir: Path):
    name = _names(sample_dir)[5]
    (sample_dir / f"{name}.hea").write_text(f"{name} 1 x{'9' * 100_000}\n")
    with pytest.raises(RecordError, match=f"record {name}: header record line") as info:
        open_corpus(sample_dir).read(name)
    assert len(str(info.value)) < SHORT


# ------------------------------------------------------------------ encodings


def test_reference_in_a_wrong_encoding_is_named(sample_dir: Path, tmp_path: Path, capsys):
    ref = sample_dir / "REFERENCE.csv"
    ref.write_bytes(ref.read_text().encode("utf-16"))
    with pytest.raises(ValueError, match=r"REFERENCE\.csv is not UTF-8 text"):
        open_corpus(sample_dir)
    assert cli_main(["preprocess", str(sample_dir), "--out", str(tmp_path / "ds"), "--no-progress"]) == 2
    assert "REFERENCE.csv" in capsys.readouterr().err


def test_bom_in_records_is_not_part_of_the_first_name(sample_dir: Path):
    names = _names(sample_dir)
    (sample_dir / "RECORDS").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(names).encode() + b"\r\n")
    corpus = open_corpus(sample_dir)
    assert corpus.names == names
    assert corpus.read(names[0]).label == corpus.label(names[0]) is not None


def test_records_in_a_wrong_encoding_is_named(sample_dir: Path):
    names = _names(sample_dir)
    (sample_dir / "RECORDS").write_bytes("\n".join(names).encode("utf-16"))
    with pytest.raises(ValueError, match=r"RECORDS is not UTF-8 text"):
        open_corpus(sample_dir)


# ------------------------------------------------------------------ headers that lie


def _write_dat(
    folder: Path,
    name: str,
    digital: np.ndarray,
    header_n: int,
    fmt: str = "16",
    gain: str = "1000",
    suffix: str = "dat",
) -> None:
    (folder / f"{name}.{suffix}").write_bytes(digital.astype("<i2").tobytes())
    (folder / f"{name}.hea").write_text(f"{name} 1 300 {header_n}\n{name}.{suffix} {fmt} {gain}/mV 16 0 0 0 0 ECG\n")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (dict(header_n=-3000), "sample count -3000 is negative"),
        (dict(fmt="8", suffix="mat"), "format 8"),
        (dict(fmt="310", suffix="mat"), "format 310"),
        (dict(gain="inf"), "gain"),
        (dict(gain="nan"), "gain"),
        (dict(fmt="16+-4"), "byte offset"),
    ],
    ids=["negative-count", "mat-as-format-8", "mat-as-format-310", "gain-inf", "gain-nan", "negative-offset"],
)
def test_headers_that_lie_are_refused(sample_dir: Path, change: dict, match: str):
    name = _names(sample_dir)[6]
    (sample_dir / f"{name}.mat").unlink()
    digital = (np.sin(np.arange(3000) / 20) * 500).astype(np.int16)
    _write_dat(sample_dir, name, digital, **{"header_n": 3000, **change})
    with pytest.raises(RecordError, match=f"record {name}: .*{match}"):
        open_corpus(sample_dir).read(name)


def test_an_honest_dat_record_still_reads(sample_dir: Path):
    name = _names(sample_dir)[6]
    (sample_dir / f"{name}.mat").unlink()
    digital = (np.sin(np.arange(3000) / 20) * 500).astype(np.int16)
    _write_dat(sample_dir, name, digital, header_n=3000)
    np.testing.assert_array_equal(open_corpus(sample_dir).read(name).signal[0], digital / 1000)


def test_weird_names_in_a_headers_only_folder(sample_dir: Path):
    names = _names(sample_dir)
    (sample_dir / "RECORDS").unlink()
    os.rename(sample_dir / f"{names[0]}.hea", sample_dir / "bad\nname.hea")
    with pytest.raises(ValueError, match=r"bad\?name.*control characters"):
        open_corpus(sample_dir)


def test_wfdb_formats_are_confined_too(sample_dir: Path, tmp_path: Path):
    """A format-212 record (read through wfdb) whose signal file is a symlink out of the corpus."""
    import wfdb

    name = "B00001"
    signal = np.round(np.sin(np.linspace(0, 20, 2000))[:, None] * 1000) / 1000
    wfdb.wrsamp(
        name,
        fs=250,
        units=["mV"],
        sig_name=["ECG"],
        p_signal=signal,
        fmt=["212"],
        adc_gain=[1000],
        baseline=[0],
        write_dir=str(tmp_path),
    )
    (sample_dir / f"{name}.hea").write_bytes((tmp_path / f"{name}.hea").read_bytes())
    (sample_dir / f"{name}.dat").symlink_to(tmp_path / f"{name}.dat")
    (sample_dir / "RECORDS").write_text((sample_dir / "RECORDS").read_text() + f"{name}\n")
    corpus = open_corpus(sample_dir, partial_labels=True)
    with pytest.raises(RecordError, match=f"record {name}: .*outside the corpus folder"):
        corpus.read(name)
    (sample_dir / f"{name}.dat").unlink()
    (sample_dir / f"{name}.dat").write_bytes((tmp_path / f"{name}.dat").read_bytes())
    assert corpus.read(name).signal.size == 2000
