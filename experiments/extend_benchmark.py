"""Larger textures on textures nobody tuned on: ``inpaint extend`` against PatchMatch synthesis.

    python experiments/extend_benchmark.py                     # the shipped prior, untrained on each texture
    python experiments/extend_benchmark.py --minutes 3         # a model fine-tuned on each square (extend's default)
    python experiments/extend_benchmark.py --train-steps 2000  # the same for a step count (the tile benchmark's models)

For each texture of ``data/unseen/`` (the first ``--textures``), its top-left ``--size`` square is grown to twice
its width and height, the square staying top left.  The texture's own pixels there (its top-left square of twice
the side, which neither method was given) are the held-out truth.  Methods: ``inpaint extend`` (cell by cell,
the default sampler); PatchMatch synthesis (PyPatchMatch fills the whole new region at once from the square's
patches); and, as references, the square tiled 2x2 and another part of the texture (its bottom-right square of
twice the side, disjoint from the top-left one), which gives what a real sample of the texture scores.
Measures, on the new pixels only:

- patch SWD: sliced Wasserstein distance between their 7x7 patches and the truth's at the same places
  (:func:`inpaint.metrics.patch_swd`, 0-255 levels): do they have the texture's patch statistics?
- near-copies: the share of their 7x7 patches (every 4 px) within 2 levels RMS of one place of the square
  (:func:`inpaint.metrics.near_copy_share`): how much of the new area is pasted from the input.
- coarse near-copies: the same on both images shrunk 4 times (a patch spans 28 px): copies whose fine detail
  differs a little; a layout whose detail was redrawn as a whole is not caught, and needs the pictures.

``--strengths 0.4,0.6`` runs ``inpaint extend`` at each strength of its guided start (default: the sampler's)
and writes ``results<tag>-strengths.md``; ``--tuning`` takes the six textures of ``data/unseen`` outside the
default eight, on which such choices are made (``-tuning``).

Writes ``experiments/results/extend/results.md`` (``results-<M>min.md`` with ``--minutes``) and each output.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tile_benchmark import (  # noqa: E402
    arguments, file_name, means, model_text, paired, start, strengths, texture_model,
)
from unseen_benchmark import TEXTURES  # noqa: E402

from inpaint.baselines import patchmatch  # noqa: E402
from inpaint.extend import extend, source_known  # noqa: E402
from inpaint.io import read_image, write_image  # noqa: E402
from inpaint.metrics import near_copy_share, patch_swd  # noqa: E402
from inpaint.report import markdown_table  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "extend"
MEASURES = ("patch SWD", "near-copies", "coarse near-copies")


def main() -> None:
    args = arguments(__doc__).parse_args()
    prior, tag = start(args, OUT)
    n, samplers, rows = args.size, strengths(args), []
    for name in args.textures.split(","):
        file = next(p for p in TEXTURES.iterdir() if p.stem == name)
        image, info = read_image(file)
        x, truth = image[..., :n, :n].contiguous(), image[..., : 2 * n, : 2 * n].contiguous()
        known = source_known(n, n, 2 * n, 2 * n)
        model = texture_model(name, x, prior, minutes=args.minutes, steps=args.train_steps)
        results, t0 = {}, time.perf_counter()
        for label, sampler in samplers.items():
            results["inpaint extend" + label] = extend(model.network(), model.config, x, 2 * n, 2 * n,
                                                       sampler=sampler, generator=torch.Generator().manual_seed(0))
        seconds = (time.perf_counter() - t0) / len(samplers)
        canvas = torch.where(known, truth, torch.zeros_like(truth))
        results |= {"PatchMatch synthesis": patchmatch(canvas, known, seed=0),
                    "tiled 2x2 (reference)": x.repeat(1, 1, 2, 2),
                    "another part of the texture (reference)": image[..., -2 * n:, -2 * n:]}
        for method, y in results.items():
            rows.append({"texture": name, "method": method, "patch SWD": float(patch_swd(y, truth, known)[0]),
                         "near-copies": near_copy_share(y, x, known),
                         "coarse near-copies": near_copy_share(y, x, known, scale=4)})
            if "another part" not in method:
                write_image(y, OUT / f"{name}-{file_name(method)}{tag}.png", info)
        print(f"{name}: extend {seconds:.1f} s; " + ", ".join(
            f"{r['method']} " + "/".join(f"{r[k]:.2f}" for k in MEASURES) for r in rows[-len(results):]), flush=True)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    text = [f"# Larger textures: {len(rows) // len(methods)} textures of data/unseen\n",
            f"The top-left {n}x{n} square of each texture grown to {2 * n}x{2 * n}; `inpaint extend` with "
            f"{model_text(model, prior, args.minutes)}, the default sampler, cells of 64 px. On the new pixels: patch SWD against the "
            "texture's own pixels there (0-255 levels; lower is closer to the texture's patch statistics) and "
            "the share of 7x7 patches that are near-copies (RMS < 2 levels) of one place of the square (visible "
            "repetition), and that share on both images shrunk 4 times (copies whose fine detail differs a little; "
            "a layout whose detail was redrawn as a whole is not caught). "
            "The last reference is the texture's bottom-right square of that size: what a real sample of the "
            "texture scores on both.\n",
            markdown_table(rows + means(rows, MEASURES), ["texture", "method", *MEASURES],
                           {"patch SWD": ".2f", "near-copies": ".3f", "coarse near-copies": ".3f"}),
            "\nPaired differences over the textures (mean +- standard error; negative: lower than PatchMatch):\n",
            *paired(rows, dict.fromkeys(MEASURES), "PatchMatch synthesis",
                    [m for m in methods if m.startswith("inpaint")]),
            f"\nCommand: `python {' '.join(sys.argv)}`.\n"]
    (OUT / f"results{tag}.md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
