"""Speed of the capacity plan (run on demand: `make bench-plan`).

Reports, with the machine it ran on, for the reference scenario and for a generated
large instance (200 SKUs x 20 lines x 52 weeks x 5 hubs x 30 markets):

- model size (rows, columns, non-zeros),
- seconds to build the Pyomo model, to hand it to HiGHS, to solve, to read the plan back,
- the reference plan end to end: from the scenario file to a Plan (imports excluded,
  reported apart), with the forecast made (an empty forecast cache) and kept (read back
  from the cache the first run filled),
- the routes from Pyomo to HiGHS side by side: Pyomo's standard-form compiler into
  highspy (what sop-twin uses), Pyomo's persistent HiGHS interface, and an LP file
  written by Pyomo and read by HiGHS,
- the reference plan with alike markets merged and apart, paired (``--pairs``),
- with ``--shipped``, per shipped scenario: file to Plan in a fresh process (imports
  apart, the forecast kept) and the ``twin plan`` command's wall time (imports included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import pyomo

from bench_sim import machine

from optimizer import PlanData, SolverOptions
from optimizer.model import build_model
from optimizer.plan import gc_paused, make_plan
from optimizer.solve import solve

ROOT = Path(__file__).resolve().parents[1]


def large_instance(skus: int = 200, lines: int = 20, weeks: int = 52, hubs: int = 5, markets: int = 30,
                   seed: int = 7) -> PlanData:
    """A generated instance of the size issue 3 names: 5 plants of 4 lines, each SKU on two
    lines of different plants, every plant ships to every hub, hubs reroute to each other,
    each hub serves 6 markets, one partner makes a quarter of the SKUs, 10 materials from
    3 suppliers. Demand is seasonal with noise, sized to load lines about 85 %."""
    rng = np.random.default_rng(seed)
    plants = [f"P{i}" for i in range(lines // 4)]
    line_ids = [f"L{i:02d}" for i in range(lines)]
    sku_ids = [f"S{i:03d}" for i in range(skus)]
    hub_ids = [f"H{i}" for i in range(hubs)]
    market_ids = [f"M{i:02d}" for i in range(markets)]
    periods = list(pd.date_range("2027-01-04", periods=weeks, freq="7D").date)
    hpu = rng.uniform(0.02, 0.08, skus)
    line_df = pd.DataFrame({"plant": [plants[i // 4] for i in range(lines)],
                            "cost_per_hour": rng.uniform(50, 90, lines)}, index=pd.Index(line_ids, name="line"))
    line_df["overtime_cost_per_hour"] = line_df["cost_per_hour"] * 1.5
    routes = {}
    for s, sku in enumerate(sku_ids):
        a = rng.integers(lines)
        b = (a + 4 * rng.integers(1, len(plants))) % lines  # a line in another plant
        routes[(line_ids[a], sku)] = hpu[s]
        routes[(line_ids[b], sku)] = hpu[s] * rng.uniform(1.0, 1.3)
    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(weeks) / 52)
    base = rng.gamma(2.0, 10.0, (markets, skus))
    demand = rng.poisson(base[:, :, None] * season[None, None, :]).astype(float)
    load = (demand.sum(axis=0) * hpu[:, None]).sum(axis=0).mean()  # hours per week
    hours = load / 0.85 / lines
    m_idx, s_idx, t_idx = np.nonzero(demand)
    demand_series = pd.Series(demand[m_idx, s_idx, t_idx], index=pd.MultiIndex.from_arrays(
        [np.asarray(market_ids)[m_idx], np.asarray(sku_ids)[s_idx], [periods[t] for t in t_idx]],
        names=["market", "sku", "period"]))
    lanes = []
    suppliers = ["U0", "U1", "U2"]
    materials = [f"K{i}" for i in range(10)]
    for u in suppliers:
        for p in plants:
            lanes.append((f"{u}-{p}", u, p, 5 if u == "U2" else 0, 0.5, np.inf))
    for p in plants:
        for h in hub_ids:
            lanes.append((f"{p}-{h}", p, h, 0, rng.uniform(1, 3), np.inf))
    for g in hub_ids:
        for h in hub_ids:
            if g != h:
                lanes.append((f"{g}-{h}", g, h, 0, 3.0, 3000.0))
    for h in hub_ids:
        lanes.append((f"X-{h}", "X", h, 0, 2.5, np.inf))
    for i, mk in enumerate(market_ids):
        lanes.append((f"{hub_ids[i % hubs]}-{mk}", hub_ids[i % hubs], mk, 0, 1.2, np.inf))
    lane_df = pd.DataFrame(lanes, columns=["lane", "origin", "destination", "lead_periods", "cost_per_unit",
                                           "capacity_units_per_period"]).set_index("lane")
    bom = {(sku, materials[k]): 1.0 for sku in sku_ids for k in rng.choice(10, 3, replace=False)}
    supply = {(suppliers[k % 3], mat): 1e6 for k, mat in enumerate(materials)}
    price = rng.uniform(80, 200, skus)
    hub_stock = pd.DataFrame([(h, sku, 50.0, price[s] * 0.5 * 0.22 / 52, 50.0, 50.0)
                              for h in hub_ids for s, sku in enumerate(sku_ids)],
                             columns=["hub", "sku", "initial_units", "holding_cost_per_unit_period",
                                      "safety_stock_units", "ending_min_units"]).set_index(["hub", "sku"])
    idx = lambda keys, names: pd.MultiIndex.from_tuples(list(keys), names=names)  # noqa: E731
    return PlanData(
        periods=periods, period_name="week",
        skus=pd.DataFrame({"price_per_unit": price, "backlog_cost_per_unit_period": price * 0.1,
                           "lost_sale_cost_per_unit": price * 1.1}, index=pd.Index(sku_ids, name="sku")),
        lines=line_df,
        line_hours=pd.DataFrame({"regular_hours": hours, "overtime_hours_max": hours * 0.2},
                                index=idx(((l, p) for l in line_ids for p in periods), ["line", "period"])),
        routings=pd.Series(routes, index=idx(routes, ["line", "sku"])),
        hubs=pd.DataFrame({"storage_capacity_units": 1e7}, index=pd.Index(hub_ids, name="hub")),
        hub_stock=hub_stock,
        markets=pd.DataFrame({"backorder": [i % 3 != 0 for i in range(markets)]},
                             index=pd.Index(market_ids, name="market")),
        demand=demand_series, lanes=lane_df,
        materials=pd.Series(rng.uniform(5, 20, 10), index=pd.Index(materials, name="material")),
        bom=pd.Series(bom, index=idx(bom, ["sku", "material"])),
        supply=pd.Series(supply, index=idx(supply, ["supplier", "material"])),
        partners=pd.DataFrame({"capacity_units_per_period": [2000.0], "lead_periods": [1]},
                              index=pd.Index(["X"], name="partner")),
        partner_skus=pd.Series({("X", sku): price[s] * 0.7 for s, sku in enumerate(sku_ids) if s % 4 == 0}
                               ).rename_axis(["partner", "sku"]),
        clear_backlog_at_end=False,
    )


def timed_plan(data: PlanData, options: SolverOptions) -> dict:
    started = time.perf_counter()
    plan = make_plan(data, options, partner_savings=False)
    return dict(status=plan.status, **plan.size, **{f"seconds_{k}": v for k, v in plan.seconds.items()},
                seconds_total=time.perf_counter() - started, objective=plan.objective_value)


def routes(data: PlanData, options: SolverOptions) -> dict:
    """Seconds from a built model to HiGHS, per route (HiGHS's own solve time excluded)."""
    out = {}
    with gc_paused():
        model = build_model(data)
        _, solution = solve(model, options)
        out["standard_form_to_solver"] = solution.seconds["to_solver"]
        _, solution = solve(model, SolverOptions(**{**options.__dict__, "route": "pyomo"}))
        out["pyomo_persistent_to_solver"] = solution.seconds["to_solver"]
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            model.write(str(Path(tmp) / "plan.lp"), io_options={"symbolic_solver_labels": False})
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.readModel(str(Path(tmp) / "plan.lp"))
            out["lp_file_to_solver"] = time.perf_counter() - started
    return out


def merge_pairs(data: PlanData, options: SolverOptions, pairs: int) -> dict:
    """Seconds to a Plan with alike markets merged (``optimizer.merge``) and apart, run in
    alternating order, as ratios per pair (merged / apart): the host is shared and noisy."""
    seconds: dict[bool, list[float]] = {True: [], False: []}
    for i in range(pairs):
        for merge in ((True, False) if i % 2 == 0 else (False, True)):
            started = time.perf_counter()
            make_plan(data, options, partner_savings=False, merge=merge)
            seconds[merge].append(time.perf_counter() - started)
    ratios = np.array(seconds[True]) / np.array(seconds[False])
    return dict(pairs=pairs, merged_seconds=seconds[True], apart_seconds=seconds[False],
                ratio_median=float(np.median(ratios)), ratio_min=float(ratios.min()), ratio_max=float(ratios.max()))


SHIPPED = ("baseline", "port_closure", "supplier_delay", "line_outage", "demand_spike_small", "demand_spike_large",
           "new_competitor")
# file to Plan in a fresh interpreter, imports apart: the seconds after the imports
_FILE_TO_PLAN = """
import sys, time
from twin import pipeline
from twin.scenario import variants
import twin.agreement, twin.planning, optimizer
started = time.perf_counter()
for variant in variants(pipeline.load(sys.argv[1])):
    pipeline.prepare(variant)
print(time.perf_counter() - started)
"""


def shipped_plans(cache_dir: str) -> list[dict]:
    """Per shipped scenario, the forecast kept on disk (the first command fills the cache):
    file to Plan in a fresh process with imports apart, and the ``twin plan`` command's wall
    time, imports included (a competitor entry plans each pricing strategy)."""
    env = {**os.environ, "SOP_TWIN_CACHE": cache_dir}
    twin = str(Path(sys.executable).with_name("twin"))
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for name in SHIPPED:
            path = str(ROOT / "scenarios" / f"{name}.yaml")
            subprocess.run([twin, "plan", path, "--out", f"{out}/fill", "-q"], env=env, check=True,
                           capture_output=True)  # fills the forecast cache
            started = time.perf_counter()
            subprocess.run([twin, "plan", path, "--out", f"{out}/{name}", "-q"], env=env, check=True,
                           capture_output=True)
            command = time.perf_counter() - started
            inside = float(subprocess.run([sys.executable, "-c", _FILE_TO_PLAN, path], env=env, check=True,
                                          capture_output=True, text=True).stdout.split()[-1])
            rows.append(dict(scenario=name, seconds_file_to_plan_imports_apart=round(inside, 2),
                             seconds_twin_plan_command=round(command, 2)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--skip-large", action="store_true", help="only the reference scenario")
    parser.add_argument("--time-limit", type=float, default=1800.0, help="HiGHS time limit per solve")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--pairs", type=int, default=5, help="paired runs, alike markets merged and apart")
    parser.add_argument("--shipped", action="store_true",
                        help="also file to Plan and the `twin plan` command on each shipped scenario")
    args = parser.parse_args()
    options = SolverOptions(time_limit_seconds=args.time_limit)
    result: dict = dict(machine=machine(), pyomo=pyomo.version.version, highspy=version("highspy"))

    from twin.demand import forecast
    from twin.demand.cache import CACHE_ENV
    from twin.planning import plan_data
    from twin.scenario import load_scenario
    from twin.pipeline import sim_inputs

    # imports, counted apart in a fresh interpreter: a CLI run pays them once
    code = "import time; t = time.perf_counter(); import twin.planning; print(time.perf_counter() - t)"
    result["seconds_imports"] = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                     check=True, cwd=ROOT).stdout)
    make_plan(large_instance(skus=10, lines=8, weeks=12, hubs=2, markets=4))  # warm-up: lazy imports inside Pyomo
    with tempfile.TemporaryDirectory() as cache_dir:
        os.environ[CACHE_ENV] = cache_dir  # an empty forecast cache, then the one the first run filled
        seconds = {}
        for when in ("forecast_made", "forecast_kept"):
            forecast._CACHE.clear()  # a new process: only the disk remembers
            started = time.perf_counter()
            loaded = load_scenario(args.scenario)
            data = plan_data(loaded, sim_inputs(loaded))
            make_plan(data, options)  # as `twin plan` makes it
            seconds[when] = time.perf_counter() - started
    result["reference"] = timed_plan(data, options)
    for when, value in seconds.items():
        result["reference"][f"seconds_file_to_plan_{when}"] = value
    result["reference"]["routes"] = routes(data, options)
    result["reference"]["alike_markets_merged_vs_apart"] = merge_pairs(data, options, args.pairs)
    if args.shipped:
        with tempfile.TemporaryDirectory() as cache_dir:
            result["shipped"] = shipped_plans(cache_dir)
    if not args.skip_large:
        data = large_instance()
        result["large"] = timed_plan(data, options)
        result["large"]["routes"] = routes(data, options)
    print(json.dumps(result, indent=2, default=str))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
