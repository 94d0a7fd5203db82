"""The MLX backend: PPO on Apple's MLX through mcsim's agent interface.

``mcsim train --agent mlx`` trains :class:`MlxLearner` in the shared trainer (its banner, progress,
evaluations, checkpoints and manifest); ``evaluate``, ``predict`` and the exporters load
:class:`MlxAgent` from a run directory. A saved agent is ``policy.safetensors`` (the network's
weights), ``optimizer.safetensors`` (Adam's moments and step, the learning rate and the MLX random
key, for resuming) and ``agent.json``; nothing is pickled, and loading reads safetensors and JSON only.

Devices: ``auto`` is MLX's default device (the GPU on Apple silicon, the CPU elsewhere), ``cpu`` or
``gpu``. MLX is imported when a learner or an agent is made, not when the plugin registers.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mcsim.core.errors import ParameterError
from mcsim.env.environment import observation_space
from mcsim.env.kernels import HORIZONS
from mcsim.plugins.agents import Agent, AgentBackend, Hyperparameter, Learner, MlpActor
from mcsim.training.runio import brief, file_problem, read_json_object, write_json

NETWORK_NAMES = ("standard", "solid", "robust", "enterprise")
DEVICES = ("auto", "cpu", "gpu")
SPEC_FILE, POLICY_FILE, OPTIMIZER_FILE = "agent.json", "policy.safetensors", "optimizer.safetensors"
KEY_NAME = "rng_key"
PROGRESS_LOG = "mlx/progress.jsonl"
HYPERPARAMETERS = (
    Hyperparameter("learning_rate", "float", 1e-6, 1e-2, log=True, description="Adam's step size at the start"),
    Hyperparameter("lr_schedule", "choice", choices=("linear", "constant"),
                   description="the learning rate annealed linearly to 0 over the budget, or constant"),
    Hyperparameter("gamma", "float", 0.9, 1.0, description="discount of future rewards (1: the objective's own sum)"),
    Hyperparameter("gae_lambda", "float", 0.8, 1.0, description="GAE's bias-variance trade-off"),
    Hyperparameter("n_steps", "int", 1, 8192, log=True, description="steps per env between updates"),
    Hyperparameter("batch_size", "int", 8, 65536, log=True, description="minibatch size"),
    Hyperparameter("n_epochs", "int", 1, 50, description="passes over each rollout"),
    Hyperparameter("clip_range", "float", 0.05, 0.5, description="PPO's ratio clip"),
    Hyperparameter("ent_coef", "float", 0.0, 0.1, description="entropy bonus"),
    Hyperparameter("vf_coef", "float", 0.1, 1.0, description="weight of the value loss"),
    Hyperparameter("max_grad_norm", "float", 0.1, 10.0, description="gradient clipping (global norm)"),
)
"""What ``train --param`` and ``mcsim sweep --param`` may set (:class:`mcsim_mlx.ppo.PPOConfig`'s fields)."""
ACTIONS = "clipped Gaussian: (clip(u, -1, 1) + 1) / 2, u ~ N(mean, exp(log_std)); deterministic: the mean"


def resolve_device(device: str) -> Any:
    """The MLX device for ``device``: auto (MLX's default: the GPU on Apple silicon, else the CPU), cpu or gpu."""
    import mlx.core as mx

    if device not in DEVICES:
        raise ParameterError("device", f"must be one of {', '.join(DEVICES)} (got {device!r})")
    if device == "auto":
        return mx.default_device()
    chosen = mx.gpu if device == "gpu" else mx.cpu
    if not mx.is_available(chosen):
        raise ParameterError("device", f"MLX has no {device} here (available: cpu"
                                       f"{', gpu' if mx.is_available(mx.gpu) else ''})")
    return mx.Device(chosen)


def device_name(device: Any) -> str:
    """``cpu`` or ``gpu``."""
    return "gpu" if "gpu" in str(device) else "cpu"


def versions() -> dict[str, str]:
    """Versions of MLX and of this plugin."""
    found = {}
    for name in ("mlx", "mcsim-mlx"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def spec_observation_size(spec: dict[str, Any], path: Path | str) -> int:
    """The observation size agent.json records: a horizon's (11 or 18); anything else is one ParameterError."""
    size = spec.get("observation_size")
    sizes = {observation_space(h).shape[0]: h for h in HORIZONS}
    if isinstance(size, bool) or size not in sizes:
        known = ", ".join(f"{n} ({h})" for n, h in sizes.items())
        raise ParameterError(str(path), f"its observation_size {size!r} is no horizon's (known: {known})")
    return int(size)


def read_spec(directory: Path) -> dict[str, Any]:
    """The agent.json of a saved mlx agent, checked: the backend, algorithm, network and observation size."""
    from .policy import NETWORKS

    path = directory / SPEC_FILE
    spec = read_json_object(path)
    if spec.get("backend") != "mlx" or spec.get("algo") != "ppo" or spec.get("network") not in NETWORKS:
        raise ParameterError(str(path), f"does not describe an mlx agent (backend {spec.get('backend')!r}, "
                                        f"algo {spec.get('algo')!r}, network {spec.get('network')!r})")
    spec_observation_size(spec, path)
    return spec


def read_arrays(path: Path) -> dict[str, Any]:
    """The arrays of a safetensors file, as MLX arrays; any problem is one ParameterError naming the file.

    Safetensors is a JSON header and raw tensor bytes: reading it runs nothing (a planted pickle is
    just a file that is not safetensors).
    """
    import mlx.core as mx

    problem = file_problem(path)
    if problem is not None:
        raise ParameterError(str(path), problem)
    try:
        arrays = mx.load(str(path), format="safetensors")
    except Exception as error:  # noqa: BLE001 - MLX raises RuntimeError or ValueError for a bad header or size
        raise ParameterError(str(path), f"is not a safetensors file, truncated or corrupt ({brief(error)})") from None
    if not isinstance(arrays, dict):
        raise ParameterError(str(path), "holds no named tensors")
    return arrays


def load_parameters(module: Any, arrays: dict[str, Any], path: Path, prefix: str = "") -> None:
    """Put ``arrays`` (flat names) into ``module``'s parameters; a missing, extra or misshapen one is one ParameterError."""
    from mlx.utils import tree_flatten, tree_unflatten

    expected = dict(tree_flatten(module.parameters()))
    given = {name[len(prefix):]: value for name, value in arrays.items() if name.startswith(prefix)}
    missing, extra = sorted(set(expected) - set(given)), sorted(set(given) - set(expected))
    if missing or extra:
        raise ParameterError(str(path), f"does not fit this network (missing {missing[:3]}, unexpected {extra[:3]})")
    for name, value in given.items():
        if value.shape != expected[name].shape or value.dtype != expected[name].dtype:
            raise ParameterError(str(path), f"its '{name}' is {value.dtype}{list(value.shape)}, "
                                            f"not {expected[name].dtype}{list(expected[name].shape)}")
        if not bool(np.isfinite(np.array(value)).all()):
            raise ParameterError(str(path), f"its '{name}' holds values that are not finite")
    module.update(tree_unflatten(list(given.items())))


def assign(target: dict[str, Any], source: dict[str, Any]) -> None:
    """Copy the leaves of nested dicts ``source`` into ``target`` in place (its dict objects stay the same)."""
    for name, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(name), dict):
            assign(target[name], value)
        else:
            target[name] = value


class MlxAgent(Agent):
    """A trained MLX policy acting on mcsim observations: the deterministic action is the clipped Gaussian mean."""

    def __init__(self, model: Any, spec: dict[str, Any], device: Any = None, seed: int = 0) -> None:
        import mlx.core as mx

        self.model = model
        self.spec = spec
        self.device = device if device is not None else mx.default_device()
        self._key = mx.random.key(seed)

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Actions in [0, 1] for float32[B, n] observations (n: the policy's, 11 or 18)."""
        import mlx.core as mx

        with mx.stream(self.device):
            observation = mx.array(np.asarray(obs, dtype=np.float32))
            if deterministic:
                return np.array(self.model.deterministic(observation))
            self._key, key = mx.random.split(self._key)
            mean = self.model.mean(observation)
            unit = mean + mx.exp(self.model.log_std) * mx.random.normal(mean.shape, key=key)
            return np.array((mx.clip(unit, -1.0, 1.0) + 1.0) * 0.5)

    def mlp_actor(self) -> MlpActor:
        """The deterministic actor as NumPy weights (the exporters rebuild it in ONNX or Core ML)."""
        return self.model.mlp_actor()

    @property
    def observation_size(self) -> int:
        """The observations the policy reads: 11 (horizon retirement) or 18 (the whole life)."""
        return int(self.spec["observation_size"])


class MlxLearner(Learner):
    """PPO on MLX learning on a vectorized mcsim environment (NumbaVecEnv, or SB3's vec envs)."""

    def __init__(self, env: Any, settings: dict[str, Any], log_dir: Path | None) -> None:
        import mlx.core as mx

        from .policy import NETWORKS
        from .ppo import PPO, PPOConfig

        algo = settings.get("algo", "ppo")
        network = settings.get("network", "solid")
        if algo != "ppo":
            raise ParameterError("algo", f"agent 'mlx' offers ppo (got {algo!r})")
        if network not in NETWORKS:
            raise ParameterError("network", f"must be one of {', '.join(NETWORKS)} (got {network!r})")
        self.device = resolve_device(settings.get("device", "auto"))
        self.config = PPOConfig.from_settings({**settings, **(settings.get("hyperparameters") or {})})
        self.seed = int(settings.get("seed", 0))
        self.env = env
        self.n_envs = int(env.num_envs)
        size = int(env.observation_space.shape[0])
        with mx.stream(self.device):
            self.ppo = PPO(size, NETWORKS[network], self.config, self.seed)
        self.spec = {"backend": "mlx", "algo": "ppo", "network": network, "layers": NETWORKS[network],
                     "observation_size": size, "activation": "tanh", "actions": ACTIONS,
                     "ppo": self.config.to_dict(), "n_envs": self.n_envs}
        self.num_timesteps = 0
        self.episodes = 0
        self.log_dir = log_dir
        self._observation: np.ndarray | None = None
        self._running = np.zeros(self.n_envs)

    @property
    def agent(self) -> MlxAgent:
        """The current policy (sharing the learner's weights)."""
        return MlxAgent(self.ppo.model, self.spec, self.device)

    @property
    def timesteps(self) -> int:
        """Steps learned so far."""
        return self.num_timesteps

    def details(self) -> dict[str, str]:
        """The banner's rows: MLX's device and version."""
        return {"device": f"MLX {versions().get('mlx', '?')} on the {device_name(self.device)}",
                "threads": "MLX on its own threads"}

    def learn(self, timesteps: int, on_progress: Callable[[int, int, list[float]], bool]) -> None:
        """Rollouts and updates until ``timesteps`` more steps are done or ``on_progress`` returns False.

        Each rollout is learned from before it is reported, so an evaluation or a checkpoint made
        in ``on_progress`` sees the weights the reported step count stands for.
        """
        import mlx.core as mx

        from .ppo import advantages, collect

        target = self.num_timesteps + int(timesteps)
        start = self.num_timesteps
        steps = self.config.steps_per_env(self.n_envs)
        returns: list[float] = []

        def on_episode(rewards: np.ndarray, dones: np.ndarray) -> None:
            self._running += rewards
            if dones.any():
                returns.extend(float(r) for r in self._running[dones])
                self._running[dones] = 0.0
                self.episodes += int(dones.sum())

        with mx.stream(self.device):
            if self._observation is None:
                self._observation = np.asarray(self.env.reset(), dtype=np.float32)
                self._running[:] = 0.0
            while self.num_timesteps < target:
                rollout, self._observation = collect(self.ppo, self.env, self._observation, steps, on_episode)
                self.num_timesteps += steps * self.n_envs
                last_values = self.ppo.values(self._observation)
                advantage, value_targets = advantages(rollout["rewards"], rollout["values"], rollout["dones"],
                                                      last_values, self.config.gamma, self.config.gae_lambda)
                progress_remaining = 1.0 - (self.num_timesteps - steps * self.n_envs - start) / max(target - start, 1)
                learning_rate = self.config.learning_rate_at(progress_remaining)
                rows = steps * self.n_envs
                stats = self.ppo.train(
                    rollout["observations"].reshape(rows, -1), rollout["actions"].reshape(rows, 2),
                    rollout["log_prob"].reshape(rows), advantage.reshape(rows), value_targets.reshape(rows),
                    learning_rate,
                )
                self._log({"timesteps": self.num_timesteps, "episodes": self.episodes, "learning_rate": learning_rate,
                           "std": np.exp(np.array(self.ppo.model.log_std)).tolist(), **stats})
                keep_going = bool(on_progress(self.num_timesteps, self.episodes, returns))
                returns = []
                if not keep_going:
                    break

    def _log(self, row: dict[str, Any]) -> None:
        """Append one rollout's statistics to ``logs/mlx/progress.jsonl`` (no TensorBoard: no torch needed)."""
        if self.log_dir is None:
            return
        path = self.log_dir / PROGRESS_LOG
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row, sort_keys=True) + "\n")

    def save(self, directory: Path) -> None:
        """policy.safetensors, optimizer.safetensors (Adam, the learning rate, the MLX key) and agent.json."""
        import mlx.core as mx
        from mlx.utils import tree_flatten

        directory.mkdir(parents=True, exist_ok=True)
        metadata = {"format": "mcsim-mlx", "network": self.spec["network"]}
        mx.save_safetensors(str(directory / POLICY_FILE), dict(tree_flatten(self.ppo.model.parameters())), metadata)
        state = {f"adam.{name}": value for name, value in tree_flatten(self.ppo.optimizer.state)}
        state[KEY_NAME] = self.ppo.key
        mx.save_safetensors(str(directory / OPTIMIZER_FILE), state, metadata)
        write_json(directory / SPEC_FILE, {**self.spec, "timesteps": self.num_timesteps, "episodes": self.episodes,
                                           "versions": versions()})

    def restore(self, directory: Path) -> None:
        """Continue from a checkpoint: the weights, Adam's state, the MLX key and the step and episode counts.

        Every file is checked before anything is loaded; each problem is one ParameterError naming it.
        """
        import mlx.core as mx
        from mlx.utils import tree_flatten, tree_unflatten

        spec = read_spec(directory)
        if spec["network"] != self.spec["network"]:
            raise ParameterError("resume", f"the checkpoint is mlx/ppo/{spec['network']}, not mlx/ppo/{self.spec['network']}")
        if spec["observation_size"] != self.spec["observation_size"]:
            raise ParameterError("resume", f"the checkpoint reads {spec['observation_size']} observations, this "
                                           f"environment {self.spec['observation_size']} (another horizon)")
        counts = [spec.get(key) for key in ("timesteps", "episodes")]
        if not all(isinstance(count, int) and not isinstance(count, bool) and count >= 0 for count in counts):
            raise ParameterError(str(directory / SPEC_FILE), "lacks whole 'timesteps' and 'episodes' counts")
        policy_path, optimizer_path = directory / POLICY_FILE, directory / OPTIMIZER_FILE
        weights, state = read_arrays(policy_path), read_arrays(optimizer_path)
        key = state.pop(KEY_NAME, None)
        if key is None or key.shape != self.ppo.key.shape or key.dtype != self.ppo.key.dtype:
            raise ParameterError(str(optimizer_path), f"lacks the MLX random key '{KEY_NAME}' (uint32[2])")
        expected = dict(tree_flatten(self.ppo.optimizer.state))
        adam = {name.removeprefix("adam."): value for name, value in state.items()}
        if set(adam) != set(expected) or any(adam[n].shape != expected[n].shape for n in expected):
            raise ParameterError(str(optimizer_path), "does not hold this network's Adam state")
        load_parameters(self.ppo.model, weights, policy_path)
        assign(self.ppo.optimizer.state, tree_unflatten(list(adam.items())))  # in place: the compiled update holds it
        self.ppo.key = key
        mx.eval(self.ppo.model.parameters(), self.ppo.optimizer.state, self.ppo.key)
        self.num_timesteps, self.episodes = counts
        self._observation = None


class MlxBackend(AgentBackend):
    """PPO written on MLX: Apple silicon's GPU, or the CPU."""

    name = "mlx"
    description = "PPO on Apple's MLX (GPU on Apple silicon, CPU elsewhere)"
    trainable = True
    algorithms = ("ppo",)
    networks = NETWORK_NAMES
    devices = DEVICES
    distributions = ("mcsim-mlx", "mlx")
    hyperparameters = HYPERPARAMETERS

    def learner(self, env: Any, settings: dict[str, Any], log_dir: Path) -> MlxLearner:
        """A PPO learner on ``env``."""
        return MlxLearner(env, settings, log_dir)

    def load(self, directory: Path) -> MlxAgent:
        """Rebuild the network from agent.json and read its weights from policy.safetensors (nothing unpickled)."""
        import mlx.core as mx

        from .policy import NETWORKS, ActorCritic

        spec = read_spec(directory)
        model = ActorCritic(int(spec["observation_size"]), NETWORKS[spec["network"]], mx.random.key(0))
        load_parameters(model, read_arrays(directory / POLICY_FILE), directory / POLICY_FILE)
        mx.eval(model.parameters())
        return MlxAgent(model, spec)
