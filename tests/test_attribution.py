"""The attribution engine: exact Shapley values, and the plan-to-twin gap split by source."""

from __future__ import annotations

import pytest

from twin.agreement import SOURCES, deterministic, plan_fill_rate
from twin.attribution import coalitions, shapley
from twin.montecarlo import LocalExecutor, run
from twin.pipeline import explain_gap, prepare
from twin.scenario import load_scenario


def test_glove_game_shapley_values_shapley_1953():
    """The glove game: one left glove, two right ones; a coalition is worth 1 if it holds a
    pair. The left glove's Shapley value is 2/3, each right glove's 1/6 (Shapley 1953;
    Osborne & Rubinstein, *A Course in Game Theory*, example 292.1)."""
    def pairs(s: frozenset[str]) -> float:
        return float("L" in s and bool(s & {"R1", "R2"}))

    values = shapley(["L", "R1", "R2"], pairs)
    assert values == pytest.approx({"L": 2 / 3, "R1": 1 / 6, "R2": 1 / 6})
    assert len(coalitions("abc")) == 8


def test_the_gap_between_plan_and_twin_splits_exactly_into_its_sources(single_hub):
    """Random demand, a lognormal lane and breakdowns on the single hub: bucketing plus the
    sources' parts are the twin's mean less the plan's promise, to float rounding; the
    bucketing part is the deterministic twin's fill less the plan's."""
    path = single_hub(supply="plan", network=dict(lane_sd_days=1.5, mtbf_hours=60, mttr_hours=12,
                                                  line_hours_per_week=60, hours_per_unit=1.5, base_stock=30),
                      demand={"model": "negative_binomial", "history_weeks": 52})
    loaded = load_scenario(path)
    gap = explain_gap(loaded, replications=6, seed=3, executor=LocalExecutor(1)).set_index("part")["value"]
    parts = gap["bucketing"] + sum(gap[s] for s in SOURCES)
    assert gap["plan"] + parts == pytest.approx(gap["twin"], abs=1e-12)
    assert {s: gap[s] != 0 for s in SOURCES} == dict.fromkeys(SOURCES, True)  # each source matters here
    assert gap["twin_ci_low"] <= gap["twin"] <= gap["twin_ci_high"]
    inp, plan = prepare(loaded)
    kpis = run(deterministic(inp), 6, 3, LocalExecutor(1)).kpis
    fill = kpis[(kpis["kpi"] == "fill_rate") & (kpis["scope"] == "total")]["value"].mean()
    assert gap["bucketing"] == pytest.approx(fill - plan_fill_rate(plan), abs=1e-12)
