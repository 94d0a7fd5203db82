"""The ray executor: batch strategies and evaluations on a local cluster, the same numbers as in one process."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mcsim.cli.main import cli, main
from mcsim.training.batch import predict_batch
from mcsim.training.batch_io import read_output

pytest.importorskip("ray")
pytest.importorskip("mcsim_sb3")


def write_households(path: Path, n: int) -> Path:
    rng = np.random.default_rng(1)
    columns = ["id", "current_age", "retirement_age", "life_expectancy", "monthly_income", "capital", "equity_share",
               "target_monthly_income", "state_pension_monthly"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(n):
            age = 55.0 if i % 500 == 7 else float(np.round(rng.uniform(25, 60), 1))
            writer.writerow([f"h{i}", age if i != 11 else 70, 64, 90, round(rng.uniform(1500, 6000)),
                             round(rng.uniform(0, 300_000)), round(rng.uniform(0, 1), 2), 2500, 1200])
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "tiny"
    result = CliRunner().invoke(cli, ["train", "--profiles", "4", "--episodes", "2", "--network", "standard",
                                      "--envs", "8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_batch_on_ray_equals_one_process(ray_cluster: object, ray_plugin: None, run: Path, tmp_path: Path) -> None:
    source = write_households(tmp_path / "h.csv", 2_000)
    local = predict_batch(run, source, tmp_path / "local.parquet", n_paths=2, seed=3, block=400)
    remote = predict_batch(run, source, tmp_path / "ray.parquet", n_paths=2, seed=3, block=400, executor="ray")
    assert (local.rows, local.errors) == (remote.rows, remote.errors) == (2_000, 1)
    assert remote.executor == "ray" and local.executor == "local"
    assert read_output(tmp_path / "ray.parquet") == read_output(tmp_path / "local.parquet")


def test_cli_ray_and_a_bad_address(ray_cluster: object, ray_plugin: None, run: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture) -> None:
    source = write_households(tmp_path / "h.csv", 50)
    result = CliRunner().invoke(cli, ["predict", str(run), "--batch", str(source), "--out", str(tmp_path / "o.jsonl"),
                                      "--ray", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["executor"] == "ray" and summary["rows"] == 50 and summary["errors"] == 1
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(run), "--batch", str(source), "--out", str(tmp_path / "o.csv"), "--address", "x:1"])
    assert stop.value.code == 2 and "give --ray too" in capsys.readouterr().err


def test_evaluate_on_ray_equals_one_process(ray_cluster: object, ray_plugin: None, run: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import mcsim.training.evaluation_blocks as blocks

    monkeypatch.setattr(blocks, "MAX_BLOCK_EPISODES", 8)  # 2 households of 4 paths a block
    args = ["evaluate", str(run), "--profiles", "6", "--mc", "4", "--no-optimum", "--json"]
    one = CliRunner().invoke(cli, args)
    spread = CliRunner().invoke(cli, [*args, "--ray"])
    assert one.exit_code == 0 and spread.exit_code == 0, spread.output
    assert json.loads(spread.stdout) == json.loads(one.stdout)


def test_an_address_without_a_cluster_is_one_line_at_once() -> None:
    from mcsim_ray.cluster import reachable

    from mcsim.core.errors import ParameterError

    with pytest.raises(ParameterError, match="no Ray cluster answers at 127.0.0.1:1"):
        reachable("127.0.0.1:1", timeout=2.0)
    with pytest.raises(ParameterError, match="write host:port or ray://host:port"):
        reachable("nonsense")
