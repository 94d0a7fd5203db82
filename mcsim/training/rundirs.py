"""Run directories: their layout, their manifest read with one-line errors, and finding the run to resume.

A run directory holds ``manifest.json``, ``model/``, ``checkpoint/`` and ``logs/``. Every reader
checks what it reads: a broken file is one ParameterError naming it and what is wrong with it.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from ..core.errors import ParameterError
from ..core.market import RETURN_MODELS
from ..env.environment import EnvConfig
from .runio import json_kind, read_json_object

MANIFEST, MODEL_DIR, CHECKPOINT_DIR, LOG_DIR = "manifest.json", "model", "checkpoint", "logs"
RUNS_ROOT = Path("runs")
STATUSES = ("training", "interrupted", "complete")
UNFINISHED = ("training", "interrupted")


def _require(path: Path, data: dict[str, Any], key: str, kind: type, optional: bool = False) -> Any:
    """``data[key]``, which must be of JSON type ``kind`` (an error naming the file otherwise)."""
    if key not in data:
        if optional:
            return None
        raise ParameterError(str(path), f"lacks its '{key}'")
    value = data[key]
    expected = {dict: "an object", list: "a list", str: "a string", int: "an integer"}[kind]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ParameterError(str(path), f"its '{key}' is a JSON {json_kind(value)}, not {expected}")
    return value


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """A run directory's manifest, checked: a JSON object with its config (naming the agent) and env.

    Every problem is one ParameterError naming the file and what is wrong with it.
    """
    run = Path(run_dir)
    path = run / MANIFEST
    if not path.exists():
        raise ParameterError("run", f"{run} is not a run directory ({path} is missing)")
    manifest = read_json_object(path)
    config = _require(path, manifest, "config", dict)
    if not config.get("agent") or not isinstance(config["agent"], str):
        raise ParameterError(str(path), "its 'config' names no agent (no 'agent' string)")
    try:
        EnvConfig(**_require(path, manifest, "env", dict))
    except (TypeError, ParameterError) as error:
        raise ParameterError(str(path), f"its 'env' is not a valid environment configuration ({error})") from None
    status = _require(path, manifest, "status", str, optional=True)
    if status is not None and status not in STATUSES:
        raise ParameterError(str(path), f"its status {status!r} is none of {', '.join(STATUSES)}")
    progress = _require(path, manifest, "progress", dict, optional=True)
    if progress is not None:
        _require(path, progress, "timesteps", int)
    _require(path, manifest, "eval_history", list, optional=True)
    market = _require(path, manifest, "market", str, optional=True)
    if market is not None and market not in RETURN_MODELS:
        raise ParameterError(str(path), f"its market {market!r} is none of {', '.join(RETURN_MODELS)}")
    return manifest


def run_family(agent: str, algo: str, seed: int, root: Path = RUNS_ROOT) -> list[Path]:
    """The default run directories of a configuration: ``ROOT/AGENT-ALGO-seedS`` and its ``-k`` siblings."""
    name = f"{agent}-{algo}-seed{seed}"
    if not root.is_dir():
        return []
    return sorted(path for path in root.iterdir() if path.is_dir() and (
        path.name == name or (path.name.startswith(f"{name}-") and path.name[len(name) + 1:].isdigit())))


def run_status(run_dir: Path) -> str:
    """A run directory's status from its manifest; ``broken (why)`` when the manifest cannot be read."""
    if not (run_dir / MANIFEST).exists():
        return f"not a run (no {MANIFEST})"
    try:
        return read_manifest(run_dir).get("status", "unknown")
    except ParameterError as error:
        return f"broken ({error.rule})"


def unfinished_runs(agent: str, algo: str, seed: int, root: Path = RUNS_ROOT) -> list[Path]:
    """The family's runs that stopped before their budget (with a checkpoint), most recent manifest first."""
    runs = [run for run in run_family(agent, algo, seed, root)
            if run_status(run) in UNFINISHED and (run / CHECKPOINT_DIR).is_dir()]
    return sorted(runs, key=lambda run: (run / MANIFEST).stat().st_mtime, reverse=True)


def latest_unfinished_run(agent: str, algo: str, seed: int, root: Path = RUNS_ROOT) -> Path:
    """The run ``--resume`` without ``--out`` continues: the most recent unfinished one; an error if none."""
    runs = unfinished_runs(agent, algo, seed, root)
    if runs:
        return runs[0]
    family = run_family(agent, algo, seed, root)
    seen = "; ".join(f"{run} is {run_status(run)}" for run in family[:4]) or "none exists"
    raise ParameterError("resume", f"no unfinished run of {agent}/{algo} seed {seed} under {root}/ to resume "
                                   f"({seen}): name the run with --out RUN")


def first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` (itself included) that does not exist yet: what mkdir -p creates."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def check_run_path(path: Path) -> None:
    """A run directory must be a folder, or be creatable as one (no file in the way)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise ParameterError("out", f"{candidate} is a file, not a folder: choose another --out")
            return


def resume_command(run_dir: Path) -> str:
    """The command that resumes the run in ``run_dir``."""
    return f"mcsim train --out {shlex.quote(str(run_dir))} --resume"
