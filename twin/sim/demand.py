"""Daily demand per market x SKU for one replication, drawn up front as one array.

Drawing the whole horizon at once costs a few milliseconds and keeps the daily loop
free of random-number calls; the draws depend only on the replication's generator.
"""

from __future__ import annotations

import numpy as np

from twin.scenario import CompetitorEntry, Demand, DemandShock, Scenario
from twin.sim.inputs import SimInput, day_dates


def draw_demand(inp: SimInput, model: Demand, rng: np.random.Generator) -> np.ndarray:
    """Integer units demanded per day, market and SKU: shape ``(days, markets, skus)``.

    ``empirical`` resamples, per market x SKU, whole weeks of the demand window
    (bootstrap of weekly totals) and spreads each week over its 7 days with a
    multinomial of equal probabilities. ``poisson``, ``normal`` (rounded, truncated at
    0, sd = cv x mean) and ``negative_binomial`` (variance = mean + mean^2 / k) draw each
    day independently around the window's mean per day.
    """
    T, (M, S) = inp.days, inp.mean_demand_per_day.shape
    mu = inp.mean_demand_per_day * model.scale
    if model.model == "forecast":
        base = inp.weekly_expected * model.scale  # (weeks, M, S)
        pick = rng.integers(0, inp.weekly_errors.shape[0], size=base.shape)
        error = np.take_along_axis(inp.weekly_errors, pick, axis=0)
        weekly = np.where(inp.weekly_known[:, None, None], base, np.maximum(base + error, 0.0))
        return _spread(np.rint(weekly), rng)[:T]
    if model.model == "empirical":
        weeks = -(-T // 7)
        W = inp.demand_window.shape[0]
        pick = rng.integers(0, W, size=(weeks, M, S))
        weekly = np.take_along_axis(inp.demand_window, pick, axis=0)  # (weeks, M, S)
        return _spread(_rescale(weekly, model.scale, rng), rng)[:T]
    if model.model == "poisson":
        return rng.poisson(mu, size=(T, M, S)).astype(float)
    if model.model == "normal":
        return np.maximum(0.0, np.rint(rng.normal(mu, model.cv * mu, size=(T, M, S))))
    k = model.dispersion
    return rng.negative_binomial(k, k / (k + mu), size=(T, M, S)).astype(float)


def weekly_variance(inp: SimInput, model: Demand) -> np.ndarray:
    """Variance of one week's demand per market x SKU under the demand model, shape ``(M, S)``:
    the variance of the backtest errors (forecast), of the weekly history (empirical), or 7
    times the daily variance (poisson, normal, negative binomial). Zero truncation is
    ignored: this is the noise a planner would expect around the forecast."""
    mu = inp.mean_demand_per_day * model.scale
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


def apply_shocks(demand: np.ndarray, inp: SimInput, scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
    """Scale demand by :func:`demand_factor` (demand shocks, competitors).

    Integer units stay integer and the mean changes by exactly the factor: a cut thins
    each unit away with probability ``1 - factor`` (binomial thinning), a rise adds
    Poisson(``(factor - 1)`` x units) extra units.
    """
    factor = demand_factor(inp, scenario)
    return demand if factor is None else _rescale(demand, factor, rng)


def event_cells(inp: SimInput, ev: DemandShock | CompetitorEntry) -> tuple[np.ndarray, ...]:
    """Boolean masks over days, markets and SKUs of the cells an event acts on."""
    dates = day_dates(inp).date
    days = (dates >= ev.start) & (dates < ev.end_date)
    m = np.isin(inp.markets, ev.markets) if ev.markets else np.ones(len(inp.markets), bool)
    s = np.isin(inp.families, ev.families) if ev.families else np.ones(len(inp.skus), bool)
    if isinstance(ev, DemandShock) and ev.skus:
        s &= np.isin(inp.skus, ev.skus)
    return days, m, s


def demand_factor(inp: SimInput, scenario: Scenario, shocks: bool = True) -> np.ndarray | None:
    """Multiplier on expected demand per day, market and SKU (shape ``(days, markets, skus)``):
    ``1 + change_pct/100`` inside each ``demand_shock`` (unless ``shocks=False``), and each
    ``competitor_entry``'s volume factor under the strategy the scenario runs. None when
    there are no such events."""
    kinds = (DemandShock, CompetitorEntry) if shocks else CompetitorEntry
    events = [e for e in scenario.events if isinstance(e, kinds)]
    if not events:
        return None
    factor = np.ones((inp.days, len(inp.markets), len(inp.skus)))
    for ev in events:
        change = 1 + ev.change_pct / 100 if isinstance(ev, DemandShock) else ev.volume_factor
        factor[np.ix_(*event_cells(inp, ev))] *= change
    return factor


def price_factor(inp: SimInput, scenario: Scenario) -> np.ndarray | None:
    """Multiplier on list price per day, market and SKU from the pricing strategies the
    scenario runs, or None when no price changes."""
    entries = [e for e in scenario.events if isinstance(e, CompetitorEntry) and e.price_factor != 1.0]
    if not entries:
        return None
    factor = np.ones((inp.days, len(inp.markets), len(inp.skus)))
    for ev in entries:
        factor[np.ix_(*event_cells(inp, ev))] *= ev.price_factor
    return factor


def expected_demand(inp: SimInput, scenario: Scenario) -> np.ndarray:
    """Expected units per day, market and SKU, shape ``(days, markets, skus)``: the weekly
    forecast spread over its days (forecast model) or the model's mean per day, scaled,
    with the events' :func:`demand_factor`. What the capacity plan plans for."""
    if inp.weekly_expected is not None:
        mean = np.repeat(inp.weekly_expected / 7.0, 7, axis=0)[:inp.days] * scenario.demand.scale
    else:
        mean = np.broadcast_to(inp.mean_demand_per_day * scenario.demand.scale,
                               (inp.days, *inp.mean_demand_per_day.shape))
    factor = demand_factor(inp, scenario)
    return mean * factor if factor is not None else mean.copy()


def mean_demand(inp: SimInput, model: Demand) -> np.ndarray:
    """What :func:`draw_demand` averages per day, market and SKU, without events, shape
    ``(days, markets, skus)``: for the forecast model the forecast plus the mean of its
    backtest errors, floored at zero (so a biased forecast's bias is in it); otherwise the
    model's mean. What the touchless rules measure a demand spike against."""
    if inp.weekly_mean is not None:
        return np.repeat(inp.weekly_mean / 7.0, 7, axis=0)[:inp.days]
    return np.broadcast_to(inp.mean_demand_per_day * model.scale, (inp.days, *inp.mean_demand_per_day.shape))


def _rescale(units: np.ndarray, factor: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    factor = np.broadcast_to(np.asarray(factor, float), units.shape)
    if np.all(factor == 1.0):
        return units
    down = np.minimum(factor, 1.0)
    out = rng.binomial(units.astype(np.int64), down).astype(float)
    up = np.maximum(factor - 1.0, 0.0)
    return out + rng.poisson(units * up)
