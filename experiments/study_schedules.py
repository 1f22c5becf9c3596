"""Noise schedule x number of diffusion steps T, at an equal training budget.

    python experiments/study_schedules.py [--steps 8000] [--seeds 0,1] [--device cuda --jobs 18]

Trains the conditional diffusion model on cork for every schedule (linear,
cosine, sigmoid), T in {50, 100, 200, 400, 800, 1000} and training seed, all
with the same number of optimizer steps, then fills the held-out thick holes with ancestral
DDPM over all T steps of each model. Reports LPIPS, sharpness, PSNR and the
final training loss, which is not comparable across schedules and T (each
weights the noise levels differently) and is shown to check whether it
predicts sample quality. Writes experiments/results/schedules/.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from scipy.stats import spearmanr

import studylib as S
from inpaint.fill import SamplerConfig

SCHEDULES = ("linear", "cosine", "sigmoid")
TIMESTEPS = (50, 100, 200, 400, 800, 1000)
NAME = "schedules"


def runs(steps: int, seeds: list[int]) -> list[S.Run]:
    """One run per schedule, T and seed; seed 0 keeps the plain name ``<schedule>-T<T>``."""
    return [S.Run(f"{s}-T{T}" + (f"-seed{seed}" if seed else ""),
                  replace(S.config(steps=steps, schedule=s, timesteps=T), seed=seed))
            for seed in seeds for s in SCHEDULES for T in TIMESTEPS]


def main() -> None:
    parser = S.arguments(__doc__, trains=True, steps=8000)
    parser.add_argument("--seeds", default="0,1", help="training seeds of every schedule and T")
    args = parser.parse_args()
    todo = runs(args.steps, [int(v) for v in args.seeds.split(",")])
    folder, scorer = S.train_then_score(args, NAME, todo)
    rows = []
    for run in S.share(args, todo):
        ckpt = S.load(run.path(folder, args.steps))
        row = scorer.score(run.name, ckpt, SamplerConfig("ddpm"))
        row.update(schedule=run.config.diffusion.schedule, T=run.config.diffusion.timesteps, seed=run.config.seed,
                   loss=S.loss_tail(ckpt))
        rows.append(row)
        S.log(f"{run.name}: LPIPS {row['lpips']:.3f} sharpness {row['sharpness']:.2f} PSNR {row['psnr']:.2f}")
    rows = S.gather(args, NAME, rows, scorer, S.share(args, todo))
    rows.sort(key=lambda r: (SCHEDULES.index(r["schedule"]), r["T"], r["seed"]))
    spearman = spearmanr([r["loss"] for r in rows], [r["lpips"] for r in rows]).statistic
    seeds = sorted({r["seed"] for r in rows})
    intro = (f"Conditional diffusion (eps prediction, uniform weighting), {args.steps} steps of batch 16, crop 64, "
             f"training seeds {', '.join(map(str, seeds))}, on {S.TEXTURE.name}; every model sampled with ancestral "
             f"DDPM over all its T steps. {scorer.describe()}. Loss: mean training loss of the last 500 steps. "
             f"Spearman rank correlation of loss and LPIPS over the {len(rows)} models: {spearman:+.2f}.")
    pivots = "\n\n".join(f"{title}, one cell per T, training seeds {' / '.join(map(str, seeds))}:\n\n"
                          + pivot(rows, key, fmt) for title, key, fmt in
                          (("LPIPS", "lpips", ".3f"), ("Sharpness", "sharpness", ".2f")))
    folder_out = S.write_study(NAME, rows, ["schedule", "T", "seed", "lpips", "sharpness", "psnr", "ssim", "loss",
                                            "seconds_per_fill"], intro=intro, args=vars(args),
                               formats={"loss": ".4f"}, extra=pivots)
    plot(rows, args.steps, spearman, folder_out)
    few, many = TIMESTEPS[1], TIMESTEPS[-1]
    picks = [f"{s}-T{T}" for s in SCHEDULES for T in (few, many)]
    scorer.grid(folder_out / "grid.png", picks, title=f"fills per schedule at T = {few} and T = {many} (seed 0)")
    print((folder_out / "results.md").read_text())


def pivot(rows: list[dict], key: str, fmt: str) -> str:
    """A schedule x T table of ``key``, the seeds' values side by side in each cell."""
    lines = ["| schedule | " + " | ".join(f"T = {T}" for T in TIMESTEPS) + " |", "|" + " --- |" * (len(TIMESTEPS) + 1)]
    for s in SCHEDULES:
        cells = [" / ".join(format(r[key], fmt) for r in rows if r["schedule"] == s and r["T"] == T) for T in TIMESTEPS]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seed_mean(rows: list[dict], schedule: str, key: str) -> list[tuple[float, float, float]]:
    """(T, mean over seeds, half the seeds' range) of ``key``: the bars span the seeds."""
    out = []
    for T in TIMESTEPS:
        values = [r[key] for r in rows if r["schedule"] == schedule and r["T"] == T]
        out.append((T, sum(values) / len(values), (max(values) - min(values)) / 2))
    return out


def plot(rows: list[dict], steps: int, spearman: float, folder_out) -> None:
    """Metrics against T per schedule (mean over training seeds, bars spanning them), and LPIPS against loss."""
    panels = {key: {s: seed_mean(rows, s, key) for s in SCHEDULES} for key in ("lpips", "sharpness", "psnr")}
    S.plot_panels(panels, folder_out / "metrics.png", xlabel="diffusion steps T (sampled with all T)", logx=True,
                  xticks=list(TIMESTEPS), title=f"schedule x T, {steps} training steps each, {S.TEXTURE.name}; "
                  "mean of the training seeds, bars span them")
    S.plot_panels({"LPIPS": {s: [(r["loss"], r["lpips"], r["lpips_se"]) for r in rows if r["schedule"] == s]
                             for s in SCHEDULES}},
                  folder_out / "loss_vs_lpips.png", xlabel="final training loss", lines=False,
                  title=f"loss does not rank the models (Spearman {spearman:+.2f})")


if __name__ == "__main__":
    sys.exit(main())
