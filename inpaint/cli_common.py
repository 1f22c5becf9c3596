"""What every command shares: one-line errors instead of tracebacks, and the device check."""

from __future__ import annotations

import functools
import time

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
    so that errors found before training starts print cleanly.

    With ``minutes`` (training to a time budget, whose step count is fixed only
    after the first steps) it counts seconds of the budget instead.
    """

    def __init__(self, total_steps: int, initial_step: int, batch: int, desc: str, *, minutes: float | None = None):
        if minutes is None:
            self.args = dict(total=total_steps * batch, initial=initial_step * batch, unit="crop", desc=desc,
                             dynamic_ncols=True)
        else:
            self.args = dict(total=round(60 * minutes), unit="s", desc=desc, dynamic_ncols=True,
                             bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} s [{elapsed}<{remaining}{postfix}]")
        self.minutes = minutes
        self.batch = batch
        self.bar = None
        self.smoothed = None
        self.started = None

    def step(self, step: int, loss: float) -> None:
        if self.bar is None:
            self.bar = tqdm(**self.args)
            self.started = time.perf_counter()
        self.smoothed = loss if self.smoothed is None else 0.98 * self.smoothed + 0.02 * loss
        if self.minutes is None:
            self.bar.update(self.batch)
        if step % 10 == 0:
            if self.minutes is not None:
                self.bar.update(min(self.bar.total, time.perf_counter() - self.started) - self.bar.n)
            self.bar.set_postfix(loss=f"{self.smoothed:.4f}", step=step)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --- options and checks every command that writes or computes shares ----------------------------------------


def progress_disabled(quiet: bool = False) -> bool | None:
    """``disable`` for tqdm: True when quiet or TQDM_DISABLE is set, else None (tqdm then hides the bar when
    stderr is not a terminal)."""
    import os

    if quiet or os.environ.get("TQDM_DISABLE", "").lower() not in ("", "0", "false"):
        return True
    return None


def go_quiet() -> None:
    """``--quiet`` for commands whose library code draws bars: as TQDM_DISABLE=1 for the rest of the process."""
    import os

    os.environ["TQDM_DISABLE"] = "1"


def quiet_option(fn):
    return click.option("--quiet", "-q", is_flag=True, help="No progress bars and no messages but errors.")(fn)


def threads_option(fn):
    return click.option("--threads", type=click.IntRange(min=1), default=None,
                        help="CPU threads for torch [default: torch's choice, usually one per core].")(fn)


def set_threads(threads: int | None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)


def overwrite_option(fn):
    return click.option("--overwrite", is_flag=True, help="Replace output files that exist.")(fn)


def check_overwrite(paths, overwrite: bool, param_hint: str = "--out") -> None:
    """The one overwrite rule: an output that exists is refused unless ``--overwrite``, before any work."""
    from pathlib import Path

    existing = [Path(p) for p in paths if Path(p).exists()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise click.BadParameter(f"{existing[0]}{more} exists; pass --overwrite to replace it", param_hint=param_hint)


def init_option(default: str):
    """The ``--init`` option of the commands that train, with ``default``."""
    return click.option("--init", default=default, show_default=True,
                        help="Weights training starts from: auto (the shipped texture prior where it fits the "
                             "network, else scratch), scratch, prior (diffusion only), or a checkpoint file.")


def check_init_option(value: str, methods) -> None:
    """'prior' fits the diffusion method only (fail before any training)."""
    from .prior import PRIOR

    if value == PRIOR and any(m != "diffusion" for m in methods):
        raise click.BadParameter(f"the shipped prior is a diffusion model; it cannot start "
                                 f"{', '.join(m for m in methods if m != 'diffusion')}", param_hint="--init")
