"""Built-in plugin: the optimum (dynamic programming, :mod:`mcsim.optimum`) as the agent ``dp``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.errors import ParameterError
from ..env.vec_env import NumbaVecEnv
from ..optimum.policy import Optimum
from ..optimum.solver import SolverGrid
from .agents import Agent, AgentBackend
from .baseline_agents import PolicyAgent
from .hookspecs import hookimpl


class OptimumBackend(AgentBackend):
    """Makes the ``dp`` agent; its configuration may set the solver's grid sizes (:class:`SolverGrid` fields)."""

    name = "dp"
    description = "the optimum by dynamic programming, solved per household (the yardstick of % of optimum)"

    @property
    def kind(self) -> str:
        """``"optimum"``: what the other strategies are measured against, neither learned nor a rule."""
        return "optimum"

    def create(self, env: NumbaVecEnv, config: dict[str, Any]) -> Agent:
        """The optimum as an agent acting in ``env``."""
        try:
            solver = SolverGrid(**config)
        except TypeError as error:
            known = ", ".join(SolverGrid.__dataclass_fields__)
            raise ParameterError("dp", f"unknown solver setting ({error}); known: {known}") from None
        return PolicyAgent(Optimum(solver), env)


@hookimpl
def register_agents(register: Callable[[AgentBackend], None]) -> None:
    """Register the optimum."""
    register(OptimumBackend())
