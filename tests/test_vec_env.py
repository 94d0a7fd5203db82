"""NumbaVecEnv: parity with RetirementEnv, and SB3's VecEnv contract."""

from __future__ import annotations

import numpy as np
import pytest

from mcsim.core.errors import ParameterError
from mcsim.env.environment import RetirementEnv
from mcsim.env.household import sample_pool
from mcsim.env.vec_env import NumbaVecEnv


@pytest.mark.parametrize(
    "config",
    [{}, {"step_months": 3, "reward": "crra"}, {"step_months": 1, "mc_paths": 7, "max_savings_rate": 0.3}],
)
def test_parity_with_single_envs_over_whole_episodes(config: dict) -> None:
    """Env b of NumbaVecEnv(seed=s) and RetirementEnv reset with seed s + b: same obs, rewards, ends, infos.

    Runs past each env's first episode, so auto-reset (vec) and reset() (single) must agree too.
    """
    pool = sample_pool(12, seed=21)
    n_envs, seed = 4, 100
    vec = NumbaVecEnv(n_envs, pool, seed=seed, **config)
    singles = [RetirementEnv(pool, **config) for _ in range(n_envs)]
    vec_obs = vec.reset()
    single_obs = np.stack([env.reset(seed=seed + b)[0] for b, env in enumerate(singles)])
    np.testing.assert_array_equal(vec_obs, single_obs)
    rng = np.random.default_rng(0)
    episodes_done = np.zeros(n_envs, dtype=int)
    steps = 0
    while episodes_done.min() < 2:
        actions = rng.uniform(-0.2, 1.2, (n_envs, 2)).astype(np.float32)
        vec_obs, vec_rewards, vec_dones, vec_infos = vec.step(actions)
        for b, env in enumerate(singles):
            obs, reward, done, _, info = env.step(actions[b])
            assert vec_dones[b] == done
            assert vec_rewards[b] == np.float32(reward)
            for key, value in info.items():
                assert vec_infos[b][key] == value, key
            if done:
                np.testing.assert_array_equal(vec_infos[b]["terminal_observation"], obs)
                obs, _ = env.reset()
                episodes_done[b] += 1
            np.testing.assert_array_equal(vec_obs[b], obs)
        steps += 1
    assert steps > 20


def test_sb3_recognizes_it_and_wrappers_work() -> None:
    from stable_baselines3.common.vec_env import VecEnv, VecMonitor, VecNormalize

    vec = NumbaVecEnv(8, sample_pool(20, seed=2), seed=1)
    assert isinstance(vec, VecEnv)
    monitored = VecNormalize(VecMonitor(vec), norm_obs=True, norm_reward=True)
    obs = monitored.reset()
    assert obs.shape == (8, 11)
    totals = np.zeros(8)
    finished = []
    for _ in range(120):
        obs, rewards, dones, infos = monitored.step(np.full((8, 2), 0.5, dtype=np.float32))
        totals += monitored.get_original_reward()
        for b in np.flatnonzero(dones):
            finished.append((infos[b]["episode"]["r"], totals[b]))
            totals[b] = 0.0
            assert "terminal_observation" in infos[b]
    assert finished, "some episodes must end in 120 yearly steps"
    for monitor_return, own_return in finished:
        assert monitor_return == pytest.approx(own_return, rel=1e-5, abs=1e-5)
    assert np.isfinite(obs).all()


def test_ppo_learns_a_few_steps_on_it() -> None:
    from stable_baselines3 import PPO

    vec = NumbaVecEnv(8, sample_pool(5, seed=3), seed=2)
    model = PPO("MlpPolicy", vec, n_steps=16, batch_size=64, n_epochs=1, device="cpu", seed=0)
    model.learn(total_timesteps=256)
    actions, _ = model.predict(vec.reset(), deterministic=True)
    assert actions.shape == (8, 2)


def test_seed_and_options_apply_at_next_reset() -> None:
    pool = sample_pool(10, seed=5)
    a = NumbaVecEnv(3, pool, seed=7)
    b = NumbaVecEnv(3, pool, seed=99)
    b.seed(7)
    np.testing.assert_array_equal(a.reset(), b.reset())
    b.set_options({"household": 4})
    b.reset()
    assert (b.households == 4).all()
    b.set_options([{"household": 1}, {}, {"household": 9}])
    b.reset()
    assert b.households[0] == 1 and b.households[2] == 9
    assert b.reset_infos[0] == {"household": 1}


def test_api_helpers() -> None:
    vec = NumbaVecEnv(4, seed=0)
    assert vec.get_attr("render_mode") == [None] * 4
    assert vec.get_attr("num_envs", indices=[1, 2]) == [4, 4]
    assert vec.env_is_wrapped(object) == [False] * 4
    assert vec.has_attr("pool") and not vec.has_attr("nothing")
    assert vec.unwrapped is vec
    with pytest.raises(ValueError, match="shape"):
        vec.step_async(np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match="step_async"):
        vec.step_wait()
    with pytest.raises(ParameterError) as error:
        NumbaVecEnv(0)
    assert error.value.name == "num_envs"
