"""The dynamic-programming optimum: closed forms, the terminal table against the env, the yardstick."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from mcsim.cli.main import cli
from mcsim.core.errors import ParameterError
from mcsim.core.kernels import market_draws
from mcsim.env.environment import EnvConfig
from mcsim.env.household import pool_from_profiles, sample_pool
from mcsim.env.kernels import INFO_SIZE, new_state, reset_env, retirement_path, step_env
from mcsim.env.policies import BASELINES, rollout
from mcsim.env.vec_env import NumbaVecEnv
from mcsim.optimum.kernels import (
    ACCUMULATION,
    CERTAINTY,
    CRRA_REWARD,
    NO_REWARD,
    PLANNER_REWARD,
    accumulation_reward,
    action_value,
)
from mcsim.optimum.merton import MertonProblem
from mcsim.optimum.policy import Optimum
from mcsim.optimum.solver import (
    SolverGrid,
    WealthGrid,
    certainty_equivalent,
    household_incomes,
    household_market,
    lifetime_weight,
    median_path,
    monthly_portfolio_moments,
    no_life,
    reference_consumption,
    solve_consumption,
    solve_household,
    step_tables,
    terminal_values,
)
from mcsim.plugins.agents import get_backend
from mcsim.training.evaluation import OPTIMUM, evaluate

SMALL = SolverGrid(wealth_points=120, terminal_paths=300)


@pytest.fixture(scope="module")
def default_pool():
    return pool_from_profiles(["default"])


@pytest.mark.parametrize("gamma", [2.0, 4.0])
def test_merton_share_matches_the_closed_form_at_every_age_and_wealth(gamma: float) -> None:
    problem = MertonProblem(years=10, gamma=gamma)
    policy = solve_household(problem.pool(), 0, EnvConfig(**problem.env_config()), SMALL)
    assert 0.1 < problem.optimal_share < 0.9
    assert np.abs(policy.equity - problem.optimal_share).max() < 0.02


def samuelson_share(problem: MertonProblem, discount: float, remaining: int) -> float:
    """Consumption share of wealth with ``remaining`` periods left (Samuelson 1969), lognormal iid returns."""
    e = problem.optimal_share
    mu, r, s2 = math.log1p(problem.expected_return), math.log1p(problem.rate), problem.log_variance
    log_mean = r + e * (mu - r) - 0.5 * e * e * s2
    moment = math.exp((1.0 - problem.gamma) * log_mean + 0.5 * (1.0 - problem.gamma) ** 2 * e * e * s2)
    rho = (discount * moment) ** (1.0 / problem.gamma)
    return (1.0 - rho) / (1.0 - rho**remaining)


def assert_samuelson_policy(solution, problem: MertonProblem, discount: float, years: int) -> None:
    """Inside the wealth grid: Samuelson's consumption share at every step and Merton's equity share."""
    inner = (solution.grid.wealth > 0.1) & (solution.grid.wealth < 10.0)
    for k in range(years):
        expected = samuelson_share(problem, discount, years - k)
        assert np.abs(solution.consumption[k, inner] / expected - 1.0).max() < 0.01, k
        if k < years - 1:
            assert np.abs(solution.equity[k, inner] - problem.optimal_share).max() < 0.02
    assert (solution.consumption[-1] == 1.0).all()


@pytest.mark.parametrize("gamma", [2.0, 3.0])
def test_consumption_stage_matches_samuelson_by_remaining_horizon(gamma: float) -> None:
    problem = MertonProblem(gamma=gamma)
    years, discount = 25, 0.97
    solution = solve_consumption(household_market(problem.pool(), 0), years, gamma, discount, (0.01, 100.0),
                                 reference=1e-3, solver=SolverGrid(wealth_points=200, tolerance=1e-5))
    assert_samuelson_policy(solution, problem, discount, years)


@pytest.mark.parametrize("gamma", [2.0, 5.0])
def test_consumption_stage_is_exact_far_above_its_reference(gamma: float) -> None:
    """Consumption about 1,000 and 1e9 times its reference: the CRRA utility saturates there, the solve must not."""
    problem = MertonProblem(gamma=gamma)
    years, discount = 15, 0.97
    market = household_market(problem.pool(), 0)
    solver = SolverGrid(wealth_points=120, tolerance=1e-5)
    solutions = [solve_consumption(market, years, gamma, discount, (0.01, 100.0), reference=reference, solver=solver)
                 for reference in (0.002, 2e-9)]
    for solution in solutions:
        assert np.isfinite(solution.values).all()
        assert_samuelson_policy(solution, problem, discount, years)
        # The value rises with wealth, and without income its certainty equivalent is proportional to it.
        assert (np.diff(solution.values, axis=1) > 0.0).all()
        assert solution.certainty_equivalent(0, 2.0) == pytest.approx(2.0 * solution.certainty_equivalent(0, 1.0),
                                                                      rel=1e-9)
    # The reference only sets the unit: the same values in log certainty equivalents, shifted by log(1e6).
    near, far = solutions
    assert np.abs(far.values - near.values - math.log(1e6)).max() < 1e-9
    assert far.certainty_equivalent(3, 1.5) == pytest.approx(near.certainty_equivalent(3, 1.5), rel=1e-9)
    assert np.abs(far.equity - near.equity).max() <= 2 * solver.tolerance
    assert np.abs(far.consumption - near.consumption).max() <= 2 * solver.tolerance


def test_more_wealth_never_lowers_consumption() -> None:
    problem = MertonProblem()
    pension = np.full(20, 0.05)
    solution = solve_consumption(household_market(problem.pool(), 0), 20, 2.0, 0.97, (0.01, 50.0), income=pension,
                                 reference=0.05, solver=SolverGrid(wealth_points=150))
    consumption = solution.consumption * solution.grid.wealth[None, :] + pension[:, None]
    assert (np.diff(consumption, axis=1) >= -1e-9).all()
    assert math.isfinite(solution.value(0, 1.0)) and solution.value(0, 2.0) > solution.value(0, 1.0)


def test_more_wealth_never_raises_saving_under_crra(default_pool) -> None:
    policy = solve_household(default_pool, 0, EnvConfig(reward="crra"), SMALL)
    # Saving is income not consumed: with more wealth the household consumes at least as much.
    # Where wealth is small beside income (under a tenth of the need) the objective is flat in the
    # rate and linear interpolation between quadrature nodes makes it piecewise smooth: the best
    # rate wiggles there by about a point. Elsewhere steps within the local search's stop are ties.
    steps = np.diff(policy.rate, axis=1)
    small = policy.grid.wealth[1:] < 0.1 * default_pool.need_total[0]
    assert (steps[:, ~small] <= 2 * SMALL.tolerance).all()
    assert (steps[:, small] <= 0.02).all()
    assert (policy.rate[:, 0] >= policy.rate[:, -1]).all() and policy.rate[0, 0] > policy.rate[0, -1] + 0.05


@pytest.mark.parametrize("reward", ["planner", "crra"])
def test_terminal_table_is_the_environment_estimate(reward: str) -> None:
    pool = sample_pool(8, seed=3)
    h = int(np.argmax(pool.tax_rate))
    assert pool.tax_rate[h] > 0.0
    block = 20
    config = EnvConfig(reward=reward, mc_paths=block)
    n_paths, seed, ratio, price_level = 3 * block, 11, 0.6, 1.8
    wealth = np.array([0.0, 0.3, 0.8, 1.5, 3.0]) * pool.need_total[h]
    equities = np.array([0.0, 0.45, 1.0])
    table = terminal_values(pool, h, config, wealth, equities, n_paths, seed, ratio)
    state = new_state(1)
    params = config.params()
    for c, equity in enumerate(equities):
        for i, w in enumerate(wealth):
            # The env at retirement: nominal basis at the ratio (in euros of today) times the price level.
            state.household[0], state.wealth[0], state.basis[0] = h, w, ratio * w * price_level
            state.price_level[0], state.last_equity[0], state.episode_seed[0] = price_level, equity, seed
            outcomes = np.array([retirement_path(pool, params, state, 0, j) for j in range(n_paths)])
            if reward == "crra":
                expected = outcomes[:, 2].mean()
            else:
                # The estimate from each block of mc_paths paths, averaged: its expectation.
                blocks = outcomes.reshape(n_paths // block, block, 3)
                tails = [np.sort(b[:, 1])[-math.ceil(0.1 * block):].mean() for b in blocks]
                expected = config.capital_weight * outcomes[:, 0].mean() - config.risk_weight * np.mean(tails)
            assert table[c, i] == pytest.approx(expected, rel=1e-9, abs=1e-9)


def zero_volatility_household():
    """A sampled household whose last decision step is short, in a market without volatility."""
    pool = sample_pool(40, seed=5)
    h = int(np.flatnonzero((pool.n_accum % 12 != 0) & (pool.income > 0))[0])
    pool = pool.take([h])
    return pool._replace(vol=np.zeros_like(pool.vol), inflation_vol=np.zeros_like(pool.inflation_vol))


@pytest.mark.parametrize("step_months", [12, 3])
@pytest.mark.parametrize("reward", ["planner", "crra"])
def test_solver_step_is_the_environment_step(reward: str, step_months: int) -> None:
    """Wealth after a step and the step's reward, solver against env, in a market without volatility."""
    pool = zero_volatility_household()
    config = EnvConfig(reward=reward, step_months=step_months)
    params = config.params()
    n_accum = int(pool.n_accum[0])
    n_steps = -(-n_accum // step_months)
    incomes = np.zeros((n_steps, step_months))
    discounts = np.zeros((n_steps, step_months))
    n_months = np.empty(n_steps, dtype=np.int64)
    flat = household_incomes(pool, 0)
    for k in range(n_steps):
        months = np.arange(k * step_months, min((k + 1) * step_months, n_accum))
        n_months[k], incomes[k, : months.size] = months.size, flat[months]
        discounts[k, : months.size] = params.monthly_discount**months / 12.0
    growth, contributions, weights = step_tables(household_market(pool, 0), float(pool.fee_keep[0]), incomes, n_months, 1)
    grid = WealthGrid.spanning(1.0, 1e9, 400, 0.0)
    # Terminal value log(wealth) in the certainty space with log utility: the value is log(next wealth), exactly.
    terminal = np.log(grid.wealth)[None, :]
    ones = np.ones(n_steps + 1)
    tables = (growth, contributions, weights, incomes, discounts, n_months, np.zeros(n_steps), ones, np.zeros(n_steps))
    problem = (NO_REWARD, CERTAINTY, 1.0, 1.0, config.max_savings_rate, 0.0, grid.x0, grid.dx, grid.shift)
    kind = PLANNER_REWARD if reward == "planner" else CRRA_REWARD
    scale = config.qol_weight / n_accum
    state, info = new_state(1), np.zeros(INFO_SIZE)
    for k in (0, n_steps // 2, n_steps - 1):
        for wealth, rate, equity in ((50_000.0, 0.3, 0.7), (1_000.0, 1.0, 0.0), (2e6, 0.0, 1.0)):
            reset_env(pool, params, state, 0, 0, -1.0)
            state.month[0], state.wealth[0] = k * step_months, wealth
            reward_env, _ = step_env(pool, params, state, 0, rate, equity, info)
            after = action_value(ACCUMULATION, k, wealth, rate, equity, problem, tables, no_life(n_steps, step_months),
                                 terminal[0], terminal, True, 0.0)
            assert math.exp(after) == pytest.approx(state.wealth[0], rel=1e-9)
            solver_reward = accumulation_reward(rate, incomes[k], discounts[k], n_months[k], kind,
                                                config.max_savings_rate, config.gamma,
                                                reference_consumption(pool, 0), scale)
            assert solver_reward == pytest.approx(reward_env, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("reward", ["planner", "crra"])
def test_solver_value_is_the_simulated_value(reward: str) -> None:
    # A household the optimum funds about half the time: the terminal estimate's shortfall matters.
    pool = sample_pool(40, seed=9).take([9])
    config = EnvConfig(reward=reward, mc_paths=20)
    optimum = Optimum(SMALL)
    policy = optimum.solution(pool, 0, config)
    result = rollout(optimum, pool, 3000, seed=5, reward=reward, mc_paths=20)
    assert 0.2 < result.funded_probability.mean() < 0.95
    returns = result.returns
    error = returns.std(ddof=1) / math.sqrt(returns.size)
    assert abs(returns.mean() - policy.value) < 4 * error + 0.002 * abs(policy.value)


@pytest.mark.parametrize("reward", ["planner", "crra"])
def test_optimum_beats_every_baseline_on_the_same_paths(default_pool, reward: str) -> None:
    evaluation = evaluate({OPTIMUM: Optimum(SMALL), **BASELINES}, default_pool, 400, 0, EnvConfig(reward=reward))
    assert evaluation.share_of_optimum(OPTIMUM) == pytest.approx(1.0)
    for name in BASELINES:
        assert evaluation.share_of_optimum(name) < 1.0
    data = evaluation.to_dict()
    assert data["yardstick"] == ("objective" if reward == "planner" else "certainty equivalent")
    assert set(data["share_of_optimum"]) == {OPTIMUM, *BASELINES}


def test_portfolio_moments_match_the_kernel_market(default_pool) -> None:
    market = household_market(default_pool, 0)
    fee = float(default_pool.fee_keep[0])
    draws = np.array([market_draws(1, path, market, 12)[0] for path in range(4000)]).reshape(-1, 2)
    for equity in (0.0, 0.4, 1.0):
        gross = (equity * draws[:, 0] + (1.0 - equity) * draws[:, 1]) * fee
        mean, variance = monthly_portfolio_moments(market, fee, np.array([equity]))
        error = gross.std() / math.sqrt(gross.size)
        assert math.exp(mean[0] + 0.5 * variance[0]) == pytest.approx(gross.mean(), abs=4 * error)
        assert variance[0] == pytest.approx(np.log(gross).var(), rel=0.03)


def test_certainty_equivalent_of_a_constant_stream(default_pool) -> None:
    config = EnvConfig(reward="crra", gamma=3.0)
    reference = reference_consumption(default_pool, 0)
    consumption = 0.7 * reference
    utility = ((consumption / reference) ** (1 - 3.0) - 1) / (1 - 3.0) * lifetime_weight(default_pool, 0, config)
    assert certainty_equivalent(default_pool, 0, config, utility) == pytest.approx(consumption)


def test_median_path_follows_the_policy(default_pool) -> None:
    config = EnvConfig()
    policy = solve_household(default_pool, 0, config, SMALL)
    path = median_path(default_pool, 0, config, policy)
    assert path.ages[0] == default_pool.start_age[0] and path.ages.size == policy.n_steps
    assert path.wealth[0] == default_pool.wealth[0] and path.capital > path.wealth[-1]
    assert ((path.equity_share >= 0) & (path.equity_share <= 1)).all()
    assert 0.0 < path.basis_ratio <= 1.0


def test_dp_is_a_registered_agent_that_acts(default_pool) -> None:
    env = NumbaVecEnv(3, default_pool, seed=0)
    obs = env.reset()
    agent = get_backend("dp").create(env, {"wealth_points": 60, "terminal_paths": 100})
    actions = agent.predict(obs)
    assert actions.shape == (3, 2) and ((actions >= 0) & (actions <= 1)).all()
    with pytest.raises(ParameterError, match="dp"):
        get_backend("dp").create(env, {"points": 3})


@pytest.mark.parametrize(("field", "value"), [("wealth_points", 5), ("nodes", 0), ("tolerance", 0.0), ("rate_points", 1)])
def test_bad_solver_settings_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ParameterError, match=field):
        SolverGrid(**{field: value})


def test_optimum_command_json_and_bad_input() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["optimum", "young_saver", "--reward", "crra", "--mc", "100", "--wealth-points", "60",
                                 "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["reward"] == "crra" and data["median_market"]["by_age"]
    shares = data["evaluation"]["share_of_optimum"]
    assert shares[OPTIMUM]["median"] == pytest.approx(1.0)
    assert all(shares[name]["median"] < 1.0 for name in BASELINES)
    bad = runner.invoke(cli, ["optimum", "--wealth-points", "3"])
    assert bad.exit_code == 2 and "wealth-points" in bad.output
