"""The mlx backend through mcsim's own registry and CLI: train, save, load, resume, evaluate, predict, refusals."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

mx = pytest.importorskip("mlx.core")

from mcsim_mlx.backend import MlxBackend, read_arrays  # noqa: E402
from mcsim_mlx.ppo import PPOConfig, advantages  # noqa: E402

from mcsim.cli.main import cli, main  # noqa: E402
from mcsim.core.errors import ParameterError  # noqa: E402
from mcsim.plugins.agents import get_backend  # noqa: E402
from mcsim.training.trainer import TrainConfig, Trainer, load_agent  # noqa: E402

TINY = ["--agent", "mlx", "--profiles", "4", "--episodes", "3", "--network", "standard", "--envs", "8"]


def weights_digest(run: Path, part: str = "model") -> str:
    arrays = read_arrays(run / part / "policy.safetensors")
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.array(arrays[name]).tobytes())
    return digest.hexdigest()


def test_the_plugin_registers_through_its_entry_point() -> None:
    backend = get_backend("mlx")
    assert isinstance(backend, MlxBackend) and backend.trainable and backend.kind == "learns"
    assert backend.algorithms == ("ppo",) and "gpu" in backend.devices
    rows = json.loads(CliRunner().invoke(cli, ["agents", "--json"]).output)
    row = next(r for r in rows if r["name"] == "mlx")
    assert row["networks"] == ["standard", "solid", "robust", "enterprise"]


def test_the_presets_are_the_sb3_backends() -> None:
    sb3 = pytest.importorskip("mcsim_sb3.backend")
    from mcsim_mlx.policy import NETWORKS

    assert NETWORKS == sb3.NETWORKS


def test_train_writes_a_complete_run_directory(tiny: tuple[Path, str]) -> None:
    run, output = tiny
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["config"]["agent"] == "mlx"
    assert {"mlx", "mcsim-mlx", "mcsim", "numba"} <= set(manifest["versions"])
    assert manifest["budget"]["episodes"] == 12 and manifest["progress"]["timesteps"] >= 2048
    assert manifest["eval_history"] and manifest["metrics"]["best_baseline"]
    for part in ("model/policy.safetensors", "model/agent.json", "checkpoint/policy.safetensors",
                 "checkpoint/optimizer.safetensors", "logs/mlx/progress.jsonl"):
        assert (run / part).is_file(), part
    assert not list(run.glob(".*")), "no temporary files left behind"
    spec = json.loads((run / "model" / "agent.json").read_text())
    assert spec["backend"] == "mlx" and spec["layers"] == [128, 64, 32] and spec["observation_size"] == 11
    row = json.loads((run / "logs" / "mlx" / "progress.jsonl").read_text().splitlines()[0])
    assert {"loss", "approx_kl", "clip_fraction", "learning_rate", "std"} <= set(row)
    assert "MLX" in output and "torch threads" not in output, "the banner names MLX's device, not torch's threads"


def test_the_agent_loads_and_acts_as_its_weights_say(tiny: tuple[Path, str]) -> None:
    agent, _ = load_agent(tiny[0])
    obs = np.random.default_rng(0).uniform(-5, 5, (500, 11)).astype(np.float32)
    actions = agent.predict(obs)
    assert actions.shape == (500, 2) and actions.dtype == np.float32
    assert ((actions >= 0) & (actions <= 1)).all()
    np.testing.assert_array_equal(actions, agent.predict(obs))
    assert np.abs(actions - agent.mlp_actor().forward(obs)).max() <= 1e-6
    stochastic = agent.predict(obs, deterministic=False)
    assert ((stochastic >= 0) & (stochastic <= 1)).all() and not np.array_equal(stochastic, actions)


def test_same_seed_gives_identical_weights(tmp_path: Path, tiny: tuple[Path, str], train_mlx) -> None:
    train_mlx(tmp_path / "again")
    train_mlx(tmp_path / "seed1", "--seed", "1")
    assert weights_digest(tmp_path / "again") == weights_digest(tiny[0])
    assert weights_digest(tmp_path / "seed1") != weights_digest(tiny[0])


def test_loading_never_unpickles(tmp_path: Path, tiny: tuple[Path, str]) -> None:
    """A malicious pickle planted as the weights is refused as not safetensors, and its payload never runs."""
    import pickle

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    for name, content in (("pickle", pickle.dumps({"weights": Payload()})), ("truncated", None)):
        run = shutil.copytree(tiny[0], tmp_path / name)
        path = run / "model" / "policy.safetensors"
        path.write_bytes(content if content is not None else path.read_bytes()[:100])
        with pytest.raises(ParameterError, match="not a safetensors file") as error:
            load_agent(run)
        assert error.value.name == str(path)
    assert not marker.exists()


def test_a_weights_file_of_another_network_is_one_line(tmp_path: Path, tiny: tuple[Path, str]) -> None:
    run = shutil.copytree(tiny[0], tmp_path / "other")
    spec_path = run / "model" / "agent.json"
    spec_path.write_text(json.dumps({**json.loads(spec_path.read_text()), "network": "solid"}))
    with pytest.raises(ParameterError, match="does not fit this network|is float32"):
        load_agent(run)


def test_interrupt_keeps_a_whole_checkpoint_and_resume_restores_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "interrupted"
    config = TrainConfig(agent="mlx", profiles=4, episodes=50, timesteps=6144, network="standard", n_envs=8,
                         out=str(out), evaluations=3)

    def interrupt(self, learner, baselines):  # the first evaluation is where Ctrl-C lands
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "evaluate", interrupt)
    with pytest.raises(KeyboardInterrupt):
        Trainer(config).run()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and not (out / "model").exists()
    done_before = manifest["progress"]["timesteps"]
    assert done_before == 2048
    monkeypatch.undo()

    trainer = Trainer(TrainConfig(**{**config.__dict__, "resume": True}))
    vec, learner = trainer.start()
    saved = read_arrays(out / "checkpoint" / "optimizer.safetensors")
    assert learner.timesteps == done_before
    assert np.array_equal(np.array(learner.ppo.key), np.array(saved["rng_key"]))
    assert int(np.array(learner.ppo.optimizer.state["step"])) == int(np.array(saved["adam.step"])) == 40
    weights = read_arrays(out / "checkpoint" / "policy.safetensors")
    assert np.array_equal(np.array(learner.ppo.model.action_net.weight), np.array(weights["action_net.weight"]))
    vec.close()
    manifest = Trainer(TrainConfig(**{**config.__dict__, "resume": True})).run()
    assert manifest["status"] == "complete" and manifest["progress"]["timesteps"] == 6144
    assert (out / "model" / "policy.safetensors").is_file()


def test_a_resume_with_a_broken_optimizer_file_is_one_line(tmp_path: Path, tiny: tuple[Path, str],
                                                           capsys: pytest.CaptureFixture) -> None:
    run = shutil.copytree(tiny[0], tmp_path / "broken")
    (run / "checkpoint" / "optimizer.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(SystemExit) as stop:
        main(["train", "--out", str(run), "--resume", "--timesteps", "5000"])
    assert stop.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "optimizer.safetensors" in lines[0], lines


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        # sb3's choices pass the CLI (sb3 installed) and the backend refuses them; else the CLI does.
        (["--algo", "sac"], ("algo: agent 'mlx' offers ppo (got 'sac')", "'sac' is not one of 'ppo'")),
        (["--device", "mps"], ("device: agent 'mlx' offers auto, cpu, gpu (got 'mps')", "'mps' is not one of")),
        (["--network", "huge"], ("'huge' is not one of",)),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str],
                                             fragment: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["train", *TINY, "--out", str(tmp_path / "bad"), *args])
    assert stop.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and any(f in lines[0] for f in fragment), lines
    assert not (tmp_path / "bad").exists()


@pytest.mark.skipif(sys.platform == "darwin", reason="Apple silicon has MLX's GPU")
def test_a_missing_gpu_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if mx.is_available(mx.gpu):
        pytest.skip("this machine has an MLX GPU")
    with pytest.raises(SystemExit) as stop:
        main(["train", *TINY, "--out", str(tmp_path / "gpu"), "--device", "gpu"])
    assert stop.value.code == 2
    assert "device: MLX has no gpu here (available: cpu)" in capsys.readouterr().err
    assert not (tmp_path / "gpu").exists()


def test_bad_hyperparameters_are_parameter_errors() -> None:
    for settings, name in (({"clip_range": 0}, "clip_range"), ({"gae_lambda": 1.5}, "gae_lambda"),
                           ({"lr_schedule": "cosine"}, "lr_schedule"), ({"n_epochs": 0}, "n_epochs")):
        with pytest.raises(ParameterError) as error:
            PPOConfig.from_settings(settings)
        assert error.value.name == name


def test_evaluate_and_predict_work_on_an_mlx_run(tiny: tuple[Path, str], tmp_path: Path) -> None:
    run = str(tiny[0])
    result = CliRunner().invoke(cli, ["evaluate", run, "--profiles", "2", "--mc", "40", "--no-optimum", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "policy" in json.dumps(data)
    chart = tmp_path / "strategy.png"
    result = CliRunner().invoke(cli, ["predict", run, "mid_career_family", "--mc", "30", "--no-optimum",
                                      "--plot", str(chart)])
    assert result.exit_code == 0, result.output
    assert "Strategy by age" in result.output and chart.stat().st_size > 0


def test_gae_matches_a_hand_computation() -> None:
    rewards = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]], dtype=np.float32)
    values = np.array([[0.5, 1.0], [0.2, 0.4], [0.1, 0.3]], dtype=np.float32)
    dones = np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float32)
    last = np.array([0.7, 0.9], dtype=np.float32)
    gamma, lam = 0.9, 0.8
    advantage, returns = advantages(rewards, values, dones, last, gamma, lam)
    expected = np.zeros((3, 2))
    for b in range(2):
        running = 0.0
        for t in (2, 1, 0):
            following = last[b] if t == 2 else values[t + 1, b]
            delta = rewards[t, b] + gamma * following * (1 - dones[t, b]) - values[t, b]
            running = delta + gamma * lam * (1 - dones[t, b]) * running
            expected[t, b] = running
    np.testing.assert_allclose(advantage, expected, rtol=1e-6)
    np.testing.assert_allclose(returns, expected + values, rtol=1e-6)


def test_params_reach_ppo_and_a_bad_one_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, train_mlx) -> None:
    backend = get_backend("mlx")
    assert {"learning_rate", "lr_schedule", "n_epochs", "clip_range"} <= {h.name for h in backend.hyperparameters}
    train_mlx(tmp_path / "params", "--param", "n_epochs=2", "--param", "lr_schedule=constant",
              "--param", "learning_rate=1e-4")
    ppo = json.loads((tmp_path / "params" / "model" / "agent.json").read_text())["ppo"]
    assert (ppo["n_epochs"], ppo["lr_schedule"], ppo["learning_rate"]) == (2, "constant", 1e-4)
    with pytest.raises(SystemExit) as stop:
        main(["train", *TINY, "--out", str(tmp_path / "bad"), "--param", "clip_range=2"])
    assert stop.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "clip_range" in lines[0], lines
    assert not (tmp_path / "bad").exists()
