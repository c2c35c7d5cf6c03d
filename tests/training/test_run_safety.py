"""Run directories from someone else: never unpickled, damaged files are one-line errors,
one writer at a time, and a resume continues only on the data it was trained on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from helpers import DIFFAUG_TINY, TESTS, TINY, write_dataset, xor_featureset

from dacl.cli import main as cli_main
from dacl.training.config import Config, load_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class RunsAShellCommand:
    """Pickles to a call of ``os.system``: what a hostile model.pt or checkpoint.pt can hold."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def hostile_torch_file(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": {}, "method": "dacl", "payload": RunsAShellCommand(marker)}, path)


def exit_status_running_no_code(args: list[str], marker: Path) -> int:
    """``dacl ARGS``'s exit status, after checking (whatever happened) that it ran no code from the files."""
    try:
        return cli_main(args)
    finally:
        assert not marker.exists(), "loading the run directory ran the code pickled in it"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ds") / "features"
    write_dataset(xor_featureset(n_records=30, seed=4), path)
    return path


def one_line_error(capsys: pytest.CaptureFixture[str], command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"dacl {command}: error: ") and "\n" not in err, err
    return err


def evaluate_args(run: Path, dataset: Path, tmp_path: Path) -> list[str]:
    return [
        "evaluate",
        str(run),
        "--features",
        str(dataset),
        "--out",
        str(tmp_path / "report"),
        "--n-boot",
        "2",
        "--no-report",
    ]


def train_args(config: Path, dataset: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train",
        "--config",
        str(config),
        "--features",
        str(dataset),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--epochs",
        "1",
        "--no-progress",
        *extra,
    ]


# ------------------------------------------------------------- no unpickling


@pytest.mark.parametrize("method", ["diffaug", "dacl"])
def test_evaluate_never_unpickles_a_run_directory(
    method: str, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, marker = tmp_path / "shared-run", tmp_path / "PWNED"
    hostile_torch_file(run / "model.pt", marker)
    (run / "embedder.json").write_text(json.dumps({"method": method, "model": "model.pt"}))
    assert exit_status_running_no_code(evaluate_args(run, dataset, tmp_path), marker) == 2
    err = one_line_error(capsys, "evaluate")
    assert str(run / "model.pt") in err and "GLOBAL posix.system" in err and "never loads" in err


@pytest.mark.parametrize("config", [TINY, DIFFAUG_TINY], ids=["dacl", "diffaug"])
def test_train_resume_never_unpickles_a_checkpoint(
    config: Path, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, marker = tmp_path / "shared-run", tmp_path / "PWNED"
    hostile_torch_file(run / "checkpoint.pt", marker)
    assert exit_status_running_no_code(train_args(config, dataset, run, "--resume"), marker) == 2
    assert str(run / "checkpoint.pt") in one_line_error(capsys, "train")
    assert not (run / "config.toml").exists()  # a refused resume writes nothing


@pytest.fixture(scope="module")
def vae_run(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "vae"
    assert cli_main(train_args(TINY, dataset, run, "--method", "vae")) == 0
    return run


def copy_run(run: Path, to: Path) -> Path:
    to.mkdir()
    for f in run.iterdir():
        if f.is_file():
            (to / f.name).write_bytes(f.read_bytes())
    return to


@pytest.mark.parametrize("name, command", [("model.pt", "evaluate"), ("checkpoint.pt", "train")])
def test_a_truncated_torch_file_is_a_one_line_error(
    name: str, command: str, vae_run: Path, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(vae_run, tmp_path / "run")
    data = (run / name).read_bytes()
    (run / name).write_bytes(data[: len(data) // 2])
    args = (
        evaluate_args(run, dataset, tmp_path)
        if command == "evaluate"
        else train_args(TINY, dataset, run, "--method", "vae", "--resume")
    )
    assert cli_main(args) == 2
    err = one_line_error(capsys, command)
    assert str(run / name) in err and "truncated or damaged" in err


@pytest.mark.parametrize(
    "content, expected",
    [
        ("[1, 2]", "should hold a JSON object, found an array"),
        ('"dacl"', "should hold a JSON object, found a string"),
        ("{not json", "is not valid JSON"),
        ('{"method": ["dacl"]}', "'method' must be a string"),
        ('{"method": "vae", "model": "../elsewhere/model.pt"}', "'model' must name a file in the run directory"),
    ],
)
def test_a_bad_embedder_json_is_a_one_line_error(
    content: str, expected: str, vae_run: Path, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(vae_run, tmp_path / "run")
    (run / "embedder.json").write_text(content)
    assert cli_main(evaluate_args(run, dataset, tmp_path)) == 2
    err = one_line_error(capsys, "evaluate")
    assert str(run / "embedder.json") in err and expected in err


def test_a_model_pt_that_is_no_dict_or_lacks_entries_names_the_file(vae_run: Path, tmp_path: Path) -> None:
    from dacl.embedding.embedder import load_embedder

    run = copy_run(vae_run, tmp_path / "run")
    torch.save([torch.zeros(3)], run / "model.pt")
    with pytest.raises(ValueError, match=r"model\.pt should hold a dict of tensors, found list"):
        load_embedder(run)
    bundle = torch.load(vae_run / "model.pt", weights_only=True)
    del bundle["standardiser"]
    torch.save(bundle, run / "model.pt")
    with pytest.raises(ValueError, match=r"model\.pt does not have the content .*missing entry 'standardiser'"):
        load_embedder(run)


def test_a_model_pt_without_provenance_still_evaluates(vae_run: Path, tmp_path: Path) -> None:
    """model.pt files written before the dataset identity was recorded hold the same tensors."""
    from dacl.embedding.embedder import load_embedder

    run = copy_run(vae_run, tmp_path / "run")
    bundle = torch.load(vae_run / "model.pt", weights_only=True)
    assert bundle.pop("dataset")["train"]["records"] == 18
    torch.save(bundle, run / "model.pt")
    features = xor_featureset(n_records=30, seed=4).features[:5]
    assert (load_embedder(run).embed(features) == load_embedder(vae_run).embed(features)).all()


# ------------------------------------------------------------- one writer


HOLD_WHILE_TRAINING = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from helpers import xor_featureset
    from dacl.training import train
    from dacl.training.config import load_config

    def hold(stage, epoch, loss):
        print("training", flush=True)
        time.sleep(120)

    config = load_config(sys.argv[3]).replace(train={"method": "vae", "device": "cpu"})
    train(config, xor_featureset(n_records=20, seed=0), sys.argv[1], progress=False, on_epoch_end=hold)
    """
)


@contextmanager
def training_elsewhere(run: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process in the middle of `dacl train --out run` until the block ends."""
    cmd = [sys.executable, "-c", HOLD_WHILE_TRAINING, str(run), str(TESTS), str(TINY)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "training"
            yield proc
        finally:
            proc.kill()


@pytest.mark.slow
def test_one_writer_per_run_directory(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dacl.io.lock import LockedError
    from dacl.training.diffaug import train_diffaug

    run = tmp_path / "run"
    with training_elsewhere(run) as other:
        config_toml = (run / "config.toml").read_bytes()
        for config in (TINY, DIFFAUG_TINY):  # both trainers, fresh or resumed
            for extra in ((), ("--resume",)):
                assert cli_main(train_args(config, dataset, run, *extra)) == 2
                err = one_line_error(capsys, "train")
                assert f"run directory {run} is being written by another process (pid {other.pid} " in err
        with pytest.raises(LockedError, match=f"pid {other.pid}"):
            train_diffaug(xor_featureset(n_records=30), load_config(DIFFAUG_TINY), run, device="cpu", progress=False)
        assert (run / "config.toml").read_bytes() == config_toml
        assert not (run / "model.pt").exists()


def test_the_diffaug_sub_run_has_one_writer(tmp_path: Path) -> None:
    from dacl.io.lock import LockedError
    from dacl.training import train

    hold = (
        "import sys, time\nfrom dacl.io.lock import WriterLock\nWriterLock(sys.argv[1]).acquire()\n"
        "print('held', flush=True)\ntime.sleep(120)\n"
    )
    config = load_config(DIFFAUG_TINY).replace(
        train={"method": "dacl+diffaug", "device": "cpu"},
        vae={"epochs": 1, "latent_dim": 4, "hidden": [8]},
        encoder={"epochs": 1, "channels": [4], "embed_dim": 4, "proj_dim": 4},
    )
    sub = tmp_path / "run" / "diffaug"
    with subprocess.Popen([sys.executable, "-c", hold, str(sub)], stdout=subprocess.PIPE, text=True) as other:
        try:
            assert other.stdout is not None and other.stdout.readline().strip() == "held"
            with pytest.raises(LockedError, match=rf"run directory {sub} is being written .*pid {other.pid}"):
                train(config, xor_featureset(n_records=30), tmp_path / "run", progress=False)
        finally:
            other.kill()


# ------------------------------------------------------- what a resume is on


def test_resume_refuses_a_dataset_split_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds, run = tmp_path / "features", tmp_path / "run"
    write_dataset(xor_featureset(n_records=40, seed=5), ds)
    assert cli_main(["split", str(ds), "--seed", "0"]) == 0
    args = train_args(TINY, ds, run, "--method", "vae")
    assert cli_main(args) == 0
    assert cli_main([*args, "--resume"]) == 0  # the same data: resuming a finished run is fine
    before = {f.name: f.read_bytes() for f in run.iterdir()}
    assert cli_main(["split", str(ds), "--seed", "5"]) == 0  # test records may now have been train records
    capsys.readouterr()
    assert cli_main([*args, "--resume"]) == 2
    err = one_line_error(capsys, "train")
    assert f"cannot resume {run / 'checkpoint.pt'}: it was trained on other data" in err
    assert "split seed 0 -> 5" in err and "train split (" in err
    assert {f.name: f.read_bytes() for f in run.iterdir()} == before


def test_resume_refuses_another_features_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fs = xor_featureset(n_records=30, seed=6)
    write_dataset(fs, tmp_path / "a", params={"J": 8}, inputs={"sha256": "aaaa"})
    write_dataset(fs, tmp_path / "b", params={"J": 6}, inputs={"sha256": "aaaa"})  # same records, other scattering
    run = tmp_path / "run"
    assert cli_main(train_args(TINY, tmp_path / "a", run, "--method", "vae")) == 0
    assert cli_main(train_args(TINY, tmp_path / "b", run, "--method", "vae", "--resume")) == 2
    err = one_line_error(capsys, "train")
    assert "dataset content (manifest parameters and inputs)" in err and "split seed" not in err


def test_a_refused_resume_does_not_rewrite_config_toml(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert cli_main(train_args(TINY, dataset, run, "--method", "vae")) == 0
    before = (run / "config.toml").read_bytes()
    assert cli_main(train_args(TINY, dataset, run, "--method", "vae", "--resume", "--set", "vae.latent_dim=4")) == 2
    assert "vae.latent_dim: 8 -> 4" in one_line_error(capsys, "train")
    assert (run / "config.toml").read_bytes() == before


def test_diffaug_resume_checks_config_and_dataset(tmp_path: Path) -> None:
    from dacl.training.diffaug import train_diffaug

    fs = xor_featureset(n_records=30, seed=7)
    config = load_config(DIFFAUG_TINY).replace(train={"device": "cpu"})
    run = train_diffaug(fs, config, tmp_path / "run", device="cpu", progress=False)
    before = (run / "config.toml").read_bytes()
    with pytest.raises(FileExistsError, match="--resume"):
        train_diffaug(fs, config, run, device="cpu", progress=False)
    with pytest.raises(ValueError, match=r"config differs .* diffaug\.knn_k: 5 -> 3"):
        train_diffaug(fs, config.replace(diffaug={"knn_k": 3}), run, device="cpu", resume=True, progress=False)
    moved = xor_featureset(n_records=30, seed=7)
    moved.record_split[list(moved.record_split).index("train")] = "val"
    with pytest.raises(ValueError, match=r"trained on other data \(train split \(18 records.* -> \(17 records"):
        train_diffaug(moved, config, run, device="cpu", resume=True, progress=False)
    assert (run / "config.toml").read_bytes() == before
    train_diffaug(fs, config, run, device="cpu", resume=True, progress=False)  # the same data: fine
    history = json.loads((run / "history.json").read_text())
    assert history["dataset"]["train"]["records"] == 18 and len(history["epochs"]) == 7


def test_checkpoints_without_a_dataset_identity_are_not_resumed(
    vae_run: Path, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(vae_run, tmp_path / "run")
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    del state["dataset"]
    torch.save(state, run / "checkpoint.pt")
    assert cli_main(train_args(TINY, dataset, run, "--method", "vae", "--resume")) == 2
    err = one_line_error(capsys, "train")
    assert "does not record which dataset it was trained on" in err and "older dacl" in err


def test_everything_a_run_writes_loads_weights_only(tmp_path: Path) -> None:
    """Checkpoints and models of both trainers hold tensors and plain containers only."""
    from dacl.training import train

    fs = xor_featureset(n_records=30, seed=8)
    dacl_cfg: Config = load_config(TINY).replace(train={"device": "cpu"}, vae={"epochs": 1}, encoder={"epochs": 1})
    diffaug_cfg = load_config(DIFFAUG_TINY).replace(train={"device": "cpu"})
    for cfg, name in ((dacl_cfg, "dacl"), (diffaug_cfg, "diffaug")):
        run = train(cfg, fs, tmp_path / name, progress=False)
        for f in ("model.pt", "checkpoint.pt"):
            state = torch.load(run / f, weights_only=True)
            assert state["dataset"]["train"]["windows"] == int(fs.window_mask("train").sum()), (name, f)


def test_a_bad_number_on_the_command_line_is_a_one_line_error(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(train_args(TINY, dataset, tmp_path / "run", "--set", "vae.latent_dim=-3")) == 2
    assert "vae.latent_dim must be >= 1, got -3" in one_line_error(capsys, "train")
    assert not (tmp_path / "run").exists()
