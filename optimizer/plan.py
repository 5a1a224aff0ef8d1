"""Build, solve, read back: a :class:`Plan` of tidy tables from a :class:`PlanData`.

:func:`make_plan` is the optimizer's one entry point. It builds the model
(:mod:`optimizer.model`), solves it (:mod:`optimizer.solve`), checks the status, and
reads the solution back into long tables keyed by ID and period, the cost breakdown,
the shadow values of line hours and partner capacity, and a ranked bottleneck list.
"""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.data import PlanData
from optimizer.merge import alike_markets, merge_markets, split_markets
from optimizer.model import COST_KINDS, Indices, build_model
from optimizer.solve import PlanError, PlanInfeasible, Solution, SolverOptions, solve

HOT_UTILISATION = 0.95  # a line-period at or above this share of its regular hours is a bottleneck
_TOL = 1e-6


class PlanTimeLimitWarning(UserWarning):
    """HiGHS stopped at its time limit: the plan is feasible but not proven optimal."""


@dataclass
class Plan:
    """A capacity plan as tidy tables (one row per ID x period), with costs and shadow values.

    Shadow values say how much the objective improves per unit of a resource: the value
    of one more regular hour on a line in a period (``lines.hour_value``) and of one
    more unit of partner capacity (``partners.unit_value``).
    """

    status: str                  # "optimal" or "time_limit"
    objective: str               # "cost" or "margin"
    objective_value: float
    costs: pd.Series             # cost kind -> total over the horizon
    revenue: float
    terms: pd.DataFrame          # kind (a cost kind or revenue), item, entity, period, amount: the objective's terms
    production: pd.DataFrame     # line, sku, period, regular_units, overtime_units, regular_hours, overtime_hours
    lines: pd.DataFrame          # line, plant, period, hours available/used, utilisation, hour values
    outsourcing: pd.DataFrame    # partner, sku, period, units
    partners: pd.DataFrame       # partner, period, units, capacity_units, unit_value
    shipments: pd.DataFrame      # lane, origin, destination, item, period, arrival_period, units
    inventory: pd.DataFrame      # hub, sku, period, units, safety_stock_units, below_safety_units
    materials: pd.DataFrame      # plant, material, period, units
    markets: pd.DataFrame        # market, sku, period, demand/delivered/backlog/lost units
    workforce: pd.DataFrame      # plant, period, workers, hired, laid_off
    bottlenecks: pd.DataFrame    # ranked, with a sentence a planner reads
    size: dict[str, int]         # rows, columns, nonzeros
    seconds: dict[str, float]    # build, to_solver, solve, read_back
    warnings: list[str] = field(default_factory=list)
    # period, account, sku, entity, amount: the terms on the account plan, per SKU; set by
    # twin.pipeline (twin.finance.ledger.plan_ledger), None for a plan made on its own
    ledger: pd.DataFrame | None = None

    @property
    def total_cost(self) -> float:
        return float(self.costs.sum())

    def summary(self) -> dict:
        """Objective, status, timings and model size, for ``summary.json``."""
        return dict(status=self.status, objective=self.objective, objective_value=self.objective_value,
                    total_cost=self.total_cost, revenue=self.revenue, costs=self.costs.to_dict(),
                    seconds=self.seconds, model_size=self.size, warnings=self.warnings)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the garbage collector. Building a model creates hundreds of thousands of small
    Pyomo objects and no cyclic garbage; the collector's repeated scans of them cost more
    than the build itself (reference plan: 2.0 s build with, 0.8 s without)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def make_plan(data: PlanData, options: SolverOptions = SolverOptions(), partner_savings: bool = True,
              merge: bool = True) -> Plan:
    """Build, solve and read back the capacity plan of ``data``.

    Parameters
    ----------
    data : PlanData
    options : SolverOptions
    partner_savings : bool
        Also solve once without each partner the plan uses, so the bottleneck list can
        say what outsourcing to it saves (the difference in objective).
    merge : bool
        Solve alike markets as one and split the result back (:mod:`optimizer.merge`:
        exact, a smaller LP).

    Raises
    ------
    PlanInfeasible
        Naming each requirement (storage, ending inventory, backlog cleared) that cannot be met.
    PlanError
        When HiGHS reports the model unbounded or fails.

    Warns
    -----
    PlanTimeLimitWarning
        When the time limit stopped HiGHS before optimality; the best plan found is returned.
    """
    with gc_paused():
        return _make_plan(data, options, partner_savings, alike_markets(data) if merge else {})


def _make_plan(data: PlanData, options: SolverOptions, partner_savings: bool, groups: dict[str, list[str]]) -> Plan:
    started = time.perf_counter()
    whole, data = data, merge_markets(data, groups)
    model = build_model(data)
    build = time.perf_counter() - started
    status, solution = solve(model, options)
    if solution is None:
        raise _explain_failure(whole, status, options)  # named by the markets as the planner knows them
    if status == "time_limit":
        message = (f"HiGHS stopped at its time limit ({options.time_limit_seconds:g} s); the plan is feasible "
                   "but may not be optimal")
        warnings.warn(message, PlanTimeLimitWarning, stacklevel=2)
        solution.warnings.append(message)
    started = time.perf_counter()
    plan = split_markets(read_back(model, solution), whole, groups, tol=_TOL)
    plan.seconds = dict(build=build, **solution.seconds, read_back=time.perf_counter() - started)
    savings = _partner_savings(data, plan, options) if partner_savings else {}
    plan.bottlenecks = bottlenecks(plan, model.ix, savings)
    return plan


def _explain_failure(data: PlanData, status: str, options: SolverOptions) -> PlanError:
    if status in ("infeasible", "infeasible_or_unbounded"):
        elastic = build_model(data, elastic=True)
        _, relaxed = solve(elastic, options)
        if relaxed is not None:
            requirements = _unmet_requirements(elastic, relaxed)
            if requirements:
                return PlanInfeasible(requirements)
        return PlanInfeasible(["the model is infeasible even with storage, ending-inventory and backlog "
                               "requirements relaxed; check that capacities and initial stock are consistent"])
    if status == "unbounded":
        return PlanError("the plan is unbounded: some activity earns without limit; check for negative costs "
                         "or a margin objective with uncapped sales")
    if status == "time_limit":
        return PlanError(f"HiGHS reached its time limit ({options.time_limit_seconds:g} s) before it found a "
                         "feasible plan; allow more time (`time_limit_seconds`)")
    return PlanError(f"HiGHS could not solve the plan ({status}); try a longer time limit or another algorithm")


def _unmet_requirements(model: pyo.ConcreteModel, solution: Solution) -> list[str]:
    ix: Indices = model.ix
    labels = ix.data.periods
    out = []
    for (hub, t), v in solution.var(model.storage_excess).items():
        if v > _TOL:
            out.append(f"hub {hub} storage: {v:,.0f} units over its capacity in {ix.data.period_name} {labels[t]}")
    for (hub, sku), v in solution.var(model.ending_short).items():
        if v > _TOL:
            out.append(f"ending inventory of {sku} at hub {hub}: {v:,.0f} units short of the minimum")
    for (market, sku), v in solution.var(model.backlog_left).items():
        if v > _TOL:
            out.append(f"backlog of {sku} in market {market} cannot be cleared by the end of the horizon: "
                       f"{v:,.0f} units remain (more capacity, outsourcing, or `clear_backlog_at_end: false`)")
    return out


def _frame(series: pd.Series, names: list[str], value: str, labels: list) -> pd.DataFrame:
    """A solution series as a long table; period positions become period labels."""
    if series.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c == value else object) for c in [*names, value]})
    frame = series.rename(value).rename_axis(names).reset_index()
    if "period" in frame:
        frame["period"] = [labels[t] for t in frame["period"]]
    return frame


def read_back(model: pyo.ConcreteModel, solution: Solution) -> Plan:
    """Turn a solution into a :class:`Plan` (without bottlenecks; see :func:`bottlenecks`)."""
    ix: Indices = model.ix
    d = ix.data
    labels = d.periods
    reg, ot = solution.var(model.reg), solution.var(model.ot)
    hpu = pd.Series(ix.hpu).reindex(reg.index.droplevel(2)).to_numpy() if len(reg) else np.zeros(0)
    production = _frame(reg, ["line", "sku", "period"], "regular_units", labels)
    production["overtime_units"] = ot.to_numpy()
    production["regular_hours"] = production["regular_units"] * hpu
    production["overtime_hours"] = production["overtime_units"] * hpu

    used = production.groupby(["line", "period"], sort=False)[["regular_hours", "overtime_hours"]].sum()
    lines = d.line_hours.rename(columns={"regular_hours": "regular_hours_available"}).copy()
    lines.index = lines.index.set_names(["line", "period"])
    lines = lines.join(used.rename(columns={"regular_hours": "regular_hours_used",
                                            "overtime_hours": "overtime_hours_used"})).fillna(0.0)
    lines["utilisation"] = np.divide(lines["regular_hours_used"], lines["regular_hours_available"],
                                     out=np.zeros(len(lines)), where=lines["regular_hours_available"] > 0)
    lines = lines.reset_index()
    lines.insert(1, "plant", lines["line"].map(d.lines["plant"]))
    order = {p: i for i, p in enumerate(labels)}
    lines = lines[lines["period"].isin(order)]
    for name, component in (("hour_value", model.line_regular_hours), ("overtime_hour_value", model.line_overtime_hours)):
        shadow = solution.dual(component)
        shadow.index = pd.MultiIndex.from_tuples([(line, labels[t]) for line, t in shadow.index], names=["line", "period"])
        lines[name] = shadow.reindex(pd.MultiIndex.from_frame(lines[["line", "period"]])).fillna(0.0).to_numpy()
    lines = lines.sort_values(["line", "period"], key=lambda c: c.map(order) if c.name == "period" else c,
                              ignore_index=True)

    outsourcing = _frame(solution.var(model.out), ["partner", "sku", "period"], "units", labels)
    partners = (outsourcing.groupby(["partner", "period"], sort=False)["units"].sum().reset_index()
                if len(outsourcing) else pd.DataFrame(columns=["partner", "period", "units"]))
    partners["capacity_units"] = partners["partner"].map(d.partners["capacity_units_per_period"])
    shadow = solution.dual(model.partner_capacity)
    value = {(x, labels[t]): v for (x, t), v in shadow.items()}
    partners["unit_value"] = [value.get(k, 0.0) for k in zip(partners["partner"], partners["period"])]

    ship = solution.var(model.ship)
    shipments = _frame(ship, ["lane", "item", "period"], "units", labels)
    t_index = ship.index.get_level_values(2).to_numpy() if len(ship) else np.zeros(0, int)
    arrive = np.array([ix.lead(lane, item, t) + t for lane, item, t
                       in zip(shipments["lane"], shipments["item"], t_index)], dtype=int)
    shipments["arrival_period"] = [labels[t] if t < len(labels) else None for t in arrive]
    shipments.insert(1, "origin", shipments["lane"].map(d.lanes["origin"]))
    shipments.insert(2, "destination", shipments["lane"].map(d.lanes["destination"]))
    shipments = shipments[shipments["units"] > _TOL].reset_index(drop=True)

    inventory = _frame(solution.var(model.inv), ["hub", "sku", "period"], "units", labels)
    inventory["safety_stock_units"] = pd.MultiIndex.from_frame(inventory[["hub", "sku"]]).map(
        d.hub_stock["safety_stock_units"].to_dict()) if len(inventory) else []
    below = solution.var(model.below_safety)
    below_by = {(h, s, labels[t]): v for (h, s, t), v in below.items()}
    inventory["below_safety_units"] = [below_by.get(k, 0.0)
                                       for k in zip(inventory["hub"], inventory["sku"], inventory["period"])]
    materials = _frame(solution.var(model.material_stock), ["plant", "material", "period"], "units", labels)

    markets = pd.DataFrame([(mk, s, labels[t]) for mk, s in ix.market_items for t in ix.T],
                           columns=["market", "sku", "period"])
    key = [(mk, s, t) for mk, s in ix.market_items for t in ix.T]
    markets["demand_units"] = [ix.demand.get(k, 0.0) for k in key]
    backlog = solution.var(model.backlog).to_dict()
    lost = solution.var(model.lost).to_dict()
    markets["backlog_units"] = [backlog.get(k, 0.0) for k in key]
    markets["lost_units"] = [lost.get(k, 0.0) for k in key]
    before = [backlog.get((mk, s, t - 1), 0.0) if t > 0 else ix.initial_backlog.get((mk, s), 0.0)
              if (mk, s, t) in backlog else 0.0 for mk, s, t in key]
    markets["delivered_units"] = (markets["demand_units"] + np.asarray(before) - markets["backlog_units"]
                                  - markets["lost_units"]).clip(lower=0.0)
    markets = markets[["market", "sku", "period", "demand_units", "delivered_units", "backlog_units", "lost_units"]]
    route = [ix.market_lane.get((mk, s)) for mk, s, _ in key]
    sent = [(r[0], r[1], mk, s, labels[t - r[2]], labels[t], u) for (mk, s, t), r, u
            in zip(key, route, markets["delivered_units"]) if r is not None and u > _TOL]
    shipments = pd.concat([shipments, pd.DataFrame(sent, columns=["lane", "origin", "destination", "item", "period",
                                                                  "arrival_period", "units"])], ignore_index=True)

    workforce = _frame(solution.var(model.workers), ["plant", "period"], "workers", labels)
    workforce["hired"] = solution.var(model.hire).to_numpy()
    workforce["laid_off"] = solution.var(model.layoff).to_numpy()

    terms = _terms_table(model.keyed_terms, solution, labels)
    costs = terms.groupby("kind")["amount"].sum().reindex(list(COST_KINDS), fill_value=0.0).rename("cost")
    return Plan(status=solution.status, objective=d.objective, objective_value=solution.objective, costs=costs,
                revenue=float(terms.loc[terms["kind"] == "revenue", "amount"].sum()), terms=terms,
                production=production, lines=lines,
                outsourcing=outsourcing, partners=partners, shipments=shipments, inventory=inventory,
                materials=materials, markets=markets, workforce=workforce, bottlenecks=pd.DataFrame(),
                size=solution.size, seconds=dict(solution.seconds), warnings=list(solution.warnings))


TERM_COLUMNS = ["kind", "item", "entity", "period", "amount"]


def _terms_table(keyed: dict[str, list], solution: Solution, labels: list) -> pd.DataFrame:
    """The objective's terms at the solution (``optimizer.model.define_costs``), one row per
    kind x item x entity x period, zeros left out."""
    values = solution.values
    rows = []
    for kind, entries in keyed.items():
        for c, term, (item, entity, t) in entries:
            if isinstance(term, tuple):  # an affine delivery: constant + pairs
                x = term[0] + sum(k * values.get(id(v), 0.0) for k, v in term[1])
            else:
                x = values.get(id(term), 0.0)
            if c * x:
                rows.append((kind, item, entity, t, c * x))
    terms = pd.DataFrame(rows, columns=TERM_COLUMNS)
    terms = terms.groupby(TERM_COLUMNS[:4], sort=False, as_index=False)["amount"].sum()
    terms["period"] = [labels[t] for t in terms["period"]]
    return terms


def _partner_savings(data: PlanData, plan: Plan, options: SolverOptions) -> dict[str, float]:
    """Objective improvement from each partner the plan uses: solve again without it."""
    used = plan.outsourcing.groupby("partner")["units"].sum()
    out = {}
    for partner in used[used > _TOL].index:
        without = replace(data, partner_skus=data.partner_skus.drop(partner, level="partner"))
        model = build_model(without)
        status, solution = solve(model, options)
        if solution is None:
            out[partner] = np.inf  # the plan cannot be made without this partner
            continue
        sign = 1.0 if data.objective == "cost" else -1.0
        out[partner] = sign * (solution.objective - plan.objective_value)
    return out


def _runs(periods: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs [(first, last), ...] of sorted period positions."""
    runs: list[tuple[int, int]] = []
    for t in periods:
        if runs and t == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], t)
        else:
            runs.append((t, t))
    return runs


def bottlenecks(plan: Plan, ix: Indices, partner_savings: dict[str, float] | None = None) -> pd.DataFrame:
    """Ranked bottlenecks: runs of periods where a line is at or above :data:`HOT_UTILISATION`
    of its regular hours or one more hour has value; partners at capacity.

    Ranked by the value of one more hour in every period of the run (sum of shadow
    values). Each row carries a sentence a planner reads, e.g. "Line L3 (plant P1) is at
    98 % of regular hours in weeks 12–16 (...); one more hour of it in any one of these
    weeks lowers the plan's cost by $41.00 (the mean over the 5 weeks; an hour more in each:
    $205.00); the plan adds 120 overtime hours and outsources 500 units of its SKUs to X1
    (outsourcing to X1 saves $9,800 over the horizon)".
    """
    labels = ix.data.periods
    order = {p: i for i, p in enumerate(labels)}
    savings = partner_savings or {}
    made_by = plan.production.groupby("line")["sku"].unique().to_dict() if len(plan.production) else {}
    rows = []
    for line, g in plan.lines.groupby("line", sort=False):
        t = g["period"].map(order).to_numpy()
        hot = (g["utilisation"].to_numpy() >= HOT_UTILISATION) | (g["hour_value"].to_numpy() > _TOL)
        for a, b in _runs(sorted(t[hot])):
            run = g[(t >= a) & (t <= b)]
            skus = set(made_by.get(line, ()))
            out = plan.outsourcing[plan.outsourcing["sku"].isin(skus)
                                   & plan.outsourcing["period"].map(order).between(a, b)]
            by_partner = out.groupby("partner")["units"].sum()
            by_partner = by_partner[by_partner > 0.5]
            period = ix.data.period_name
            worth = run["hour_value"].mean()
            text = (f"Line {line} (plant {run['plant'].iloc[0]}) is at {run['utilisation'].max():.0%} of regular "
                    f"hours in {_span(period, labels, a, b)}; " + (
                        f"one more hour of it {_in_one(period, a, b)} {_gain(plan)} ${worth:,.2f}"
                        + (f" (the mean over the {b - a + 1} {period}s; an hour more in each: "
                           f"${run['hour_value'].sum():,.2f})" if b > a else "")
                        if worth > 0.005 else "more hours there would not lower the cost (capacity elsewhere is as "
                                              "cheap)"))
            extra = []
            if run["overtime_hours_used"].sum() > 0.5:
                extra.append(f"the plan adds {run['overtime_hours_used'].sum():,.0f} overtime hours")
            for partner, units in by_partner.items():
                saving = savings.get(partner)
                note = "" if saving is None else (
                    " (the plan is infeasible without it)" if not np.isfinite(saving)
                    else f" (outsourcing to {partner} saves ${saving:,.0f} over the horizon)")
                extra.append(f"outsources {units:,.0f} units of its SKUs to {partner}{note}")
            if extra:
                text += "; " + " and ".join(extra)
            rows.append(dict(kind="line", resource=line, first_period=labels[a], last_period=labels[b],
                             periods=b - a + 1, peak_utilisation=float(run["utilisation"].max()),
                             value_per_unit=float(run["hour_value"].mean()),
                             value_all_periods=float(run["hour_value"].sum()),
                             overtime_hours=float(run["overtime_hours_used"].sum()),
                             outsourced_units=float(by_partner.sum()), text=text))
    for partner, g in plan.partners.groupby("partner", sort=False):
        t = g["period"].map(order).to_numpy()
        full = (g["units"].to_numpy() >= g["capacity_units"].to_numpy() - 0.5) | (g["unit_value"].to_numpy() > _TOL)
        for a, b in _runs(sorted(t[full])):
            run = g[(t >= a) & (t <= b)]
            saving = savings.get(partner)
            period = ix.data.period_name
            text = (f"Partner {partner} is at capacity ({run['capacity_units'].iloc[0]:,.0f} units per {period}) in "
                    f"{_span(period, labels, a, b)}; one more unit of its capacity {_in_one(period, a, b)} "
                    f"{_gain(plan)} ${run['unit_value'].mean():,.2f}"
                    + (f" (the mean over the {b - a + 1} {period}s)" if b > a else ""))
            if saving is not None and np.isfinite(saving):
                text += f"; outsourcing to it saves ${saving:,.0f} over the horizon"
            rows.append(dict(kind="partner", resource=partner, first_period=labels[a], last_period=labels[b],
                             periods=b - a + 1, peak_utilisation=1.0, value_per_unit=float(run["unit_value"].mean()),
                             value_all_periods=float(run["unit_value"].sum()), overtime_hours=0.0,
                             outsourced_units=float(run["units"].sum()), text=text))
    columns = ["kind", "resource", "first_period", "last_period", "periods", "peak_utilisation", "value_per_unit",
               "value_all_periods", "overtime_hours", "outsourced_units", "text"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["value_all_periods", "peak_utilisation"], ascending=False, ignore_index=True)


def _in_one(period: str, a: int, b: int) -> str:
    return f"in that {period}" if a == b else f"in any one of these {period}s"


def _gain(plan: Plan) -> str:
    """What a shadow value does to the plan's objective, in words."""
    return "lowers the plan's cost by" if plan.objective == "cost" else "raises the plan's margin by"


def _span(name: str, labels: list, a: int, b: int) -> str:
    """ "weeks 12–16 (2027-03-22 to 2027-04-19)": positions count from 1, labels in brackets."""
    if a == b:
        return f"{name} {a + 1} ({labels[a]})"
    return f"{name}s {a + 1}–{b + 1} ({labels[a]} to {labels[b]})"
