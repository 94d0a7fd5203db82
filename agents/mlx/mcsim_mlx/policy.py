"""The actor-critic network on MLX: two MLPs (policy and value) and a state-independent log std.

The same layout as stable-baselines3's PPO policy with ``net_arch={"pi": layers, "vf": layers}``:
separate tanh MLPs for the actor and the critic, a linear action head (the Gaussian mean, in
[-1, 1] units) and a linear value head, orthogonal initialisation (gain sqrt(2) for hidden layers,
0.01 for the action head, 1 for the value head, zero biases) and a learned log std per action
dimension, starting at -1 (std 0.37 in [-1, 1], 0.18 of a rate or a share).

Actions are a **clipped Gaussian**: a sample ``u ~ N(mean, std)`` is clipped to [-1, 1] and mapped
to the environment's [0, 1] as ``(u + 1) / 2``; the log-probability is the unclipped Gaussian's (as
SB3's PPO does). The deterministic action is ``(clip(mean, -1, 1) + 1) / 2``: a tanh MLP, a linear
head and a clip, which the exporters rebuild from the weights alone (:meth:`ActorCritic.mlp_actor`).

Every random draw takes an explicit key (``mx.random.key``): nothing reads MLX's global random state.
"""

from __future__ import annotations

import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from mcsim.plugins.agents import MlpActor

NETWORKS: dict[str, list[int]] = {
    "standard": [128, 64, 32],
    "solid": [256, 128, 64, 32],
    "robust": [512, 256, 128, 64],
    "enterprise": [512, 512, 256, 128, 64],
}
"""Hidden layers of each preset, for the actor and the critic alike (the sb3 backend's presets)."""

ACTION_SIZE = 2
LOG_STD_INIT = -1.0
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def orthogonal(key: mx.array, rows: int, columns: int, gain: float) -> mx.array:
    """A (rows, columns) matrix with orthonormal rows or columns, times ``gain`` (Saxe et al., 2014), from ``key``."""
    tall = rows >= columns
    draw = mx.random.normal((rows, columns) if tall else (columns, rows), key=key)
    q, r = mx.linalg.qr(draw, stream=mx.cpu)  # MLX's QR runs on the CPU stream on every machine
    q = q * mx.sign(mx.diagonal(r))
    return gain * (q if tall else q.T)


class ActorCritic(nn.Module):
    """Actor and critic MLPs over float32[B, observation_size] observations.

    :param observation_size: 11 (to retirement) or 18 (over the whole life).
    :param layers: hidden layer sizes, shared by the actor's and the critic's MLPs (separate weights).
    :param key: the MLX random key of the initial weights.
    """

    def __init__(self, observation_size: int, layers: list[int], key: mx.array) -> None:
        super().__init__()
        sizes = [observation_size, *layers]
        keys = mx.random.split(key, 2 * len(layers) + 2)
        pairs = list(zip(sizes, sizes[1:], strict=False))
        self.pi = [self._linear(a, b, keys[i], math.sqrt(2.0)) for i, (a, b) in enumerate(pairs)]
        self.vf = [self._linear(a, b, keys[len(layers) + i], math.sqrt(2.0)) for i, (a, b) in enumerate(pairs)]
        self.action_net = self._linear(layers[-1], ACTION_SIZE, keys[-2], 0.01)
        self.value_net = self._linear(layers[-1], 1, keys[-1], 1.0)
        self.log_std = mx.full((ACTION_SIZE,), LOG_STD_INIT)

    @staticmethod
    def _linear(inputs: int, outputs: int, key: mx.array, gain: float) -> nn.Linear:
        layer = nn.Linear(inputs, outputs)  # MLX's own init is replaced below, so its global key is never read
        layer.weight = orthogonal(key, outputs, inputs, gain)
        layer.bias = mx.zeros((outputs,))
        return layer

    def mean(self, observation: mx.array) -> mx.array:
        """The Gaussian mean in [-1, 1] units (unclipped), float32[B, 2]."""
        x = observation
        for layer in self.pi:
            x = mx.tanh(layer(x))
        return self.action_net(x)

    def value(self, observation: mx.array) -> mx.array:
        """The critic's value, float32[B]."""
        x = observation
        for layer in self.vf:
            x = mx.tanh(layer(x))
        return self.value_net(x)[:, 0]

    def deterministic(self, observation: mx.array) -> mx.array:
        """The final deterministic action in [0, 1]: ``(clip(mean, -1, 1) + 1) / 2``."""
        return (mx.clip(self.mean(observation), -1.0, 1.0) + 1.0) * 0.5

    def mlp_actor(self) -> MlpActor:
        """The deterministic actor as NumPy weights, for the exporters."""
        layers = [*self.pi, self.action_net]
        return MlpActor(
            weights=tuple(np.array(layer.weight, dtype=np.float32) for layer in layers),
            biases=tuple(np.array(layer.bias, dtype=np.float32) for layer in layers),
            activation="tanh",
            output="clip",
        )


def log_prob(actions: mx.array, mean: mx.array, log_std: mx.array) -> mx.array:
    """Log-density of the diagonal Gaussian at the (unclipped) ``actions``, float32[B]."""
    z = (actions - mean) * mx.exp(-log_std)
    return mx.sum(-0.5 * z * z - log_std - HALF_LOG_2PI, axis=-1)


def entropy(log_std: mx.array) -> mx.array:
    """Entropy of the diagonal Gaussian (the same for every observation)."""
    return mx.sum(0.5 + HALF_LOG_2PI + log_std)
