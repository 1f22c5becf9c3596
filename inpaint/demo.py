"""The demo: regression against diffusion on held-out crops of a shipped texture."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, load_checkpoint
from .config import TrainConfig
from .diffusion import DiffusionConfig
from .evaluate import EvalSet, held_out_eval_set, run_method, score, summary_row
from .fill import SamplerConfig, fill
from .io import read_image
from .report import markdown_table, save_grid
from .train import train
from .unet import ModelConfig

DEMO_TEXTURE = "data/cork.png"
SHIPPED = Path("data/checkpoints")
DEMO_METHODS = ("regression", "diffusion")
DEMO_MASKS = "thick"
COLUMNS = ["method", "psnr", "ssim", "lpips", "sharpness", "seconds_per_fill"]
FORMATS = {"psnr": ".2f", "ssim": ".3f", "lpips": ".3f", "sharpness": ".2f", "seconds_per_fill": ".2f"}


def demo_checkpoints(texture: str, folder: str | None, train_steps: int | None, out: Path, image, echo) -> dict:
    """The shipped checkpoints of ``texture``, those in ``folder``, or freshly trained ones."""
    if train_steps is not None:
        result = {}
        for method in DEMO_METHODS:
            config = TrainConfig(model=ModelConfig(method=method, image_channels=image.shape[1]),
                                 diffusion=DiffusionConfig(prediction="eps"), steps=train_steps)
            with tqdm(total=train_steps * config.batch, unit="crop", desc=f"train {method}", dynamic_ncols=True) as bar:
                result[method] = train(image, config, out=out / "checkpoints" / f"{method}.pt", name=Path(texture).name,
                                       on_step=lambda step, loss: bar.update(config.batch))
        return result
    folder = Path(folder) if folder else SHIPPED / Path(texture).stem
    missing = [m for m in DEMO_METHODS if not (folder / f"{m}.pt").exists()]
    if missing:
        raise CheckpointError(f"no {', '.join(missing)} checkpoint in {folder}; pass --train-steps N to train them")
    echo(f"checkpoints: {folder} (retrain with: inpaint demo --train-steps N)")
    return {m: load_checkpoint(folder / f"{m}.pt") for m in DEMO_METHODS}


def fill_all(checkpoints: dict, data: EvalSet, seed: int) -> tuple[dict, dict]:
    """Every method's fills of ``data`` and their wall time per fill."""
    outputs, seconds = {}, {}
    for name, ckpt in checkpoints.items():
        net = ckpt.network()
        bar = tqdm(desc=f"fill {name}", unit="step", dynamic_ncols=True, disable=name == "regression")

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        def method(x, known):
            generator = torch.Generator().manual_seed(seed)
            return fill(net, ckpt.config, x, known, sampler=SamplerConfig(), generator=generator, progress=progress)[0]

        outputs[name], seconds[name] = run_method(method, data, batch=len(data.truth))
        bar.close()
    return outputs, seconds


def run_demo(*, texture: str, checkpoints: str | None, train_steps: int | None, crops: int, out: Path, seed: int,
             echo: Callable[[str], None] = print) -> list[dict]:
    """Fill held-out crops of ``texture`` with regression and diffusion; print and save the comparison."""
    image, _ = read_image(texture)
    ckpts = demo_checkpoints(texture, checkpoints, train_steps, out, image, echo)
    config = ckpts["diffusion"].config
    data = held_out_eval_set(image, crop=config.crop, count=crops, held_out=config.held_out, masks=DEMO_MASKS, seed=seed)
    echo(f"{len(data.truth)} held-out {config.crop}x{config.crop} crops of {texture}, '{DEMO_MASKS}' holes")
    outputs, seconds = fill_all(ckpts, data, seed)
    rows = [summary_row(name, score(outputs[name], data), seconds[name]) for name in outputs]
    table = markdown_table(rows, COLUMNS, FORMATS)
    out.mkdir(parents=True, exist_ok=True)
    save_grid({"masked input": data.masked, **outputs, "truth": data.truth}, data.known, out / "grid.png",
              title=f"{Path(texture).name}: held-out crops")
    (out / "summary.md").write_text(table + "\n")
    (out / "results.json").write_text(json.dumps(rows, indent=2))
    echo("")
    echo(table)
    echo("")
    echo("psnr and ssim: higher is better; lpips: lower is better; sharpness: 1 = as sharp as the truth")
    echo(f"wrote {out / 'grid.png'}, {out / 'summary.md'}")
    return rows
