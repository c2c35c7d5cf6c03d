"""Multi-lead, multi-label preprocessing through the corpus interface: leads, missing leads, invalid samples,
long records in ranges, window labels from annotations, the shard writer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from helpers import CINC2021_SAMPLE, FakeCorpus, cinc2021_records, ecg_leads, make_record

from dacl._native import Scattering1D, segment
from dacl.corpus import RecordError
from dacl.features import PreprocessConfig, load_features, preprocess
from dacl.features.featurizer import log_scale
from dacl.features.leads import STANDARD_LEADS, canonical, lead_rows, parse_leads
from dacl.features.ranges import plan_ranges, rate_ratio
from dacl.features.store import ShardWriter, npy_header, read_manifest, read_records_csv
from dacl.features.window_labels import window_labels

SMALL = dict(window=1024, hop=768, J=5, Q=4, chunk_records=8, num_threads=1)
needs_cinc2021 = pytest.mark.skipif(not CINC2021_SAMPLE.is_dir(), reason=f"{CINC2021_SAMPLE} absent")


@pytest.fixture(scope="module")
def cinc2021() -> list:
    if not CINC2021_SAMPLE.is_dir():
        pytest.skip(f"{CINC2021_SAMPLE} absent")
    return cinc2021_records()


@pytest.fixture(scope="module")
def cinc2021_dataset(cinc2021, tmp_path_factory) -> Path:
    return preprocess(FakeCorpus(cinc2021), tmp_path_factory.mktemp("c21") / "ds", **SMALL)


# ------------------------------------------------------------------ leads and labels


def test_twelve_leads_are_scattered_lead_by_lead(cinc2021, cinc2021_dataset: Path):
    fs = load_features(cinc2021_dataset)
    manifest = read_manifest(cinc2021_dataset)
    assert fs.leads == STANDARD_LEADS == tuple(manifest["leads"])  # --leads all: the first record's leads
    assert fs.features.ndim == 4 and fs.features.shape[1] == 12
    assert manifest["task"] == fs.task == "multi-label" and manifest["layout"] == "wfdb"
    # No corpus vocabulary: every code seen, sorted; the targets are each record's # Dx codes.
    codes = sorted({c for r in cinc2021 for c in r.labels})
    assert list(fs.vocabulary) == codes == manifest["vocabulary"]
    for r, rec in enumerate(cinc2021):
        assert {fs.vocabulary[c] for c in np.flatnonzero(fs.record_targets[r])} == set(rec.labels)
        assert fs.record_labels[r] == (codes.index(rec.labels[0]) if len(rec.labels) == 1 else -1)
    # Each lead's features are exactly the single-lead pipeline's on that lead (500 Hz resampled to 300 Hz).
    cfg = PreprocessConfig(**{k: v for k, v in SMALL.items() if k != "num_threads"})
    S = Scattering1D(cfg.J, cfg.window, Q=cfg.Q)
    order = np.asarray(S.meta()["order"])
    for r in (0, 23):
        rec = cinc2021[r]
        mask = fs.record_index == r
        for lead in (0, 5, 11):
            windows, _, starts = segment(
                [np.ascontiguousarray(rec.signal[lead])],
                rec.fs,
                cfg.window,
                cfg.hop,
                tail=cfg.tail,
                band=cfg.band,
                zscore=cfg.zscore,
                target_fs=cfg.fs,
            )
            expected = log_scale(S(windows.astype(np.float32)), order, cfg.log_eps)
            np.testing.assert_array_equal(fs.starts[mask], starts)
            np.testing.assert_array_equal(fs.features[mask][:, lead], expected)


def test_leads_option_keeps_those_leads_in_that_order(cinc2021, cinc2021_dataset: Path, tmp_path: Path):
    out = preprocess(FakeCorpus(cinc2021[:8]), tmp_path / "ds", leads=parse_leads("v1, ii"), **SMALL)
    sub, full = load_features(out), load_features(cinc2021_dataset)
    assert sub.leads == ("V1", "II") and read_manifest(out)["params"]["leads"] == ["V1", "II"]
    rows = np.isin(full.record_index, np.arange(8))
    np.testing.assert_array_equal(sub.features[:, 0], full.features[rows][:, STANDARD_LEADS.index("V1")])
    np.testing.assert_array_equal(sub.features[:, 1], full.features[rows][:, STANDARD_LEADS.index("II")])


def test_lead_names_match_by_name_whatever_the_case_or_order():
    assert parse_leads("all") is None
    assert parse_leads("avr,AVL, v6") == ("aVR", "aVL", "V6") == tuple(canonical(n) for n in ("AVR", "avl", "v6 "))
    assert lead_rows("r", ("V1", "AVR", "I"), ("I", "aVR")) == [2, 1]
    with pytest.raises(ValueError, match="more than once"):
        parse_leads("I,i")
    with pytest.raises(RecordError, match="missing leads: V3, V4"):
        lead_rows("r", ("I", "II"), ("I", "V3", "V4"))


def _two_records(tmp_path: Path, **changes) -> tuple[FakeCorpus, Path]:
    good = make_record("good", ecg_leads(20, 500, 3, seed=1), ["I", "II", "V3"], 500, ["X"])
    other = make_record("other", ecg_leads(20, 500, 3, seed=2), changes.pop("leads", ["I", "II", "V3"]), 500, ["Y"])
    if "nan_in" in changes:
        other.signal[changes.pop("nan_in"), 1000:1010] = np.nan
    return FakeCorpus([good, other]), tmp_path / "ds"


def test_a_record_missing_a_lead_is_a_recorded_error_not_a_filled_one(tmp_path: Path):
    corpus, out = _two_records(tmp_path, leads=["I", "II", "V4"])
    preprocess(corpus, out, split=None, **SMALL)
    rows = {r["record"]: r for r in read_records_csv(out)}
    assert rows["good"]["status"] == "ok" and int(rows["good"]["n_windows"]) > 0
    assert rows["other"]["status"] == "error" and rows["other"]["error"] == "missing leads: V3"
    assert read_manifest(out)["errors"] == {"other": "missing leads: V3"}
    assert ("other", 0, None) not in corpus.reads  # known from the header: the signal is not read
    # Naming only leads both records have keeps both.
    preprocess(corpus, tmp_path / "ds2", split=None, leads=("II", "I"), **SMALL)
    assert {r["status"] for r in read_records_csv(tmp_path / "ds2")} == {"ok"}


def test_invalid_samples_spoil_a_record_only_in_a_kept_lead(tmp_path: Path):
    corpus, out = _two_records(tmp_path, nan_in=2)
    preprocess(corpus, out, split=None, **SMALL)
    row = {r["record"]: r for r in read_records_csv(out)}["other"]
    assert row["status"] == "error"
    assert row["error"] == (
        "signal contains 10 non-finite values (NaN (missing samples), first in lead V3 at sample 1000; per lead V3: 10)"
    )
    preprocess(corpus, tmp_path / "ds2", split=None, leads=("I", "II"), **SMALL)
    assert {r["status"] for r in read_records_csv(tmp_path / "ds2")} == {"ok"}


# ------------------------------------------------------------------ long records


def _long(fs: float, seconds: float = 427.3, n_leads: int = 2) -> FakeCorpus:
    rec = make_record("long", ecg_leads(seconds, fs, n_leads, seed=3), ["I", "II", "V1"][:n_leads], fs, ["AF"])
    return FakeCorpus([rec], task="single-label")


@pytest.mark.slow
@pytest.mark.parametrize(("fs", "tail"), [(250.0, "pad"), (300.0, "reflect"), (500.0, "drop")])
def test_a_long_record_is_read_in_ranges_and_gives_the_whole_record_windows(tmp_path: Path, fs: float, tail: str):
    corpus = _long(fs)
    common = dict(SMALL, window=3000, hop=1500, tail=tail, split=None)
    whole = load_features(preprocess(corpus, tmp_path / "whole", chunk_seconds=1e6, **common))
    assert corpus.reads == [("long", 0, None)]
    corpus.reads.clear()
    ranged = load_features(preprocess(corpus, tmp_path / "ranged", chunk_seconds=60, chunk_margin=30, **common))
    n = corpus._record("long").n_samples
    assert len(corpus.reads) == 8 and corpus.reads[0][1] == 0 and corpus.reads[-1][2] == n
    assert max(b - a for _, a, b in corpus.reads) <= (60 + 2 * 30 + 10 + 5) * fs  # never more than one range
    np.testing.assert_array_equal(ranged.starts, whole.starts)  # the same windows, none lost, none twice
    # Equal up to float32 rounding: the float64 windows agree to ~1e-12 (test_ranges_partition_the_windows);
    # compared before the log, which magnifies the rounding of the tiniest coefficients.
    np.testing.assert_allclose(np.exp(ranged.features), np.exp(whole.features), rtol=1e-5, atol=1e-9)
    assert (ranged.features == whole.features).mean() > 0.98
    rows = read_records_csv(tmp_path / "ranged")
    assert rows[0]["length"] == str(n) and rows[0]["status"] == "ok" and len(rows[0]["sha256"]) == 64


def test_ranges_partition_the_windows_and_their_samples_agree():
    from dacl.features.featurizer import segment_records
    from dacl.features.ranges import kept

    cfg = PreprocessConfig(chunk_seconds=60, chunk_margin=30)
    for fs in (250.0, 360.0, 1000.0):
        corpus = _long(fs, 300.0, 1)
        rec = corpus._record("long")
        whole, _, starts = segment_records([rec], cfg, None)
        pieces, piece_starts = [], []
        for r in plan_ranges("long", rec.n_samples, fs, cfg):
            assert r.read_from * rate_ratio("long", fs, cfg.fs) % cfg.hop == 0  # on the window grid
            sub = make_record("long", rec.signal[:, r.read_from : r.read_to], rec.leads, fs)
            w, _, s = segment_records([sub], cfg, None)
            keep = kept(s + r.offset, r)
            pieces.append(w[keep])
            piece_starts.append(s[keep] + r.offset)
        np.testing.assert_array_equal(np.concatenate(piece_starts), starts)
        np.testing.assert_allclose(np.concatenate(pieces), whole, rtol=0, atol=1e-9)


def test_a_long_record_that_fails_half_way_leaves_nothing_in_the_shard(tmp_path: Path):
    short = make_record("short", ecg_leads(30, 300, 2, seed=5), ["I", "II"], 300, ["N"])
    bad = make_record("bad", ecg_leads(400, 300, 2, seed=6), ["I", "II"], 300, ["AF"])
    bad.signal[1, 250 * 300] = np.nan  # in the fifth range of 60 s (read with the fourth's margin)
    corpus = FakeCorpus([short, bad, dataclasses.replace(short, name="short2")], task="single-label")
    out = preprocess(corpus, tmp_path / "ds", split=None, chunk_seconds=60, **SMALL)
    fs = load_features(out)
    rows = {r["record"]: r for r in read_records_csv(out)}
    assert rows["bad"]["status"] == "error" and "first in lead II at sample 75000" in rows["bad"]["error"]
    assert rows["bad"]["n_windows"] == "0" and not (fs.record_index == 1).any()
    assert int(rows["short"]["n_windows"]) == int(rows["short2"]["n_windows"]) > 0
    np.testing.assert_array_equal(fs.features[fs.record_index == 0], fs.features[fs.record_index == 2])


# ------------------------------------------------------------------ window labels


def test_window_label_is_the_rhythm_covering_most_of_the_window():
    # Windows of 10 s at 300 Hz, intervals in record samples at 200 Hz.
    starts = np.array([0, 1500, 3000, 4500, 9000]) * 2  # 0, 10, 20, 30, 60 s
    intervals = [
        (0, 200 * 14, "N"),
        (200 * 14, 200 * 25, "AFIB"),
        (200 * 25, 200 * 35, "N"),
        (200 * 65, 200 * 75, "AFL"),
        (200 * 75, 200 * 80, "AFIB"),
    ]
    got = window_labels(starts, 3000, 300.0, 200.0, intervals)
    # [0,10): N; [10,20): N 4 s, AFIB 6 s; [20,30): AFIB 5 s then N 5 s -> a tie, the earlier one in the window;
    # [30,40): N 5 s (the rest unannotated); [60,70): AFL 5 s.
    assert got.tolist() == ["N", "AFIB", "AFIB", "N", "AFL"]
    assert window_labels(np.array([300 * 100]), 3000, 300.0, 200.0, intervals).tolist() == [""]  # uncovered
    assert window_labels(starts, 3000, 300.0, 200.0, []).tolist() == [""] * 5


def test_annotated_long_records_label_their_windows(tmp_path: Path):
    fs_rec = 250.0
    rec = make_record("holter", ecg_leads(300, fs_rec, 2, seed=4), ["I", "II"], fs_rec)
    plain = make_record("plain", ecg_leads(60, fs_rec, 2, seed=5), ["I", "II"], fs_rec, ["N"])
    n = rec.n_samples
    intervals = [(0, n // 3, "N"), (n // 3, 2 * n // 3, "AFIB"), (2 * n // 3, n, "N")]
    corpus = FakeCorpus([rec, plain], task="single-label", annotations={"holter": intervals})
    out = preprocess(corpus, tmp_path / "ds", split=None, chunk_seconds=60, **{**SMALL, "window": 3000, "hop": 1500})
    fs = load_features(out)
    assert fs.vocabulary == ("AFIB", "N") and read_manifest(out)["vocabulary"] == ["AFIB", "N"]
    holter = fs.record_index == 0
    expected = window_labels(fs.starts[holter], 3000, 300.0, fs_rec, intervals)
    assert [fs.vocabulary[i] for i in fs.window_labels[holter]] == expected.tolist()
    assert set(expected) == {"N", "AFIB"}
    assert (fs.window_labels[~holter] == -1).all()  # the plain record's windows carry its record label
    assert (fs.labels[~holter] == fs.vocabulary.index("N")).all()
    np.testing.assert_array_equal(fs.labels[holter], fs.window_labels[holter])
    assert fs.record_labels[0] == -1  # the annotated record itself has no record-level label


# ------------------------------------------------------------------ the shard writer


def test_npy_header_pads_to_a_reserved_length_that_numpy_reads(tmp_path: Path):
    reserved = len(npy_header((2**62, 3, 4), np.dtype("<f4")))
    data = np.arange(24, dtype="<f4").reshape(2, 3, 4)
    path = tmp_path / "a.npy"
    path.write_bytes(npy_header((2, 3, 4), data.dtype, reserved) + data.tobytes())
    np.testing.assert_array_equal(np.load(path), data)
    np.testing.assert_array_equal(np.load(path, mmap_mode="r"), data)
    np.save(tmp_path / "b.npy", data)  # without a reserved length: numpy's own header
    assert (tmp_path / "b.npy").read_bytes().startswith(npy_header((2, 3, 4), data.dtype))
    with pytest.raises(ValueError, match="does not fit"):
        npy_header((2**62, 3, 4), data.dtype, 64)


def test_shard_writer_appends_rolls_back_and_commits_whole(tmp_path: Path):
    root = tmp_path / "shards"
    root.mkdir()
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 2, 4, 5)).astype(np.float32), rng.normal(size=(2, 2, 4, 5)).astype(np.float32)
    with ShardWriter(root, 7, (2, 4, 5)) as writer:
        writer.append(a, np.zeros(3, np.int64), np.arange(3) * 10, np.array(["x", "", "y"]))
        mark = writer.count
        writer.append(b, np.ones(2, np.int64), np.arange(2) * 10)
        writer.rollback(mark)
        writer.append(b[:1], np.full(1, 2, np.int64), np.array([5]))
        assert not (root / "000007").exists()  # nothing visible before the commit
        final = writer.commit([{"row": 0, "record": "r"}], {"format_version": 3})
    assert sorted(p.name for p in root.iterdir()) == ["000007"]
    np.testing.assert_array_equal(np.load(final / "features.npy", mmap_mode="r"), np.concatenate([a, b[:1]]))
    np.testing.assert_array_equal(np.load(final / "record_index.npy"), [0, 0, 0, 2])
    np.testing.assert_array_equal(np.load(final / "starts.npy"), [0, 10, 20, 5])
    assert np.load(final / "window_labels.npy").tolist() == ["x", "", "y", ""]
    with pytest.raises(KeyboardInterrupt), ShardWriter(root, 8, (2, 4, 5)) as writer:
        writer.append(a, np.zeros(3, np.int64), np.arange(3))
        raise KeyboardInterrupt
    assert sorted(p.name for p in root.iterdir()) == ["000007"]  # the interrupted shard left nothing


@needs_cinc2021
def test_the_cinc2021_records_read_with_wfdb_are_what_the_sample_holds():
    """The in-memory stand-in for the CinC 2021 layout: 40 records, 12 standard leads at 500 Hz, # Dx codes."""
    records = cinc2021_records()
    assert len(records) == 40 and {r.leads for r in records} == {STANDARD_LEADS} and {r.fs for r in records} == {500.0}
    assert all(r.labels and all(c.isdigit() for c in r.labels) for r in records)


# ------------------------------------------------------------------ the corpus options, older datasets


def test_corpus_options_reach_open_corpus(tmp_path: Path, monkeypatch, capsys):
    import dacl.features.source as source
    from dacl.cli import main as cli_main

    given: list[dict] = []

    def open_corpus(
        path,
        layout="auto",
        *,
        partial_labels=False,
        labels=None,
        label_map=None,
        scp_level="all",
        scp_threshold=0.0,
        leads_required=None,
    ):
        given.append(
            dict(
                layout=layout,
                partial_labels=partial_labels,
                labels=labels,
                label_map=label_map,
                scp_level=scp_level,
                scp_threshold=scp_threshold,
            )
        )
        return FakeCorpus([make_record("r1", ecg_leads(20, 500, 2, seed=1), ["I", "II"], 500, ["X"])])

    monkeypatch.setattr(source, "open_corpus", open_corpus)
    args = ["preprocess", str(tmp_path / "corpus"), "--no-split", "--no-progress", "-J", "5", "-Q", "4"]
    assert cli_main([*args, "--out", str(tmp_path / "a")]) == 0, capsys.readouterr().err
    assert given.pop() == dict(
        layout="auto", partial_labels=False, labels=None, label_map=None, scp_level="all", scp_threshold=0.0
    )
    assert (
        cli_main(
            [
                *args,
                "--out",
                str(tmp_path / "b"),
                "--layout",
                "ptbxl",
                "--scp-level",
                "superdiagnostic",
                "--scp-threshold",
                "50",
                "--label-map",
                "cinc-scored",
                "--labels",
                "labels.csv",
            ]
        )
        == 0
    )
    assert given.pop() == dict(
        layout="ptbxl",
        partial_labels=False,
        labels="labels.csv",
        label_map="cinc-scored",
        scp_level="superdiagnostic",
        scp_threshold=50.0,
    )
    params = read_manifest(tmp_path / "b")["params"]
    assert (params["layout"], params["scp_level"], params["labels"]) == ("ptbxl", "superdiagnostic", "labels.csv")


def test_datasets_of_format_2_read_as_one_lead_named_I(tmp_path: Path):
    """Format 2 (before leads) stored (w, P, F) features and had no leads, vocabulary or task in the manifest."""
    import json

    from dacl.corpus import sample_path
    from dacl.corpus.cinc2017 import CLASSES

    out = preprocess(sample_path(), tmp_path / "ds", window=512, hop=512, J=4, Q=2, chunk_records=20)
    now = load_features(out, mmap=False)
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("leads", "vocabulary", "task", "layout", "layout_reason"):
        manifest.pop(key)
    (out / "manifest.json").write_text(json.dumps({**manifest, "format_version": 2}))
    for shard in sorted((out / "shards").iterdir()):
        np.save(shard / "features.npy", np.load(shard / "features.npy")[:, 0])
        (shard / "window_labels.npy").unlink()
        identity = json.loads((shard / "identity.json").read_text())
        (shard / "identity.json").write_text(json.dumps({**identity, "format_version": 2}))
    old = load_features(out)
    assert old.leads == ("I",) and old.vocabulary == CLASSES and old.task == "single-label"
    np.testing.assert_array_equal(old.features, now.features)
    np.testing.assert_array_equal(old.record_labels, now.record_labels)
    assert old.window_labels is None


def test_the_scattering_baseline_pools_lead_by_lead():
    from dacl.embedding.baselines import ScatteringPoolEmbedder

    x = np.random.default_rng(0).normal(size=(4, 3, 5, 7)).astype(np.float32)
    z = ScatteringPoolEmbedder().embed(x)
    assert z.shape == (4, 3 * 2 * 5)
    for lead in range(3):
        block = z[:, lead * 10 : (lead + 1) * 10]
        np.testing.assert_array_equal(block, ScatteringPoolEmbedder().embed(x[:, lead]))


def test_records_at_different_rates_are_each_resampled_to_fs(tmp_path: Path):
    a = make_record("a500", ecg_leads(20, 500, 2, seed=1), ["I", "II"], 500, ["X"])
    b = make_record("b250", ecg_leads(20, 250, 2, seed=2), ["I", "II"], 250, ["Y"])
    both = load_features(preprocess(FakeCorpus([a, b]), tmp_path / "both", split=None, **SMALL))
    assert {r["fs"] for r in read_records_csv(tmp_path / "both")} == {"500.0", "250.0"}
    for k, rec in enumerate((a, b)):
        alone = load_features(preprocess(FakeCorpus([rec]), tmp_path / rec.name, split=None, **SMALL))
        np.testing.assert_array_equal(both.features[both.record_index == k], alone.features)


def test_a_view_that_subsets_records_must_subset_their_targets_too():
    from helpers import multilabel_featureset

    fs = multilabel_featureset()
    keep = np.arange(len(fs.record_ids)) < 50
    with pytest.raises(ValueError, match=r"record_targets has shape \(120, 5\), expected \(50, 5\)"):
        dataclasses.replace(
            fs, record_ids=fs.record_ids[keep], record_labels=fs.record_labels[keep], record_split=fs.record_split[keep]
        )
    view = dataclasses.replace(
        fs,
        record_ids=fs.record_ids[keep],
        record_labels=fs.record_labels[keep],
        record_split=fs.record_split[keep],
        record_targets=fs.record_targets[keep],
    )
    assert view.record_targets.shape == (50, 5)
    with pytest.raises(ValueError, match="leads names 2"):
        dataclasses.replace(fs, leads=("I", "II"))
