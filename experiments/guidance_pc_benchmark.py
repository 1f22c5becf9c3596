"""The source material's two remaining samplers, measured: predictor-corrector and classifier-free guidance.

    python experiments/guidance_pc_benchmark.py \
        --textures data/cork.png,data/gravel.png,data/unseen/stone.png,data/unseen/planks.jpg \
        --plain runs/fewstep-default --dropout runs/fewstep-dropout [--crops 16] [--threads 1]

For each texture, two models of the default recipe trained for the same steps
from the same start: ``<plain>/<name>/diffusion.pt`` (no condition dropout) and
``<dropout>/<name>/diffusion.pt`` (``train-texture --cond-dropout 0.1``).  On
held-out 128x128 crops with the first holes of masks/thick-128, from one seed:

- the plain model with the default sampler, and with predictor-corrector ('pc':
  an ancestral step, then one Langevin step, on the default's Karras grid);
- the dropout model with the default sampler (what the dropout costs the
  conditional model at equal training), guided at scales 0.5, 1, 2 and 4 (two
  network calls a step), and as an unconditional model, RePaint's walk on the
  same network (its mask all hole).

Writes experiments/results/fewstep/guidance_pc.{md,json}: LPIPS with its
standard error over crops, its difference to the plain model's default paired
by crop, PSNR, sharpness, network calls and seconds per fill.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from pathlib import Path

import torch

from inpaint.checkpoint import load_checkpoint
from inpaint.evaluate import learned_filler, load_eval_set, paired_difference, score_filler, summarize
from inpaint.fill import DEFAULT_SAMPLER, QUICK_REPAINT_SAMPLER, SamplerConfig, sampler_plan
from inpaint.io import read_image
from inpaint.perceptual import load_lpips
from inpaint.report import markdown_table, save_grid

RESULTS = Path(__file__).parent / "results" / "fewstep"
COLUMNS = ["texture", "model", "sampler", "calls", "seconds_per_fill", "lpips", "d_lpips", "psnr", "sharpness"]
FORMATS = {"seconds_per_fill": ".2f", "lpips": ".3f", "d_lpips": "+.3f", "psnr": ".2f", "sharpness": ".2f"}
GUIDANCE = (0.5, 1.0, 2.0, 4.0)


def runs() -> list[tuple[str, SamplerConfig, str, str]]:
    """(model, sampler, label, short label for the grid) in table order; the first row is the baseline of d_lpips."""
    pc = replace(DEFAULT_SAMPLER, sampler="pc", corrector_steps=1)
    rows = [("plain", DEFAULT_SAMPLER, "default", "plain"), ("plain", pc, "pc (1 Langevin step)", "plain, pc"),
            ("dropout", DEFAULT_SAMPLER, "default", "dropout")]
    rows += [("dropout", replace(DEFAULT_SAMPLER, guidance=w), f"default, guidance {w:g}", f"guided {w:g}")
             for w in GUIDANCE]
    rows.append(("dropout", QUICK_REPAINT_SAMPLER, "repaint, same network", "repaint"))
    return rows


def calls(config, sampler: SamplerConfig) -> int:
    """Network calls per fill (:func:`inpaint.fill.sampler_plan`)."""
    return sampler_plan(config, sampler).calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--textures", required=True, help="comma-separated image files")
    parser.add_argument("--plain", required=True, help="folder of the models trained without dropout")
    parser.add_argument("--dropout", required=True, help="folder of the models trained with --cond-dropout")
    parser.add_argument("--crops", type=int, default=16)
    parser.add_argument("--masks", default="masks/thick-128")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out_dir = Path(args.out)
    lpips_net = load_lpips("cpu")
    table, per_crop = [], []
    for texture in args.textures.split(","):
        name = Path(texture).stem
        ckpts = {kind: load_checkpoint(Path(getattr(args, kind)) / name / "diffusion.pt") for kind in ("plain", "dropout")}
        image, _ = read_image(texture)
        data, ids, _ = load_eval_set(image, args.masks, crops=args.crops)
        grid, base = {"masked input": data.masked}, None
        for kind, sampler, label, short in runs():
            ckpt = ckpts[kind]
            filler = learned_filler(ckpt, sampler, 1, args.seed, "cpu")
            rows, outputs = score_filler(name, f"{kind}: {label}", filler, data, ids, net=lpips_net,
                                         batch=len(data.truth))
            (s,) = summarize(rows)
            base = rows if base is None else base
            diff, se = paired_difference(rows, base)
            table.append({"texture": name, "model": f"{kind} ({ckpt.config.cond_dropout:g}, {ckpt.step} steps)",
                          "sampler": label, "calls": calls(ckpt.config, sampler),
                          "seconds_per_fill": s["seconds_per_fill"], "lpips": s["lpips"], "lpips_se": s["lpips_se"],
                          "d_lpips": diff, "d_lpips_se": se, "psnr": s["psnr"], "sharpness": s["sharpness"]})
            per_crop += rows
            print(json.dumps(table[-1]), flush=True)
            grid[short] = outputs[0]
        grid["truth"] = data.truth
        save_grid(grid, data.known, out_dir / f"guidance_pc-{name}.png",
                  title=f"{name}: default recipe, without ('plain') and with condition dropout 0.1")
    load = os.getloadavg()
    header = (f"{args.crops} held-out 128x128 crops per texture, holes from {args.masks}, seed {args.seed}, torch "
              f"threads {args.threads} (load average {load[0]:.1f} at the end: seconds are indicative). "
              f"Models: `{args.plain}` (no dropout) and `{args.dropout}` (cond_dropout 0.1), same recipe and steps. "
              "lpips is the mean over crops with its standard error; d_lpips is the difference to the first row of the "
              "texture (the plain model, default sampler) on the same crops, holes and seed, paired by crop, with "
              "its standard error.\n\n")
    shown = [{**row, "lpips": f"{row['lpips']:.3f} ± {row['lpips_se']:.3f}",
              "d_lpips": f"{row['d_lpips']:+.3f} ± {row['d_lpips_se']:.3f}" if row["d_lpips_se"] == row["d_lpips_se"] else "0"}
             for row in table]
    text = header + markdown_table(shown, COLUMNS, {k: v for k, v in FORMATS.items() if k not in ("lpips", "d_lpips")}) + "\n"
    (out_dir / "guidance_pc.md").write_text(text)
    (out_dir / "guidance_pc.json").write_text(json.dumps({"args": vars(args), "rows": table, "per_crop": per_crop,
                                                          "loadavg": load}, indent=2, default=float))


if __name__ == "__main__":
    main()
