"""Where the plan and the twin should agree: the deterministic twin and the plan-against-twin table.

The capacity plan is made for expected demand, expected line availability and fixed lead
times. :func:`deterministic` gives the twin the same world: demand equal to what the plan
expects to meet (the forecast, or the demand model's mean, times every event's demand
factor, spread evenly over each week's days, fractional units allowed), every lane's
lead time at its mean, breakdowns replaced by the lines' expected availability MTBF /
(MTBF + MTTR) on their regular hours, suppliers on time but for the events' expected delay
(days x probability). Executing the plan in that world, the twin should deliver what the
plan promises; :func:`plan_vs_twin` lays the two side by side, so that what still differs
is a difference of modelling (days against weeks, service on the day against service in
the week), not of luck.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twin.montecarlo import replication_rng
from twin.sim.inputs import Lane, SimInput
from twin.sim.kpis import costs_by_kind
from twin.sim.model import Replication, Twin, simulate

if TYPE_CHECKING:  # the optimizer is wired in by the pipeline
    from optimizer import Plan

@dataclass(frozen=True)
class StartState:
    """What the network holds at the horizon's start, as the plan starts from it.

    Arrival calendars count days from the horizon's start. Work the hubs ordered from the
    lines during the warm-up and the lines have not made is not here: at the horizon's
    start the plan takes over the lines' schedule (``twin.sim.model``, plan phase).
    """

    onhand: np.ndarray             # (H, S) finished goods at the hubs
    hub_arrivals: np.ndarray       # (D, H, S) finished goods on their way, by day of arrival
    partner_owed: np.ndarray       # (X, H, S) ordered from partners, not yet dispatched
    backlog: np.ndarray            # (M, S) backorders open
    material: np.ndarray           # (P, K) materials at the plants
    material_arrivals: np.ndarray  # (D, P, K) materials on their way, by day of arrival

    @property
    def position(self) -> np.ndarray:
        """(H, S) each hub's inventory position: on hand, on its way and owed by partners."""
        return self.onhand + self.hub_arrivals.sum(axis=0) + self.partner_owed.sum(axis=0)


def warmed_state(inp: SimInput) -> StartState:
    """The state the deterministic twin (:func:`deterministic`) reaches at the end of the
    warm-up, run on the hubs' policies alone as every replication's warm-up is: the state
    the plan starts from, the same for every replication. Without warm-up, the twin's
    starting state (the policies' initial stock, a primed material pipeline).

    The warm-up runs on the events the plan knows of: a shipment at sea when a known port
    closes lands, here as in the twin, when the port reopens; the plan is not told of an
    event it does not know through the state it starts from."""
    known_world = replace(inp, timeline=inp.known, supply="policy", rules=())
    twin = Twin(deterministic(known_world), replication_rng(0, 0))
    w = inp.warmup_days
    if w:
        twin.env.run(until=w)
    return StartState(onhand=twin.onhand.copy(), hub_arrivals=twin.hub_inbound[w:].copy(),
                      partner_owed=twin.partner_owed.copy(), backlog=twin.backlog.copy(),
                      material=twin.material.copy(), material_arrivals=twin.plant_inbound[w:].copy())


PLAN_VS_TWIN_COLUMNS = ["kpi", "entity", "period", "plan", "twin", "difference"]
# the cost kinds both sides count the same way; backlog, lost sales and shortage are priced
# differently (the plan per unit-week of backlog, the twin per unit short on the day)
SHARED_COST_KINDS = ("materials", "regular_time", "overtime", "outsourcing", "transport", "holding")


SOURCES = ("demand", "lead_times", "breakdowns")  # what randomness the twin has, by source


def with_random(inp: SimInput, sources: frozenset[str] | set[str] = frozenset()) -> SimInput:
    """The twin's inputs with the randomness of every source not in ``sources`` replaced by
    its expectation: ``demand`` (drawn, or the expected demand), ``lead_times`` (lanes'
    transit days, suppliers' lateness and the events' delays), ``breakdowns`` (or each
    line's expected availability on its regular hours)."""
    changes: dict = {}
    if "demand" not in sources:
        # the rules expect the forecast itself: no bias to correct for when demand is the forecast
        changes.update(demand=replace(inp.demand, model="expected"),
                       weekly_mean=inp.weekly_expected * inp.demand.scale if inp.weekly_expected is not None
                       else None)
    if "lead_times" not in sources:
        def lanes(table: dict[tuple[int, int], Lane]) -> dict[tuple[int, int], Lane]:
            return {key: replace(lane, lead_time_sd_days=0.0, lognormal=False) for key, lane in table.items()}

        timeline = inp.timeline
        expected_delay = timeline.supplier_delay_days * timeline.supplier_delay_probability
        changes.update(timeline=replace(timeline, supplier_delay_days=np.rint(expected_delay),
                                        supplier_delay_probability=(expected_delay > 0).astype(float)),
                       plant_hub_lane=lanes(inp.plant_hub_lane), partner_hub_lane=lanes(inp.partner_hub_lane),
                       hub_hub_lane=lanes(inp.hub_hub_lane), material_lane=lanes(inp.material_lane),
                       supplier_reliability=np.ones_like(inp.supplier_reliability))
    if "breakdowns" not in sources:
        availability = 1.0 / (1.0 + inp.mttr_hours / inp.mtbf_hours)  # 1 where the line never breaks down
        changes.update(regular_hours_per_day=inp.regular_hours_per_day * availability,
                       mtbf_hours=np.full_like(inp.mtbf_hours, np.inf))
    return replace(inp, **changes)


def deterministic(inp: SimInput) -> SimInput:
    """The twin's inputs with every random draw replaced by its expectation (module docstring)."""
    return with_random(inp, frozenset())


def deterministic_against_plan(plan: Plan, inp: SimInput, seed: int) -> pd.DataFrame:
    """:func:`plan_vs_twin` of replication 0 of ``seed`` of the deterministic inputs ``inp``
    (the only draws left are the order of same-day ties; the seed is the run's)."""
    return plan_vs_twin(plan, simulate(inp, replication_rng(seed, 0)))


def plan_vs_twin(plan: Plan, rep: Replication) -> pd.DataFrame:
    """The plan's numbers beside one replication's, per plan week and over the horizon.

    Rows (``kpi, entity, period, plan, twin, difference = twin - plan``; ``period`` is the
    plan week's first day, or ``horizon``):

    - ``demand_units``, ``delivered_units`` and ``lost_units`` per market x family
      (``M01/CORE``), per week and over the horizon (the plan's demand is what it expects:
      the twin's differs by the events the plan does not know of);
    - ``backlog_units`` per market at the end of each week;
    - ``inventory_units`` per hub at the end of each week;
    - ``production_units`` per line per week, and over the horizon;
    - ``cost_<kind>`` over the horizon for the kinds both count alike (:data:`SHARED_COST_KINDS`).
    """
    inp = rep.inp
    w0 = inp.warmup_days
    periods = sorted(set(plan.markets["period"]))
    W = len(periods)
    family = dict(zip(inp.skus, inp.families))
    families = sorted(set(inp.families))
    fam_of = np.array([families.index(f) for f in inp.families])

    def weekly(daily: np.ndarray) -> np.ndarray:
        """(T, ...) daily flows -> (W, ...) sums per plan week."""
        return daily[w0:w0 + 7 * W].reshape(W, 7, *daily.shape[1:]).sum(axis=1)

    def week_end(daily: np.ndarray) -> np.ndarray:
        return daily[w0 + 6:w0 + 7 * W:7]

    def by_family(cube: np.ndarray) -> np.ndarray:
        """(W, M, S) -> (W, M, F)."""
        out = np.zeros((*cube.shape[:2], len(families)))
        np.add.at(out, (slice(None), slice(None), fam_of), cube)
        return out

    rows: list[pd.DataFrame] = []

    def add(kpi: str, planned: pd.DataFrame, twin: np.ndarray, entities: list[str], horizon: bool) -> None:
        """``planned``: a (period x entity) table; ``twin``: (W, entities) aligned to it."""
        planned = planned.reindex(index=periods, columns=entities, fill_value=0.0).fillna(0.0)
        frame = pd.DataFrame({"kpi": kpi, "entity": np.tile(entities, W), "period": np.repeat(periods, len(entities)),
                              "plan": planned.to_numpy().ravel(), "twin": twin.ravel()})
        if horizon:
            frame = pd.concat([frame, pd.DataFrame({"kpi": kpi, "entity": entities, "period": "horizon",
                                                    "plan": planned.sum().to_numpy(), "twin": twin.sum(axis=0)})])
        rows.append(frame)

    mk = plan.markets.assign(entity=plan.markets["market"] + "/" + plan.markets["sku"].map(family))
    cells = [f"{m}/{f}" for m in inp.markets for f in families]
    for kpi, daily in (("demand_units", rep.demand), ("delivered_units", rep.shipped), ("lost_units", rep.lost)):
        planned = mk.pivot_table(index="period", columns="entity", values=kpi, aggfunc="sum")
        add(kpi, planned, by_family(weekly(daily)).reshape(W, -1), cells, horizon=True)
    add("backlog_units", plan.markets.pivot_table(index="period", columns="market", values="backlog_units",
                                                  aggfunc="sum"), week_end(rep.backlog).sum(axis=2), inp.markets, horizon=False)
    add("inventory_units", plan.inventory.pivot_table(index="period", columns="hub", values="units", aggfunc="sum"),
        week_end(rep.inventory).sum(axis=2), inp.hubs, horizon=False)
    made = plan.production.assign(units=plan.production["regular_units"] + plan.production["overtime_units"])
    add("production_units", made.pivot_table(index="period", columns="line", values="units", aggfunc="sum"),
        weekly(rep.produced), inp.lines, horizon=True)

    twin_costs = costs_by_kind(rep, w0, w0 + 7 * W)
    rows.append(pd.DataFrame({"kpi": [f"cost_{k}" for k in SHARED_COST_KINDS], "entity": "all", "period": "horizon",
                              "plan": [float(plan.costs.get(k, 0.0)) for k in SHARED_COST_KINDS],
                              "twin": [twin_costs[k] for k in SHARED_COST_KINDS]}))
    table = pd.concat(rows, ignore_index=True)
    table["period"] = table["period"].astype(str)
    table["difference"] = table["twin"] - table["plan"]
    return table[PLAN_VS_TWIN_COLUMNS]


def plan_fill_rate(plan: Plan) -> float:
    """The plan's promised fill rate: demand met in the week it is demanded (not lost, not
    added to the backlog) over demand."""
    mk = plan.markets.sort_values(["market", "sku", "period"])
    grown = mk.groupby(["market", "sku"])["backlog_units"].diff().fillna(mk["backlog_units"]).clip(lower=0.0)
    demand = float(mk["demand_units"].sum())
    return 1.0 - (float(mk["lost_units"].sum()) + float(grown.sum())) / demand if demand > 0 else float("nan")


def explain_gap(plan: Plan, inp: SimInput, replications: int, seed: int,
                executor=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the gap between the plan's promised fill rate and the twin's mean by source.

    ``bucketing`` is the deterministic twin against the plan (days against weeks, service on
    the day against service in the week); each source's part is its Shapley value
    (``twin.attribution``) over the twin run with that source's randomness on or off, the
    same ``replications`` of ``seed`` every time (common random numbers). The parts add up
    to ``twin - plan`` exactly. Returns the rows ``part, value`` (parts ``plan``,
    ``bucketing``, each of :data:`SOURCES`, ``twin``) and the KPI rows of the twin with every
    source random (for its interval).
    """
    from twin.attribution import shapley
    from twin.montecarlo import run

    means, runs = {}, {}

    def fill(sources: frozenset[str]) -> float:
        kpis = run(with_random(inp, sources), replications, seed, executor).kpis
        runs[sources] = kpis
        total = kpis[(kpis["kpi"] == "fill_rate") & (kpis["scope"] == "total")]
        means[sources] = float(total["value"].mean())
        return means[sources]

    parts = shapley(SOURCES, fill)
    promised = plan_fill_rate(plan)
    rows = [("plan", promised), ("bucketing", means[frozenset()] - promised), *parts.items(),
            ("twin", means[frozenset(SOURCES)])]
    return pd.DataFrame(rows, columns=["part", "value"]), runs[frozenset(SOURCES)]
