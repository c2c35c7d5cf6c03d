"""One experiment file for preprocess, train and evaluate: --config, the flags, then --set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dacl.cli import main as cli_main
from dacl.cli import preprocess as preprocess_command
from dacl.cli import train as train_command
from dacl.cli.experiment import load_experiment
from dacl.cli.runner import command_parser
from dacl.cli.train import config_of
from dacl.settings import given_options

EXPERIMENT = """
[preprocess]
window = 2048
hop = 1024
split = [0.6, 0.2, 0.2]
no_such_key_here = 1

[train]
method = "vae"

[vae]
epochs = 7

[evaluate]
n_boot = 300
robustness = true
"""


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    path = tmp_path / "experiment.toml"
    path.write_text(EXPERIMENT.replace("no_such_key_here = 1\n", ""))
    return path


def test_every_command_reads_its_sections_of_one_file(experiment: Path) -> None:
    exp = load_experiment(experiment)
    config, options = exp.preprocess()
    assert (config.window, config.hop, options.split) == (2048, 1024, (0.6, 0.2, 0.2))
    training = exp.training()
    assert training.train.method == "vae" and training.vae.epochs == 7
    assert (exp.evaluate().n_boot, exp.evaluate().robustness) == (300, True)


def test_flags_override_the_file_and_set_overrides_both(experiment: Path) -> None:
    parse = command_parser("train", train_command).parse_args
    args = parse(["--config", str(experiment), "--method", "dae", "--epochs", "3"])
    config = config_of(args)
    assert config.train.method == "dae" and config.vae.epochs == 3 and config.dae.epochs == 3
    args = parse(
        ["--config", str(experiment), "--method", "dae", "--set", "train.method=dacl", "--set", "vae.epochs=9"]
    )
    config = config_of(args)
    assert config.train.method == "dacl" and config.vae.epochs == 9
    pre = command_parser("preprocess", preprocess_command).parse_args
    args = pre(
        [
            "--sample",
            "--out",
            "x",
            "--config",
            str(experiment),
            "--window",
            "1024",
            "--hop",
            "512",
            "--set",
            "preprocess.hop=256",
        ]
    )
    config, _ = load_experiment(
        args.config, args.overrides, {"preprocess": given_options(args, "preprocess")}
    ).preprocess()
    assert (config.window, config.hop) == (1024, 256)


@pytest.mark.parametrize(
    "command",
    [
        ["preprocess", "--sample", "--out", "{tmp}/ds"],
        ["train", "--features", "{tmp}/ds", "--out", "{tmp}/run"],
        ["evaluate", "--features", "{tmp}/ds", "--baseline-scattering", "--out", "{tmp}/report"],
    ],
)
def test_a_typo_anywhere_in_the_file_is_refused_by_every_command(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typo.toml"
    path.write_text(EXPERIMENT)
    argv = [a.format(tmp=tmp_path) for a in command] + ["--config", str(path)]
    assert cli_main(argv) == 2
    assert re.search(r"unknown key\(s\) in \[preprocess\]: \['no_such_key_here'\]", capsys.readouterr().err)
    assert not list(tmp_path.glob("ds*")) and not (tmp_path / "run").exists()
    path.write_text("[vea]\nepochs = 1\n")
    assert cli_main(argv) == 2
    assert "unknown config section(s): ['vea']" in capsys.readouterr().err
    assert cli_main([*command[:1], *argv[1:-2], "--set", "evaluate.n_boot=0"]) == 2
    assert "evaluate.n_boot must be >= 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--band", "1,30"], {"band": (1.0, 30.0)}),
        (["--band", "none"], {"band": None}),
        (["--no-zscore", "--no-log"], {"zscore": False, "log_scale": False}),
        (["-J", "6", "-Q", "4", "-T", "128", "--max-order", "1"], {"J": 6, "Q": 4, "T": 128, "max_order": 1}),
        (
            ["--fs", "250", "--band-order", "4", "--window", "1000", "--hop", "500", "--tail", "drop"],
            {"fs": 250.0, "band_order": 4, "window": 1000, "hop": 500, "tail": "drop"},
        ),
        (
            ["--min-seconds", "2", "--log-eps", "1e-3", "--chunk-records", "16", "--partial-labels"],
            {"min_seconds": 2.0, "log_eps": 1e-3, "chunk_records": 16, "partial_labels": True},
        ),
        (
            ["--no-split", "--seed", "3", "--overwrite", "--on-error", "fail"],
            {"split": None, "seed": 3, "overwrite": True, "on_error": "fail"},
        ),
        (
            ["--split", "0.5,0.25,0.25", "--read-threads", "2", "--threads", "1", "--max-chunks", "4", "--no-progress"],
            {"split": (0.5, 0.25, 0.25), "read_threads": 2, "num_threads": 1, "max_chunks": 4, "progress": False},
        ),
    ],
)
def test_the_preprocess_flags_keep_their_meaning(argv: list[str], expected: dict) -> None:
    args = command_parser("preprocess", preprocess_command).parse_args(["--sample", "--out", "x", *argv])
    config, options = load_experiment(None, [], {"preprocess": given_options(args, "preprocess")}).preprocess()
    for key, value in expected.items():
        assert getattr(config if hasattr(config, key) else options, key) == value, key


def test_robustness_corruption_families_are_an_evaluate_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--corruptions picks families by name (flag or file); an unknown family stops evaluate before any work."""
    from dacl.cli import evaluate as evaluate_command

    parse = command_parser("evaluate", evaluate_command).parse_args
    args = parse(["--features", "ds", "--corruptions", "powerline,emg"])
    assert (
        load_experiment(None, [], {"evaluate": given_options(args, "evaluate")}).evaluate().corruptions
        == "powerline,emg"
    )
    assert load_experiment(None, ["evaluate.corruptions=all"]).evaluate().corruptions == "all"
    assert load_experiment(None).evaluate().corruptions == "awgn,wander"
    argv = [
        "evaluate",
        "--features",
        str(tmp_path / "missing"),
        "--baseline-scattering",
        "--robustness",
        "--corruptions",
        "awgn,hum",
        "--out",
        str(tmp_path / "report"),
    ]
    assert cli_main(argv) == 2
    assert "unknown corruption family 'hum'" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()
