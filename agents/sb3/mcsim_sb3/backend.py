"""The stable-baselines3 backend: PPO (default), SAC, TD3 and A2C on mcsim's environments.

SB3 sees the actions rescaled to [-1, 1] (its recommended box); the agent maps them back to the
environment's [0, 1]. Weights are saved with ``torch.save`` of state dicts and loaded with
``torch.load(weights_only=True)`` beside a JSON description, so a run directory is never unpickled.
"""

from __future__ import annotations

import importlib.metadata
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, PPO, SAC, TD3
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecMonitor
from stable_baselines3.sac.policies import SACPolicy

from mcsim.core.errors import ParameterError
from mcsim.env.environment import observation_space
from mcsim.env.kernels import HORIZONS
from mcsim.env.vec_env import register_with_sb3
from mcsim.plugins.agents import Agent, AgentBackend, Hyperparameter, Learner
from mcsim.training.runio import brief, file_problem, read_json_object, write_json

register_with_sb3()  # SB3 takes NumbaVecEnv as a VecEnv, however the env and SB3 were imported

NETWORKS: dict[str, list[int]] = {
    "standard": [128, 64, 32],
    "solid": [256, 128, 64, 32],
    "robust": [512, 256, 128, 64],
    "enterprise": [512, 512, 256, 128, 64],
}
ALGOS = {"ppo": PPO, "sac": SAC, "td3": TD3, "a2c": A2C}
DEVICES = ("auto", "cpu", "cuda", "mps")
SPEC_FILE, POLICY_FILE, OPTIMIZER_FILE = "agent.json", "policy.pt", "optimizer.pt"


def available_devices() -> list[str]:
    """The torch devices this machine has, CPU last."""
    devices = []
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return [*devices, "cpu"]


def resolve_device(device: str, network: str) -> str:
    """The device to train on: ``auto`` picks what ``bench/train.py`` measured fastest for the network.

    Every preset is a small MLP trained with minibatches of at most a few thousand rows: the CPU
    wins (no transfer per minibatch), which is what stable-baselines3 recommends for MLP policies
    too. No GPU has been measured yet, so ``auto`` never picks one; ask for cuda or mps explicitly.
    """
    if device not in DEVICES:
        raise ParameterError("device", f"must be one of {', '.join(DEVICES)} (got {device!r})")
    if device == "auto":
        return "cpu"
    if device not in available_devices():
        raise ParameterError("device", f"{device} is not available here (available: {', '.join(available_devices())})")
    return device


class UnitActions(VecEnvWrapper):
    """Show SB3 the actions in [-1, 1]; pass them to the env in [0, 1]."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv, action_space=spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32))

    def reset(self) -> np.ndarray:
        """Reset the wrapped env."""
        return self.venv.reset()

    def step_async(self, actions: np.ndarray) -> None:
        """Pass the actions on in [0, 1]."""
        self.venv.step_async(to_env_actions(actions))

    def step_wait(self) -> tuple:
        """The wrapped env's step."""
        return self.venv.step_wait()


def to_env_actions(actions: np.ndarray) -> np.ndarray:
    """SB3's [-1, 1] actions as the environment's [0, 1] ones."""
    return ((np.clip(np.asarray(actions, dtype=np.float32), -1.0, 1.0) + 1.0) * 0.5).astype(np.float32)


def _policy_kwargs(algo: str, network: str) -> dict[str, Any]:
    layers = NETWORKS[network]
    if algo in ("ppo", "a2c"):
        # Exploration noise of std 0.37 in SB3's [-1, 1] (0.18 of a rate or a share), not SB3's 1.0,
        # which clips half the samples at the bounds and drowns small differences in reward.
        return {"net_arch": {"pi": layers, "vf": layers}, "log_std_init": -1.0}
    return {"net_arch": {"pi": layers, "qf": layers}}


def _algo_kwargs(algo: str, n_envs: int) -> dict[str, Any]:
    """Hyperparameters tuned for speed on a laptop CPU; gamma 1 (the objective is an undiscounted sum)."""
    if algo == "ppo":
        n_steps = max(8, 2048 // n_envs)
        return {"n_steps": n_steps, "batch_size": min(512, n_steps * n_envs), "n_epochs": 10, "gamma": 1.0,
                "gae_lambda": 0.95, "learning_rate": 3e-4, "ent_coef": 0.0}
    if algo == "a2c":
        return {"n_steps": 8, "gamma": 1.0}
    return {"gamma": 1.0, "learning_starts": 1000, "batch_size": 256, "train_freq": 1, "gradient_steps": 1,
            "buffer_size": 200_000}


ON_POLICY, OFF_POLICY = ("ppo", "a2c"), ("sac", "td3")
HYPERPARAMETERS = (
    Hyperparameter("learning_rate", "float", 1e-6, 1e-2, log=True, description="the optimizer's step size"),
    Hyperparameter("gamma", "float", 0.9, 1.0, description="discount of future rewards (1: the objective's own sum)"),
    Hyperparameter("n_epochs", "int", 1, 50, algorithms=("ppo",), description="passes over each rollout"),
    Hyperparameter("n_steps", "int", 1, 8192, log=True, algorithms=ON_POLICY,
                   description="steps per env between updates"),
    Hyperparameter("batch_size", "int", 8, 65536, log=True, algorithms=("ppo", "sac", "td3"),
                   description="minibatch size"),
    Hyperparameter("ent_coef", "float", 0.0, 0.1, algorithms=ON_POLICY, description="entropy bonus"),
    Hyperparameter("gae_lambda", "float", 0.8, 1.0, algorithms=ON_POLICY, description="GAE's bias-variance trade-off"),
    Hyperparameter("clip_range", "float", 0.05, 0.5, algorithms=("ppo",), description="PPO's ratio clip"),
    Hyperparameter("vf_coef", "float", 0.1, 1.0, algorithms=ON_POLICY, description="weight of the value loss"),
    Hyperparameter("max_grad_norm", "float", 0.1, 10.0, algorithms=ON_POLICY, description="gradient clipping"),
    Hyperparameter("tau", "float", 0.001, 1.0, algorithms=OFF_POLICY, description="target networks' update rate"),
    Hyperparameter("learning_starts", "int", 0, 100_000, algorithms=OFF_POLICY,
                   description="steps before the first update"),
    Hyperparameter("buffer_size", "int", 1_000, 10_000_000, log=True, algorithms=OFF_POLICY,
                   description="replay buffer size"),
)
"""What ``train --param`` and ``mcsim sweep --param`` may set, with SB3's meaning and ranges that keep training sane."""


def _versions() -> dict[str, str]:
    return {name: importlib.metadata.version(name) for name in ("stable-baselines3", "torch", "mcsim-sb3")}


def keep_torch_threads(threads: int) -> None:
    """Put torch back on ``threads`` intra-op threads if something moved it.

    Torch and Numba share one OpenMP runtime, and Numba's parallel launches reset the OpenMP thread
    count that torch reads: unchecked, torch ran on 2 threads after the first env step, which doubled
    a single action's latency and, beside another busy process, cut PPO to a third of its speed
    (``bench/contention.py``, ``bench/predict.py``).
    """
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


class Sb3Agent(Agent):
    """A trained SB3 policy acting on mcsim observations, on ``torch_threads`` intra-op threads (1 by default)."""

    def __init__(self, policy: torch.nn.Module, spec: dict[str, Any], torch_threads: int = 1) -> None:
        self.policy = policy
        self.spec = spec
        self.torch_threads = torch_threads

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Actions in [0, 1] for float32[B, n] observations (n: the policy's, 11 or 18 over the whole life)."""
        keep_torch_threads(self.torch_threads)
        actions, _ = self.policy.predict(np.asarray(obs, dtype=np.float32), deterministic=deterministic)
        return to_env_actions(actions)

    def actor(self) -> torch.nn.Module:
        """The deterministic actor: raw observations float32[B, n] (n: :attr:`observation_size`) to actions in [0, 1]."""
        return DeterministicActor(self.policy).eval()

    @property
    def observation_size(self) -> int:
        """The observations the policy reads: 11 (horizon retirement) or 18 (the whole life)."""
        return int(self.spec.get("observation_size", observation_space().shape[0]))


class DeterministicActor(torch.nn.Module):
    """What ``predict(deterministic=True)`` computes, as one module.

    The policy's deterministic action (the Gaussian mean for PPO and A2C, the squashed actor for
    SAC and TD3), clipped to SB3's [-1, 1] box and mapped to the environment's [0, 1]. The
    observations need no normalization.
    """

    def __init__(self, policy: torch.nn.Module) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        """Final actions for a batch of observations.

        Written out without SB3's distribution objects, which validate their arguments with
        data-dependent checks that ``torch.export`` (hence the ONNX exporter) cannot trace.
        """
        policy = self.policy
        if isinstance(policy, ActorCriticPolicy):
            features = BasePolicy.extract_features(policy, observation, policy.pi_features_extractor)
            unit = policy.action_net(policy.mlp_extractor.forward_actor(features))
        elif isinstance(policy, SACPolicy):
            unit = torch.tanh(policy.actor.get_action_dist_params(observation)[0])
        else:  # TD3: the actor is deterministic, already squashed
            unit = policy.actor(observation)
        return (torch.clamp(unit, -1.0, 1.0) + 1.0) * 0.5


def load_weights(path: Path) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; any failure is one ParameterError naming the file.

    A file holding Python objects beyond tensors (a planted pickle) is refused, and nothing of it runs.
    """
    problem = file_problem(path)
    if problem is not None:
        raise ParameterError(str(path), problem)
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as error:
        if "weights only load failed" in str(error).lower():
            raise ParameterError(str(path), "holds Python objects, not only weights: refused (nothing was run)") from None
        raise ParameterError(str(path), f"is not a torch weights file, truncated or corrupt ({brief(error)})") from None
    except Exception as error:  # noqa: BLE001 - a corrupt zip or pickle stream fails with any of a dozen types
        raise ParameterError(str(path), f"is not a torch weights file, truncated or corrupt ({brief(error)})") from None


def load_into(target: torch.nn.Module | torch.optim.Optimizer, state: Any, path: Path) -> None:
    """Load a state dict read from ``path`` into ``target``; a mismatch is one ParameterError naming the file."""
    if not isinstance(state, dict):
        raise ParameterError(str(path), f"holds a {type(state).__name__}, not a state dict")
    try:
        target.load_state_dict(state)
    except Exception as error:  # noqa: BLE001 - torch raises RuntimeError, KeyError, ValueError or TypeError
        raise ParameterError(str(path), f"does not fit this {type(target).__name__} ({brief(error)})") from None


def read_spec(directory: Path) -> dict[str, Any]:
    """The agent.json of a saved sb3 agent, checked: a known algorithm, network and observation size."""
    path = directory / SPEC_FILE
    spec = read_json_object(path)
    if spec.get("algo") not in ALGOS or spec.get("network") not in NETWORKS:
        raise ParameterError(str(path), f"does not describe an sb3 agent (algo {spec.get('algo')!r}, "
                                        f"network {spec.get('network')!r})")
    spec_observation_space(spec, path)
    return spec


def spec_observation_space(spec: dict[str, Any], path: Path | str = SPEC_FILE) -> spaces.Box:
    """The observation space of a saved agent: the horizon's whose size agent.json records (11 when it records none).

    Agents saved before the whole life record 11 inputs, the retirement horizon's; a size that is
    no horizon's is one ParameterError naming the file.
    """
    size = spec.get("observation_size", observation_space().shape[0])
    for horizon in HORIZONS:
        space = observation_space(horizon)
        if size == space.shape[0] and not isinstance(size, bool):
            return space
    sizes = ", ".join(f"{observation_space(h).shape[0]} ({h})" for h in HORIZONS)
    raise ParameterError(str(path), f"its observation_size {size!r} is no horizon's (known: {sizes})")


def build_policy(spec: dict[str, Any]) -> torch.nn.Module:
    """An untrained policy network of the algorithm, network and observation size in ``spec``, on the CPU."""
    algo = ALGOS[spec["algo"]]
    policy_class = algo.policy_aliases["MlpPolicy"]
    unit = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    return policy_class(spec_observation_space(spec), unit, lambda _: 0.0,
                        **_policy_kwargs(spec["algo"], spec["network"]))


class _Progress(BaseCallback):
    """Reports each rollout to the trainer, and keeps torch on the learner's thread count (:func:`keep_torch_threads`)."""

    def __init__(self, on_progress: Callable[[int, int, list[float]], bool], episodes: int, torch_threads: int) -> None:
        super().__init__()
        self.on_progress = on_progress
        self.episodes = episodes
        self.torch_threads = torch_threads
        self.returns: list[float] = []
        self.keep_going = True

    def _on_step(self) -> bool:
        keep_torch_threads(self.torch_threads)
        dones = self.locals["dones"]
        if dones.any():
            infos = self.locals["infos"]
            for index in np.flatnonzero(dones):
                episode = infos[index].get("episode")
                if episode is not None:
                    self.returns.append(float(episode["r"]))
            self.episodes += int(dones.sum())
        return self.keep_going

    def _on_rollout_end(self) -> None:
        keep_torch_threads(self.torch_threads)
        self.keep_going = bool(self.on_progress(self.num_timesteps, self.episodes, self.returns))
        self.returns = []


def run_logger(log_dir: Path | None) -> Logger:
    """SB3's logger writing TensorBoard events under ``log_dir/sb3_0`` only, or nothing without a log dir.

    Set explicitly: SB3's default logger makes an ``SB3-<time>`` folder in the system's temporary
    directory when it has nowhere else to write.
    """
    if log_dir is None:
        return Logger(folder=None, output_formats=[])
    from stable_baselines3.common.logger import configure

    return configure(str(log_dir / "sb3_0"), ["tensorboard"])


class Sb3Learner(Learner):
    """An SB3 model learning on a vectorized mcsim environment."""

    def __init__(self, env: VecEnv, settings: dict[str, Any], log_dir: Path | None) -> None:
        algo = settings.get("algo", "ppo")
        network = settings.get("network", "solid")
        if algo not in ALGOS:
            raise ParameterError("algo", f"must be one of {', '.join(ALGOS)} (got {algo!r})")
        if network not in NETWORKS:
            raise ParameterError("network", f"must be one of {', '.join(NETWORKS)} (got {network!r})")
        self.torch_threads = int(settings.get("torch_threads", 1))
        torch.set_num_threads(self.torch_threads)
        self.device = resolve_device(settings.get("device", "auto"), network)
        # The env's own observations: 11 to retirement, 18 over the whole life (what load rebuilds).
        self.spec = {"backend": "sb3", "algo": algo, "network": network, "layers": NETWORKS[network],
                     "observation_size": int(env.observation_space.shape[0]), "action_scale": "[-1,1] to [0,1]"}
        self.env = VecMonitor(UnitActions(env))
        self.episodes = 0
        kwargs = _algo_kwargs(algo, env.num_envs)
        if "learning_rate" in settings:
            kwargs["learning_rate"] = float(settings["learning_rate"])
        kwargs.update(settings.get("hyperparameters") or {})  # checked against HYPERPARAMETERS by the trainer
        self.model = ALGOS[algo](
            "MlpPolicy", self.env, seed=settings.get("seed", 0), device=self.device, verbose=0,
            policy_kwargs=_policy_kwargs(algo, network), **kwargs,
        )
        self.log_dir = log_dir
        self.logging = False

    @property
    def agent(self) -> Sb3Agent:
        """The current policy."""
        return Sb3Agent(self.model.policy, self.spec, self.torch_threads)

    @property
    def timesteps(self) -> int:
        """Steps learned so far."""
        return int(self.model.num_timesteps)

    def learn(self, timesteps: int, on_progress: Callable[[int, int, list[float]], bool]) -> None:
        """SB3's learn, reporting after each rollout."""
        callback = _Progress(on_progress, self.episodes, self.torch_threads)
        if not self.logging:  # set on the first learn, so that a start that fails writes no log
            self.model.set_logger(run_logger(self.log_dir))
            self.logging = True
        try:
            self.model.learn(timesteps, callback=callback, reset_num_timesteps=False, tb_log_name="sb3")
        finally:
            self.episodes = callback.episodes

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimizer of the model: the policy's (PPO, A2C), or the actor's and critic's (SAC, TD3)."""
        policy = self.model.policy
        found = {}
        if getattr(policy, "optimizer", None) is not None:
            found["policy"] = policy.optimizer
        for part in ("actor", "critic"):
            optimizer = getattr(getattr(policy, part, None), "optimizer", None)
            if optimizer is not None:
                found[part] = optimizer
        if getattr(self.model, "ent_coef_optimizer", None) is not None:
            found["ent_coef"] = self.model.ent_coef_optimizer
        return found

    def save(self, directory: Path) -> None:
        """Policy and optimizer state dicts (torch.save) and agent.json.

        Off-policy algorithms (SAC, TD3) resume without their replay buffer: it would be large and
        pickled; their networks, targets, optimizers and SAC's entropy coefficient are kept.
        """
        directory.mkdir(parents=True, exist_ok=True)
        torch.save(self.model.policy.state_dict(), directory / POLICY_FILE)
        state = {name: optimizer.state_dict() for name, optimizer in self._optimizers().items()}
        if isinstance(getattr(self.model, "log_ent_coef", None), torch.Tensor):
            state["log_ent_coef"] = self.model.log_ent_coef.detach().clone()
        torch.save(state, directory / OPTIMIZER_FILE)
        write_json(directory / SPEC_FILE, {**self.spec, "timesteps": self.timesteps, "episodes": self.episodes,
                                           "versions": _versions()})

    def restore(self, directory: Path) -> None:
        """Load the state dicts with weights_only=True, and the step and episode counts.

        Every file is checked before any is loaded into the model; each problem is one ParameterError naming it.
        """
        spec = read_spec(directory)
        if (spec["algo"], spec["network"]) != (self.spec["algo"], self.spec["network"]):
            raise ParameterError("resume", f"the checkpoint is {spec['algo']}/{spec['network']}, "
                                 f"not {self.spec['algo']}/{self.spec['network']}")
        size = spec.get("observation_size", observation_space().shape[0])
        if size != self.spec["observation_size"]:
            raise ParameterError("resume", f"the checkpoint reads {size} observations, this environment "
                                 f"{self.spec['observation_size']} (another horizon)")
        counts = [spec.get(key) for key in ("timesteps", "episodes")]
        if not all(isinstance(count, int) and not isinstance(count, bool) and count >= 0 for count in counts):
            raise ParameterError(str(directory / SPEC_FILE), "lacks whole 'timesteps' and 'episodes' counts")
        policy_path, optimizer_path = directory / POLICY_FILE, directory / OPTIMIZER_FILE
        policy_state, state = load_weights(policy_path), load_weights(optimizer_path)
        if not isinstance(state, dict):
            raise ParameterError(str(optimizer_path), f"holds a {type(state).__name__}, not optimizer states")
        load_into(self.model.policy, policy_state, policy_path)
        for name, optimizer in self._optimizers().items():
            if name not in state:
                raise ParameterError(str(optimizer_path), f"lacks the state of the {name} optimizer")
            load_into(optimizer, state[name], optimizer_path)
        if "log_ent_coef" in state:
            coefficient = state["log_ent_coef"]
            if not isinstance(coefficient, torch.Tensor) or coefficient.shape != self.model.log_ent_coef.shape:
                raise ParameterError(str(optimizer_path), "its 'log_ent_coef' is not SAC's entropy coefficient tensor")
            with torch.no_grad():
                self.model.log_ent_coef.copy_(coefficient)
        self.model.num_timesteps, self.episodes = counts


class Sb3Backend(AgentBackend):
    """PPO, SAC, TD3 or A2C from stable-baselines3."""

    name = "sb3"
    description = "stable-baselines3: PPO (default), SAC, TD3, A2C on torch"
    trainable = True
    algorithms = tuple(ALGOS)
    networks = tuple(NETWORKS)
    devices = DEVICES
    distributions = ("mcsim-sb3", "stable-baselines3", "torch")
    hyperparameters = HYPERPARAMETERS

    def learner(self, env: Any, settings: dict[str, Any], log_dir: Path) -> Sb3Learner:
        """An SB3 model on ``env``."""
        return Sb3Learner(env, settings, log_dir)

    def load(self, directory: Path) -> Sb3Agent:
        """Rebuild the policy from agent.json and load its weights (weights_only=True)."""
        spec = read_spec(directory)
        policy = build_policy(spec)
        load_into(policy, load_weights(directory / POLICY_FILE), directory / POLICY_FILE)
        policy.set_training_mode(False)
        return Sb3Agent(policy, spec)

