"""Training to a wall-clock budget: time the steps, fix the step count that fits, and keep re-fixing it.

A learning-rate schedule that ends with the budget (Li et al., "Budget-aware
training", ICLR 2020) needs the step count before the end.  The first count
comes from the rate of the first :data:`CALIBRATION_STEPS` steps, which run
inside the warm-up so that no step's rate depends on a count not yet known.
Those steps run slower than the rest, and other work on the machine may start
or stop during a run, so the count is estimated again from the rate of the
latest steps every :data:`RECHECK_SHARE` of the budget, and the schedule
follows the new count: a run ends within a few percent of its budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .checkpoint import Checkpoint
from .config import TrainConfig

CALIBRATION_STEPS = 30
"""Steps timed before a time budget fixes the first step count (the first 5 warm the allocator and are not counted)."""
RECHECK_SHARE = 0.02
"""After the first count, the count is estimated again each time this share of the budget has passed."""
RATE_SHARE = 0.1
"""Each new estimate takes the rate of the steps of about this share of the budget before it: long enough to
average out one slow step, short enough to follow a change of load."""


def budget_steps(budget: float, elapsed: float, done: int, seconds_per_step: float) -> int:
    """Total steps that fit a budget of ``budget`` seconds when ``done`` steps took ``elapsed`` seconds and
    the next ones take ``seconds_per_step`` each (never fewer than ``done``)."""
    if seconds_per_step <= 0:
        raise ValueError(f"seconds_per_step must be positive, got {seconds_per_step}")
    return done + max(0, math.floor((budget - elapsed) / seconds_per_step))


class BudgetClock:
    """The step count of a run with a budget of ``minutes``, from the time its steps take.

    ``tick(step)`` after every step; ``steps`` is None while the first
    :data:`CALIBRATION_STEPS` are timed, then the count that fits, estimated
    again every :data:`RECHECK_SHARE` of the budget from the rate of the
    steps of the last :data:`RATE_SHARE` of it (and at once the budget is
    spent, which stops the run where it is).
    ``record`` is what the checkpoint's ``timing`` keeps of it: the budget, the
    latest rate, and ``plan``, the [step, count] of every change of the count.

    Parameters
    ----------
    minutes : float
    started : float, optional
        The clock's reading when the run began (default: now); setup before the first step counts.
    clock : callable, optional
        Seconds, monotonic (default ``time.perf_counter``); tests give a fake one.
    """

    def __init__(self, minutes: float, started: float | None = None, *,
                 clock: Callable[[], float] = time.perf_counter):
        self.clock, self.budget = clock, 60.0 * minutes
        self.started = clock() if started is None else started
        self.ticks: list[float] = []
        self.steps: int | None = None
        self.checks: list[tuple[float, int]] = []  # (time, step) of every estimate
        self.record = {"budget_minutes": minutes, "calibration_steps": CALIBRATION_STEPS, "plan": []}

    @property
    def calibrating(self) -> bool:
        return self.steps is None

    def tick(self, step: int) -> bool:
        """Note that ``step`` steps are done; True when the step count (``steps``) is set or changed."""
        now = self.clock()
        if self.calibrating:
            self.ticks.append(now)
            if len(self.ticks) < CALIBRATION_STEPS:
                return False
            return self._estimate(now, step, (now - self.ticks[4]) / (CALIBRATION_STEPS - 5))
        since, at = self.checks[-1]
        spent = now - self.started >= self.budget
        if step == at or (now - since < RECHECK_SHARE * self.budget and not spent):
            return False
        since, at = next((t, s) for t, s in self.checks if now - t <= RATE_SHARE * self.budget or (t, s) == (since, at))
        return self._estimate(now, step, (now - since) / (step - at))

    def _estimate(self, now: float, step: int, rate: float) -> bool:
        steps = budget_steps(self.budget, now - self.started, step, max(rate, 1e-9))
        self.checks.append((now, step))
        self.record["seconds_per_step"] = rate
        if steps == self.steps:
            return False
        self.steps = steps
        self.record["plan"].append([step, steps])
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
