"""The source material's two remaining samplers, measured: predictor-corrector and classifier-free guidance.

    python experiments/guidance_pc_benchmark.py [--texture data/cork.png] [--crops 4] [--threads 1]

On the shipped models of the texture and the crops, holes and seed of
fewstep_benchmark.py (whose reference row, ancestral DDPM over all T, it reads
from experiments/results/fewstep/shipped/results.json):

- predictor-corrector ('pc': an ancestral step, then one Langevin step) on the
  default sampler's Karras grid, at 5, 10 and 25 levels (9, 19 and 49 calls);
- classifier-free guidance on the default sampler: the conditional model
  guided away from the unconditional RePaint model of the same texture
  (inference.guided_denoiser), scales 0.5, 1.5 and 3 at 10 steps (20 calls).

Writes experiments/results/fewstep/guidance_pc.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from inpaint.checkpoint import load_checkpoint
from inpaint.fill import DEFAULT_SAMPLER, SamplerConfig, fill, known_variance
from inpaint.inference import fast_denoiser, guided_denoiser
from inpaint.io import read_image
from inpaint.mask_sets import load_mask_set
from inpaint.metrics import hole_metrics
from inpaint.patches import grid_crops, held_out_box
from inpaint.perceptual import load_lpips
from inpaint.report import markdown_table
from inpaint.sampling import sample_ddpm

RESULTS = Path(__file__).parent / "results" / "fewstep"
COLUMNS = ["sampler", "steps", "calls", "seconds_per_fill", "lpips", "d_lpips", "psnr", "sharpness"]
FORMATS = {"seconds_per_fill": ".2f", "lpips": ".3f", "d_lpips": "+.3f", "psnr": ".2f", "sharpness": ".2f"}


def metrics(out, truth, known, net) -> dict:
    m = hole_metrics(out, truth, known, net=net)
    return {k: m[k].mean().item() for k in ("lpips", "psnr", "sharpness")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texture", default="data/cork.png")
    parser.add_argument("--crops", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    name = Path(args.texture).stem
    reference = next(r for r in json.loads((RESULTS / "shipped" / "results.json").read_text())["rows"]
                     if r["texture"] == name and "reference" in r["sampler"])
    cond_ckpt = load_checkpoint(f"data/checkpoints/{name}/diffusion.pt")
    uncond_ckpt = load_checkpoint(f"data/checkpoints/{name}/repaint.pt")
    net, config = cond_ckpt.network().eval(), cond_ckpt.config
    image, _ = read_image(args.texture)
    truth = grid_crops(image, held_out_box(*image.shape[-2:]), 128, args.crops)
    known = load_mask_set("masks/thick-128")[0][: len(truth)]
    x = torch.where(known, truth, 0.0)
    lpips_net = load_lpips("cpu")
    rows = []

    def add(label, steps, calls, run):
        t0 = time.perf_counter()
        out = run()
        m = metrics(out, truth, known, lpips_net)
        rows.append({"sampler": label, "steps": steps, "calls": calls,
                     "seconds_per_fill": (time.perf_counter() - t0) / len(x), **m, "d_lpips": m["lpips"] - reference["lpips"]})
        print(json.dumps(rows[-1]), flush=True)

    for steps in (5, 10, 25):
        pc = SamplerConfig("pc", steps, grid="karras", sigma_max=DEFAULT_SAMPLER.sigma_max, corrector_steps=1)
        add("pc karras (1 Langevin step)", steps, 2 * steps - 1,
            lambda: fill(net, config, x, known, sampler=pc, generator=torch.Generator().manual_seed(args.seed))[0])
    schedule = config.diffusion.noise_schedule()
    cond = fast_denoiser(net, schedule, config.diffusion.prediction, x_known=x, known=known)
    uncond = fast_denoiser(uncond_ckpt.network().eval(), schedule, uncond_ckpt.config.diffusion.prediction)
    sampler = SamplerConfig(steps=10).resolved("diffusion")
    for scale in (0.0, 0.5, 1.5, 3.0):
        def run(scale=scale):
            g = torch.Generator().manual_seed(args.seed)
            x_T = torch.randn(x.shape, generator=g)
            with torch.inference_mode():
                return sample_ddpm(guided_denoiser(cond, uncond, scale), x_T, schedule, timesteps=sampler.timesteps(schedule),
                                   known=known, x_known=x, variance=sampler.variance, data_var=known_variance(x, known),
                                   generator=g)
        add(f"default, guidance {scale}", 10, 10 if scale == 0 else 20, run)
    header = (f"{args.crops} held-out 128x128 crops of {args.texture}, masks/thick-128, seed {args.seed}, torch threads "
              f"{args.threads}, shipped models; d_lpips against ancestral DDPM over all T (LPIPS {reference['lpips']:.3f}, "
              f"sharpness {reference['sharpness']:.2f}, from shipped/results.json). A shared, loaded machine.\n\n")
    (RESULTS / "guidance_pc.md").write_text(header + markdown_table(rows, COLUMNS, FORMATS) + "\n")
    (RESULTS / "guidance_pc.json").write_text(json.dumps({"args": vars(args), "reference": reference, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
