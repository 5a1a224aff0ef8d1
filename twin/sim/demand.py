"""Daily demand per market x SKU for one replication, drawn up front as one array.

Drawing the whole horizon at once costs a few milliseconds and keeps the daily loop
free of random-number calls; the draws depend only on the replication's generator.
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass
from typing import Literal

from twin.sim.inputs import SimInput


@dataclass(frozen=True)
class DemandModel:
    """How demand is drawn: ``model`` with its parameters (``twin.scenario.Demand`` documents them).
    ``expected`` draws nothing: each day's demand is its expectation (the deterministic twin,
    ``twin.agreement``)."""

    model: Literal["forecast", "empirical", "poisson", "normal", "negative_binomial", "expected"] = "forecast"
    cv: float = 0.5           # normal: sd / mean of daily demand
    dispersion: float = 2.0   # negative binomial k: variance = mean + mean^2 / k
    scale: float = 1.0        # multiplier on all demand


def draw_demand(inp: SimInput, rng: np.random.Generator) -> np.ndarray:
    """Integer units demanded per day, market and SKU: shape ``(days, markets, skus)``.

    ``empirical`` resamples, per market x SKU, whole weeks of the demand window
    (bootstrap of weekly totals) and spreads each week over its 7 days with a
    multinomial of equal probabilities. ``poisson``, ``normal`` (rounded, truncated at
    0, sd = cv x mean) and ``negative_binomial`` (variance = mean + mean^2 / k) draw each
    day independently around the window's mean per day.
    """
    T, (M, S), model = inp.days, inp.mean_demand_per_day.shape, inp.demand
    mu = inp.mean_demand_per_day * model.scale
    if model.model == "expected":
        return _mean_without_events(inp)
    if model.model in ("forecast", "empirical"):
        return _spread(_weeks(inp, rng, ()), rng)[:T]
    if model.model == "poisson":
        return rng.poisson(mu, size=(T, M, S)).astype(float)
    if model.model == "normal":
        return np.maximum(0.0, np.rint(rng.normal(mu, model.cv * mu, size=(T, M, S))))
    k = model.dispersion
    return rng.negative_binomial(k, k / (k + mu), size=(T, M, S)).astype(float)


def _weeks(inp: SimInput, rng: np.random.Generator, lead: tuple[int, ...]) -> np.ndarray:
    """Whole weekly units of the forecast or empirical model, shape ``lead + (weeks, M, S)``
    (the weeks covering the simulated days): forecast plus a resampled backtest error,
    rounded and floored at zero (history weeks as they were), or resampled history weeks."""
    model = inp.demand
    if model.model == "forecast":
        base = inp.weekly_expected * model.scale  # (weeks, M, S)
        error = inp.weekly_errors[rng.integers(0, inp.weekly_errors.shape[0], size=lead + base.shape),
                                  np.arange(base.shape[1])[:, None], np.arange(base.shape[2])]
        return np.where(inp.weekly_known[:, None, None], base, np.rint(np.maximum(base + error, 0.0)))
    W, M, S = inp.demand_window.shape
    pick = rng.integers(0, W, size=lead + (-(-inp.days // 7), M, S))
    weekly = inp.demand_window[pick, np.arange(M)[:, None], np.arange(S)]
    return _rescale(weekly, model.scale, rng)


def draw_weeks(inp: SimInput, rng: np.random.Generator, years: int) -> np.ndarray:
    """``years`` independent draws of the weekly demand :func:`draw_demand` makes, without
    events, shape ``(years, weeks, M, S)``: what the spike detector is calibrated on
    (``twin.sim.spikes``). A week's total has the distribution of the daily draw's week."""
    model, weeks = inp.demand, inp.days // 7
    mu = inp.mean_demand_per_day * model.scale
    size = (years, weeks, *mu.shape)
    if model.model in ("forecast", "empirical"):
        return _weeks(inp, rng, (years,))[:, :weeks]
    if model.model == "expected":
        return np.broadcast_to(7 * mu, size).copy()
    if model.model == "poisson":  # a sum of 7 Poisson days is Poisson
        return rng.poisson(7 * mu, size=size).astype(float)
    if model.model == "normal":  # rounded and truncated each day: draw the days
        days = rng.normal(mu, model.cv * mu, size=(years, weeks, 7, *mu.shape))
        return np.maximum(0.0, np.rint(days)).sum(axis=2)
    k = model.dispersion  # a sum of 7 NB(k, p) days is NB(7k, p)
    return rng.negative_binomial(7 * k, k / (k + mu), size=size).astype(float)


def weekly_noise_variance(inp: SimInput) -> np.ndarray:
    """Variance of each week's demand per market x SKU under the demand model, without
    events, shape ``(weeks, M, S)``: for the forecast model the variance of the weekly draw
    itself (its rounding and zero floor included; 0 for history weeks), otherwise
    :func:`weekly_variance` every week."""
    weeks = inp.days // 7
    if inp.demand.model == "forecast":
        base = inp.weekly_expected[:weeks] * inp.demand.scale
        draws = np.rint(np.maximum(base[:, None] + inp.weekly_errors[None], 0.0))
        return np.where(inp.weekly_known[:weeks, None, None], 0.0, draws.var(axis=1))
    return np.broadcast_to(weekly_variance(inp), (weeks, *inp.mean_demand_per_day.shape))


def weekly_variance(inp: SimInput) -> np.ndarray:
    """Variance of one week's demand per market x SKU under the demand model, shape ``(M, S)``:
    the variance of the backtest errors (forecast), of the weekly history (empirical), or 7
    times the daily variance (poisson, normal, negative binomial). Zero truncation is
    ignored: this is the noise a planner would expect around the forecast."""
    model = inp.demand
    mu = inp.mean_demand_per_day * model.scale
    if model.model == "expected":
        return np.zeros_like(mu)
    if model.model == "forecast":
        return inp.weekly_errors.var(axis=0)
    if model.model == "empirical":
        return inp.demand_window.var(axis=0) * model.scale ** 2
    if model.model == "poisson":
        return 7 * mu
    if model.model == "normal":
        return 7 * (model.cv * mu) ** 2
    return 7 * (mu + mu ** 2 / model.dispersion)


def _spread(weekly: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whole weekly units (weeks, M, S) spread over each week's 7 days, equally likely:
    shape (7 weeks, M, S)."""
    weeks, M, S = weekly.shape
    daily = rng.multinomial(weekly.astype(np.int64), np.full(7, 1 / 7))  # (weeks, M, S, 7)
    return daily.transpose(0, 3, 1, 2).reshape(weeks * 7, M, S).astype(float)


def apply_events(demand: np.ndarray, inp: SimInput, rng: np.random.Generator) -> np.ndarray:
    """Scale drawn demand by the timeline's demand factor (demand shocks, competitors).

    Integer units stay integer and the mean changes by exactly the factor: a cut thins
    each unit away with probability ``1 - factor`` (binomial thinning), a rise adds
    Poisson(``(factor - 1)`` x units) extra units.
    """
    factor = inp.timeline.demand_factor
    if factor is None:
        return demand
    return demand * factor if inp.demand.model == "expected" else _rescale(demand, factor, rng)


def expected_demand(inp: SimInput) -> np.ndarray:
    """Expected units per day, market and SKU, shape ``(days, markets, skus)``: the weekly
    forecast spread over its days (forecast model) or the model's mean per day, scaled,
    times the demand factor of the events the plan knows of. What the capacity plan plans for."""
    mean, factor = _mean_without_events(inp), inp.known.demand_factor
    return mean * factor if factor is not None else mean


def _mean_without_events(inp: SimInput) -> np.ndarray:
    """The weekly forecast spread evenly over its days, or the model's mean per day, scaled
    (a new array of shape ``(days, markets, skus)``)."""
    if inp.weekly_expected is not None:
        return np.repeat(inp.weekly_expected / 7.0, 7, axis=0)[:inp.days] * inp.demand.scale
    return np.tile(inp.mean_demand_per_day * inp.demand.scale, (inp.days, 1, 1))


def mean_demand(inp: SimInput) -> np.ndarray:
    """What :func:`draw_demand` averages per day, market and SKU, without events, shape
    ``(days, markets, skus)``: for the forecast model the forecast plus the mean of its
    backtest errors, floored at zero (so a biased forecast's bias is in it); otherwise the
    model's mean. What the touchless rules measure a demand spike against."""
    if inp.weekly_mean is not None:
        return np.repeat(inp.weekly_mean / 7.0, 7, axis=0)[:inp.days]
    return np.broadcast_to(inp.mean_demand_per_day * inp.demand.scale, (inp.days, *inp.mean_demand_per_day.shape))


def _rescale(units: np.ndarray, factor: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    factor = np.broadcast_to(np.asarray(factor, float), units.shape)
    if np.all(factor == 1.0):
        return units
    down = np.minimum(factor, 1.0)
    out = rng.binomial(units.astype(np.int64), down).astype(float)
    up = np.maximum(factor - 1.0, 0.0)
    return out + rng.poisson(units * up)
