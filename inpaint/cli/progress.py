"""Progress bars (tqdm) for the commands: the library reports progress through callbacks, drawn here.

A sampler, ``fill`` and ``restore`` call ``progress(done, total)``; training
calls ``on_step(step, loss)``; :func:`inpaint.compare.run_compare` and the
fillers of :mod:`inpaint.evaluate` ask a ``bars(desc)`` factory for a
callback per stage.  :func:`step_bar` is that one bar.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm


@contextmanager
def step_bar(desc: str, *, disable: bool | None = None, unit: str = "step") -> Iterator:
    """A bar whose callback ``progress(done, total, loss=None)`` sets it to ``done`` of ``total``.

    Its total comes with the first call, so one bar serves whatever the work's
    length turns out to be; ``loss`` shows every tenth step.
    """
    with tqdm(total=None, unit=unit, desc=desc, dynamic_ncols=True,
              disable=progress_disabled() if disable is None else disable) as bar:

        def progress(done: int, total: int, loss: float | None = None) -> None:
            bar.total = total
            bar.update(done - bar.n)
            if loss is not None and done % 10 == 0:
                bar.set_postfix(loss=f"{loss:.4f}")

        yield progress


def bars(desc: str):
    """The ``bars`` factory of :func:`inpaint.compare.run_compare`: a :func:`step_bar` per stage, none for
    regression fills (one network call)."""
    return step_bar(desc, disable=True if desc == "fill regression" else None)


class LazyBar:
    """A progress bar counted in crops (its rate reads as crops per second), opened at the first step
    so that errors found before training starts print cleanly.

    With ``minutes`` (training to a time budget, whose step count is fixed only
    after the first steps) it counts seconds of the budget instead.
    """

    def __init__(self, total_steps: int, initial_step: int, batch: int, desc: str, *, minutes: float | None = None,
                 disable: bool = False):
        if minutes is None:
            self.args = dict(total=total_steps * batch, initial=initial_step * batch, unit="crop", desc=desc,
                             dynamic_ncols=True)
        else:
            self.args = dict(total=round(60 * minutes), unit="s", desc=desc, dynamic_ncols=True,
                             bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} s [{elapsed}<{remaining}{postfix}]")
        self.args["disable"] = progress_disabled(disable)
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


def progress_disabled(quiet: bool = False) -> bool | None:
    """``disable`` for tqdm: True when quiet or TQDM_DISABLE is set, else None (tqdm then hides the bar when
    stderr is not a terminal)."""
    if quiet or os.environ.get("TQDM_DISABLE", "").lower() not in ("", "0", "false"):
        return True
    return None


def go_quiet() -> None:
    """``--quiet`` for commands whose bars are drawn deep in their work: as TQDM_DISABLE=1 for the rest of the process."""
    os.environ["TQDM_DISABLE"] = "1"
