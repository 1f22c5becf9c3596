"""Few-step samplers against the full ancestral chain: seconds per fill, LPIPS, PSNR, sharpness.

    python experiments/fewstep_benchmark.py \
        --runs data/cork.png=data/checkpoints/cork/diffusion.pt,data/gravel.png=data/checkpoints/gravel/diffusion.pt \
        [--steps 50,25,10,5] [--crops 4] [--threads 1] [--timing] [--out experiments/results/fewstep]

For each texture=checkpoint pair: held-out 128x128 crops (the right quarter of
the texture, never seen in training), the first holes of masks/thick-128,
filled once by ancestral DDPM over all T steps (the reference) and then by
every sampler of SAMPLERS at every step count, from the same seed.  LPIPS
(AlexNet, whole crop), PSNR and sharpness (Laplacian energy of the hole over
the truth's) are means over the crops; seconds per fill is the wall time of
the batch over the number of crops, with ``--threads`` torch threads.
``--timing`` also times the default sampler (fill.DEFAULT_SAMPLER) on one
texture with 1 and 2 threads, one crop at a time and 8 in a batch, best of 3.
Writes results.md, results.json and one grid of fills per texture to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from inpaint.checkpoint import load_checkpoint
from inpaint.evaluate import learned_filler, load_eval_set, score_filler, summarize
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
    "ddpm karras analytic, sigma_max 80": lambda n: SamplerConfig("ddpm", n, grid="karras", sigma_max=80.0,
                                                                  variance="analytic"),
    "ddim eta 0.2 karras": lambda n: SamplerConfig("ddim", n, eta=0.2, **KARRAS),
    "dpmpp-2m karras": lambda n: SamplerConfig("dpmpp-2m", n, **KARRAS),
    "dpmpp-2m-sde karras": lambda n: SamplerConfig("dpmpp-2m-sde", n, **KARRAS),
}
GRID_STEPS = (5, 10, 25, 50)
COLUMNS = ["texture", "model", "sampler", "steps", "seconds_per_fill", "lpips", "d_lpips", "psnr", "sharpness"]
FORMATS = {"seconds_per_fill": ".2f", "lpips": ".3f", "d_lpips": "+.3f", "psnr": ".2f", "sharpness": ".2f"}


def run_one(ckpt, data, ids, sampler, seed, lpips_net):
    """The first fill of every crop, and the means over crops (:mod:`inpaint.evaluate`) of the shown scores."""
    filler = learned_filler(ckpt, sampler, 1, seed, "cpu")  # one batch: the noise of one generator
    rows, outputs = score_filler("", "", filler, data, ids, net=lpips_net, batch=len(data.truth))
    (summary,) = summarize(rows)
    return outputs[0], {k: summary[k] for k in ("seconds_per_fill", "lpips", "psnr", "sharpness")}


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
    parser.add_argument("--runs", required=True, help="texture=checkpoint pairs, comma-separated")
    parser.add_argument("--steps", default="50,25,10,5")
    parser.add_argument("--crops", type=int, default=4)
    parser.add_argument("--masks", default="masks/thick-128")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--timing-only", action="store_true", help="only time the default sampler (first run's crops)")
    parser.add_argument("--out", default="experiments/results/fewstep")
    args = parser.parse_args()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
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
        if args.timing_only:
            timing = time_default(net, config, x, known, args.seed)
            (out_dir / "timing.json").write_text(json.dumps({"args": vars(args), "timing": timing,
                                                             "loadavg": os.getloadavg()}, indent=2))
            return
        ref_out, ref = run_one(ckpt, data, ids, SamplerConfig("ddpm"), args.seed, lpips_net)
        rows.append({"texture": name, "model": model, "sampler": "ddpm strided (reference)", "steps": d.timesteps,
                     **ref, "d_lpips": 0.0})
        print(json.dumps(rows[-1]), flush=True)
        grid = {"masked input": x}
        for label, make in SAMPLERS.items():
            for n in steps:
                out, m = run_one(ckpt, data, ids, make(n), args.seed, lpips_net)
                rows.append({"texture": name, "model": model, "sampler": label, "steps": n, **m,
                             "d_lpips": m["lpips"] - ref["lpips"]})
                print(json.dumps(rows[-1]), flush=True)
                if label == "ddpm karras analytic" and n in GRID_STEPS:
                    grid[f"{label.split(' ', 1)[1]} {n}"] = out
        grid[f"ddpm {d.timesteps} (ref.)"] = ref_out
        grid["truth"] = truth
        save_grid(grid, known, out_dir / f"grid-{Path(checkpoint).parent.name}.png",
                  title=f"{model}: ancestral DDPM on the Karras grid with the analytic variance")
        if args.timing and not timing:
            timing = time_default(net, config, x, known, args.seed)
    load = os.getloadavg()
    header = (f"{args.crops} held-out 128x128 crops per texture, holes from {args.masks}, seed {args.seed}, "
              f"torch threads {args.threads} for the table; {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores shared with other jobs (load average {load[0]:.1f} / {load[1]:.1f} / "
              f"{load[2]:.1f} at the end). d_lpips = LPIPS minus the reference's on the same model, crops and holes. "
              f"Default sampler: {DEFAULT_SAMPLER}.\n\n")
    text = header + markdown_table(rows, COLUMNS, FORMATS) + "\n"
    if timing:
        text += ("\nSeconds per fill of the default sampler (8 fills, best of 3):\n\n"
                 + markdown_table(timing, ["threads", "batch", "seconds_per_fill"], {"seconds_per_fill": ".3f"}) + "\n")
    (out_dir / "results.md").write_text(text)
    (out_dir / "results.json").write_text(json.dumps({"args": vars(args), "rows": rows, "timing": timing,
                                                      "loadavg": load}, indent=2))


if __name__ == "__main__":
    main()
