"""Where diffusion loses to PatchMatch, and what the start of the chain changes: the unseen benchmark's models,
scored per hole family and hole size, with tone, detail and patch-statistics errors, for several starts.

    python experiments/hole_diagnosis.py --tag library+auto-1900steps           # every texture, every variant
    python experiments/hole_diagnosis.py --tag ... --textures planks,stone --variants diffusion,pm-0.5
    python experiments/hole_diagnosis.py --tag ... --merge                      # tables from the parts there are

The models are those that ``experiments/unseen_benchmark.py`` trained under
``runs/unseen/<tag>/<texture>/{diffusion,regression}.pt``; the crops and holes
are the benchmark's (8 held-out 128x128 crops per texture: 4 strokes of
``masks/thick-128``, 4 boxes of ``masks/box-128``).  Each variant fills every
crop ``--samples`` times (each crop's noise from its own seed, the same for
every variant), and every fill is scored with :func:`inpaint.metrics.hole_metrics`:
LPIPS, sharpness, the error split into tone (its local mean over the hole) and
detail, the hole's mean-colour error, and the sliced Wasserstein distance of
its 7x7 patches to the truth's.

The variants are fills of the diffusion model that differ only in how the
chain starts (``SamplerConfig.start``, ``strength``, ``sigma_max``), beside
PatchMatch and regression.  A guided start uses the PatchMatch row's own fill,
or the regression row's, as its guide.

Outputs under ``experiments/results/unseen/<tag>/diagnosis/``: ``parts/`` (one
JSON per texture), ``diagnosis.md`` (per family and hole-size bin),
``starts.md`` (one row per variant), the CSV of every row, and grids.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from unseen_benchmark import CROP, CROPS, RESULTS, RUNS, TEXTURES, benchmark_holes, split  # noqa: E402

from inpaint.baselines import patchmatch  # noqa: E402
from inpaint.checkpoint import load_checkpoint  # noqa: E402
from inpaint.evaluate import COLUMNS, EvalSet, crop_seeds, paired_difference, result_rows  # noqa: E402
from inpaint.fill import DEFAULT_SAMPLER, SamplerConfig, fill  # noqa: E402
from inpaint.io import read_image  # noqa: E402
from inpaint.patches import grid_crops  # noqa: E402
from inpaint.perceptual import load_lpips  # noqa: E402
from inpaint.report import markdown_table, save_grid, write_results  # noqa: E402
from inpaint.shards import unit_seed  # noqa: E402

DEFAULT_VARIANT = "pm-0.4"
"""The variant that is the library's default sampler (``fill.DEFAULT_SAMPLER``: PatchMatch's fill, strength 0.4)."""
SHOWN = ("lpips", "sharpness", "tone", "detail", "colour", "patch_swd")
BINS = ((0.0, 0.10, "< 10 %"), (0.10, 0.25, "10-25 %"), (0.25, 1.0, "> 25 %"))
"""Hole-size bins, as the hole's share of the 128x128 crop."""


def variants() -> dict[str, dict]:
    """Every variant by name: ``method`` (patchmatch, regression, diffusion), and for diffusion its sampler and
    guide ('patchmatch', 'regression' or None)."""
    noise = replace(DEFAULT_SAMPLER, start="noise", strength=1.0)  # the sampler before guided starts
    out = {"patchmatch": {"method": "patchmatch"}, "regression": {"method": "regression"},
           "diffusion": {"method": "diffusion", "sampler": noise, "guide": None}}
    for sigma in (80.0, 1000.0):
        out[f"sigma_max-{sigma:g}"] = {"method": "diffusion", "sampler": replace(noise, sigma_max=sigma),
                                       "guide": None}
    out["mean-1"] = {"method": "diffusion", "sampler": replace(noise, start="mean"), "guide": None}
    out["mean-0.6"] = {"method": "diffusion", "sampler": replace(noise, start="mean", strength=0.6),
                       "guide": None}
    for s in (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2):
        out[f"pm-{s:g}"] = {"method": "diffusion", "sampler": replace(noise, start="noise", strength=s),
                            "guide": "patchmatch"}
    for s in (0.6, 0.4):
        out[f"reg-{s:g}"] = {"method": "diffusion", "sampler": replace(noise, strength=s),
                             "guide": "regression"}
    return out


def hole_family(name: str) -> str:
    return "strokes" if name.startswith("thick") else "boxes"


def size_bin(fraction: float) -> str:
    return next(label for lo, hi, label in BINS if lo <= fraction < hi)


def run_texture(entry: dict, args, holes, hole_names, net) -> dict:
    name = Path(entry["file"]).stem
    image, _ = read_image(TEXTURES / entry["file"])
    _, box = split(image)
    data = EvalSet(grid_crops(image, box, CROP, CROPS), holes)
    trained = [m for m in ("diffusion", "regression") if (RUNS / args.tag / name / f"{m}.pt").is_file()]
    models = {m: load_checkpoint(RUNS / args.tag / name / f"{m}.pt") for m in trained}
    nets = {m: c.network() for m, c in models.items()}
    needs = {VARIANTS[v].get("guide") for v in args.variants} | {VARIANTS[v]["method"] for v in args.variants}
    if "regression" in needs and "regression" not in models:
        raise SystemExit(f"{name}: no regression model, which {', '.join(args.variants)} need")
    seeds = crop_seeds(args.seed, name, "diffusion", CROPS)
    fills: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        fills["patchmatch"] = patchmatch(data.masked, data.known, seed=unit_seed(name, "patchmatch"))[None]
        if "regression" in models:
            fills["regression"] = fill(nets["regression"], models["regression"].config, data.masked, data.known)
    rows = []
    for vname in args.variants:
        v = VARIANTS[vname]
        if v["method"] == "diffusion":
            guide = None if v["guide"] is None else fills[v["guide"]][0]
            generators = [torch.Generator().manual_seed(s) for s in seeds]  # each crop's noise its own
            with torch.inference_mode():
                fills[vname] = fill(nets["diffusion"], models["diffusion"].config, data.masked, data.known,
                                    sampler=v["sampler"], samples=args.samples, generator=generators, guide=guide)
        method_rows = result_rows(name, vname, fills[vname], data, list(range(CROPS)), math.nan, net)
        for r in method_rows:
            r.update(family=hole_family(hole_names[r["crop"]]),
                     hole=float((~data.known[r["crop"]]).float().mean()))
        rows += method_rows
        print(f"  {name} {vname}: LPIPS {sum(r['lpips'] for r in method_rows) / len(method_rows):.4f}", flush=True)
    shown = [v for v in args.grid if v in fills and v in args.variants]
    out = RESULTS / args.tag / "diagnosis"
    save_grid({"masked input": data.masked, **{v: fills[v][0] for v in shown}, "truth": data.truth}, data.known,
              out / f"grid_{name}.png", title=f"{name}: held-out crops, strokes then boxes")
    steps = {m: c.step for m, c in models.items()}
    return {"texture": name, "steps": steps, "samples": args.samples, "rows": rows}


def _crop_means(rows: list[dict], key: str) -> dict[tuple, float]:
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        groups.setdefault((r["texture"], r["crop"]), []).append(r[key])
    return {c: sum(v) / len(v) for c, v in groups.items()}


def mean_se(rows: list[dict], key: str) -> tuple[float, float]:
    """Mean over crops (samples averaged first) and its standard error."""
    v = torch.tensor(list(_crop_means(rows, key).values()), dtype=torch.float64)
    return v.mean().item(), (v.std() / len(v) ** 0.5).item() if len(v) > 1 else math.nan


def cell(rows: list[dict], key: str, fmt: str) -> str:
    m, se = mean_se(rows, key)
    return f"{m:{fmt}} ± {se:{fmt}}"


def texture_means(rows: list[dict], key: str = "lpips") -> dict[str, float]:
    out: dict[str, list[float]] = {}
    for (texture, _), v in _crop_means(rows, key).items():
        out.setdefault(texture, []).append(v)
    return {t: sum(v) / len(v) for t, v in out.items()}


FMT = {"lpips": ".3f", "sharpness": ".2f", "tone": ".1f", "detail": ".1f", "colour": ".1f", "patch_swd": ".1f"}
LABEL = {"lpips": "LPIPS", "sharpness": "sharpness", "tone": "tone error", "detail": "detail error",
         "colour": "colour error", "patch_swd": "patch SWD"}


def diagnosis_table(rows: list[dict], methods: list[str]) -> str:
    groups = [("all holes", lambda r: True)]
    groups += [(f, lambda r, f=f: r["family"] == f) for f in ("strokes", "boxes")]
    groups += [(f"holes {label}", lambda r, label=label: size_bin(r["hole"]) == label) for *_, label in BINS]
    table = []
    for gname, keep in groups:
        for m in methods:
            sel = [r for r in rows if r["method"] == m and keep(r)]
            if not sel:
                continue
            crops = len(_crop_means(sel, "lpips"))
            table.append({"holes": gname, "method": m, "crops": str(crops),
                          **{LABEL[k]: cell(sel, k, FMT[k]) for k in SHOWN}})
    return markdown_table(table, ["holes", "method", "crops", *LABEL.values()])


def starts_table(rows: list[dict], names: list[str]) -> str:
    pm = [r for r in rows if r["method"] == "patchmatch"]
    base = {"diffusion": [r for r in rows if r["method"] == "diffusion"]}
    pm_tex = texture_means(pm)
    table = []
    for name in names:
        mine = [r for r in rows if r["method"] == name]
        if not mine:
            continue
        tex = texture_means(mine)
        lp = sum(tex.values()) / len(tex)
        row = {"variant": name, "LPIPS": cell(mine, "lpips", ".4f"),
               "ratio to PatchMatch": f"{lp / (sum(pm_tex[t] for t in tex) / len(tex)):.3f}",
               "better on": f"{sum(tex[t] < pm_tex[t] for t in tex)} of {len(tex)}"}
        for family in ("strokes", "boxes"):
            a = texture_means([r for r in mine if r["family"] == family])
            b = texture_means([r for r in pm if r["family"] == family])
            row[f"{family} ratio"] = f"{sum(a.values()) / sum(b[t] for t in a):.3f}"
        if base["diffusion"] and name != "diffusion":
            d = paired_difference(mine, base["diffusion"])
            row["Δ LPIPS vs diffusion"] = f"{d[0]:+.4f} ± {d[1]:.4f}"
        for k in ("sharpness", "colour", "patch_swd"):
            row[LABEL[k]] = cell(mine, k, FMT[k])
        table.append(row)
    cols = ["variant", "LPIPS", "ratio to PatchMatch", "better on", "strokes ratio", "boxes ratio",
            "Δ LPIPS vs diffusion", "sharpness", "colour error", "patch SWD"]
    return markdown_table(table, cols)


def per_texture_table(rows: list[dict], names: list[str]) -> str:
    """LPIPS per texture of each of ``names``, and each one's ratio to PatchMatch's."""
    means = {n: texture_means([r for r in rows if r["method"] == n]) for n in ["patchmatch", *names]}
    table = []
    for t in sorted(means["patchmatch"]):
        row = {"texture": t, "patchmatch": f"{means['patchmatch'][t]:.4f}"}
        for n in names:
            row[n] = f"{means[n][t]:.4f} ({means[n][t] / means['patchmatch'][t]:.2f})"
        table.append(row)
    return markdown_table(table, ["texture", "patchmatch", *names])


def read_rows(tag: str) -> tuple[list[dict], list[dict]]:
    """The parts of a run's diagnosis, and all their rows."""
    parts = [json.loads(p.read_text()) for p in sorted((RESULTS / tag / "diagnosis" / "parts").glob("*.json"))]
    if not parts:
        raise SystemExit(f"no parts in {RESULTS / tag / 'diagnosis' / 'parts'}")
    return parts, [r for p in parts for r in p["rows"]]


def against_table(rows: list[dict], other: list[dict], other_tag: str) -> str:
    """Per variant of both runs: the LPIPS ratio to PatchMatch of each on their common textures, and this run
    minus the other paired by crop (the crops and fill seeds are the same; the models differ)."""
    textures = {r["texture"] for r in rows} & {r["texture"] for r in other}
    mine = [r for r in rows if r["texture"] in textures]
    theirs = [r for r in other if r["texture"] in textures]
    pm = texture_means([r for r in mine if r["method"] == "patchmatch"])
    table = []
    for name in dict.fromkeys(r["method"] for r in mine):
        a, b = [r for r in mine if r["method"] == name], [r for r in theirs if r["method"] == name]
        if name == "patchmatch" or not b:
            continue
        ta, tb = texture_means(a), texture_means(b)
        d = paired_difference(a, b)
        table.append({"variant": name, "this run": f"{sum(ta.values()) / sum(pm.values()):.3f}",
                      other_tag: f"{sum(tb.values()) / sum(pm.values()):.3f}", "Δ LPIPS": f"{d[0]:+.4f} ± {d[1]:.4f}"})
    return (f"Against `{other_tag}` on {', '.join(sorted(textures))} (ratio to PatchMatch; Δ paired by crop):\n\n"
            + markdown_table(table, ["variant", "this run", other_tag, "Δ LPIPS"]))


def merge(args) -> None:
    out = RESULTS / args.tag / "diagnosis"
    parts, rows = read_rows(args.tag)
    names = list(dict.fromkeys(r["method"] for r in rows))
    steps = ", ".join(f"{p['texture']} {p['steps']['diffusion']}" for p in parts)
    commands = "; ".join(f"`python experiments/hole_diagnosis.py {' '.join(c)}`"
                         for c in dict.fromkeys(tuple(p.get("command", [])) for p in parts))
    commands += f"; tables by `python experiments/hole_diagnosis.py {' '.join(sys.argv[1:])}`"
    head = (f"{len(parts)} textures of data/unseen, models of `{args.tag}` (diffusion steps: {steps}); "
            f"{CROPS} held-out {CROP}x{CROP} crops each (4 strokes, 4 boxes), {parts[0]['samples']} fills per "
            "crop for diffusion. Mean over crops ± standard error over crops (samples averaged first). Errors in "
            "0-255 levels: tone = RMS of the error's local mean over the hole (Gaussian window, sigma 4 px), "
            "detail = RMS of the rest, colour = error of the hole's mean colour, patch SWD = sliced Wasserstein "
            "distance of the 7x7 patches on the hole to the truth's (128 directions).\n")
    diag = diagnosis_table(rows, [m for m in ("diffusion", DEFAULT_VARIANT, "regression", "patchmatch") if m in names])
    (out / "diagnosis.md").write_text(f"# Where the gap to PatchMatch comes from: `{args.tag}`\n\n{head}\n"
                                      f"`diffusion` starts from pure noise (the default before), `{DEFAULT_VARIANT}` "
                                      f"from PatchMatch's fill at strength 0.4 (the default since).\n\n{diag}\n")
    by_texture: dict[str, set] = {}
    for r in rows:
        by_texture.setdefault(r["texture"], set()).add(r["method"])
    everywhere = [n for n in names if n != "regression" and all(n in v for v in by_texture.values())]
    starts = starts_table(rows, everywhere)
    extended = [t for t, v in by_texture.items() if set(names) <= v]
    if len(extended) < len(by_texture):  # some variants ran on some textures only: their own table
        ext_rows = [r for r in rows if r["texture"] in extended]
        starts += (f"\n\nEvery variant, on the {len(extended)} textures that ran them all "
                   f"({', '.join(extended)}):\n\n" + starts_table(ext_rows, [n for n in names if n != "regression"]))
    starts += ("\n\nLPIPS per texture (ratio to PatchMatch's):\n\n"
               + per_texture_table(rows, [n for n in ("diffusion", "mean-1", DEFAULT_VARIANT, "pm-0.3") if n in everywhere]))
    for other in args.against:
        starts += "\n\n" + against_table(rows, read_rows(other)[1], other)
    text = (f"# How the chain starts: `{args.tag}`\n\n{head}\nRatio = mean over textures of the variant's LPIPS "
            "over PatchMatch's (below 1: better); strokes and boxes ratios likewise on those holes; Δ LPIPS is "
            "paired by crop with the pure-noise start. Variants: `diffusion` = the default sampler before guided "
            "starts (SDE-DPM-Solver++(2M), 25 Karras steps from sigma_max 10, pure noise); `sigma_max-S` the same from "
            "S; `mean-X` starts from the known pixels' mean colour at strength X (1: the same first timestep, "
            "keeping the signal that pure noise drops); `pm-X` from PatchMatch's fill and `reg-X` from "
            f"regression's, at strength X ({DEFAULT_VARIANT} is the default since).\n\n{starts}\n\nMade by: {commands}.\n")
    (out / "starts.md").write_text(text)
    write_results(rows, out / "rows.csv", [*COLUMNS, "family", "hole"])
    print((out / "diagnosis.md").read_text())
    print(text)


VARIANTS = variants()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", required=True, help="the unseen benchmark's run whose models are scored")
    parser.add_argument("--textures", default=None, help="comma-separated stems (default: every trained one)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--grid", default="patchmatch,regression,diffusion,mean-1,pm-0.5,pm-0.3")
    parser.add_argument("--samples", type=int, default=2, help="diffusion fills per crop")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fills")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--merge", action="store_true")
    parser.add_argument("--against", default="", help="with --merge: comma-separated runs to compare by crop")
    args = parser.parse_args()
    args.variants = args.variants.split(",")
    args.grid = args.grid.split(",")
    args.against = [t for t in args.against.split(",") if t]
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    if args.merge:
        return merge(args)
    torch.set_num_threads(args.threads)
    entries = json.loads((TEXTURES / "manifest.json").read_text())
    trained = {p.parent.name for p in (RUNS / args.tag).glob("*/diffusion.pt")}
    wanted = set(args.textures.split(",")) if args.textures else trained
    entries = [e for e in entries if Path(e["file"]).stem in wanted & trained]
    holes, hole_names = benchmark_holes()
    net = load_lpips("cpu")
    parts = RESULTS / args.tag / "diagnosis" / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        part = run_texture(entry, args, holes, hole_names, net)
        part["command"] = sys.argv[1:]
        (parts / f"{part['texture']}.json").write_text(json.dumps(part, indent=1) + "\n")
    merge(args)


if __name__ == "__main__":
    main()
