"""``inpaint info``: what a checkpoint holds."""

from __future__ import annotations

from dataclasses import asdict

import click

from ..checkpoint import load_checkpoint
from ..shipped import resolve_checkpoint
from ..unet import count_parameters
from .common import friendly_errors


@click.command()
@click.argument("checkpoint")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@friendly_errors
def info(checkpoint, as_json) -> None:
    """Print what CHECKPOINT holds: method, config, step and parameter count.

    CHECKPOINT is a file or a shipped model: cork (its diffusion model),
    cork/regression, ... The file's sha256 is that of the checkpoint file; the
    texture's is that of its pixels as float32 in [-1, 1] (what compare checks
    a model against), not of the image file.
    """
    import hashlib
    import json

    path = resolve_checkpoint(checkpoint)
    ckpt = load_checkpoint(path)
    holds = [name for name, present in (("weights", True), ("EMA weights", ckpt.ema is not None),
                                        ("optimizer state", ckpt.optimizer is not None),
                                        ("generator state", ckpt.generator is not None),
                                        (f"loss history ({len(ckpt.losses)} steps)", len(ckpt.losses) > 0)) if present]
    record = {"file": str(path), "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
              "method": ckpt.config.method, "step": ckpt.step, "parameters": count_parameters(ckpt.network()),
              "holds": holds, "texture": ckpt.texture, "timing": ckpt.timing, "config": asdict(ckpt.config)}
    if as_json:
        click.echo(json.dumps(record, indent=2, default=str))
        return
    click.echo(f"method: {ckpt.config.method}")
    click.echo(f"step: {ckpt.step}")
    click.echo(f"parameters: {record['parameters']}")
    click.echo(f"file: {path} (sha256 {record['file_sha256'][:12]})")
    click.echo(f"holds: {', '.join(holds)}")
    tex = ckpt.texture
    if tex.get("images"):
        click.echo(f"corpus: {tex.get('name')} ({tex['images']} images, {tex.get('pixels', 0) / 1e6:.1f} Mpixel, "
                   f"sha256 of its images' digests {tex.get('sha256', '')[:12]})")
    elif tex:
        click.echo(f"texture: {tex.get('name')} ({tex.get('height')}x{tex.get('width')}, "
                   f"sha256 of its float32 pixels {tex.get('sha256', '')[:12]})")
    if ckpt.timing:
        click.echo("timing: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in ckpt.timing.items()))
    click.echo("config:")
    for key, value in asdict(ckpt.config).items():
        if isinstance(value, dict):
            click.echo(f"  {key}: " + ", ".join(f"{k}={v}" for k, v in value.items()))
        else:
            click.echo(f"  {key}: {value}")
