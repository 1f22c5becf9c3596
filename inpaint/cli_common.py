"""What every command shares: one-line errors instead of tracebacks, and the device check."""

from __future__ import annotations

import functools

import click
import torch
from tqdm.auto import tqdm


def friendly_errors(fn):
    """Turn library errors into one-line messages and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, OSError, RuntimeError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def resolve_device(name: str) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise click.BadParameter("CUDA was asked for but no GPU is available", param_hint="--device")
    return torch.device(name)


class LazyBar:
    """A progress bar counted in crops (its rate reads as crops per second), opened at the first step
    so that errors found before training starts print cleanly."""

    def __init__(self, total_steps: int, initial_step: int, batch: int, desc: str):
        self.args = dict(total=total_steps * batch, initial=initial_step * batch, unit="crop", desc=desc,
                         dynamic_ncols=True)
        self.batch = batch
        self.bar = None
        self.smoothed = None

    def step(self, step: int, loss: float) -> None:
        if self.bar is None:
            self.bar = tqdm(**self.args)
        self.smoothed = loss if self.smoothed is None else 0.98 * self.smoothed + 0.02 * loss
        self.bar.update(self.batch)
        if step % 10 == 0:
            self.bar.set_postfix(loss=f"{self.smoothed:.4f}", step=step)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
