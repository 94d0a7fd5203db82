"""Checks of API arguments at the edge: each failure is a ParameterError naming the argument."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import ParameterError


def number(name: str, value: Any, low: float, high: float, *, open_low: bool = False, open_high: bool = False) -> float:
    """``value`` as a float if it is a finite number within the bounds (open or closed), else an error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        raise ParameterError(name, f"must be a finite number (got {value!r})")
    below = value <= low if open_low else value < low
    above = value >= high if open_high else value > high
    if below or above:
        bounds = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        raise ParameterError(name, f"must be in {bounds} (got {value!r})")
    return float(value)


def integer(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int if it is an integer from ``low`` to ``high``, else an error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        shown = "2**64 - 1" if high == 2**64 - 1 else f"{high:,}"
        raise ParameterError(name, f"must be an integer from {low:,} to {shown} (got {value!r})")
    return int(value)
