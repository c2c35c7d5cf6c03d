"""Picture of original vs DiffAug-generated views for a trained DiffAug run.

Picks N held-out windows (test split, else val; seeded), draws K views of each
from the run's EMA generator conditioned on the encoder's code, and plots them
with :func:`dacl.report.plots.plot_generated_views`, in the run's scaled input space.
Prints the mean distance of a view to its own original and to the other originals.

    .venv/bin/python experiments/diffaug-views/plot_views.py RUN_DIR --features DIR --out PNG [--n 4 --k 8 --seed 0]

RUN_DIR is a ``--method diffaug`` run or the ``diffaug/`` sub-run of a
``--method dacl+diffaug`` run (then the views live in DACL's VAE latent space).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from dacl.corpus.cinc2017 import CLASSES
from dacl.features import load_features
from dacl.report.generated_views import generate_views, view_distances
from dacl.report.plots import plot_generated_views


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path, help="DiffAug run directory (holds model.pt)")
    p.add_argument("--features", type=Path, required=True, help="dataset directory from `dacl preprocess`")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    p.add_argument("--n", type=int, default=4, help="originals to show (default 4)")
    p.add_argument("--k", type=int, default=8, help="generated views per original (default 8)")
    p.add_argument("--others", type=int, default=2000, help="background windows in the PCA panel (default 2000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--denoiser",
        choices=("ema", "online"),
        default="ema",
        help="sample from the EMA generator (what training used; default) or the online denoiser",
    )
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    fs = load_features(args.features)
    v = generate_views(
        args.run_dir,
        fs,
        n=args.n,
        k=args.k,
        n_others=args.others,
        seed=args.seed,
        device=args.device,
        denoiser=args.denoiser,
    )
    dist = view_distances(v.originals, v.generated) if args.n >= 2 else {}
    names = [f"{r} ({CLASSES[c] if c >= 0 else '?'})" for r, c in zip(v.record_ids, v.labels, strict=True)]
    dim = v.originals.shape[1]
    groups = None
    if "scattering" in v.space and dim % 2 == 0:  # mean_std pooling: [means of paths, stds of paths]
        groups = [(0, "mean over frames"), (dim // 2, "std over frames")]
    title = (
        f"DiffAug views ({args.denoiser} denoiser), {args.run_dir} — {args.n} {v.split}-split windows × {args.k} views"
    )
    if dist:
        title += (
            f"\nmean distance view→own original {dist['view_to_own']:.2f}, view→other originals "
            f"{dist['view_to_other']:.2f} (original→other originals {dist['original_to_other']:.2f})"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot_generated_views(
        v.originals, v.generated, v.others, args.out, labels=names, title=title, xlabel=v.space, dim_groups=groups
    )
    print(
        json.dumps(
            {"out": str(args.out), "split": v.split, "records": v.record_ids, "space": v.space, **dist}, indent=1
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
