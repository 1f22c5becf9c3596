"""Seamless tiles on textures nobody tuned on: ``inpaint tile`` against the input as it is, GIMP's blend with
the half-shifted image, and PatchMatch over the same band.

    python experiments/tile_benchmark.py                       # the shipped prior, untrained on each texture
    python experiments/tile_benchmark.py --minutes 3           # a model fine-tuned on each texture (tile's default)
    python experiments/tile_benchmark.py --train-steps 2000    # the same for a step count, whatever the load

For each texture of ``data/unseen/`` (the first ``--textures``), the top-left ``--size`` square is made to tile
four ways; the measures are the seam energy of a 2x2 tiling (:func:`inpaint.tile.seam_energy`; 1.0 = no seam)
and the band's patch statistics: the sliced Wasserstein distance (:func:`inpaint.metrics.patch_swd`, 0-255
levels) between the 7x7 patches across the seams (in the half-shifted image, where the seams cross) and those
at the same places of another square of the same texture (its bottom-right one), which has no seam.
Writes ``experiments/results/tile/results.md`` (``results-<M>min.md`` with ``--minutes``) and a 2x2 tiling per
texture and method.  The fine-tuned models are kept in ``runs/synthesis/``, where the extend benchmark finds them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from unseen_benchmark import TEXTURES  # noqa: E402

from inpaint.baselines import patchmatch  # noqa: E402
from inpaint.checkpoint import load_checkpoint  # noqa: E402
from inpaint.fill import SamplerConfig  # noqa: E402
from inpaint.io import read_image, write_image  # noqa: E402
from inpaint.metrics import patch_swd  # noqa: E402
from inpaint.prior import prior_path  # noqa: E402
from inpaint.report import markdown_table  # noqa: E402
from inpaint.tile import DEFAULT_BAND, half_shift, make_tileable, seam_energy, seam_known  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "tile"
RUNS = Path(__file__).resolve().parent.parent / "runs" / "synthesis"
DEFAULT_TEXTURES = "bark,bricks,lawn,marble,planks,shingles,stone,tiles"
TUNING_TEXTURES = "earth,lichen,metal,moss,sand,stonewall"
"""The other six textures of data/unseen: choices (the strength of the guided start) are made on them, and
measured on the default eight."""


def texture_model(name: str, x: torch.Tensor, prior, *, minutes: float | None = None, steps: int | None = None):
    """``prior`` itself, or a model fine-tuned from it on all of ``x`` for ``minutes`` (the default of ``inpaint
    tile`` and ``extend``) or ``steps`` (a count the machine's load does not change), kept in ``runs/synthesis/``
    so that the tile and extend benchmarks share it."""
    if not minutes and not steps:
        return prior
    from dataclasses import replace

    from inpaint.checkpoint import save_checkpoint
    from inpaint.restore import restore_config, train_on_texture

    path = RUNS / f"{name}-{x.shape[-2]}x{x.shape[-1]}-{model_tag(minutes, steps)}.pt"
    if path.is_file():
        return load_checkpoint(path)
    config = restore_config(x.shape[1])
    model = train_on_texture(x, replace(config, steps=steps or config.steps), minutes=minutes, init=prior, name=name)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, path)
    return model


def model_tag(minutes: float | None, steps: int | None) -> str:
    """``3min``, ``2000steps``, or '' for the untrained prior: in the names of the results and models."""
    return f"{minutes:g}min" if minutes else f"{steps}steps" if steps else ""


def model_text(model, prior, minutes: float | None) -> str:
    """How the model of each square was made, for a results file."""
    if model is prior:
        return "the shipped texture prior, untrained on these textures"
    budget = f"{minutes:g} minutes" if minutes else f"{model.step} steps"
    return f"a model fine-tuned on each square for {budget} from the prior"


def arguments(doc: str) -> argparse.ArgumentParser:
    """The options the tile and extend benchmarks share: which textures, the square's side, the model, threads."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--textures", default=DEFAULT_TEXTURES)
    parser.add_argument("--tuning", dest="textures", action="store_const", const=TUNING_TEXTURES,
                        help=f"the textures on which choices are made ({TUNING_TEXTURES}); results named -tuning")
    parser.add_argument("--size", type=int, default=256, help="side of the square taken from each texture")
    parser.add_argument("--minutes", type=float, default=None,
                        help="fine-tune a model on each square for this long (default: the prior, untrained)")
    parser.add_argument("--train-steps", type=int, default=None,
                        help="fine-tune a model on each square for this many steps instead")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--strengths", default=None,
                        help="comma-separated strengths of the guided start to compare (default: the sampler's); "
                             "the results file's name then ends in -strengths")
    return parser


def strengths(args: argparse.Namespace) -> dict[str, SamplerConfig]:
    """The samplers of ``--strengths``, by the method's name in the tables: ``inpaint``'s default, or
    ``inpaint, strength 0.6`` for each strength asked."""
    if args.strengths is None:
        return {"": SamplerConfig()}
    return {f", strength {float(v):g}": SamplerConfig(strength=float(v)) for v in args.strengths.split(",")}


def start(args: argparse.Namespace, out: Path):
    """Threads set, ``out`` made; returns the prior and the results' name tag (``-3min``, ``-2000steps``, '',
    then ``-strengths`` and ``-tuning`` with those options)."""
    torch.set_num_threads(args.threads)
    out.mkdir(parents=True, exist_ok=True)
    tag = "-" + model_tag(args.minutes, args.train_steps) if args.minutes or args.train_steps else ""
    return load_checkpoint(prior_path()), tag + ("-strengths" if args.strengths else "") + (
        "-tuning" if args.textures == TUNING_TEXTURES else "")


def file_name(method: str) -> str:
    """``inpaint tile, strength 0.6`` -> ``inpaint-tile-strength-0.6``; a reference's note in brackets left out."""
    return method.split(" (")[0].replace(",", "").replace(" ", "-")


def gimp_blend(x: torch.Tensor) -> torch.Tensor:
    """GIMP's "Make Seamless": the image blended with its half-shifted copy, the copy's weight 1 at the borders
    (where the image's own seams are) and 0 at the centre (where the copy's seams are)."""
    H, W = x.shape[-2:]
    ry = 1 - (2 * torch.arange(H, dtype=x.dtype) / (H - 1) - 1).abs()
    rx = 1 - (2 * torch.arange(W, dtype=x.dtype) / (W - 1) - 1).abs()
    w = (ry[:, None] * rx[None, :]).clamp(0, 1)  # 1 at the centre, 0 on the borders
    return w * x + (1 - w) * half_shift(x)


def patchmatch_band(x: torch.Tensor, band: int, seed: int = 0) -> torch.Tensor:
    H, W = x.shape[-2:]
    known = seam_known(H, W, band)
    return half_shift(patchmatch(half_shift(x), known, seed=seed), back=True)


def band_swd(tiled: torch.Tensor, reference: torch.Tensor, band: int) -> float:
    H, W = tiled.shape[-2:]
    return float(patch_swd(half_shift(tiled), reference, seam_known(H, W, band))[0])


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--band", type=int, default=DEFAULT_BAND)
    args = parser.parse_args()
    prior, tag = start(args, OUT)
    samplers, rows = strengths(args), []
    for name in args.textures.split(","):
        file = next(p for p in TEXTURES.iterdir() if p.stem == name)
        image, info = read_image(file)
        n = args.size
        x, reference = image[..., :n, :n].contiguous(), image[..., -n:, -n:].contiguous()
        model = texture_model(name, x, prior, minutes=args.minutes, steps=args.train_steps)
        results = {"as is": x, "GIMP blend": gimp_blend(x), "PatchMatch band": patchmatch_band(x, args.band)}
        t0 = time.perf_counter()
        for label, sampler in samplers.items():
            results["inpaint tile" + label] = make_tileable(model.network(), model.config, x, band=args.band,
                                                            sampler=sampler, generator=torch.Generator().manual_seed(0))
        seconds = (time.perf_counter() - t0) / len(samplers)
        for method, y in results.items():
            rows.append({"texture": name, "method": method, "seam energy": seam_energy(y),
                         "band patch SWD": band_swd(y, reference, args.band)})
            write_image(y.repeat(1, 1, 2, 2), OUT / f"{name}-{file_name(method)}{tag}-2x2.png", info)
        print(f"{name}: inpaint tile {seconds:.1f} s; " + ", ".join(
            f"{r['method']} {r['seam energy']:.2f}/{r['band patch SWD']:.2f}" for r in rows[-len(results):]),
            flush=True)
    measures = ("seam energy", "band patch SWD")
    methods = list(dict.fromkeys(r["method"] for r in rows))
    text = [f"# Seamless tiles: {len(rows) // len(methods)} textures of data/unseen\n",
            f"The top-left {args.size}x{args.size} square of each texture made to tile; band {args.band} px; "
            f"`inpaint tile` with {model_text(model, prior, args.minutes)} and the default sampler. Seam energy of the 2x2 tiling (1.00: no "
            "seam); band patch SWD: 7x7 patches across the seams against the same places of the texture's "
            "bottom-right square (0-255 levels; lower is closer to the texture).\n",
            markdown_table(rows + means(rows, measures), ["texture", "method", *measures],
                           {"seam energy": ".2f", "band patch SWD": ".2f"}),
            "\nPaired differences over the textures (mean +- standard error; negative: lower than the other "
            "method; for the seam energy, the distance to 1.00 is compared):\n",
            *paired(rows, {"seam energy": lambda v: abs(v - 1), "band patch SWD": None}, "PatchMatch band",
                    [m for m in methods if m.startswith("inpaint")]),
            f"\nCommand: `python {' '.join(sys.argv)}`.\n"]
    (OUT / f"results{tag}.md").write_text("\n".join(text))
    print("\n".join(text))


def means(rows: list[dict], measures) -> list[dict]:
    """A ``**mean**`` row per method of ``rows``, over its textures."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    return [{"texture": "**mean**", "method": m, **{k: statistics.fmean(r[k] for r in rows if r["method"] == m)
                                                   for k in measures}} for m in methods]


def paired(rows: list[dict], measures: dict, baseline: str, methods: list[str]) -> list[str]:
    """For each of ``methods``, a line of its paired differences to ``baseline`` over the textures: for each
    measure (seen through its function, when one is given) the mean +- the standard error, and on how many
    textures it is lower."""
    by = {(r["texture"], r["method"]): r for r in rows}
    textures = list(dict.fromkeys(r["texture"] for r in rows))
    lines = []
    for m in methods:
        parts = []
        for k, seen in measures.items():
            f = seen or (lambda v: v)
            d = [f(by[t, m][k]) - f(by[t, baseline][k]) for t in textures]
            se = statistics.stdev(d) / len(d) ** 0.5 if len(d) > 1 else float("nan")
            parts.append(f"{k} {statistics.fmean(d):+.3f} +- {se:.3f} (lower on {sum(v < 0 for v in d)} of {len(d)})")
        lines.append(f"- {m} - {baseline}: " + "; ".join(parts))
    return lines


if __name__ == "__main__":
    main()
