"""Training throughput on this machine: crops per second in float32 and bfloat16, and the share spent drawing
crops and masks.

    python experiments/train_throughput.py [--crop 64] [--batch 16] [--steps 40] [--threads 2]

The two precisions alternate in rounds, so that a machine whose load changes
during the run affects both alike; the ratio is the number to read.

Writes experiments/results/train_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from inpaint.config import TrainConfig
from inpaint.io import read_image
from inpaint.masks import training_masks
from inpaint.patches import PatchSampler, held_out_box
from inpaint.train import train
from inpaint.unet import ModelConfig

RESULTS = Path(__file__).parent / "results"


def data_seconds(image, config: TrainConfig, steps: int) -> float:
    """Seconds per step spent drawing a batch of crops and hole masks."""
    sampler = PatchSampler(image, config.crop, exclude=held_out_box(*image.shape[-2:]), augment=config.augment)
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        sampler.sample(config.batch, g)
        training_masks(config.batch, config.crop, config.crop, generator=g, families=config.train_masks)
    return (time.perf_counter() - t0) / steps


def step_seconds(image, config: TrainConfig, warmup: int = 5) -> float:
    """Seconds per full training step (crops, masks, forward, backward, Adam, EMA) after a warm-up."""
    times = []
    train(image, config, on_step=lambda step, loss: times.append(time.perf_counter()))
    return (times[-1] - times[warmup]) / (len(times) - 1 - warmup)


def cpu_name() -> str:
    """The processor's model name (Linux), for the record."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texture", default="data/cork.png")
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    image, _ = read_image(args.texture)
    rows = []
    for method in ("regression", "diffusion", "repaint"):
        seconds = {"fp32": [], "bf16": []}
        for _ in range(args.rounds):
            for precision in seconds:
                config = TrainConfig(model=ModelConfig(method, image.shape[1]), crop=args.crop, batch=args.batch,
                                     steps=args.steps, precision=precision)
                seconds[precision].append(step_seconds(image, config))
        data = data_seconds(image, config, args.steps)
        fp32, bf16 = (min(v) for v in seconds.values())
        row = {"method": method, "crops_per_second": args.batch / fp32, "crops_per_second_bf16": args.batch / bf16,
               "bf16_speedup": fp32 / bf16, "data_fraction": data / fp32}
        rows.append(row)
        print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = {"args": vars(args), "torch_threads": torch.get_num_threads(), "cpu": cpu_name(), "rows": rows}
    (RESULTS / "train_throughput.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
