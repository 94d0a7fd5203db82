"""``mcsim sweep``: the command line of :mod:`mcsim_ray.sweep`, and its result table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mcsim.core.errors import ParameterError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.command(name="sweep", context_settings=CONTEXT)
@click.option("-a", "--agent", default="sb3", show_default=True, help="The learning backend to sweep.")
@click.option("--algo", default="ppo", show_default=True, help="Its algorithm.")
@click.option("--seeds", default="0-2", show_default=True, metavar="0-4|0,3,7",
              help="Every configuration is trained once per seed (its mean and 95% interval need 3).")
@click.option("--network", "networks", default="standard", show_default=True, metavar="N[,N...]",
              help="Network presets to try (a choice of the search).")
@click.option("--param", "params", multiple=True, metavar="NAME=SPEC",
              help="A setting to sweep: loguniform:LOW:HIGH, uniform:LOW:HIGH, randint:LOW:HIGH, choice:A,B or a "
                   "fixed value; NAME one the backend declares (`mcsim agents --json`). Repeatable.")
@click.option("--samples", type=click.IntRange(1, 10_000), default=8, show_default=True,
              help="Configurations to try (optuna, random; grid tries every combination).")
@click.option("--search", type=click.Choice(["optuna", "random", "grid"]), default="optuna", show_default=True,
              help="How configurations are chosen: Optuna's TPE on the seeds' mean, random draws, or the grid.")
@click.option("--search-seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of the search's own draws.")
@click.option("-o", "--out", required=True, metavar="DIR", help="The sweep directory (trials, Tune's state, sweep.json).")
@click.option("--resume", is_flag=True, help="Continue the interrupted sweep in --out (its own options are kept).")
@click.option("--address", default=None, metavar="ADDRESS",
              help="The Ray cluster (ray://head:10001); default: RAY_ADDRESS, else a local one for the command.")
@click.option("--max-concurrent", type=click.IntRange(1, 10_000), default=None,
              help="Trials at once (default: one per CPU of the cluster).")
@click.option("--profiles", type=click.IntRange(1, 1_000_000), default=500, show_default=True,
              help="Sampled households each trial trains on.")
@click.option("--episodes", type=click.IntRange(1, 10_000_000), default=100, show_default=True,
              help="Episodes per household (the budget).")
@click.option("--timesteps", type=click.IntRange(1, 10**10), default=None, help="Budget in env steps instead.")
@click.option("--profile", default=None, metavar="FILE|NAME", help="Train on this one profile.")
@click.option("--envs", "n_envs", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="Parallel environments of each trial.")
@click.option("--mc-train", type=click.IntRange(1, 100_000), default=50, show_default=True,
              help="Paths of the terminal estimate while training.")
@click.option("--reward", type=click.Choice(["planner", "crra"]), default="planner", show_default=True,
              help="The objective.")
@click.option("--horizon", type=click.Choice(["retirement", "life"]), default="retirement", show_default=True,
              help="Episodes to retirement, or over the whole life (needs --reward crra).")
@click.option("--market", default=None, help="The return model trained on (lognormal, bootstrap, ...).")
@click.option("--evaluations", type=click.IntRange(1, 1000), default=5, show_default=True,
              help="Evaluations per trial: what each trial reports, and where the scheduler may stop it.")
@click.option("--json", "as_json", is_flag=True, help="Print sweep.json instead of the table.")
def sweep(agent: str, algo: str, seeds: str, networks: str, params: tuple[str, ...], samples: int, search: str,
          search_seed: int, out: str, resume: bool, address: str | None, max_concurrent: int | None, profiles: int,
          episodes: int, timesteps: int | None, profile: str | None, n_envs: int, mc_train: int, reward: str,
          horizon: str, market: str | None, evaluations: int, as_json: bool) -> None:
    """Sweep training settings on Ray Tune: configurations x seeds, each trial a normal run directory.

    Trials report each periodic evaluation (the objective on held-out households, the share of them
    beating the best baseline); ASHA stops the laggards; Optuna (default) proposes configurations.
    The result ranks configurations by their mean objective over seeds with a 95% interval, names
    the best run, and is also written to DIR/sweep.json. Ctrl-C stops cleanly, keeping the trials
    done; --resume continues.

    \b
    Examples:
      mcsim sweep --seeds 0-4 --network standard,solid --param learning_rate=loguniform:1e-5:1e-3 \\
                  --param n_epochs=choice:5,10 --samples 8 --out sweeps/lr
      mcsim sweep --out sweeps/lr --resume
      mcsim sweep --search grid --param n_epochs=choice:5,10 --seeds 0-2 --out sweeps/grid --address ray://head:10001
    """
    from .sweep import SweepSpec, run_sweep

    root = Path(out).resolve()  # Tune's workers run elsewhere: every path they see is absolute
    if resume:
        spec = SweepSpec.read(root)
    else:
        if (root / "sweep-config.json").exists():
            raise ParameterError("--out", f"{root} already holds a sweep: pass --resume or another --out")
        spec = new_spec(root, agent, algo, seeds, networks, params, samples, search, search_seed, {
            "agent": agent, "algo": algo, "profiles": profiles, "episodes": episodes, "timesteps": timesteps,
            "profile": profile, "n_envs": n_envs, "mc_train": mc_train, "reward": reward, "horizon": horizon,
            "market": market, "evaluations": evaluations,
        })
    click.echo(f"Sweeping {spec.n_configurations} configurations x {len(spec.seeds)} seeds = {spec.n_trials} trials "
               f"({spec.search} search) into {root}", err=True)
    summary = run_sweep(spec, resume, address, max_concurrent)
    if as_json:
        import json

        click.echo(json.dumps(summary, indent=2))
        return
    print_summary(summary)


def new_spec(root: Path, agent: str, algo: str, seeds: str, networks: str, params: tuple[str, ...], samples: int,
             search: str, search_seed: int, train: dict[str, Any]) -> Any:
    """A new sweep's spec from the command line, every option checked before anything runs."""
    from mcsim.plugins.agents import get_backend
    from mcsim.training.trainer import TrainConfig

    from .space import configurations, parse_networks, parse_param, parse_seeds
    from .sweep import SweepSpec

    backend = get_backend(agent)
    if not backend.trainable:
        raise ParameterError("--agent", f"'{agent}' is rule-based: there is nothing to sweep")
    if backend.algorithms and algo not in backend.algorithms:
        raise ParameterError("--algo", f"agent '{agent}' offers {', '.join(backend.algorithms)} (got {algo!r})")
    dimensions = [parse_param(text, backend, algo) for text in params]
    names = [d.name for d in dimensions]
    if len(set(names)) < len(names):
        raise ParameterError("--param", f"{next(n for n in names if names.count(n) > 1)} is given twice")
    chosen_networks = parse_networks(networks, backend)
    chosen_seeds = parse_seeds(seeds)
    TrainConfig(**train, network=chosen_networks[0], seed=chosen_seeds[0])  # the training options, checked now
    configs = [] if search == "optuna" else configurations(dimensions, chosen_networks, samples, search, search_seed)
    return SweepSpec(str(root), train, dimensions, chosen_networks, chosen_seeds, search, samples, search_seed, configs)


def _interval(summary: dict[str, Any] | None, show: Any) -> str:
    if not summary:
        return "-"
    if "low" not in summary:
        return " / ".join(show(v) for v in summary["values"])
    return f"{show(summary['mean'])} [{show(summary['low'])}, {show(summary['high'])}]"


def print_summary(summary: dict[str, Any]) -> None:
    """The ranked table (rich), the best run, and a line when the sweep was interrupted."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary['sweep']}: {summary['trials_run']} of {summary['trials_planned']} trials, "
                        f"ranked by the mean objective over seeds (95% t interval from 3 seeds)")
    for name in ("rank", "network", "settings", "seeds", "objective", "beats best baseline"):
        table.add_column(name, justify="right" if name in ("rank", "seeds") else "left")
    for rank, row in enumerate(summary["configurations"], 1):
        settings = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row["params"].items())
        table.add_row(str(rank), str(row["network"]), settings or "-", str(len(row["runs"])),
                      _interval(row.get("objective"), lambda x: f"{x:.4f}"),
                      _interval(row.get("win_share"), lambda x: f"{100 * x:.0f}%"))
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a log file or a pipe: the whole table, unwrapped
    console.print(table)
    best = summary["best_run"]
    if best is not None:
        click.echo(f"Best run: {best['run']} (objective {best['objective']:.4f}, seed {best['seed']}). "
                   f"Result written to {Path(summary['sweep']) / 'sweep.json'}")
    if summary["interrupted"]:
        click.echo(f"The sweep stopped before its end: continue with mcsim sweep --out {summary['sweep']} --resume")
