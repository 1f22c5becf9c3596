"""Few-step samplers against the full ancestral chain: seconds per fill, LPIPS, PSNR, sharpness.

    python experiments/fewstep_benchmark.py \
        --runs data/cork.png=runs/fewstep-default/cork/diffusion.pt,data/gravel.png=... \
        [--steps 100,50,25,10,5] [--crops 16] [--fills 24] [--threads 1] [--timing] [--out DIR]
    python experiments/fewstep_benchmark.py --summary-only --out DIR

For each texture=checkpoint pair: held-out 128x128 crops (the right quarter of
the texture, never seen in training), the first holes of masks/thick-128,
filled ceil(fills / crops) times each (so a texture with few held-out crops
gets more samples of each) by ancestral DDPM over all T steps (the reference)
and then by every sampler of SAMPLERS at every step count, from the same seed.
LPIPS (AlexNet, whole crop), PSNR, sharpness (Laplacian energy of the hole
over the truth's) and colour (the error of the hole's mean colour, 0-255 levels:
the tone drift of few-step chains; ``--masks masks/thin-128`` measures it on
thin strokes) are means over crops of the means over samples; d_lpips is
the difference to the reference paired by crop, with its standard error
(:func:`inpaint.evaluate.paired_difference`).  Seconds per fill is the wall
time of the batch over the number of fills, with ``--threads`` torch threads.
``--timing`` also times the default sampler (fill.DEFAULT_SAMPLER) on the
first texture with 1 and 2 threads, one crop at a time and 8 in a batch, best
of 3.  Writes results.md, results.json, summary.md (the README's table:
d_lpips / sharpness, samplers against textures) and one grid of fills per
texture to --out; ``--summary-only`` rewrites summary.md from results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch

from inpaint.checkpoint import load_checkpoint
from inpaint.evaluate import learned_filler, load_eval_set, paired_difference, score_filler, summarize
from inpaint.fill import DEFAULT_SAMPLER, SamplerConfig, fill
from inpaint.io import read_image
from inpaint.perceptual import load_lpips
from inpaint.report import markdown_table, save_grid

KARRAS = dict(grid="karras", sigma_max=DEFAULT_SAMPLER.sigma_max)
SAMPLERS = {
    "ddpm strided": lambda n: SamplerConfig("ddpm", n),
    "ddim strided": lambda n: SamplerConfig("ddim", n),
    "ddpm karras": lambda n: SamplerConfig("ddpm", n, **KARRAS),
    "ddpm karras analytic": lambda n: SamplerConfig("ddpm", n, variance="analytic", **KARRAS),
    "ddim eta 0.2 karras": lambda n: SamplerConfig("ddim", n, eta=0.2, **KARRAS),
    "dpmpp-2m karras": lambda n: SamplerConfig("dpmpp-2m", n, **KARRAS),
    "dpmpp-2m-sde karras": lambda n: SamplerConfig("dpmpp-2m-sde", n, **KARRAS),
    "pc karras": lambda n: SamplerConfig("pc", n, corrector_steps=1, **KARRAS),
}
GRID_STEPS = (5, 10, 25, 50)
COLUMNS = ["texture", "model", "sampler", "steps", "calls", "seconds_per_fill", "lpips", "d_lpips", "psnr", "sharpness",
           "colour"]
FORMATS = {"seconds_per_fill": ".2f", "lpips": ".3f", "psnr": ".2f", "sharpness": ".2f", "colour": ".1f"}


def is_default(config: SamplerConfig) -> bool:
    return config == replace(DEFAULT_SAMPLER, steps=config.steps)


def run_one(ckpt, data, ids, sampler, samples, seed, lpips_net):
    """The first fill of every crop, the rows of every fill, and the means over crops of the shown scores."""
    filler = learned_filler(ckpt, sampler, samples, seed, "cpu")  # one batch: the noise of one generator
    rows, outputs = score_filler("", "", filler, data, ids, net=lpips_net, batch=len(data.truth))
    (summary,) = summarize(rows)
    return outputs[0], rows, {k: summary[k] for k in ("seconds_per_fill", "lpips", "psnr", "sharpness", "colour")}


def summary_table(rows: list[dict], steps=(100, 50, 25, 10, 5)) -> str:
    """Samplers x step counts against textures: the reference's LPIPS / sharpness, then each sampler's
    d_lpips (± its standard error) / sharpness; the README's table."""
    textures = list(dict.fromkeys(r["texture"] for r in rows))
    cell = {(r["texture"], r["sampler"], r["steps"]): r for r in rows}
    lines = ["| sampler | steps | " + " | ".join(textures) + " |", "| --- | --- |" + " --- |" * len(textures)]
    refs = [next(r for r in rows if r["texture"] == t and "reference" in r["sampler"]) for t in textures]
    lines.append("| ddpm strided, all T (reference): LPIPS / sharpness | T | "
                 + " | ".join(f"{r['lpips']:.3f} / {r['sharpness']:.2f}" for r in refs) + " |")
    samplers = list(dict.fromkeys(r["sampler"] for r in rows if "reference" not in r["sampler"]))
    for sampler in sorted(samplers, key=lambda name: "(default)" not in name):
        for n in steps:
            found = [cell.get((t, sampler, n)) for t in textures]
            if any(f is None for f in found):
                continue
            lines.append(f"| {sampler} | {n} | " + " | ".join(
                f"{f['d_lpips_mean']:+.3f} ± {f['d_lpips_se']:.3f} / {f['sharpness']:.2f}" for f in found) + " |")
    return "\n".join(lines) + "\n"


def time_default(net, config, x, known, seed) -> list[dict]:
    """Seconds per fill of the default sampler: one crop at a time and 8 in a batch, 1 and 2 threads."""
    rows = []
    x8, k8 = x.repeat(8 // len(x) + 1, 1, 1, 1)[:8], known.repeat(8 // len(x) + 1, 1, 1, 1)[:8]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for batch in (1, 8):
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                for i in range(0, 8, batch):
                    fill(net, config, x8[i : i + batch], k8[i : i + batch], generator=torch.Generator().manual_seed(seed))
                best = min(best, (time.perf_counter() - t0) / 8)
            rows.append({"threads": threads, "batch": batch, "seconds_per_fill": best})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", help="texture=checkpoint pairs, comma-separated")
    parser.add_argument("--steps", default="100,50,25,10,5")
    parser.add_argument("--crops", type=int, default=16)
    parser.add_argument("--fills", type=int, default=24,
                        help="at least this many fills per texture: ceil(fills / crops) samples per crop")
    parser.add_argument("--masks", default="masks/thick-128")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--timing-only", action="store_true", help="only time the default sampler (first run's crops)")
    parser.add_argument("--out", default="experiments/results/fewstep")
    parser.add_argument("--summary-only", action="store_true", help="rewrite summary.md from --out's results.json")
    args = parser.parse_args()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.summary_only:
        (out_dir / "summary.md").write_text(summary_table(json.loads((out_dir / "results.json").read_text())["rows"]))
        return
    if not args.runs:
        parser.error("--runs is required (unless --summary-only)")
    lpips_net = load_lpips("cpu")
    steps = [int(s) for s in args.steps.split(",")]
    rows, timing = [], []
    for pair in args.runs.split(","):
        texture, checkpoint = pair.split("=")
        torch.set_num_threads(args.threads)
        ckpt = load_checkpoint(checkpoint)
        net, config = ckpt.network().eval(), ckpt.config
        d = config.diffusion
        model = f"{Path(checkpoint).parent.name} ({d.schedule}, T={d.timesteps}, {ckpt.step} steps)"
        image, _ = read_image(texture)
        data, ids, _ = load_eval_set(image, args.masks, crops=args.crops)
        truth, known, x = data.truth, data.known, data.masked
        name = Path(texture).stem
        samples = -(-args.fills // len(truth))
        if args.timing_only:
            timing = time_default(net, config, x, known, args.seed)
            (out_dir / "timing.json").write_text(json.dumps({"args": vars(args), "timing": timing,
                                                             "loadavg": os.getloadavg()}, indent=2))
            return
        ref_out, ref_rows, ref = run_one(ckpt, data, ids, SamplerConfig("ddpm"), samples, args.seed, lpips_net)
        rows.append({"texture": f"{name} ({len(truth)} x {samples})", "model": model,
                     "sampler": "ddpm strided (reference)", "steps": d.timesteps,
                     "calls": d.timesteps, **ref, "d_lpips": "0"})
        print(json.dumps(rows[-1]), flush=True)
        grid = {"masked input": x}
        for label, make in SAMPLERS.items():
            for n in steps:
                sampler = make(n)
                out, fill_rows, m = run_one(ckpt, data, ids, sampler, samples, args.seed, lpips_net)
                diff, se = paired_difference(fill_rows, ref_rows)
                rows.append({"texture": rows[-1]["texture"], "model": model, "sampler": label + (" (default)" if is_default(sampler) else ""),
                             "steps": n, "calls": 2 * n - 1 if sampler.sampler == "pc" else n, **m,
                             "d_lpips": f"{diff:+.3f} ± {se:.3f}", "d_lpips_mean": diff, "d_lpips_se": se})
                print(json.dumps(rows[-1]), flush=True)
                if is_default(sampler) and n in GRID_STEPS:
                    grid[f"default {n}"] = out
        grid[f"ddpm {d.timesteps} (ref.)"] = ref_out
        grid["truth"] = truth
        save_grid(grid, known, out_dir / f"grid-{Path(checkpoint).parent.name}.png",
                  title=f"{model}: the default sampler ({DEFAULT_SAMPLER.sampler}, Karras grid) against the full chain")
        if args.timing and not timing:
            timing = time_default(net, config, x, known, args.seed)
    load = os.getloadavg()
    header = (f"Up to {args.crops} held-out 128x128 crops per texture, at least {args.fills} fills per texture "
              f"(the texture column: crops x samples), holes from {args.masks}, "
              f"seed {args.seed}, "
              f"torch threads {args.threads} for the table; {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores shared with other jobs (load average {load[0]:.1f} / {load[1]:.1f} / "
              f"{load[2]:.1f} at the end). d_lpips = LPIPS minus the reference's on the same model, crops and holes, "
              f"paired by crop, with its standard error over crops. "
              f"Default sampler: {DEFAULT_SAMPLER}.\n\n")
    text = header + markdown_table(rows, COLUMNS, FORMATS) + "\n"
    if timing:
        text += ("\nSeconds per fill of the default sampler (8 fills, best of 3):\n\n"
                 + markdown_table(timing, ["threads", "batch", "seconds_per_fill"], {"seconds_per_fill": ".3f"}) + "\n")
    (out_dir / "results.md").write_text(text)
    (out_dir / "summary.md").write_text(summary_table(rows))
    (out_dir / "results.json").write_text(json.dumps({"args": vars(args), "rows": rows, "timing": timing,
                                                      "loadavg": load}, indent=2))


if __name__ == "__main__":
    main()
