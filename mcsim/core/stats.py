"""Summary statistics of Monte Carlo outputs: distributions and a binomial confidence interval."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True)
class Summary:
    """Distribution of one quantity over paths."""

    mean: float
    std: float
    min: float
    p10: float
    p50: float
    p90: float
    max: float

    @property
    def median(self) -> float:
        """The 50th percentile."""
        return self.p50

    @classmethod
    def of(cls, values: np.ndarray) -> Summary:
        """Summary of a non-empty array of finite values."""
        p10, p50, p90 = np.percentile(values, [10, 50, 90])
        return cls(
            mean=float(np.mean(values)),
            std=float(np.std(values, ddof=1)) if values.size > 1 else 0.0,
            min=float(np.min(values)),
            p10=float(p10),
            p50=float(p50),
            p90=float(p90),
            max=float(np.max(values)),
        )

    def to_dict(self) -> dict[str, float]:
        """Plain dict, median included, for JSON."""
        return {**asdict(self), "median": self.p50}


@dataclass(frozen=True)
class Interval:
    """A proportion with its Wilson score interval."""

    estimate: float
    low: float
    high: float
    confidence: float

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return 0.5 * (self.high - self.low)

    def to_dict(self) -> dict[str, float]:
        """Plain dict for JSON."""
        return {**asdict(self), "half_width": self.half_width}


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a binomial proportion; it stays inside [0, 1] and is not empty at 0 or 1."""
    if trials <= 0:
        raise ValueError("trials must be positive")
    z = NormalDist().inv_cdf(0.5 + 0.5 * confidence)
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    spread = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(estimate=p, low=max(0.0, centre - spread), high=min(1.0, centre + spread), confidence=confidence)
