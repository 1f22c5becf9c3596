"""Train, ship and measure the texture models that the package ships (data/checkpoints/<texture>/).

    python experiments/shipped_models.py --train [--jobs 2]   # runs/shipped/<texture>/<method>.pt, today's defaults
    python experiments/shipped_models.py --ship               # data/checkpoints/<texture>/<method>.safetensors + .json
    python experiments/shipped_models.py                      # experiments/results/shipped/ (what the cards show)

Training is the default command, once per shipped texture, every method, a fixed step count:
``inpaint train-texture data/<texture>.png --method all --train-steps 4000 --seed 0`` (prior init where it fits:
the RGB textures' diffusion models; grey textures and the other methods start from scratch).  ``--jobs 2`` runs
two textures at once with one torch thread each.  ``--ship`` stores each final checkpoint without its Adam
moments.  The measurement fills the held-out quarter of each texture (16 crops of 64x64, the fixed holes of
``masks/thick-64`` and ``masks/box-64``) with every shipped model, diffusion with ``fill``'s default sampler and
RePaint with ``compare``'s quick walk, beside PatchMatch and Telea, one fill per crop.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from os.path import relpath
from pathlib import Path

import studylib as S
from inpaint.checkpoint import load_checkpoint, save_checkpoint
from inpaint.cli.progress import bars
from inpaint.compare import CompareConfig, run_compare
from inpaint.evaluate import overall
from inpaint.fill import DEFAULT_SAMPLER
from inpaint.shipped import TEXTURES
from inpaint.unet import LEARNED_METHODS

NAME = "shipped"
STEPS = 4000
RUNS = S.ROOT / "runs" / "shipped"
SHIPPED = S.ROOT / "data" / "checkpoints"
FAMILIES = ("thick", "box")
METHODS = (*LEARNED_METHODS, "patchmatch", "telea")


def train_command(texture: str) -> list[str]:
    """The default command that trains ``texture``'s models (what the cards quote)."""
    return ["inpaint", "train-texture", f"data/{texture}.png", "--method", "all", "--train-steps", str(STEPS),
            "--seed", "0", "--out", relpath(RUNS / texture)]


def train_one(texture: str, threads: int | None) -> str:
    command = [*train_command(texture), "--quiet"] + (["--threads", str(threads)] if threads else [])
    command[0] = str(Path(sys.executable).with_name("inpaint"))
    RUNS.mkdir(parents=True, exist_ok=True)
    with open(RUNS / f"{texture}.log", "w") as log:
        code = subprocess.call(command, cwd=S.ROOT, stdout=log, stderr=subprocess.STDOUT)
    return f"{texture}: exit {code}"


def ship() -> None:
    """Copy every finished run into the package, without the optimizer state."""
    for texture in TEXTURES:
        for method in LEARNED_METHODS:
            run = RUNS / texture / f"{method}.pt"
            ckpt = load_checkpoint(run)
            if ckpt.step < ckpt.config.steps:
                raise SystemExit(f"{run} stopped at step {ckpt.step} of {ckpt.config.steps}")
            save_checkpoint(replace(ckpt, optimizer=None), SHIPPED / texture / f"{method}.safetensors")
            S.log(f"shipped {texture}/{method} ({ckpt.step} steps, {ckpt.timing.get('seconds', 0) / 60:.1f} min)")


def measure(crops: int) -> None:
    textures = [relpath(S.ROOT / "data" / f"{t}.png") for t in TEXTURES]
    rows = []
    for family in FAMILIES:
        config = CompareConfig(methods=METHODS, masks=relpath(S.ROOT / "masks" / f"{family}-64"), crops=crops,
                               samples=1, checkpoints=relpath(SHIPPED), diffusion=DEFAULT_SAMPLER)
        summary = run_compare(textures, config, out=S.RESULTS / NAME / family, argv=sys.argv, bars=bars)
        rows += [{**r, "family": family} for r in summary + overall(summary)]
    columns = ["family", "texture", "method", "psnr", "ssim", "lpips", "sharpness", "seconds_per_fill"]
    intro = (f"The shipped models of today's defaults ({STEPS} steps each) on the held-out quarter of "
             f"{', '.join(TEXTURES)} (up to {crops} 64x64 crops each), with the fixed hole sets "
             f"{', '.join(f'masks/{f}-64' for f in FAMILIES)}; diffusion with fill's default sampler "
             f"({DEFAULT_SAMPLER.sampler}, {DEFAULT_SAMPLER.steps} steps, {DEFAULT_SAMPLER.start} start at "
             f"{DEFAULT_SAMPLER.strength:g}); RePaint with compare's quick walk; one fill per crop; seed 0. Rows "
             "'all' are means over the textures. Seconds per fill were taken on the shared 2-core machine.")
    rows = [r for r in rows if r["texture"] == "all"] + [r for r in rows if r["texture"] != "all"]
    S.write_study(NAME, rows, columns, intro=intro, args={"crops": crops})
    print((S.RESULTS / NAME / "results.md").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="train every shipped texture's models")
    parser.add_argument("--jobs", type=int, default=1, help="textures trained at once (one torch thread each)")
    parser.add_argument("--ship", action="store_true", help="store the finished runs in data/checkpoints/")
    parser.add_argument("--crops", type=int, default=16, help="held-out crops per texture and hole set")
    args = parser.parse_args()
    if args.train:
        threads = 1 if args.jobs > 1 else None
        with ThreadPoolExecutor(args.jobs) as pool:
            for line in pool.map(lambda t: train_one(t, threads), TEXTURES):
                S.log(line)
    elif args.ship:
        ship()
    else:
        measure(args.crops)


if __name__ == "__main__":
    sys.exit(main())
