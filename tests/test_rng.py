"""The per-path random streams: distributions, independence and reproducibility."""

from __future__ import annotations

import numpy as np
from scipy import stats

from mcsim.core.jit import jit
from mcsim.core.rng import seed_stream, standard_gamma, standard_normal, uniform


@jit
def _normals(seed, stream, n):
    state = seed_stream(seed, stream)
    out = np.empty(n)
    for i in range(n):
        out[i], state = standard_normal(state)
    return out


@jit
def _uniforms(seed, stream, n):
    state = seed_stream(seed, stream)
    out = np.empty(n)
    for i in range(n):
        out[i], state = uniform(state)
    return out


@jit
def _gammas(seed, shape, n):
    state = seed_stream(seed, 0)
    out = np.empty(n)
    for i in range(n):
        out[i], state = standard_gamma(state, shape)
    return out


def test_normals_are_standard_normal() -> None:
    draws = _normals(np.uint64(1), np.uint64(0), 2_000_000)
    assert stats.kstest(draws, "norm").pvalue > 1e-3
    assert abs(draws.mean()) < 4 / np.sqrt(draws.size)
    assert abs(draws.var() - 1) < 4 * np.sqrt(2 / draws.size)
    # The tails come from the ziggurat's tail and wedge branches: their frequency must be right.
    for threshold in (2.0, 3.0, 3.6541528853610088, 4.0):
        expected = 2 * stats.norm.sf(threshold) * draws.size
        observed = (np.abs(draws) > threshold).sum()
        assert abs(observed - expected) < 5 * np.sqrt(expected) + 5, threshold


def test_uniforms_are_uniform() -> None:
    draws = _uniforms(np.uint64(2), np.uint64(3), 1_000_000)
    assert draws.min() >= 0 and draws.max() < 1
    assert stats.kstest(draws, "uniform").pvalue > 1e-3


def test_gamma_matches_scipy() -> None:
    for shape in (1.0, 1.5, 2.5, 50.0):
        draws = _gammas(np.uint64(4), shape, 400_000)
        assert stats.kstest(draws, "gamma", args=(shape,)).pvalue > 1e-3, shape


def test_streams_are_independent_and_reproducible() -> None:
    a = _normals(np.uint64(7), np.uint64(0), 200_000)
    b = _normals(np.uint64(7), np.uint64(1), 200_000)
    c = _normals(np.uint64(8), np.uint64(0), 200_000)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(a.size)
    assert abs(np.corrcoef(a, c)[0, 1]) < 4 / np.sqrt(a.size)
    np.testing.assert_array_equal(a, _normals(np.uint64(7), np.uint64(0), 200_000))


def test_neighbouring_streams_do_not_share_states() -> None:
    """Many (seed, stream) pairs give distinct first draws: no two streams start alike."""
    firsts = {float(_normals(np.uint64(seed), np.uint64(stream), 1)[0]) for seed in range(20) for stream in range(500)}
    assert len(firsts) == 20 * 500
