"""Training and evaluation on history (#13): --market, stratified cohorts, the robustness table, no optimum there."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mcsim.cli.main import cli, main
from mcsim.core.errors import ParameterError
from mcsim.core.history import monthly_rows, shipped
from mcsim.env.household import sample_pool
from mcsim.env.policies import ConstantMix, rollout, stratified_options
from mcsim.env.vec_env import NumbaVecEnv
from mcsim.training.reports import OPTIMUM_ON_HISTORY, held_out_pool, trained_market
from mcsim.training.trainer import TrainConfig

pytest.importorskip("mcsim_sb3")

TINY = ["--profiles", "4", "--episodes", "3", "--network", "standard", "--envs", "8"]
MARKETS = ["lognormal", "bootstrap", "historical"]


def train_cli(out: Path, *extra: str) -> str:
    result = CliRunner().invoke(cli, ["train", *TINY, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny lognormal run and a tiny bootstrap run, and the banner of the bootstrap one."""
    root = tmp_path_factory.mktemp("history-runs")
    train_cli(root / "lognormal")
    banner = train_cli(root / "bootstrap", "--market", "bootstrap")
    (root / "banner.txt").write_text(banner)
    return {"lognormal": root / "lognormal", "bootstrap": root / "bootstrap", "banner": root / "banner.txt"}


def test_train_records_its_market(runs: dict[str, Path]) -> None:
    manifest = json.loads((runs["bootstrap"] / "manifest.json").read_text())
    assert manifest["market"] == "bootstrap" and manifest["config"]["market"] == "bootstrap"
    assert "block bootstrap of shiller_monthly" in runs["banner"].read_text()
    plain = json.loads((runs["lognormal"] / "manifest.json").read_text())
    assert plain["market"] == "lognormal" and plain["config"]["market"] is None
    assert trained_market({"config": {}}) == "lognormal"  # a manifest written before markets were recorded


def test_held_out_households_are_the_same_on_every_market() -> None:
    pools = [held_out_pool({"config": {}}, 3, 0, market) for market in MARKETS]
    for pool in pools[1:]:
        np.testing.assert_array_equal(pool.start_age, pools[0].start_age)
        np.testing.assert_array_equal(pool.income, pools[0].income)
    assert [pool.model for pool in pools] == [0, 4, 3]


def test_evaluate_on_three_markets_prints_the_robustness_table(
    runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(runs["lognormal"].parent)  # short run names: the table's labels stay on one line
    args = ["evaluate", "lognormal", "bootstrap", "--profiles", "2", "--mc", "8"]
    result = CliRunner().invoke(cli, [*args, "--market", ",".join(MARKETS)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Robustness" in out and all(f"on {market}" in out for market in MARKETS)
    assert "trained on lognormal" in out and "trained on bootstrap" in out and "best baseline" in out
    assert out.count(OPTIMUM_ON_HISTORY) == 1
    data = json.loads(CliRunner().invoke(cli, [*args, "--market", "historical,lognormal", "--json"]).stdout)
    table = data["robustness"]
    assert table["markets"] == ["historical", "lognormal"]
    assert [row["trained_on"] for row in table["rows"] if row["kind"] == "run"] == ["lognormal", "bootstrap"]
    assert {row["name"] for row in table["rows"]} >= {"bisection", "own-plan", "best baseline"}
    for row in table["rows"]:
        assert set(row["cells"]) == {"historical", "lognormal"}
        for cell in row["cells"].values():
            assert (cell["win_share"] is None) == (row["kind"] != "run")
    assert "optimum" not in data["markets"]["historical"]["runs"]["bootstrap"]["overall"]
    assert "optimum" in data["markets"]["lognormal"]["runs"]["bootstrap"]["overall"]
    assert data["optimum"] == OPTIMUM_ON_HISTORY


def test_historical_cohorts_are_replayed_stratified() -> None:
    pool = sample_pool(3, seed=0, market="historical")
    env = NumbaVecEnv(2, pool, seed=0)
    env.set_options([{"household": 0, "cohort": 0.0}, {"household": 0, "cohort": 0.99}])
    env.reset()
    first, last = env._state.cursor.copy()
    gross, inflation = monthly_rows(shipped("shiller_monthly"), ["equities", "bonds"])
    cohorts = inflation.size - int(pool.n_accum[0] + pool.n_decum[0]) + 1  # complete ones, one a month
    assert (first, last) == (0, int(0.99 * cohorts))
    env.step_arrays(np.full((2, 2), 0.5, dtype=np.float32))
    for b, start in enumerate((first, last)):
        np.testing.assert_allclose(env._state.real_gross[b, :12], gross[start:start + 12])
        np.testing.assert_allclose(env._state.inflation[b, :12], inflation[start:start + 12])
    positions = [option["cohort"] for option in stratified_options(6, 3)]
    assert positions == [0.25, 0.25, 0.25, 0.75, 0.75, 0.75]
    # Stratified cohorts are not drawn: another seed replays the same histories.
    policy = ConstantMix()
    one, other = (rollout(policy, pool, 6, seed, stratified=True, mc_paths=1).returns for seed in (0, 99))
    np.testing.assert_array_equal(one, other)
    boot = sample_pool(3, seed=0, market="bootstrap")  # the bootstrap stays path-seeded: common random numbers
    np.testing.assert_array_equal(rollout(policy, boot, 6, 5, stratified=True, mc_paths=1).returns,
                                  rollout(policy, boot, 6, 5, mc_paths=1).returns)


@pytest.mark.parametrize(
    ("command", "fragment"),
    [(["train", *TINY, "--market", "nope"], "--market"), (["evaluate", "RUN", "--market", "lognormal,nope"], "--market")],
)
def test_an_unknown_market_is_one_line_and_exit_2(
    runs: dict[str, Path], capsys: pytest.CaptureFixture, command: list[str], fragment: str
) -> None:
    command = [str(runs["lognormal"]) if part == "RUN" else part for part in command]
    with pytest.raises(SystemExit) as stop:
        main(command)
    assert stop.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and fragment in lines[0] and "nope" in lines[0]
    with pytest.raises(ParameterError) as error:
        TrainConfig(market="nope")
    assert error.value.name == "market"


def test_predict_on_a_historical_profile_skips_the_optimum_and_says_so(tmp_path: Path) -> None:
    profile = tmp_path / "history.toml"
    text = CliRunner().invoke(cli, ["profile", "show", "default"]).stdout
    profile.write_text(text.replace('return_model = "lognormal"', 'return_model = "historical"'), encoding="utf-8")
    run = tmp_path / "run"
    train_args = ["train", "--profiles", "4", "--episodes", "3", "--envs", "2", "--network", "standard", "-o", str(run)]
    assert CliRunner().invoke(cli, train_args).exit_code == 0
    result = CliRunner().invoke(cli, ["predict", str(run), str(profile), "--mc", "8"])
    assert result.exit_code == 0, result.output
    assert OPTIMUM_ON_HISTORY in result.stdout
    data = json.loads(CliRunner().invoke(cli, ["predict", str(run), str(profile), "--mc", "8", "--json"]).stdout)
    assert data["optimum"] == OPTIMUM_ON_HISTORY and "optimum" not in data["evaluation"]["overall"]
