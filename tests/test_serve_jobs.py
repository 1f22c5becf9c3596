"""The job runner of ``inpaint serve``: one job at a time, progress, cancel at the next report, errors."""

import threading

import pytest

from inpaint.cli.server_jobs import Busy, JobRunner


def test_a_job_runs_reports_progress_and_returns_its_result():
    runner = JobRunner()

    def work(report):
        for i in range(3):
            report("counting", i + 1, 3)
        return "result"

    job = runner.wait(runner.submit("count", work).id, timeout=10)
    assert (job.state, job.result, job.phase, job.done, job.total) == ("done", "result", "counting", 3, 3)
    assert job.snapshot()["state"] == "done" and job.seconds >= 0
    assert runner.running is None


def test_a_second_job_is_refused_while_one_runs_and_cancel_stops_the_first():
    runner = JobRunner()
    started, steps = threading.Event(), []

    def endless(report):
        while True:
            report("looping", len(steps), 0)
            steps.append(1)
            started.set()

    first = runner.submit("endless", endless)
    assert started.wait(10)
    with pytest.raises(Busy, match="'endless' is still running.*cancel"):
        runner.submit("other", lambda report: None)
    runner.cancel(first.id)
    job = runner.wait(first.id, timeout=10)
    assert job.state == "cancelled" and job.result is None
    done = len(steps)
    assert runner.wait(runner.submit("after", lambda report: 1).id, timeout=10).result == 1  # free again
    assert len(steps) == done


def test_user_errors_keep_their_message_and_bugs_are_reported_as_internal():
    logged = []
    runner = JobRunner(on_error=lambda job, text: logged.append(text))

    def bad_input(report):
        raise ValueError("the image is too small")

    def bug(report):
        raise KeyError("oops")

    job = runner.wait(runner.submit("bad", bad_input).id, timeout=10)
    assert (job.state, job.error) == ("failed", "the image is too small")
    assert not logged
    job = runner.wait(runner.submit("bug", bug).id, timeout=10)
    assert job.state == "failed" and job.error.startswith("internal error: KeyError")
    assert len(logged) == 1 and "Traceback" in logged[0]


def test_the_runner_forgets_old_jobs():
    runner = JobRunner(keep=2)
    ids = [runner.wait(runner.submit(str(i), lambda report: i).id, timeout=10).id for i in range(3)]
    assert runner.get(ids[0]) is None and runner.get(ids[2]) is not None
