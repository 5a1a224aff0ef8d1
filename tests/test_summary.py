"""Interval estimates of the summaries against SciPy's reference implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from reports.formats import fmt_delta_pt
from reports.summary import paired_deltas, summarise, unpaired_deltas


def _kpis(values: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"scenario": s, "replication": np.arange(len(v)), "kpi": "margin",
                                    "scope": "total", "entity": "all", "value": v}) for s, v in values.items()],
                     ignore_index=True)


@pytest.fixture
def samples():
    rng = np.random.default_rng(3)
    base = rng.normal(100, 10, 30)
    return {"base": base, "same_seed": base + rng.normal(2, 1, 30), "other": rng.normal(103, 20, 30)}


def test_summary_interval_is_students_t(samples):
    row = summarise(_kpis({"base": samples["base"]})).iloc[0]
    low, high = stats.t.interval(0.95, 29, loc=samples["base"].mean(), scale=stats.sem(samples["base"]))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-12)


def test_paired_deltas_match_scipy_ttest_rel(samples):
    d = paired_deltas(_kpis({"base": samples["base"], "same_seed": samples["same_seed"]}), "base").iloc[0]
    ci = stats.ttest_rel(samples["same_seed"], samples["base"]).confidence_interval(0.95)
    assert (d["delta_low"], d["delta_high"]) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert d["separated"]


def test_unpaired_deltas_match_scipy_welch_ttest_ind(samples):
    """Welch (1947): unequal variances, Welch-Satterthwaite degrees of freedom, as
    scipy.stats.ttest_ind(equal_var=False) computes them."""
    d = unpaired_deltas(_kpis({"base": samples["base"], "other": samples["other"]}), "base").iloc[0]
    ci = stats.ttest_ind(samples["other"], samples["base"], equal_var=False).confidence_interval(0.95)
    assert (d["delta_low"], d["delta_high"]) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert d["delta"] == pytest.approx(samples["other"].mean() - samples["base"].mean())


def test_comparison_pairs_only_runs_that_share_the_baseline_seed(samples):
    from reports.compare import comparison_table

    table = comparison_table(_kpis(samples), "base", paired=["base", "same_seed"]).set_index("scenario")
    assert table.loc["same_seed", "paired"] == True  # noqa: E712 (a column of objects)
    assert table.loc["other", "paired"] == False  # noqa: E712
    welch = unpaired_deltas(_kpis({"base": samples["base"], "other": samples["other"]}), "base").iloc[0]
    assert table.loc["other", "delta_low"] == pytest.approx(welch["delta_low"])
    assert np.isnan(table.loc["base", "delta"])


def test_a_difference_that_rounds_to_zero_prints_without_a_minus():
    assert fmt_delta_pt(-1e-6) == "+0.00 pt" and fmt_delta_pt(-0.0021) == "−0.21 pt"
    assert fmt_delta_pt(0.0150) == "+1.50 pt" and fmt_delta_pt(float("nan")) == "–"


def test_a_share_keeps_its_interval_between_0_and_1_and_other_kpis_keep_students_t():
    """Four replications of the port closure's fill rate (99.09 % on average) gave a t
    interval of 97.31 % to 100.88 %: a share cannot exceed 1, so the interval stops there;
    the margin's interval is Student's t whatever its sign."""
    fill = np.array([1.0, 0.999, 0.97, 0.995])
    kpis = pd.concat([_kpis({"s": fill}).assign(kpi="fill_rate"), _kpis({"s": fill - 1.0})], ignore_index=True)
    rows = summarise(kpis).set_index("kpi")
    low, high = stats.t.interval(0.95, 3, loc=fill.mean(), scale=stats.sem(fill))
    assert high > 1.0
    assert (rows.loc["fill_rate", "ci_low"], rows.loc["fill_rate", "ci_high"]) == (pytest.approx(low, rel=1e-12), 1.0)
    assert (rows.loc["margin", "ci_low"], rows.loc["margin", "ci_high"]) == pytest.approx((low - 1, high - 1),
                                                                                         rel=1e-12)
