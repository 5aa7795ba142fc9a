"""lipbook.runner: the latest request wins, one job at a time, with fake jobs (no widgets)."""

import threading
import time

import pytest

from lipbook.runner import LatestRequestRunner


class Recorder:
    """A fake job: ``execute(job, cancelled)`` records the job and, for a "slow" job, checks
    ``cancelled()`` every millisecond for up to ``seconds``."""

    def __init__(self, seconds=2.0):
        self.seconds, self.ran, self.stopped, self.lock = seconds, [], [], threading.Lock()
        self.go = threading.Event()

    def __call__(self, job, cancelled):
        with self.lock:
            self.ran.append(job)
        if job == "fail":
            raise RuntimeError("boom")
        if str(job).startswith("slow"):
            self.go.set()
            end = time.monotonic() + self.seconds
            while time.monotonic() < end:
                if cancelled():
                    self.stopped.append(job)
                    return
                time.sleep(0.001)


def workers(name="lipbook-runner"):
    return [t for t in threading.enumerate() if t.name == name]


def test_run_now_runs_in_the_worker_thread_and_waits():
    where = []
    runner = LatestRequestRunner(lambda job, cancelled: where.append(threading.current_thread()))
    runner.run_now("a")
    assert where and where[0] is not threading.current_thread()
    assert runner.started == runner.completed == 1 and not runner.running
    assert runner.wait(timeout=5) and workers() == []


def test_a_new_request_cancels_the_running_job_and_only_the_last_of_many_runs():
    rec = Recorder()
    runner = LatestRequestRunner(rec)
    runner.submit("slow-0")
    assert rec.go.wait(5) and runner.running
    for i in range(1, 21):  # twenty requests while slow-0 runs: only the last one starts
        runner.submit(f"job-{i}")
        assert len(workers()) <= 1
    assert runner.wait(timeout=10)
    assert rec.ran == ["slow-0", "job-20"] and rec.stopped == ["slow-0"]
    assert runner.peak == 1 and runner.started == 2 and runner.completed == 1
    assert not runner.running and workers() == []


def test_a_failing_job_is_reported_and_the_worker_goes_on():
    rec, errors = Recorder(), []
    runner = LatestRequestRunner(rec, on_error=lambda job, e: errors.append((job, str(e))))
    runner.run_now("fail")
    runner.run_now("after")
    assert errors == [("fail", "boom")] and rec.ran == ["fail", "after"]
    assert runner.completed == 1  # the failed job did not complete


def test_close_cancels_the_running_job_and_refuses_new_ones():
    rec = Recorder(seconds=30)
    runner = LatestRequestRunner(rec)
    runner.submit("slow")
    assert rec.go.wait(5)
    t0 = time.monotonic()
    runner.close(timeout=10)
    assert time.monotonic() - t0 < 5 and rec.stopped == ["slow"] and runner.closed
    runner.submit("late")
    assert runner.wait(timeout=5) and rec.ran == ["slow"] and workers() == []


def test_running_is_true_from_the_moment_a_request_is_taken():
    seen = []
    runner = LatestRequestRunner(lambda job, cancelled: seen.append(runner.running))
    runner.run_now("a")
    assert seen == [True] and not runner.running


def test_interrupting_run_now_cancels_the_job(monkeypatch):
    rec = Recorder(seconds=30)
    runner = LatestRequestRunner(rec)
    calls = []

    def interrupted_wait(timeout=None):
        if not calls:
            calls.append(1)
            assert rec.go.wait(5)
            raise KeyboardInterrupt
        return LatestRequestRunner.wait(runner, timeout)

    monkeypatch.setattr(runner, "wait", interrupted_wait)
    with pytest.raises(KeyboardInterrupt):
        runner.run_now("slow")
    assert runner.wait(timeout=10) and rec.stopped == ["slow"]
