"""``dacl preprocess``: a WFDB corpus (folder or zip) -> a features dataset (scattering shards, a split)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dacl.cli.experiment import add_config_arguments, load_experiment
from dacl.corpus import sample_path
from dacl.features.build import BuildOptions, build
from dacl.features.executors import open_executor
from dacl.features.featurizer import PreprocessConfig
from dacl.features.store import read_manifest, read_split, staging_path
from dacl.settings import add_options, given_options

HELP = "WFDB corpus (folder or zip) -> scattering feature shards"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", nargs="?", help="corpus .zip or folder (its layout detected, or --layout)")
    parser.add_argument("--sample", action="store_true", help="use the 40-record sample shipped with dacl as SOURCE")
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to write (resumed if unfinished)")
    add_config_arguments(parser, example="preprocess.window=2048")
    add_options(parser, [("preprocess", PreprocessConfig), ("preprocess", BuildOptions)])


def run(args: argparse.Namespace) -> int:
    if args.sample == (args.source is not None):
        raise ValueError("give exactly one of SOURCE or --sample")
    source: Any = args.source
    if args.sample:
        source = sample_path()
    config, options = load_experiment(
        args.config, args.overrides, {"preprocess": given_options(args, "preprocess")}
    ).preprocess()
    with open_executor(options) as (executor, options):
        out = build(source, args.out, config, options, executor=executor)
    staged = staging_path(out)
    building = options.overwrite and staged.is_dir()
    manifest = read_manifest(staged if building else out)
    if manifest["status"] != "complete":
        where = (
            f" (the replacement is built in {staged}; {out} stays as it is until it is complete)" if building else ""
        )
        print(
            f"wrote {sum(r['shards_written'] for r in manifest['runs'])} shards so far{where}; rerun to continue",
            file=sys.stderr,
        )
        return 0
    errors = manifest["errors"]
    print(
        f"{out}: {manifest['n_records_ok']} records, {manifest['n_windows']} windows of "
        f"{len(manifest['leads'])} lead(s) ({','.join(manifest['leads'])}), {len(errors)} bad records skipped"
    )
    print(f"  layout {manifest['layout']}, task {manifest['task']}, {len(manifest['vocabulary'])} label codes")
    for name, problem in errors.items():
        print(f"  skipped {name}: {problem}")
    split = read_split(out)
    if split is not None:
        print("  split: " + ", ".join(f"{s} {n}" for s, n in split["sizes"].items()))
    return 0
