"""Timing and peak memory of one stage, each in a fresh interpreter.

A stage runs in a spawned child process, so one stage's peak resident memory (the kernel's
high-water mark, ``ru_maxrss``) cannot carry into the next and imports done by one stage are
not free for the next. Inside the child, the stage loads its input, then times only its own
work with ``Clock``; the peak is read when the timed block ends (it includes the interpreter,
the libraries and the stage's input, which the stage needs in memory anyway), before any
output is saved for the next stage.
"""
from __future__ import annotations

import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field


@dataclass
class StageRun:
    """One measured stage: what the table prints."""
    scale: str
    stage: str
    rows: int = 0
    seconds: float = 0.0
    peak_mib: float = 0.0
    skipped: str | None = None  # the reason, when the stage did not run
    extra: dict = field(default_factory=dict)  # counts for reconciliation, notes

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.seconds > 0 and self.rows else None


class Clock:
    """``with Clock() as clock: work()`` -> clock.seconds, clock.peak_mib (process peak so far)."""

    seconds: float = 0.0
    peak_mib: float = 0.0

    def __enter__(self) -> Clock:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._started
        self.peak_mib = peak_mib()


def peak_mib() -> float:
    """This process's peak resident set size so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def isolated(function, *args, **kwargs):
    """``function(*args, **kwargs)`` in a fresh spawned interpreter; its return value."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args, **kwargs).result()
