"""Sampling steps against quality, from 1000 down to 10, for the best model (conditional, eps) and its samplers.

    python experiments/study_steps.py [--steps 1000,500,250,100,50,25,10]

Fills the held-out thick holes of cork with the reference-recipe conditional model,
with ancestral DDPM and with deterministic DDIM (eta = 0) over each number of
evenly strided steps, and reports quality and seconds per 64x64 fill on this
machine. Writes experiments/results/steps/.
"""

from __future__ import annotations

import sys

import studylib as S
from inpaint.checkpoint import load_checkpoint
from inpaint.fill import SamplerConfig

NAME = "steps"
CHECKPOINT = S.REFERENCE_CHECKPOINTS / "cork" / "diffusion.safetensors"
SAMPLERS = ("ddpm", "ddim")


def main() -> None:
    parser = S.arguments(__doc__)
    parser.add_argument("--steps", default="1000,500,250,100,50,25,10")
    args = parser.parse_args()
    counts = [int(s) for s in args.steps.split(",")]
    scorer = S.Scorer(crops=args.crops)
    ckpt = load_checkpoint(CHECKPOINT)
    rows, units = [], [(sampler, steps) for sampler in SAMPLERS for steps in counts]
    for sampler, steps in S.share(args, units):
        row = scorer.score(f"{sampler} {steps}", ckpt, SamplerConfig(sampler, steps))
        rows.append({"sampler": sampler, "steps": steps, **row})
        S.log(f"{sampler} {steps}: LPIPS {row['lpips']:.3f} sharpness {row['sharpness']:.2f} "
              f"{row['seconds_per_fill']:.3f} s/fill")
    rows = S.gather(args, NAME, rows, scorer, S.share(args, units))
    intro = (f"Shipped conditional model {CHECKPOINT.relative_to(S.ROOT)} (20 000 steps, eps prediction, "
             f"linear schedule, T = 1000). {scorer.describe()}; all crops in one batch. DDIM with eta = 0.")
    out = S.write_study(NAME, rows, ["sampler", "steps", "lpips", "sharpness", "psnr", "ssim", "seconds_per_fill"],
                        intro=intro, args=vars(args))
    panels = {key: {s: [(r["steps"], r[key], r[key + "_se"]) for r in rows if r["sampler"] == s] for s in SAMPLERS}
              for key in ("lpips", "sharpness", "psnr")}
    S.plot_panels(panels, out / "metrics.png", xlabel="sampling steps", logx=True, xticks=sorted(counts),
                  title=f"sampling steps, {CHECKPOINT.parent.name} conditional model")
    picks = [f"ddpm {n}" for n in (counts[0], counts[len(counts) // 2], counts[-1])] + [f"ddim {counts[0]}"]
    scorer.grid(out / "grid.png", picks, title="DDPM at three step counts and DDIM")
    print((out / "results.md").read_text())


if __name__ == "__main__":
    sys.exit(main())
