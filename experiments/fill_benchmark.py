"""Peak memory and time of `inpaint fill` on a 4096x4096 image with 5% of it in holes.

    python experiments/fill_benchmark.py [--size 4096] [--steps 2] [--threads 2]

The whole command is measured, in a subprocess, as a user runs it: start-up,
reading the image and the mask, loading the shipped cork diffusion model,
the windowed fill (DDPM with ``--steps`` strided steps; memory does not depend
on the step count, time is linear in it) and writing the PNG. The image is
data/cork.png tiled to the size; the holes are the scattered ellipses (16 to 32
px across) of restore_benchmark.py. Peak memory is the child's maximum
resident set (``getrusage(RUSAGE_CHILDREN).ru_maxrss``).

Writes experiments/results/fill_benchmark.md.
"""

from __future__ import annotations

import argparse
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from restore_benchmark import HOLE_FRACTION, tiled_image

RESULTS = Path(__file__).parent / "results"
LIMIT_MIB = 2048


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from inpaint.io import read_image, write_image
    from inpaint.masks import scattered_ellipses_mask

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = tiled_image(args.size)
        write_image(image, tmp / "big.png")
        hole = ~scattered_ellipses_mask(args.size, seed=args.size, fraction=HOLE_FRACTION)[0, 0].numpy()
        Image.fromarray(hole.astype(np.uint8) * 255).save(tmp / "mask.png")
        del image
        command = [sys.executable, "-m", "inpaint", "fill", str(tmp / "big.png"), "--mask", str(tmp / "mask.png"),
                   "--checkpoint", "cork", "--steps", str(args.steps), "--threads", str(args.threads),
                   "--out", str(tmp / "filled.png"), "--quiet"]
        t0 = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - t0
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        x, _ = read_image(tmp / "big.png")
        y, _ = read_image(tmp / "filled.png")
        known = torch.from_numpy(~hole)[None, None].expand_as(x)
        assert torch.equal(x[known], y[known]), "known pixels changed"
    size = f"{args.size}x{args.size}"
    text = (
        "# `inpaint fill` on a large image: peak memory\n\n"
        f"`python experiments/fill_benchmark.py --size {args.size} --steps {args.steps} --threads {args.threads}`\n\n"
        f"The whole command (start-up, reading, the shipped cork diffusion model, windowed DDPM fill with "
        f"{args.steps} steps, writing the PNG) on a {size} RGB image (data/cork.png tiled) with "
        f"{hole.mean():.1%} of it in scattered holes (drawn until at least {HOLE_FRACTION:.0%}), "
        f"{args.threads} torch thread(s), "
        f"{platform.machine()}, on this project's 2-core CPU machine (shared with other jobs: the time is an "
        "upper bound).\n\n"
        "| image | hole px | steps | peak resident memory | limit | wall time |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        f"| {size} | {int(hole.sum()):,} | {args.steps} | {peak_mib:.0f} MiB | {LIMIT_MIB} MiB | {seconds:.0f} s |\n\n"
        "Memory does not grow with the steps (each step reuses the same windows); time is linear in them "
        "(restore_benchmark.md gives seconds per step). Known pixels of the output equal the input's.\n"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fill_benchmark.md").write_text(text)
    print(text)
    if peak_mib > LIMIT_MIB:
        raise SystemExit(f"peak {peak_mib:.0f} MiB is above {LIMIT_MIB} MiB")


if __name__ == "__main__":
    main()
