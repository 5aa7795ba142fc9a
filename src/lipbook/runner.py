"""Latest request wins: one worker thread runs one job at a time, and a new request replaces
the one waiting and cancels the one running.

The playground (:mod:`lipbook.widgets`) submits a job at every control change; twenty changes in
a second must leave exactly one run going, the last, and none once it ends. The runner knows
nothing of widgets: a job is any value, and ``execute(job, cancelled)`` runs it, calling
``cancelled()`` at the points where it can stop (the trainer's callback) and stopping when it
returns True (a newer request, or :meth:`LatestRequestRunner.close`).

>>> seen = []
>>> runner = LatestRequestRunner(lambda job, cancelled: seen.append(job))
>>> runner.run_now("a"); runner.submit("b"); runner.wait(timeout=10)
True
>>> seen, runner.started
(['a', 'b'], 2)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["LatestRequestRunner"]


class LatestRequestRunner:
    """Runs ``execute(job, cancelled)`` for the newest submitted job, one at a time.

    ``started``: jobs handed to ``execute``; ``completed``: those that returned without being
    cancelled or raising; ``peak``: the most run at once (1, by design).
    An exception that ``execute`` raises is passed to ``on_error(job, exception)`` (default:
    ignored), so the worker outlives any failure.
    """

    def __init__(self, execute: Callable, on_error: Callable | None = None,
                 name: str = "lipbook-runner"):
        self._execute, self._on_error, self._name = execute, on_error, name
        self._cond = threading.Condition()  # guards every field below
        self._pending = None  # (generation, job): the newest request not yet started
        self._generation = 0  # bumped by every request; a job whose number is old is cancelled
        self._worker = None  # the worker thread while it lives
        self._last_thread = None  # the last worker thread (wait() joins it)
        self._busy = False  # the worker holds a job (from taking it to execute's return)
        self._alive = 0
        self.started = 0
        self.completed = 0
        self.peak = 0
        self.closed = False

    def submit(self, job) -> None:
        """Make ``job`` the newest request; a job in progress stops at its next check."""
        with self._cond:
            if self.closed:
                return
            self._generation += 1
            self._pending = (self._generation, job)
            if self._worker is None:
                last = self._last_thread
                if last is not None and last is not threading.current_thread():
                    # why: a worker that just found nothing to do has only its return left;
                    # joining it keeps to one worker thread at any moment
                    last.join()
                self._worker = threading.Thread(target=self._work, daemon=True, name=self._name)
                self._worker.start()

    def run_now(self, job) -> None:
        """Submit ``job`` and wait until it (and anything submitted meanwhile) has run.

        It still runs in the worker thread, the caller waiting: on a busy machine torch's
        intra-op threads made the main thread's tiny ops wait for a descheduled thread (README,
        "The trainer's defaults": 8x slower).
        Interrupting the wait (KeyboardInterrupt) cancels the job."""
        self.submit(job)
        try:
            self.wait()
        except KeyboardInterrupt:
            self.cancel()
            raise

    def cancel(self) -> None:
        """Drop the waiting request and stop the running job at its next check."""
        with self._cond:
            self._generation += 1
            self._pending = None

    def close(self, timeout: float = 30) -> None:
        """Cancel everything and refuse new requests; wait up to ``timeout`` s for the worker."""
        with self._cond:
            self.closed = True
        self.cancel()
        self.wait(timeout=timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job runs or waits; False when ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            ok = self._cond.wait_for(lambda: self._worker is None and self._pending is None,
                                     timeout)
            thread = self._last_thread
        if ok and thread is not None:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            ok = not thread.is_alive()
        return ok

    @property
    def running(self) -> bool:
        """Whether a job is in progress or about to start."""
        with self._cond:
            return self._busy or self._pending is not None

    def _work(self) -> None:
        while True:
            with self._cond:
                pending, self._pending = self._pending, None
                # why here: between taking a job and running it, `running` stays true
                self._busy = pending is not None and not self.closed
                if not self._busy:
                    self._worker = None
                    self._cond.notify_all()
                    return
                self._last_thread = threading.current_thread()
                self._alive += 1
                self.started += 1
                self.peak = max(self.peak, self._alive)
            generation, job = pending
            cancelled = lambda g=generation: self._generation != g  # noqa: E731
            ok = False
            try:
                self._execute(job, cancelled)
                ok = True
            except Exception as e:  # noqa: BLE001 - the worker must outlive any failure
                if self._on_error is not None:
                    self._on_error(job, e)
            finally:
                with self._cond:
                    self._alive -= 1
                    self.completed += ok and not cancelled()
