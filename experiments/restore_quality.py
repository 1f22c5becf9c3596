"""Quality of `inpaint restore` at its default training budget, for two noise schedules.

    python experiments/restore_quality.py [--train-steps 2000]

Punches scattered elliptical holes (at least 5 % of the area, 16 to 32 px
across, the holes of restore_benchmark.py) into data/cork.png, restores it as `inpaint
restore` does (a diffusion model trained on the damaged image alone with the
default recipe, then the default sampler over 250 steps), once with the
default diffusion (eps, cosine, T = 400) and once with the reference's
schedule (linear, T = 1000), and once fine-tuning the shipped texture prior
(`restore --init prior`; `restore` starts from scratch by default), and
scores the holes against the original: PSNR and the Laplacian energy of the
hole over the original's (1 = as sharp as the original). Writes
experiments/results/restore_quality/.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from inpaint.io import read_image
from inpaint.masks import scattered_ellipses_mask
from inpaint.metrics import psnr, sharpness_ratio
from inpaint.prior import init_for
from inpaint.report import markdown_table, save_grid
from inpaint.fill import DEFAULT_SAMPLER
from inpaint.fill import SamplerConfig
from inpaint.restore import restore, restore_config

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "experiments" / "results" / "restore_quality"
RECIPES = {  # label: (change to the diffusion config, weights training starts from)
    "cosine, T = 400 (default)": ({}, "scratch"),
    "cosine, T = 400, --init prior": ({}, "prior"),
    "linear, T = 1000": ({"schedule": "linear", "timesteps": 1000}, "scratch"),
}
VIEWS = [(0, 0), (192, 320), (384, 128)]  # top-left corners of the 128x128 views in grid.png


SAMPLE_STEPS = 250
"""Steps of the study's fills (the committed results; the library's default is 25, experiments/README.md section 7)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-steps", type=int, default=restore_config(3).steps)
    parser.add_argument("--seed", type=int, default=0, help="seed of training and of sampling")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    out_dir = Path(args.out)
    truth, _ = read_image(ROOT / "data" / "cork.png")
    known = scattered_ellipses_mask(truth.shape[-1], seed=0)
    rows, fills = [], {}
    for label, (change, init) in RECIPES.items():
        base = replace(restore_config(truth.shape[1], steps=args.train_steps), seed=args.seed)
        config = replace(base, diffusion=replace(base.diffusion, **change))
        t0 = time.perf_counter()
        out, _ = restore(truth, known, config, sampler=SamplerConfig(steps=SAMPLE_STEPS),
                         generator=torch.Generator().manual_seed(args.seed),
                         init=init_for(init, config))
        fills[label] = out[0]
        rows.append({"recipe": label, "PSNR on the holes (dB) ↑": psnr(out[0], truth, known).item(),
                     "sharpness (1 = original)": sharpness_ratio(out[0], truth, known).item(),
                     "minutes (train + fill)": (time.perf_counter() - t0) / 60})
        print(rows[-1], flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    hole = 1 - known.float().mean().item()
    table = markdown_table(rows, list(rows[0]), dict(zip(list(rows[0])[1:], (".2f", ".2f", ".1f"))))
    (out_dir / "results.md").write_text(
        f"data/cork.png ({truth.shape[-1]}x{truth.shape[-1]}) with {hole:.1%} of it in scattered holes; "
        f"`restore` with {args.train_steps} training steps (batch 16, crop 64, eps prediction; the default recipe) and the default sampler ({DEFAULT_SAMPLER.sampler}, {DEFAULT_SAMPLER.grid} grid) over "
        f"{SAMPLE_STEPS} steps, seed {args.seed}. Sharpness: Laplacian energy of the holes over the original's. "
        "The prior's pre-training corpus includes data/cork.png whole, so the --init prior row has seen the holes. "
        f"Minutes on {torch.get_num_threads()} CPU threads, wall time whatever else runs.\n\n{table}\n\n"
        f"Command: `python experiments/restore_quality.py --train-steps {args.train_steps} --seed {args.seed}`.\n")
    def views(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[..., r:r + 128, c:c + 128] for r, c in VIEWS])

    columns = {"damaged": views(truth), **{k: views(v) for k, v in fills.items()}, "original": views(truth)}
    save_grid(columns, views(known), out_dir / "grid.png", title=f"restore after {args.train_steps} training steps")
    print(table)


if __name__ == "__main__":
    sys.exit(main())
