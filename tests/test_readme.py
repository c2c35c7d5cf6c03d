"""The README's Python example runs as written and gives what its comments say."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1, "README should hold exactly one python example"
    ns: dict = {"__name__": "readme_example"}
    exec(compile(blocks[0], str(README), "exec"), ns)
    W = len(ns["windows"])
    assert ns["windows"].shape == (W, 3000) and len(ns["record_index"]) == W
    assert ns["Sx"].shape == (W, 234, 11) and ns["Sx"].dtype == np.float64
    assert sorted(set(ns["order"].tolist())) == [0, 1, 2]
    assert ns["z_t"].shape == ns["eps"].shape == (16, 4, 32)
    assert ns["x_t"].shape == ns["noise"].shape == (16, 32)
    assert ns["fs"].features.shape[1:] == (1, 234, ns["fs"].features.shape[3]) and ns["fs"].leads == ("I",)
    assert len(ns["fs"].record_ids) == 40


def test_readme_experiment_file_is_read_by_every_command(tmp_path):
    """The README's example experiment file holds sections of every command, and they load."""
    from dacl.cli.experiment import load_experiment

    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1, "README should hold exactly one TOML example"
    path = tmp_path / "experiment.toml"
    path.write_text(blocks[0])
    experiment = load_experiment(path)
    assert set(experiment.tables) == {"preprocess", "train", "encoder", "evaluate"}
    assert experiment.preprocess()[1].split == (0.7, 0.1, 0.2)
    assert experiment.training().encoder.epochs == 20
    assert experiment.evaluate().robustness
