"""Mortality: who is alive when, for the kernels and the environment.

``fixed``: the person lives to the horizon (``life_expectancy``). ``gompertz``: the force of mortality
at age x is ``exp((x - m) / b) / b`` (modal age m, dispersion b), so the probability of being alive at
age x given alive at age x0 is ``exp(exp((x0 - m) / b) * (1 - exp((x - x0) / b)))`` (Gompertz, 1825;
the parametrisation of Milevsky, *The 7 Most Important Equations for Your Retirement*, 2012). The
profile's defaults, 88 and 10, are round values of the size Gompertz fits to pensioner mortality
give, not fitted to a table here. A death age is drawn per path by inverting that curve with one
uniform of the path's own stream.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import jit

FIXED = 0
GOMPERTZ = 1
MORTALITY_MODELS = {"fixed": FIXED, "gompertz": GOMPERTZ}


def survival(model: int, modal_age: float, dispersion: float, start_age: float, ages: np.ndarray) -> np.ndarray:
    """Probability of being alive at each of ``ages`` given alive at ``start_age`` (ones when fixed)."""
    ages = np.asarray(ages, dtype=float)
    if model == FIXED:
        return np.ones_like(ages)
    hazard = math.exp((start_age - modal_age) / dispersion)
    return np.exp(hazard * -np.expm1(np.maximum(ages - start_age, 0.0) / dispersion))


def monthly_survival(model: int, modal_age: float, dispersion: float, start_age: float, n_months: int) -> np.ndarray:
    """``S[t]``: alive at the end of month t (t = 0 .. n_months - 1) given alive at ``start_age``."""
    return survival(model, modal_age, dispersion, start_age, start_age + np.arange(1, n_months + 1) / 12.0)


@jit
def death_month(model, modal_age, dispersion, start_age, n_months, u):
    """The month a person alive at ``start_age`` dies in, from a uniform ``u`` in [0, 1).

    ``n_months`` when they outlive the horizon.

    Month t (0-based) is the one whose end they do not see: ``S[t] < 1 - u <= S[t - 1]``.
    """
    if model == FIXED:
        return n_months
    hazard = math.exp((start_age - modal_age) / dispersion)
    alive = 1.0 - u
    # Solve S(x) = alive for the age x: exp((x - x0) / b) = 1 - log(alive) / hazard.
    years = dispersion * math.log1p(-math.log(max(alive, 1e-300)) / hazard)
    months = years * 12.0
    if months >= n_months:
        return n_months
    return int(math.floor(months))
