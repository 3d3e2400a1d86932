"""The statistics maths of the claims: t-intervals over seeds, the minimum detectable effect and
the seeds an effect needs (power), the probability that a verdict replicates, slopes, p-values
and Holm's adjustment. Pure numpy and scipy, no pipeline types.

The **minimum detectable effect** at n seeds is the true mean a paired t-test at α = 0.05,
two-sided, detects with power 0.8 given the observed spread:
``MDE = (t₀.₉₇₅,ₙ₋₁ + t₀.₈₀,ₙ₋₁) · sd / √n``.

**Replication.** The probability that an independent replication with as many seeds reaches the
same verdict (the same side of the threshold, or undecided again), by the posterior predictive:
the replication's t statistic spreads around the observed one by the sampling error of the
original mean and of the replication's (variance 2), and by the uncertainty of both standard
deviations, estimated on n − 1 degrees of freedom (``same_verdict_probability``), so a claim
decided at p = 0.05 replicates with probability one half (Goodman 1992), and a large t from three
seeds is not taken for certainty. A decided verdict below ``ROBUST`` is *fragile*;
``seeds_robust`` gives the seeds at which the observed effect and spread would replicate with
that probability.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

ALPHA, POWER = 0.05, 0.8
ROBUST = 0.8  # a decided verdict that replicates with a lower probability is fragile


def scipy_stats():
    """scipy.stats, imported when a number is computed rather than with this module: the Snakefile
    imports the catalogue, and scipy.stats would add about a second to every Snakemake process's
    start (on a cluster, one per job)."""
    from scipy import stats

    return stats


def t_quantile(df: int, q: float = 1 - ALPHA / 2) -> float:
    return float(scipy_stats().t.ppf(q, df)) if df >= 1 else math.inf


def finite(values: Sequence[float]) -> np.ndarray:
    return np.asarray([x for x in values if np.isfinite(x)], dtype=float)


def interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95 % t-interval of the mean; NaNs (diverged runs) are left out."""
    v = finite(values)
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if len(v) == 1:
        return mean, -math.inf, math.inf
    half = t_quantile(len(v) - 1) * float(v.std(ddof=1)) / math.sqrt(len(v))
    return mean, mean - half, mean + half


def minimum_detectable_effect(values: Sequence[float]) -> float:
    """The effect a two-sided paired t-test (α = 0.05) detects with power 0.8 at this n and spread."""
    v = finite(values)
    if len(v) < 2:
        return math.inf
    df = len(v) - 1
    return (t_quantile(df) + t_quantile(df, POWER)) * float(v.std(ddof=1)) / math.sqrt(len(v))


def seeds_needed(sd: float, effect: float, most: int = 1000) -> int:
    """The fewest seeds at which a paired t-test (α = 0.05, two-sided, power 0.8) detects a true
    mean of ``effect`` when the paired differences spread by ``sd``: the power planning of a claim."""
    if not (math.isfinite(sd) and effect > 0):
        return most
    for n in range(2, most):
        if (t_quantile(n - 1) + t_quantile(n - 1, POWER)) * sd / math.sqrt(n) <= effect:
            return n
    return most


def same_verdict_probability(t: float, critical: float, df: int | None = None, points: int = 200) -> float:
    """The probability that a replication's t statistic lands on the same side of ±``critical`` as
    the observed ``t`` (above, below, or between: undecided again), by the posterior predictive.

    With the variance known (``df`` None), the replication's t is normal around ``t`` with
    variance 2: the sampling error of the original mean and of the replication's. With ``df``
    degrees of freedom both standard deviations are estimates too: the true standardised effect
    is ``t·√V`` and the replication's t is ``(√2·Z + t·√V) / √W`` with V, W independent χ²_df / df
    (the original's and the replication's variance estimates against the true variance, under a
    flat prior on the mean and log σ), so P(above) = E[Φ((t√V − c√W) / √2)], taken over ``points``
    quantiles of each of V and W. At n = 3 a t of 7.5 replicates with 0.74, not the 0.99 a known
    variance would give; at t = c both give one half."""
    if df is None:
        root_v = root_w = np.ones(1)
    else:
        quantiles = (np.arange(points) + 0.5) / points
        root_v = np.sqrt(scipy_stats().chi2.ppf(quantiles, df) / df)
        root_w = root_v
    shift, bound = t * root_v[:, None], critical * root_w[None, :]
    spread, norm = math.sqrt(2), scipy_stats().norm
    if t > critical:
        return float(norm.cdf((shift - bound) / spread).mean())
    if t < -critical:
        return float(norm.cdf((-bound - shift) / spread).mean())
    return float((norm.cdf((bound - shift) / spread) - norm.cdf((-bound - shift) / spread)).mean())


def replication_probability(values: Sequence[float], boundary: float = 0.0) -> float:
    """The probability that an independent replication with as many seeds reaches the same
    verdict, from the observed mean's distance to ``boundary`` (0, or ∓ the margin), its standard
    error and the n − 1 degrees of freedom of both (NaN below two values; 1 for a spread of zero)."""
    v = finite(values)
    if len(v) < 2:
        return math.nan
    sd, gap = float(v.std(ddof=1)), float(v.mean()) - boundary
    if sd == 0:
        return 1.0
    return same_verdict_probability(gap / (sd / math.sqrt(len(v))), t_quantile(len(v) - 1), len(v) - 1)


def seeds_robust(values: Sequence[float], boundary: float = 0.0, most: int = 1000) -> int:
    """The fewest seeds at which the observed mean and spread would give a decided verdict that
    replicates with probability ``ROBUST`` (``most`` where the mean sits on the boundary)."""
    v = finite(values)
    if len(v) < 2:
        return most
    sd, gap = float(v.std(ddof=1)), abs(float(v.mean()) - boundary)
    if sd == 0:
        return 2 if gap > 0 else most
    for n in range(2, most):
        t = gap / (sd / math.sqrt(n))
        critical = t_quantile(n - 1)
        if t > critical and same_verdict_probability(t, critical, n - 1) >= ROBUST:
            return n
    return most


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys against xs (NaN if fewer than two finite points)."""
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if np.isfinite(y)]
    if len(points) < 2:
        return math.nan
    x, y = np.array(points).T
    return round(float(np.polyfit(x, y, 1)[0]), 9)  # a flat line is 0, not ±1e-15 of rounding


def p_value(values: Sequence[float], boundary: float = 0.0) -> float:
    """Two-sided p-value of a one-sample t-test of the mean against ``boundary`` (0, or the
    non-inferiority margin): below α exactly where the 95 % interval excludes the boundary."""
    v = finite(values)
    if len(v) < 2:
        return math.nan
    sd = float(v.std(ddof=1))
    if sd == 0:
        return 0.0 if v.mean() != boundary else 1.0
    t = (float(v.mean()) - boundary) / (sd / math.sqrt(len(v)))
    return float(2 * scipy_stats().t.sf(abs(t), len(v) - 1))


def holm(p: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN, and is not counted in the family)."""
    order = sorted((x, i) for i, x in enumerate(p) if np.isfinite(x))
    adjusted, running = [math.nan] * len(p), 0.0
    for rank, (x, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * x))
        adjusted[i] = running
    return adjusted


def spread(values: Sequence[float]) -> tuple[int, float, float]:
    """n, mean and standard deviation of the finite values (a sd of NaN below two)."""
    v = finite(values)
    return len(v), float(v.mean()) if len(v) else math.nan, float(v.std(ddof=1)) if len(v) >= 2 else math.nan


def equivalence_p(values: Sequence[float], effect: float) -> float:
    """Two one-sided tests (TOST) of ``|mean| ≥ effect``: the larger of the one-sided p-values
    against −effect and +effect. Below α exactly where the (1 − 2α) interval lies within ±effect:
    a powered null, "no effect worth detecting" (NaN below two values)."""
    n, mean, sd = spread(values)
    if n < 2:
        return math.nan
    if sd == 0:
        return 0.0 if abs(mean) < effect else 1.0
    se, df = sd / math.sqrt(n), n - 1
    return float(max(scipy_stats().t.sf((mean + effect) / se, df), scipy_stats().t.cdf((mean - effect) / se, df)))


def null_replication(values: Sequence[float], effect: float, n: int | None = None) -> float:
    """The probability that a replication (of ``n`` seeds, default as many) finds no effect worth
    detecting again: both one-sided tests pass, each by ``same_verdict_probability`` at the
    one-sided critical t, multiplied. The product treats the two as independent: a replication
    with a smaller spread passes both more easily, one whose mean shifts passes one less easily,
    and the two dependences pull opposite ways; the product is an approximation, not a bound."""
    seen, mean, sd = spread(values)
    if seen < 2:
        return math.nan
    if sd == 0:
        return 1.0 if abs(mean) < effect else 0.0
    n = n or seen
    se, critical = sd / math.sqrt(n), t_quantile(n - 1, 1 - ALPHA)
    return (same_verdict_probability((mean + effect) / se, critical, n - 1)
            * same_verdict_probability((mean - effect) / se, critical, n - 1))


def seeds_robust_null(values: Sequence[float], effect: float, most: int = 1000) -> int:
    """The fewest seeds at which the observed mean and spread would find no effect worth detecting
    with replication probability ``ROBUST`` (``most`` where the mean is not within ±effect)."""
    seen, mean, _ = spread(values)
    if seen < 2 or abs(mean) >= effect:
        return most
    for n in range(2, most):
        if null_replication(values, effect, n) >= ROBUST:
            return n
    return most


def sd_upper(sd: float, n: int, confidence: float = 0.95) -> float:
    """The upper end of a one-sided ``confidence`` interval of a standard deviation seen on n
    values (χ² on n − 1 degrees of freedom): the spread a plan assumes, not the point estimate."""
    return sd * math.sqrt((n - 1) / float(scipy_stats().chi2.ppf(1 - confidence, n - 1))) if n >= 2 else math.inf


def seeds_to_decide(sd: float, effect: float, most: int = 1000) -> int:
    """The fewest seeds at which a comparison spreading by ``sd`` is decided at its declared
    effect either way, each with power 0.8: a true mean of ``effect`` detected (``seeds_needed``),
    and detected robustly (a replication agrees with probability ``ROBUST`` at the expected t);
    a true mean of zero found to be no effect worth detecting by two one-sided tests (each at α,
    power 0.8 split between the two sides)."""
    if not (math.isfinite(sd) and effect > 0):
        return most
    for n in range(max(2, seeds_needed(sd, effect, most)), most):
        t = effect / (sd / math.sqrt(n))
        null = (t_quantile(n - 1, 1 - ALPHA) + t_quantile(n - 1, 1 - (1 - POWER) / 2)) * sd / math.sqrt(n)
        if null <= effect and same_verdict_probability(t, t_quantile(n - 1), n - 1) >= ROBUST:
            return n
    return most
