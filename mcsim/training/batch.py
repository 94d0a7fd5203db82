"""Strategies for many households at once: what ``mcsim predict RUN --batch FILE --out FILE`` computes.

Rows are read in blocks (:mod:`~mcsim.training.batch_io`); each block is one task for an executor
(:mod:`~mcsim.plugins.executors`: this process, or Ray workers with mcsim-ray), which returns one
result row per input row, in order. Within a block:

* the **strategy** is the run's policy followed on the median market (every shock zero: the
  households' own laws with their volatilities set to zero), all the block's households in one
  batched roll-out (the policy acts on a [households, observations] array at each decision step),
  summarized in phases as ``mcsim predict`` shows them (:func:`~mcsim.training.evaluation.strategy_phases`);
* with ``n_paths`` (``--mc``), its **evaluation** over that many whole lives per household, as
  ``predict`` scores the policy: the funded probability, the median capital at retirement and the
  objective. Household row r's life p is seeded ``seed + r * n_paths + p``, so a household's numbers
  depend on the seed and its row only: row 0 gets ``predict``'s seeds, the same whichever executor
  and however many workers.

A row that cannot become a household (a missing or out-of-range cell, a historical market, more
charges than the environment keeps) gets its message in ``error``; the others go on.

The worker gets the run as a :class:`RunPayload` (its manifest and the files its agent loads, as
bytes), so it needs no access to the run directory: a cluster's nodes need mcsim and the run's
agent backend installed, nothing else.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.checks import integer
from ..core.errors import McsimError, ParameterError
from ..core.profile import HISTORY_MODELS, Profile
from ..core.progress import OnProgress, silent
from ..env.environment import EnvConfig
from ..env.household import MAX_CHARGES, HouseholdPool, pool_from_profiles
from ..env.policies import Rollout, rollout_episodes
from ..plugins.executors import Executor, get_executor
from .batch_io import PHASE_FIELDS, PROFILE_COLUMN, RowError, Writer, check_output, read_blocks, row_profile, source_kind
from .evaluation import objective, retirement_steps, strategy_phases
from .rundirs import CHECKPOINT_DIR, MANIFEST, MODEL_DIR, read_manifest

MAX_ENVS = 65_536
"""Environments of one evaluation roll-out: a block's households x paths are rolled out in chunks of at most this."""
WASTE = 0.25
"""The share of wasted decision steps an evaluation roll-out may take (more roll-outs cost more calls per step)."""
STRATEGY_WASTE = 0.5
"""The same for the strategies' roll-outs, whose steps are cheaper than the calls that more roll-outs make."""
DEFAULT_BLOCK = 2_000
RUNTIMES = ("auto", "torch")


@dataclass(frozen=True)
class RunPayload:
    """A run as a worker needs it: the manifest and the files its agent loads (relative path to bytes).

    ``runtime`` is ``torch`` (the backend's own predict, from ``model/``) or an exporter's name
    (``onnx``: ``policy.onnx`` through its runtime).
    """

    run: str
    manifest: dict[str, Any]
    files: dict[str, bytes]
    runtime: str

    @property
    def digest(self) -> str:
        """A key of the payload's content: a worker loads each run's agent once."""
        sha = hashlib.sha256(self.runtime.encode())
        for name in sorted(self.files):
            sha.update(name.encode())
            sha.update(self.files[name])
        return sha.hexdigest()


def choose_runtime(run: str | Path, runtime: str) -> str:
    """``auto``: onnx when the run has ``policy.onnx`` and mcsim-onnx is installed, else torch (the backend's own)."""
    if runtime != "auto":
        return runtime
    if (Path(run) / "policy.onnx").is_file():
        from ..plugins.exporters import exporters

        if "onnx" in exporters():
            return "onnx"
    return "torch"


def run_payload(run: str | Path, runtime: str = "auto") -> RunPayload:
    """The run's payload: its manifest, and ``model/`` (else ``checkpoint/``) or the export the runtime reads."""
    root = Path(run)
    manifest = read_manifest(root)
    chosen = choose_runtime(root, runtime)
    files: dict[str, bytes] = {}
    if chosen == "torch":
        model = root / MODEL_DIR if (root / MODEL_DIR).is_dir() else root / CHECKPOINT_DIR
        if not model.is_dir():
            raise ParameterError("run", f"{root} has no model ({root / MODEL_DIR} is missing, and no checkpoint)")
        for path in sorted(model.rglob("*")):
            if path.is_file():
                files[str(path.relative_to(root))] = path.read_bytes()
    else:
        from ..plugins.exporters import get_exporter

        exporter = get_exporter(chosen, f"install mcsim-{chosen} to predict with the {chosen} runtime")
        export = root / f"policy{exporter.suffix}"
        if not export.is_file():
            raise ParameterError("runtime", f"{export} does not exist: run `mcsim export-{chosen} {root}` first")
        files[export.name] = export.read_bytes()
    return RunPayload(str(root), manifest, files, chosen)


_AGENTS: dict[str, Any] = {}
_FOLDERS: list[str] = []


def _remove_folders() -> None:
    for folder in _FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(_remove_folders)


def payload_agent(payload: RunPayload) -> Any:
    """The payload's agent, loaded once per process from a private copy of its files."""
    key = payload.digest
    if key not in _AGENTS:
        from .reports import load_exported_agent
        from .runio import write_json
        from .trainer import load_agent

        folder = Path(tempfile.mkdtemp(prefix="mcsim-run-"))
        _FOLDERS.append(str(folder))
        write_json(folder / MANIFEST, payload.manifest)
        for name, content in payload.files.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        if payload.runtime == "torch":
            _AGENTS[key] = load_agent(folder)[0]
        else:
            _AGENTS[key] = load_exported_agent(folder, payload.runtime)[0]
    return _AGENTS[key]


@dataclass(frozen=True)
class BatchSettings:
    """What every block needs besides the run: the evaluation's paths (0: none) and seed."""

    n_paths: int = 0
    seed: int = 0


def _median_market(pool: HouseholdPool) -> HouseholdPool:
    """The pool's households on their median market: every shock zero (the laws' volatilities set to zero)."""
    return pool._replace(vol=np.zeros_like(pool.vol), inflation_vol=np.zeros_like(pool.inflation_vol))


def strategies(agent: Any, pool: HouseholdPool, profiles: list[Profile], config: EnvConfig) -> list[dict[str, Any]]:
    """Each household's strategy on the median market, from one batched roll-out: a result row's strategy columns."""
    settings = {**asdict(config), "mc_paths": 1}  # the terminal estimate: one path, on the median market too
    median = _median_market(pool)
    # A few roll-outs of similar lengths: an env whose episode ends early starts another (ignored, with
    # its path at retirement), while each roll-out costs a policy call and a kernel launch a step.
    rows: list[dict[str, Any]] = [{} for _ in profiles]
    for chunk in chunks(pool, config, 1, STRATEGY_WASTE):
        trajectory = rollout_episodes(agent, median, [{"household": int(h)} for h in chunk], [0] * len(chunk),
                                      record=True, **settings)
        for k, h in enumerate(chunk):
            rows[h] = _strategy(pool, int(h), profiles[h], config, trajectory, k)
    return rows


def chunks(pool: HouseholdPool, config: EnvConfig, lives: int, waste: float = 0.25) -> list[np.ndarray]:
    """The pool's households in roll-outs of similar episode lengths, at most MAX_ENVS lives each.

    A roll-out steps every env until its longest episode ends (the others start over, with their
    Monte Carlo paths at retirement, and are ignored), so households sorted by decision steps share
    one while its wasted steps stay under ``waste`` of its useful ones.
    """
    steps = np.ceil(pool.n_accum / config.step_months)
    if config.life:
        steps += np.ceil(pool.n_decum / config.step_months)
    order = np.argsort(steps, kind="stable")
    found: list[np.ndarray] = []
    start, total = 0, 0.0
    for k, h in enumerate(order):
        count = k - start + 1
        if k > start and (steps[h] * count - (total + steps[h]) > waste * (total + steps[h]) or count * lives > MAX_ENVS):
            found.append(order[start:k])
            start, total = k, 0.0
        total += steps[h]
    found.append(order[start:])
    return found


def _strategy(pool: HouseholdPool, h: int, profile: Profile, config: EnvConfig, trajectory: Rollout,
              k: int) -> dict[str, Any]:
    """Household h's strategy columns from episode k of its median-market roll-out."""
    taken = ~np.isnan(trajectory.ages[k])
    ends = trajectory.ages[k][taken]
    starts = np.concatenate(([pool.start_age[h]], ends[:-1]))
    saving = trajectory.monthly_saving[k][taken]
    equity = trajectory.equity_share[k][taken]
    consumption = retired = None
    end_age = profile.person.retirement_age
    if config.life:
        consumption = trajectory.monthly_consumption[k][taken]
        retired = retirement_steps(pool, np.array([h]), len(starts), config.step_months)[0][0]
        end_age = float(pool.start_age[h] + (pool.n_accum[h] + pool.n_decum[h]) / 12.0)
    phases = strategy_phases(starts, saving, equity, config.step_months, end_age, consumption, retired)
    working = np.flatnonzero(~retired) if retired is not None else np.arange(len(starts))
    return {
        "monthly_saving_now": float(saving[0]), "equity_share_now": float(equity[0]),
        "equity_share_at_retirement": float(equity[working[-1]]),
        "capital_at_retirement": float(trajectory.capital_at_retirement[k]),
        "phases": [{name: getattr(phase, name) for name in PHASE_FIELDS} for phase in phases],  # asdict is slower
    }


def evaluations(agent: Any, pool: HouseholdPool, rows: list[int], config: EnvConfig, n_paths: int,
                seed: int) -> list[dict[str, Any]]:
    """Each household's evaluation over ``n_paths`` lives: funded probability, median capital, objective.

    Household h (input row ``rows[h]``) lives p with seed ``seed + rows[h] * n_paths + p`` (historical
    cohorts would start stratified, as ``predict`` does); the roll-outs take at most MAX_ENVS lives at once.
    """
    settings = {**asdict(config), "mc_paths": 1}
    results: list[dict[str, Any]] = [{} for _ in range(pool.size)]
    for chunk in chunks(pool, config, n_paths, WASTE):
        options = [{"household": int(h), "cohort": (p + 0.5) / n_paths} for h in chunk for p in range(n_paths)]
        seeds = [seed + rows[h] * n_paths + p for h in chunk for p in range(n_paths)]
        result: Rollout = rollout_episodes(agent, pool, options, seeds, **settings)
        for k, h in enumerate(chunk):
            lives = slice(k * n_paths, (k + 1) * n_paths)
            quality = (result.returns - result.terminal)[lives]
            funded = result.funded_probability[lives]
            value = objective(quality, funded, result.shortfall[lives], result.returns[lives], config)
            results[h] = {
                "funded_probability": None if np.isnan(funded).any() else float(funded.mean()),
                "median_capital": float(np.median(result.capital_at_retirement[lives])),
                "objective": value,
            }
    return results


def row_id(row: dict[str, Any]) -> str | None:
    """A row's id: its ``id`` cell, or a folder's profile file name."""
    if PROFILE_COLUMN in row and len(row) == 1:
        return Path(str(row[PROFILE_COLUMN])).name
    ident = row.get("id")
    return None if ident is None or ident == "" else str(ident)


def _household(row: dict[str, Any]) -> Profile:
    """A row's profile; a RowError says why it cannot be a household of the environment."""
    if "__error__" in row:
        raise RowError(str(row["__error__"]))
    profile = row_profile(row)
    model = profile.market.return_model
    if model in HISTORY_MODELS:
        raise RowError(f"return_model: {model} replays history, which has no median market: batch strategies "
                       "follow a law (lognormal, normal, student_t)")
    if len(profile.income.charges) + len(profile.income.children) > MAX_CHARGES:
        raise RowError(f"income: the environment takes at most {MAX_CHARGES} charges and children")
    return profile


def predict_block(shared: tuple[RunPayload, BatchSettings], block: tuple[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One block's result rows, in the order of its input rows (``block``: its first row's position and its rows)."""
    payload, settings = shared
    offset, rows = block
    agent = payload_agent(payload)
    config = EnvConfig(**payload.manifest["env"])
    results: list[dict[str, Any]] = [{"row": offset + i, "id": None, "error": None} for i in range(len(rows))]
    groups: dict[tuple[str, float], list[tuple[int, Profile]]] = {}
    for i, row in enumerate(rows):
        results[i]["id"] = row_id(row)
        try:
            profile = _household(row)
        except RowError as error:
            results[i]["error"] = str(error)
            continue
        key = (profile.market.return_model, float(profile.market.student_t_df))
        groups.setdefault(key, []).append((i, profile))
    for members in groups.values():
        indices = [i for i, _ in members]
        profiles = [profile for _, profile in members]
        try:
            pool = pool_from_profiles(profiles)
        except McsimError:
            indices, profiles, pool = _pool_of_good(members, results)
            if pool is None:
                continue
        for i, values in zip(indices, strategies(agent, pool, profiles, config), strict=True):
            results[i].update(values)
        if settings.n_paths:
            rows_of = [offset + i for i in indices]
            for i, values in zip(indices, evaluations(agent, pool, rows_of, config, settings.n_paths, settings.seed),
                                 strict=True):
                results[i].update(values)
    return results


def _pool_of_good(members: list[tuple[int, Profile]], results: list[dict[str, Any]]
                  ) -> tuple[list[int], list[Profile], HouseholdPool | None]:
    """The pool of the profiles that make one on their own; the others' rows get the error."""
    good: list[tuple[int, Profile]] = []
    for i, profile in members:
        try:
            pool_from_profiles([profile])
        except McsimError as error:
            results[i]["error"] = str(error)
            continue
        good.append((i, profile))
    if not good:
        return [], [], None
    return [i for i, _ in good], [p for _, p in good], pool_from_profiles([p for _, p in good])


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did: rows read, rows with an error, seconds, where the result is and what computed it."""

    rows: int
    errors: int
    seconds: float
    out: str
    executor: str
    runtime: str
    first_error: str | None = None

    @property
    def rate(self) -> float:
        """Households per second (all rows, errors included)."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """The summary line: rows done and with errors, time and rate, where."""
        done = self.rows - self.errors
        errors = f"; {self.errors:,} with an error (first: {self.first_error})" if self.errors else "; no error"
        return (f"{done:,} of {self.rows:,} households have a strategy{errors}; {self.seconds:.1f} s, "
                f"{self.rate:,.0f} households/s ({self.executor}, {self.runtime} runtime). Written to {self.out}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {**asdict(self), "rate": self.rate}


def count_rows(source: Path) -> int:
    """The rows a source holds when that is cheap to know (parquet metadata, a folder's files), else 0."""
    kind = source_kind(source)
    if kind == "parquet":
        from .batch_io import _pyarrow

        try:
            return int(_pyarrow().parquet.ParquetFile(str(source)).metadata.num_rows)
        except Exception:  # noqa: BLE001 - the reader reports a bad file as one line
            return 0
    if kind == "folder":
        return sum(1 for p in source.iterdir() if p.suffix.lower() in (".toml", ".json"))
    return 0


def predict_batch(run: str | Path, source: str | Path, out: str | Path, n_paths: int = 0, seed: int = 0,
                  block: int = DEFAULT_BLOCK, executor: str | Executor = "local", address: str | None = None,
                  runtime: str = "auto", progress: OnProgress | None = None) -> BatchSummary:
    """Write the strategy (and with ``n_paths`` its evaluation) of every household of ``source`` to ``out``.

    Streams ``source`` in blocks of ``block`` rows through ``executor`` (a name or an
    :class:`~mcsim.plugins.executors.Executor`); ``address`` is the executor's cluster. The output
    has one row per input row, in order (:data:`~mcsim.training.batch_io.OUTPUT_COLUMNS`).
    """
    integer("block", block, 1, 100_000)
    integer("n_paths", n_paths, 0, 100_000)
    integer("seed", seed, 0, 2**62)
    report = progress or silent
    source_path = Path(source)
    source_kind(source_path)
    out_path = check_output(out)
    if out_path.resolve() == source_path.resolve():
        raise ParameterError("--out", f"{out_path} is the input file")
    chosen = executor if isinstance(executor, Executor) else get_executor(executor)
    report(f"loading {run}")
    payload = run_payload(run, runtime)
    total = count_rows(source_path)
    started = time.perf_counter()
    writer = Writer(out_path, evaluated=n_paths > 0)
    rows = errors = 0
    first_error = None
    complete = False
    try:
        blocks = _numbered(read_blocks(source_path, block))
        report("predicting", 0, total, unit="households")
        for results in chosen.map_blocks(predict_block, blocks, shared=(payload, BatchSettings(n_paths, seed)),
                                         address=address, workdir=out_path.parent):
            writer.write(results)
            rows += len(results)
            for result in results:
                if result["error"] is not None:
                    errors += 1
                    first_error = first_error or f"row {result['row']}: {result['error']}"
            elapsed = time.perf_counter() - started
            report("predicting", rows, total, unit="households", detail=f"{rows / max(elapsed, 1e-9):,.0f} households/s")
        complete = rows > 0
    finally:
        writer.close(complete)
    if not complete:
        raise ParameterError("--batch", f"{source_path} holds no household")
    return BatchSummary(rows, errors, time.perf_counter() - started, str(out_path), chosen.name, payload.runtime,
                        first_error)


def _numbered(blocks: Iterator[list[dict[str, Any]]]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Each block with the position of its first row."""
    offset = 0
    for rows in blocks:
        yield offset, rows
        offset += len(rows)
