"""Sweeps of trainings on Ray Tune: configurations x seeds, each trial a normal run directory.

A sweep directory holds ``sweep-config.json`` (what was asked: the training options, the space,
the seeds, the search), ``trials/cNNN-seedS/`` (one ``mcsim train`` run directory per trial, so
``evaluate``, ``predict`` and the exports work on any of them), ``tune/`` (Tune's experiment state,
what ``--resume`` restores), ``optuna.db`` with the Optuna searcher, and ``sweep.json``, the result.

Each trial trains with the shared trainer and reports each of its periodic evaluations (the mean
return on the held-out households: the objective; the share of them on which the policy beats the
best baseline) to Tune, whose ASHA scheduler stops the trials that lag. The searcher proposes
configurations: Optuna (default; each configuration it asks for is trained once per seed, and it is
told the mean over the seeds), or random draws and the grid, made up front. A trial interrupted
(Ctrl-C, a lost node) resumes from its run directory's checkpoint when the sweep is resumed.

The result ranks the configurations by their mean objective over seeds, with a 95% t interval
from three seeds (RL results vary with the seed as much as with most settings), and names the best
run: the trial with the highest objective.
"""

from __future__ import annotations

import io
import json
import math
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mcsim.core.errors import ParameterError
from mcsim.training.reports import over_runs
from mcsim.training.rundirs import CHECKPOINT_DIR, MANIFEST, read_manifest
from mcsim.training.runio import read_json_object, write_json

from .space import Dimension

CONFIG_FILE, RESULT_FILE, TUNE_DIR, TRIALS_DIR, OPTUNA_FILE = (
    "sweep-config.json", "sweep.json", "tune", "trials", "optuna.db")
METRIC = "objective"


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep trains: the base training options, the space, the seeds, the search and its size."""

    root: str
    train: dict[str, Any]
    dimensions: list[Dimension]
    networks: list[str]
    seeds: list[int]
    search: str
    samples: int
    search_seed: int = 0
    configurations: list[dict[str, Any]] = field(default_factory=list)
    """Random and grid searches: every configuration, drawn up front (Optuna asks as it goes)."""

    @property
    def path(self) -> Path:
        """The sweep directory."""
        return Path(self.root)

    @property
    def n_configurations(self) -> int:
        """How many configurations the sweep trains."""
        return len(self.configurations) if self.configurations else self.samples

    @property
    def n_trials(self) -> int:
        """Configurations x seeds."""
        return self.n_configurations * len(self.seeds)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (``sweep-config.json``)."""
        data = asdict(self)
        data["dimensions"] = [d.to_dict() for d in self.dimensions]
        return data

    @classmethod
    def read(cls, root: Path) -> SweepSpec:
        """The spec a sweep directory was started with; a missing or broken file is one ParameterError."""
        path = root / CONFIG_FILE
        if not path.exists():
            raise ParameterError("--resume", f"{root} holds no sweep to resume ({path} is missing)")
        data = read_json_object(path)
        try:
            dims = [Dimension(d["name"], d["distribution"], tuple(d["values"])) for d in data["dimensions"]]
            return cls(**{**data, "root": str(root), "dimensions": dims})
        except (KeyError, TypeError) as error:
            raise ParameterError(str(path), f"is not a sweep configuration ({error})") from None


def trial_dir(root: Path, config_id: int, seed: int) -> Path:
    """A trial's run directory."""
    return root / TRIALS_DIR / f"c{config_id:03d}-seed{seed}"


def run_trial(config: dict[str, Any], spec: dict[str, Any]) -> None:
    """Tune's trainable: train one (configuration, seed) into its run directory, reporting each evaluation.

    A trial whose run directory has a checkpoint resumes from it; one already complete reports its
    last evaluation again (a resumed sweep counts it).
    """
    from ray import tune
    from rich.console import Console

    from mcsim.training.trainer import TrainConfig, Trainer

    trial = config["trial"]
    out = trial_dir(Path(spec["root"]), trial["config_id"], trial["seed"])

    def report(entry: dict[str, Any]) -> None:
        share = entry.get("win_share")
        tune.report({METRIC: float(entry["return"]), "win_share": float("nan") if share is None else float(share),
                     "timesteps": int(entry["timesteps"])})

    if (out / MANIFEST).exists() and (out / CHECKPOINT_DIR).is_dir():
        manifest = read_manifest(out)
        if manifest.get("status") == "complete":
            if manifest.get("eval_history"):
                report(manifest["eval_history"][-1])
            return
        train_config = TrainConfig.resumed(str(out), {})
    else:
        shutil.rmtree(out, ignore_errors=True)  # a start that never reached its first checkpoint starts over
        train_config = TrainConfig(**{**spec["train"], "network": trial["network"], "hyperparameters": trial["params"],
                                      "seed": trial["seed"], "out": str(out)})
    Trainer(train_config, console=Console(file=io.StringIO()), on_evaluation=report).run()


def trials_of(configurations: list[dict[str, Any]], seeds: list[int]) -> list[dict[str, Any]]:
    """Every (configuration, seed) trial of a random or grid search, configuration by configuration."""
    return [{**configuration, "config_id": i, "seed": seed}
            for i, configuration in enumerate(configurations) for seed in seeds]


def seeded_searcher(spec: SweepSpec) -> Any:
    """Optuna behind Tune's Searcher interface, each configuration it asks for given to one trial per seed."""
    import optuna
    from ray.tune.search import Searcher

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    class SeededOptuna(Searcher):
        """Asks Optuna (TPE, seeded) for a configuration, runs it on every seed, tells it the mean objective."""

        def __init__(self) -> None:
            super().__init__(metric=METRIC, mode="max")
            storage = f"sqlite:///{(spec.path / OPTUNA_FILE).resolve()}"
            self.study = optuna.create_study(study_name="sweep", storage=storage, direction="maximize",
                                             sampler=optuna.samplers.TPESampler(seed=spec.search_seed),
                                             load_if_exists=True)
            self.state: dict[str, Any] = {"queue": [], "asked": 0, "trials": {}, "values": {}}

        def suggest(self, trial_id: str) -> dict[str, Any] | None:
            state = self.state
            if not state["queue"]:
                if state["asked"] >= spec.samples:
                    return Searcher.FINISHED
                asked = self.study.ask()
                network = asked.suggest_categorical("network", spec.networks) if len(spec.networks) > 1 \
                    else spec.networks[0]
                params = {d.name: d.suggest(asked) for d in spec.dimensions}
                state["queue"] = [{"network": network, "params": params, "config_id": state["asked"],
                                   "number": asked.number, "seed": seed} for seed in spec.seeds]
                state["asked"] += 1
            trial = state["queue"].pop(0)
            state["trials"][trial_id] = trial
            return {"trial": {k: v for k, v in trial.items() if k != "number"}}

        def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
            trial = self.state["trials"].get(trial_id)
            if trial is None:
                return
            key = str(trial["number"])
            value = (result or {}).get(METRIC)
            values = self.state["values"].setdefault(key, [])
            values.append(None if error or value is None or not math.isfinite(value) else float(value))
            if len(values) == len(spec.seeds):
                finite = [v for v in values if v is not None]
                if finite:
                    self.study.tell(trial["number"], sum(finite) / len(finite))
                else:
                    self.study.tell(trial["number"], state=optuna.trial.TrialState.FAIL)

        def get_state(self) -> dict[str, Any]:
            return json.loads(json.dumps(self.state))

        def set_state(self, state: dict[str, Any]) -> None:
            self.state = state

    return SeededOptuna()


def tuner(spec: SweepSpec, resume: bool, max_concurrent: int | None) -> Any:
    """The Tune Tuner of the sweep (restored from ``tune/`` when resuming)."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    trainable = tune.with_resources(tune.with_parameters(run_trial, spec=spec.to_dict()), {"cpu": 1})
    storage = str(spec.path.resolve())
    if resume and tune.Tuner.can_restore(str(spec.path.resolve() / TUNE_DIR)):
        return tune.Tuner.restore(str(spec.path.resolve() / TUNE_DIR), trainable, resume_unfinished=True,
                                  resume_errored=True)
    evaluations = int(spec.train.get("evaluations", 5))
    scheduler = ASHAScheduler(time_attr="training_iteration", max_t=max(1, evaluations + 1),
                              grace_period=max(1, (evaluations + 1) // 3), reduction_factor=2)
    if spec.search == "optuna":
        space: dict[str, Any] = {}
        searcher = seeded_searcher(spec)
    else:
        space = {"trial": tune.grid_search(trials_of(spec.configurations, spec.seeds))}
        searcher = None
    return tune.Tuner(
        trainable, param_space=space,
        tune_config=tune.TuneConfig(metric=METRIC, mode="max", scheduler=scheduler, search_alg=searcher,
                                    num_samples=spec.n_trials if searcher is not None else 1,
                                    max_concurrent_trials=max_concurrent),
        run_config=tune.RunConfig(name=TUNE_DIR, storage_path=storage, verbose=0,
                                  failure_config=tune.FailureConfig(max_failures=0)),
    )


@dataclass(frozen=True)
class TrialResult:
    """A trial as its run directory tells it: its configuration, seed, status and last evaluation."""

    config_id: int
    seed: int
    run: str
    status: str
    objective: float | None
    win_share: float | None
    timesteps: int


def read_trials(spec: SweepSpec) -> dict[int, list[TrialResult]]:
    """Every trial that has a run directory, by configuration (from the manifests: what survives any interruption)."""
    found: dict[int, list[TrialResult]] = {}
    folder = spec.path / TRIALS_DIR
    if not folder.is_dir():
        return found
    for run in sorted(folder.iterdir()):
        name = run.name
        if not (run / MANIFEST).exists() or not name.startswith("c") or "-seed" not in name:
            continue
        config_id, seed = int(name[1:].split("-seed")[0]), int(name.split("-seed")[1])
        manifest = read_manifest(run)
        history = manifest.get("eval_history") or []
        last = history[-1] if history else {}
        status = manifest.get("status", "training")
        found.setdefault(config_id, []).append(TrialResult(
            config_id, seed, str(run), "complete" if status == "complete" else "stopped early", last.get("return"),
            last.get("win_share"), int((manifest.get("progress") or {}).get("timesteps", 0))))
    return found


def configuration_of(spec: SweepSpec, config_id: int, run: str) -> dict[str, Any]:
    """A configuration's network and parameters (Optuna's from its first trial's manifest)."""
    if spec.configurations and config_id < len(spec.configurations):
        return spec.configurations[config_id]
    config = read_manifest(run)["config"]
    return {"network": config.get("network"), "params": config.get("hyperparameters", {})}


def summarize(spec: SweepSpec, interrupted: bool = False) -> dict[str, Any]:
    """The sweep's result (``sweep.json``): configurations ranked by mean objective over seeds, the best run."""
    trials = read_trials(spec)
    rows = []
    for config_id, results in trials.items():
        scored = [r for r in results if r.objective is not None]
        row: dict[str, Any] = {"config_id": config_id, **configuration_of(spec, config_id, results[0].run),
                               "runs": [asdict(r) for r in sorted(results, key=lambda r: r.seed)]}
        if scored:
            row["objective"] = over_runs([r.objective for r in scored])
            shares = [r.win_share for r in scored if r.win_share is not None]
            row["win_share"] = over_runs(shares, low=0.0, high=1.0) if shares else None
        rows.append(row)
    rows.sort(key=lambda row: -row["objective"]["mean"] if "objective" in row else math.inf)
    best = max((r for results in trials.values() for r in results if r.objective is not None),
               key=lambda r: r.objective, default=None)
    done = sum(len(results) for results in trials.values())
    return {
        "sweep": str(spec.path), "agent": spec.train.get("agent"), "algo": spec.train.get("algo"),
        "search": spec.search, "seeds": spec.seeds, "space": [d.to_dict() for d in spec.dimensions],
        "networks": spec.networks, "trials_planned": spec.n_trials, "trials_run": done, "interrupted": interrupted,
        "configurations": rows, "best_run": None if best is None else asdict(best),
    }


def finished(spec: SweepSpec) -> bool:
    """Whether Tune ran every planned trial to its end (terminated: complete or stopped by the scheduler)."""
    from ray.tune import ExperimentAnalysis

    trials = ExperimentAnalysis(str(spec.path.resolve() / TUNE_DIR)).trials
    return len(trials) >= spec.n_trials and all(trial.status in ("TERMINATED", "ERROR") for trial in trials)


def run_sweep(spec: SweepSpec, resume: bool = False, address: str | None = None,
              max_concurrent: int | None = None) -> dict[str, Any]:
    """Run (or resume) the sweep on Ray Tune, then write and return its result (``sweep.json``)."""
    from .cluster import cluster

    spec.path.mkdir(parents=True, exist_ok=True)
    if not resume:
        write_json(spec.path / CONFIG_FILE, spec.to_dict())
    with cluster(address, spec.path.parent):
        grid = tuner(spec, resume, max_concurrent).fit()
        interrupted = not finished(spec)
    if grid.errors:
        first = grid.errors[0]
        cause = getattr(first, "cause", first)
        raise ParameterError("sweep", f"{len(grid.errors)} trial(s) failed; the first: {str(cause).splitlines()[-1]}")
    summary = summarize(spec, interrupted)
    write_json(spec.path / RESULT_FILE, summary)
    return summary
