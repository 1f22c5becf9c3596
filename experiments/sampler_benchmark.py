"""Seconds per 128x128 fill and LPIPS for each sampler and number of steps.

    python experiments/sampler_benchmark.py [--texture data/cork.png] [--steps 1000,250,100,50,25]

Uses the shipped checkpoints of the texture (the conditional diffusion model for
DDPM and DDIM, the unconditional one for RePaint), the held-out strip cut into
128x128 crops, and holes from the fixed set masks/thick-128.  Writes
experiments/results/sampler_benchmark.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from inpaint.checkpoint import load_checkpoint
from inpaint.fill import SamplerConfig, fill
from inpaint.io import read_image
from inpaint.mask_sets import load_mask_set
from inpaint.metrics import hole_metrics
from inpaint.patches import grid_crops, held_out_box
from inpaint.report import markdown_table

RESULTS = Path(__file__).parent / "results"
# RePaint's paper setting (10 jumps of 10 resamplings) costs ten network calls per step;
# three resamplings keep the benchmark under a quarter of an hour on two cores.
REPAINT = dict(jump_length=10, jump_n_sample=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texture", default="data/cork.png")
    parser.add_argument("--steps", default="1000,250,100,50,25")
    parser.add_argument("--masks", default="masks/thick-128")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    image, _ = read_image(args.texture)
    folder = Path("data/checkpoints") / Path(args.texture).stem
    models = {"ddpm": "diffusion", "ddim": "diffusion", "repaint": "repaint"}
    truth = grid_crops(image, held_out_box(*image.shape[-2:]), 128, 4)
    known = load_mask_set(args.masks)[0][: len(truth)]
    x = truth * known
    rows = []
    for sampler, method in models.items():
        ckpt = load_checkpoint(folder / f"{method}.pt")
        net = ckpt.network()
        for steps in [int(s) for s in args.steps.split(",")]:
            config = SamplerConfig(sampler, steps, **(REPAINT if sampler == "repaint" else {}))
            t0 = time.perf_counter()
            out = fill(net, ckpt.config, x, known, sampler=config, generator=torch.Generator().manual_seed(args.seed))[0]
            seconds = (time.perf_counter() - t0) / len(truth)
            m = hole_metrics(out, truth, known)
            row = {"sampler": sampler, "steps": steps, "seconds_per_fill": seconds, "lpips": m["lpips"].mean().item(),
                   "psnr": m["psnr"].mean().item(), "sharpness": m["sharpness"].mean().item()}
            rows.append(row)
            print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    columns = ["sampler", "steps", "seconds_per_fill", "lpips", "psnr", "sharpness"]
    formats = {"seconds_per_fill": ".2f", "lpips": ".3f", "psnr": ".2f", "sharpness": ".2f"}
    header = (f"{len(truth)} held-out 128x128 crops of {args.texture}, holes from {args.masks}, "
              f"checkpoints in {folder}, RePaint with {REPAINT}, torch threads {torch.get_num_threads()}, "
              f"{platform.processor() or platform.machine()}\n\n")
    (RESULTS / "sampler_benchmark.md").write_text(header + markdown_table(rows, columns, formats) + "\n")
    (RESULTS / "sampler_benchmark.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
