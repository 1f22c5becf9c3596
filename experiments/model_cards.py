"""Write the model card of every shipped model folder: ``data/checkpoints/<name>/MODEL_CARD.md``.

    python experiments/model_cards.py            # write every card
    python experiments/model_cards.py --check    # exit 1 when a card differs from what the files say

A card says what a model is and may be used for: each checkpoint's recipe, steps and parameters (read from
the file itself), where and how long it trained, its training data with origin and licence per file, its
measured quality with the command that measured it, its intended use and limits, and what the licences of
its training data mean for the weights.  Facts that a checkpoint does not hold (hardware, time, data
licences) come from ``data/checkpoints/README.md``, ``data/SOURCES.md`` and ``experiments/prior_corpus.json``.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inpaint.checkpoint import load_checkpoint  # noqa: E402

FOLDER = ROOT / "data" / "checkpoints"
CARD = "MODEL_CARD.md"
TEXTURE_DATA = {
    "brick": "scikit-image 0.26.0, `skimage.data.brick()` (from CC0Textures), 512x512 grey, CC0",
    "grass": "scikit-image 0.26.0, `skimage.data.grass()` (from DeviantArt, CC0), 512x512 grey, CC0",
    "gravel": "scikit-image 0.26.0, `skimage.data.gravel()` (from CC0Textures), 512x512 grey, CC0",
    "cork": "Debian bookworm `mypaint-data-extras` 2.0.1-9, `HR_Cork.png`, 512x512 RGB, CC0-1.0",
    "canvas": "Debian bookworm `mypaint-data-extras` 2.0.1-9, `HR_Canvas 01.png`, 512x512 RGB, CC0-1.0",
}
"""Origin and licence of the shipped textures (data/SOURCES.md, where every sha256 is listed)."""
TEXTURE_HARDWARE = ("this project's 2-core CPU, one torch thread per run, two textures trained at once "
                    "(`python experiments/shipped_models.py --train --jobs 2`)")
PRIOR_HARDWARE = ("this project's 2-core CPU, 2 torch threads, bfloat16 autocast; other work shared the machine "
                  "part of the time")


def recipe(config) -> str:
    d, m = config.diffusion, config.model
    parts = [f"{m.method}", f"width {m.width}, depth {m.depth}"]
    if m.method != "regression":
        parts.append(f"{d.schedule} schedule, T = {d.timesteps}, {d.prediction} prediction")
    parts += [f"crop {config.crop}, batch {config.batch}", f"Adam {config.lr:g}",
              f"warm-up {config.lr_warmup}, decay {config.lr_decay}", f"EMA {config.ema}",
              f"augment {config.augment}", f"precision {config.precision}", f"init {config.init.split('@')[0]}",
              f"seed {config.seed}"]
    return "; ".join(parts)


def parameters(ckpt) -> int:
    return sum(v.numel() for v in ckpt.model.values())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def texture_quality(name: str) -> str:
    """This texture's rows of the shipped models' measurement, as a table."""
    rows = [line for line in (ROOT / "experiments/results/shipped/results.md").read_text().splitlines()
            if line.startswith("| ") and f"| {name}.png |" in line]
    head = ("| holes | texture | method | PSNR (dB) ↑ | SSIM ↑ | LPIPS ↓ | sharpness (1 = truth) | s / fill |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- |")
    return head + "\n" + "\n".join(rows)


def minutes(ckpt) -> str:
    return f"{ckpt.timing['seconds'] / 60:.1f} min" if "seconds" in ckpt.timing else "not recorded"


def texture_card(name: str) -> str:
    files = sorted((FOLDER / name).glob("*.safetensors"))
    ckpts = {f.stem: load_checkpoint(f) for f in files}
    table = "\n".join(f"| `{name}/{m}` | {c.step:,} | {parameters(c):,} | {recipe(c.config)} | {minutes(c)} | "
                      f"`{sha256(f)[:12]}` |" for (m, c), f in zip(ckpts.items(), files))
    return f"""# Model card: `{name}`

Small U-Nets trained on one texture, `data/{name}.png`, by this toolkit's `inpaint train-texture`, so that
`inpaint demo`, `inpaint compare` and `inpaint fill --checkpoint {name}` work without training.

## Models

| model | steps | parameters | recipe | training time | sha256 |
| --- | --- | --- | --- | --- | --- |
{table}

Today's default recipe, trained by `inpaint train-texture data/{name}.png --method all --train-steps 4000 --seed 0`;
`init prior-corpus` is the shipped texture prior (its own card gives its data and licences), `scratch` a fresh network.

## Training

- **Data:** `data/{name}.png` only, its left three quarters (the right quarter is held out for evaluation and
  was never seen in training). Origin and licence: {TEXTURE_DATA[name]}.
- **Hardware and time:** {TEXTURE_HARDWARE}.

## Measured quality

On the held-out quarter, 16 crops of 64x64, the fixed hole sets `masks/thick-64` and `masks/box-64`; the
diffusion model sampled with `fill`'s default sampler (25 steps from PatchMatch's fill at strength 0.4), RePaint
with `compare`'s quick walk (280 network calls). Measured by `python experiments/shipped_models.py`
([results](../../../experiments/results/shipped/results.md)):

{texture_quality(name)}

## Intended use and limits

- Filling holes in images of this texture, and demonstrating and comparing the methods. A model trained on one
  texture knows that texture only: on another image it fills with this texture's look.
- The regression model gives the posterior mean: good PSNR, blurred detail. The diffusion and RePaint models
  draw sharp, plausible fills that are not the truth; do not use them where a fill must be the true content
  (evidence, measurement).
- Grey textures (brick, grass, gravel) give grey models; they fill grey images.

## Licence

The weights are released with the toolkit under the MIT licence. The training image is CC0, so its licence
puts no condition on the weights.{licence_of_init(name, ckpts)}
"""


def licence_of_init(name: str, ckpts: dict) -> str:
    """What a model fine-tuned from the prior inherits: the question of the prior's GPL corpus."""
    from_prior = [m for m, c in ckpts.items() if c.config.init.startswith("prior")]
    if not from_prior:
        return " Every model here starts from scratch: no other data went into it."
    names = ", ".join(f"`{name}/{m}`" for m in from_prior)
    return (f" But {names} was fine-tuned from the texture prior, whose corpus is mostly GPL-licensed game "
            "textures: what that means for its weights is said in [the prior's card](../prior/MODEL_CARD.md), "
            "and applies here too. The other models start from scratch.")


def prior_card() -> str:
    path = FOLDER / "prior" / "diffusion.safetensors"
    ckpt = load_checkpoint(path)
    corpus = json.loads((ROOT / "experiments/prior_corpus.json").read_text())
    licences = collections.Counter((f["package"], f["version"], f["licence"]) for f in corpus)
    by_package = "\n".join(f"| `{p}` {v} | {n} | {lic} |" for (p, v, lic), n in sorted(licences.items()))
    minutes = ckpt.timing.get("seconds", 0) / 60
    return f"""# Model card: `prior`, the texture prior

The default conditional diffusion network pre-trained on many textures, so that `train-texture` and
`restore --init prior` start from it (`inpaint.prior`): a few minutes of fine-tuning then give plausible
texture where training from scratch gives noise.

## Model

| model | steps | parameters | recipe | sha256 |
| --- | --- | --- | --- | --- |
| `prior/diffusion` | {ckpt.step:,} | {parameters(ckpt):,} | {recipe(ckpt.config)} | `{sha256(path)[:12]}` |

## Training

- **Data:** {len(corpus) + len(TEXTURE_DATA)} images, 9.4 Mpixel: the {len(corpus)} images of
  `experiments/prior_corpus.json` (sources, versions and licence per file in `experiments/prior_corpus.md`)
  and the five CC0 textures of `data/` (grey ones repeated to RGB). No image of the unseen-texture benchmark
  (`data/unseen/`), nothing from its packages, and nothing from the packages reserved for independent
  evaluation. Per Debian package:

| package and version | images | licence (the package's copyright file) |
| --- | --- | --- |
{by_package}
| `data/` (scikit-image, mypaint-data-extras) | 5 | CC0 |

- **Hardware and time:** {minutes:.0f} minutes on {PRIOR_HARDWARE}. Command:
  `python experiments/pretrain_prior.py --steps 75000` (the corpus: `python experiments/prior_corpus.py`).

## Measured quality

As the start of fine-tuning, on the 14 textures of `data/unseen/` that it never saw, 8 held-out crops each,
with the sampler of the time (25 steps from pure noise): 1 900 steps from the prior reach LPIPS 0.075 (1.20
times PatchMatch's), against 0.087 (1.39) for 1 900 steps of the recipe of the time from scratch; the prior
untrained fills at 0.111 (1.77). Today's default fill and a 5-minute fine-tune:
[0.98 times PatchMatch's](../../../experiments/results/unseen/library+auto-5min/goal.md)
(`python experiments/unseen_benchmark.py --ablation
default-1900steps,default+prior-0steps,after-uniform+bf16+prior-1900steps --ablation-name ablation-prior-14`,
[table](../../../experiments/results/unseen/ablation-prior-14.md)).

## Intended use and limits

- A starting point for fine-tuning on the user's texture (`--init prior`, the default where it fits: RGB,
  the default network), and a quick fill of RGB textures without training. Alone it draws generic texture,
  not the user's.
- Its corpus is game and graphics art: stone, brick, wood, metal, ground and foliage. It knows nothing of
  faces, text or scenes, and pulls fills towards its corpus's colours when fine-tuned briefly.

## Licence: what the training data's licences mean for these weights

Most of the corpus is licensed under the GNU GPL (version 2 or later, or 3 or later; one krita-data image
under krita's catch-all GPL and LGPL stanza). Whether weights trained on GPL images are a derivative work
of those images is not settled in law. These weights are distributed with the toolkit under the MIT
licence, and this card lists every training file so that each user can decide. If you need weights with
no such question (for example to sell textures made with them), do not use the prior: train with
`--init scratch`, or pre-train your own prior on images whose licences you have cleared
(`experiments/pretrain_prior.py` takes any corpus). Fills made by a model fine-tuned from the prior are
images the model drew, not copies of corpus images, but the same question applies to them.
"""


def cards() -> dict[Path, str]:
    out = {FOLDER / name / CARD: texture_card(name) for name in TEXTURE_DATA}
    out[FOLDER / "prior" / CARD] = prior_card()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    stale = []
    for path, text in cards().items():
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(path)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        raise SystemExit("stale model cards: " + ", ".join(str(p.relative_to(ROOT)) for p in stale))


if __name__ == "__main__":
    main()
