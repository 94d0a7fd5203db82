"""The shared trainer: any learning backend, on a mixture of households, into a run directory.

A run directory holds ``model/`` (the final weights and the backend's JSON), ``checkpoint/`` (the
last checkpoint, replaced whole each time), ``logs/`` (TensorBoard) and ``manifest.json``: the
configuration, package versions, seeds, budget, metrics and evaluation history. Every file is
written atomically; Ctrl-C saves a checkpoint and stops cleanly; ``resume`` continues from it.
Resuming without ``out`` takes the most recent unfinished run of the agent, algorithm and seed (an
error when there is none); a finished run already at its budget is left as it is (``Trainer.finished``).
Every file a run directory holds is checked when read: a broken one is one ParameterError naming it.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np

from ..core.checks import integer
from ..core.errors import ParameterError
from ..core.market import RETURN_MODELS
from ..core.mortality import MORTALITY_MODELS
from ..core.profile import HISTORY_MODELS, MarketHistory, Profile, load_profile, with_market
from ..core.progress import OnProgress, phase, silent
from ..env.environment import EnvConfig, RetirementEnv
from ..env.household import HouseholdPool, pool_from_profiles, sample_pool
from ..env.kernels import reset_batch, step_batch
from ..env.policies import BASELINES, rollout
from ..env.vec_env import NumbaVecEnv
from ..plugins.agents import AgentBackend, get_backend
from ..plugins.baseline_agents import life_baselines
from .rundirs import (
    CHECKPOINT_DIR,
    LOG_DIR,
    MANIFEST,
    MODEL_DIR,
    RUNS_ROOT,
    check_run_path,
    first_missing,
    latest_unfinished_run,
    read_manifest,
    resume_command,
    unfinished_runs,
)
from .runio import replace_directory, write_json

VEC_KINDS = ("numba", "subproc", "dummy")
EVAL_SEED_OFFSET = 1_000_003


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
    horizon: str = "retirement"
    bequest_weight: float = 0.0
    mortality: str = "fixed"
    market: str | None = None
    seed: int = 0
    out: str | None = None
    resume: bool = False
    eval_households: int = 8
    eval_episodes: int = 16
    evaluations: int = 5
    torch_threads: int = 1
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    """The backend's learner settings (``train --param NAME=VALUE``), checked against what it declares."""

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
        if self.bequest_weight > 0.0 and self.horizon != "life":
            raise ParameterError("bequest_weight", "a bequest is valued with horizon life only")
        if self.mortality not in MORTALITY_MODELS:
            raise ParameterError("mortality", f"must be one of {', '.join(MORTALITY_MODELS)} (got {self.mortality!r})")
        if self.mortality != "fixed" and self.horizon != "life":
            raise ParameterError("mortality", "gompertz households live to 110: train them with horizon life")
        if self.mortality != "fixed" and self.profile is not None:
            raise ParameterError("mortality", "a profile carries its own mortality (person.mortality): drop one of the two")
        if self.market is not None and self.market not in RETURN_MODELS:
            raise ParameterError("market", f"must be one of {', '.join(RETURN_MODELS)} (got {self.market!r})")
        integer("seed", self.seed, 0, 2**32 - 1)
        integer("eval_households", self.eval_households, 1, 10_000)
        integer("eval_episodes", self.eval_episodes, 1, 100_000)
        integer("evaluations", self.evaluations, 0, 1000)
        integer("torch_threads", self.torch_threads, 1, 256)

    @property
    def run_dir(self) -> Path:
        """Where the run is written: ``out``, else the first free ``runs/AGENT-ALGO-seedS[-k]``.

        Resuming without ``out``: the most recent unfinished run of that family (see :func:`unfinished_runs`).
        """
        if self.out:
            return Path(self.out)
        if self.resume:
            return latest_unfinished_run(self.agent, self.algo, self.seed)
        base = RUNS_ROOT / f"{self.agent}-{self.algo}-seed{self.seed}"
        candidate, k = base, 1
        while (candidate / MANIFEST).exists():
            k += 1
            candidate = base.with_name(f"{base.name}-{k}")
        return candidate

    @classmethod
    def resumed(cls, out: str | None, overrides: dict[str, Any]) -> TrainConfig:
        """The configuration of the run being resumed, with ``overrides`` (say, a larger budget) on top.

        Without ``out``: the most recent unfinished run of the agent, algorithm and seed that
        ``overrides`` name (the defaults otherwise); an error when there is none.
        """
        if out:
            run_dir = Path(out)
        else:
            naming = {key: overrides.get(key, getattr(cls, key)) for key in ("agent", "algo", "seed")}
            run_dir = latest_unfinished_run(naming["agent"], naming["algo"], naming["seed"])
        if not (run_dir / MANIFEST).exists():
            raise ParameterError("resume", f"{run_dir} has no run to resume ({run_dir / MANIFEST} is missing)")
        saved = read_manifest(run_dir)["config"]
        try:
            cls(**saved)
        except (TypeError, ParameterError) as error:
            rule = f"its 'config' is not a valid training configuration ({error})"
            raise ParameterError(str(run_dir / MANIFEST), rule) from None
        horizon = saved.get("horizon", cls.horizon)
        if overrides.get("horizon", horizon) != horizon:
            # The policy's inputs are the horizon's (11 or 18 observations): another horizon is another run.
            raise ParameterError("horizon", f"{run_dir} was trained with horizon {horizon}: it resumes with it "
                                            f"(train horizon {overrides['horizon']} into another --out)")
        return cls(**{**saved, **overrides, "out": str(run_dir), "resume": True})

    def env_config(self) -> EnvConfig:
        """The training environment's configuration (validated)."""
        return EnvConfig(mc_paths=self.mc_train, reward=self.reward, gamma=self.gamma, horizon=self.horizon,
                         bequest_weight=self.bequest_weight)

    def backend_settings(self) -> dict[str, Any]:
        """What the backend's learner needs to know."""
        return {"algo": self.algo, "network": self.network, "device": self.device, "seed": self.seed,
                "torch_threads": self.torch_threads, "hyperparameters": dict(self.hyperparameters)}


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of Python and of the packages a run depends on (``extra``: the backend's declared distributions)."""
    versions = {"python": platform.python_version()}
    names = ("mcsim", "mcsim-sb3", "numpy", "numba", "gymnasium", "stable-baselines3", "torch")
    for name in dict.fromkeys((*names, *extra)):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def training_profile(config: TrainConfig) -> Profile | None:
    """The one profile trained on (with ``config.market`` as its return model when given), or None."""
    if config.profile is None:
        return None
    profile = load_profile(config.profile)
    return profile if config.market is None else with_market(profile, config.market)


def training_market(config: TrainConfig) -> tuple[str, MarketHistory]:
    """The return model trained on and its history: ``market``, else the profile's own, else lognormal."""
    profile = training_profile(config)
    if profile is None:
        return config.market or "lognormal", MarketHistory()
    return profile.market.return_model, profile.market.history


def market_label(market: str, history: MarketHistory) -> str:
    """The market as the banner shows it: the model, and the series a historical model replays."""
    if market not in HISTORY_MODELS:
        return f"{market} returns"
    from ..core.history import DEFAULT_SERIES

    source = history.file or (f"JST {history.country}" if history.jst else history.series or DEFAULT_SERIES)
    if market == "historical":
        return f"historical cohorts of {source} ({history.cohorts})"
    return f"block bootstrap of {source} ({history.block_years:g}-year mean blocks)"


def training_pools(config: TrainConfig) -> tuple[HouseholdPool, HouseholdPool]:
    """(training households, held-out evaluation households), on the market of ``config``."""
    profile = training_profile(config)
    if profile is not None:
        pool = pool_from_profiles([profile])
        return pool, pool
    market = config.market or "lognormal"
    return (
        sample_pool(config.profiles, seed=config.seed, mortality=config.mortality, market=market),
        sample_pool(config.eval_households, seed=config.seed + EVAL_SEED_OFFSET, mortality=config.mortality,
                    market=market),
    )


def episode_steps(pool: HouseholdPool, step_months: int, life: bool = False) -> np.ndarray:
    """Decisions per episode of each household: to retirement, or over the whole life (``life``)."""
    steps = np.ceil(pool.n_accum / step_months)
    if life:
        steps += np.ceil(pool.n_decum / step_months)
    return steps.astype(np.int64)


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
    by_household: dict[str, np.ndarray] = field(default_factory=dict)
    """Each baseline's mean return household by household (what a win share compares with)."""

    @property
    def best(self) -> tuple[str, float]:
        """The best baseline and its mean return."""
        name = max(self.returns, key=self.returns.get)
        return name, self.returns[name]


def evaluate_returns(agent: Any, pool: HouseholdPool, config: TrainConfig, env_config: EnvConfig) -> float:
    """Mean return of ``agent`` over the held-out households, on the evaluation's fixed markets."""
    return evaluation_returns(agent, pool, config, env_config)[0]


def evaluation_returns(agent: Any, pool: HouseholdPool, config: TrainConfig,
                       env_config: EnvConfig) -> tuple[float, np.ndarray]:
    """Mean return of ``agent`` over the held-out households' episodes, and each household's mean return."""
    n_episodes = pool.size * config.eval_episodes
    result = rollout(agent, pool, n_episodes, seed=config.seed + EVAL_SEED_OFFSET, stratified=True,
                     **asdict(env_config))
    counts = np.bincount(result.households, minlength=pool.size)
    by_household = np.bincount(result.households, weights=result.returns, minlength=pool.size) / np.maximum(counts, 1)
    return float(result.returns.mean()), by_household


def win_share(policy: np.ndarray, baselines: Baselines) -> float | None:
    """The share of households on which the policy's mean return beats every baseline's there (ties excluded)."""
    if not baselines.by_household:
        return None
    best = np.max(np.vstack(list(baselines.by_household.values())), axis=0)
    return float(np.mean(policy > best + 1e-9))


class Trainer:
    """Runs one training: banner, progress, evaluations, checkpoints, manifest."""

    def __init__(self, config: TrainConfig, env_config: EnvConfig | None = None, console: Any = None,
                 progress: OnProgress | None = None,
                 on_evaluation: Callable[[dict[str, Any]], None] | None = None) -> None:
        from rich.console import Console

        self.on_evaluation = on_evaluation
        """Told each evaluation's history entry once the checkpoint (or final manifest) holding it is written."""
        self.config = config
        self.env_config = env_config or config.env_config()
        self.console = console or Console()
        self.progress = progress or silent
        self.backend: AgentBackend = get_backend(config.agent)
        if not self.backend.trainable:
            raise ParameterError("agent", f"'{config.agent}' is rule-based: there is nothing to train")
        self.backend.check_settings(config.backend_settings())
        self.run_dir = config.run_dir
        check_run_path(self.run_dir)
        manifest = self.run_dir / MANIFEST
        self.saved: dict[str, Any] | None = None
        if config.resume:
            if not (self.run_dir / CHECKPOINT_DIR).is_dir() or not manifest.exists():
                raise ParameterError("resume", f"{self.run_dir} has no checkpoint to resume from")
            self.saved = read_manifest(self.run_dir)
        elif manifest.exists():
            raise ParameterError("out", f"{self.run_dir} already holds a run: pass --resume or another --out")
        self.pool, self.eval_pool = training_pools(config)
        self.market, self.market_history = training_market(config)
        steps = episode_steps(self.pool, self.env_config.step_months, self.env_config.life)
        # The budget is in episodes (profiles x episodes), unless timesteps are given: then in steps alone.
        episodes = config.profiles * config.episodes if config.profile is None else config.episodes
        self.budget_episodes: int | None = None if config.timesteps else episodes
        self.budget_timesteps = config.timesteps or int(math.ceil(episodes * steps.mean()))
        self.history: list[dict[str, float]] = []
        self.started = time.time()

    @property
    def finished(self) -> bool:
        """Whether the run being resumed is complete and has reached this budget already: nothing to train."""
        if self.saved is None or self.saved.get("status") != "complete":
            return False
        progress = self.saved.get("progress") or {}
        episodes = progress.get("episodes")
        return progress.get("timesteps", 0) >= self.budget_timesteps or (
            self.budget_episodes is not None and isinstance(episodes, int) and episodes >= self.budget_episodes)

    def finished_note(self) -> str:
        """Why a finished run is not trained again, and how to train it further."""
        steps = (self.saved or {}).get("progress", {}).get("timesteps", 0)
        return (f"{self.run_dir} is finished ({steps:,} steps, its whole budget): nothing to resume. "
                f"Give a larger --timesteps or --episodes to train it further.")

    def manifest(self, status: str, learner: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The run's manifest as it stands."""
        return {
            "status": status,
            "config": asdict(self.config),
            "env": asdict(self.env_config),
            "market": self.market,
            "versions": package_versions(self.backend.distributions),
            "seeds": {"train": self.config.seed, "eval": self.config.seed + EVAL_SEED_OFFSET},
            "budget": {"episodes": self.budget_episodes, "timesteps": self.budget_timesteps},
            "progress": {"timesteps": learner.timesteps, "episodes": getattr(learner, "episodes", None)},
            "eval_history": self.history,
            "wall_seconds": round(time.time() - self.started, 3),
            **(extra or {}),
        }

    @staticmethod
    def _numba_threads(vec: Any) -> str:
        """The Numba threads of the env step: adaptive up to the cores (NumbaVecEnv), else fixed."""
        if isinstance(vec, NumbaVecEnv) and len(vec.threads.candidates) > 1:
            return f"up to {vec.threads.candidates[0]}, fewer while another process holds a core"
        return str(numba.get_num_threads())

    def banner(self, vec: Any, learner: Any = None) -> None:
        """Print what the run is about to do, on what (with the learner's own :meth:`~Learner.details`)."""
        from rich.table import Table

        config = self.config
        table = Table(box=None, show_header=False, pad_edge=False)
        workers = (config.workers or default_workers()) if config.vec == "subproc" else 1
        details = dict(learner.details()) if learner is not None and hasattr(learner, "details") else {}
        threads = details.pop("threads", f"torch threads {config.torch_threads}")
        rows = [
            ("agent", f"{config.agent} ({config.algo}, network {config.network}, device {config.device})"),
            *details.items(),
            ("cores", f"{os.cpu_count()} (numba threads {self._numba_threads(vec)}, {threads})"),
            ("vec env", f"{config.vec}: {vec.num_envs} envs" + (f" in {workers} workers" if config.vec == "subproc" else "")),
            ("objective", self.objective_label()),
            ("market", market_label(self.market, self.market_history)),
            ("households", f"{config.profile} (one profile)" if config.profile
             else f"{self.pool.size} sampled (seed {config.seed})"),
            ("budget", f"{self.budget_timesteps:,} steps" if self.budget_episodes is None
             else f"{self.budget_episodes:,} episodes, about {self.budget_timesteps:,} steps"),
            ("run", str(self.run_dir)),
        ]
        for key, value in rows:
            table.add_row(f"[bold]{key}[/bold]", value)
        self.console.print(table)

    def objective_label(self) -> str:
        """The reward and horizon trained for, as the banner shows them."""
        env = self.env_config
        label = env.reward if env.reward == "planner" else f"{env.reward} (gamma {env.gamma:g})"
        if env.life:
            bequest = f", bequest weight {env.bequest_weight:g}" if env.bequest_weight > 0 else ""
            return f"{label} over the whole life (saving, then spending in retirement{bequest})"
        return f"{label} to retirement"

    def baseline_policies(self) -> dict[str, Any]:
        """The baselines the policy is compared with.

        The saving baselines, or over the whole life each of them with each withdrawal rule
        (:func:`~mcsim.plugins.baseline_agents.life_baselines`).
        """
        return life_baselines() if self.env_config.life else dict(BASELINES)

    def run(self) -> dict[str, Any]:
        """Train to the budget (or until Ctrl-C) and return the final manifest; ``progress`` follows every phase."""
        if self.finished and self.saved is not None:
            return self.saved
        vec, learner = self.start()
        self.banner(vec, learner)
        self.progress(phase(f"evaluating the baselines on {self.eval_pool.size} held-out households", step_batch,
                            reset_batch))
        evaluated = {name: evaluation_returns(policy, self.eval_pool, self.config, self.env_config)
                     for name, policy in self.baseline_policies().items()}
        baselines = Baselines({name: mean for name, (mean, _) in evaluated.items()},
                              {name: households for name, (_, households) in evaluated.items()})
        every = max(1, self.budget_timesteps // self.config.evaluations) if self.config.evaluations else None
        next_eval = [(learner.timesteps // every + 1) * every if every else math.inf]
        recent: list[float] = []
        last = [time.perf_counter(), learner.timesteps]

        def on_progress(timesteps: int, episodes: int, returns: list[float]) -> bool:
            recent.extend(returns)
            del recent[:-200]
            now = time.perf_counter()
            speed = (timesteps - last[1]) / max(now - last[0], 1e-9)
            last[:] = [now, timesteps]
            mean = f", mean return {np.mean(recent):.3f}" if recent else ""
            self.progress("training", min(timesteps, self.budget_timesteps), self.budget_timesteps, unit="steps",
                          detail=f"{episodes:,} episodes, {speed:,.0f} steps/s{mean}")
            if timesteps >= next_eval[0]:
                entry = self.evaluate(learner, baselines)
                next_eval[0] += every
                self.checkpoint(learner)
                self.tell(entry)
            within_episodes = self.budget_episodes is None or episodes < self.budget_episodes
            return within_episodes and timesteps < self.budget_timesteps

        status = "complete"
        self.progress("training", learner.timesteps, self.budget_timesteps, unit="steps")
        try:
            remaining = self.budget_timesteps - learner.timesteps
            if remaining > 0:
                learner.learn(remaining, on_progress)
        except KeyboardInterrupt:
            status = "interrupted"
        self.progress("saving the checkpoint")
        self.checkpoint(learner, status)
        if status == "interrupted":
            self.console.print(f"Interrupted: checkpoint saved in {self.run_dir / CHECKPOINT_DIR}; resume with:\n"
                               f"  {resume_command(self.run_dir)}", soft_wrap=True)
            vec.close()
            raise KeyboardInterrupt
        self.progress("saving the model")
        with replace_directory(self.run_dir / MODEL_DIR) as directory:
            learner.save(directory)
        final = self.evaluate(learner, baselines)
        vec.close()
        best_name, best_return = baselines.best
        metrics = {"eval_return": final["return"], "best_baseline": best_name, "best_baseline_return": best_return,
                   "baseline_returns": baselines.returns}
        manifest = self.manifest(status, learner, {"metrics": metrics})
        write_json(self.run_dir / MANIFEST, manifest)
        self.tell(final)
        return manifest

    def tell(self, entry: dict[str, Any]) -> None:
        """Tell ``on_evaluation`` an evaluation once the run directory holds it (a sweep may stop the run there)."""
        if self.on_evaluation is not None:
            self.on_evaluation(entry)

    def start(self) -> tuple[Any, Any]:
        """The vectorized env and the learner (restored when resuming).

        A start that fails (a bad option the backend refuses, a broken checkpoint, Ctrl-C) closes the
        env and removes the folders it created: no empty run directory is left behind.
        """
        created = first_missing(self.run_dir)
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ParameterError("out", f"cannot create {self.run_dir} ({error.strerror or error})") from None
        vec = None
        try:
            self.progress(f"preparing {self.config.n_envs} {self.config.vec} environments")
            vec = make_vec_env(self.config, self.pool, self.env_config)
            self.progress(f"starting the {self.config.agent} learner ({self.config.algo})")
            learner = self.backend.learner(vec, self.config.backend_settings(), self.run_dir / LOG_DIR)
            if self.saved is not None:
                learner.restore(self.run_dir / CHECKPOINT_DIR)
                self.history = list(self.saved.get("eval_history", []))
        except BaseException:
            if vec is not None:
                vec.close()
            if created is not None:
                shutil.rmtree(created, ignore_errors=True)
            raise
        return vec, learner

    def evaluate(self, learner: Any, baselines: Baselines) -> dict[str, Any]:
        """Evaluate the current policy on the held-out households beside the best baseline; append it to the history."""
        self.progress(f"evaluating the policy on {self.eval_pool.size} held-out households",
                      min(learner.timesteps, self.budget_timesteps), self.budget_timesteps, unit="steps")
        policy_return, by_household = evaluation_returns(learner.agent, self.eval_pool, self.config, self.env_config)
        best_name, best_return = baselines.best
        entry = {"timesteps": learner.timesteps, "return": policy_return, "best_baseline": best_name,
                 "best_baseline_return": best_return, "win_share": win_share(by_household, baselines),
                 "wall_seconds": round(time.time() - self.started, 3)}
        self.history.append(entry)
        return entry

    def checkpoint(self, learner: Any, status: str = "training") -> None:
        """Save the learner whole, then the manifest that points at it."""
        with replace_directory(self.run_dir / CHECKPOINT_DIR) as directory:
            learner.save(directory)
        write_json(self.run_dir / MANIFEST, self.manifest(status, learner))


def resume_note(config: TrainConfig) -> str:
    """What ``--resume`` without ``--out`` chose: the run, why, and the family's other unfinished runs."""
    others = [str(run) for run in unfinished_runs(config.agent, config.algo, config.seed) if run != config.run_dir]
    also = f" (also unfinished: {', '.join(others)})" if others else ""
    family = f"{config.agent}/{config.algo} seed {config.seed}"
    return f"Resuming {config.run_dir}, the most recent unfinished run of {family}{also}."


def train(config: TrainConfig, console: Any = None, env_config: EnvConfig | None = None,
          progress: OnProgress | None = None) -> dict[str, Any]:
    """Train as ``config`` says; return the run's manifest."""
    return Trainer(config, env_config, console, progress).run()


def load_agent(run_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """The trained agent of a run directory and its manifest (weights and JSON only, nothing unpickled)."""
    run = Path(run_dir)
    manifest = read_manifest(run)
    model = run / MODEL_DIR
    if not model.exists():
        model = run / CHECKPOINT_DIR
    if not model.exists():
        raise ParameterError("run", f"{run} has no model ({run / MODEL_DIR} is missing, and no checkpoint)")
    if not model.is_dir():
        raise ParameterError(str(model), "is a file, not a folder")
    backend = get_backend(manifest["config"]["agent"])
    return backend.load(model), manifest

