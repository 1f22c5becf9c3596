"""Training budget against quality: what 5, 10, 20 and 40 minutes of training on a 2-core CPU buy.

    python experiments/study_budget.py [--minutes 5,10,20,40] [--device cuda --jobs 2]

Trains regression and conditional diffusion (eps prediction) on cork, the
diffusion model twice: with the reference's schedule (linear, T = 1000) and
with the best one of the schedule study (cosine, T = 400). Scores each after
the number of optimizer steps that the given minutes buy on
this project's 2-core CPU, at the throughput measured by
experiments/train_throughput.py (results/train_throughput.json). Training is
deterministic in its steps, so the runs may be done on a faster device with
the same result up to floating-point rounding. Diffusion is sampled with DDPM
over 250 strided steps. Writes experiments/results/budget/.
"""

from __future__ import annotations

import json
import sys

import studylib as S
from inpaint.fill import SamplerConfig

NAME = "budget"
SAMPLER = SamplerConfig("ddpm", steps=250)
THROUGHPUT = S.RESULTS / "train_throughput.json"


def steps_per_second(method: str, batch: int) -> float:
    rows = json.loads(THROUGHPUT.read_text())["rows"]
    return next(r["crops_per_second"] for r in rows if r["method"] == method) / batch


RECIPES = {"regression": ("regression", {}),
           "diffusion": ("diffusion", {"schedule": "linear", "timesteps": 1000}),
           "diffusion-cosine-T400": ("diffusion", {"schedule": "cosine", "timesteps": 400})}
"""Run name -> (method, the schedule it trains with); everything else is :data:`studylib.REFERENCE_RECIPE`.
'diffusion' is the shipped models' schedule (linear, T = 1000), not the library's default (cosine, T = 400)."""


def runs(minutes: list[float]) -> list[S.Run]:
    out = []
    for name, (method, diffusion) in RECIPES.items():
        rate = steps_per_second(method, S.config(method, steps=1).batch)
        stages = [max(1, round(m * 60 * rate)) for m in minutes]
        out.append(S.Run(name, S.config(method, steps=max(stages), **diffusion), tuple(stages)))
    return out


def main() -> None:
    parser = S.arguments(__doc__, trains=True)
    parser.add_argument("--minutes", default="5,10,20,40", help="training budgets on the 2-core CPU")
    args = parser.parse_args()
    minutes = [float(m) for m in args.minutes.split(",")]
    todo = runs(minutes)
    folder, scorer = S.train_then_score(args, NAME, todo)
    rows = []
    for run in S.share(args, todo):
        for m, step in zip(minutes, run.stages):
            label = f"{run.name} {m:g} min"
            row = scorer.score(label, S.load(run.path(folder, step)), SAMPLER)
            row.update(method=run.name, minutes=m, steps=step)
            rows.append(row)
            S.log(f"{label} ({step} steps): LPIPS {row['lpips']:.3f} PSNR {row['psnr']:.2f}")
    rows = S.gather(args, NAME, rows, scorer, S.share(args, todo))
    rates = {r.config.method: steps_per_second(r.config.method, r.config.batch) for r in todo}
    intro = (f"Regression and conditional diffusion (eps prediction; linear schedule with T = 1000, and cosine with "
             f"T = 400) trained on {S.TEXTURE.name}, batch 16, crop 64, "
             f"seed 0, for the steps that each budget buys on the 2-core CPU at the measured "
             + ", ".join(f"{k} {v:.2f}" for k, v in rates.items())
             + f" steps per second ({THROUGHPUT.relative_to(S.ROOT)}). Diffusion sampled with DDPM over "
             f"{SAMPLER.steps} strided steps. {scorer.describe()}.")
    out = S.write_study(NAME, rows, ["method", "minutes", "steps", "lpips", "psnr", "ssim", "sharpness"],
                        intro=intro, args=vars(args), formats={"minutes": "g"})
    panels = {key: {r.name: [(x["minutes"], x[key], x[key + "_se"]) for x in rows if x["method"] == r.name]
                    for r in todo} for key in ("lpips", "psnr", "sharpness")}
    S.plot_panels(panels, out / "metrics.png", xlabel="minutes of training on the 2-core CPU", logx=True,
                  xticks=[int(m) if m == int(m) else m for m in minutes],
                  title=f"training budget, {S.TEXTURE.name}, thick holes")
    shown = [r["label"] for r in rows if r["method"] != "regression" or r["minutes"] == max(minutes)]
    scorer.grid(out / "grid.png", shown, title="fills after each training budget")
    print((out / "results.md").read_text())


if __name__ == "__main__":
    sys.exit(main())
