"""Training to a wall-clock budget: time the first steps, then fix the step count that fits.

A learning-rate schedule that ends with the budget (Li et al., "Budget-aware
training", ICLR 2020) needs the step count before the end; the count comes
from the rate of the first :data:`CALIBRATION_STEPS` steps, which run inside
the warm-up so that no step's rate depends on the count before it is known.
"""

from __future__ import annotations

import math
import time

from .checkpoint import Checkpoint
from .config import TrainConfig

CALIBRATION_STEPS = 30
"""Steps timed before a time budget fixes the step count (the first 5 warm the allocator and are not counted)."""


def budget_steps(budget: float, elapsed: float, done: int, seconds_per_step: float) -> int:
    """Total steps that fit a budget of ``budget`` seconds when ``done`` steps took ``elapsed`` seconds and
    the next ones take ``seconds_per_step`` each (never fewer than ``done``)."""
    if seconds_per_step <= 0:
        raise ValueError(f"seconds_per_step must be positive, got {seconds_per_step}")
    return done + max(0, math.floor((budget - elapsed) / seconds_per_step))


class BudgetClock:
    """Times the first :data:`CALIBRATION_STEPS` steps of a run and then fixes the step count that fits.

    The first 5 steps warm the allocator and are not counted in the rate.
    ``record`` is what the checkpoint's ``timing`` keeps of it.
    """

    def __init__(self, minutes: float, started: float):
        self.started, self.ticks, self.steps = started, [], None
        self.record = {"budget_minutes": minutes}

    @property
    def calibrating(self) -> bool:
        return self.steps is None

    def tick(self, step: int) -> bool:
        """Note that ``step`` steps are done; True once the step count is fixed (in ``steps``)."""
        self.ticks.append(time.perf_counter())
        if len(self.ticks) < CALIBRATION_STEPS:
            return False
        rate = (self.ticks[-1] - self.ticks[4]) / (CALIBRATION_STEPS - 5)
        self.steps = budget_steps(60 * self.record["budget_minutes"], self.ticks[-1] - self.started, step, rate)
        self.record.update(seconds_per_step=rate, calibration_steps=CALIBRATION_STEPS)
        return True


def check_budget(config: TrainConfig, minutes: float, start: Checkpoint | None) -> None:
    """Raise ``ValueError`` unless :func:`train` can train ``config`` to a budget of ``minutes``."""
    if not minutes > 0:
        raise ValueError(f"the time budget must be positive, got {minutes} minutes")
    if start is not None and start.step > 0:
        raise ValueError("a time budget starts a new run; resume with a step count instead")
    if config.lr_decay != "none" and config.lr_warmup < CALIBRATION_STEPS:
        raise ValueError(f"a time budget with a decaying learning rate needs lr_warmup >= {CALIBRATION_STEPS} "
                         f"(the steps timed before the step count is fixed), got {config.lr_warmup}")
