"""The demo: regression against diffusion on held-out crops of a shipped texture.

It is :func:`inpaint.compare.run_compare` with two methods, the shipped
checkpoints and one sample per crop, so its numbers are those of the
comparison protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .compare import CompareConfig, overall, run_compare
from .config import TrainConfig
from .fill import SamplerConfig
from .report import summary_markdown
from .shipped import checkpoints_folder

DEMO_TEXTURE = "cork"
"""A shipped texture (:mod:`inpaint.shipped`), or any file."""
DEMO_METHODS = ("regression", "diffusion")
DEMO_MASKS = "thick-64"


def run_demo(*, texture: str = DEMO_TEXTURE, checkpoints: str | None = None, train_steps: int | None = None,
             crops: int = 16, out: Path = Path("out/demo"), seed: int = 0, steps: int | None = None,
             echo: Callable[[str], None] = print) -> list[dict]:
    """Fill held-out crops of ``texture`` with regression and diffusion; print and save the comparison.

    Uses the checkpoints in ``checkpoints`` (default: the shipped ones of the
    texture), or, with ``train_steps``, trains both models with the default
    recipe and caches them. ``steps``: DDPM steps of the diffusion fill (default all T).
    """
    if train_steps is None:
        folder = Path(checkpoints) if checkpoints else checkpoints_folder() / Path(texture).stem
        echo(f"checkpoints: {folder} (to retrain: inpaint demo --train-steps N)")
    train = TrainConfig(steps=train_steps or TrainConfig.steps)
    config = CompareConfig(
        methods=DEMO_METHODS, masks=DEMO_MASKS, crops=crops, samples=1, seed=seed,
        checkpoints=None if train_steps else str(folder), train=train, diffusion=SamplerConfig("ddpm", steps),
    )
    summary = run_compare([texture], config, out=out, echo=echo)
    echo("")
    echo(summary_markdown(summary, overall(summary)))
    echo("")
    echo("PSNR and SSIM on the hole: higher is better; LPIPS: lower is better; sharpness: 1 = as sharp as the truth")
    echo(f"wrote {out / 'grid.png'}, {out / 'plane.png'}, {out / 'summary.md'}")
    return summary
