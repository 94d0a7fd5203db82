"""PPO on MLX: rollouts on a vectorized env, GAE, and an ``mx.compile``d clipped-objective update.

Proximal Policy Optimization (Schulman et al., 2017) as stable-baselines3 runs it, with the
defaults of :class:`PPOConfig`:

- rollouts of ``n_steps`` steps of every env (default ``max(8, 2048 // n_envs)``: 2048 steps a rollout);
- generalized advantage estimation (Schulman et al., 2016) with ``gamma`` 1 (the objective is an
  undiscounted sum) and ``gae_lambda`` 0.95; a time-limit truncation bootstraps from the value of
  the terminal observation (mcsim's episodes end at retirement or death, so none is truncated);
- ``n_epochs`` 10 passes over the rollout in shuffled minibatches of ``batch_size`` 512;
- the clipped surrogate objective (``clip_range`` 0.2) on advantages normalized per minibatch
  (mean 0, std 1), the value loss (mean squared error to the GAE returns, weight ``vf_coef`` 0.5),
  an entropy bonus (``ent_coef`` 0.0, as SB3's PPO: the learned log std sets the exploration);
- Adam (eps 1e-5, bias-corrected) with the gradient's global norm clipped at ``max_grad_norm`` 0.5;
- the learning rate ``learning_rate`` 3e-4 annealed linearly to 0 over the budget of each ``learn``
  call (``lr_schedule="linear"``; ``"constant"`` keeps it), set before each rollout's update.

The action noise of a whole rollout, each epoch's shuffle and the initial weights come from one
MLX key (``mx.random.key(seed)``) split explicitly; MLX's global random state is never read, so a
seed gives the same weights on the same machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from functools import partial
from typing import Any

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from mcsim.core.errors import ParameterError

from .policy import ActorCritic, entropy, log_prob

LR_SCHEDULES = ("linear", "constant")


@dataclass(frozen=True)
class PPOConfig:
    """PPO's hyperparameters and their defaults (see the module's docstring)."""

    learning_rate: float = 3e-4
    lr_schedule: str = "linear"
    n_steps: int | None = None
    batch_size: int = 512
    n_epochs: int = 10
    gamma: float = 1.0
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    normalize_advantage: bool = True
    adam_eps: float = 1e-5

    def __post_init__(self) -> None:
        positive = {"learning_rate": self.learning_rate, "clip_range": self.clip_range,
                    "max_grad_norm": self.max_grad_norm, "adam_eps": self.adam_eps}
        for name, value in positive.items():
            if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
                raise ParameterError(name, f"must be a positive number (got {value!r})")
        for name, value in {"gamma": self.gamma, "gae_lambda": self.gae_lambda}.items():
            if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
                raise ParameterError(name, f"must be in [0, 1] (got {value!r})")
        for name, value in {"ent_coef": self.ent_coef, "vf_coef": self.vf_coef}.items():
            if not (isinstance(value, int | float) and np.isfinite(value) and value >= 0):
                raise ParameterError(name, f"must be a number at least 0 (got {value!r})")
        for name, value in {"batch_size": self.batch_size, "n_epochs": self.n_epochs, "n_steps": self.n_steps}.items():
            if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ParameterError(name, f"must be a whole number at least 1 (got {value!r})")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ParameterError("lr_schedule", f"must be one of {', '.join(LR_SCHEDULES)} (got {self.lr_schedule!r})")

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> PPOConfig:
        """The fields that ``settings`` names (the rest at their defaults); other keys are ignored."""
        names = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in settings.items() if key in names})

    def steps_per_env(self, n_envs: int) -> int:
        """Steps of each env in a rollout: ``n_steps``, else ``max(8, 2048 // n_envs)``."""
        return self.n_steps or max(8, 2048 // n_envs)

    def learning_rate_at(self, progress_remaining: float) -> float:
        """The learning rate when ``progress_remaining`` (1 at the start, 0 at the end) of the budget is left."""
        if self.lr_schedule == "constant":
            return self.learning_rate
        return self.learning_rate * max(0.0, min(1.0, progress_remaining))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def advantages(rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, last_values: np.ndarray,
               gamma: float, gae_lambda: float) -> tuple[np.ndarray, np.ndarray]:
    """GAE(gamma, lambda) advantages and returns of a rollout, float32[T, B] each.

    ``rewards``, ``values`` and ``dones`` are [T, B]: the reward and done flag of step t's action,
    the value of the observation it acted on; ``last_values`` [B] the value of the observation after
    the last step. A done step's successor is not bootstrapped.
    """
    steps = rewards.shape[0]
    advantage = np.zeros_like(values, dtype=np.float64)
    running = np.zeros(values.shape[1])
    for t in range(steps - 1, -1, -1):
        following = last_values if t == steps - 1 else values[t + 1]
        alive = 1.0 - dones[t]
        delta = rewards[t] + gamma * following * alive - values[t]
        running = delta + gamma * gae_lambda * alive * running
        advantage[t] = running
    return advantage.astype(np.float32), (advantage + values).astype(np.float32)


class PPO:
    """The PPO state: the network, Adam, the MLX key, and the compiled act and update steps.

    :param observation_size: inputs of the network (11 or 18).
    :param layers: hidden layers of the actor's and the critic's MLPs.
    :param config: the hyperparameters.
    :param seed: seeds the MLX key of the initial weights, the action noise and the shuffles.
    """

    def __init__(self, observation_size: int, layers: list[int], config: PPOConfig, seed: int) -> None:
        self.config = config
        init_key, self.key = mx.random.split(mx.random.key(seed))
        self.model = ActorCritic(observation_size, layers, init_key)
        self.optimizer = optim.Adam(learning_rate=config.learning_rate, eps=config.adam_eps, bias_correction=True)
        self.optimizer.init(self.model.trainable_parameters())
        mx.eval(self.model.parameters(), self.optimizer.state, self.key)
        self._act = mx.compile(self._act_fn, inputs=self.model.state)
        state = [self.model.state, self.optimizer.state]
        self._update = partial(mx.compile, inputs=state, outputs=state)(self._update_fn)

    # --- the compiled functions ---------------------------------------------------------------

    def _act_fn(self, observation: mx.array) -> tuple[mx.array, mx.array]:
        return self.model.mean(observation), self.model.value(observation)

    def _loss(self, model: ActorCritic, observation: mx.array, actions: mx.array, old_log_prob: mx.array,
              advantage: mx.array, returns: mx.array) -> tuple[mx.array, ...]:
        config = self.config
        mean, values = model.mean(observation), model.value(observation)
        new_log_prob = log_prob(actions, mean, model.log_std)
        if config.normalize_advantage:
            advantage = (advantage - advantage.mean()) / (mx.sqrt(mx.var(advantage, ddof=1)) + 1e-8)
        log_ratio = new_log_prob - old_log_prob
        ratio = mx.exp(log_ratio)
        clipped = mx.clip(ratio, 1.0 - config.clip_range, 1.0 + config.clip_range)
        policy_loss = -mx.minimum(advantage * ratio, advantage * clipped).mean()
        value_loss = mx.square(returns - values).mean()
        bonus = entropy(model.log_std)
        loss = policy_loss - config.ent_coef * bonus + config.vf_coef * value_loss
        approx_kl = mx.mean((ratio - 1.0) - log_ratio)
        clip_fraction = mx.mean((mx.abs(ratio - 1.0) > config.clip_range).astype(mx.float32))
        return loss, policy_loss, value_loss, bonus, approx_kl, clip_fraction

    def _update_fn(self, observation: mx.array, actions: mx.array, old_log_prob: mx.array, advantage: mx.array,
                   returns: mx.array) -> mx.array:
        loss_and_grad = nn.value_and_grad(self.model, self._loss)
        values, grads = loss_and_grad(self.model, observation, actions, old_log_prob, advantage, returns)
        grads, norm = optim.clip_grad_norm(grads, self.config.max_grad_norm)
        self.optimizer.update(self.model, grads)
        return mx.stack([*values, norm])

    # --- acting -----------------------------------------------------------------------------

    def act(self, observation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The Gaussian means ([-1, 1] units, float32[B, 2]) and values (float32[B]) of a batch of observations."""
        mean, value = self._act(mx.array(np.asarray(observation, dtype=np.float32)))
        return np.array(mean), np.array(value)

    def values(self, observation: np.ndarray) -> np.ndarray:
        """The critic's values of a batch of observations, float32[B]."""
        return self.act(observation)[1]

    def next_key(self) -> mx.array:
        """A fresh subkey; the learner's key moves on."""
        self.key, sub = mx.random.split(self.key)
        return sub

    def noise(self, steps: int, n_envs: int) -> np.ndarray:
        """Standard normal action noise for a whole rollout, float32[steps, B, 2], from the next subkey."""
        return np.array(mx.random.normal((steps, n_envs, 2), key=self.next_key()))

    # --- learning ---------------------------------------------------------------------------

    def train(self, observations: np.ndarray, actions: np.ndarray, old_log_prob: np.ndarray, advantage: np.ndarray,
              returns: np.ndarray, learning_rate: float) -> dict[str, float]:
        """``n_epochs`` passes of minibatch updates over one rollout (flattened to N rows); their mean statistics."""
        self.optimizer.learning_rate = learning_rate
        data = [mx.array(a) for a in (observations, actions, old_log_prob, advantage, returns)]
        rows = observations.shape[0]
        size = min(self.config.batch_size, rows)
        stats = []
        for _ in range(self.config.n_epochs):
            order = mx.random.permutation(rows, key=self.next_key())
            for start in range(0, rows, size):
                index = order[start:start + size]
                if index.shape[0] < 2:  # a one-row minibatch has no advantage spread to normalize
                    continue
                stats.append(self._update(*(array[index] for array in data)))
                mx.eval(stats[-1], self.model.parameters(), self.optimizer.state)
        mean = np.array(mx.stack(stats)).mean(axis=0)
        names = ("loss", "policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "grad_norm")
        return {name: float(value) for name, value in zip(names, mean, strict=True)}


def collect(ppo: PPO, env: Any, observation: np.ndarray, steps: int,
            on_episode: Callable[[np.ndarray, np.ndarray], None]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Run ``steps`` steps of every env of ``env`` from ``observation`` with the current stochastic policy.

    Returns the rollout (observations, unclipped actions, their log-probabilities, values, rewards,
    dones, each [T, B, ...]) and the observation after the last step. ``on_episode(rewards, dones)``
    is called after each step (for episode returns). A step whose info says ``TimeLimit.truncated``
    adds ``gamma`` times the value of its terminal observation to its reward.
    """
    n_envs = observation.shape[0]
    noise = ppo.noise(steps, n_envs)
    log_std = np.array(ppo.model.log_std)
    std = np.exp(log_std).astype(np.float32)
    constant = np.float32(np.sum(log_std) + 2 * 0.5 * np.log(2.0 * np.pi))
    rollout = {
        "observations": np.zeros((steps, *observation.shape), dtype=np.float32),
        "actions": np.zeros((steps, n_envs, 2), dtype=np.float32),
        "log_prob": np.zeros((steps, n_envs), dtype=np.float32),
        "values": np.zeros((steps, n_envs), dtype=np.float32),
        "rewards": np.zeros((steps, n_envs), dtype=np.float32),
        "dones": np.zeros((steps, n_envs), dtype=np.float32),
    }
    for t in range(steps):
        mean, value = ppo.act(observation)
        actions = mean + std * noise[t]
        env_actions = ((np.clip(actions, -1.0, 1.0) + 1.0) * 0.5).astype(np.float32)
        next_observation, rewards, dones, infos = env.step(env_actions)
        rewards = np.asarray(rewards, dtype=np.float32).copy()
        dones = np.asarray(dones, dtype=bool)
        on_episode(rewards, dones)
        for b in np.flatnonzero(dones):
            if infos[b].get("TimeLimit.truncated", False) and "terminal_observation" in infos[b]:
                terminal = np.asarray(infos[b]["terminal_observation"], dtype=np.float32)[None]
                rewards[b] += np.float32(ppo.config.gamma * ppo.values(terminal)[0])
        rollout["observations"][t] = observation
        rollout["actions"][t] = actions
        rollout["log_prob"][t] = -0.5 * np.sum(noise[t] * noise[t], axis=-1) - constant
        rollout["values"][t] = value
        rollout["rewards"][t] = rewards
        rollout["dones"][t] = dones
        observation = np.asarray(next_observation, dtype=np.float32)
    return rollout, observation
