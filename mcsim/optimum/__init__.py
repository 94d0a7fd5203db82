"""The optimum: the environment's decision problem solved by dynamic programming, the yardstick of every strategy.

``kernels`` holds the jitted backward induction, ``solver`` the solve of one household (to
retirement or over the whole life, and the consumption stage), ``policy`` the optimum as a policy
acting in an env, ``report`` the whole-life optimum as ``mcsim optimum --horizon life`` prints it,
``merton`` the closed-form Merton problem the tests check the solver against.

Layering: imports the environment and the core.
"""

from .solver import OptimalPolicy, SolverGrid, median_path, solve_consumption, solve_household

__all__ = ["OptimalPolicy", "SolverGrid", "median_path", "solve_consumption", "solve_household"]
