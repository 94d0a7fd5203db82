"""A random-search agent: it tries constant (savings rate, equity share) pairs and keeps the best.

Small on purpose: it shows the whole contract of a learning backend (``learner``, ``load``) and of
a learner (``agent``, ``timesteps``, ``learn``, ``save``, ``restore``) with no framework behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mcsim.core.errors import ParameterError
from mcsim.plugins.agents import Agent, AgentBackend, Learner
from mcsim.training.runio import read_json_object, write_json

STATE_FILE = "random_search.json"


class ConstantAgent(Agent):
    """Always the same action."""

    def __init__(self, rate: float, equity: float) -> None:
        self.rate = rate
        self.equity = equity

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """The agent's (rate, equity) for every observation."""
        actions = np.empty((np.asarray(obs).shape[0], 2), dtype=np.float32)
        actions[:, 0] = self.rate
        actions[:, 1] = self.equity
        return actions


class RandomSearchLearner(Learner):
    """Each round, one random candidate plays one episode in every env; the best mean return wins."""

    def __init__(self, env: Any, seed: int) -> None:
        self.env = env
        self.rng = np.random.default_rng(seed)
        self.best = (0.5, 0.5)
        self.best_return = -np.inf
        self.steps = 0
        self.episodes = 0

    @property
    def agent(self) -> ConstantAgent:
        """The best candidate so far."""
        return ConstantAgent(*self.best)

    @property
    def timesteps(self) -> int:
        """Env steps played so far."""
        return self.steps

    def learn(self, timesteps: int, on_progress: Callable[[int, int, list[float]], bool]) -> None:
        """Try candidates until ``timesteps`` more steps are played or ``on_progress`` says stop."""
        stop_at = self.steps + timesteps
        n = self.env.num_envs
        while self.steps < stop_at:
            candidate = ConstantAgent(*self.rng.uniform(0.0, 1.0, 2))
            obs = self.env.reset()
            totals, running, returns = np.zeros(n), np.ones(n, dtype=bool), []
            while running.any():
                obs, rewards, dones, _ = self.env.step(candidate.predict(obs))
                totals += np.where(running, rewards, 0.0)
                self.steps += int(running.sum())
                returns.extend(totals[dones & running].tolist())
                running &= ~dones
            self.episodes += n
            if totals.mean() > self.best_return:
                self.best, self.best_return = (candidate.rate, candidate.equity), float(totals.mean())
            if not on_progress(self.steps, self.episodes, returns):
                return

    def save(self, directory: Path) -> None:
        """The best candidate and the counters, as JSON."""
        directory.mkdir(parents=True, exist_ok=True)
        write_json(directory / STATE_FILE, {"rate": self.best[0], "equity": self.best[1], "return": self.best_return,
                                            "timesteps": self.steps, "episodes": self.episodes})

    def restore(self, directory: Path) -> None:
        """Continue from a saved state."""
        state = read_state(directory / STATE_FILE)
        self.best, self.best_return = (state["rate"], state["equity"]), state["return"]
        self.steps, self.episodes = state["timesteps"], state["episodes"]


def read_state(path: Path) -> dict[str, Any]:
    """The saved state, checked: every problem is one ParameterError naming the file (never a traceback)."""
    state = read_json_object(path)
    for key in ("rate", "equity", "return", "timesteps", "episodes"):
        if not isinstance(state.get(key), int | float) or isinstance(state.get(key), bool):
            raise ParameterError(str(path), f"lacks its number '{key}'")
    return state


class RandomSearchBackend(AgentBackend):
    """``--agent example``: random search over constant mixes."""

    name = "example"
    description = "template plugin: random search over constant (savings rate, equity share)"
    trainable = True

    def learner(self, env: Any, settings: dict[str, Any], log_dir: Path) -> RandomSearchLearner:
        """A random search on ``env``, seeded by the run's seed."""
        return RandomSearchLearner(env, int(settings.get("seed", 0)))

    def load(self, directory: Path) -> ConstantAgent:
        """The saved best candidate."""
        path = directory / STATE_FILE
        if not path.exists():
            raise ParameterError("run", f"{directory} holds no random-search agent ({path} is missing)")
        state = read_state(path)
        return ConstantAgent(float(state["rate"]), float(state["equity"]))
