"""PPO on MLX learns: the Merton share, and the quality bar of 20 held-out households (the sb3 backend's).

Both train for minutes on 2 cores (MLX's Linux CPU build multiplies matrices with the reference
BLAS, a quarter of torch's speed here: README, "mlx backend"), hence ``slow``; CI runs them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("mlx.core")

from mcsim.cli.main import cli  # noqa: E402


@pytest.mark.slow
def test_ppo_learns_the_merton_share() -> None:
    """On the Merton configuration PPO's equity share ends within 0.1 of (mu - r) / (gamma sigma^2).

    The sb3 test's problem (5 years, 64 envs, the standard network), at MLX's default learning rate
    (3e-4, annealed linearly to 0) over 200,000 steps instead of sb3's 300,000 at a constant 1e-4.
    """
    from mcsim_mlx.backend import MlxBackend

    from mcsim.env.vec_env import NumbaVecEnv
    from mcsim.optimum.merton import MertonProblem

    problem = MertonProblem(years=5)
    env = NumbaVecEnv(64, problem.pool(), seed=0, **problem.env_config())
    learner = MlxBackend().learner(env, {"network": "standard", "seed": 0}, None)
    learner.learn(200_000, lambda steps, episodes, returns: True)
    probe = NumbaVecEnv(64, problem.pool(), seed=1, **problem.env_config())
    share = float(learner.agent.predict(probe.reset())[0, 1])
    assert abs(share - problem.optimal_share) < 0.1, (share, problem.optimal_share)


@pytest.mark.slow
def test_beats_the_best_baseline_on_70_percent_of_20_held_out_households(tmp_path: Path) -> None:
    """The sb3 bar (README: 14 of 20 at the default budget), at the smallest budget measured to clear it here.

    The default budget (500 households x 100 episodes, solid network) takes about half an hour with
    MLX on this CPU; 500 x 20 episodes with the standard network (233,440 steps) takes 2.5 minutes
    and beats the best baseline on 15 of 20 households (500 x 15: 13 of 20; 500 x 10: 12 of 20).
    """
    run = tmp_path / "bar"
    result = CliRunner().invoke(cli, ["train", "--agent", "mlx", "--network", "standard", "--profiles", "500",
                                      "--episodes", "20", "--out", str(run)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["evaluate", str(run), "--profiles", "20", "--mc", "1000", "--no-optimum", "--json"])
    assert result.exit_code == 0, result.output
    wins = json.loads(result.stdout)["runs"][str(run)]["wins"]
    assert wins["share"] >= 0.7, wins
