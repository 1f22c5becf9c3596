"""Seconds per 128x128 fill and LPIPS for each sampler and number of steps.

    python experiments/sampler_benchmark.py [--texture data/cork.png] [--steps 1000,250,100,50,25]

Uses the texture's models of the reference recipe, the ones it measured (experiments/checkpoints/reference-recipe/:
the conditional diffusion model for DDPM and DDIM, the unconditional one for RePaint), the held-out strip cut into
128x128 crops, and holes from the fixed set masks/thick-128.  Writes
experiments/results/sampler_benchmark.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from inpaint.checkpoint import load_checkpoint
from inpaint.evaluate import learned_filler, load_eval_set, score_filler, summarize
from inpaint.fill import SamplerConfig
from inpaint.io import read_image
from inpaint.perceptual import load_lpips
from inpaint.report import markdown_table, with_se

RESULTS = Path(__file__).parent / "results"
# RePaint's paper setting (10 jumps of 10 resamplings) costs ten network calls per step;
# three resamplings keep the benchmark under a quarter of an hour on two cores.
REPAINT = dict(jump_length=10, jump_n_sample=3)
CROPS = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texture", default="data/cork.png")
    parser.add_argument("--steps", default="1000,250,100,50,25")
    parser.add_argument("--masks", default="masks/thick-128")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    image, _ = read_image(args.texture)
    folder = Path("experiments/checkpoints/reference-recipe") / Path(args.texture).stem  # the models it measured
    models = {"ddpm": "diffusion", "ddim": "diffusion", "repaint": "repaint"}
    data, ids, _ = load_eval_set(image, args.masks, crops=CROPS)
    net = load_lpips("cpu")
    rows = []
    for sampler, method in models.items():
        ckpt = load_checkpoint(folder / f"{method}.safetensors")
        for steps in [int(s) for s in args.steps.split(",")]:
            config = SamplerConfig(sampler, steps, **(REPAINT if sampler == "repaint" else {}))
            filler = learned_filler(ckpt, config, 1, args.seed, "cpu")  # one batch: the noise of one generator
            scores, _ = score_filler(args.texture, sampler, filler, data, ids, net=net, batch=CROPS)
            (summary,) = summarize(scores)
            row = {"sampler": sampler, "steps": steps,
                   **{k: summary[k] for key in ("seconds_per_fill", "lpips", "psnr", "sharpness")
                      for k in (key, key + "_se")}}
            rows.append(row)
            print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    columns = ["sampler", "steps", "seconds_per_fill", "lpips", "psnr", "sharpness"]
    header = (f"{len(data.truth)} held-out 128x128 crops of {args.texture}, holes from {args.masks}, "
              f"checkpoints in {folder}, RePaint with {REPAINT}, torch threads {torch.get_num_threads()}, "
              f"{platform.processor() or platform.machine()}; mean ± standard error over crops\n\n")
    table = markdown_table(with_se(rows, columns[2:]), columns, {"seconds_per_fill": ".2f"})
    (RESULTS / "sampler_benchmark.md").write_text(header + table + "\n")
    (RESULTS / "sampler_benchmark.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
