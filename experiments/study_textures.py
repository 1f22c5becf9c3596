"""Regression against diffusion on every shipped texture and several hole families, classical baselines for scale.

    python experiments/study_textures.py [--families thick,box,freeform] [--crops 16]

Runs ``inpaint compare`` with the reference-recipe checkpoints (experiments/checkpoints/reference-recipe/) on
the five textures of data/, once per fixed 64x64 mask set, and writes each
run's full report to experiments/results/textures/<family>/ (results.csv,
summary.md, grid.png, plane.png, run.json), then one table of the means over
textures and one figure with the perception-distortion plane of every family
to experiments/results/textures/.
"""

from __future__ import annotations

import os
import sys
from os.path import relpath

from matplotlib.figure import Figure

import studylib as S
from inpaint.cli.compare import CACHE_ENV
from inpaint.cli.progress import bars
from inpaint.compare import CompareConfig, merge_compare, run_compare
from inpaint.evaluate import overall
from inpaint.fill import SamplerConfig
from inpaint.report import draw_plane
from inpaint.unet import LEARNED_METHODS

NAME = "textures"
TEXTURES = ("brick", "grass", "gravel", "cork", "canvas")
DIFFUSION = SamplerConfig("ddpm", steps=250)
REPAINT = CompareConfig.repaint


def main() -> None:
    parser = S.arguments(__doc__)
    parser.add_argument("--families", default="thick,box,freeform", help="fixed mask sets masks/<family>-64")
    parser.add_argument("--samples", type=int, default=1, help="fills per crop of the diffusion models")
    args = parser.parse_args()
    families = args.families.split(",")
    folder = S.RESULTS / NAME
    textures = [relpath(S.ROOT / "data" / f"{t}.png") for t in TEXTURES]
    rows, planes = [], {}
    for family in families:
        config = CompareConfig(masks=relpath(S.ROOT / "masks" / f"{family}-64"), crops=args.crops,
                               samples=args.samples, checkpoints=relpath(S.REFERENCE_CHECKPOINTS),
                               diffusion=DIFFUSION, cache=os.environ.get(CACHE_ENV))  # as `inpaint compare` reads it
        if args.merge:  # every shard ran its block of each family's (texture, method) pairs
            summary = merge_compare(folder / family, argv=sys.argv)
        else:
            summary = run_compare(textures, config, out=folder / family, argv=sys.argv, shard=args.shard, bars=bars)
        if not args.shard.whole and not args.merge:
            continue
        means = overall(summary)
        planes[family] = means
        rows += [{**r, "family": family} for r in summary + means]
    if not rows:
        return S.log(f"shard {args.shard} written to {folder}/<family>/parts; merge with --merge")
    columns = ["family", "texture", "method", "psnr", "ssim", "lpips", "sharpness", "seconds_per_fill"]
    intro = (f"Every method on the held-out strip of {', '.join(TEXTURES)} (up to {args.crops} 64x64 crops each) "
             f"with the fixed hole sets {', '.join(f'masks/{f}-64' for f in families)}; the reference-recipe checkpoints of experiments/checkpoints/reference-recipe; "
             f"diffusion: DDPM over {DIFFUSION.steps} strided steps; RePaint: {REPAINT.steps} strided steps, jump "
             f"length {REPAINT.jump_length}, {REPAINT.jump_n_sample} resamplings; {args.samples} fill(s) per crop; seed 0. Rows 'all' are means over the textures "
             "(standard errors combined). Per-crop rows: results.csv in each family's folder.")
    out = S.write_study(NAME, [r for r in rows if r["texture"] == "all"] + [r for r in rows if r["texture"] != "all"],
                        columns, intro=intro, args=vars(args))
    plot_planes(planes, out / "planes.png")
    print((out / "results.md").read_text())


def plot_planes(planes: dict[str, list[dict]], path) -> None:
    """PSNR against LPIPS, means over textures, one panel per hole family."""
    fig = Figure(figsize=(5.6 * len(planes), 4.6), dpi=120)
    axes = fig.subplots(1, len(planes), squeeze=False)
    for ax, (family, means) in zip(axes[0], planes.items()):
        draw_plane(ax, means, learned=LEARNED_METHODS, title=f"{family} holes, mean over the textures")
    fig.tight_layout()
    fig.savefig(path)


if __name__ == "__main__":
    sys.exit(main())
