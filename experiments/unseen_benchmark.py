"""The unseen-texture benchmark: what a short CPU training budget buys against PatchMatch.

    python experiments/unseen_benchmark.py                      # 15 minutes per model, every texture
    python experiments/unseen_benchmark.py --minutes 5
    python experiments/unseen_benchmark.py --shard 2/4           # this machine's quarter of the textures
    python experiments/unseen_benchmark.py --merge               # tables and plane from every texture's part
    python experiments/unseen_benchmark.py --steps 2850 --recipe before --init scratch --methods diffusion,patchmatch

The textures are those of ``data/unseen/`` (see its SOURCES.md), which no
default, demo or recipe decision of the toolkit may be tuned on.  Protocol, per
texture: train each learned method on the left three quarters of the image (the
top three quarters of a tall one) for ``--minutes`` of wall time on ``--threads``
threads (or a fixed ``--steps``), then fill 8 crops of 128x128 from the rest:
4 with the stroke holes of ``masks/thick-128`` and 4 with the boxes of
``masks/box-128`` (the first masks of each set whose hole covers 3 to 35 % of
the crop), with the default sampler.  PatchMatch fills the same holes.

Each texture is one unit of work with its own seeds, written to
``<out>/parts/<texture>.json``; the tables (``results.md``, ``results.csv``),
the plane and ``run.json`` are made from whatever parts exist, so textures can
be split over machines (``--shard i/n``) and merged where the parts meet.
Models land in ``runs/unseen/<tag>/<texture>/<method>.pt`` and are reused.

By default each model trains as ``inpaint train-texture`` trains it: the
library's recipe, and diffusion fine-tunes the shipped texture prior
(``--init auto``; :mod:`inpaint.prior`; regression starts from scratch).
``--recipe`` and ``--init scratch|prior|FILE`` choose otherwise, and
``--steps 0 --init prior`` fills with the prior itself, untrained on the texture.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from inpaint.checkpoint import load_checkpoint
from inpaint.compare.report import package_versions
from inpaint.config import TrainConfig
from inpaint.diffusion import DiffusionConfig
from inpaint.evaluate import COLUMNS, EvalSet, classical_filler, learned_filler, overall, score_filler, summarize
from inpaint.fill import SamplerConfig
from inpaint.guide import GUIDES
from inpaint.io import read_image
from inpaint.mask_sets import load_mask_set
from inpaint.patches import Box, grid_crops
from inpaint.perceptual import load_lpips
from inpaint.prior import INITS, PRIOR, init_for, load_init
from inpaint.report import HEADERS, markdown_table, mean_se_cell, plot_plane, save_grid, write_results
from inpaint.shards import Shard, unit_seed
from inpaint.train import train
from inpaint.unet import ModelConfig

ROOT = Path(__file__).resolve().parent.parent
TEXTURES = ROOT / "data" / "unseen"
RESULTS = ROOT / "experiments" / "results" / "unseen"
RUNS = ROOT / "runs" / "unseen"
CROP, CROPS = 128, 8
HOLE_SETS = (("thick-128", 4), ("box-128", 4))
HOLE_RANGE = (0.03, 0.35)

def recipe(augment: str, lr_decay: str, noise_levels: str, precision: str = "fp32", **other) -> dict:
    """Every field the ablation varies, named; ``lr_decay`` other than 'none' comes with 100 warm-up steps."""
    return {"augment": augment, "lr_warmup": 0 if lr_decay == "none" else 100, "lr_decay": lr_decay,
            "noise_levels": noise_levels, "precision": precision, **other}


RECIPES = {
    "default": {"augment": "dihedral", "lr_warmup": 0, "lr_decay": "none"},
    "library": {},
    "before": recipe("dihedral", "none", "uniform"),
    "before+auto-augment": recipe("auto", "none", "uniform"),
    "before+lr-decay": recipe("dihedral", "linear", "uniform"),
    "before+lognormal": recipe("dihedral", "none", "lognormal"),
    "after": recipe("auto", "linear", "lognormal"),
    "after-uniform": recipe("auto", "linear", "uniform"),
    "after-uniform+bf16": recipe("auto", "linear", "uniform", "bf16"),
    "after+bf16": recipe("auto", "linear", "lognormal", "bf16"),
    "after-uniform+bf16+crop128": recipe("auto", "linear", "uniform", "bf16", crop=128, batch=4),
    "after-uniform+bf16+lr3e-4": recipe("auto", "linear", "uniform", "bf16", lr=3e-4),
    "library+train0.5": {"train_strength": 0.5},
    "library+train0.3": {"train_strength": 0.3},
    "library+dilated": {"bottleneck": "dilated"},
    "library+attention": {"bottleneck": "attention"},
    "library+fourier": {"bottleneck": "fourier"},
    "library+depth4": {"depth": 4},
}
"""Training recipes by name: fields of TrainConfig or DiffusionConfig set on top of the library's defaults.
'before' is the recipe before this benchmark existed (all eight symmetries, a constant rate, uniform t,
float32); 'default' the library's defaults when the first tables were made (the same with 'auto'
precision); 'library' whatever the library's defaults are now, which since the benchmark's ablation are
'after-uniform' with 'auto' precision (bfloat16 on a CPU that has it); 'library+trainS' trains only the first
share S of the chain (``DiffusionConfig.train_strength``), for fills started from a guide at strength S."""

SHOWN = {k: HEADERS[k] for k in ("psnr", "lpips", "sharpness")}


def recipe_config(recipe: str, method: str, channels: int, steps: int, seed: int = 0) -> TrainConfig:
    """The library's default TrainConfig for ``method`` with the fields of ``RECIPES[recipe]`` changed."""
    changes = dict(RECIPES[recipe])
    diffusion_fields = {k: changes.pop(k) for k in list(changes) if k in DiffusionConfig.__dataclass_fields__}
    model_fields = {k: changes.pop(k) for k in list(changes) if k in ModelConfig.__dataclass_fields__}
    base = TrainConfig()
    return replace(base, model=replace(base.model, method=method, image_channels=channels, **model_fields),
                   diffusion=replace(base.diffusion, **diffusion_fields), steps=steps, seed=seed, **changes)


def split(image: torch.Tensor) -> tuple[torch.Tensor, Box]:
    """The pixels training never touches (H, W) bool, and the held-out box: the right quarter of a wide
    (or square) image, the bottom quarter of a tall one."""
    H, W = image.shape[-2:]
    box = Box(0, W - W // 4, H, W // 4) if W >= H else Box(H - H // 4, 0, H // 4, W)
    return box.mask(H, W), box


def benchmark_holes() -> tuple[torch.Tensor, list[str]]:
    """The 8 holes (8, 1, 128, 128) bool, True = known, and their names (``set/file``)."""
    chosen, names = [], []
    for folder, count in HOLE_SETS:
        known, manifest = load_mask_set(ROOT / "masks" / folder)
        picks = [i for i, m in enumerate(manifest["masks"]) if HOLE_RANGE[0] <= m["hole_fraction"] <= HOLE_RANGE[1]]
        chosen.append(known[picks[:count]])
        names += [f"{folder}/{manifest['masks'][i]['file']}" for i in picks[:count]]
    return torch.cat(chosen), names


def train_model(image, exclude, config: TrainConfig, path: Path, minutes: float | None, device: str,
                init=None) -> tuple:
    """Train (or reuse) one model, from ``init``'s weights when given; what the record says of it."""
    if path.is_file():
        ckpt = load_checkpoint(path)
        print(f"  {config.method}: reusing {path} ({ckpt.step} steps)", flush=True)
    else:
        t0 = time.perf_counter()
        last = [t0]

        def on_step(step: int, loss: float) -> None:
            if time.perf_counter() - last[0] > 60:
                last[0] = time.perf_counter()
                print(f"  {config.method}: step {step}, loss {loss:.4f}, {last[0] - t0:.0f} s", flush=True)

        ckpt = train(image, config, out=path, device=device, exclude=exclude, on_step=on_step, name=path.parent.name,
                     minutes=minutes, save_every=10**9, init=init)
        print(f"  {config.method}: {ckpt.step} steps in {ckpt.timing['seconds']:.0f} s", flush=True)
    return ckpt, {"steps": ckpt.step, "augment": ckpt.config.augment, **ckpt.timing, "config": asdict(ckpt.config)}


def started_from(record: dict | None) -> str:
    """The name of the weights a model's record says it started from ('scratch', 'prior-corpus', ...)."""
    if record is None:
        return "scratch"
    return record.get("init") or record["config"].get("init", "scratch").split("@")[0]


def untrained(init) -> tuple:
    """The ``--steps 0`` model: ``init`` itself, with what the record says of it."""
    return init, {"steps": 0, "init": init.texture.get("name"), "config": asdict(init.config)}


def run_texture(entry: dict, args, holes, hole_names, net) -> dict:
    """One unit: train the learned methods on one texture, fill its 8 held-out crops with every method."""
    name = Path(entry["file"]).stem
    image, _ = read_image(TEXTURES / entry["file"])
    exclude, box = split(image)
    truth = grid_crops(image, box, CROP, CROPS)
    if len(truth) < CROPS:
        raise SystemExit(f"{entry['file']}: its held-out quarter holds {len(truth)} crops of {CROP}, not {CROPS}")
    data = EvalSet(truth, holes)
    print(f"{name}: {image.shape[-2]}x{image.shape[-1]}, held out {box}", flush=True)
    rows, models, grid = [], {}, {"masked input": data.masked}
    for method in args.methods:
        seed = unit_seed(name, method)
        if method == "patchmatch":
            filler = classical_filler(method, seed)
        else:
            if args.steps == 0:
                ckpt, models[method] = untrained(load_init(args.init))
            else:
                config = recipe_config(args.recipe, method, image.shape[1], args.steps or 10**9, args.seed)
                init = init_for(args.init, config) if method == "diffusion" else None
                ckpt, models[method] = train_model(image, exclude, config, RUNS / args.tag / name / f"{method}.pt",
                                                   None if args.steps else args.minutes, args.device, init)
            sampler = SamplerConfig("ddpm", args.sample_steps) if args.sample_steps else SamplerConfig()
            sampler = replace(sampler, start=args.start, strength=args.strength)
            filler = learned_filler(ckpt, sampler, 1, seed, "cpu")
        method_rows, outputs = score_filler(name, method, filler, data, list(range(CROPS)), net=net, batch=CROPS)
        rows += method_rows
        grid[method] = outputs[0]
    grid["truth"] = data.truth
    out = RESULTS / args.tag
    save_grid(grid, data.known, out / f"grid_{name}.png", title=f"{name}: held-out crops ({args.tag})")
    return {"texture": name, "kind": entry.get("kind"), "models": models, "rows": rows}


def ratio_rows(summary: list[dict]) -> list[dict]:
    """Per texture: each method's metrics and diffusion's LPIPS over PatchMatch's."""
    by = {(s["texture"], s["method"]): s for s in summary}
    out = []
    for texture in dict.fromkeys(s["texture"] for s in summary):
        row = {"texture": texture}
        for (t, m), s in by.items():
            if t == texture:
                row.update({f"{m} {k}": s[k] for k in SHOWN})
        if (texture, "diffusion") in by and (texture, "patchmatch") in by:
            row["LPIPS ratio"] = by[texture, "diffusion"]["lpips"] / by[texture, "patchmatch"]["lpips"]
        out.append(row)
    return out


def merge(tag: str, argv: list[str]) -> None:
    """Tables, CSV, plane and record from every part under ``RESULTS/tag/parts``."""
    out = RESULTS / tag
    parts = [json.loads(p.read_text()) for p in sorted((out / "parts").glob("*.json"))]
    if not parts:
        raise SystemExit(f"no parts in {out / 'parts'}: run the benchmark first")
    rows = [r for p in parts for r in p["rows"]]
    summary = summarize(rows)
    methods = list(dict.fromkeys(s["method"] for s in summary))
    per_texture = ratio_rows(summary)
    means = overall(summary)
    columns = ["texture", *[f"{m} {k}" for m in methods for k in SHOWN], "LPIPS ratio"]
    mean_row = {"texture": "**mean**", **{f"{r['method']} {k}": r[k] for r in means for k in SHOWN}}
    lp = {r["method"]: r["lpips"] for r in means}
    if "diffusion" in lp and "patchmatch" in lp:
        mean_row["LPIPS ratio"] = lp["diffusion"] / lp["patchmatch"]
        wins = sum(r["LPIPS ratio"] < 1 for r in per_texture if "LPIPS ratio" in r)
    formats = {c: (".3f" if c.endswith("lpips") else ".2f") for c in columns}
    steps = {p["texture"]: {m: v.get("steps") for m, v in p["models"].items()} for p in parts}
    commands = list(dict.fromkeys(tuple(p.get("command", argv)) for p in parts))  # what made each part
    holes = ", ".join(f"{n} {s}" for s, n in HOLE_SETS)
    text = [f"# Unseen-texture benchmark: {tag}\n",
            f"{len(parts)} textures, {CROPS} held-out {CROP}x{CROP} crops each ({holes} holes); mean over crops; "
            "LPIPS ratio = diffusion / PatchMatch (below 1: diffusion better).\n",
            markdown_table(per_texture + [mean_row], columns, formats)]
    if "LPIPS ratio" in mean_row:
        text.append(f"\nDiffusion better than PatchMatch on {wins} of {len(per_texture)} textures.")
    text.append("\nMeans over textures ± standard error (crop errors combined):\n")
    text.append(markdown_table([{"method": r["method"], **{label: mean_se_cell(r, k, ".3f")
                                                           for k, label in SHOWN.items()}} for r in means],
                               ["method", *SHOWN.values()]))
    text.append("\nSteps trained per texture: " + "; ".join(
        f"{t} " + ", ".join(f"{m} {s}" for m, s in v.items()) for t, v in steps.items()) + ".")
    text.append("\nMade by: " + "; ".join(f"`python experiments/unseen_benchmark.py {' '.join(c)}`" for c in commands)
                + ".\n")
    (out / "results.md").write_text("\n".join(text))
    write_results(rows, out / "results.csv", COLUMNS)
    plot_plane(means, out / "plane.png", learned=("diffusion", "regression"),
               title=f"{len(parts)} unseen textures, {tag} (mean ± standard error)")
    record = {"tag": tag, "commands": [list(c) for c in commands],
              "parts": {p["texture"]: {k: v for k, v in p.items() if k != "rows"} for p in parts},
              "means": means, "versions": package_versions(), "python": sys.version.split()[0]}
    (out / "run.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    print((out / "results.md").read_text())


def ablation(tags: list[str], argv: list[str], name: str = "ablation") -> None:
    """One row per run (tag): diffusion's LPIPS per texture, its means and ratio to PatchMatch, on the textures
    every run has; written to ``RESULTS/<name>.md`` and ``<name>.csv``."""
    runs = {}
    for tag in tags:
        parts = [json.loads(p.read_text()) for p in sorted((RESULTS / tag / "parts").glob("*.json"))]
        if not parts:
            raise SystemExit(f"no parts in {RESULTS / tag / 'parts'}")
        runs[tag] = {p["texture"]: p for p in parts}
    textures = sorted(set.intersection(*(set(r) for r in runs.values())))
    rows = []
    for tag, parts in runs.items():
        summary = summarize([r for t in textures for r in parts[t]["rows"]])
        by = {(s["texture"], s["method"]): s for s in summary}
        diffusion = [by[t, "diffusion"] for t in textures]
        row = {"run": tag, "recipe": parts[textures[0]]["recipe"], "init": parts[textures[0]].get("init") or "scratch",
               "steps": "/".join(str(parts[t]["models"]["diffusion"]["steps"]) for t in textures)}
        row.update({t: by[t, "diffusion"]["lpips"] for t in textures})
        for k in SHOWN:
            row[k] = sum(d[k] for d in diffusion) / len(diffusion)
        row["lpips_se"] = math.sqrt(sum(d["lpips_se"] ** 2 for d in diffusion)) / len(diffusion)
        row["LPIPS ratio"] = row["lpips"] / (sum(by[t, "patchmatch"]["lpips"] for t in textures) / len(textures))
        rows.append(row)
    columns = ["run", "init", "steps", *textures, "lpips", "LPIPS ratio", "psnr", "sharpness"]
    shown = [{**r, "lpips": f"{r['lpips']:.3f} ± {r['lpips_se']:.3f}"} for r in rows]
    formats = {**{t: ".3f" for t in textures}, "LPIPS ratio": ".2f", "psnr": ".2f", "sharpness": ".2f"}
    table = markdown_table(shown, columns, formats)
    recipes = "\n".join(f"- `{r['recipe']}`: {RECIPES[r['recipe']] or 'the library defaults'}"
                         for r in {r["recipe"]: r for r in rows}.values())
    text = (f"# Unseen-texture benchmark: ablation of the training recipe\n\nDiffusion's LPIPS on the hole per texture "
            f"({CROPS} held-out crops each), its mean ± standard error over the {len(textures)} textures, "
            "the ratio of that mean to PatchMatch's, and diffusion's PSNR (dB) and sharpness (1 = truth).\n\n"
            f"{table}\n\n"
            "Recipes (set on top of the library defaults; the others are crop 64, batch 16, Adam 1e-3, EMA 0.999, "
            f"eps prediction, cosine schedule with T = 400):\n\n{recipes}\n\n"
            f"Command: `python experiments/unseen_benchmark.py {' '.join(argv)}`.\n")
    (RESULTS / f"{name}.md").write_text(text)
    write_results(rows, RESULTS / f"{name}.csv", list(dict.fromkeys(k for r in rows for k in r)))
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=15.0, help="wall-clock training budget per model")
    parser.add_argument("--steps", type=int, default=None, help="train a fixed number of steps instead of --minutes")
    parser.add_argument("--recipe", choices=tuple(RECIPES), default="library",
                        help="training recipe (default: the library's defaults, what train-texture does)")
    parser.add_argument("--seed", type=int, default=0, help="seed of training (the fills' seeds stay fixed)")
    parser.add_argument("--init", default="auto",
                        help="diffusion's starting weights: auto (train-texture's default: the shipped texture prior "
                             "where it fits), scratch, prior or a checkpoint")
    parser.add_argument("--methods", default="diffusion,regression,patchmatch")
    parser.add_argument("--textures", default=None, help="comma-separated stems (default: all of data/unseen)")
    parser.add_argument("--shard", default="1/1", help="i/n: run the i-th of n blocks of the textures")
    parser.add_argument("--sample-steps", type=int, default=None,
                        help="sample with ancestral DDPM over this many evenly strided steps instead of the default "
                             "sampler (the ablation's sampler)")
    parser.add_argument("--start", choices=GUIDES, default=None,
                        help="what diffusion's fills start from (default: the default sampler's)")
    parser.add_argument("--strength", type=float, default=None, help="the strength of a guided start")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for training and sampling")
    parser.add_argument("--device", default="cpu", help="where to train (sampling and scoring run on the CPU)")
    parser.add_argument("--tag", default=None, help="results folder name (default: recipe and budget)")
    parser.add_argument("--merge", action="store_true", help="only make the tables from the parts there are")
    parser.add_argument("--ablation", default=None, help="comma-separated run tags: write the ablation table of them")
    parser.add_argument("--ablation-name", default="ablation", help="file name of that table (without .md)")
    args = parser.parse_args()
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = set(args.methods) - {"diffusion", "regression", "patchmatch"}
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from diffusion, regression, patchmatch")
    if args.steps == 0 and (args.init in ("scratch", "auto") or "regression" in args.methods):
        parser.error("--steps 0 fills with the --init model untrained: give --init prior or a file, and no regression")
    init_tag = "" if args.init == "scratch" else f"+{args.init if args.init in ('auto', PRIOR) else Path(args.init).stem}"
    args.tag = args.tag or (f"{args.recipe}{init_tag}-" + (f"{args.steps}steps" if args.steps is not None
                                                            else f"{args.minutes:g}min")
                            + (f"-sample{args.sample_steps}" if args.sample_steps else "")
                            + (f"-{args.start}{args.strength or ''}" if args.start else "")
                            + (f"-seed{args.seed}" if args.seed else ""))
    argv = sys.argv[1:]
    if args.ablation:
        return ablation(args.ablation.split(","), argv, args.ablation_name)
    if args.merge:
        return merge(args.tag, argv)
    try:
        shard = Shard.parse(args.shard)
    except ValueError as exc:
        parser.error(f"--shard: {exc}")
    torch.set_num_threads(args.threads)
    if args.init not in INITS and not Path(args.init).is_file():
        parser.error(f"--init: no such checkpoint {args.init}")
    entries = json.loads((TEXTURES / "manifest.json").read_text())
    if args.textures:
        wanted = args.textures.split(",")
        missing = set(wanted) - {Path(e["file"]).stem for e in entries}
        if missing:
            parser.error(f"no such textures in {TEXTURES}: {sorted(missing)}")
        entries = [e for e in entries if Path(e["file"]).stem in wanted]
    entries = shard.take(entries)
    holes, hole_names = benchmark_holes()
    net = load_lpips("cpu")
    parts = RESULTS / args.tag / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        part = run_texture(entry, args, holes, hole_names, net)
        part.update(command=argv, recipe=args.recipe, recipe_fields=RECIPES[args.recipe], holes=hole_names,
                    init=started_from(part["models"].get("diffusion")), seed=args.seed,
                    minutes=None if args.steps else args.minutes, threads=args.threads)
        (parts / f"{part['texture']}.json").write_text(json.dumps(part, indent=1, default=str) + "\n")
    merge(args.tag, argv)


if __name__ == "__main__":
    main()
