"""What a recommendation rests on (``twin.sensitivity``): the key assumptions and their
ranges, the runs that move them, and the break-even at which the recommended strategy
stops being best, on a competitor instance small enough to work out by hand."""

from __future__ import annotations

import math

import pandas as pd

import pytest
from conftest import SCENARIOS, open_in_chromium, write_scenario, write_single_hub

from reports.compare import break_even_table, compare, tornado_table
from twin import pipeline
from twin.cli import main
from twin.errors import InputError
from twin.scenario import load_scenario, variants
from twin.sensitivity import break_evens, key_assumptions

PRICE, UNIT_COST = 10.0, 1.0 + 0.5 + 0.001 * 50  # list price; lanes to the hub and the market, line hours per unit
PREMIUM, OWN_LOSS, COMMON_LOSS, ELASTICITY = 0.10, 0.05, 0.12, -1.8


def _premium_over_hold(share_loss: float = COMMON_LOSS, own_loss: float = OWN_LOSS,
                       elasticity: float = ELASTICITY) -> float:
    """Margin per unit of demand before the entry: the premium's less holding price's.
    Every unit demanded is delivered (fill rate 100 %), so margin is volume x (price - unit
    cost) and the costs that do not scale with volume cancel."""
    premium = (1 - own_loss) * (1 + PREMIUM) ** elasticity * (PRICE * (1 + PREMIUM) - UNIT_COST)
    return premium - (1 - share_loss) * (PRICE - UNIT_COST)


@pytest.fixture(scope="module")
def entry(tmp_path_factory):
    """A competitor takes 12 % of the one market's volume from the first day; we hold our
    price or ask 10 % more and lose only 5 % (elasticity -1.8). Two years, 30 replications,
    every assumption moved at ±50 % and at each break-even found."""
    root = tmp_path_factory.mktemp("entry")
    net = write_single_hub(root / "net", base_stock=40)
    common = dict(demand={"model": "empirical", "history_weeks": 52}, montecarlo={"replications": 30, "seed": 1},
                  horizon={"start": "2026-01-05", "weeks": 104, "warmup_weeks": 4})
    base = write_scenario(root / "base.yaml", net, **common)
    event = dict(type="competitor_entry", start="2026-01-05", share_loss_pct=COMMON_LOSS * 100, elasticity=ELASTICITY,
                 strategies=[dict(name="Hold", price_change_pct=0),
                             dict(name="Premium", price_change_pct=PREMIUM * 100, share_loss_pct=OWN_LOSS * 100)])
    competitor = write_scenario(root / "entry.yaml", net, name="Entry", events=[event], **common)
    executor = pipeline.executor(2)
    try:
        written = pipeline.compare([base, competitor], root / "out", executor)
    finally:
        executor.close()
    pipeline.report([w.folder for w in written], root / "out", overwrite=True)
    return compare([w.folder for w in written])


def test_break_even_share_loss_of_two_strategies_as_worked_by_hand(entry):
    """Premium earns more than holding the price while the competitor's share loss is above
    S* with (1 - S*) (p - c) = (1 - 5 %) 1.1^-1.8 (1.1 p - c): 10.5 %, inside the ±50 %
    range (6 % to 18 %). Likewise the premium's own share loss (6.6 %) and the elasticity
    (-1.98) at which holding the price wins. The runs' break-evens agree within the noise
    of 30 replications."""
    hand = {
        "share loss": 1 - (1 - OWN_LOSS) * (1 + PREMIUM) ** ELASTICITY * (PRICE * (1 + PREMIUM) - UNIT_COST)
        / (PRICE - UNIT_COST),
        "Premium: share loss": 1 - (1 - COMMON_LOSS) * (PRICE - UNIT_COST)
        / ((1 + PREMIUM) ** ELASTICITY * (PRICE * (1 + PREMIUM) - UNIT_COST)),
        "price elasticity": math.log((1 - COMMON_LOSS) * (PRICE - UNIT_COST)
                                     / ((1 - OWN_LOSS) * (PRICE * (1 + PREMIUM) - UNIT_COST))) / math.log(1 + PREMIUM),
    }
    assert _premium_over_hold() > 0 and _premium_over_hold(share_loss=hand["share loss"]) == pytest.approx(0)
    evens = break_even_table(entry)
    assert set(evens["recommended"]) == {"Premium"}
    found = evens.dropna(subset=["break_even"]).set_index("assumption")
    assert set(found.index) == set(hand) and set(found["then_best"]) == {"Hold"}
    assert found.loc["share loss", "side"] == "low" and found.loc["price elasticity", "side"] == "low"
    assert found.loc["Premium: share loss", "side"] == "high"
    assert found.loc["share loss", "break_even"] == pytest.approx(100 * hand["share loss"], abs=0.4)
    assert found.loc["Premium: share loss", "break_even"] == pytest.approx(100 * hand["Premium: share loss"], abs=0.3)
    assert found.loc["price elasticity", "break_even"] == pytest.approx(hand["price elasticity"], abs=0.05)
    # the other side of each: Premium stays best to the end of the range
    assert evens["break_even"].isna().sum() == 3


def test_only_runs_whose_inputs_change_are_made(entry):
    """The common share loss does not move a strategy with its own, nor the elasticity or the
    premium's share loss the strategy that holds its price: those margins are the
    scenario's own, without a run. Each break-even found has runs on both sides of it."""
    s = entry.sensitivity
    ran = s.groupby("assumption")["of"].agg(set)
    assert ran["share loss"] == {"Entry: Hold"}
    assert ran["price elasticity"] == {"Entry: Premium"} and ran["Premium: share loss"] == {"Entry: Premium"}
    assert s.groupby("assumption")["point"].agg(sorted).tolist() == [["break-even", "high", "low"]] * 3
    assert (s["replications"] == 30).all() and s["unchanged"].ne("").all()
    tornado = tornado_table(entry).set_index("assumption")
    assert tornado.loc["share loss", "swing"] == 0  # Premium's margin does not depend on it
    assert tornado.loc["price elasticity", "at_low"] < tornado.loc["price elasticity", "at_base"] \
        < tornado.loc["price elasticity", "at_high"]  # less elastic demand loses less volume to the premium
    assert tornado.index[0] == "price elasticity"  # the widest bar on top


def test_the_report_shows_what_the_recommendation_rests_on_in_a_browser(entry, tmp_path):
    """The section beside the recommendation, in headless Chromium: one row per assumption,
    the tornado chart drawn; the recommendation's text names the break-evens and keeps the
    simulation's noise apart from the assumptions' range. `twin report` given the runs that
    moved the assumptions rebuilds the same break-evens; without them, no such section."""
    out = entry.runs[0].folder.parents[1]
    seen = open_in_chromium(out / "report.html")
    assert seen["errors"] == [] and seen["requests"] == [(out / "report.html").resolve().as_uri()]
    assert seen["tornado_visible"] and seen["assumption_rows"] == 3
    assert all(ok and width > 300 for ok, width in seen["images"])
    text = (out / "report.md").read_text()
    assert "It stops being best at share loss below 10.7 %" in text and "(95 %: the simulation's noise)" in text
    runs = [str(r.folder) for r in entry.runs]
    moved = [str(f) for f in sorted((out / "sensitivity").glob("*/*"))]
    assert len(moved) == len(entry.sensitivity) == 9
    assert main(["report", *runs, *moved, "--out", str(tmp_path / "again"), "-q"]) == 0
    assert (tmp_path / "again" / "break_even.csv").read_text() == (out / "break_even.csv").read_text()
    assert main(["report", *runs, "--out", str(tmp_path / "bare"), "-q"]) == 0
    assert not (tmp_path / "bare" / "break_even.csv").exists()
    assert "What the recommendation rests on" not in (tmp_path / "bare" / "report.md").read_text()


def test_break_evens_are_linear_between_runs_from_the_value_outwards():
    """Margins at -1, 0, 1 and 2: B overtakes A between 1 and 2 (at 1.5); C closes in below
    and would reach A at -2 on the straight line through its two farthest runs; the first
    crossing on each side of the value written counts."""
    curves = {"A": {-1: 10.0, 0: 10.0, 1: 10.0, 2: 10.0}, "B": {-1: 6.0, 0: 7.0, 1: 9.0, 2: 11.0},
              "C": {-1: 9.0, 0: 8.0, 1: 7.0, 2: 6.0}}
    low, high = break_evens(curves, "A", 0.0)
    assert low.value is None and low.end == -1.0 and low.estimate == pytest.approx(-2.0)
    assert high.value == pytest.approx(1.5) and high.winner == "B"
    assert break_evens(curves, "A", 0.0, bounds=(-1.5, 5))[0].estimate is None  # beyond what the field may be
    curves["C"][-1] = 12.0  # now C wins below: C(v) = 8 - 4 v on [-1, 0] reaches 10 at v = -0.5
    low, _ = break_evens(curves, "A", 0.0)
    assert low.value == pytest.approx(-0.5) and low.winner == "C"


def test_ranges_come_from_the_scenario_or_are_half_again_either_way(tmp_path):
    """The shipped competitor entry has no ranges: ±50 % (share loss 6 % to 18 %, elasticity
    -2.7 to -0.9, the premium's 3 % to 9 %); a closure's length in whole days; a declared
    range is taken as given."""
    competitor = variants(load_scenario(SCENARIOS / "new_competitor.yaml"))[0]
    got = {a.label: (a.base, a.low, a.high) for a in key_assumptions(competitor)}
    assert got == {"share loss": (12, 6, 18), "price elasticity": (-1.8, pytest.approx(-2.7), pytest.approx(-0.9)),
                   "Premium +5 %: share loss": (6, 3, 9)}
    closure = key_assumptions(load_scenario(SCENARIOS / "port_closure.yaml"))
    assert [(a.label, a.base, a.low, a.high) for a in closure] == [("closure length", 21, 11, 31)]
    text = (SCENARIOS / "new_competitor.yaml").read_text().replace(
        "    elasticity: -1.8\n", "    elasticity: -1.8\n    ranges: {share_loss_pct: [8, 20]}\n")
    declared = tmp_path / "declared.yaml"
    declared.write_text(text.replace("extends: baseline", f"extends: {SCENARIOS / 'baseline.yaml'}"))
    got = {a.label: (a.low, a.high) for a in key_assumptions(variants(load_scenario(declared))[0])}
    assert got["share loss"] == (8, 20)


@pytest.mark.parametrize("ranges, says", [
    ("{share_loss_pct: [14, 20]}", "must hold its value 12"),
    ("{elasticity: [-2, 1]}", "within -10 to 0"),
    ("{days: [10, 30]}", "'days' is not a key assumption here; give one of ['elasticity', 'share_loss_pct']"),
])
def test_a_range_that_cannot_be_is_a_located_error(tmp_path, ranges, says):
    text = (SCENARIOS / "new_competitor.yaml").read_text().replace(
        "    elasticity: -1.8\n", f"    elasticity: -1.8\n    ranges: {ranges}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("extends: baseline", f"extends: {SCENARIOS / 'baseline.yaml'}"))
    with pytest.raises(InputError) as caught:
        load_scenario(bad)
    assert [p.where.startswith("events[0]") for p in caught.value.problems] == [True]
    assert says in str(caught.value)


def test_a_strategys_range_needs_a_share_loss_of_its_own(tmp_path):
    text = (SCENARIOS / "new_competitor.yaml").read_text().replace(
        "        price_change_pct: 0\n", "        price_change_pct: 0\n        ranges: {share_loss_pct: [1, 5]}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("extends: baseline", f"extends: {SCENARIOS / 'baseline.yaml'}"))
    with pytest.raises(InputError, match="has no share_loss_pct of its own") as caught:
        load_scenario(bad)
    assert caught.value.problems[0].where.startswith("events[0].strategies[0]")


def test_no_sensitivity_runs_nothing_more(tmp_path):
    """`twin compare --no-sensitivity`: the scenarios' runs only, and a report without the
    assumptions' section."""
    net = write_single_hub(tmp_path / "net")
    base = write_scenario(tmp_path / "base.yaml", net)
    event = dict(type="competitor_entry", start="2026-01-05", share_loss_pct=12, elasticity=-1.8,
                 strategies=[dict(name="Hold"), dict(name="Cut", price_change_pct=-5)])
    competitor = write_scenario(tmp_path / "entry.yaml", net, name="Entry", events=[event])
    out = tmp_path / "out"
    assert main(["compare", str(base), str(competitor), "-n", "2", "--workers", "1", "--no-sensitivity",
                 "--out", str(out), "-q"]) == 0
    assert not (out / "sensitivity").exists() and not (out / "sensitivity.csv").exists()
    assert "What the recommendation rests on" not in (out / "report.md").read_text()


def test_an_assumption_with_no_plan_at_one_end_is_left_out_with_a_warning(tmp_path, capsys):
    """A line outage of 14 days (written) leaves time to clear the backlog by the end, on
    overtime (so it costs margin, and is a named risk); one of 300 (its declared range's
    end) does not, so that run has no plan: the comparison says so, finishes, and the
    report shows the rest."""
    net = write_single_hub(tmp_path / "net", line_hours_per_week=28, hours_per_unit=1.0, overtime_hours_per_week=10)
    common = dict(supply="plan", planning={"clear_backlog_at_end": True})
    base = write_scenario(tmp_path / "base.yaml", net, **common)
    outage = dict(type="line_outage", line="L", start="2026-02-02", days=14, ranges={"days": [7, 300]})
    risk = write_scenario(tmp_path / "outage.yaml", net, name="Outage", events=[outage], **common)
    out = tmp_path / "out"
    assert main(["compare", str(base), str(risk), "-n", "2", "--workers", "1", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: Outage | outage length 300 days: no plan (" in err and "cannot be cleared" in err
    moved = pd.read_csv(out / "sensitivity.csv")
    assert moved["value"].tolist() == [7]
    assert not list((out / "sensitivity").rglob("*.partial"))
    assert (out / "report.html").is_file()
