"""How the env step shares the cores, so that a busy machine slows it gracefully.

Every parallel region waits for its slowest thread, and an env step is several short regions: when
another process holds one of two cores, a step with 2 Numba threads waits for the thread that the
other process displaced, and OpenMP's waiting threads spin on the cores the working ones need
(measured: 0.33 to 0.56 of the 1-thread rate). :class:`AdaptiveThreads` picks the thread count of a
repeated parallel call from its measured throughput, so the step runs on 1 thread while the other
core is taken and on both when it is free. Results never depend on the thread count (every env and
path has its own random stream), only speed does.

Rejected, measured by ``bench/contention.py``: ``OMP_WAIT_POLICY=PASSIVE`` (waiting threads sleep
instead of spinning) removes the collapse too, but the wake-ups cost a third of the rate on a quiet
machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numba


def thread_candidates(most: int) -> tuple[int, ...]:
    """The thread counts worth trying: ``most``, then halving down to 1 (2 -> (2, 1); 12 -> (12, 6, 3, 1))."""
    counts = [max(1, most)]
    while counts[-1] > 1:
        counts.append(max(1, counts[-1] // 2))
    return tuple(counts)


@contextmanager
def numba_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` Numba threads, then restore the count."""
    previous = numba.get_num_threads()
    if threads == previous:
        yield
        return
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@dataclass
class Call:
    """One timed call: the thread count it runs with, and the work it did (set by the caller)."""

    threads: int
    work: float = 1.0


class AdaptiveThreads:
    """Chooses the Numba thread count of a repeated parallel call by its measured throughput.

    Calls are grouped into windows of at least ``window_seconds`` of kernel time, and their rate is
    their work (as the caller counts it: calls of uneven cost must say so) per second. Each window runs
    with the current count and updates its rate (work per second, smoothed); when another count's
    last measured rate is higher by ``margin``, the next window switches to it (a busy core is
    noticed within a window or two). The first window, which pays one-time costs, is not rated.
    Every ``interval`` windows one window tries the next other
    count; a try that loses doubles the interval (up to ``max_interval``), so on a quiet machine
    the tries cost well under 1%; a try that wins switches and resets it.

    :param most: the largest thread count (default: Numba's current count).
    :param adapt: False keeps ``most`` threads for every call.
    """

    def __init__(self, most: int | None = None, *, adapt: bool = True, window_seconds: float = 0.02,
                 margin: float = 0.05, min_interval: int = 8, max_interval: int = 256) -> None:
        most = most or numba.get_num_threads()
        self.candidates = thread_candidates(most) if adapt else (most,)
        self.window_seconds = window_seconds
        self.margin = margin
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.current = self.candidates[0]
        self.rates: dict[int, float] = {}
        self._trying: int | None = None
        self._next_try = 2
        self._interval = min_interval
        self._windows = 0
        self._settled = False
        self._work = 0.0
        self._seconds = 0.0

    @property
    def threads(self) -> int:
        """The thread count of the next call."""
        return self._trying if self._trying is not None else self.current

    @contextmanager
    def run(self) -> Iterator[Call]:
        """Run one call with the chosen thread count, timing it; the block sets ``call.work`` (default 1)."""
        call = Call(self.threads)
        start = time.perf_counter()
        with numba_threads(call.threads):
            yield call
        self.record(call.work, time.perf_counter() - start)

    def record(self, work: float, seconds: float) -> None:
        """Count a call of ``work`` units that took ``seconds``; close the window when it is long enough."""
        if len(self.candidates) == 1:
            return
        self._work += work
        self._seconds += seconds
        if self._seconds >= self.window_seconds:
            self._close_window(self._work / self._seconds)
            self._work = self._seconds = 0.0

    def _close_window(self, rate: float) -> None:
        if self._windows == 0:  # the first window pays one-time costs (threads starting, cold caches)
            self._windows = 1
            return
        if self._trying is not None:
            tried, self._trying = self._trying, None
            self.rates[tried] = rate
            if rate > self.rates.get(self.current, 0.0) * (1.0 + self.margin):
                self._switch(tried)
            else:
                self._interval = min(2 * self._interval, self.max_interval)
        else:
            # A count's first window after a switch replaces its (possibly stale) rate; later ones average.
            previous = self.rates.get(self.current)
            self.rates[self.current] = rate if previous is None or not self._settled else 0.5 * (previous + rate)
            self._settled = True
            best = max(self.rates, key=self.rates.__getitem__)
            if best != self.current and self.rates[best] > self.rates[self.current] * (1.0 + self.margin):
                self._switch(best)
        self._windows += 1
        if self._windows >= self._next_try:
            self._next_try = self._windows + self._interval
            others = [n for n in self.candidates if n != self.current]
            self._trying = others[(self._windows // max(1, self._interval)) % len(others)]

    def _switch(self, threads: int) -> None:
        self.current, self._interval, self._settled = threads, self.min_interval, False
