"""The ``mcsim`` command line: thin commands that parse, call the library and render.

Bad input of any kind (a profile field, an option) prints one line naming the field and the rule
and exits with code 2; nothing is written.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, get_args

import click

from .. import __version__
from ..core.errors import McsimError, one_line
from ..core.profile import WITHDRAWAL_PARAMETERS, ReturnModel
from .data import data

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


class BadInput(click.ClickException):
    """A domain error reported as one line with exit code 2."""

    exit_code = 2


class Bounded(click.ParamType):
    """A finite number within [low, high] (``open_low`` excludes ``low``)."""

    def __init__(self, kind: type, low: float, high: float, open_low: bool = False) -> None:
        self.kind = kind
        self.low = low
        self.high = high
        self.open_low = open_low
        self.name = kind.__name__

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse ``value`` and check it is finite and in range, or fail with the rule."""
        try:
            number = self.kind(value)
        except (TypeError, ValueError):
            self.fail(f"'{value}' is not a valid {self.name}", param, ctx)
        if isinstance(number, float) and not math.isfinite(number):
            self.fail(f"must be a finite number (got '{value}')", param, ctx)
        below = number <= self.low if self.open_low else number < self.low
        if below or number > self.high:
            bracket = "(" if self.open_low else "["
            self.fail(f"must be in {bracket}{self.low:g}, {self.high:g}] (got {value})", param, ctx)
        return number


class RuntimeChoice(click.Choice):
    """`predict --runtime`: torch or an installed exporter's format, looked up when first needed.

    A format whose plugin is not installed (onnx, coreml) says which distribution to install.
    """

    def __init__(self) -> None:
        self._loaded: tuple[str, ...] | None = None
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        """torch, then every installed exporter's name."""
        if self._loaded is None:
            from ..plugins.exporters import exporters

            self._loaded = ("torch", *exporters())
        return self._loaded

    @choices.setter
    def choices(self, value: Sequence[str]) -> None:
        """Ignored: click.Choice sets its choices on creation; these come from the plugins."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The runtime, or the line naming the plugin that provides it."""
        distribution = f"mcsim-{value}"
        if value not in self.choices and distribution in PLUGIN_COMMANDS.values():
            self.fail(f"the {value} runtime comes with the {distribution} plugin: pip install {distribution}", param, ctx)
        return super().convert(value, param, ctx)


class BackendChoice(click.Choice):
    """`train --algo`, `--network`, `--device`: the values the installed learning backends declare, looked up when needed.

    The default agent's (sb3's) come first, then the others' in name order; the trainer then holds the
    chosen backend to its own (``AgentBackend.check_settings``: `--agent mlx --algo sac` is one line).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._loaded: tuple[str, ...] | None = None
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        """Every value some trainable backend declares for ``kind`` (algorithms, networks or devices)."""
        if self._loaded is None:
            self._loaded = backend_choices(self.kind)
        return self._loaded

    @choices.setter
    def choices(self, value: Sequence[str]) -> None:
        """Ignored: click.Choice sets its choices on creation; these come from the plugins."""


def backend_choices(kind: str) -> tuple[str, ...]:
    """What the trainable backends declare as ``kind`` (algorithms, networks, devices), the default agent's first."""
    from ..plugins.agents import agent_backends

    backends = agent_backends()
    names = sorted(backends, key=lambda name: (name != "sb3", name))
    values = [value for name in names if backends[name].trainable for value in getattr(backends[name], kind)]
    return tuple(dict.fromkeys(values))


MARKETS = get_args(ReturnModel)


def profile_argument(command: Callable[..., Any]) -> Callable[..., Any]:
    """The optional PROFILE argument: a .toml/.json file or an embedded profile's name."""
    return click.argument("profile", required=False, default="default", metavar="[PROFILE|NAME]")(command)


def seed_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--seed`` option shared by the simulation commands."""
    return click.option(
        "-s", "--seed", type=Bounded(int, 0, 2**64 - 1), default=0, show_default=True,
        help="Seed; the same seed gives the same paths whatever the threads.",
    )(command)


def threads_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--threads`` option shared by the simulation commands."""
    return click.option(
        "--threads", type=Bounded(int, 1, 1024), default=None, help="Numba threads (default: all cores)."
    )(command)


def spending_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--gamma`` and ``--discount``: how the spending's certainty equivalent values a path."""
    command = click.option(
        "--discount", type=Bounded(float, 0.0, 1.0, open_low=True), default=1.0, show_default=True,
        help="Annual discount factor of the spending's certainty equivalent.",
    )(command)
    return click.option(
        "--gamma", type=Bounded(float, 0.0, 50.0, open_low=True), default=3.0, show_default=True,
        help="Relative risk aversion (CRRA) of the spending's certainty equivalent.",
    )(command)


def market_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--market`: a return model that replaces the profile's."""
    return click.option(
        "--market", type=click.Choice(MARKETS), default=None,
        help="Return model replacing the profile's: historical cohorts or a block bootstrap of market.history "
             "(default: Shiller's US monthly series), or a parametric law.",
    )(command)


def horizon_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--horizon`` and ``--bequest-weight``: decide to retirement or over the whole life (train, optimum)."""
    command = click.option(
        "--bequest-weight", type=Bounded(float, 0.0, 1e6), default=0.0, show_default=True,
        help="--horizon life: weight of the utility of the wealth left at death or at the horizon.",
    )(command)
    return click.option(
        "--horizon", type=click.Choice(["retirement", "life"]), default="retirement", show_default=True,
        help="Decide until retirement, or over the whole life (spending and investing once retired too).",
    )(command)


def horizon_reward(reward: str | None, horizon: str, bequest_weight: float) -> str:
    """The objective for ``--horizon``: ``reward`` when given, else crra over the whole life and planner to retirement.

    A bequest weight without the whole life is one line (exit 2).
    """
    if bequest_weight > 0.0 and horizon != "life":
        raise BadInput("--bequest-weight: a bequest is valued with --horizon life only")
    return reward or ("crra" if horizon == "life" else "planner")


def cluster_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--ray`` and ``--address``: spread the work over a Ray cluster (the mcsim-ray plugin's executor)."""
    command = click.option(
        "--address", default=None, metavar="ADDRESS",
        help="With --ray: the cluster to join (ray://head:10001, or head:6379 on a node of it); default: RAY_ADDRESS "
             "when set, else a local cluster started and stopped with the command.",
    )(command)
    return click.option("--ray", is_flag=True, help="Spread the work over Ray workers (needs mcsim-ray).")(command)


def executor_name(ray: bool, address: str | None) -> str:
    """The executor ``--ray`` selects (``ray``), else this process (``local``); ``--address`` needs ``--ray``."""
    if address is not None and not ray:
        raise BadInput("--address: names a Ray cluster, used with --ray (give --ray too)")
    return "ray" if ray else "local"


def print_json(data: Any) -> None:
    """Print JSON to standard output."""
    click.echo(json.dumps(data, indent=2))


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="mcsim")
def cli() -> None:
    """Monte Carlo simulation of retirement savings.

    \b
    Examples:
      mcsim simulate                      # the embedded default household
      mcsim simulate crypto_holder --paths 20000 --plot fan.png
      mcsim simulate my_household.toml --json
      mcsim optimize --success 0.9        # minimum monthly saving for 90% success
      mcsim withdrawals                   # every withdrawal rule on the same paths
      mcsim report --lang fr              # one HTML page a household can read (report.html)
      mcsim profiles                      # the embedded example households
    """


cli.add_command(data)


@cli.command(context_settings=CONTEXT)
@profile_argument
@click.option("-n", "--paths", "n_paths", type=Bounded(int, 1, 10_000_000), default=10_000, show_default=True,
              help="Monte Carlo paths (with --tolerance: the batch size).")
@seed_option
@click.option("--tolerance", type=Bounded(float, 0.0, 0.5, open_low=True), default=None,
              help="Adaptive: add batches until the success interval's half-width is at most this (e.g. 0.005).")
@click.option("--confidence", type=Bounded(float, 0.5, 0.999999), default=0.95, show_default=True,
              help="Confidence level of the success interval.")
@click.option("--max-paths", type=Bounded(int, 1, 10_000_000), default=None,
              help="Adaptive: stop after this many paths (default 1,000,000; fewer with --plot if memory requires).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (with the monthly fan if --plot).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write the wealth fan and the spending fan by age (PNG).")
@click.option("--withdrawal", type=click.Choice(tuple(WITHDRAWAL_PARAMETERS)), default=None,
              help="Withdrawal rule in retirement, replacing the profile's (with its default parameters, "
                   "unless it is the profile's own rule).")
@market_option
@spending_options
@threads_option
def simulate(
    profile: str, n_paths: int, seed: int, tolerance: float | None, confidence: float, max_paths: int | None,
    as_json: bool, plot: str | None, withdrawal: str | None, market: str | None, gamma: float, discount: float,
    threads: int | None,
) -> None:
    """Simulate a household's plan over Monte Carlo paths: success, wealth and spending in retirement.

    PROFILE is a .toml or .json file, or the name of an embedded profile (see `mcsim profiles`).

    \b
    Examples:
      mcsim simulate mid_career_family --paths 20000 --seed 7 --plot fan.png
      mcsim simulate late_starter --withdrawal guyton_klinger --gamma 5
      mcsim simulate --market historical      # the plan started in every month since 1871
    """
    from ..core.profile import load_profile, with_market, with_withdrawal
    from ..core.simulation import simulate as run_simulation
    from .plot import check_output_path, write_fan_chart
    from .progress import Reporter
    from .render import print_view, simulation_view

    household = load_profile(profile)
    if withdrawal is not None:
        household = with_withdrawal(household, withdrawal)
    if market is not None:
        household = with_market(household, market)
    if plot is not None:
        check_output_path(plot)
    with Reporter("simulating") as progress:
        result = run_simulation(
            household, n_paths, seed, fan=plot is not None, tolerance=tolerance, confidence=confidence,
            max_paths=max_paths, threads=threads, progress=progress, gamma=gamma, discount=discount,
        )
        if plot is not None:
            progress("drawing the fan chart")
            write_fan_chart(result, plot)
    if as_json:
        print_json(result.to_dict())
    else:
        print_view(simulation_view(result, household))
        if plot is not None:
            click.echo(f"Fan chart written to {plot}")


@cli.command(context_settings=CONTEXT)
@profile_argument
@click.option("--success", "target", type=Bounded(float, 0.0, 1.0, open_low=True), default=0.9, show_default=True,
              help="Success probability to reach.")
@click.option("-n", "--paths", "n_paths", type=Bounded(int, 1, 10_000_000), default=5_000, show_default=True,
              help="Common paths every candidate runs on.")
@seed_option
@click.option("--precision", type=Bounded(float, 0.0, 1e6, open_low=True), default=1.0, show_default=True,
              help="Stop when the bracket is this narrow (euros a month).")
@click.option("--json", "as_json", is_flag=True, help="Print the result and every step as JSON.")
@market_option
@threads_option
def optimize(
    profile: str, target: float, n_paths: int, seed: int, precision: float, as_json: bool, market: str | None,
    threads: int | None,
) -> None:
    """Find the minimum constant monthly saving that reaches a success probability.

    Bisection with common random numbers: every candidate runs on the same paths.

    \b
    Example:
      mcsim optimize young_saver --success 0.95
    """
    from ..core.optimize import minimum_saving
    from .progress import Reporter
    from .render import optimization_view, print_view

    with Reporter("searching the minimum saving") as progress:
        result = minimum_saving(
            profile, target, n_paths, seed, precision=precision, threads=threads, progress=progress, market=market
        )
    if as_json:
        print_json(result.to_dict())
    else:
        print_view(optimization_view(result))


@cli.command(context_settings=CONTEXT)
@profile_argument
@click.option("-n", "--paths", "n_paths", type=Bounded(int, 1, 10_000_000), default=10_000, show_default=True,
              help="Monte Carlo paths, the same for every rule.")
@seed_option
@spending_options
@click.option("--json", "as_json", is_flag=True, help="Print every rule's result as JSON.")
@market_option
@threads_option
def withdrawals(
    profile: str, n_paths: int, seed: int, gamma: float, discount: float, as_json: bool, market: str | None,
    threads: int | None,
) -> None:
    """Compare every withdrawal rule on the same paths: success and what each lets the retiree spend.

    Each rule runs with its default parameters, or the profile's own for the profile's rule; the
    market and mortality draws are the same for every rule (common random numbers). A rule the
    profile cannot run (merton without its equity and safe assets) is listed as not run.

    \b
    Examples:
      mcsim withdrawals                         # the default household, 10,000 paths
      mcsim withdrawals late_starter --gamma 5 --json
    """
    from ..core.errors import ProfileError
    from ..core.profile import load_profile, with_market, with_withdrawal
    from ..core.simulation import SimulationResult
    from ..core.simulation import simulate as run_simulation
    from .progress import Reporter
    from .render import mortality_label, paths_label, print_view, withdrawals_table

    household = load_profile(profile)
    if market is not None:
        household = with_market(household, market)
    results: dict[str, SimulationResult] = {}
    skipped: dict[str, str] = {}
    rules = tuple(WITHDRAWAL_PARAMETERS)
    with Reporter("simulating every withdrawal rule") as progress:
        for index, rule in enumerate(rules, 1):
            try:
                plan = with_withdrawal(household, rule)
            except ProfileError as error:
                skipped[rule] = str(error)
                continue

            def report(what: str, done: int = 0, total: int = 0, *, unit: str = "", detail: str = "",
                       label: str = f"{rule} ({index}/{len(rules)})") -> None:
                progress(f"{label}: {what}", done, total, unit=unit, detail=detail)

            results[rule] = run_simulation(
                plan, n_paths, seed, threads=threads, progress=report, gamma=gamma, discount=discount
            )
    first = next(iter(results.values()))
    if as_json:
        print_json({
            "profile": household.name, "seed": seed, "n_paths": first.n_paths, "gamma": gamma, "discount": discount,
            "mortality": household.person.mortality, "return_model": household.market.return_model,
            "cohorts": None if first.cohorts is None else first.cohorts.to_dict(),
            "rules": {rule: r.to_dict() for rule, r in results.items()}, "not_run": skipped,
        })
        return
    title = (f"{household.name}: every withdrawal rule on the same paths: "
             f"{paths_label(first.n_paths, seed, household, first.cohorts)}; mortality {mortality_label(household)}")
    print_view(withdrawals_table(results, title))
    for rule, reason in skipped.items():
        click.echo(f"{rule}: not run ({reason})")


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the names and descriptions as JSON.")
def profiles(as_json: bool) -> None:
    """List the embedded example profiles.

    \b
    Example:
      mcsim profiles --json
    """
    from ..core.profile import embedded_profile_names, load_profile
    from .render import print_view, profiles_view

    rows = [(name, load_profile(name)) for name in embedded_profile_names()]
    if as_json:
        print_json({name: profile.description for name, profile in rows})
    else:
        print_view(profiles_view(rows))


@cli.group(context_settings=CONTEXT)
def profile() -> None:
    """Inspect profiles.

    \b
    Example:
      mcsim profile show default
    """


@profile.command(name="show", context_settings=CONTEXT)
@click.argument("name", metavar="PROFILE|NAME")
@click.option("--json", "as_json", is_flag=True, help="Print the validated profile as JSON, defaults filled in.")
def profile_show(name: str, as_json: bool) -> None:
    """Print a profile: an embedded one's TOML source, or a file's validated content.

    \b
    Example:
      mcsim profile show mid_career_family
    """
    from ..core.profile import embedded_profile_names, embedded_profile_text, load_profile

    household = load_profile(name)
    if as_json:
        print_json(household.model_dump(mode="json"))
    elif name in embedded_profile_names():
        click.echo(embedded_profile_text(name), nl=False)
    else:
        print_json(household.model_dump(mode="json"))


@cli.command(context_settings=CONTEXT)
@click.option("-a", "--agent", default="sb3", show_default=True, envvar="MCSIM_AGENT",
              help="Agent backend (see `mcsim agents`).")
@click.option("--algo", type=BackendChoice("algorithms"), default="ppo", show_default=True,
              help="Algorithm of the backend (each backend's in `mcsim agents --json`; sb3: ppo, sac, td3, a2c; mlx: ppo).")
@click.option("--profiles", type=Bounded(int, 1, 1_000_000), default=500, show_default=True,
              help="Sampled households in the training mixture.")
@click.option("--episodes", type=Bounded(int, 1, 10_000_000), default=100, show_default=True,
              help="Episodes per household: the budget is profiles x episodes.")
@click.option("--timesteps", type=Bounded(int, 1, 10**10), default=None, help="Budget in env steps instead.")
@click.option("--profile", "profile", default=None, metavar="FILE|NAME",
              help="Train on one profile instead of sampled ones.")
@click.option("--network", type=BackendChoice("networks"), default="solid", show_default=True,
              help="Network preset of the backend (sb3, mlx: hidden layers from [128, 64, 32] to [512, 512, 256, 128, 64]).")
@click.option("--device", type=BackendChoice("devices"), default="auto", show_default=True,
              help="Device of the backend (sb3: torch's, auto the CPU, fastest for these small networks; "
                   "mlx: auto, cpu or gpu, auto MLX's default, the GPU on Apple silicon).")
@click.option("--vec", type=click.Choice(["numba", "subproc", "dummy"]), default="numba", show_default=True,
              help="How environments run: one jitted batch, worker processes, or a Python loop.")
@click.option("--envs", "n_envs", type=Bounded(int, 1, 4096), default=64, show_default=True, help="Parallel environments.")
@click.option("--workers", type=Bounded(int, 1, 256), default=None,
              help="Subprocess workers (default min(12, max(4, cores-2))).")
@click.option("--mc-train", type=Bounded(int, 1, 100_000), default=50, show_default=True,
              help="Monte Carlo paths of the terminal reward while training.")
@click.option("--reward", type=click.Choice(["planner", "crra"]), default=None,
              help="Objective: the planner's (funded probability, quality of life, risk) or lifetime CRRA utility.  "
                   "[default: planner; crra with --horizon life]")
@horizon_options
@click.option("--mortality", type=click.Choice(["fixed", "gompertz"]), default="fixed", show_default=True,
              help="--horizon life: sampled households live to their life expectancy, or die by a Gompertz law "
                   "(modal age 82-94, dispersion 8-12, to 110 at most).")
@click.option("--market", type=click.Choice(MARKETS), default=None,
              help="Return model of the households: a parametric law, historical cohorts or a block bootstrap "
                   "of Shiller's US monthly series (a --profile's own market.history).  "
                   "[default: lognormal; a --profile's own]")
@click.option("--gamma", type=Bounded(float, 0.0, 50.0, open_low=True), default=2.0, show_default=True,
              help="Relative risk aversion of the CRRA utilities.")
@seed_option
@click.option("-o", "--out", default=None, help="Run directory (default: the first free runs/AGENT-ALGO-seedS[-k]).")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its last checkpoint, with its options (those given here override). "
                   "Without --out: the most recent unfinished run of --agent, --algo and --seed. A finished run is "
                   "left as it is (exit 0) unless a larger --timesteps or --episodes is given.")
@click.option("--torch-threads", type=Bounded(int, 1, 256), default=1, show_default=True,
              help="Torch intra-op threads (1 is robust when other work shares the cores).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A learner setting the backend declares (sb3: learning_rate, n_epochs, ent_coef, batch_size, ...; "
                   "`mcsim agents --json` lists each backend's with its range). Repeatable.")
def train(agent: str, algo: str, profiles: int, episodes: int, timesteps: int | None, profile: str | None, network: str,
          device: str, vec: str, n_envs: int, workers: int | None, mc_train: int, reward: str | None, horizon: str,
          bequest_weight: float, mortality: str, market: str | None, gamma: float, seed: int, out: str | None,
          resume: bool, torch_threads: int, params: tuple[str, ...]) -> None:
    """Train an agent on a mixture of households and save it in a run directory.

    \b
    Examples:
      mcsim train --agent sb3                       # the default budget, about 3 minutes on 2 cores
      mcsim train --profiles 50 --episodes 20 --network standard --out runs/quick
      mcsim train --profile default --episodes 3000 # one household
      mcsim train --reward crra                     # lifetime CRRA utility (certainty equivalents)
      mcsim train --horizon life                    # saving, then spending and investing in retirement
      mcsim train --horizon life --mortality gompertz # ... for households whose lifetime is uncertain
      mcsim train --market bootstrap                # on block-bootstrapped US history instead of a lognormal law
      mcsim train --out runs/quick --resume         # continue after Ctrl-C
      mcsim train --resume                          # the most recent unfinished runs/sb3-ppo-seed0[-k]
    """
    from click.core import ParameterSource

    from ..training.trainer import TrainConfig, Trainer, resume_note
    from .progress import Reporter

    given = {
        "agent": agent, "algo": algo, "profiles": profiles, "episodes": episodes, "timesteps": timesteps,
        "profile": profile, "network": network, "device": device, "vec": vec, "n_envs": n_envs, "workers": workers,
        "mc_train": mc_train, "reward": reward, "horizon": horizon, "bequest_weight": bequest_weight,
        "mortality": mortality, "market": market, "gamma": gamma, "seed": seed, "torch_threads": torch_threads,
        "hyperparameters": train_params(agent, algo, params),
    }
    if resume:
        # Resume the run as it was configured; options given on this command line override it.
        context = click.get_current_context()
        explicit = {k: v for k, v in given.items() if context.get_parameter_source(k) == ParameterSource.COMMANDLINE}
        config = TrainConfig.resumed(out, explicit)
        if out is None:
            click.echo(resume_note(config))
    else:
        config = TrainConfig(**{**given, "reward": horizon_reward(reward, horizon, bequest_weight)}, out=out)
    progress = Reporter("starting the training")
    trainer = Trainer(config, console=progress.console, progress=progress)
    if trainer.finished:
        click.echo(trainer.finished_note())
        return
    with progress:
        manifest = trainer.run()
    metrics = manifest["metrics"]
    click.echo(
        f"Saved {trainer.run_dir}: evaluation return {metrics['eval_return']:.4f} on held-out households; "
        f"best baseline {metrics['best_baseline']} {metrics['best_baseline_return']:.4f}."
    )


@cli.command(context_settings=CONTEXT)
@click.argument("runs", nargs=-1, required=True, metavar="RUN [RUN...]")
@click.option("--profiles", "n_households", type=Bounded(int, 1, 10_000), default=20, show_default=True,
              help="Held-out households (sampled apart from training ones).")
@click.option("--mc", "n_paths", type=Bounded(int, 1, 100_000), default=1000, show_default=True,
              help="Whole-life Monte Carlo paths per household, the same for every strategy.")
@seed_option
@click.option("--optimum/--no-optimum", default=True, show_default=True,
              help="Also solve each household's optimum (dynamic programming, seconds each) and report % of it "
                   "(parametric markets only).")
@click.option("--market", "markets", default=None, metavar="M[,M...]",
              help=f"Evaluate every run on each of these markets ({', '.join(MARKETS)}), with a robustness table.  "
                   "[default: each run's training market]")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@cluster_options
def evaluate(runs: tuple[str, ...], n_households: int, n_paths: int, seed: int, optimum: bool, markets: str | None,
             as_json: bool, ray: bool, address: str | None) -> None:
    """Compare trained policies with every baseline on held-out households, on the same paths.

    With several runs (say, several seeds) it also reports the policy over runs: each run's value, and from
    3 runs the mean and its 95% interval (a share's within 0 and 100%).

    --ray splits the households in blocks over Ray workers (mcsim-ray; a local cluster, or --address): each
    household keeps its episodes and seeds, so the numbers are those of one process.

    With --market (or runs trained on different markets) a robustness table follows: each run and baseline's
    mean yardstick on each market, the same households and seeds on every market, and each run's share of
    households where it beats the best baseline. Historical cohorts are replayed stratified (each household's
    lives start at cohorts spread evenly); the optimum is not computed on historical and bootstrap markets.

    A run trained over the whole life (--horizon life) meets each saving baseline spending by each
    withdrawal rule, and the optimum over the whole life: certainty-equivalent consumption, its share
    of the optimum's, capital at retirement and spending in retirement (each rule with its best saving
    baseline; --json has every pair).

    \b
    Examples:
      mcsim evaluate runs/sb3-ppo-seed0 --profiles 20 --mc 1000
      mcsim evaluate runs/seed0 runs/seed1 runs/seed2 --json
      mcsim evaluate runs/lognormal runs/bootstrap --market lognormal,bootstrap,historical
      mcsim evaluate runs/sb3-ppo-seed0 --profiles 10000 --mc 10 --no-optimum --ray   # households in blocks on Ray
    """
    from ..training.reports import OPTIMUM_ON_HISTORY
    from ..training.robustness import evaluate_markets
    from .progress import Reporter
    from .render import print_view
    from .render_robustness import robustness_table

    chosen = market_list(markets)
    with Reporter("evaluating") as progress:
        executor = executor_name(ray, address)
        report = evaluate_markets(list(runs), n_households, n_paths, seed, optimum, progress, chosen,
                                  executor if ray else None, address)
    if as_json:
        print_json(report.to_dict())
        return
    for market, runs_report in report.by_market.items():
        print_runs_report(runs_report, n_paths, market if len(report.by_market) > 1 or chosen else None)
    if report.robust:
        print_view(robustness_table(report.robustness()))
    if report.optimum_skipped:
        click.echo(OPTIMUM_ON_HISTORY)


def market_list(value: str | None) -> list[str] | None:
    """`evaluate --market`: comma-separated return models (None when not given); an unknown one is one line."""
    if value is None:
        return None
    markets = [part.strip() for part in value.split(",")]
    for market in markets:
        if market not in MARKETS:
            raise BadInput(f"--market: each market must be one of {', '.join(MARKETS)} (got {market!r})")
    return list(dict.fromkeys(markets))


def print_runs_report(report: Any, n_paths: int, market: str | None) -> None:
    """Each run's evaluation table and summary line on one market, and the line over runs."""
    from .render import evaluation_table, print_view
    from .render_life import life_evaluation_table

    on = f" on the {market} market" if market else ""
    for run, evaluation in report.evaluations.items():
        title = f"{run}{on}: {evaluation.n_households} households x {n_paths:,} paths"
        if evaluation.life:
            print_view(life_evaluation_table(evaluation, f"{title}, over the whole life"))
        else:
            print_view(evaluation_table(evaluation, title))
        click.echo(report.summary_line(run))
    if len(report.evaluations) > 1:
        click.echo(f"On the {market} market: {report.aggregate_line()}" if market else report.aggregate_line())


@cli.command(context_settings=CONTEXT)
@click.argument("run")
@profile_argument
@click.option("--mc", "n_paths", type=Bounded(int, 1, 100_000), default=1000, show_default=True,
              help="Whole-life Monte Carlo paths, the same for every strategy.")
@seed_option
@click.option("--json", "as_json", is_flag=True, help="Print the strategy and evaluation as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Chart of the strategy and wealth (PNG).")
@click.option("--runtime", type=RuntimeChoice(), default="torch", show_default=True,
              help="Act with the trained weights (torch) or with an export in the run directory (onnx, ...).")
@click.option("--optimum/--no-optimum", default=True, show_default=True,
              help="Also solve the household's optimum (dynamic programming) and report % of it.")
@click.option("--batch", "batch", default=None, metavar="FILE|FOLDER",
              help="Many households: a .parquet, .csv or .jsonl file of flat rows (README: the batch schema), or a "
                   "folder of profiles; writes every strategy to --out (with --mc given, its evaluation too).")
@click.option("--out", "out", default=None, metavar="FILE", help="With --batch: the strategies (.parquet, .csv, .jsonl).")
@click.option("--block", type=Bounded(int, 1, 100_000), default=2_000, show_default=True,
              help="With --batch: households per block (one task; its strategies are one batched roll-out).")
@cluster_options
@click.pass_context
def predict(ctx: click.Context, run: str, profile: str, n_paths: int, seed: int, as_json: bool, plot: str | None,
            runtime: str, optimum: bool, batch: str | None, out: str | None, block: int, ray: bool,
            address: str | None) -> None:
    """Show a trained policy's strategy for one household, its evaluation and the baselines'.

    A run trained over the whole life (--horizon life) shows its strategy through retirement (spending
    and equity share by phase) beside each saving baseline with each withdrawal rule.

    With --batch, the strategy of every household of a file (or folder of profiles) on the median market,
    streamed in blocks into --out, one row per household (a bad row gets its message in the 'error' column
    and the others go on); with --mc N, each strategy's evaluation over N paths too (funded probability,
    median capital, objective). --ray spreads the blocks over a Ray cluster (mcsim-ray): the same numbers.

    \b
    Examples:
      mcsim predict runs/sb3-ppo-seed0 mid_career_family --plot strategy.png
      mcsim predict runs/sb3-ppo-seed0 --runtime onnx   # after mcsim export-onnx, no torch needed
      mcsim predict runs/sb3-ppo-seed0 --batch households.parquet --out strategies.parquet --mc 100 --ray
    """
    if batch is not None or out is not None:
        given = ctx.get_parameter_source
        default = click.core.ParameterSource.DEFAULT
        predict_many(run, batch, out, n_paths if given("n_paths") != default else 0, seed, block,
                     runtime if given("runtime") != default else "auto", ray, address, as_json,
                     [name for name in ("profile", "plot", "optimum") if given(name) != default])
        return
    if ray or address:
        raise BadInput("--ray and --address spread a --batch of households: give --batch FILE --out FILE")
    from ..training.reports import OPTIMUM_ON_HISTORY, predict_household
    from .plot import check_output_path, write_strategy_chart
    from .progress import Reporter
    from .render import evaluation_table, phases_table, print_view
    from .render_life import life_evaluation_table, life_phases_table

    if plot is not None:
        check_output_path(plot)
    with Reporter("predicting") as progress:
        prediction = predict_household(run, profile, n_paths, seed, runtime, optimum, progress=progress)
        if plot is not None:
            progress("drawing the strategy chart")
            write_strategy_chart(prediction, plot)
    if as_json:
        print_json(prediction.to_dict())
        return
    title = f"{prediction.profile}: {n_paths:,} paths, same for every strategy"
    if prediction.evaluation.life:
        print_view(life_phases_table(prediction.phases))
        print_view(life_evaluation_table(prediction.evaluation, f"{title}, over the whole life"))
    else:
        print_view(phases_table(prediction.phases))
        print_view(evaluation_table(prediction.evaluation, title))
    if prediction.optimum_skipped:
        click.echo(OPTIMUM_ON_HISTORY)
    if plot is not None:
        click.echo(f"Strategy chart written to {plot}")


def train_params(agent: str, algo: str, params: tuple[str, ...]) -> dict[str, Any]:
    """`train --param NAME=VALUE`: each a setting the backend declares, within its range (one line otherwise)."""
    if not params:
        return {}
    from ..plugins.agents import get_backend

    backend = get_backend(agent)
    chosen: dict[str, Any] = {}
    for param in params:
        name, sep, value = param.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--param: write NAME=VALUE (got {param!r})")
        chosen[name.strip()] = backend.hyperparameter(name.strip(), algo).value(value.strip())
    return chosen


def predict_many(run: str, batch: str | None, out: str | None, n_paths: int, seed: int, block: int, runtime: str,
                 ray: bool, address: str | None, as_json: bool, extra: list[str]) -> None:
    """`predict --batch`: every household's strategy into --out, and the summary line (or JSON)."""
    from ..training.batch import predict_batch
    from .progress import Reporter

    if batch is None or out is None:
        raise BadInput("--batch FILE|FOLDER and --out FILE go together")
    if extra:
        raise BadInput(f"--batch takes its households from {batch}: drop {', '.join(_option_names(extra))}")
    with Reporter("predicting") as progress:
        summary = predict_batch(run, batch, out, n_paths, seed, block, executor_name(ray, address), address, runtime,
                                progress)
    if as_json:
        print_json(summary.to_dict())
    else:
        click.echo(summary.line())


def _option_names(names: list[str]) -> list[str]:
    return ["PROFILE" if name == "profile" else f"--{name}" for name in names]


@cli.command(context_settings=CONTEXT)
@profile_argument
@click.option("--run", default=None, metavar="RUN",
              help="A run directory of `mcsim train`: add its strategy for the household, beside the household's "
                   "own plan, the baselines and the optimum on the same lives.")
@click.option("-o", "--out", default="report.html", show_default=True, help="The page to write (.html).")
@click.option("-n", "--paths", "n_paths", type=Bounded(int, 1, 10_000_000), default=10_000, show_default=True,
              help="Monte Carlo paths of the plan and of every withdrawal rule (the same paths).")
@seed_option
@click.option("--mc", "mc_paths", type=Bounded(int, 1, 100_000), default=1000, show_default=True,
              help="With --run: whole-life paths of the evaluation, the same for every strategy.")
@click.option("--optimum/--no-optimum", default=True, show_default=True,
              help="With --run: also solve the household's optimum (dynamic programming) and report % of it.")
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True,
              help="Language of the page, numbers and euros formatted for it.")
@click.option("--json", "as_json", is_flag=True, help="Also print the page's numbers as JSON on standard output.")
@market_option
def report(profile: str, run: str | None, out: str, n_paths: int, seed: int, mc_paths: int, optimum: bool, lang: str,
           as_json: bool, market: str | None) -> None:
    """Write a household's report: one self-contained HTML page that opens offline, in English or French.

    The household, the plan's outcome, the wealth fan by age, spending in retirement with every
    withdrawal rule side by side, the assumptions and the model's limits; with --run, the learned
    strategy by age and every strategy on the same lives.

    \b
    Examples:
      mcsim report                                  # the default household into report.html
      mcsim report late_starter --lang fr -o bilan.html
      mcsim report --run runs/sb3-ppo-seed0 --json  # with the learned strategy; the numbers as JSON too
    """
    from ..report import build_report, output_path, render_html, write_report
    from .progress import Reporter

    path = output_path(out)
    with Reporter("building the report") as progress:
        data = build_report(profile, run, n_paths, seed, mc_paths, optimum, market, progress)
        progress("writing the page")
        page = render_html(data, lang)
    write_report(page, path)
    if as_json:
        print_json(data.to_dict())
    else:
        click.echo(f"Report written to {path} ({len(page.encode()) / 1024:,.0f} kB)")


@cli.command(context_settings=CONTEXT)
@profile_argument
@click.option("--reward", type=click.Choice(["planner", "crra"]), default=None,
              help="The objective to optimize (the environment's rewards).  [default: planner; crra with --horizon life]")
@horizon_options
@click.option("--gamma", type=Bounded(float, 0.0, 50.0, open_low=True), default=2.0, show_default=True,
              help="Relative risk aversion of the CRRA utilities.")
@click.option("--step-months", type=click.Choice(["1", "2", "3", "4", "6", "12"]), default="12", show_default=True,
              help="Months per decision.")
@click.option("--wealth-points", type=Bounded(int, 10, 5000), default=300, show_default=True,
              help="Points of the solver's wealth grid.")
@click.option("--mc", "n_paths", type=Bounded(int, 1, 100_000), default=1000, show_default=True,
              help="Whole-life Monte Carlo paths of the evaluation, the same for every strategy.")
@seed_option
@click.option("--json", "as_json", is_flag=True, help="Print the optimum and its evaluation as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Chart of the optimal strategy and wealth (PNG).")
def optimum(profile: str, reward: str | None, horizon: str, gamma: float, bequest_weight: float, step_months: str,
            wealth_points: int, n_paths: int, seed: int, as_json: bool, plot: str | None) -> None:
    """Solve a household's optimal strategy (dynamic programming) and compare the baselines with it.

    Prints the optimal saving and glide path by age on the median market, the optimum's value
    (the solver's, and simulated), and every baseline as a share of the optimum on the same paths.
    With --horizon life: the optimal saving, spending and equity share by age through retirement,
    and the optimum's value (the solver's, and simulated in the whole-life environment).

    \b
    Examples:
      mcsim optimum                             # the default profile, planner objective
      mcsim optimum young_saver --reward crra --plot optimum.png
      mcsim optimum --horizon life --json       # saving, spending and investing over the whole life
    """
    from ..env.environment import EnvConfig
    from ..optimum.solver import SolverGrid
    from ..training.reports import optimum_report
    from .plot import check_output_path, write_strategy_chart
    from .progress import Reporter
    from .render import evaluation_table, life_baselines_table, life_path_table, median_path_table, print_view

    if horizon == "life" and plot is not None:
        raise BadInput("--plot: the strategy chart covers --horizon retirement only (drop --plot or the horizon)")
    reward = horizon_reward(reward, horizon, bequest_weight)
    if plot is not None:
        check_output_path(plot)
    config = EnvConfig(reward=reward, gamma=gamma, step_months=int(step_months), horizon=horizon,
                       bequest_weight=bequest_weight)
    if horizon == "life":
        from ..optimum.report import life_optimum_report

        with Reporter("solving the optimum") as progress:
            life = life_optimum_report(profile, config, n_paths, seed, SolverGrid(wealth_points=wealth_points), progress)
        if as_json:
            print_json(life.to_dict())
            return
        print_view(life_path_table(life.path, f"{life.profile}: optimal strategy over the whole life on the median market"))
        click.echo(f"Optimal value {life.policy.value:.4f} by the solver (certainty equivalent {life.solver_ce:,.0f} € a "
                   f"month), {life.simulated_value:.4f} ± {life.simulated_error:.4f} simulated on {n_paths:,} lives "
                   f"({life.simulated_ce:,.0f} € a month); solved in {life.policy.seconds:.1f} s.")
        print_view(life_baselines_table(life, f"{life.profile}: each withdrawal rule with its best saving baseline, "
                                              f"on the same {n_paths:,} lives"))
        return
    with Reporter("solving the optimum") as progress:
        report = optimum_report(profile, config, n_paths, seed, SolverGrid(wealth_points=wealth_points), progress)
        if plot is not None:
            progress("drawing the strategy chart")
            write_strategy_chart(report, plot, f"{report.profile}: optimal strategy on the median market ({reward})")
    if as_json:
        print_json(report.to_dict())
        return
    policy = report.policy
    print_view(median_path_table(report.path, f"{report.profile}: optimal strategy on the median market ({reward})"))
    click.echo(f"Optimal value {policy.value:.4f} by the solver, {report.simulated_value:.4f} simulated on {n_paths:,} paths "
               f"(solved in {policy.seconds:.1f} s; capital at retirement on the median market {report.path.capital:,.0f} €).")
    print_view(evaluation_table(report.evaluation, f"{report.profile}: {n_paths:,} paths, same for every strategy"))
    if plot is not None:
        click.echo(f"Strategy chart written to {plot}")


@cli.command(context_settings=CONTEXT)
def plugins() -> None:
    """List the installed plugins, their hooks and versions, as JSON.

    \b
    Example:
      mcsim plugins
    """
    from ..plugins.manager import plugin_list

    print_json(plugin_list())


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the backends as JSON.")
def agents(as_json: bool) -> None:
    """List the agent backends that `--agent` can name.

    \b
    Example:
      mcsim agents --json
    """
    from ..plugins.agents import agent_backends

    backends = agent_backends()
    rows = [
        {"name": name, "kind": backend.kind, "trainable": backend.trainable, "description": backend.description,
         "algorithms": list(backend.algorithms), "networks": list(backend.networks), "devices": list(backend.devices),
         "hyperparameters": [{"name": h.name, "kind": h.kind, "low": h.low, "high": h.high, "choices": list(h.choices),
                              "log": h.log, "algorithms": list(h.algorithms), "description": h.description}
                             for h in backend.hyperparameters]}
        for name, backend in sorted(backends.items())
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['name']:16s} {row['kind']:7s} {row['description']}")


PLUGIN_COMMANDS = {"export-coreml": "mcsim-coreml", "export-onnx": "mcsim-onnx", "sweep": "mcsim-ray"}
"""Commands that plugins provide; without the plugin, the command says how to install it."""


def _missing_plugin_command(name: str, distribution: str) -> click.Command:
    def missing(args: tuple[str, ...]) -> None:
        raise BadInput(f"{name} comes with the {distribution} plugin: pip install {distribution} "
                       f"(in this repository: pip install -e plugins/{distribution.removeprefix('mcsim-')})")

    return click.Command(
        name, callback=missing, help=f"Needs the {distribution} plugin (not installed).",
        params=[click.Argument(["args"], nargs=-1)],
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


def _load_plugins() -> None:
    """Load the plugins; a PluginWarning (say, MCSIM_LOAD_PLUGINS naming no installed plugin) is one stderr line."""
    import warnings

    from ..plugins.manager import PluginWarning, load_plugins

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginWarning)
        load_plugins()
    for warning in caught:
        if issubclass(warning.category, PluginWarning):
            click.echo(f"Warning: {one_line(str(warning.message))}", err=True)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def _add_plugin_commands() -> None:
    from ..plugins.manager import pm

    _load_plugins()
    pm.hook.register_commands(cli=cli)
    for name, distribution in PLUGIN_COMMANDS.items():
        if name not in cli.commands:
            cli.add_command(_missing_plugin_command(name, distribution))


_add_plugin_commands()


NO_ARGS_IS_HELP: type[click.UsageError] | tuple[()] = getattr(click.exceptions, "NoArgsIsHelpError", ())
"""Click 8.2+ raises it for a group named without a command (click 8.1 printed the help and exited 0 itself)."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: bad input of any kind is one line on standard error and exit code 2."""
    try:
        cli.main(args=argv, prog_name="mcsim", standalone_mode=False)
    except McsimError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except NO_ARGS_IS_HELP as error:
        # A group named without a command (`mcsim`, `mcsim profile`): its help, as click groups do.
        click.echo(error.ctx.get_help())
        sys.exit(0)
    except click.ClickException as error:
        click.echo(f"Error: {one_line(error.format_message())}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
