"""Long work for ``inpaint serve``: one job at a time in a worker thread, with progress and cancel.

A job is a function ``work(report)`` run in its own thread. It reports progress
with ``report(phase, done, total)``, which is also where a cancel takes effect:
once :meth:`JobRunner.cancel` is called, the next report raises
:class:`Cancelled`, so any library loop that takes a progress callback
(``fill_windows(progress=...)``, ``train(on_step=...)``) stops within one step.
A second job while one runs is refused with :class:`Busy`, not queued: the
page says so and the user decides to wait or cancel.

Nothing here knows about HTTP; :mod:`inpaint.cli.server` maps these states to JSON.
"""

from __future__ import annotations

import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Busy", "Cancelled", "Job", "JobRunner", "Report", "STATES"]

STATES = ("running", "done", "failed", "cancelled")
Report = Callable[[str, int, int], None]
"""``report(phase, done, total)``: progress of a job; raises :class:`Cancelled` once it is cancelled."""


class Cancelled(Exception):
    """Raised inside a job's work, at its next progress report, after a cancel."""


class Busy(RuntimeError):
    """A job was submitted while another runs."""


@dataclass
class Job:
    """One run of some work: its state, progress and outcome (read by the server, written by the worker)."""

    id: str
    label: str
    state: str = "running"
    phase: str = "starting"
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.perf_counter)
    seconds: float | None = None
    error: str | None = None
    result: Any = None
    cancel_requested: bool = False

    def snapshot(self) -> dict:
        """The job as JSON-ready data (what the page polls)."""
        elapsed = self.seconds if self.seconds is not None else time.perf_counter() - self.started
        return {"id": self.id, "label": self.label, "state": self.state, "phase": self.phase, "done": self.done,
                "total": self.total, "seconds": round(elapsed, 3), "error": self.error}


class JobRunner:
    """Runs at most one job at a time, each in a daemon thread, and keeps the last ``keep`` jobs.

    Parameters
    ----------
    keep : int
        Finished jobs remembered for polling; older ones are forgotten.
    on_error : callable (job, traceback text), optional
        Called when work fails with an unexpected exception (a bug, not a user error), e.g. to log it.
    """

    def __init__(self, *, keep: int = 32, on_error: Callable[[Job, str], None] | None = None):
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._running: Job | None = None
        self._threads: dict[str, threading.Thread] = {}
        self.keep = keep
        self.on_error = on_error

    def submit(self, label: str, work: Callable[[Report], Any], *, user_errors: tuple[type, ...] = (ValueError,)) -> Job:
        """Start ``work(report)`` in a thread and return its job at once.

        ``user_errors`` are exceptions whose message is meant for the user (bad
        input found during the work); any other exception is reported as an
        internal error with its type and message, and passed to ``on_error``.

        Raises
        ------
        Busy
            When a job is already running.
        """
        with self._lock:
            if self._running is not None:
                running = self._running
                raise Busy(f"'{running.label}' is still running ({running.phase}); wait for it or cancel it, "
                           "then fill again")
            job = Job(id=secrets.token_hex(8), label=label)
            self._running = job
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                self._jobs.pop(next(iter(self._jobs)))
        thread = threading.Thread(target=self._run, args=(job, work, user_errors), name=f"inpaint-job-{job.id}",
                                  daemon=True)
        self._threads[job.id] = thread
        thread.start()
        return job

    def _run(self, job: Job, work, user_errors) -> None:
        def report(phase: str, done: int, total: int) -> None:
            if job.cancel_requested:
                raise Cancelled()
            job.phase, job.done, job.total = phase, done, total

        try:
            job.result = work(report)
            job.state = "done" if not job.cancel_requested else "cancelled"
        except Cancelled:
            job.state = "cancelled"
        except user_errors as exc:
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # a bug: the page gets a line, the log the traceback
            job.state, job.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            if self.on_error is not None:
                self.on_error(job, traceback.format_exc())
        finally:
            job.seconds = time.perf_counter() - job.started
            if job.state == "cancelled":
                job.result = None
            with self._lock:
                self._running = None
                self._threads.pop(job.id, None)

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    @property
    def running(self) -> Job | None:
        return self._running

    def cancel(self, job_id: str) -> Job | None:
        """Ask job ``job_id`` to stop at its next progress report; the job (None if unknown)."""
        job = self._jobs.get(job_id)
        if job is not None and job.state == "running":
            job.cancel_requested = True
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        """Block until job ``job_id`` has finished (for tests and shutdown)."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self._jobs.get(job_id)
