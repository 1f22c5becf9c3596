"""One denoising step of the U-Net at 128x128: FLOPs, the machine's matrix and convolution rates, and time.

    python experiments/profile_step.py [--checkpoint data/checkpoints/cork/diffusion.safetensors] [--compile]

Counts the network's FLOPs with torch.utils.flop_counter, measures torch.mm
(SGEMM) and one 32-channel 3x3 convolution (oneDNN) on this CPU, and times
one step of make_denoiser (the plain path) and fast_denoiser (the path of
fill and restore), optionally also under torch.compile, with 1 and 2 torch
threads and batches of 1 and 8.  Every time is the best of several repeats,
which on a shared machine is the least disturbed one.  Writes
experiments/results/profile_step.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from inpaint.checkpoint import load_checkpoint
from inpaint.diffusion import make_denoiser
from inpaint.inference import fast_denoiser
from inpaint.report import markdown_table

RESULTS = Path(__file__).parent / "results"
SIZE = 128


def best_seconds(fn, repeats: int = 6, inner: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def machine_rates(threads: int) -> dict:
    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    sgemm = 2 * 2048**3 / best_seconds(lambda: a @ b, 4, 1)
    x = torch.randn(8, 32, SIZE, SIZE).contiguous(memory_format=torch.channels_last)
    w = torch.randn(32, 32, 3, 3).contiguous(memory_format=torch.channels_last)
    conv = 2 * 8 * 32 * 32 * 9 * SIZE * SIZE / best_seconds(lambda: F.conv2d(x, w, padding=1), 4, 1)
    return {"threads": threads, "sgemm_gflops": sgemm / 1e9, "conv_gflops": conv / 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="data/checkpoints/cork/diffusion.safetensors")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile of the fast path")
    args = parser.parse_args()
    ckpt = load_checkpoint(args.checkpoint)
    net, schedule = ckpt.network().eval(), ckpt.config.diffusion.noise_schedule()
    g = torch.Generator().manual_seed(0)
    rates = [machine_rates(n) for n in (1, 2)]
    rows, flops = [], None
    for batch in (1, 8):
        x = torch.rand(batch, 3, SIZE, SIZE, generator=g) * 2 - 1
        known = torch.rand(batch, 1, SIZE, SIZE, generator=g) > 0.25
        x_t, t = torch.randn(batch, 3, SIZE, SIZE, generator=g), torch.full((batch,), 500)
        paths = {"make_denoiser": make_denoiser(net, schedule, "eps", x_known=x * known, known=known),
                 "fast_denoiser": fast_denoiser(net, schedule, "eps", x_known=x, known=known)}
        with torch.inference_mode():
            if flops is None:
                with FlopCounterMode(display=False) as counter:
                    paths["make_denoiser"](x_t[:1], t[:1])
                flops = counter.get_total_flops()
            for threads in (1, 2):
                torch.set_num_threads(threads)
                if args.compile:
                    t0 = time.perf_counter()
                    compiled = torch.compile(paths["fast_denoiser"], dynamic=False)
                    compiled(x_t, t)
                    paths["compiled"] = compiled
                    compile_s = time.perf_counter() - t0
                for name, fn in paths.items():
                    s = best_seconds(lambda: fn(x_t, t)) / batch
                    row = {"path": name, "batch": batch, "threads": threads, "ms_per_image_step": 1000 * s,
                           "gflops": flops / s / 1e9}
                    if name == "compiled":
                        row["compile_s"] = compile_s
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    load = os.getloadavg()
    header = (f"{ckpt.config.method} network of {args.checkpoint} at {SIZE}x{SIZE}: {flops / 1e9:.3f} GFLOP per image and step "
              f"(torch.utils.flop_counter). {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end (a shared machine).\n\n"
              + markdown_table(rates, ["threads", "sgemm_gflops", "conv_gflops"], {"sgemm_gflops": ".0f", "conv_gflops": ".0f"})
              + "\n\n")
    columns = ["path", "batch", "threads", "ms_per_image_step", "gflops"] + (["compile_s"] if args.compile else [])
    table = markdown_table(rows, columns, {"ms_per_image_step": ".1f", "gflops": ".0f", "compile_s": ".1f"})
    (RESULTS / "profile_step.md").write_text(header + table + "\n")
    (RESULTS / "profile_step.json").write_text(json.dumps({"args": vars(args), "flops": flops, "rates": rates, "rows": rows,
                                                           "loadavg": load}, indent=2))


if __name__ == "__main__":
    main()
