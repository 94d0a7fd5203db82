"""``NumbaVecEnv``: B retirement (or whole-life) environments stepped by one jitted call, with SB3's VecEnv API.

It implements stable-baselines3's ``VecEnv`` interface (reset, step_async/step_wait, seeds and
options applied at the next reset, auto-reset with ``terminal_observation`` in the infos,
get_attr/set_attr/env_method) without importing SB3, so the core needs no torch; when SB3 is
installed it is registered as a virtual subclass of SB3's ``VecEnv``, so SB3's algorithms and
wrappers (VecMonitor, VecNormalize) take it as it is. Env b seeded with ``seed + b`` follows the
same trajectory as a :class:`~mcsim.env.RetirementEnv` reset with that seed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from copy import deepcopy
from typing import Any

import numba
import numpy as np

from ..core.checks import integer
from ..core.threads import AdaptiveThreads
from .environment import EnvConfig, Households, action_space, make_pool, observation_space, reset_option, step_info
from .kernels import INFO_SIZE, new_state, reset_batch, step_batch, terminal_paths

Indices = None | int | Iterable[int]


def register_with_sb3() -> bool:
    """Register NumbaVecEnv as a virtual subclass of SB3's VecEnv; False when SB3 is not installed.

    Every NumbaVecEnv calls it when SB3 is already imported (importing SB3 imports torch, seconds
    that a simulation or the optimum should not pay), and the sb3 plugin calls it when it loads; code
    that creates the env first and imports SB3 afterwards calls it once itself.
    """
    try:
        from stable_baselines3.common.vec_env.base_vec_env import VecEnv
    except ImportError:
        return False
    VecEnv.register(NumbaVecEnv)
    return True


class NumbaVecEnv:
    """``num_envs`` retirement environments advanced together by one jitted, parallel call per step.

    :param num_envs: number of environments B.
    :param households: the household pool (see :class:`~mcsim.env.RetirementEnv`).
    :param seed: env b's stream starts from ``seed + b`` (random when None).
    :param threads: Numba threads of the step; None (default) adapts the count to measured step
        throughput (:class:`~mcsim.core.threads.AdaptiveThreads`: fewer threads when another process
        holds a core), separately for steps where episodes end (``finish_threads``) and the others
        (``threads``). Trajectories never depend on it.
    :param config: the fields of :class:`~mcsim.env.EnvConfig`.
    """

    def __init__(self, num_envs: int, households: Households = None, seed: int | None = None, *,
                 threads: int | None = None, **config: Any) -> None:
        integer("num_envs", num_envs, 1, 100_000)
        if threads is not None:
            integer("threads", threads, 1, numba.config.NUMBA_NUM_THREADS)
        # Steps where episodes end run their terminal Monte Carlo: a hundred times the work of the
        # others, with a different best thread count. Each kind of step adapts its own.
        self.threads = AdaptiveThreads(threads, adapt=threads is None)
        self.finish_threads = AdaptiveThreads(threads, adapt=threads is None)
        self.config = EnvConfig(**config)
        self.params = self.config.params()
        self.pool = make_pool(households, self.config)
        self.num_envs = int(num_envs)
        self.observation_space = observation_space(self.config.horizon)
        self.action_space = action_space()
        self.render_mode = None
        self.metadata: dict[str, Any] = {"render_modes": []}
        self.reset_infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        self._state = new_state(self.num_envs)
        self._obs = np.zeros((self.num_envs, self.observation_space.shape[0]), dtype=np.float32)
        self._terminal_obs = np.zeros_like(self._obs)
        self._rewards = np.zeros(self.num_envs)
        self._dones = np.zeros(self.num_envs, dtype=np.bool_)
        self._info = np.zeros((self.num_envs, INFO_SIZE))
        self._actions: np.ndarray | None = None
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % 2**32)
        self._seeds: list[int | None] = [int(seed) + b for b in range(self.num_envs)]
        self._options: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if "stable_baselines3" in sys.modules:
            register_with_sb3()

    @property
    def households(self) -> np.ndarray:
        """Index in the pool of each env's current household, int64[B] (a copy)."""
        return self._state.household.copy()

    @property
    def months(self) -> np.ndarray:
        """Months each env has simulated in its current episode, int64[B] (a copy)."""
        return self._state.month.copy()

    @property
    def wealth(self) -> np.ndarray:
        """Each env's current wealth (euros of today), float64[B] (a copy)."""
        return self._state.wealth.copy()

    @property
    def basis(self) -> np.ndarray:
        """Each env's nominal cost basis (euros), float64[B] (a copy)."""
        return self._state.basis.copy()

    @property
    def price_level(self) -> np.ndarray:
        """Each env's price level since the start of its episode, float64[B] (a copy)."""
        return self._state.price_level.copy()

    # --- the VecEnv API ------------------------------------------------------------------------

    def reset(self) -> np.ndarray:
        """Reset every env (applying pending seeds and options) and return the observations."""
        seeds = np.array([-1 if s is None else s for s in self._seeds], dtype=np.int64)
        chosen = [reset_option(o, self.pool.size) for o in self._options]
        households = np.array([household for household, _ in chosen], dtype=np.int64)
        positions = np.array([position for _, position in chosen])
        reset_batch(self.pool, self.params, self._state, seeds, households, positions, self._obs)
        self.reset_infos = [{"household": int(h)} for h in self._state.household]
        self._seeds = [None] * self.num_envs
        self._options = [{} for _ in range(self.num_envs)]
        return self._obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        """Remember the actions, float32[B, 2], for :meth:`step_wait`."""
        actions = np.asarray(actions, dtype=np.float32)
        if actions.shape != (self.num_envs, 2):
            raise ValueError(f"actions must have shape ({self.num_envs}, 2), got {actions.shape}")
        self._actions = actions

    def step_arrays(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every env and return arrays only, without building info dicts.

        Returns obs, float64 rewards, dones and the info rows (float64[B, INFO_SIZE], columns
        ``mcsim.env.kernels.INFO_*``): for callers that step thousands of envs (roll-outs).
        """
        self.step_async(actions)
        self._step()
        return self._obs.copy(), self._rewards.copy(), self._dones.copy(), self._info.copy()

    def _step(self) -> None:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        households = self._state.household.copy()
        with (self.finish_threads if self._episodes_end() else self.threads).run() as call:
            step_batch(
                self.pool, self.params, self._state, self._actions, self._obs, self._terminal_obs,
                self._rewards, self._dones, self._info,
            )
            call.work = self._step_work(households)
        self._actions = None

    def _episodes_end(self) -> bool:
        """Whether some env ends its episode in the next step (at retirement: it runs its terminal Monte Carlo)."""
        state = self._state
        end = self.pool.n_accum[state.household]
        if self.config.life:
            end = end + self.pool.n_decum[state.household]
        return bool((state.month + self.config.step_months >= end).any())

    def _step_work(self, households: np.ndarray) -> float:
        """Path-months a step simulated: every env's months, and the terminal paths of those that finished."""
        paths = terminal_paths(self.pool, self.params)
        finished = households[self._dones]
        return float(self.num_envs * self.config.step_months + paths * self.pool.n_decum[finished].sum())

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """Step every env in one jitted call; finished envs auto-reset (``terminal_observation`` in info)."""
        self._step()
        infos = [step_info(row, done) for row, done in zip(self._info.tolist(), self._dones.tolist(), strict=True)]
        for b in np.flatnonzero(self._dones):
            infos[b]["terminal_observation"] = self._terminal_obs[b].copy()
            infos[b]["TimeLimit.truncated"] = False
        return self._obs.copy(), self._rewards.astype(np.float32), self._dones.copy(), infos

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """Step every env with ``actions``."""
        self.step_async(actions)
        return self.step_wait()

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed env b with ``seed + b`` at the next reset."""
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % 2**32)
        self._seeds = [int(seed) + b for b in range(self.num_envs)]
        return self._seeds

    def set_seeds(self, seeds: Sequence[int]) -> None:
        """Seed env b with ``seeds[b]`` at the next reset: one seed per env, in any order (roll-outs of parts of a pool)."""
        if len(seeds) != self.num_envs:
            raise ValueError(f"set_seeds needs {self.num_envs} seeds, got {len(seeds)}")
        self._seeds = [int(seed) for seed in seeds]

    def set_options(self, options: list[dict] | dict | None = None) -> None:
        """Options for the next reset: ``{"household": i}`` for every env, or one dict per env."""
        if options is None:
            options = {}
        self._options = deepcopy([options] * self.num_envs if isinstance(options, dict) else list(options))

    def close(self) -> None:
        """Nothing to release: the envs live in this process's arrays."""

    def render(self, mode: str | None = None) -> None:
        """No rendering."""
        return None

    def get_images(self) -> Sequence[None]:
        """No images."""
        return [None] * self.num_envs

    def has_attr(self, attr_name: str) -> bool:
        """Whether the envs have ``attr_name`` (they share this object's attributes)."""
        return hasattr(self, attr_name)

    def get_attr(self, attr_name: str, indices: Indices = None) -> list[Any]:
        """The attribute, once per env index (the envs share their configuration)."""
        value = getattr(self, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Indices = None) -> None:
        """Set an attribute; every env shares it, so only all indices at once are accepted."""
        if indices is not None and list(self._get_indices(indices)) != list(range(self.num_envs)):
            raise ValueError("NumbaVecEnv envs share their attributes: set them for all envs at once")
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Indices = None, **method_kwargs: Any) -> list[Any]:
        """Call a method of the shared env object once per index."""
        method = getattr(self, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: Indices = None) -> list[bool]:
        """The envs are not gymnasium envs, so no gymnasium wrapper wraps them."""
        return [False for _ in self._get_indices(indices)]

    @property
    def unwrapped(self) -> NumbaVecEnv:
        """The env itself: no wrapper."""
        return self

    def getattr_depth_check(self, name: str, already_found: bool) -> str | None:
        """Name of this class when a wrapper's attribute ``name`` shadows ours (SB3's wrapper protocol)."""
        if hasattr(self, name) and already_found:
            return f"{type(self).__module__}.{type(self).__name__}"
        return None

    def _get_indices(self, indices: Indices) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, (int, np.integer)):
            return [int(indices)]
        return indices
