"""The optimum over the whole life: closed forms, the environment's step, its value by simulation, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.optimize import minimize_scalar

from mcsim.cli.main import cli, main
from mcsim.core.errors import ParameterError
from mcsim.env.environment import EnvConfig
from mcsim.env.household import sample_pool
from mcsim.env.kernels import INFO_SIZE, LIFE_SPENDING_SCALE, new_state, reset_env, step_env
from mcsim.env.policies import rollout
from mcsim.env.vec_env import NumbaVecEnv
from mcsim.env.withdrawal_policies import WITHDRAWAL_RULES, life_baselines
from mcsim.optimum.kernels import (
    ACCUMULATION,
    CERTAINTY,
    CRRA_REWARD,
    RETIREMENT,
    action_value,
    add_bequests,
    retirement_reward,
    step_reward,
)
from mcsim.optimum.merton import MertonProblem
from mcsim.optimum.policy import Optimum
from mcsim.optimum.solver import (
    LifeTimeline,
    SolverGrid,
    WealthGrid,
    certainty_equivalent,
    decision_steps,
    life_stage,
    lifetime_weight,
    median_path,
    reference_consumption,
    solve_household,
)

SMALL = SolverGrid(wealth_points=100)


def retiree_pool(problem: MertonProblem, years: int):
    """Merton's market, wealth 1, no income, no pension, fixed mortality: a year of work (nothing to save), then ``years``.

    The reference (target) consumption is 1e-3, far below what the wealth pays: the floor never binds inside the grid.
    """
    months = 12 * years
    return problem.pool()._replace(
        n_accum=np.array([12]), n_decum=np.array([months]), plan_saving=np.zeros((1, 12)), target=np.array([1e-3]),
        spending=np.zeros((1, months)), needs=np.zeros((1, months)), other_income=np.zeros((1, months)),
        survival=np.ones((1, months + 12)),
    )


def monthly_power_moment(problem: MertonProblem, equity: float, power: float) -> float:
    """``E[r**power]`` of the month's gross return holding ``equity`` (rebalanced monthly), by 64-node quadrature."""
    pool = problem.pool()
    z, w = np.polynomial.hermite_e.hermegauss(64)
    gross = equity * np.exp(pool.drift[0, 0] + pool.vol[0, 0] * z) + (1.0 - equity) * math.exp(pool.drift[0, 1])
    return float(w @ gross**power / w.sum())


def discrete_samuelson(problem: MertonProblem, discount: float) -> tuple[float, float]:
    """The discrete-time optimum of the env's retirement with yearly steps: (equity share, q).

    Each year the household withdraws ``c W`` at the step's start and spends it evenly over the
    year's 12 months (utility ``discount**(t/12) crra(c W / 12 / reference) / 12`` a month, no
    income, no bequest): the year's utility is ``discount**k * delta * crra(c W / 12 / reference)``
    with ``delta`` the same every year, so this is Samuelson's yearly problem with ``beta =
    discount``. The rest grows by the year's gross return ``R``, the product of 12 iid monthly
    returns of the mix: ``E[R**(1-gamma)] = E[r**(1-gamma)]**12``. CRRA with iid returns: the best
    mix maximizes ``E[r**(1-gamma)] / (1-gamma)`` whatever the horizon, and the consumption share
    with n years left is ``1 / sum_{k<n} q**k``, ``q = (beta E[R**(1-gamma)])**(1/gamma)``.
    """
    power = 1.0 - problem.gamma
    best = minimize_scalar(lambda e: -monthly_power_moment(problem, e, power) / power, bounds=(0.0, 1.0),
                           method="bounded", options={"xatol": 1e-8})
    q = (discount * monthly_power_moment(problem, best.x, power) ** 12) ** (1.0 / problem.gamma)
    return float(best.x), float(q)


@pytest.mark.parametrize("gamma", [2.0, 3.0])
def test_retirement_reproduces_samuelson_and_merton(gamma: float) -> None:
    """Withdrawn share ``a0 * min(1, 4 / n)`` against ``1 / sum q**k`` by years left n; the equity share against Merton's."""
    problem = MertonProblem(gamma=gamma)
    years, discount = 25, 0.97
    pool = retiree_pool(problem, years)
    config = EnvConfig(horizon="life", reward="crra", gamma=gamma, discount=discount)
    policy = solve_household(pool, 0, config, SolverGrid(wealth_points=60, tolerance=1e-5))
    assert policy.n_working == 1 and policy.n_steps == 1 + years
    equity, q = discrete_samuelson(problem, discount)
    assert abs(equity - problem.optimal_share) < 0.005  # monthly rebalancing moves Merton's share by little
    inner = (policy.grid.wealth > 0.05) & (policy.grid.wealth < 20.0)
    worst = 0.0
    for n in range(years, 0, -1):
        k = policy.n_working + years - n
        withdrawn = policy.rate[k, inner] * min(1.0, LIFE_SPENDING_SCALE / n)
        closed_form = 1.0 / sum(q**j for j in range(n))
        worst = max(worst, np.abs(withdrawn / closed_form - 1.0).max())
        assert ((policy.rate[k, inner] > 0.0) & (policy.rate[k, inner] <= 1.0)).all()
        if n > 1:
            assert np.abs(policy.equity[k, inner] - problem.optimal_share).max() < 0.02
            assert np.abs(policy.equity[k, inner] - equity).max() < 0.02
    assert worst < 0.01
    assert (policy.rate[-1] == 1.0).all()  # the last year spends everything
    # The working year invests for the retirement's homothetic value: Merton's share again.
    assert np.abs(policy.equity[0, inner] - problem.optimal_share).max() < 0.02


def zero_volatility_retiree():
    """A sampled household with Gompertz mortality, income, pension and tax, in a market without volatility."""
    pool = sample_pool(40, seed=5, mortality="gompertz")
    h = int(np.flatnonzero((pool.tax_rate > 0) & (pool.income > 0) & (pool.pension > 0))[0])
    pool = pool.take([h])
    return pool._replace(vol=np.zeros_like(pool.vol), inflation_vol=np.zeros_like(pool.inflation_vol))


@pytest.mark.parametrize("step_months", [12, 3])
def test_solver_steps_are_the_environment_steps(step_months: int) -> None:
    """Wealth after a step and the step's return (utility, bequests), solver against env, in a market without volatility.

    Log utility makes each term of the solver's value the utility itself, so the two compare to 1e-9.
    """
    pool = zero_volatility_retiree()
    config = EnvConfig(horizon="life", reward="crra", gamma=1.0, bequest_weight=2.0, step_months=step_months)
    params = config.params()
    life = LifeTimeline.of(pool, 0, config)
    reference = reference_consumption(pool, 0)
    grid = WealthGrid.spanning(1.0, 1e9, 400, 0.0)
    terminal = np.log(grid.wealth)[None, :]
    problem = (CRRA_REWARD, CERTAINTY, 1.0, reference, config.max_savings_rate, 0.0, grid.x0, grid.dx, grid.shift)
    state, info = new_state(1), np.zeros(INFO_SIZE)
    price_level, ratio = 1.7, 0.45
    for retired in (False, True):
        steps = life.retired if retired else life.working
        tables, life_tables = life_stage(pool, 0, config, life, retired, 1, np.full(len(steps), ratio))
        # Only the next wealth: no utility, no bequest, unit weights; the terminal value is log(wealth).
        bare_tables = (*tables[:4], np.zeros_like(tables[4]), *tables[5:7], np.ones(len(steps) + 1), tables[8])
        bare_life = (*life_tables[:2], np.zeros_like(life_tables[2]), life_tables[3], np.zeros_like(life_tables[4]),
                     np.zeros(len(steps), dtype=np.bool_), *life_tables[6:])
        stage = RETIREMENT if retired else ACCUMULATION
        for k in (0, len(steps) // 2, len(steps) - 1):
            t0, months = steps[k]
            for wealth, action, equity in ((50_000.0, 0.3, 0.7), (1_000.0, 1.0, 0.0), (2e6, 0.05, 1.0)):
                reset_env(pool, params, state, 0, 0, -1.0)
                state.month[0], state.wealth[0] = t0, wealth
                state.basis[0], state.price_level[0] = ratio * wealth * price_level, price_level
                reward_env, _ = step_env(pool, params, state, 0, action, equity, info)
                after = action_value(stage, k, wealth, action, equity, problem, bare_tables, bare_life, terminal[0],
                                     terminal, True, np.nan)
                assert math.exp(after) == pytest.approx(state.wealth[0], rel=1e-9)
                if retired:
                    gross = action * life_tables[0][k] * wealth
                    reward = retirement_reward(gross * life_tables[1][k], k, months, life_tables, CERTAINTY, 1.0,
                                               reference)
                    invested, saving = wealth - gross, 0.0
                else:
                    reward = step_reward(action, tables[3][k], tables[4][k], months, CRRA_REWARD, CERTAINTY,
                                         config.max_savings_rate, 1.0, reference, 0.0)
                    invested, saving = wealth, action * config.max_savings_rate
                _, _, bequests = add_bequests(k, invested, saving, equity, months, tables[3][k], life_tables, 1.0,
                                              reference, False, -np.inf, 0.0)
                assert bequests != 0.0
                assert reward + bequests == pytest.approx(reward_env, rel=1e-9, abs=1e-12)


def test_decision_steps_restart_at_retirement() -> None:
    months = np.array([0, 12, 24, 29, 35, 47, 29])
    n_accum = np.array([29, 29, 29, 29, 29, 29, 24])
    assert decision_steps(months, n_accum, 12).tolist() == [0, 1, 2, 3, 3, 4, 2]


@pytest.fixture(scope="module")
def gompertz_household():
    """Income, pension, Gompertz mortality to 110, no tax (its approximation aside): 8 years 4 months of work, 47 retired."""
    pool = sample_pool(40, seed=9, mortality="gompertz").take([6])
    assert pool.income[0] > 0 and pool.pension[0] > 0 and pool.tax_rate[0] == 0.0 and pool.dispersion[0] > 0
    assert pool.n_accum[0] == 8 * 12 + 4 and pool.n_decum[0] == 47 * 12
    return pool


LIFE = {"horizon": "life", "reward": "crra"}
N_LIVES = 2000


@pytest.fixture(scope="module")
def gompertz_optimum(gompertz_household):
    optimum = Optimum(SMALL)
    optimum.prepare(gompertz_household, EnvConfig(**LIFE))
    return optimum


def test_simulated_value_is_the_solver_value(gompertz_household, gompertz_optimum) -> None:
    config = EnvConfig(**LIFE)
    policy = gompertz_optimum.solution(gompertz_household, 0, config)
    assert policy.life and policy.n_steps == 9 + 47
    returns = rollout(gompertz_optimum, gompertz_household, N_LIVES, seed=5, **LIFE).returns
    error = returns.std(ddof=1) / math.sqrt(returns.size)
    assert abs(returns.mean() - policy.value) < 4 * error + 0.002 * abs(policy.value)
    # In certainty-equivalent consumption, euros a month over the (survival-weighted) life.
    simulated, solved = (certainty_equivalent(gompertz_household, 0, config, v) for v in (returns.mean(), policy.value))
    assert simulated == pytest.approx(solved, rel=0.01)
    assert 0.5 * gompertz_household.target[0] < solved < 2.0 * gompertz_household.target[0]


class ConstantRule:
    """Save ``saving`` (the rate action) while working, then spend ``spending`` (the action a0) a step; hold ``equity``."""

    def __init__(self, saving: float, spending: float, equity: float) -> None:
        self.saving, self.spending, self.equity = saving, spending, equity

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        retired = env.months >= env.pool.n_accum[env.households]
        actions = np.empty((retired.size, 2), dtype=np.float32)
        actions[:, 0] = np.where(retired, self.spending, self.saving)
        actions[:, 1] = self.equity
        return actions


def test_optimum_beats_constant_spending_rules_on_the_same_paths(gompertz_household, gompertz_optimum) -> None:
    optimal = rollout(gompertz_optimum, gompertz_household, N_LIVES, seed=11, **LIFE).returns
    for saving, spending, equity in ((0.2, 0.25, 0.6), (0.5, 0.25, 1.0), (0.2, 0.15, 0.3), (0.0, 0.4, 0.8)):
        rule = rollout(ConstantRule(saving, spending, equity), gompertz_household, N_LIVES, seed=11, **LIFE).returns
        difference = optimal - rule  # common random numbers: the same markets for both
        error = difference.std(ddof=1) / math.sqrt(difference.size)
        assert difference.mean() > -3 * error, (saving, spending, equity)


def test_bequest_raises_the_wealth_kept(gompertz_household) -> None:
    """A bequest weight makes the household keep more wealth late in life, and the value covers the bequests."""
    solver = SolverGrid(wealth_points=50, rate_points=11, equity_points=11, nodes=8)
    paths = []
    for weight in (0.0, 5.0):
        config = EnvConfig(**LIFE, bequest_weight=weight)
        policy = solve_household(gompertz_household, 0, config, solver)
        paths.append(median_path(gompertz_household, 0, config, policy))
        if weight:
            returns = rollout(Optimum(solver), gompertz_household, 1000, seed=3, **LIFE, bequest_weight=weight).returns
            error = returns.std(ddof=1) / math.sqrt(returns.size)
            assert abs(returns.mean() - policy.value) < 4 * error + 0.005 * abs(policy.value)
    none, some = paths
    late = none.ages >= 90
    assert (some.wealth[late] > none.wealth[late]).all()


def test_median_path_follows_the_life(gompertz_household, gompertz_optimum) -> None:
    pool = gompertz_household
    config = EnvConfig(**LIFE)
    policy = gompertz_optimum.solution(pool, 0, config)
    path = median_path(pool, 0, config, policy)
    assert path.ages.size == policy.n_steps and path.retired.sum() == 47
    working, retired = ~path.retired, path.retired
    assert (path.monthly_withdrawal[working] == 0).all() and (path.monthly_saving[retired] == 0).all()
    assert (path.monthly_consumption[retired] >= pool.other_income[0, 0] - 1e-9).all()
    assert path.withdrawal_rate[-1] == pytest.approx(1.0)  # no bequest: the last step spends all
    assert path.capital == pytest.approx(path.wealth[policy.n_working])
    rows = path.to_dict()["by_age"]
    assert rows[0]["phase"] == "working" and rows[-1]["phase"] == "retired"
    assert {"monthly_consumption", "monthly_withdrawal", "withdrawal_rate", "equity_share"} <= set(rows[-1])


def test_certainty_equivalent_weighs_months_by_survival(gompertz_household) -> None:
    config = EnvConfig(**LIFE, gamma=3.0)
    pool = gompertz_household
    reference = reference_consumption(pool, 0)
    months = np.arange(int(pool.n_accum[0] + pool.n_decum[0]))
    weights = config.params().monthly_discount ** months * pool.survival[0, : months.size] / 12.0
    assert lifetime_weight(pool, 0, config) == pytest.approx(weights.sum())
    assert lifetime_weight(pool, 0, config) < lifetime_weight(pool, 0, EnvConfig(reward="crra", gamma=3.0))
    consumption = 0.7 * reference
    utility = ((consumption / reference) ** -2.0 - 1.0) / -2.0 * weights.sum()
    assert certainty_equivalent(pool, 0, config, utility) == pytest.approx(consumption)


def test_life_needs_the_crra_objective(gompertz_household) -> None:
    with pytest.raises(ParameterError, match="reward"):
        EnvConfig(horizon="life", reward="planner")


def test_optimum_command_over_the_whole_life() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["optimum", "--horizon", "life", "--mc", "50", "--wealth-points", "40", "--json"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["horizon"] == "life" and data["reward"] == "crra"
    rows = data["median_market"]["by_age"]
    phases = [row["phase"] for row in rows]
    assert phases[0] == "working" and phases[-1] == "retired" and phases == sorted(phases, key=lambda p: p == "retired")
    retired = [row for row in rows if row["phase"] == "retired"]
    assert all(row["monthly_consumption"] > 0 and row["monthly_withdrawal"] >= 0 for row in retired)
    assert all(0.0 <= row["equity_share"] <= 1.0 for row in rows)
    assert data["solver_certainty_equivalent"] > 0 and data["simulated_standard_error"] > 0
    baselines = data["baselines"]
    assert set(baselines) == set(life_baselines())
    simulated = data["simulated_certainty_equivalent"]
    for entry in baselines.values():
        assert entry["share_of_optimum"] == pytest.approx(entry["certainty_equivalent"] / simulated)
    # The same lives for every strategy: the optimum beats each baseline there (a 40-point grid, 50 lives).
    assert max(entry["share_of_optimum"] for entry in baselines.values()) < 1.0
    text = runner.invoke(cli, ["optimum", "--horizon", "life", "--mc", "20", "--wealth-points", "40"])
    assert text.exit_code == 0 and "retired" in text.output and "withdrawal" in text.output
    assert "of optimum" in text.output and all(rule in text.output for rule in WITHDRAWAL_RULES)


@pytest.mark.parametrize("args", [
    ["--horizon", "life", "--reward", "planner"],
    ["--horizon", "life", "--plot", "x.png"],
    ["--bequest-weight", "1"],
    ["--horizon", "life", "--bequest-weight", "-1"],
    ["--horizon", "lives"],
])
def test_optimum_command_bad_options_are_one_line(args: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        main(["optimum", *args])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and "\n" not in err
