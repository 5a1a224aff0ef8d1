"""The twin against published inventory and queueing theory, within confidence intervals.

Each replication's time average is one observation; replications are independent, so
the theory value must lie within a few standard errors of their mean. Every test also
checks that its standard error is small enough for the comparison to be able to fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from twin.montecarlo import replication_rng
from twin.scenario import load_scenario
from twin.pipeline import sim_inputs
from twin.sim import simulate

LONG = {"start": "2026-01-05", "weeks": 260, "warmup_weeks": 4}


def replicate(path, n: int, measure) -> np.ndarray:
    loaded = load_scenario(path)
    inp = sim_inputs(loaded)
    out = []
    for i in range(n):
        rep = simulate(inp, replication_rng(1234, i))
        out.append(measure(rep, inp.warmup_days))
    return np.array(out, dtype=float)


def assert_matches(observed: np.ndarray, theory: float, rel_power: float) -> None:
    """theory within 4 standard errors of the mean; and the test has the power to notice
    a relative error of ``rel_power``."""
    mean, se = observed.mean(axis=0), observed.std(axis=0, ddof=1) / np.sqrt(len(observed))
    assert np.all(4 * se < rel_power * np.abs(theory) + 1e-12), f"too noisy to test: se={se}"
    assert np.all(np.abs(mean - theory) <= 4 * se + 1e-12), f"simulated {mean} vs theory {theory} (se {se})"


def base_stock_theory(rate: float, lane_days: int, review_days: int, base_stock: float) -> dict[str, float]:
    """Periodic-review base-stock policy with Poisson demand and backorders.

    After ordering up to S at a review, the order lands after the lead time L; the net
    inventory j days into the following cycle is S - D(L + 1 + j) with D(t) ~ Poisson(rate t)
    (Hadley & Whitin 1963, ch. 5; Zipkin, *Foundations of Inventory Management* 2000, §6.2;
    Axsäter, *Inventory Control*, 3rd ed., §5.3). The twin's lead time L is the lane plus
    the production day (orders reviewed on day t are made on day t+1). Averaging over the R
    days of a cycle gives expected on-hand, backorders and stockout probability at the
    end of a day.
    """
    k = np.arange(0, int(base_stock + 20 * np.sqrt(rate * (lane_days + review_days + 1)) + 50 * rate + 50))
    on_hand = backorders = stockout = 0.0
    for j in range(review_days):
        pmf = stats.poisson.pmf(k, rate * (lane_days + 1 + j))
        on_hand += (np.maximum(base_stock - k, 0) * pmf).sum()
        backorders += (np.maximum(k - base_stock, 0) * pmf).sum()
        stockout += pmf[k > base_stock].sum()
    return dict(on_hand=on_hand / review_days, backorders=backorders / review_days,
                stockout=stockout / review_days)


@pytest.mark.parametrize("rate, lane_days, review_days, base_stock", [
    (4.0, 3, 1, 20),    # daily review: S below the mean lead-time demand + 1 sd: frequent stockouts
    (3.0, 2, 7, 30),    # weekly review
])
def test_base_stock_periodic_review_poisson_hadley_whitin(single_hub, rate, lane_days, review_days, base_stock):
    """Hadley & Whitin (1963) / Zipkin (2000) §6.2: end-of-day on-hand, backorders and
    stockout probability of a periodic-review base-stock system with Poisson demand."""
    path = single_hub(network=dict(daily_mean=rate, lane_days=lane_days, review_days=review_days,
                                   base_stock=base_stock), horizon=LONG)
    theory = base_stock_theory(rate, lane_days, review_days, base_stock)

    def measure(rep, w):
        on_hand = rep.inventory[w:, 0, 0]
        backlog = rep.backlog[w:, 0].sum(axis=1)
        # stockout at the end of a day: net inventory below zero (backorders open)
        return [on_hand.mean(), backlog.mean(), (backlog > 0).mean()]

    observed = replicate(path, 16, measure)
    assert_matches(observed, np.array([theory["on_hand"], theory["backorders"], theory["stockout"]]),
                   rel_power=0.20)


def test_fill_rate_base_stock_poisson_axsater(single_hub):
    """Axsäter, *Inventory Control*, 3rd ed., §5.1: fill rate = 1 - E[units short]/E[demand].
    With daily review, a day's demand D ~ Poisson(rate) meets the stock left after the
    backorders, (S - X)^+ with X ~ Poisson(rate x lane days) the demand still in the
    pipeline; units short = (D - (S - X)^+)^+. Checks the KPI ``fill_rate``."""
    rate, lane, S = 4.0, 3, 20
    path = single_hub(network=dict(daily_mean=rate, lane_days=lane, base_stock=S), horizon=LONG)
    k = np.arange(200)
    p_pipeline, p_day = stats.poisson.pmf(k, rate * lane), stats.poisson.pmf(k, rate)
    short = sum(p * (np.maximum(k - max(S - x, 0), 0) * p_day).sum() for x, p in zip(k, p_pipeline))
    theory = 1 - short / rate

    def measure(rep, w):
        return rep.filled[w:].sum() / rep.demand[w:].sum()

    assert_matches(replicate(path, 8, measure), theory, rel_power=0.02)


@pytest.mark.parametrize("demand, wait_days", [
    # Poisson arrivals in a service time: M/D/1, W = 1/mu + rho / (2 mu (1 - rho))
    pytest.param({"model": "poisson"}, lambda rho: 1 + rho / (2 * (1 - rho)), id="M/D/1"),
    # geometric arrivals in a service time (a negative binomial of size 1, mean rho): what
    # Poisson arrivals leave during an exponential service, so M/M/1, W = 1 / (mu - lambda)
    pytest.param({"model": "negative_binomial", "dispersion": 1.0}, lambda rho: 1 / (1 - rho), id="M/M/1"),
])
def test_line_queue_md1_and_mm1_waiting_times_pollaczek_khinchine(single_hub, demand, wait_days):
    """A line that makes one unit a day (mu = 1), fed each day by orders for that day's
    demand (lambda = rho a day), is observed once per service time: its backlog follows
    N' = N - 1{N>0} + A, the embedded chain of an M/G/1 queue at departures, where A is
    the number of arrivals during one service. Its mean is the Pollaczek-Khinchine value
    L = rho + E[A(A-1)] / (2 (1 - rho)) (Kleinrock, *Queueing Systems* vol. 1, 1975, eq.
    5.72 and §5.6): Poisson A makes the service deterministic (M/D/1); geometric A is what
    Poisson arrivals leave during an exponential service (M/M/1, whose departures see the
    time-stationary distribution, Kleinrock §3.2 and eq. 3.24). Little's law turns the
    simulated mean backlog into the mean days an order spends at the line, W = L / lambda,
    compared with each queue's closed form."""
    rho = 0.6
    path = single_hub(network=dict(daily_mean=rho, base_stock=200, line_hours_per_week=7, hours_per_unit=1.0,
                                   lane_days=1), horizon=LONG, demand={**demand, "history_weeks": 52})

    def measure(rep, w):
        return rep.line_backlog[w:, 0].mean() / rho

    assert_matches(replicate(path, 16, measure), wait_days(rho), rel_power=0.10)


def test_littles_law_in_transit_equals_rate_times_transit_time(single_hub):
    """Little's law (Little 1961): units on a lane = throughput x mean transit time, here
    with a lognormal transit time rounded to whole days (mean computed from its pmf)."""
    rate, mean, sd = 5.0, 6.0, 2.0
    path = single_hub(network=dict(daily_mean=rate, lane_days=mean, lane_sd_days=sd, base_stock=80), horizon=LONG)
    s2 = np.log1p((sd / mean) ** 2)
    dist = stats.lognorm(s=np.sqrt(s2), scale=np.exp(np.log(mean) - s2 / 2))
    edges = np.arange(0.5, 80.5)  # day k collects (k - 0.5, k + 0.5]; below 1.5 rounds to 1
    days = np.arange(1, 80)
    pmf = np.diff(dist.cdf(edges))
    pmf[0] += dist.cdf(0.5)
    transit = (days * pmf).sum()

    def measure(rep, w):
        throughput = rep.produced[w:, 0].mean()
        return [rep.in_transit[w:, 0].mean(), throughput * transit]

    observed = replicate(path, 8, measure)
    assert_matches(observed[:, 0], observed[:, 1].mean(), rel_power=0.05)
    assert_matches(observed[:, 0], rate * transit, rel_power=0.05)


def test_breakdown_hours_renewal_reward(single_hub):
    """Breakdowns arrive every Exp(MTBF) scheduled hours, each owing Exp(MTTR) repair hours,
    so by the renewal-reward theorem the long-run share of scheduled hours lost is
    MTTR / MTBF (Ross, *Stochastic Processes*, 2nd ed., 1996, Thm 3.6.1)."""
    mtbf, mttr = 40.0, 4.0
    path = single_hub(network=dict(mtbf_hours=str(mtbf), mttr_hours=mttr, line_hours_per_week=56), horizon=LONG)

    def measure(rep, w):
        return rep.downtime_hours[w:, 0].sum() / (8.0 * (rep.downtime_hours.shape[0] - w))

    # failures arrive per scheduled hour at 1/MTBF, each owing MTTR hours: a share MTTR/MTBF
    assert_matches(replicate(path, 16, measure), mttr / mtbf, rel_power=0.10)
