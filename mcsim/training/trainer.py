"""The shared trainer: any learning backend, on a mixture of households, into a run directory.

A run directory holds ``model/`` (the final weights and the backend's JSON), ``checkpoint/`` (the
last checkpoint, replaced whole each time), ``logs/`` (TensorBoard) and ``manifest.json``: the
configuration, package versions, seeds, budget, metrics and evaluation history. Every file is
written atomically; Ctrl-C saves a checkpoint and stops cleanly; ``resume`` continues from it.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np

from ..core.checks import integer
from ..core.errors import ParameterError
from ..env.environment import EnvConfig, RetirementEnv
from ..env.household import HouseholdPool, pool_from_profiles, sample_pool
from ..env.policies import BASELINES, rollout
from ..env.vec_env import NumbaVecEnv
from ..plugins.agents import AgentBackend, get_backend
from .runio import read_json, replace_directory, write_json

VEC_KINDS = ("numba", "subproc", "dummy")
EVAL_SEED_OFFSET = 1_000_003
MANIFEST, MODEL_DIR, CHECKPOINT_DIR, LOG_DIR = "manifest.json", "model", "checkpoint", "logs"


def default_workers() -> int:
    """Subprocess workers: min(12, max(4, cores - 2))."""
    return min(12, max(4, (os.cpu_count() or 1) - 2))


@dataclass(frozen=True)
class TrainConfig:
    """What ``mcsim train`` takes; see the command's help for each field."""

    agent: str = "sb3"
    algo: str = "ppo"
    profiles: int = 500
    episodes: int = 100
    timesteps: int | None = None
    profile: str | None = None
    network: str = "solid"
    device: str = "auto"
    vec: str = "numba"
    n_envs: int = 64
    workers: int | None = None
    mc_train: int = 50
    reward: str = "planner"
    gamma: float = 2.0
    seed: int = 0
    out: str | None = None
    resume: bool = False
    eval_households: int = 8
    eval_episodes: int = 16
    evaluations: int = 5
    torch_threads: int = 1

    def __post_init__(self) -> None:
        integer("profiles", self.profiles, 1, 1_000_000)
        integer("episodes", self.episodes, 1, 10_000_000)
        if self.timesteps is not None:
            integer("timesteps", self.timesteps, 1, 10**10)
        if self.vec not in VEC_KINDS:
            raise ParameterError("vec", f"must be one of {', '.join(VEC_KINDS)} (got {self.vec!r})")
        integer("n_envs", self.n_envs, 1, 4096)
        if self.workers is not None:
            integer("workers", self.workers, 1, 256)
        integer("mc_train", self.mc_train, 1, 100_000)
        self.env_config()
        integer("seed", self.seed, 0, 2**32 - 1)
        integer("eval_households", self.eval_households, 1, 10_000)
        integer("eval_episodes", self.eval_episodes, 1, 100_000)
        integer("evaluations", self.evaluations, 0, 1000)
        integer("torch_threads", self.torch_threads, 1, 256)

    @property
    def run_dir(self) -> Path:
        """Where the run is written: ``out``, else the first free ``runs/AGENT-ALGO-seedS[-k]``."""
        if self.out:
            return Path(self.out)
        base = Path("runs") / f"{self.agent}-{self.algo}-seed{self.seed}"
        if self.resume:
            return base
        candidate, k = base, 1
        while (candidate / MANIFEST).exists():
            k += 1
            candidate = base.with_name(f"{base.name}-{k}")
        return candidate

    @classmethod
    def resumed(cls, out: str | None, overrides: dict[str, Any]) -> TrainConfig:
        """The configuration of the run being resumed, with ``overrides`` (say, a larger budget) on top."""
        naming = {key: value for key, value in overrides.items() if key in ("agent", "algo", "seed")}
        run_dir = Path(out) if out else cls(resume=True, **naming).run_dir
        manifest = run_dir / MANIFEST
        if not manifest.is_file():
            raise ParameterError("resume", f"{run_dir} has no run to resume (no {MANIFEST})")
        saved = read_json(manifest)["config"]
        return cls(**{**saved, **overrides, "out": str(run_dir), "resume": True})

    def env_config(self) -> EnvConfig:
        """The training environment's configuration (validated)."""
        return EnvConfig(mc_paths=self.mc_train, reward=self.reward, gamma=self.gamma)

    def backend_settings(self) -> dict[str, Any]:
        """What the backend's learner needs to know."""
        return {"algo": self.algo, "network": self.network, "device": self.device, "seed": self.seed,
                "torch_threads": self.torch_threads}


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages a run depends on."""
    versions = {"python": platform.python_version()}
    for name in ("mcsim", "mcsim-sb3", "numpy", "numba", "gymnasium", "stable-baselines3", "torch"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def training_pools(config: TrainConfig) -> tuple[HouseholdPool, HouseholdPool]:
    """(training households, held-out evaluation households)."""
    if config.profile is not None:
        pool = pool_from_profiles([config.profile])
        return pool, pool
    return (
        sample_pool(config.profiles, seed=config.seed),
        sample_pool(config.eval_households, seed=config.seed + EVAL_SEED_OFFSET),
    )


def episode_steps(pool: HouseholdPool, step_months: int) -> np.ndarray:
    """Decisions per episode of each household."""
    return np.ceil(pool.n_accum / step_months).astype(np.int64)


def make_vec_env(config: TrainConfig, pool: HouseholdPool, env_config: EnvConfig) -> Any:
    """The vectorized training env of kind ``config.vec`` (subproc and dummy are SB3's, over RetirementEnv)."""
    kwargs = asdict(env_config)
    if config.vec == "numba":
        return NumbaVecEnv(config.n_envs, pool, seed=config.seed, **kwargs)
    from functools import partial

    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    factory = partial(_seeded_env, pool, kwargs)
    if config.vec == "dummy":
        vec = DummyVecEnv([factory] * config.n_envs)
    else:
        workers = config.workers or default_workers()
        # One env per worker process, each with its share of the cores for Numba: none oversubscribed.
        previous = os.environ.get("NUMBA_NUM_THREADS")
        os.environ["NUMBA_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
        try:
            vec = SubprocVecEnv([factory] * workers, start_method="spawn")
        finally:
            if previous is None:
                del os.environ["NUMBA_NUM_THREADS"]
            else:
                os.environ["NUMBA_NUM_THREADS"] = previous
    vec.seed(config.seed)
    return vec


def _seeded_env(pool: HouseholdPool, kwargs: dict[str, Any]) -> RetirementEnv:
    return RetirementEnv(pool, **kwargs)


@dataclass(frozen=True)
class Baselines:
    """Mean evaluation return of each baseline on the held-out households (common random numbers)."""

    returns: dict[str, float]

    @property
    def best(self) -> tuple[str, float]:
        """The best baseline and its mean return."""
        name = max(self.returns, key=self.returns.get)
        return name, self.returns[name]


def evaluate_returns(agent: Any, pool: HouseholdPool, config: TrainConfig, env_config: EnvConfig) -> float:
    """Mean return of ``agent`` over the held-out households, on the evaluation's fixed markets."""
    n_episodes = pool.size * config.eval_episodes
    result = rollout(agent, pool, n_episodes, seed=config.seed + EVAL_SEED_OFFSET, **asdict(env_config))
    return float(result.returns.mean())


class Trainer:
    """Runs one training: banner, progress, evaluations, checkpoints, manifest."""

    def __init__(self, config: TrainConfig, env_config: EnvConfig | None = None, console: Any = None) -> None:
        from rich.console import Console

        self.config = config
        self.env_config = env_config or config.env_config()
        self.console = console or Console()
        self.backend: AgentBackend = get_backend(config.agent)
        if not self.backend.trainable:
            raise ParameterError("agent", f"'{config.agent}' is rule-based: there is nothing to train")
        self.run_dir = config.run_dir
        manifest = self.run_dir / MANIFEST
        if config.resume:
            if not (self.run_dir / CHECKPOINT_DIR).is_dir() or not manifest.is_file():
                raise ParameterError("resume", f"{self.run_dir} has no checkpoint to resume from")
        elif manifest.exists():
            raise ParameterError("out", f"{self.run_dir} already holds a run: pass --resume or another --out")
        self.pool, self.eval_pool = training_pools(config)
        steps = episode_steps(self.pool, self.env_config.step_months)
        # The budget is in episodes (profiles x episodes), unless timesteps are given: then in steps alone.
        episodes = config.profiles * config.episodes if config.profile is None else config.episodes
        self.budget_episodes: int | None = None if config.timesteps else episodes
        self.budget_timesteps = config.timesteps or int(math.ceil(episodes * steps.mean()))
        self.history: list[dict[str, float]] = []
        self.started = time.time()

    def manifest(self, status: str, learner: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The run's manifest as it stands."""
        return {
            "status": status,
            "config": asdict(self.config),
            "env": asdict(self.env_config),
            "versions": package_versions(),
            "seeds": {"train": self.config.seed, "eval": self.config.seed + EVAL_SEED_OFFSET},
            "budget": {"episodes": self.budget_episodes, "timesteps": self.budget_timesteps},
            "progress": {"timesteps": learner.timesteps, "episodes": getattr(learner, "episodes", None)},
            "eval_history": self.history,
            "wall_seconds": round(time.time() - self.started, 3),
            **(extra or {}),
        }

    def banner(self, vec: Any) -> None:
        """Print what the run is about to do, on what."""
        from rich.table import Table

        config = self.config
        table = Table(box=None, show_header=False, pad_edge=False)
        workers = (config.workers or default_workers()) if config.vec == "subproc" else 1
        rows = [
            ("agent", f"{config.agent} ({config.algo}, network {config.network}, device {config.device})"),
            ("cores", f"{os.cpu_count()} (numba threads {numba.get_num_threads()}, torch threads {config.torch_threads})"),
            ("vec env", f"{config.vec}: {vec.num_envs} envs" + (f" in {workers} workers" if config.vec == "subproc" else "")),
            ("households", f"{config.profile} (one profile)" if config.profile
             else f"{self.pool.size} sampled (seed {config.seed})"),
            ("budget", f"{self.budget_timesteps:,} steps" if self.budget_episodes is None
             else f"{self.budget_episodes:,} episodes, about {self.budget_timesteps:,} steps"),
            ("run", str(self.run_dir)),
        ]
        for key, value in rows:
            table.add_row(f"[bold]{key}[/bold]", value)
        self.console.print(table)

    def run(self) -> dict[str, Any]:
        """Train to the budget (or until Ctrl-C) and return the final manifest."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.run_dir.mkdir(parents=True, exist_ok=True)
        vec = make_vec_env(self.config, self.pool, self.env_config)
        learner = self.backend.learner(vec, self.config.backend_settings(), self.run_dir / LOG_DIR)
        if self.config.resume:
            learner.restore(self.run_dir / CHECKPOINT_DIR)
            self.history = read_json(self.run_dir / MANIFEST).get("eval_history", [])
        self.banner(vec)
        baselines = Baselines({
            name: evaluate_returns(policy, self.eval_pool, self.config, self.env_config) for name, policy in BASELINES.items()
        })
        every = max(1, self.budget_timesteps // self.config.evaluations) if self.config.evaluations else None
        next_eval = [(learner.timesteps // every + 1) * every if every else math.inf]
        recent: list[float] = []
        last = [time.perf_counter(), learner.timesteps]

        progress = Progress(
            TextColumn("[bold]training"), BarColumn(), TextColumn("{task.completed:,.0f}/{task.total:,.0f} steps"),
            TextColumn("{task.fields[episodes]:,} episodes"), TextColumn("{task.fields[speed]:,.0f} steps/s"),
            TextColumn("mean return {task.fields[mean]:.3f}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=self.console, transient=False,
        )

        def on_progress(timesteps: int, episodes: int, returns: list[float]) -> bool:
            recent.extend(returns)
            del recent[:-200]
            now = time.perf_counter()
            speed = (timesteps - last[1]) / max(now - last[0], 1e-9)
            last[:] = [now, timesteps]
            mean = float(np.mean(recent)) if recent else float("nan")
            progress.update(task, completed=min(timesteps, self.budget_timesteps), episodes=episodes, speed=speed, mean=mean)
            if timesteps >= next_eval[0]:
                self.evaluate(learner, baselines)
                next_eval[0] += every
                self.checkpoint(learner)
            within_episodes = self.budget_episodes is None or episodes < self.budget_episodes
            return within_episodes and timesteps < self.budget_timesteps

        status = "complete"
        with progress:
            task = progress.add_task("train", total=self.budget_timesteps, episodes=0, speed=0.0, mean=float("nan"))
            try:
                remaining = self.budget_timesteps - learner.timesteps
                if remaining > 0:
                    learner.learn(remaining, on_progress)
            except KeyboardInterrupt:
                status = "interrupted"
        self.checkpoint(learner, status)
        if status == "interrupted":
            self.console.print(f"Interrupted: checkpoint saved in {self.run_dir / CHECKPOINT_DIR}; resume with --resume.")
            vec.close()
            raise KeyboardInterrupt
        with replace_directory(self.run_dir / MODEL_DIR) as directory:
            learner.save(directory)
        final = self.evaluate(learner, baselines)
        vec.close()
        best_name, best_return = baselines.best
        metrics = {"eval_return": final["return"], "best_baseline": best_name, "best_baseline_return": best_return,
                   "baseline_returns": baselines.returns}
        manifest = self.manifest(status, learner, {"metrics": metrics})
        write_json(self.run_dir / MANIFEST, manifest)
        return manifest

    def evaluate(self, learner: Any, baselines: Baselines) -> dict[str, float]:
        """Evaluate the current policy on the held-out households; append it to the history."""
        entry = {"timesteps": learner.timesteps, "return": evaluate_returns(learner.agent, self.eval_pool, self.config,
                                                                           self.env_config),
                 "best_baseline_return": baselines.best[1], "wall_seconds": round(time.time() - self.started, 3)}
        self.history.append(entry)
        return entry

    def checkpoint(self, learner: Any, status: str = "training") -> None:
        """Save the learner whole, then the manifest that points at it."""
        with replace_directory(self.run_dir / CHECKPOINT_DIR) as directory:
            learner.save(directory)
        write_json(self.run_dir / MANIFEST, self.manifest(status, learner))


def train(config: TrainConfig, console: Any = None, env_config: EnvConfig | None = None) -> dict[str, Any]:
    """Train as ``config`` says; return the run's manifest."""
    return Trainer(config, env_config, console).run()


def load_agent(run_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """The trained agent of a run directory and its manifest (weights and JSON only, nothing unpickled)."""
    run = Path(run_dir)
    manifest_path = run / MANIFEST
    if not manifest_path.is_file():
        raise ParameterError("run", f"{run} is not a run directory (no {MANIFEST})")
    manifest = read_json(manifest_path)
    model = run / MODEL_DIR
    if not model.is_dir():
        model = run / CHECKPOINT_DIR
    if not model.is_dir():
        raise ParameterError("run", f"{run} has no model or checkpoint")
    backend = get_backend(manifest["config"]["agent"])
    return backend.load(model), manifest

