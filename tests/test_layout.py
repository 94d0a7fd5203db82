"""The package layout: compatibility paths re-export what moved, and the layering contracts hold."""

import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym

ROOT = Path(__file__).resolve().parents[1]


def test_compatibility_paths_are_the_moved_objects():
    import mcsim.agents
    import mcsim.hookspecs
    import mcsim.vec_env
    from mcsim.env import NumbaVecEnv, RetirementEnv
    from mcsim.env.environment import RetirementEnv as EnvClass
    from mcsim.plugins import agents, hookspecs
    from mcsim.plugins.manager import pm

    assert mcsim.vec_env.NumbaVecEnv is NumbaVecEnv
    assert RetirementEnv is EnvClass
    assert mcsim.agents.AgentBackend is agents.AgentBackend and mcsim.agents.Agent is agents.Agent
    assert mcsim.hookspecs.hookimpl is hookspecs.hookimpl is mcsim.hookimpl
    assert {"register_agents", "register_commands", "register_exporters"} <= set(dir(pm.hook))


def test_registered_env_id_still_resolves():
    env = gym.make("mcsim/Retirement-v0")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (11,)
    env.close()


def test_layering_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a test dependency: pip install -e '.[test]'"
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
