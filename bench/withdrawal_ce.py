"""The classic certainty-equivalent comparison of withdrawal rules, against the optimum.

One retiree at 65 with a fixed 30-year horizon (to 95), CRRA gamma 3 and no time preference, iid
real returns (the risky asset 4% arithmetic mean and 14% volatility, lognormal; the safe asset 1%
without risk; no inflation, fees or tax), a pension of 1,000 euros a month as the floor that makes
the capital matter. Every rule spends in the whole-life environment (yearly decisions) on the same
paths; the rules other than ``merton`` hold a fixed equity share, each at its best on a grid of
0%, 10%, ..., 100% (so a rule is not penalized for a mix it does not choose); ``merton`` holds its
own; ``target`` spends the pension plus 4% of the starting capital a year. The optimum is the
dynamic-programming solution of the same problem (mcsim.optimum). Printed:
each rule's certainty-equivalent consumption (euros a month) and its share of the optimum's, at
200,000 and at 2,000,000 euros of starting capital.

Usage: ``python bench/withdrawal_ce.py [--paths 2000] [--seed 0]`` (about five minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcsim.core.profile import WITHDRAWAL_PARAMETERS, profile_from_dict  # noqa: E402
from mcsim.env.environment import EnvConfig  # noqa: E402
from mcsim.env.household import pool_from_profiles  # noqa: E402
from mcsim.env.policies import ConstantMix, rollout  # noqa: E402
from mcsim.env.withdrawal_policies import WithdrawalPolicy  # noqa: E402
from mcsim.optimum.policy import Optimum  # noqa: E402
from mcsim.optimum.solver import certainty_equivalent  # noqa: E402

CAPITALS = (200_000.0, 2_000_000.0)
SHARES = np.linspace(0.0, 1.0, 11)
CONFIG = {"horizon": "life", "reward": "crra", "gamma": 3.0, "discount": 1.0, "max_savings_rate": 1e-9}
"""The retiree saves nothing (its one month of 'work' before retirement is paid the pension)."""


def retiree(capital: float) -> dict:
    """The profile: 65, retires a month later (the environment starts before retirement), lives to 95."""
    return {
        "name": f"retiree-{capital:.0f}",
        "person": {"current_age": 65.0, "retirement_age": 65.0 + 1 / 12, "life_expectancy": 95.0 + 1 / 12},
        "income": {"monthly_net": 1000.0},
        "accounts": [{
            "name": "portfolio", "type": "cto", "balance": capital, "tax_on_gains_pct": 0.0,
            "allocation": {"equities": 0.5, "bonds": 0.5},
        }],
        "retirement": {"target_monthly_income": 1000.0 + 0.04 * capital / 12.0, "state_pension_monthly": 1000.0},
        "market": {
            "assets": [
                {"name": "equities", "expected_return_pct": 4.0, "volatility_pct": 14.0},
                {"name": "bonds", "expected_return_pct": 1.0, "volatility_pct": 0.0},
            ],
            "correlation": [[1.0, 0.0], [0.0, 1.0]],
            "inflation_mean_pct": 0.0,
            "inflation_volatility_pct": 0.0,
        },
    }


def rule_ce(pool, config: EnvConfig, rule: str, n_paths: int, seed: int) -> tuple[float, float]:
    """The rule's best certainty equivalent over the equity grid (merton: its own mix), and that share."""
    best = (-np.inf, np.nan)
    for share in SHARES if rule != "merton" else SHARES[:1]:
        policy = WithdrawalPolicy(ConstantMix(0.0, float(share)), rule)
        result = rollout(policy, pool, n_paths, seed, **CONFIG)
        ce = certainty_equivalent(pool, 0, config, float(result.returns.mean()))
        best = max(best, (ce, float(share) if rule != "merton" else np.nan))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = EnvConfig(**CONFIG)
    rules = list(WITHDRAWAL_PARAMETERS)
    table: dict[str, list[tuple[float, float, float]]] = {rule: [] for rule in rules}
    optimum_ce = []
    started = time.perf_counter()
    for capital in CAPITALS:
        pool = pool_from_profiles([profile_from_dict(retiree(capital))])
        optimum = rollout(Optimum(), pool, args.paths, args.seed, **CONFIG)
        best = certainty_equivalent(pool, 0, config, float(optimum.returns.mean()))
        optimum_ce.append(best)
        for rule in rules:
            ce, share = rule_ce(pool, config, rule, args.paths, args.seed)
            table[rule].append((ce, ce / best, share))
    print(f"certainty-equivalent consumption, euros a month ({args.paths:,} common paths, seed {args.seed}, "
          f"{time.perf_counter() - started:.0f} s)")
    header = "".join(f"  {f'{c / 1000:,.0f}k: CE':>10} {'of opt.':>8} {'equity':>7}" for c in CAPITALS)
    print(f"{'rule':<18}{header}")
    print(f"{'optimum':<18}" + "".join(f"  {ce:>10,.0f} {'100.0%':>8} {'':>7}" for ce in optimum_ce))
    for rule in rules:
        cells = "".join(
            f"  {ce:>10,.0f} {ratio:>8.1%} {'own' if np.isnan(share) else f'{share:.0%}':>7}"
            for ce, ratio, share in table[rule]
        )
        print(f"{rule:<18}{cells}")


if __name__ == "__main__":
    main()
