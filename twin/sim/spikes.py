"""Demand-spike detection: is a family's demand running away from what the plan expected?

Each whole week, per family, the twin's demand is compared with the demand the rules
expect (:class:`twin.sim.rules.RuleBook`: the demand model's mean times the events the
plan knows of) in units of that week's noise, ``z = (actual - expected) / sd``, ``sd``
being the spread of the demand model's own weekly draw for the family (for the forecast
model, the spread of the forecast plus its backtest errors). Two one-sided CUSUMs
(Page, "Continuous inspection schemes", Biometrika 41, 1954) add up the evidence::

    up   = max(0, up   + z - k)        down = max(0, down - z - k)

``k`` is half the shift the detector is tuned to (``tuned_to_sd`` weekly noise sds). A rise
is signalled at a weekly review where ``up`` exceeds its threshold, a drop where ``down``
does.

The thresholds are set per family and direction by simulation (:func:`calibrate`): a
thousand years of the demand model with no event, drawn as the twin draws them and
checked at the twin's weekly reviews; a threshold is the ``1 - false_alarm_pct / 100``
quantile of each year's highest sum. So in a year without any spike the detector signals
a rise for a family in ``false_alarm_pct`` % of years (and a drop in as many), whatever
the family's demand pattern: an intermittent family's thresholds sit higher because its
own draws swing more.

At a signal the spike is sized over the weeks since the sum last stood at zero (where the
run-away started): demand above expected as a percent of expected, with its standard
error from the same weekly noise. A rule acts on the size it can be sure of
(:meth:`Signal.sure_pct`).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from twin.sim.demand import draw_weeks, mean_demand, weekly_noise_variance
from twin.sim.inputs import SimInput

CALIBRATION_SEED = 1954  # thresholds belong to the demand model, not to a run's seed
CALIBRATION_YEARS = 2000
MIN_SD = 0.5  # units a week: demand is drawn in whole units, so no family is noiseless


@dataclass(frozen=True)
class DetectorSettings:
    """How demand spikes are detected (``twin.scenario.SpikeDetector`` documents the fields)."""

    false_alarm_pct: float = 2.5
    tuned_to_sd: float = 1.0

    @property
    def k(self) -> float:
        return self.tuned_to_sd / 2


@dataclass(frozen=True)
class Calibration:
    """A detector fitted to one scenario's demand model: what every replication shares."""

    settings: DetectorSettings
    thresholds: np.ndarray  # (2, F) rise and drop thresholds
    sd: np.ndarray          # (weeks, F) each family's weekly noise (:func:`noise_sd`)


@dataclass(frozen=True)
class Signal:
    """A family's demand seen running away from expected at a weekly review."""

    family: str
    since_day: int       # first day of the first week of the run-away
    weeks: int
    change_pct: float    # demand above (below, negative) expected over those weeks, % of expected
    se_pct: float        # its standard error from the demand model's weekly noise
    extra: np.ndarray    # (S,) units above expected per SKU over those weeks

    def sure_pct(self, confidence_pct: float) -> float:
        """The size of the spike one can be ``confidence_pct`` % sure of: the change moved
        towards zero by that one-sided bound (0 where the bound crosses zero)."""
        margin = NormalDist().inv_cdf(confidence_pct / 100) * self.se_pct if confidence_pct > 0 else 0.0
        return float(np.sign(self.change_pct) * max(abs(self.change_pct) - margin, 0.0))


class SpikeDetector:
    """The two CUSUMs of every family over one replication's demand, a week at a time."""

    def __init__(self, inp: SimInput, expected: np.ndarray, calibration: Calibration):
        """``expected`` is the daily demand the rules expect, (days, M, S)."""
        self.families, self.onehot = families(inp)
        self.settings, self.thresholds, self.sd = calibration.settings, calibration.thresholds, calibration.sd
        self.expected_sku = whole_weeks(expected)  # (weeks, S)
        self.expected = self.expected_sku @ self.onehot  # (weeks, F)
        F = len(self.families)
        self.up, self.down = np.zeros(F), np.zeros(F)
        self.run_up, self.run_down = np.zeros(F, int), np.zeros(F, int)  # weeks since each sum was zero
        self.quiet_until = np.zeros(F, int)  # week index before which a family signals nothing
        self.week = 0  # next week to add

    def update(self, demand: np.ndarray, day: int) -> list[Signal]:
        """Add the whole weeks of ``demand`` (days, M, S) before ``day``; the signals now."""
        k = self.settings.k
        for w in range(self.week, day // 7):
            z = (demand[7 * w:7 * w + 7].sum(axis=(0, 1)) @ self.onehot - self.expected[w]) / self.sd[w]
            self.up = np.maximum(self.up + z - k, 0.0)
            self.down = np.maximum(self.down - z - k, 0.0)
            self.run_up = np.where(self.up > 0, self.run_up + 1, 0)
            self.run_down = np.where(self.down > 0, self.run_down + 1, 0)
        self.week = max(self.week, day // 7)
        out = []
        for f, family in enumerate(self.families):
            if self.week < self.quiet_until[f]:
                continue
            for total, run, limit in ((self.up, self.run_up, self.thresholds[0]),
                                      (self.down, self.run_down, self.thresholds[1])):
                if total[f] > limit[f]:
                    out.append(self._size(demand, f, family, int(run[f])))
        return out

    def rest(self, family: str, until_day: int) -> None:
        """A spike answered: forget the evidence so far and signal nothing for the family
        before ``until_day`` (from what is seen after now: a spike that lasts is signalled
        again when the rest ends)."""
        f = self.families.index(family)
        self.up[f] = self.down[f] = 0.0
        self.run_up[f] = self.run_down[f] = 0
        self.quiet_until[f] = max(self.quiet_until[f], -(-until_day // 7))

    def _size(self, demand: np.ndarray, f: int, family: str, weeks: int) -> Signal:
        first = self.week - weeks
        mask = self.onehot[:, f] > 0
        actual = demand[7 * first:7 * self.week].sum(axis=(0, 1))  # (S,)
        expected_sku = self.expected_sku[first:self.week].sum(axis=0)
        expected = float(self.expected[first:self.week, f].sum())
        sd = float(np.sqrt((self.sd[first:self.week, f] ** 2).sum()))
        change = float(actual[mask].sum()) - expected
        scale = 100 / expected if expected > 0 else 0.0
        return Signal(family, 7 * first, weeks, change * scale, sd * scale,
                      np.where(mask, actual - expected_sku, 0.0))


def families(inp: SimInput) -> tuple[list[str], np.ndarray]:
    """The families in sorted order and the (S, F) 0/1 matrix that sums SKUs into them."""
    names = sorted(set(inp.families))
    fam = np.asarray(inp.families)
    return names, np.stack([fam == f for f in names], axis=1).astype(float)


def whole_weeks(daily: np.ndarray) -> np.ndarray:
    """Daily units (days, M, S) summed into whole weeks and over markets: (weeks, S)."""
    weeks = daily.shape[0] // 7
    return daily[:7 * weeks].reshape(weeks, 7, *daily.shape[1:]).sum(axis=(1, 2))


def noise_sd(inp: SimInput, onehot: np.ndarray) -> np.ndarray:
    """(weeks, F) standard deviation of each family's weekly demand under the demand model,
    at least :data:`MIN_SD`."""
    return np.maximum(np.sqrt(weekly_noise_variance(inp).sum(axis=1) @ onehot), MIN_SD)


def calibrate(inp: SimInput, settings: DetectorSettings, years: int = CALIBRATION_YEARS) -> Calibration:
    """The rise and drop thresholds: the ``1 - false_alarm_pct / 100`` quantile of the
    year's highest CUSUM, per family, over ``years`` simulated years without events,
    checked at the twin's weekly reviews (module docstring)."""
    _, onehot = families(inp)
    sd = noise_sd(inp, onehot)
    mean = whole_weeks(mean_demand(inp)) @ onehot  # (weeks, F)
    reviews = np.arange(inp.warmup_days, inp.days, 7) // 7  # weeks added by each review
    rng = np.random.default_rng(CALIBRATION_SEED)
    highest = []
    for start in range(0, years, 100):  # chunks keep the draws to tens of MB
        weekly = draw_weeks(inp, rng, min(100, years - start)).sum(axis=2) @ onehot  # (n, weeks, F)
        z = (weekly - mean) / sd
        up, down = np.zeros(z.shape[::2]), np.zeros(z.shape[::2])
        top_up, top_down = up.copy(), down.copy()
        for w in range(reviews[-1]):
            up = np.maximum(up + z[:, w] - settings.k, 0.0)
            down = np.maximum(down - z[:, w] - settings.k, 0.0)
            if w + 1 >= reviews[0]:
                top_up, top_down = np.maximum(top_up, up), np.maximum(top_down, down)
        highest.append(np.stack([top_up, top_down]))
    thresholds = np.quantile(np.concatenate(highest, axis=1), 1 - settings.false_alarm_pct / 100, axis=1)
    return Calibration(settings, thresholds, sd)
