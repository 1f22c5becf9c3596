"""Pre-train the shipped texture prior on a corpus of free textures.

    python experiments/prior_corpus.py --debs DEBS --out runs/prior-corpus   # the corpus (see prior_corpus.md)
    python experiments/pretrain_prior.py --minutes 60                        # runs/prior/diffusion.safetensors
    python experiments/pretrain_prior.py --ship                               # data/checkpoints/prior/diffusion.safetensors

The corpus is the images of ``runs/prior-corpus/manifest.json`` plus the five
shipped textures of ``data/`` (grey ones repeated to RGB).  None of them is an
image of the unseen-texture benchmark or comes from one of its packages.  The
recipe is :func:`inpaint.prior.prior_config`; the run trains for ``--minutes``
of wall time (or ``--steps``) and saves every 2 000 steps, so an interrupted
run keeps its work (``--resume`` continues it).  ``--ship`` writes the final
weights without the optimizer state, as the other shipped checkpoints, and a
record of the run beside the results (``experiments/results/prior/``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from inpaint.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from inpaint.io import read_image
from inpaint.prior import prior_config, prior_path
from inpaint.report import plot_losses
from inpaint.shipped import TEXTURES, texture
from inpaint.train import train

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "runs" / "prior-corpus"
RUN = ROOT / "runs" / "prior" / "diffusion.pt"
RESULTS = ROOT / "experiments" / "results" / "prior"


def read_corpus(folder: Path) -> tuple[list[torch.Tensor], list[str]]:
    """The corpus images (1, 3, H, W) in [-1, 1] and their names, manifest first, then the shipped textures."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise SystemExit(f"no corpus at {folder}: build it with experiments/prior_corpus.py (see prior_corpus.md)")
    paths = [folder / e["file"] for e in json.loads(manifest.read_text())] + [texture(t) for t in TEXTURES]
    images = []
    for path in paths:
        x, _ = read_image(path)
        images.append(x.expand(1, 3, *x.shape[-2:]).contiguous() if x.shape[1] == 1 else x)
    return images, [p.name for p in paths]


def ship(run: Path) -> None:
    """Copy the run's final weights into the package, without optimizer or generator state."""
    ckpt = load_checkpoint(run)
    if ckpt.step < ckpt.config.steps:
        raise SystemExit(f"{run} stopped at step {ckpt.step} of {ckpt.config.steps}: finish it with --resume first")
    shipped = Checkpoint(config=ckpt.config, step=ckpt.step, model=ckpt.model, ema=ckpt.ema, losses=ckpt.losses,
                         texture=ckpt.texture, timing=ckpt.timing)
    save_checkpoint(shipped, prior_path())
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot_losses({"prior": ckpt.losses}, RESULTS / "loss.png")
    record = {"steps": ckpt.step, "config": ckpt.config.to_dict(), "corpus": ckpt.texture, "timing": ckpt.timing,
              "final_loss_mean_last_1000": float(ckpt.losses[-1000:].mean())}
    (RESULTS / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {prior_path()} ({ckpt.step} steps) and {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder with the corpus and its manifest.json")
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock training budget")
    parser.add_argument("--steps", type=int, default=None, help="a fixed step count instead of --minutes")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out up to its step count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RUN)
    parser.add_argument("--ship", action="store_true", help="only copy the finished run into the package")
    args = parser.parse_args()
    if args.ship:
        return ship(args.out)
    torch.set_num_threads(args.threads)
    images, names = read_corpus(args.corpus)
    print(f"corpus: {len(images)} images, {sum(x.shape[-2] * x.shape[-1] for x in images) / 1e6:.1f} Mpixel",
          flush=True)
    start = load_checkpoint(args.out) if args.resume else None
    if start is None and args.out.exists():
        raise SystemExit(f"{args.out} exists: pass --resume to continue it")
    steps = start.config.steps if start else (args.steps or 10**9)
    config = prior_config(steps, seed=args.seed)
    t0, last = time.perf_counter(), [time.perf_counter()]

    def on_step(step: int, loss: float) -> None:
        if time.perf_counter() - last[0] > 60:
            last[0] = time.perf_counter()
            print(f"step {step}, loss {loss:.4f}, {(last[0] - t0) / 60:.1f} min", flush=True)

    minutes = None if (args.steps or start) else args.minutes
    ckpt = train(images, config, start=start, out=args.out, device=args.device, on_step=on_step, name="prior-corpus",
                 minutes=minutes, save_every=2000)
    print(f"{ckpt.step} steps in {ckpt.timing['seconds'] / 60:.1f} min; saved {args.out}", flush=True)


if __name__ == "__main__":
    main()
