"""Original vs generated DiffAug views: sampling from a tiny trained run, distances, the picture, the script."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import EXPERIMENTS, load_script, three_profile_featureset

from dacl.report.generated_views import generate_views, view_distances
from dacl.report.plots import plot_generated_views
from dacl.training.config import Config
from dacl.training.diffaug import train_diffaug

SCRIPT = EXPERIMENTS / "diffaug-views" / "plot_views.py"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def run(tiny: Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run whose generator has trained long enough (~1200 steps) to follow its condition."""
    torch.set_num_threads(1)
    cfg = tiny.replace(diffaug={"warmup_epochs": 10, "m_epochs": 300, "e_epochs": 0, "gen_lr": 3e-3, "batch_size": 32})
    return train_diffaug(
        three_profile_featureset(), cfg, tmp_path_factory.mktemp("views") / "run", device="cpu", progress=False
    )


@pytest.mark.slow
def test_views_shapes_and_neighbourhood(run: Path) -> None:
    fs = three_profile_featureset()
    v = generate_views(run, fs, n=6, k=8, n_others=40, seed=0)
    dim = v.originals.shape[1]
    assert v.generated.shape == (6, 8, dim) and v.others.shape == (40, dim)
    assert np.isfinite(v.generated).all() and np.isfinite(v.others).all()
    assert v.split == "test"
    assert len(set(v.record_ids)) == 6  # one window from each of 6 distinct records
    assert all(fs.record_split[list(fs.record_ids).index(r)] == "test" for r in v.record_ids)
    # Originals are in the scaled space: clipped to the sampler's [-1, 1] box.
    assert np.abs(v.originals).max() <= 1.0
    # The 3 synthetic classes are separate clusters: a view conditioned on Enc(x) should land
    # nearer x than the other originals.
    d = view_distances(v.originals, v.generated)
    assert d["view_to_own"] < 0.85 * d["view_to_other"], d

    again = generate_views(run, fs, n=6, k=8, n_others=40, seed=0)
    np.testing.assert_array_equal(v.generated, again.generated)
    assert again.record_ids == v.record_ids
    other_seed = generate_views(run, fs, n=6, k=8, n_others=40, seed=1)
    assert not np.array_equal(other_seed.generated, v.generated)


def test_view_distances_by_hand() -> None:
    originals = np.array([[0.0, 0.0], [3.0, 4.0]])
    generated = np.array([[[0.0, 0.0], [0.0, 1.0]], [[3.0, 4.0], [3.0, 4.0]]])
    d = view_distances(originals, generated)
    assert d["view_to_own"] == pytest.approx(0.25)  # (0 + 1 + 0 + 0) / 4
    assert d["view_to_other"] == pytest.approx((5.0 + np.hypot(3, 3) + 5.0 + 5.0) / 4)
    assert d["original_to_other"] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="at least 2"):
        view_distances(originals[:1], generated[:1])


def test_plot_writes_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    originals = rng.normal(size=(3, 20))
    generated = originals[:, None] + 0.1 * rng.normal(size=(3, 5, 20))
    out = tmp_path / "views.png"
    plot_generated_views(
        originals,
        generated,
        rng.normal(size=(50, 20)),
        out,
        labels=["a", "b", "c"],
        dim_groups=[(0, "first half"), (10, "second half")],
    )
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in tmp_path.iterdir()] == ["views.png"]  # no temp file left behind
    with pytest.raises(ValueError, match="generated"):
        plot_generated_views(originals, generated[:, :, :5], originals, tmp_path / "bad.png")
    with pytest.raises(ValueError, match="labels"):
        plot_generated_views(originals, generated, originals, tmp_path / "bad.png", labels=["a"])


@pytest.mark.slow
def test_rejects_bad_arguments(run: Path) -> None:
    fs = three_profile_featureset()
    with pytest.raises(ValueError, match="denoiser"):
        generate_views(run, fs, denoiser="nope")
    with pytest.raises(ValueError, match="no split"):
        generate_views(run, fs, n=20)  # only 8 test records
    with pytest.raises(FileNotFoundError, match="model.pt"):
        generate_views(run.parent / "missing", fs)


@pytest.mark.slow
def test_script_writes_picture(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script(SCRIPT)
    monkeypatch.setattr(script, "load_features", lambda path: three_profile_featureset())
    out = tmp_path / "sub" / "views.png"
    assert (
        script.main(
            [
                str(run),
                "--features",
                "unused",
                "--out",
                str(out),
                "--n",
                "3",
                "--k",
                "4",
                "--others",
                "30",
                "--denoiser",
                "online",
            ]
        )
        == 0
    )
    assert out.read_bytes()[:8] == PNG_MAGIC
    printed = capsys.readouterr().out
    assert '"view_to_own"' in printed and '"split": "test"' in printed
