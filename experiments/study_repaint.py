"""RePaint's resampling (jump_n_sample x jump_length) against the mask-concatenation model: quality and time.

    python experiments/study_repaint.py [--steps 50] [--jumps 1,2,3,5,10] [--lengths 1,2,5,10]

Uses the reference-recipe cork checkpoints: the unconditional model for RePaint over
``--steps`` strided steps with every jump_n_sample x jump_length pair, plus the
paper's 250 steps with 10 x 10; and the conditional model with DDPM at the
same numbers of network calls as RePaint's rows (steps x jump_n_sample,
about). Writes experiments/results/repaint/.
"""

from __future__ import annotations

import sys

from matplotlib.figure import Figure
import numpy as np

import studylib as S
from inpaint.checkpoint import load_checkpoint
from inpaint.fill import SamplerConfig
from inpaint.sampling import sampling_plan


def repaint_cost(steps: int, jump_length: int, jump_n_sample: int) -> int:
    """Network calls of one RePaint fill over ``steps`` strided timesteps."""
    return sampling_plan("repaint", range(steps - 1, -1, -1), jump_length=jump_length, jump_n_sample=jump_n_sample).calls

NAME = "repaint"
CHECKPOINTS = S.REFERENCE_CHECKPOINTS / "cork"


def main() -> None:
    parser = S.arguments(__doc__)
    parser.add_argument("--steps", type=int, default=50, help="strided RePaint steps")
    parser.add_argument("--jumps", default="1,2,3,5,10", help="jump_n_sample values")
    parser.add_argument("--lengths", default="1,2,5,10", help="jump_length values")
    args = parser.parse_args()
    jumps, lengths = [int(v) for v in args.jumps.split(",")], [int(v) for v in args.lengths.split(",")]
    scorer = S.Scorer(crops=args.crops)
    unconditional, conditional = (load_checkpoint(CHECKPOINTS / f"{m}.safetensors") for m in ("repaint", "diffusion"))
    rows = []

    def add(label: str, ckpt, sampler: SamplerConfig, **fields) -> None:
        row = scorer.score(label, ckpt, sampler)
        rows.append({**fields, **row})
        S.log(f"{label}: LPIPS {row['lpips']:.3f} PSNR {row['psnr']:.2f} {row['seconds_per_fill']:.2f} s/fill")

    settings = [(args.steps, n, j) for n in jumps for j in lengths if n == 1 or j < args.steps] + [(250, 10, 10)]
    units = [(f"repaint {steps}/{j}/{n}", unconditional, SamplerConfig("repaint", steps, jump_length=j, jump_n_sample=n),
              dict(model="repaint", steps=steps, jump_length=j, jump_n_sample=n, calls=repaint_cost(steps, j, n)))
             for steps, n, j in settings]
    repaint_calls = {fields["calls"] for *_, fields in units if fields["jump_length"] == lengths[-1]}
    units += [(f"conditional ddpm {calls}", conditional, SamplerConfig("ddpm", min(calls, 1000)),
               dict(model="conditional", steps=min(calls, 1000), calls=min(calls, 1000)))
              for calls in sorted(repaint_calls | {args.steps})]
    for label, ckpt, sampler, fields in S.share(args, units):
        add(label, ckpt, sampler, **fields)
    rows = S.gather(args, NAME, rows, scorer, [unit[0] for unit in S.share(args, units)])
    intro = (f"Reference-recipe cork models (unconditional for RePaint, mask-concatenation for conditional DDPM; 20 000 steps, "
             f"eps prediction). {scorer.describe()}. RePaint rows: strided steps / jump_length / jump_n_sample; "
             "calls = network evaluations per fill. Conditional rows use as many DDPM steps as the RePaint "
             "rows' calls (capped at T = 1000).")
    out = S.write_study(NAME, rows, ["model", "steps", "jump_length", "jump_n_sample", "calls", "lpips", "psnr",
                                     "sharpness", "seconds_per_fill"], intro=intro, args=vars(args))
    plot(rows, jumps, lengths, args.steps, out / "repaint.png")
    picks = [f"repaint {args.steps}/{lengths[-1]}/{n}" for n in (jumps[0], jumps[-1])]
    scorer.grid(out / "grid.png", picks + [f"conditional ddpm {args.steps}", "repaint 250/10/10"],
                title="RePaint without and with resampling, and the conditional model")
    print((out / "results.md").read_text())


def plot(rows: list[dict], jumps: list[int], lengths: list[int], steps: int, path) -> None:
    """LPIPS over the jump_n_sample x jump_length grid, and LPIPS against seconds per fill for both models."""
    fig = Figure(figsize=(10, 4), dpi=120)
    heat, cost = fig.subplots(1, 2)
    grid = np.full((len(jumps), len(lengths)), np.nan)
    for r in rows:
        if r["model"] == "repaint" and r["steps"] == steps:
            grid[jumps.index(r["jump_n_sample"]), lengths.index(r["jump_length"])] = r["lpips"]
    im = heat.imshow(grid, cmap="viridis_r", origin="lower")
    for (i, j), v in np.ndenumerate(grid):
        if not np.isnan(v):
            heat.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=8, color="white")
    heat.set_xticks(range(len(lengths)), lengths)
    heat.set_yticks(range(len(jumps)), jumps)
    heat.set_xlabel("jump_length")
    heat.set_ylabel("jump_n_sample")
    heat.set_title(f"RePaint LPIPS, {steps} strided steps", fontsize=9)
    fig.colorbar(im, ax=heat)
    for model, marker in (("repaint", "o"), ("conditional", "s")):
        pts = sorted((r["seconds_per_fill"], r["lpips"], r["lpips_se"]) for r in rows if r["model"] == model)
        xs, ys, es = zip(*pts)
        cost.errorbar(xs, ys, yerr=es, fmt=marker, ms=4, capsize=2, label=model, linestyle="none")
    cost.set_xscale("log")
    cost.set_xlabel("seconds per 64x64 fill (2-core CPU)")
    cost.set_ylabel("LPIPS")
    cost.legend(fontsize=8)
    cost.grid(alpha=0.3)
    cost.set_title("quality against time", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)


if __name__ == "__main__":
    sys.exit(main())
