"""Jitted kernels of the dynamic-programming solver (see :mod:`mcsim.optimum.solver`).

Values live on a wealth grid uniform in ``x = log(wealth + shift)``. A value function is stored in
one of two spaces, in which it is close to linear in ``x`` and so interpolates well:

* ``IDENTITY``: the value itself (the planner objective, a probability-like score); clamped at the
  grid's ends, where it is flat;
* ``CERTAINTY``: the log of the certainty-equivalent consumption of a CRRA value relative to the
  reference (``value = weight * crra(exp(y))``, ``weight`` the discounted years still to live).
  For a homothetic problem (Merton, Samuelson) it is exactly linear in ``log wealth``; it is
  extrapolated linearly beyond the grid.

In the ``CERTAINTY`` space a decision's value is computed in that space too, never as a utility:
a CRRA utility ``(x**(1-gamma) - 1) / (1-gamma)`` tends to a constant when ``x`` is large beside
the reference (gamma > 1), and the differences between decisions cancel there. Since the weights
add up (each step's utility weights plus the next value's weight are this value's weight), the
constant ``-1`` drops out of the Bellman equation:
``weight_k * exp((1-gamma) y_k) = sum of utility weight * x**(1-gamma) + E[weight_k+1 * exp((1-gamma) y_k+1)]``,
a weighted power mean of consumption and next certainty equivalents that a log-sum-exp gives
exactly at any scale (log utility: a weighted mean of logs). A step's reward enters in the same
form (:func:`utility_term`, :func:`step_reward`).

A stage's decision is a pair: (savings rate, equity share) while saving, (consumption share of
wealth, equity share) in the consumption stage, (spending action, equity share) in the retirement
stage of the whole life (docs/whole-life.md). Each is chosen on a coarse grid of pairs, then
refined by a pattern search that halves its step down to a tolerance.

The whole life adds a ``life`` tuple of per-step tables to every stage (:func:`action_value`):
``(rate_scale[K], net_keep[K], month_utility[K, M], other_income[K, M], bequest[K, M],
has_bequest[K], log_mean[F], log_var[F])``: the withdrawal rate of action 1, the net share of a
gross withdrawal (tax), each month's utility weight and other income, each month's bequest weight
(death in that month) and whether a step has any, and the monthly portfolio log-return moments at
F equity shares. A stage without them passes zeros (:func:`mcsim.optimum.solver.no_life`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ..core.jit import jit
from ..core.kernels import draw_real_returns
from ..core.rng import seed_stream
from ..env.kernels import CONSUMPTION_FLOOR, SHORTFALL_SHARE, crra

IDENTITY = 0
CERTAINTY = 1

ACCUMULATION = 0
CONSUMPTION = 1
RETIREMENT = 2

PLANNER_REWARD = 0
CRRA_REWARD = 1
NO_REWARD = 2


@jit
def log_add(peak, total, term):
    """One term of a running log-sum-exp: the sum so far is ``total * exp(peak)``, ``term`` the next log."""
    if term == -np.inf:
        return peak, total
    if term > peak:
        return term, total * math.exp(peak - term) + 1.0
    return peak, total + math.exp(term - peak)


@jit
def utility_term(x, weight, mode, gamma):
    """The utility ``weight * crra(x)`` in the form a value combines (see the module docstring).

    ``IDENTITY`` and log utility: the utility itself; otherwise ``log(weight * x**(1-gamma))``.
    """
    if mode == IDENTITY or gamma == 1.0:
        return weight * crra(x, gamma)
    return math.log(weight) + (1.0 - gamma) * math.log(x)


@jit
def interpolate(row, wealth, x0, dx, shift, mode):
    """Row ``row`` of a value table (interpolation space) at ``wealth``, linear in ``log(wealth + shift)``."""
    u = (math.log(max(wealth + shift, 1e-300)) - x0) / dx
    n = row.size
    if mode == IDENTITY:
        u = min(max(u, 0.0), n - 1.0)
    i = min(max(int(math.floor(u)), 0), n - 2)
    t = u - i
    return row[i] + t * (row[i + 1] - row[i])


@jit
def grid_wealth(i, x0, dx, shift):
    """Wealth at grid point ``i``."""
    return max(math.exp(x0 + i * dx) - shift, 0.0)


@jit
def fine_index(share, n_fine):
    """(index, weight) of ``share`` in [0, 1] on a fine grid of ``n_fine`` points, for linear interpolation."""
    position = min(max(share, 0.0), 1.0) * (n_fine - 1)
    j = min(int(position), n_fine - 2)
    return j, position - j


@jit
def accumulation_reward(rate, incomes, discounts, n_months, kind, max_rate, gamma, reference, qol_scale):
    """The quality-of-life reward of one step at savings rate ``rate`` (as the environment's step pays it)."""
    total = 0.0
    kept = 1.0 - rate * max_rate
    for m in range(n_months):
        income = incomes[m]
        if kind == PLANNER_REWARD:
            if income > 0.0:
                total += crra(max(kept, CONSUMPTION_FLOOR), gamma)
        elif kind == CRRA_REWARD:
            consumption = max(income * kept, CONSUMPTION_FLOOR * reference)
            total += discounts[m] * crra(consumption / reference, gamma)
    if kind == PLANNER_REWARD:
        return qol_scale * total
    return total


@jit
def step_reward(control, incomes, discounts, n_months, kind, mode, max_rate, gamma, reference, qol_scale):
    """The accumulation step's reward at savings rate ``control``, as a :func:`utility_term`.

    ``IDENTITY`` and log utility: :func:`accumulation_reward`; otherwise the log of the sum of the
    months' ``discount * (consumption / reference)**(1-gamma)`` (-inf when the step pays none).
    """
    if mode == IDENTITY or gamma == 1.0:
        return accumulation_reward(control, incomes, discounts, n_months, kind, max_rate, gamma, reference,
                                   qol_scale)
    peak, total = -np.inf, 0.0
    if kind == CRRA_REWARD:
        kept = 1.0 - control * max_rate
        for m in range(n_months):
            if discounts[m] > 0.0:
                consumption = max(incomes[m] * kept, CONSUMPTION_FLOOR * reference)
                peak, total = log_add(peak, total, utility_term(consumption / reference, discounts[m], mode, gamma))
    if total > 0.0:
        return peak + math.log(total)
    return -np.inf


@jit
def retirement_reward(net, k, n_months, life, mode, gamma, reference):
    """The retirement step's utility of spending ``net`` evenly over its months with the other income.

    As a :func:`utility_term`: ``IDENTITY`` and log utility the utility itself, otherwise the log of
    the months' ``weight * (consumption / reference)**(1-gamma)`` (-inf when no month counts).
    Months of equal consumption are combined before the logarithm.
    """
    month_utility, other = life[2], life[3]
    floor = CONSUMPTION_FLOOR * reference
    power = mode == CERTAINTY and gamma != 1.0
    linear = 0.0
    peak, total = -np.inf, 0.0
    run_weight, run_c = 0.0, -1.0
    for m in range(n_months + 1):
        c = -2.0
        if m < n_months:
            c = max(net / n_months + other[k, m], floor)
        if c != run_c:
            if run_weight > 0.0:
                if power:
                    peak, total = log_add(peak, total, math.log(run_weight) + (1.0 - gamma) * math.log(run_c / reference))
                else:
                    linear += run_weight * crra(run_c / reference, gamma)
            run_weight, run_c = 0.0, c
        if m < n_months:
            run_weight += month_utility[k, m]
    if not power:
        return linear
    if total > 0.0:
        return peak + math.log(total)
    return -np.inf


@jit
def log_normal_cdf(d):
    """``log Phi(d)`` of the standard normal (-inf far in the left tail)."""
    value = 0.5 * math.erfc(-d / math.sqrt(2.0))
    if value > 0.0:
        return math.log(value)
    return -np.inf


@jit
def lognormal_bequest(weight, log_mean, log_sd, gamma, power, peak, total):
    """``weight * E[crra(max(X, CONSUMPTION_FLOOR))]`` for ``log X ~ N(log_mean, log_sd**2)``, in closed form.

    Power utility: the two log terms of ``weight * E[max(X, floor)**(1-gamma)]`` (below and above
    the floor) added to the running log-sum-exp ``(peak, total)``; log utility: returned as the
    third value.
    """
    floor = math.log(CONSUMPTION_FLOOR)
    if log_sd < 1e-12:
        x = max(log_mean, floor)
        if power:
            peak, total = log_add(peak, total, math.log(weight) + (1.0 - gamma) * x)
            return peak, total, 0.0
        return peak, total, weight * x
    d = (log_mean - floor) / log_sd
    if power:
        p = 1.0 - gamma
        above = math.log(weight) + p * log_mean + 0.5 * p * p * log_sd * log_sd + log_normal_cdf(d + p * log_sd)
        below = math.log(weight) + p * floor + log_normal_cdf(-d)
        peak, total = log_add(peak, total, above)
        peak, total = log_add(peak, total, below)
        return peak, total, 0.0
    # E[max(Y, floor)] for Y ~ N(log_mean, sd^2): floor Phi(-d) + log_mean Phi(d) + sd phi(d).
    density = math.exp(-0.5 * d * d) / math.sqrt(2.0 * math.pi)
    cdf = 0.5 * math.erfc(-d / math.sqrt(2.0))
    return peak, total, weight * (floor * (1.0 - cdf) + log_mean * cdf + log_sd * density)


@jit
def add_bequests(k, invested, saving, equity, n_months, incomes, life, gamma, reference, power, peak, total):
    """The bequests of deaths during step ``k``: a running log-sum-exp ``(peak, total)`` and a linear sum.

    A death in month m of the step leaves ``B(wealth at the end of month m)`` (docs/whole-life.md),
    weighted by the month's bequest weight. The month's gross portfolio return is the solver's
    lognormal (log-moments ``mu``, ``v``). Without saving the wealth at month m is lognormal, and its
    expected utility is in closed form. With saving (``saving`` times ``incomes[m]``, added at each
    month's end) it is a sum of lognormals: a lognormal with its exact mean and variance stands for
    it (Fenton-Wilkinson), from the recursions ``E[C_m] = a E[C_m-1] + s_m``,
    ``E[G_m C_m] = b E[G_m-1 C_m-1] + s_m a**(m+1)``, ``E[C_m**2] = b E[C_m-1**2] + 2 s_m a E[C_m-1] + s_m**2``
    (``G`` the invested growth, ``C`` the savings with their growth, ``a`` and ``b`` the month's
    first and second moments). Returns ``(peak, total, linear)``: log-sum-exp terms (power utility)
    or the utility sum (log utility).
    """
    bequest, log_mean, log_var = life[4], life[6], life[7]
    j, t = fine_index(equity, log_mean.size)
    mu = log_mean[j] + t * (log_mean[j + 1] - log_mean[j])
    var = max(log_var[j] + t * (log_var[j + 1] - log_var[j]), 0.0)
    linear = 0.0
    scale = 12.0 * reference
    if not saving > 0.0:
        base = math.log(max(invested, 1e-300) / scale)
        for m in range(n_months):
            if bequest[k, m] > 0.0:
                peak, total, term = lognormal_bequest(bequest[k, m], base + (m + 1) * mu, math.sqrt((m + 1) * var),
                                                      gamma, power, peak, total)
                linear += term
        return peak, total, linear
    a = math.exp(mu + 0.5 * var)
    b = math.exp(2.0 * mu + 2.0 * var)
    growth_1, growth_2 = 1.0, 1.0  # E[G_m], E[G_m**2]
    saved_1, saved_2, cross = 0.0, 0.0, 0.0  # E[C_m], E[C_m**2], E[G_m C_m]
    for m in range(n_months):
        s = saving * incomes[m]
        saved_2 = b * saved_2 + 2.0 * s * a * saved_1 + s * s
        saved_1 = a * saved_1 + s
        cross = b * cross + s * a * growth_1
        growth_1 *= a
        growth_2 *= b
        if bequest[k, m] > 0.0:
            mean = (invested * growth_1 + saved_1) / scale
            second = (invested * invested * growth_2 + 2.0 * invested * cross + saved_2) / (scale * scale)
            if mean > 0.0:
                log_var_m = math.log(max(second / (mean * mean), 1.0))
                peak, total, term = lognormal_bequest(bequest[k, m], math.log(mean) - 0.5 * log_var_m,
                                                      math.sqrt(log_var_m), gamma, power, peak, total)
            else:
                peak, total, term = lognormal_bequest(bequest[k, m], -np.inf, 0.0, gamma, power, peak, total)
            linear += term
    return peak, total, linear


@jit
def action_value(stage, k, wealth, control, equity, problem, tables, life, next_row, terminal, last, known_reward):
    """Expected value of a decision at step ``k`` and ``wealth``, in the interpolation space of the mode.

    The step's reward plus the next value, by quadrature (``CERTAINTY``: combined as the module
    docstring says). ``control`` is the savings rate (accumulation), the consumption share
    (consumption stage) or the spending action (retirement: a gross withdrawal of
    ``control * rate_scale[k]`` of wealth at the step's start, its net spent evenly over the step's
    months with the other income, the rest invested). ``life`` adds the whole life's tables (module
    docstring): the retirement stage's and the bequests of deaths within a step. At the ``last``
    step the next value comes from the ``terminal`` table, interpolated between its equity columns
    when it has several (the retirement allocation is the last equity share). ``known_reward`` is
    the step's :func:`step_reward` when the caller has it (NaN: compute it).
    """
    (kind, mode, gamma, reference, max_rate, qol_scale, x0, dx, shift) = problem
    (growth, contributions, weights, incomes, discounts, n_months, utility_weight, value_weight, other_income) = tables
    j, t = fine_index(equity, growth.shape[1])
    invested = wealth
    if stage == ACCUMULATION:
        reward = known_reward
        if math.isnan(reward):
            reward = step_reward(control, incomes[k], discounts[k], n_months[k], kind, mode, max_rate, gamma,
                                 reference, qol_scale)
        saving = control * max_rate
    elif stage == RETIREMENT:
        gross = control * life[0][k] * wealth
        reward = retirement_reward(gross * life[1][k], k, n_months[k], life, mode, gamma, reference)
        invested = wealth - gross
        saving = 0.0
    else:
        consumption = max(control * wealth + other_income[k], CONSUMPTION_FLOOR * reference)
        reward = utility_term(consumption / reference, utility_weight[k], mode, gamma)
        invested = (1.0 - control) * wealth
        saving = 0.0
    n_columns = terminal.shape[0]
    column = 0
    column_t = 0.0
    if last and n_columns > 1:
        position = min(max(equity, 0.0), 1.0) * (n_columns - 1)
        column = min(int(position), n_columns - 2)
        column_t = position - column
    power = mode == CERTAINTY and gamma != 1.0
    next_weight = value_weight[k + 1]
    expected = 0.0
    peak, total = -np.inf, 0.0
    bequests = 0.0
    if power:
        peak, total = log_add(peak, total, reward)
    if life[5][k]:
        peak, total, bequests = add_bequests(k, invested, saving, equity, n_months[k], incomes[k], life, gamma, reference,
                                             power, peak, total)
    for q in range(weights.size):
        factor = growth[k, j, q] + t * (growth[k, j + 1, q] - growth[k, j, q])
        added = 0.0
        if saving > 0.0:
            added = saving * (contributions[k, j, q] + t * (contributions[k, j + 1, q] - contributions[k, j, q]))
        after = invested * factor + added
        if last:
            y = interpolate(terminal[column], after, x0, dx, shift, mode)
            if column_t > 0.0:
                y += column_t * (interpolate(terminal[column + 1], after, x0, dx, shift, mode) - y)
        else:
            y = interpolate(next_row, after, x0, dx, shift, mode)
        if power:
            if next_weight > 0.0:
                peak, total = log_add(peak, total, math.log(weights[q] * next_weight) + (1.0 - gamma) * y)
        else:
            expected += weights[q] * y
    if mode == IDENTITY:
        return reward + expected
    if not power:
        return (reward + bequests + next_weight * expected) / value_weight[k]
    return (peak + math.log(total) - math.log(value_weight[k])) / (1.0 - gamma)


@jit
def best_action(stage, k, wealth, problem, tables, life, next_row, terminal, last, controls, equities, tolerance,
                control_rewards):
    """The best (control, equity, value) at step ``k`` and ``wealth``: grid search, then a pattern search.

    ``control_rewards[a]`` is the step's :func:`step_reward` of ``controls[a]`` when it does not
    depend on wealth (accumulation; NaN otherwise). Values compare in the interpolation space,
    which orders them as the values themselves.

    The pattern search tries the eight neighbours at the current step, moves to the best when it
    improves, and halves the step until it is under ``tolerance``.
    """
    best_c, best_e, best = controls[0], equities[0], -np.inf
    for a in range(controls.size):
        c = controls[a]
        for e in equities:
            value = action_value(stage, k, wealth, c, e, problem, tables, life, next_row, terminal, last,
                                 control_rewards[a])
            if value > best:
                best_c, best_e, best = c, e, value
    step_c = 0.5 * (controls[-1] - controls[0]) / max(controls.size - 1, 1)
    step_e = 0.5 * (equities[-1] - equities[0]) / max(equities.size - 1, 1)
    while max(step_c, step_e) >= tolerance:
        centre_c, centre_e = best_c, best_e
        for dc in (-1.0, 0.0, 1.0):
            for de in (-1.0, 0.0, 1.0):
                c = min(max(centre_c + dc * step_c, 0.0), 1.0)
                e = min(max(centre_e + de * step_e, 0.0), 1.0)
                if c == centre_c and e == centre_e:
                    continue
                value = action_value(stage, k, wealth, c, e, problem, tables, life, next_row, terminal, last, np.nan)
                if value > best:
                    best_c, best_e, best = c, e, value
        step_c *= 0.5
        step_e *= 0.5
    return best_c, best_e, best


@jit(parallel=True)
def solve_stage(stage, problem, tables, life, terminal, controls, equities, tolerance, control_out, equity_out,
                values_out):
    """Backward induction over the steps of a stage.

    ``terminal`` float64[n_columns, n_wealth] is the value after the last step (interpolation
    space); writes the best control and equity share float64[n_steps, n_wealth] and the value
    (interpolation space) at each step and grid point. Parallel over grid points.
    """
    (kind, mode, gamma, reference, max_rate, qol_scale, x0, dx, shift) = problem
    incomes, discounts, n_months = tables[3], tables[4], tables[5]
    n_steps, n_wealth = values_out.shape
    control_rewards = np.full(controls.size, np.nan)
    for k in range(n_steps - 1, -1, -1):
        last = k == n_steps - 1
        next_row = terminal[0] if last else values_out[k + 1]
        if stage == ACCUMULATION:
            for a in range(controls.size):
                control_rewards[a] = step_reward(controls[a], incomes[k], discounts[k], n_months[k], kind, mode,
                                                 max_rate, gamma, reference, qol_scale)
        for i in prange(n_wealth):
            wealth = grid_wealth(i, x0, dx, shift)
            c, e, value = best_action(stage, k, wealth, problem, tables, life, next_row, terminal, last, controls,
                                      equities, tolerance, control_rewards)
            control_out[k, i] = c
            equity_out[k, i] = e
            values_out[k, i] = value


@jit(parallel=True)
def retirement_values(market, needs, spending, fee_keep, tax_rate, basis_ratio, equities, wealth, n_paths, block,
                      seed, funded_utility, depleted_utility, discounts, reference, gamma, funded_out, shortfall_out,
                      utility_out):
    """The environment's terminal estimate at every wealth of the grid, for every retirement equity share.

    Retirement path j draws from stream (``seed``, j) exactly as the environment's terminal estimate
    does (one account at the last equity share, its fee, the tax on the gains share, each month's
    need net of pensions). Along a path the gains share of a withdrawal does not depend on the
    capital (basis and balance shrink together; ``basis_ratio`` is the nominal basis per euro of
    capital at retirement), so the balance is ``prod(growth) * (wealth - D_m)`` with ``D_m`` the
    path's discounted gross withdrawals: the path is depleted in the first month where
    ``wealth < D_m``. One pass over a path thus gives its outcome at every wealth of the sorted grid.

    ``funded_utility[m]`` is the discounted utility of the months before m fully paid,
    ``depleted_utility[m]`` that of months m.. on pensions alone, ``discounts[m]`` the weight of month m
    (all zero when the objective needs no utility: it is then skipped).
    Writes float64[n_equities, n_wealth]: the funded probability, the expected shortfall term of
    an estimate from ``block`` paths (the environment's ``mc_paths``: the mean unfunded share over
    the worst ``SHORTFALL_SHARE`` of a block, averaged over the ``n_paths // block`` blocks), and
    the mean discounted utility.
    """
    n_decum = needs.size
    n_wealth = wealth.size
    with_utility = discounts.size > 0 and discounts.max() > 0.0
    need_total = needs.sum()
    block = min(max(block, 1), n_paths)
    n_blocks = n_paths // block
    worst = max(1, int(math.ceil(SHORTFALL_SHARE * block)))
    suffix_need = np.zeros(n_decum + 1)
    for m in range(n_decum - 1, -1, -1):
        suffix_need[m] = suffix_need[m + 1] + needs[m]
    for col in prange(equities.size):
        equity = equities[col]
        real_gross = np.empty((n_decum, 2))
        inflation = np.empty(n_decum)
        bits = np.empty(2 * n_decum, dtype=np.int64)
        threshold = np.empty(n_decum)
        previous = np.empty(n_decum)
        paid_factor = np.empty(n_decum)
        unfunded = np.empty((n_wealth, n_paths))
        funded = np.zeros(n_wealth)
        utility = np.zeros(n_wealth)
        for j in range(n_paths):
            draw_real_returns(seed_stream(seed, j), market, real_gross, inflation, bits)
            cumulative = 1.0
            price_level = 1.0
            withdrawn = 0.0
            for m in range(n_decum):
                cumulative *= (equity * real_gross[m, 0] + (1.0 - equity) * real_gross[m, 1]) * fee_keep
                price_level *= inflation[m]
                net_per_gross = 1.0 - tax_rate * max(0.0, 1.0 - basis_ratio / (cumulative * price_level))
                paid_factor[m] = cumulative * net_per_gross
                previous[m] = withdrawn
                if needs[m] > 0.0:
                    withdrawn += needs[m] / paid_factor[m] if paid_factor[m] > 0.0 else np.inf
                    threshold[m] = withdrawn
                else:
                    threshold[m] = -1.0  # no withdrawal, no depletion this month
            d = 0
            for i in range(n_wealth):
                w = wealth[i]
                while d < n_decum and not w < threshold[d]:
                    d += 1
                if d == n_decum:
                    funded[i] += 1.0
                    unfunded[i, j] = 0.0
                    utility[i] += funded_utility[n_decum]
                    continue
                paid = min(max(paid_factor[d] * (w - previous[d]), 0.0), needs[d])
                unpaid = needs[d] - paid + suffix_need[d + 1]
                unfunded[i, j] = min(1.0, unpaid / need_total) if need_total > 0.0 else 0.0
                if with_utility:
                    consumption = max(spending[d] - needs[d] + paid, CONSUMPTION_FLOOR * reference)
                    utility[i] += (funded_utility[d] + discounts[d] * crra(consumption / reference, gamma)
                                   + depleted_utility[d + 1])
        for i in range(n_wealth):
            funded_out[col, i] = funded[i] / n_paths
            utility_out[col, i] = utility[i] / n_paths
            tail = 0.0
            for b in range(n_blocks):
                tail += np.sort(unfunded[i, b * block : (b + 1) * block])[block - worst :].mean()
            shortfall_out[col, i] = tail / n_blocks
