"""``RetirementEnv``: one household from today to retirement (or to its horizon), as a gymnasium environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ..core.checks import integer, number
from ..core.errors import ParameterError
from ..core.profile import Profile
from .household import HouseholdPool, pool_from_profiles
from .kernels import (
    HORIZONS,
    INFO_AGE,
    INFO_CAPITAL,
    INFO_CONSUMPTION,
    INFO_EQUITY,
    INFO_FUNDED,
    INFO_SAVING,
    INFO_SHORTFALL,
    INFO_SIZE,
    INFO_TERMINAL,
    INFO_WEALTH,
    LIFE_OBS_NAMES,
    OBS_LIMIT,
    OBS_NAMES,
    REWARDS,
    EnvParams,
    new_state,
    reset_one,
    step_one,
)

Households = HouseholdPool | Profile | str | Sequence[Profile | str] | None


@dataclass(frozen=True)
class EnvConfig:
    """Parameters of the environment, validated.

    :param step_months: months per decision; must divide 12 (12: yearly decisions, 1: monthly).
    :param max_savings_rate: the savings-rate action 1.0 saves this share of disposable income.
    :param reward: ``"planner"`` (funded probability, quality of life, risk), ``"crra"`` (lifetime
        CRRA utility of consumption) or ``"merton"`` (CRRA utility of terminal wealth, no income).
    :param capital_weight: planner weight of the funded probability at retirement.
    :param qol_weight: planner weight of quality of life (utility of consumption while saving).
    :param risk_weight: planner weight of the shortfall (unfunded share over the worst 10% of paths).
    :param gamma: relative risk aversion of the CRRA utilities.
    :param discount: annual discount factor of the ``"crra"`` objective.
    :param mc_paths: Monte Carlo paths of the terminal estimate (50 to train, 1000 to predict).
    :param horizon: ``"retirement"`` (an episode ends at retirement with the Monte Carlo estimate of
        the retirement phase) or ``"life"`` (it goes on to the household's horizon, the action's
        first component becoming spending; needs ``reward="crra"``; see docs/whole-life.md).
    :param bequest_weight: horizon ``"life"``: weight of the utility of the wealth left at death or
        at the horizon (0: none).
    """

    step_months: int = 12
    max_savings_rate: float = 0.5
    reward: str = "planner"
    capital_weight: float = 1.0
    qol_weight: float = 0.3
    risk_weight: float = 0.2
    gamma: float = 2.0
    discount: float = 0.97
    mc_paths: int = 50
    horizon: str = "retirement"
    bequest_weight: float = 0.0

    def __post_init__(self) -> None:
        if integer("step_months", self.step_months, 1, 12) and 12 % self.step_months:
            raise ParameterError("step_months", f"must divide 12: 1, 2, 3, 4, 6 or 12 (got {self.step_months!r})")
        if self.reward not in REWARDS:
            raise ParameterError("reward", f"must be one of {', '.join(REWARDS)} (got {self.reward!r})")
        number("max_savings_rate", self.max_savings_rate, 0.0, 1.0, open_low=True)
        for name in ("capital_weight", "qol_weight", "risk_weight"):
            number(name, getattr(self, name), 0.0, 1e6)
        number("gamma", self.gamma, 0.0, 50.0, open_low=True)
        number("discount", self.discount, 0.0, 1.0, open_low=True)
        integer("mc_paths", self.mc_paths, 1, 100_000)
        if not isinstance(self.horizon, str) or self.horizon not in HORIZONS:
            raise ParameterError("horizon", f"must be one of {', '.join(HORIZONS)} (got {self.horizon!r})")
        if self.horizon == "life" and self.reward != "crra":
            raise ParameterError("reward", f"horizon life needs reward crra, which values spending (got {self.reward!r})")
        number("bequest_weight", self.bequest_weight, 0.0, 1e6)

    @property
    def life(self) -> bool:
        """Whether an episode runs over the whole life (horizon ``"life"``)."""
        return self.horizon == "life"

    def params(self) -> EnvParams:
        """The kernels' view of the configuration."""
        return EnvParams(
            step_months=int(self.step_months), max_savings_rate=float(self.max_savings_rate),
            reward=REWARDS[self.reward], capital_weight=float(self.capital_weight), qol_weight=float(self.qol_weight),
            risk_weight=float(self.risk_weight), gamma=float(self.gamma),
            monthly_discount=float(self.discount) ** (1.0 / 12.0), mc_paths=int(self.mc_paths),
            horizon=HORIZONS[self.horizon], bequest_weight=float(self.bequest_weight),
        )


def make_pool(households: Households, config: EnvConfig | None = None) -> HouseholdPool:
    """A household pool from a pool, one profile (object, file or name), several, or the default.

    With ``config``, also checks that the pool suits it: the merton reward measures terminal
    wealth against the starting capital, so every household must start with some.
    """
    if isinstance(households, HouseholdPool):
        pool = households
    elif households is None:
        pool = pool_from_profiles(["default"])
    elif isinstance(households, (Profile, str)):
        pool = pool_from_profiles([households])
    else:
        pool = pool_from_profiles(list(households))
    if config is not None and config.reward == "merton" and not (pool.wealth > 0).all():
        raise ParameterError("households", "the merton reward needs a positive starting capital for every household")
    return pool


def observation_names(horizon: str = "retirement") -> tuple[str, ...]:
    """The observation's features: OBS_NAMES, or LIFE_OBS_NAMES for the horizon ``"life"``."""
    return LIFE_OBS_NAMES if horizon == "life" else OBS_NAMES


def observation_space(horizon: str = "retirement") -> spaces.Box:
    """The observation space: the horizon's features (11, or 18 for ``"life"``), each in [-5, 5]."""
    return spaces.Box(-OBS_LIMIT, OBS_LIMIT, shape=(len(observation_names(horizon)),), dtype=np.float32)


def action_space() -> spaces.Box:
    """The action space: (savings rate, equity share), each in [0, 1]."""
    return spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)


def step_info(row: Sequence[float], done: bool) -> dict[str, float]:
    """The info dict of one step from the kernel's info row (a list of floats is fastest)."""
    info = {
        "age": row[INFO_AGE],
        "capital": row[INFO_WEALTH],
        "monthly_saving": row[INFO_SAVING],
        "equity_share": row[INFO_EQUITY],
        "monthly_consumption": row[INFO_CONSUMPTION],
    }
    if done:
        info.update(
            funded_probability=row[INFO_FUNDED], shortfall=row[INFO_SHORTFALL],
            terminal_reward=row[INFO_TERMINAL], capital_at_retirement=row[INFO_CAPITAL],
        )
    return info


def reset_option(options: dict[str, Any] | None, pool_size: int) -> tuple[int, float]:
    """The household index and historical cohort position that reset ``options`` ask for.

    ``{"household": i}`` picks household i (else -1: a random one); ``{"cohort": x}``, x in [0, 1),
    the cohort at that position among the household's historical cohorts (else -1.0: a random one;
    ignored by the other return models).
    """
    if not options:
        return -1, -1.0
    unknown = set(options) - {"household", "cohort"}
    if unknown:
        raise ValueError(f"unknown reset option(s): {', '.join(sorted(unknown))} (known: household, cohort)")
    household, position = options.get("household", -1), options.get("cohort", -1.0)
    if "household" in options and (
        isinstance(household, bool) or not isinstance(household, (int, np.integer)) or not 0 <= household < pool_size
    ):
        raise ValueError(f"reset option household must be an index from 0 to {pool_size - 1} (got {household!r})")
    if "cohort" in options and (
        isinstance(position, bool) or not isinstance(position, (int, float, np.number)) or not 0.0 <= position < 1.0
    ):
        raise ValueError(f"reset option cohort must be a position in [0, 1) (got {position!r})")
    return int(household), float(position)


class RetirementEnv(gym.Env[np.ndarray, np.ndarray]):
    """One household saving for retirement (and with ``horizon="life"`` spending in it), one decision per step.

    ## Description
    An episode runs from the household's current age to its retirement age. Each step simulates
    ``step_months`` months (12 by default) of income, charges, saving and market returns (equities,
    bonds, inflation; the household's own market assumptions), with the decision held fixed.
    At retirement, the core Monte Carlo kernel estimates the retirement phase from the realized
    capital over ``mc_paths`` paths. Households come from a pool: one profile, several, or the
    sampler's varied households (``mcsim.env.household.sample_pool``), drawn at each reset.
    With ``horizon="life"`` the episode goes on through retirement to the household's horizon
    (life expectancy, or ``max_age`` with Gompertz mortality) with no Monte Carlo estimate: each
    retirement step withdraws a share of the wealth set by the first action component, spends it
    with the pensions, and invests the rest (docs/whole-life.md).

    ## Action Space
    ``Box(0, 1, (2,), float32)``: the savings rate (1.0 saves ``max_savings_rate`` of disposable
    income) and the equity share (the rest in bonds). Components are clipped to [0, 1]; NaN counts
    as 0 (save nothing, all in bonds). In retirement (horizon ``"life"``) the first component is
    spending: the step withdraws ``a0 * min(1, 4 * step months / months left)`` of the wealth, so 1
    empties it over the last step and a constant 0.25 withdraws about 1/years left a year.

    ## Observation Space
    ``Box(-5, 5, (11,), float32)``, profile-agnostic so that one model serves every household:
    progress to retirement, age, years to retirement, wealth relative to the retirement need,
    saving capacity relative to that need, charges relative to income, other income relative to
    spending in retirement, years of retirement to fund, last savings rate, last equity share,
    income relative to target (``mcsim.env.kernels.OBS_NAMES``). With ``horizon="life"``,
    ``Box(-5, 5, (18,), float32)``: those and a retired flag, years left to the horizon, wealth in
    years of reference consumption, other income relative to the reference and to the wealth,
    expected years alive to the horizon and the probability of reaching it
    (``mcsim.env.kernels.LIFE_OBS_NAMES``).

    ## Rewards
    ``"planner"``: each step ``qol_weight`` times the CRRA utility of the consumed share of
    disposable income, averaged over the episode's months (so the episode's quality-of-life term is
    the time-average utility, 0 when nothing is saved); at retirement ``capital_weight`` times the
    funded probability minus ``risk_weight`` times the mean unfunded share of the need over the
    worst 10% of paths. ``"crra"``: the discounted CRRA utility of consumption relative to the
    target income, each step, plus at retirement the Monte Carlo mean of the discounted utility of
    retirement consumption (the spending while funded, pensions and other income once depleted).
    ``"merton"``: CRRA utility of terminal wealth relative to initial wealth. Horizon ``"life"``
    (crra only): each month's discounted CRRA utility of consumption weighted by the probability
    of being alive, retirement consumption being the net withdrawal plus pensions and other income,
    and with ``bequest_weight`` the utility of the wealth left at death or at the horizon.

    ## Starting State
    A household drawn from the pool (or ``options={"household": i}``), its capital, its current
    saving as the last savings rate and its allocation as the last equity share. With historical
    cohorts, a cohort drawn among the household's (or ``options={"cohort": x}``, x in [0, 1)).

    ## Episode End
    Terminated at retirement (horizon ``"life"``: at the horizon); never truncated.

    ## Arguments
    ``households`` (a pool, a profile, a name or file, or a list of them; default: the embedded
    default profile) and the fields of :class:`EnvConfig`.

    ## Version History
    * v0: initial version; the ``horizon`` and ``bequest_weight`` settings added (default unchanged).
    """

    metadata = {"render_modes": []}

    def __init__(self, households: Households = None, render_mode: str | None = None, **config: Any) -> None:
        self.config = EnvConfig(**config)
        self.pool = make_pool(households, self.config)
        self.params = self.config.params()
        self.render_mode = render_mode
        self.observation_space = observation_space(self.config.horizon)
        self.action_space = action_space()
        self._state = new_state(1)
        self._obs = np.zeros((1, self.observation_space.shape[0]), dtype=np.float32)
        self._info = np.zeros((1, INFO_SIZE))
        self._needs_reset = True
        self._seeded = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start an episode: a household from the pool; ``seed`` restarts the env's random stream."""
        super().reset(seed=seed)
        household, position = reset_option(options, self.pool.size)
        stream_seed = -1
        if seed is not None:
            stream_seed = int(seed)
        elif not self._seeded:
            stream_seed = int(self.np_random.integers(0, 2**62))
        self._seeded = True
        reset_one(self.pool, self.params, self._state, stream_seed, household, position, self._obs[0])
        self._needs_reset = False
        return self._obs[0].copy(), {"household": int(self._state.household[0])}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Simulate the next ``step_months`` months under ``action`` (savings rate or spending, equity share)."""
        if self._needs_reset:
            raise RuntimeError("the episode has ended (or not started): call reset() first")
        values = np.asarray(action, dtype=np.float64).reshape(-1)
        if values.size != 2:
            raise ValueError(f"action must have 2 components (savings rate or spending, equity share), got {values.size}")
        reward, done = step_one(self.pool, self.params, self._state, values[0], values[1], self._obs[0], self._info[0])
        self._needs_reset = bool(done)
        return self._obs[0].copy(), float(reward), bool(done), False, step_info(self._info[0].tolist(), bool(done))
