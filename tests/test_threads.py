"""Thread-count adaptation: it follows measured throughput, costs little when idle, never changes results."""

import numba
import numpy as np
import pytest

from mcsim.core.threads import AdaptiveThreads, thread_candidates
from mcsim.env import NumbaVecEnv
from mcsim.env.household import sample_pool


def drive(tuner: AdaptiveThreads, seconds_per_call: dict[int, float], calls: int) -> list[int]:
    """Feed ``calls`` calls whose duration depends on the chosen thread count; return the counts used."""
    used = []
    for _ in range(calls):
        threads = tuner.threads
        used.append(threads)
        tuner.record(1.0, seconds_per_call[threads])
    return used


def test_candidates_halve_down_to_one():
    assert thread_candidates(2) == (2, 1)
    assert thread_candidates(12) == (12, 6, 3, 1)
    assert thread_candidates(1) == (1,)


def test_a_quiet_machine_keeps_all_threads_and_tries_rarely():
    tuner = AdaptiveThreads(2, window_seconds=0.05)
    used = drive(tuner, {2: 0.005, 1: 0.010}, 20_000)
    assert tuner.current == 2
    late = used[5_000:]
    assert late.count(1) / len(late) < 0.01  # tries back off: well under 1% of calls after the start


def test_a_busy_core_switches_to_fewer_threads_within_three_windows_and_back_when_it_ends():
    tuner = AdaptiveThreads(2, window_seconds=0.05)
    drive(tuner, {2: 0.005, 1: 0.010}, 2_000)
    assert tuner.current == 2
    drive(tuner, {2: 0.030, 1: 0.011}, 6)  # three windows at most at the busy rate
    assert tuner.current == 1
    used = drive(tuner, {2: 0.030, 1: 0.011}, 3_000)
    assert used[-1000:].count(2) < 60
    drive(tuner, {2: 0.005, 1: 0.010}, 3_000)  # the other process ended: a try finds 2 threads faster
    assert tuner.current == 2


def test_fixed_threads_never_change():
    tuner = AdaptiveThreads(1, adapt=False)
    assert set(drive(tuner, {1: 0.01}, 100)) == {1}
    assert AdaptiveThreads(2, adapt=False).candidates == (2,)


def test_run_sets_and_restores_numba_threads():
    tuner = AdaptiveThreads(1, adapt=False)
    before = numba.get_num_threads()
    with tuner.run() as call:
        assert call.threads == 1 and numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
def test_trajectories_do_not_depend_on_the_thread_count():
    pool = sample_pool(30, seed=3)
    actions = np.random.default_rng(0).random((60, 16, 2), dtype=np.float32)
    runs = []
    for threads in (1, 2, None):
        vec = NumbaVecEnv(16, pool, seed=5, threads=threads)
        if threads is None:
            vec.threads.window_seconds = vec.finish_threads.window_seconds = 0.0  # counts change while it runs
        vec.reset()
        runs.append([vec.step_arrays(step) for step in actions])
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            for x, y in zip(a, b, strict=True):
                np.testing.assert_array_equal(x, y)


def test_a_step_where_episodes_end_is_told_apart_before_it_runs():
    vec = NumbaVecEnv(16, sample_pool(30, seed=4), seed=1, step_months=6)
    vec.reset()
    rng = np.random.default_rng(2)
    kinds = []
    for _ in range(120):
        kinds.append(vec._episodes_end())
        _, _, dones, _ = vec.step_arrays(rng.random((16, 2), dtype=np.float32))
        assert kinds[-1] == bool(dones.any())
    assert any(kinds) and not all(kinds)
