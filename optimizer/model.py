"""The capacity-allocation LP as a Pyomo model, built by small ``define_*`` functions.

Build, solve, read back (STYLE.md habit 4): this module builds. :func:`build_model`
turns a :class:`~optimizer.data.PlanData` into a Pyomo ``ConcreteModel``; the index sets
are worked out once in :class:`Indices` from the tables, so each ``define_*`` function
only declares variables and constraints over them.

The model (periods ``t``; every quantity is units unless named otherwise):

- production ``reg[l,s,t]``, ``ot[l,s,t]`` on a line's regular and overtime hours:
  ``sum_s h[l,s] reg <= regular_hours[l,t]``, ``sum_s h[l,s] ot <= overtime_hours_max[l,t]``;
  with a workforce, a plant's hours are also capped by ``workers[p,t]`` times the hours
  per worker, and ``workers[p,t] = workers[p,t-1] + hire - layoff``;
- a plant ships what its lines make in the period (no finished stock at plants):
  ``sum_l (reg + ot)[l,s,t] = sum_(plant->hub lanes) ship``;
- materials at plants: ``stock[p,k,t] = stock[p,k,t-1] + receipts + arrivals - use``,
  use through the BOM, purchases within each supplier's capacity per period;
- outsourcing ``out[x,s,t] = sum_(partner->hub lanes) ship``, ``sum_s out <= capacity[x]``;
  units reach the hub after the partner's lead time plus the lane's;
- hub flow balance with lead-time offsets: ``inv[h,s,t] = inv[h,s,t-1] + receipts +
  arrivals[t - lead] - departures[t]``; ``sum_s inv[h,s,t] <= storage``; a soft floor
  at the safety stock (a shortfall is paid per unit and period);
- markets: ``arrivals[m,s,t] = demand + backlog[t-1] - backlog[t] - lost``, backlog in
  backorder markets and lost sales in lost-sales markets only;
- lanes: ``sum_items ship <= capacity`` where finite; nothing moves on a closed lane;
- end of horizon: ``inv[h,s,T] >= ending_min``; backlog cleared (when asked); backlog
  still open at the end is charged as lost sales, so the plan gains nothing by leaving
  the last weeks' demand unserved.

Objective: total cost (materials, regular time, overtime, outsourcing, transport,
holding, safety-stock shortfall, backlog per unit-period, lost-sales penalty, hiring,
layoffs), or, as a switch, margin = revenue of delivered units minus those costs
without the lost-sales penalty (the revenue not earned already counts).

``elastic=True`` builds the same model with slack on the requirements that can make it
infeasible (storage capacity, ending inventory, backlog cleared) and minimises the
slack alone: :mod:`optimizer.solve` uses it to say which requirement cannot be met.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
import numpy as np
import pyomo.environ as pyo

from optimizer.data import PlanData

COST_KINDS = ("materials", "regular_time", "overtime", "outsourcing", "transport", "holding",
              "safety_shortfall", "backlog", "lost_sales", "hiring", "layoffs")


@dataclass
class Indices:
    """Index sets and parameter lookups of one :class:`PlanData`, as plain Python."""

    data: PlanData
    T: list[int]
    routes: list[tuple[str, str]]                      # (line, sku)
    hpu: dict[tuple[str, str], float]
    line_plant: dict[str, str]
    arcs: list[tuple[str, str]]                        # (lane, item) pairs that may carry flow
    arc_lead: dict[tuple[str, str], int]               # periods from departure to arrival
    lane_kind: dict[str, tuple[str, str]]              # lane -> (origin kind, destination kind)
    into: dict[tuple[str, str], list[tuple[str, int]]]  # (site, item) -> [(lane, lead)]
    out_of: dict[tuple[str, str], list[str]]           # (site, item) -> [lane]
    hub_items: list[tuple[str, str]]                   # (hub, sku)
    plant_materials: list[tuple[str, str]]             # (plant, material) the plant uses
    plant_skus: list[tuple[str, str]]                  # (plant, sku) the plant makes
    partner_skus: list[tuple[str, str]]
    market_items: list[tuple[str, str]]                # (market, sku) with demand or backlog
    demand: dict[tuple[str, str, int], float]
    receipts: dict[tuple[str, str, int], float]
    closed: set[tuple[str, int]]
    workforce_plants: list[str]

    @property
    def last(self) -> int:
        return self.T[-1]


def indices(data: PlanData) -> Indices:
    """Work out every index set once, from the tables."""
    T = list(range(len(data.periods)))
    position = {p: i for i, p in enumerate(data.periods)}
    kinds = data.site_kinds()
    line_plant = data.lines["plant"].to_dict()
    routes = [tuple(k) for k in data.routings.index]
    hpu = {tuple(k): float(v) for k, v in data.routings.items()}
    makes = defaultdict(set)  # plant -> SKUs
    for line, sku in routes:
        makes[line_plant[line]].add(sku)
    uses = defaultdict(set)  # plant -> materials
    bom_by_sku = defaultdict(list)
    for (sku, material), q in data.bom.items():
        bom_by_sku[sku].append((material, float(q)))
    for plant, skus in makes.items():
        for sku in skus:
            uses[plant].update(m for m, _ in bom_by_sku[sku])
    sells = defaultdict(set)
    for supplier, material in data.supply.index:
        sells[supplier].add(material)
    stocks = defaultdict(set)
    for hub, sku in data.hub_stock.index:
        stocks[hub].add(sku)
    partner_makes = defaultdict(set)
    for partner, sku in data.partner_skus.index:
        partner_makes[partner].add(sku)
    demand = {(m, s, position[p]): float(q) for (m, s, p), q in data.demand.items() if q > 0 and p in position}
    wanted = defaultdict(set)
    for m, s, _ in demand:
        wanted[m].add(s)
    for (m, s), q in data.initial_backlog.items():
        if q > 0:
            wanted[m].add(s)

    arcs, arc_lead, lane_kind = [], {}, {}
    into, out_of = defaultdict(list), defaultdict(list)
    partner_lead = data.partners["lead_periods"].to_dict()
    for lane, r in data.lanes.iterrows():
        o, d = r["origin"], r["destination"]
        ko, kd = kinds.get(o), kinds.get(d)
        lane_kind[lane] = (ko, kd)
        items = {("supplier", "plant"): sells[o] & uses[d], ("plant", "hub"): makes[o] & stocks[d],
                 ("partner", "hub"): partner_makes[o] & stocks[d], ("hub", "hub"): stocks[o] & stocks[d],
                 ("hub", "market"): wanted[d] & stocks[o]}.get((ko, kd), set())
        lead = int(r["lead_periods"]) + (int(partner_lead[o]) if ko == "partner" else 0)
        for item in sorted(items):
            arcs.append((lane, item))
            arc_lead[(lane, item)] = lead
            into[(d, item)].append((lane, lead))
            out_of[(o, item)].append(lane)
    receipts = {(site, item, position[p]): float(q) for (site, item, p), q in data.receipts.items()
                if p in position}
    closed = {(lane, position[p]) for lane, p in data.lane_closed if p in position}
    return Indices(
        data=data, T=T, routes=routes, hpu=hpu, line_plant=line_plant, arcs=arcs, arc_lead=arc_lead,
        lane_kind=lane_kind, into=dict(into), out_of=dict(out_of),
        hub_items=[tuple(k) for k in data.hub_stock.index],
        plant_materials=sorted((p, k) for p, ks in uses.items() for k in ks),
        plant_skus=sorted((p, s) for p, ss in makes.items() for s in ss),
        partner_skus=[tuple(k) for k in data.partner_skus.index],
        market_items=sorted((m, s) for m, ss in wanted.items() for s in ss),
        demand=demand, receipts=receipts, closed=closed,
        workforce_plants=[p for p in data.workforce.index if p in makes],
    )


def build_model(data: PlanData, elastic: bool = False) -> pyo.ConcreteModel:
    """The Pyomo model of ``data``. ``elastic``: see the module docstring."""
    ix = indices(data)
    m = pyo.ConcreteModel(name="capacity plan")
    m.ix = ix  # plain data, not a Pyomo component: read back uses it
    m.T = pyo.Set(initialize=ix.T, ordered=True)
    define_production(m, ix)
    define_workforce(m, ix)
    define_shipments(m, ix)
    define_materials(m, ix)
    define_outsourcing(m, ix)
    define_hubs(m, ix, elastic)
    define_markets(m, ix, elastic)
    define_costs(m, ix)
    define_objective(m, ix, elastic)
    return m


def _sum(terms) -> pyo.Expression | float:
    terms = list(terms)
    return pyo.quicksum(terms) if terms else 0.0


def define_production(m: pyo.ConcreteModel, ix: Indices) -> None:
    """Regular-time and overtime production on each line, within its hours per period."""
    d = ix.data
    m.reg = pyo.Var(ix.routes, m.T, domain=pyo.NonNegativeReals)
    m.ot = pyo.Var(ix.routes, m.T, domain=pyo.NonNegativeReals)
    by_line = defaultdict(list)
    for line, sku in ix.routes:
        by_line[line].append(sku)
    hours = d.line_hours
    regular = hours["regular_hours"].to_dict()
    overtime = hours["overtime_hours_max"].to_dict()
    labels = d.periods
    keys = [(line, t) for line in by_line for t in ix.T]

    m.line_regular_hours = pyo.Constraint(keys, rule=lambda _, line, t: _sum(
        ix.hpu[line, s] * m.reg[line, s, t] for s in by_line[line]) <= regular.get((line, labels[t]), 0.0))
    m.line_overtime_hours = pyo.Constraint(keys, rule=lambda _, line, t: _sum(
        ix.hpu[line, s] * m.ot[line, s, t] for s in by_line[line]) <= overtime.get((line, labels[t]), 0.0))


def define_workforce(m: pyo.ConcreteModel, ix: Indices) -> None:
    """Workers per plant and period, hired and laid off; they cap the plant's line hours."""
    plants = ix.workforce_plants
    wf = ix.data.workforce
    domain = pyo.NonNegativeIntegers if ix.data.integer_workforce else pyo.NonNegativeReals
    m.workers = pyo.Var(plants, m.T, domain=domain)
    m.hire = pyo.Var(plants, m.T, domain=domain)
    m.layoff = pyo.Var(plants, m.T, domain=domain)
    routes_of = defaultdict(list)
    for line, sku in ix.routes:
        routes_of[ix.line_plant[line]].append((line, sku))

    def balance(_, p, t):
        before = m.workers[p, t - 1] if t > 0 else float(wf.at[p, "workers_initial"])
        return m.workers[p, t] == before + m.hire[p, t] - m.layoff[p, t]

    def regular(_, p, t):
        return (_sum(ix.hpu[r] * m.reg[r + (t,)] for r in routes_of[p])
                <= float(wf.at[p, "hours_per_worker"]) * m.workers[p, t])

    def overtime(_, p, t):
        return (_sum(ix.hpu[r] * m.ot[r + (t,)] for r in routes_of[p])
                <= float(wf.at[p, "overtime_hours_per_worker_max"]) * m.workers[p, t])

    m.workforce_balance = pyo.Constraint(plants, m.T, rule=balance)
    m.workforce_regular_hours = pyo.Constraint(plants, m.T, rule=regular)
    m.workforce_overtime_hours = pyo.Constraint(plants, m.T, rule=overtime)


def define_shipments(m: pyo.ConcreteModel, ix: Indices) -> None:
    """Units (or materials) leaving on each lane in each period, within lane capacity."""
    closed = ix.closed
    m.ship = pyo.Var(ix.arcs, m.T, domain=pyo.NonNegativeReals,
                     bounds=lambda _, lane, item, t: (0.0, 0.0 if (lane, t) in closed else None))
    cap = ix.data.lanes["capacity_units_per_period"].astype(float)
    limited = [lane for lane, c in cap.items() if np.isfinite(c)]
    items = defaultdict(list)
    for lane, item in ix.arcs:
        items[lane].append(item)
    keys = [(lane, t) for lane in limited if items[lane] for t in ix.T if (lane, t) not in closed]
    m.lane_capacity = pyo.Constraint(keys, rule=lambda _, lane, t: _sum(
        m.ship[lane, i, t] for i in items[lane]) <= float(cap[lane]))


def _arrivals(m: pyo.ConcreteModel, ix: Indices, site: str, item: str, t: int):
    return (m.ship[lane, item, t - lead] for lane, lead in ix.into.get((site, item), ()) if t - lead >= 0)


def _departures(m: pyo.ConcreteModel, ix: Indices, site: str, item: str, t: int):
    return (m.ship[lane, item, t] for lane in ix.out_of.get((site, item), ()))


def define_materials(m: pyo.ConcreteModel, ix: Indices) -> None:
    """Materials at plants: bought within supplier capacity, used through the BOM."""
    d = ix.data
    m.material_stock = pyo.Var(ix.plant_materials, m.T, domain=pyo.NonNegativeReals)
    initial = d.material_stock.to_dict()
    bom = defaultdict(list)  # sku -> [(material, qty)]
    for (sku, material), q in d.bom.items():
        bom[sku].append((material, float(q)))
    use = defaultdict(list)  # (plant, material) -> [(line, sku, qty)]
    for line, sku in ix.routes:
        for material, q in bom[sku]:
            use[(ix.line_plant[line], material)].append((line, sku, q))

    def balance(_, p, k, t):
        before = m.material_stock[p, k, t - 1] if t > 0 else initial.get((p, k), 0.0)
        used = _sum(q * (m.reg[line, s, t] + m.ot[line, s, t]) for line, s, q in use[(p, k)])
        return (m.material_stock[p, k, t] == before + ix.receipts.get((p, k, t), 0.0)
                + _sum(_arrivals(m, ix, p, k, t)) - used)

    m.material_balance = pyo.Constraint(ix.plant_materials, m.T, rule=balance)
    capacity = d.supply.to_dict()
    keys = [(u, k, t) for (u, k), c in capacity.items() for t in ix.T if ix.out_of.get((u, k)) and np.isfinite(c)]
    m.supplier_capacity = pyo.Constraint(keys, rule=lambda _, u, k, t: _sum(
        _departures(m, ix, u, k, t)) <= float(capacity[u, k]))


def define_outsourcing(m: pyo.ConcreteModel, ix: Indices) -> None:
    """Units ordered from partners in each period, within their capacity, shipped to hubs."""
    d = ix.data
    m.out = pyo.Var(ix.partner_skus, m.T, domain=pyo.NonNegativeReals)
    skus = defaultdict(list)
    for x, s in ix.partner_skus:
        skus[x].append(s)
    m.partner_output = pyo.Constraint(ix.partner_skus, m.T, rule=lambda _, x, s, t: m.out[x, s, t] == _sum(
        _departures(m, ix, x, s, t)))
    cap = d.partners["capacity_units_per_period"].to_dict()
    partners = [x for x in d.partners.index if skus[x] and np.isfinite(cap[x])]
    m.partner_capacity = pyo.Constraint(partners, m.T, rule=lambda _, x, t: _sum(
        m.out[x, s, t] for s in skus[x]) <= float(cap[x]))


def define_hubs(m: pyo.ConcreteModel, ix: Indices, elastic: bool) -> None:
    """What plants make goes to hubs; hub stock balances arrivals and departures."""
    d = ix.data
    makers = defaultdict(list)  # (plant, sku) -> lines
    for line, sku in ix.routes:
        makers[(ix.line_plant[line], sku)].append(line)
    m.plant_output = pyo.Constraint(ix.plant_skus, m.T, rule=lambda _, p, s, t: _sum(
        m.reg[line, s, t] + m.ot[line, s, t] for line in makers[(p, s)]) == _sum(_departures(m, ix, p, s, t)))
    m.inv = pyo.Var(ix.hub_items, m.T, domain=pyo.NonNegativeReals)
    stock = d.hub_stock
    initial = stock["initial_units"].to_dict()

    def balance(_, h, s, t):
        before = m.inv[h, s, t - 1] if t > 0 else initial[h, s]
        return (m.inv[h, s, t] == before + ix.receipts.get((h, s, t), 0.0) + _sum(_arrivals(m, ix, h, s, t))
                - _sum(_departures(m, ix, h, s, t)))

    m.hub_balance = pyo.Constraint(ix.hub_items, m.T, rule=balance)
    skus = defaultdict(list)
    for h, s in ix.hub_items:
        skus[h].append(s)
    capacity = d.hubs["storage_capacity_units"].to_dict()
    hubs = [h for h in d.hubs.index if skus[h]]
    m.storage_excess = pyo.Var(hubs, m.T, domain=pyo.NonNegativeReals, bounds=(0.0, None if elastic else 0.0))
    m.storage = pyo.Constraint(hubs, m.T, rule=lambda _, h, t: _sum(
        m.inv[h, s, t] for s in skus[h]) - m.storage_excess[h, t] <= float(capacity[h]))
    safety = stock["safety_stock_units"].to_dict()
    guarded = [k for k in ix.hub_items if safety[k] > 0]
    m.below_safety = pyo.Var(guarded, m.T, domain=pyo.NonNegativeReals)
    m.safety_floor = pyo.Constraint(guarded, m.T, rule=lambda _, h, s, t:
                                    m.inv[h, s, t] + m.below_safety[h, s, t] >= float(safety[h, s]))
    ending = stock["ending_min_units"].to_dict()
    targets = [k for k in ix.hub_items if ending[k] > 0]
    m.ending_short = pyo.Var(targets, domain=pyo.NonNegativeReals, bounds=(0.0, None if elastic else 0.0))
    m.ending_inventory = pyo.Constraint(targets, rule=lambda _, h, s:
                                        m.inv[h, s, ix.last] + m.ending_short[h, s] >= float(ending[h, s]))


def define_markets(m: pyo.ConcreteModel, ix: Indices, elastic: bool) -> None:
    """Demand is delivered, backordered (backorder markets) or lost (lost-sales markets)."""
    d = ix.data
    backorder = d.markets["backorder"].to_dict()
    owed = [k for k in ix.market_items if backorder[k[0]]]
    lose = [k for k in ix.market_items if not backorder[k[0]]]
    m.backlog = pyo.Var(owed, m.T, domain=pyo.NonNegativeReals)
    m.lost = pyo.Var(lose, m.T, domain=pyo.NonNegativeReals)
    initial = d.initial_backlog.to_dict()
    owed_set = set(owed)

    def balance(_, mk, s, t):
        delivered = _sum(_arrivals(m, ix, mk, s, t))
        demand = ix.demand.get((mk, s, t), 0.0)
        if (mk, s) in owed_set:
            before = m.backlog[mk, s, t - 1] if t > 0 else initial.get((mk, s), 0.0)
            return delivered == demand + before - m.backlog[mk, s, t]
        return delivered == demand - m.lost[mk, s, t]

    m.market_balance = pyo.Constraint(ix.market_items, m.T, rule=balance)
    cleared = owed if d.clear_backlog_at_end else []
    m.backlog_left = pyo.Var(cleared, domain=pyo.NonNegativeReals, bounds=(0.0, None if elastic else 0.0))
    m.backlog_cleared = pyo.Constraint(cleared, rule=lambda _, mk, s:
                                       m.backlog[mk, s, ix.last] - m.backlog_left[mk, s] <= 0.0)


def define_costs(m: pyo.ConcreteModel, ix: Indices) -> None:
    """One expression per cost kind (:data:`COST_KINDS`), for the objective and the breakdown."""
    d = ix.data
    lines, skus, stock = d.lines, d.skus, d.hub_stock
    material_cost = d.materials.to_dict()
    lane_cost = d.lanes["cost_per_unit"].to_dict()
    partner_cost = d.partner_skus.to_dict()
    wf = d.workforce
    hold = stock["holding_cost_per_unit_period"].to_dict()
    backlog_cost = skus["backlog_cost_per_unit_period"].to_dict()
    lost_cost = skus["lost_sale_cost_per_unit"].to_dict()
    ratio = d.safety_shortfall_cost_ratio
    T = ix.T
    material_arcs = [a for a in ix.arcs if ix.lane_kind[a[0]] == ("supplier", "plant")]
    terms = {
        "materials": (material_cost[k] * m.ship[lane, k, t] for lane, k in material_arcs for t in T),
        "regular_time": [*(ix.hpu[r] * float(lines.at[r[0], "cost_per_hour"]) * m.reg[r + (t,)]
                           for r in ix.routes for t in T),
                         *(float(wf.at[p, "cost_per_worker_period"]) * m.workers[p, t]
                           for p in ix.workforce_plants for t in T)],
        "overtime": (ix.hpu[r] * float(lines.at[r[0], "overtime_cost_per_hour"]) * m.ot[r + (t,)]
                     for r in ix.routes for t in T),
        "outsourcing": (partner_cost[k] * m.out[k + (t,)] for k in ix.partner_skus for t in T),
        "transport": (lane_cost[lane] * m.ship[lane, item, t] for lane, item in ix.arcs for t in T
                      if lane_cost[lane]),
        "holding": (hold[k] * m.inv[k + (t,)] for k in ix.hub_items for t in T if hold[k]),
        "safety_shortfall": (ratio * backlog_cost[k[1]] * m.below_safety[k] for k in m.below_safety),
        "backlog": (backlog_cost[k[1]] * m.backlog[k] for k in m.backlog),
        # backlog still open at the end of the horizon is, for the plan, a lost sale
        "lost_sales": [*(lost_cost[k[1]] * m.lost[k] for k in m.lost),
                       *(lost_cost[s] * m.backlog[mk, s, ix.last] for mk, s in ix.market_items
                         if (mk, s, ix.last) in m.backlog)],
        "hiring": (float(wf.at[k[0], "hire_cost_per_worker"]) * m.hire[k] for k in m.hire),
        "layoffs": (float(wf.at[k[0], "layoff_cost_per_worker"]) * m.layoff[k] for k in m.layoff),
    }
    m.cost = pyo.Expression(COST_KINDS, rule=lambda _, kind: _sum(terms[kind]))
    price = skus["price_per_unit"].to_dict()
    m.revenue = pyo.Expression(expr=_sum(
        price[s] * m.ship[lane, s, t] for lane, s in ix.arcs if ix.lane_kind[lane][1] == "market" for t in T))


def define_objective(m: pyo.ConcreteModel, ix: Indices, elastic: bool) -> None:
    """Minimise cost, or maximise margin; the elastic model minimises requirement slack only."""
    if elastic:
        slack = [*m.storage_excess.values(), *m.ending_short.values(), *m.backlog_left.values()]
        m.objective = pyo.Objective(expr=_sum(slack), sense=pyo.minimize)
    elif ix.data.objective == "margin":
        costs = _sum(m.cost[k] for k in COST_KINDS if k != "lost_sales")
        m.objective = pyo.Objective(expr=m.revenue - costs, sense=pyo.maximize)
    else:
        m.objective = pyo.Objective(expr=_sum(m.cost[k] for k in COST_KINDS), sense=pyo.minimize)
