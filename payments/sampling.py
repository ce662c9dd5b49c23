"""The statistics of payment verification: how many lines to sample, and what a sample says.

Pure functions over numbers (no database): Cochran's sample size for a proportion with the finite
population correction, the Wilson score interval of a proportion, and the estimate of a population total
from a simple random sample (mean × N, with its normal interval and the finite population correction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist


def z_score(confidence_level: float | Decimal) -> float:
    """The two-sided normal quantile: 1.96 for 95 %, 2.576 for 99 %."""
    level = float(confidence_level)
    if not 0 < level < 1:
        raise ValueError("The confidence level lies strictly between 0 and 1.")
    return NormalDist().inv_cdf(1 - (1 - level) / 2)


def cochran_n0(*, z: float, margin_of_error: float, proportion: float = 0.5) -> float:
    """Cochran's n0 = z² p (1 − p) / e², before rounding and any population correction."""
    if not 0 < margin_of_error < 1:
        raise ValueError("The margin of error lies strictly between 0 and 1.")
    if not 0 < proportion < 1:
        raise ValueError("The expected proportion lies strictly between 0 and 1.")
    return z * z * proportion * (1 - proportion) / (margin_of_error * margin_of_error)


def sample_size(
    *,
    population: int,
    confidence_level: float | Decimal | None = None,
    margin_of_error: float | Decimal | None = None,
    proportion: float | Decimal = 0.5,
    finite_population_correction: bool = True,
    fixed_size: int | None = None,
    z: float | None = None,
) -> int:
    """Lines to sample out of `population`: a fixed number, or Cochran's n0 corrected for a finite
    population (n = n0 / (1 + (n0 − 1) / N)), rounded up; never more than the population."""
    if population <= 0:
        return 0
    if fixed_size is not None:
        return min(int(fixed_size), population)
    if margin_of_error is None or (confidence_level is None and z is None):
        raise ValueError("Give a fixed size, or a confidence level and a margin of error.")
    z = z if z is not None else z_score(confidence_level)  # type: ignore[arg-type]
    n0 = cochran_n0(z=z, margin_of_error=float(margin_of_error), proportion=float(proportion))
    n = n0 / (1 + (n0 - 1) / population) if finite_population_correction else n0
    # Rounding noise (384.00000000001) must not add a line.
    return min(math.ceil(round(n, 9)), population)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson_interval(successes: int, trials: int, *, z: float) -> Interval | None:
    """The Wilson score interval of a proportion; None without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return Interval(estimate=p, low=max(0.0, centre - half), high=min(1.0, centre + half))


def total_estimate(
    *, total: float, total_of_squares: float, n: int, population: int, z: float
) -> Interval | None:
    """The population total of a quantity from a simple random sample of n out of N (sum and sum of
    squares of the sampled values): N × mean, ± z × N × s / √n × √(1 − n/N)."""
    if n <= 0 or population <= 0:
        return None
    mean = total / n
    variance = (total_of_squares - n * mean * mean) / (n - 1) if n > 1 else 0.0
    variance = max(variance, 0.0)
    correction = max(0.0, 1 - n / population)
    half = z * population * math.sqrt(variance / n * correction)
    estimate = population * mean
    return Interval(estimate=estimate, low=max(0.0, estimate - half), high=estimate + half)
