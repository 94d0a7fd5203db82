"""The whole life through the product: train --horizon life, evaluate and predict on it, export, resume, bad options.

One tiny run (the smallest PPO budget, one rollout) serves every end-to-end test; evaluations use a
couple of households and a few paths, the optimum only where its shares are checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mcsim.cli.main import cli, main
from mcsim.core.errors import McsimError, ParameterError
from mcsim.env.environment import observation_space
from mcsim.env.household import pool_from_profiles
from mcsim.env.policies import BASELINES, Rollout
from mcsim.env.vec_env import NumbaVecEnv
from mcsim.env.withdrawal_policies import WithdrawalPolicy
from mcsim.plugins.agents import agent_backends, get_backend
from mcsim.plugins.baseline_agents import WITHDRAWAL_RULES, life_baselines, split_baseline_name
from mcsim.plugins.exporters import get_exporter
from mcsim.training.evaluation import retirement_spending, strategy_phases
from mcsim.training.trainer import TrainConfig, load_agent

pytest.importorskip("mcsim_sb3")

TINY = ["--profiles", "4", "--episodes", "3", "--network", "standard", "--envs", "8"]
PAIRS = len(BASELINES) * len(WITHDRAWAL_RULES)


@pytest.fixture(scope="module")
def life_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("life") / "run"
    result = CliRunner().invoke(cli, ["train", *TINY, "--horizon", "life", "--bequest-weight", "0.5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_a_life_run_records_its_horizon_and_reads_18_observations(life_run: Path) -> None:
    manifest = json.loads((life_run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    config, env = manifest["config"], manifest["env"]
    assert config["horizon"] == env["horizon"] == "life" and config["bequest_weight"] == env["bequest_weight"] == 0.5
    assert config["reward"] == env["reward"] == "crra"  # implied by the whole life
    # The budget counts the life's steps: 12 episodes of 40 to 80 yearly decisions.
    assert manifest["budget"]["timesteps"] > 12 * 40
    spec = json.loads((life_run / "model" / "agent.json").read_text())
    assert spec["observation_size"] == 18 == observation_space("life").shape[0]
    metrics = manifest["metrics"]
    assert set(metrics["baseline_returns"]) == set(life_baselines()) and len(metrics["baseline_returns"]) == PAIRS
    assert split_baseline_name(metrics["best_baseline"]) is not None
    assert all(entry["best_baseline"] == metrics["best_baseline"] for entry in manifest["eval_history"])
    agent, _ = load_agent(life_run)
    actions = agent.predict(np.zeros((3, 18), dtype=np.float32))
    assert actions.shape == (3, 2) and ((actions >= 0) & (actions <= 1)).all()


def test_resume_keeps_the_horizon_and_refuses_another(life_run: Path) -> None:
    resumed = TrainConfig.resumed(str(life_run), {"timesteps": 4096})
    assert (resumed.horizon, resumed.bequest_weight, resumed.reward) == ("life", 0.5, "crra")
    assert resumed.env_config().life
    with pytest.raises(ParameterError, match="trained with horizon life: it resumes with it"):
        TrainConfig.resumed(str(life_run), {"horizon": "retirement"})


def test_evaluate_reports_every_strategy_as_a_share_of_the_optimum(life_run: Path) -> None:
    result = CliRunner().invoke(cli, ["evaluate", str(life_run), "--profiles", "1", "--mc", "8", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["runs"][str(life_run)]
    assert report["horizon"] == "life" and report["reward"] == "crra"
    names = {"policy", "optimum", *life_baselines()}
    assert set(report["overall"]) == names == set(report["life"]) and len(report["withdrawal_baselines"]) == PAIRS
    assert set(report["best_saving_by_rule"]) == set(WITHDRAWAL_RULES)
    shares = report["share_of_optimum"]
    assert shares["optimum"]["median"] == pytest.approx(1.0) and set(shares) == names
    for name, life in report["life"].items():
        assert life["certainty_equivalent"] > 0 and life["share_of_optimum"] == shares[name]["median"]
        assert life["capital_at_retirement"] >= 0 and life["monthly_spending"] > 0
        assert report["overall"][name]["funded"] is None  # no funded probability over a life: not NaN, not a crash
    assert 0 < shares["policy"]["median"] <= 1.2 and len(shares["policy"]["by_household"]) == 1
    assert report["best_baseline"] in report["withdrawal_baselines"] and report["wins"]["households"] <= 1


def test_evaluate_and_predict_print_the_life_tables(life_run: Path) -> None:
    table = CliRunner().invoke(cli, ["evaluate", str(life_run), "--profiles", "1", "--mc", "4", "--no-optimum"])
    assert table.exit_code == 0, table.output
    text = " ".join(table.stdout.split())
    assert "over the whole life" in text and "CE / month" in text and "spending / month" in text
    assert "% of optimum" not in text and all(rule in text for rule in WITHDRAWAL_RULES)
    assert max(len(line.rstrip()) for line in table.stdout.splitlines()[:-1]) <= 100  # the summary line aside
    predicted = CliRunner().invoke(cli, ["predict", str(life_run), "--mc", "4", "--no-optimum"])
    assert predicted.exit_code == 0, predicted.output
    assert "Strategy by age over the whole life" in predicted.stdout and "retired" in predicted.stdout


def test_predict_covers_retirement_in_phases(life_run: Path) -> None:
    result = CliRunner().invoke(cli, ["predict", str(life_run), "mid_career_family", "--mc", "6", "--no-optimum",
                                      "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["horizon"] == "life" and data["profile"] == "mid_career_family"
    phases = data["phases"]
    working = [p for p in phases if not p["retired"]]
    retired = [p for p in phases if p["retired"]]
    assert working and retired and phases == working + retired
    assert working[-1]["to_age"] == retired[0]["from_age"] == 64  # the profile retires at 64
    assert all(b["from_age"] == a["to_age"] for a, b in zip(phases, phases[1:], strict=False))
    assert phases[0]["from_age"] == 42 and phases[-1]["to_age"] > 64
    assert all(p["monthly_spending"] > 0 and 0 <= p["equity_share"] <= 1 for p in phases)
    assert all(p["monthly_saving"] <= 0 for p in retired)  # minus the withdrawal
    assert {"monthly_consumption", "retired"} <= set(data["by_age"][0])
    assert set(data["evaluation"]["overall"]) == {"policy", *life_baselines()}


def test_export_onnx_of_a_life_actor_reads_18_inputs_at_parity(life_run: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("mcsim_onnx")
    if "export-onnx" not in cli.commands or cli.commands["export-onnx"].callback.__module__ == "mcsim.cli.main":
        pytest.skip("the onnx plugin is not loaded")
    result = CliRunner().invoke(cli, ["export-onnx", str(life_run)])
    assert result.exit_code == 0, result.output
    session = onnxruntime.InferenceSession(str(life_run / "policy.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[1:] == [18]
    observations = np.random.default_rng(3).uniform(-5, 5, (10_000, 18)).astype(np.float32)
    agent, _ = load_agent(life_run)
    assert np.abs(session.run(["action"], {"observation": observations})[0] - agent.predict(observations)).max() <= 1e-5
    runtime = get_exporter("onnx", "").runtime(life_run / "policy.onnx")  # what predict --runtime onnx acts with
    np.testing.assert_allclose(runtime.predict(observations[:5]), agent.predict(observations[:5]), atol=1e-5)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--horizon", "life", "--reward", "planner"], "horizon life needs reward crra"),
        (["--bequest-weight", "1"], "--bequest-weight: a bequest is valued with --horizon life only"),
        (["--horizon", "lifetime"], "'lifetime' is not one of 'retirement', 'life'"),
        (["--horizon", "life", "--bequest-weight", "-1"], "must be in [0, 1e+06]"),
    ],
)
def test_bad_life_options_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], fragment: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["train", *TINY, "--out", str(tmp_path / "bad"), *args])
    assert stop.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and fragment in lines[0], lines
    assert not (tmp_path / "bad").exists()


def test_evaluate_refuses_runs_of_two_horizons_in_one_line(life_run: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    other = tmp_path / "retirement"
    other.mkdir()
    manifest = json.loads((life_run / "manifest.json").read_text())
    manifest["env"].update(horizon="retirement", bequest_weight=0.0)
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", str(life_run), str(other), "--mc", "2"])
    assert stop.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "mix horizons" in lines[0] and "evaluate the runs of each horizon apart" in lines[0]


def test_predict_draws_the_strategy_of_a_life_run_to_the_horizon(life_run: Path, tmp_path: Path) -> None:
    chart = tmp_path / "chart.png"
    result = CliRunner().invoke(cli, ["predict", str(life_run), "--mc", "4", "--no-optimum", "--plot", str(chart)])
    assert result.exit_code == 0, result.output
    assert chart.stat().st_size > 10_000 and chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Strategy chart written to" in result.output


# --- the pieces, without training ---------------------------------------------------------------


def test_the_saving_backends_take_a_withdrawal_rule() -> None:
    env = NumbaVecEnv(2, "default", seed=0, reward="crra", horizon="life")
    agent = get_backend("glide-path").create(env, {"savings_rate": 0.2, "withdrawal": {"rule": "vpw",
                                                                                       "horizon_age": 95.0}})
    assert isinstance(agent.policy, WithdrawalPolicy) and agent.policy.rule == "vpw"
    assert agent.policy.saving.savings_rate == 0.2 and agent.policy.parameters == {"horizon_age": 95.0}
    assert isinstance(get_backend("own-plan").create(env, {"withdrawal": "merton"}).policy, WithdrawalPolicy)
    for bad in ("four_percent", {"rule": "vpw", "rate_pct": 4.0}, 4):
        with pytest.raises(McsimError) as error:
            get_backend("bisection").create(env, {"withdrawal": bad})
        assert "\n" not in str(error.value)
    assert not any("/" in name for name in agent_backends()), "the pairs are no backends of their own"


def test_phases_split_at_retirement_and_follow_spending_there() -> None:
    starts = np.arange(60.0, 70.0)
    retired = starts >= 64
    saving = np.where(retired, -1000.0, 500.0)
    spending = np.array([2000, 2000, 2000, 2000, 3000, 3000, 3000, 2500, 2500, 2500], dtype=float)
    phases = strategy_phases(starts, saving, np.full(10, 0.6), 12, 70.0, spending, retired)
    assert [(p.from_age, p.to_age, p.retired) for p in phases] == [(60, 64, False), (64, 67, True), (67, 70, True)]
    assert phases[1].monthly_spending == 3000 and phases[2].monthly_spending == 2500
    assert phases[1].monthly_saving == -1000


def test_retirement_spending_weights_the_retirement_steps_only() -> None:
    pool = pool_from_profiles(["default"])
    n_accum, n_decum = int(pool.n_accum[0]), int(pool.n_decum[0])
    working, retired = -(-n_accum // 12), -(-n_decum // 12)
    steps = working + retired
    consumption = np.full((2, steps + 2), np.nan)  # NaN past the end, as a roll-out records
    consumption[:, :working] = 99_999.0  # working steps do not count
    consumption[0, working:steps] = 1_500.0
    consumption[1, working:steps] = np.linspace(1_000.0, 2_000.0, retired)
    zeros = np.zeros(2)
    result = Rollout(np.zeros(2, dtype=np.int64), zeros, zeros, zeros * np.nan, zeros * np.nan, zeros,
                     consumption, consumption, consumption, consumption, consumption)
    spent = retirement_spending(result, pool, 12)
    months = np.minimum(12, n_decum - 12 * np.arange(retired))  # the last step may be shorter
    assert spent[0] == pytest.approx(1_500.0)
    assert spent[1] == pytest.approx(np.average(consumption[1, working:steps], weights=months))


def test_gompertz_training_households_and_their_held_out_ones() -> None:
    from mcsim.training.reports import held_out_pool
    from mcsim.training.trainer import training_pools

    config = TrainConfig(horizon="life", reward="crra", mortality="gompertz", profiles=6, eval_households=3)
    train, held = training_pools(config)
    assert (train.dispersion > 0).all() and (held.dispersion > 0).all()
    assert (train.survival[:, 0] < 1.0).all() and (train.survival[:, 0] > 0.99).all()
    assert (held_out_pool({"config": {"mortality": "gompertz"}}, 4, 0).dispersion > 0).all()
    assert (held_out_pool({"config": {}}, 4, 0).dispersion == 0).all()


@pytest.mark.parametrize(("settings", "field"), [
    ({"mortality": "gompertz"}, "mortality"),
    ({"mortality": "gompertz", "horizon": "life", "reward": "crra", "profile": "default"}, "mortality"),
    ({"mortality": "weibull", "horizon": "life", "reward": "crra"}, "mortality"),
])
def test_bad_training_mortality_is_one_line(settings: dict, field: str) -> None:
    with pytest.raises(ParameterError) as error:
        TrainConfig(**settings)
    assert error.value.name == field and "\n" not in str(error.value)
