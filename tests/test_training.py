"""The trainer, the sb3 plugin, safe loading, evaluate and predict, end to end at tiny budgets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mcsim.cli.main import cli, main
from mcsim.core.errors import ParameterError
from mcsim.training.trainer import TrainConfig, Trainer, load_agent

pytest.importorskip("mcsim_sb3")

TINY = ["--profiles", "4", "--episodes", "3", "--network", "standard", "--envs", "8"]


def train_cli(out: Path, *extra: str) -> dict:
    result = CliRunner().invoke(cli, ["train", *TINY, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text())


def weights_digest(run: Path) -> str:
    state = torch.load(run / "model" / "policy.pt", weights_only=True)
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].numpy().tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "tiny"
    train_cli(out)
    return out


@pytest.fixture(scope="module")
def other_seed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "seed1"
    train_cli(out, "--seed", "1")
    return out


def test_train_writes_a_complete_run_directory(tiny_run: Path) -> None:
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["config"]["agent"] == "sb3" and manifest["config"]["network"] == "standard"
    assert {"torch", "stable-baselines3", "numba", "mcsim"} <= set(manifest["versions"])
    assert manifest["seeds"] == {"train": 0, "eval": 1_000_003}
    assert manifest["budget"]["episodes"] == 12
    assert manifest["eval_history"], "at least the final evaluation"
    assert set(manifest["metrics"]["baseline_returns"]) == {"own-plan", "glide-path", "constant-mix", "bisection"}
    for part in ("model/policy.pt", "model/agent.json", "checkpoint/policy.pt", "checkpoint/optimizer.pt"):
        assert (tiny_run / part).is_file(), part
    assert list((tiny_run / "logs").rglob("events.out.tfevents.*")), "TensorBoard logs"
    assert not list(tiny_run.glob(".*")), "no temporary files left behind"


def test_trained_agent_loads_and_acts(tiny_run: Path) -> None:
    agent, manifest = load_agent(tiny_run)
    obs = np.random.default_rng(0).uniform(-1, 1, (5, 11)).astype(np.float32)
    actions = agent.predict(obs)
    assert actions.shape == (5, 2) and ((actions >= 0) & (actions <= 1)).all()
    np.testing.assert_array_equal(actions, agent.predict(obs))


def test_same_seed_gives_identical_weights(tmp_path: Path, tiny_run: Path, other_seed_run: Path) -> None:
    again = tmp_path / "again"
    train_cli(again)
    assert weights_digest(again) == weights_digest(tiny_run)
    assert weights_digest(other_seed_run) != weights_digest(tiny_run)


def test_loading_never_unpickles(tmp_path: Path, tiny_run: Path) -> None:
    """A malicious pickle planted as the weights fails to load, and its payload never runs."""
    import shutil

    run = tmp_path / "planted"
    shutil.copytree(tiny_run, run)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"weights": Payload()}, run / "model" / "policy.pt")
    with pytest.raises(ParameterError, match="not only weights: refused"):
        load_agent(run)
    assert not marker.exists()


def test_interrupt_keeps_a_whole_checkpoint_and_resume_finishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "interrupted"
    config = TrainConfig(profiles=4, episodes=6, timesteps=8192, network="standard", n_envs=8, out=str(out))

    def interrupt(self, learner, baselines):  # the first evaluation is where Ctrl-C lands
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "evaluate", interrupt)
    with pytest.raises(KeyboardInterrupt):
        Trainer(config).run()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert (out / "checkpoint" / "policy.pt").is_file() and not (out / "model").exists()
    done_before = manifest["progress"]["timesteps"]
    assert done_before > 0
    monkeypatch.undo()
    manifest = Trainer(TrainConfig(**{**config.__dict__, "resume": True})).run()
    assert manifest["status"] == "complete"
    assert manifest["progress"]["timesteps"] > done_before
    assert (out / "model" / "policy.pt").is_file()


def test_existing_run_needs_resume_or_another_out(tiny_run: Path) -> None:
    with pytest.raises(ParameterError) as error:
        Trainer(TrainConfig(out=str(tiny_run)))
    assert error.value.name == "out"
    with pytest.raises(ParameterError) as error:
        Trainer(TrainConfig(out=str(tiny_run.parent / "nothing"), resume=True))
    assert error.value.name == "resume"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--agent", "nope"], "unknown agent 'nope'"),
        (["--agent", "glide-path"], "rule-based"),
        (["--algo", "dqn"], "algo"),
        (["--network", "huge"], "network"),
        (["--device", "tpu"], "device"),
    ],
)
def test_bad_training_options_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], fragment: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["train", *TINY, "--out", str(tmp_path / "bad"), *args])
    assert stop.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and fragment in lines[0]
    assert not (tmp_path / "bad" / "manifest.json").exists()


@pytest.mark.parametrize("vec", ["dummy", "subproc"])
def test_other_vec_kinds_train(tmp_path: Path, vec: str) -> None:
    manifest = train_cli(tmp_path / vec, "--vec", vec, "--workers", "2", "--envs", "2", "--timesteps", "64")
    assert manifest["status"] == "complete" and manifest["progress"]["timesteps"] >= 64


def test_evaluate_compares_with_every_baseline(tiny_run: Path, other_seed_run: Path) -> None:
    runs = [str(tiny_run), str(other_seed_run)]
    result = CliRunner().invoke(cli, ["evaluate", *runs, "--profiles", "3", "--mc", "40", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    report = data["runs"][str(tiny_run)]
    assert set(report["overall"]) == {"policy", "own-plan", "glide-path", "constant-mix", "bisection", "optimum"}
    shares = report["share_of_optimum"]
    assert shares["optimum"]["median"] == pytest.approx(1.0)
    assert len(shares["bisection"]["by_household"]) == 3 and isinstance(shares["bisection"]["median"], float)
    for score in report["overall"].values():
        assert 0 <= score["funded"]["estimate"] <= 1
        assert score["objective_low"] <= score["objective"] <= score["objective_high"]
    assert len(report["by_household"]) == 3 and 0 <= report["wins"]["share"] <= 1
    aggregate = data["aggregate"]
    objectives = [data["runs"][run]["overall"]["policy"]["objective"] for run in runs]
    assert aggregate["runs"] == 2 and aggregate["objective"]["mean"] == pytest.approx(np.mean(objectives))
    # Two runs are too few for an interval: their values, and how many runs there are.
    assert aggregate["objective"]["values"] == pytest.approx(objectives) and "low" not in aggregate["objective"]
    assert aggregate["win_share"]["n_runs"] == 2 and len(aggregate["win_share"]["values"]) == 2
    skipped = CliRunner().invoke(cli, ["evaluate", str(tiny_run), "--profiles", "2", "--mc", "20", "--no-optimum", "--json"])
    assert skipped.exit_code == 0, skipped.output
    assert "optimum" not in json.loads(skipped.stdout)["runs"][str(tiny_run)]["overall"]


def test_predict_prints_phases_and_draws(tiny_run: Path, tmp_path: Path) -> None:
    chart = tmp_path / "strategy.png"
    args = ["predict", str(tiny_run), "mid_career_family", "--mc", "50", "--json", "--plot", str(chart)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    phases = data["phases"]
    assert phases[0]["from_age"] == 42 and phases[-1]["to_age"] == 64
    assert all(b["from_age"] == a["to_age"] for a, b in zip(phases, phases[1:], strict=False))
    assert len(data["by_age"]) == 22
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = CliRunner().invoke(cli, ["predict", str(tiny_run), "--mc", "30"])
    assert "Strategy by age" in table.output and "bisection" in table.output
    assert "% of optimum" in table.output and "optimum" in data["evaluation"]["overall"]


def test_predict_of_a_missing_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(tmp_path / "none")])
    assert stop.value.code == 2
    assert "not a run directory" in capsys.readouterr().err


def test_ppo_learns_the_merton_share() -> None:
    """On the Merton configuration PPO's equity share ends within 0.1 of (mu - r) / (gamma sigma^2)."""
    from mcsim_sb3.backend import Sb3Backend

    from mcsim.env.vec_env import NumbaVecEnv
    from mcsim.optimum.merton import MertonProblem

    problem = MertonProblem(years=5)
    env = NumbaVecEnv(64, problem.pool(), seed=0, **problem.env_config())
    learner = Sb3Backend().learner(env, {"network": "standard", "seed": 0, "learning_rate": 1e-4}, None)
    learner.learn(300_000, lambda steps, episodes, returns: True)
    share = float(learner.agent.predict(env.reset())[0, 1])
    assert abs(share - problem.optimal_share) < 0.1, (share, problem.optimal_share)


def test_default_run_directories_do_not_collide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = TrainConfig().run_dir
    assert first == Path("runs/sb3-ppo-seed0")
    (first).mkdir(parents=True)
    (first / "manifest.json").write_text("{}")
    assert TrainConfig().run_dir == Path("runs/sb3-ppo-seed0-2")
    with pytest.raises(ParameterError, match="no unfinished run"):
        TrainConfig(resume=True).run_dir  # noqa: B018 - the property raises


@pytest.mark.parametrize("algo", ["sac", "td3", "a2c"])
def test_other_algorithms_train_save_and_load(tmp_path: Path, algo: str) -> None:
    out = tmp_path / algo
    manifest = train_cli(out, "--algo", algo, "--timesteps", "1200", "--envs", "4")
    assert manifest["status"] == "complete" and manifest["config"]["algo"] == algo
    agent, _ = load_agent(out)
    actions = agent.predict(np.zeros((3, 11), dtype=np.float32))
    assert actions.shape == (3, 2) and ((actions >= 0) & (actions <= 1)).all()


def test_sac_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    """--resume takes the run's own options (SAC, 4 envs, standard); those given override (the budget)."""
    out = tmp_path / "sac"
    first = train_cli(out, "--algo", "sac", "--timesteps", "1100", "--envs", "4")
    result = CliRunner().invoke(cli, ["train", "--out", str(out), "--resume", "--timesteps", "1300"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["algo"] == "sac" and manifest["config"]["n_envs"] == 4
    assert manifest["config"]["timesteps"] == 1300
    assert manifest["progress"]["timesteps"] > first["progress"]["timesteps"] >= 1100


def test_torch_keeps_the_learners_thread_count_while_numba_steps_the_env() -> None:
    from mcsim_sb3.backend import Sb3Learner

    from mcsim.env import NumbaVecEnv
    from mcsim.env.household import sample_pool

    vec = NumbaVecEnv(8, sample_pool(5, seed=3), seed=2, threads=1)  # its steps switch Numba's thread count
    learner = Sb3Learner(vec, {"algo": "ppo", "network": "standard", "device": "cpu", "seed": 0, "torch_threads": 1}, None)
    seen: list[int] = []

    def on_progress(steps: int, episodes: int, returns: list[float]) -> bool:
        seen.append(torch.get_num_threads())
        return True

    learner.learn(learner.model.n_steps * vec.num_envs, on_progress)  # one rollout and its update
    assert seen and set(seen) == {1}


def test_a_loaded_policy_acts_on_its_own_torch_thread_count(tiny_run: Path) -> None:
    agent, _ = load_agent(tiny_run)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)  # what a Numba parallel launch leaves behind in the shared OpenMP runtime
    try:
        agent.predict(np.zeros((4, 11), dtype=np.float32))
        assert torch.get_num_threads() == agent.torch_threads == 1
    finally:
        torch.set_num_threads(previous)
