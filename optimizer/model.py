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
  arrivals[t - lead] - departures[t]``; a lead of ``n + f`` periods (``0 < f < 1``, a
  lane of 3 days in weekly periods) lands ``1 - f`` of a period's departures ``n`` periods
  later and ``f`` one period after that, as departures spread evenly over a period do;
  ``sum_s inv[h,s,t] <= storage``; a soft floor at the safety stock (a shortfall is paid
  per unit and period);
- markets: ``arrivals[m,s,t] = demand + backlog[t-1] - backlog[t] - lost``, backlog in
  backorder markets and lost sales in lost-sales markets only;
- lanes: ``sum_items ship <= capacity`` where finite; nothing moves on a closed lane;
- end of horizon: ``inv[h,s,T] >= ending_min``; backlog cleared (when asked); backlog
  still open at the end is charged as lost sales, so the plan gains nothing by leaving
  the last weeks' demand unserved.

Objective: total cost (materials as used, regular time, overtime, outsourcing, transport,
holding (finished goods at hubs), material holding (at plants), safety-stock shortfall, backlog
per unit-period, lost-sales penalty, hiring, layoffs), or, as a switch, margin = revenue of delivered units minus those costs
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
from pyomo.core.expr.numeric_expr import LinearExpression

from optimizer.data import PlanData

COST_KINDS = ("materials", "regular_time", "overtime", "outsourcing", "transport", "holding", "material_holding",
              "safety_shortfall", "backlog", "lost_sales", "hiring", "layoffs")


@dataclass
class Indices:
    """Index sets and parameter lookups of one :class:`PlanData`, as plain Python."""

    data: PlanData
    T: list[int]
    routes: list[tuple[str, str]]                      # (line, sku)
    hpu: dict[tuple[str, str], float]
    line_plant: dict[str, str]
    arcs: list[tuple[str, str]]                        # (lane, item) pairs with a shipment variable
    arc_lead: dict[tuple[str, str], float]             # periods from departure to arrival (fractional: split)
    lane_kind: dict[str, tuple[str, str]]              # lane -> (origin kind, destination kind)
    into: dict[tuple[str, str], list[tuple[str, float]]]  # (site, item) -> [(lane, lead)]
    out_of: dict[tuple[str, str], list[str]]           # (site, item) -> [lane]
    hub_items: list[tuple[str, str]]                   # (hub, sku)
    plant_materials: list[tuple[str, str]]             # (plant, material) the plant uses
    plant_skus: list[tuple[str, str]]                  # (plant, sku) the plant makes
    partner_skus: list[tuple[str, str]]
    market_items: list[tuple[str, str]]                # (market, sku) with demand or backlog
    market_lane: dict[tuple[str, str], tuple[str, str, int]]  # (market, sku) -> (lane, hub, lead)
    serves: dict[tuple[str, str], list[tuple[str, int]]]  # (hub, sku) -> [(market, lead)]
    demand: dict[tuple[str, str, int], float]
    initial_backlog: dict[tuple[str, str], float]
    receipts: dict[tuple[str, str, int], float]
    closed: set[tuple[str, int]]
    lead_extra: dict[tuple[str, int], float]          # (lane, departure period) -> extra periods
    delayed_lanes: set[str]                            # lanes with any extra lead time
    workforce_plants: list[str]

    def lead(self, lane: str, item: str, t: int) -> float:
        """Periods from a departure on ``lane`` in period ``t`` to its arrival."""
        return self.arc_lead[(lane, item)] + self.lead_extra.get((lane, t), 0)

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
    market_lane, serves = {}, defaultdict(list)
    partner_lead = data.partners["lead_periods"].to_dict()
    for lane, r in data.lanes.iterrows():
        o, d = r["origin"], r["destination"]
        ko, kd = kinds.get(o), kinds.get(d)
        lane_kind[lane] = (ko, kd)
        items = {("supplier", "plant"): sells[o] & uses[d], ("plant", "hub"): makes[o] & stocks[d],
                 ("partner", "hub"): partner_makes[o] & stocks[d], ("hub", "hub"): stocks[o] & stocks[d],
                 ("hub", "market"): wanted[d] & stocks[o]}.get((ko, kd), set())
        lead = float(r["lead_periods"]) + (float(partner_lead[o]) if ko == "partner" else 0.0)
        if kd == "market" and lead != int(lead):
            raise ValueError(f"lane {lane} to market {d}: lead_periods {lead} must be a whole number of periods")
        for item in sorted(items):
            if kd == "market":  # deliveries follow from the market's demand and backlog: no variable
                lead = int(lead)
                if (d, item) in market_lane:
                    raise ValueError(f"market {d} gets {item} through two lanes ({market_lane[d, item][0]}, {lane}); "
                                     "the plan serves each market and SKU through one lane")
                market_lane[(d, item)] = (lane, o, lead)
                serves[(o, item)].append((d, lead))
                arc_lead[(lane, item)] = lead
                continue
            arcs.append((lane, item))
            arc_lead[(lane, item)] = lead
            into[(d, item)].append((lane, lead))
            out_of[(o, item)].append(lane)
    receipts = {(site, item, position[p]): float(q) for (site, item, p), q in data.receipts.items()
                if p in position}
    closed = {(lane, position[p]) for lane, p in data.lane_closed if p in position}
    lead_extra = {(lane, position[p]): float(v) for (lane, p), v in data.lead_extra.items() if p in position and v}
    return Indices(
        data=data, T=T, routes=routes, hpu=hpu, line_plant=line_plant, arcs=arcs, arc_lead=arc_lead,
        lane_kind=lane_kind, into=dict(into), out_of=dict(out_of),
        hub_items=[tuple(k) for k in data.hub_stock.index],
        plant_materials=sorted((p, k) for p, ks in uses.items() for k in ks),
        plant_skus=sorted((p, s) for p, ss in makes.items() for s in ss),
        partner_skus=[tuple(k) for k in data.partner_skus.index],
        market_items=sorted((m, s) for m, ss in wanted.items() for s in ss),
        market_lane=market_lane, serves=dict(serves),
        demand=demand, initial_backlog={k: float(v) for k, v in data.initial_backlog.items()},
        receipts=receipts, closed=closed, lead_extra=lead_extra, delayed_lanes={lane for lane, _ in lead_extra},
        workforce_plants=[p for p in data.workforce.index if p in makes],
    )


def build_model(data: PlanData, elastic: bool = False) -> pyo.ConcreteModel:
    """The Pyomo model of ``data``. ``elastic``: see the module docstring."""
    ix = indices(data)
    m = pyo.ConcreteModel(name="capacity plan")
    m.ix = ix  # plain data, not a Pyomo component: read back uses it
    m.vd = {}  # variable name -> {index: VarData}: plain dict lookups while building
    m.T = pyo.Set(initialize=ix.T, ordered=True)
    define_production(m, ix)
    define_workforce(m, ix)
    define_shipments(m, ix)
    define_materials(m, ix)
    define_outsourcing(m, ix)
    define_markets(m, ix, elastic)  # before the hubs: what leaves a hub is what its markets get
    define_hubs(m, ix, elastic)
    define_costs(m, ix)
    define_objective(m, ix, elastic)
    return m


# Expressions are built as (constant, [(coefficient, variable)]) and handed to Pyomo as one
# LinearExpression each: much faster than operator overloading on hundreds of thousands of
# terms (measured in benchmarks/README.md).
Affine = tuple[float, list]


def _expr(constant: float, pairs: list) -> LinearExpression:
    return LinearExpression(constant=constant, linear_coefs=[c for c, _ in pairs],
                            linear_vars=[v for _, v in pairs])


def _le(pairs: list, rhs: float, constant: float = 0.0):
    return (None, _expr(constant, pairs), rhs)


def _ge(pairs: list, rhs: float, constant: float = 0.0):
    return (rhs, _expr(constant, pairs), None)


def _eq(pairs: list, rhs: float, constant: float = 0.0):
    return _expr(constant, pairs) == rhs


def _var(m: pyo.ConcreteModel, name: str, *index, **options) -> dict:
    """Declare a variable and return its {index: VarData} lookup (also kept in ``m.vd``)."""
    options.setdefault("domain", pyo.NonNegativeReals)
    setattr(m, name, pyo.Var(*index, **options))
    m.vd[name] = lookup = dict(getattr(m, name).items())
    return lookup


def define_production(m: pyo.ConcreteModel, ix: Indices) -> None:
    """Regular-time and overtime production on each line, within its hours per period."""
    d = ix.data
    reg = _var(m, "reg", ix.routes, m.T)
    ot = _var(m, "ot", ix.routes, m.T)
    by_line = defaultdict(list)
    for line, sku in ix.routes:
        by_line[line].append(sku)
    regular = d.line_hours["regular_hours"].to_dict()
    overtime = d.line_hours["overtime_hours_max"].to_dict()
    labels = d.periods
    keys = [(line, t) for line in by_line for t in ix.T]
    m.line_regular_hours = pyo.Constraint(keys, rule=lambda _, line, t: _le(
        [(ix.hpu[line, s], reg[line, s, t]) for s in by_line[line]], regular.get((line, labels[t]), 0.0)))
    m.line_overtime_hours = pyo.Constraint(keys, rule=lambda _, line, t: _le(
        [(ix.hpu[line, s], ot[line, s, t]) for s in by_line[line]], overtime.get((line, labels[t]), 0.0)))


def define_workforce(m: pyo.ConcreteModel, ix: Indices) -> None:
    """Workers per plant and period, hired and laid off; they cap the plant's line hours."""
    plants = ix.workforce_plants
    wf = ix.data.workforce
    domain = pyo.NonNegativeIntegers if ix.data.integer_workforce else pyo.NonNegativeReals
    workers = _var(m, "workers", plants, m.T, domain=domain)
    hire = _var(m, "hire", plants, m.T, domain=domain)
    layoff = _var(m, "layoff", plants, m.T, domain=domain)
    reg, ot = m.vd["reg"], m.vd["ot"]
    routes_of = defaultdict(list)
    for line, sku in ix.routes:
        routes_of[ix.line_plant[line]].append((line, sku))

    def balance(_, p, t):
        pairs = [(1.0, workers[p, t]), (-1.0, hire[p, t]), (1.0, layoff[p, t])]
        if t > 0:
            return _eq(pairs + [(-1.0, workers[p, t - 1])], 0.0)
        return _eq(pairs, float(wf.at[p, "workers_initial"]))

    def hours(var: dict, per_worker: str):
        return lambda _, p, t: _le([(ix.hpu[r], var[r + (t,)]) for r in routes_of[p]]
                                   + [(-float(wf.at[p, per_worker]), workers[p, t])], 0.0)

    m.workforce_balance = pyo.Constraint(plants, m.T, rule=balance)
    m.workforce_regular_hours = pyo.Constraint(plants, m.T, rule=hours(reg, "hours_per_worker"))
    m.workforce_overtime_hours = pyo.Constraint(plants, m.T, rule=hours(ot, "overtime_hours_per_worker_max"))


def define_shipments(m: pyo.ConcreteModel, ix: Indices) -> None:
    """Units (or materials) leaving on each lane in each period, within lane capacity."""
    closed = ix.closed
    ship = _var(m, "ship", ix.arcs, m.T,
                bounds=lambda _, lane, item, t: (0.0, 0.0 if (lane, t) in closed else None))
    cap = ix.data.lanes["capacity_units_per_period"].astype(float)
    limited = [lane for lane, c in cap.items() if np.isfinite(c)]
    items = defaultdict(list)
    for lane, item in ix.arcs:
        items[lane].append(item)
    keys = [(lane, t) for lane in limited if items[lane] for t in ix.T if (lane, t) not in closed]
    m.lane_capacity = pyo.Constraint(keys, rule=lambda _, lane, t: _le(
        [(1.0, ship[lane, i, t]) for i in items[lane]], float(cap[lane])))


def _arrivals(m: pyo.ConcreteModel, ix: Indices, site: str, item: str, t: int) -> list:
    """Shipments landing at ``site`` in period ``t``: departures ``lead`` periods earlier
    (a fractional lead splits them over two periods, module docstring), and, on a lane with
    extra lead time in some periods, departures that take longer."""
    ship = m.vd["ship"]
    out = []
    for lane, lead in ix.into.get((site, item), ()):
        first = int(np.floor(lead))
        departures = (range(max(0, t - first - 1), t - first + 1) if lane not in ix.delayed_lanes
                      else range(max(0, t - first - 53), t - first + 1))
        for tau in departures:
            total = lead + ix.lead_extra.get((lane, tau), 0.0)
            whole, part = int(np.floor(total)), total - np.floor(total)
            share = (1.0 - part if tau + whole == t else part if tau + whole + 1 == t else 0.0)
            if share > 0.0:
                out.append((share, ship[lane, item, tau]))
    return out


def _departures(m: pyo.ConcreteModel, ix: Indices, site: str, item: str, t: int) -> Affine:
    """What leaves ``site`` in period ``t``: shipments, and deliveries reaching its markets at t + lead."""
    ship = m.vd["ship"]
    constant, pairs = 0.0, [(1.0, ship[lane, item, t]) for lane in ix.out_of.get((site, item), ())]
    for market, lead in ix.serves.get((site, item), ()):
        if t + lead <= ix.last:
            c, p = _delivered(m, ix, market, item, t + lead)
            constant += c
            pairs += p
    return constant, pairs


def _delivered(m: pyo.ConcreteModel, ix: Indices, market: str, sku: str, t: int) -> Affine:
    """Units delivered to ``market`` in period ``t``: demand + backlog[t-1] - backlog[t] in a
    backorder market, demand - lost[t] in a lost-sales market."""
    demand = ix.demand.get((market, sku, t), 0.0)
    lost, backlog = m.vd["lost"], m.vd["backlog"]
    if (market, sku, t) in lost:
        return demand, [(-1.0, lost[market, sku, t])]
    pairs = [(-1.0, backlog[market, sku, t])]
    if t > 0:
        pairs.append((1.0, backlog[market, sku, t - 1]))
    else:
        demand += ix.initial_backlog.get((market, sku), 0.0)
    return demand, pairs


def define_materials(m: pyo.ConcreteModel, ix: Indices) -> None:
    """Materials at plants: bought within supplier capacity, used through the BOM."""
    d = ix.data
    stock = _var(m, "material_stock", ix.plant_materials, m.T)
    reg, ot = m.vd["reg"], m.vd["ot"]
    initial = d.material_stock.to_dict()
    bom = defaultdict(list)  # sku -> [(material, qty)]
    for (sku, material), q in d.bom.items():
        bom[sku].append((material, float(q)))
    use = defaultdict(list)  # (plant, material) -> [(line, sku, qty)]
    for line, sku in ix.routes:
        for material, q in bom[sku]:
            use[(ix.line_plant[line], material)].append((line, sku, q))

    def balance(_, p, k, t):
        # stock[t] - stock[t-1] - arrivals + use = receipts (+ initial stock in the first period)
        pairs = [(1.0, stock[p, k, t])] + [(-c, v) for c, v in _arrivals(m, ix, p, k, t)]
        for line, s, q in use[(p, k)]:
            pairs += [(q, reg[line, s, t]), (q, ot[line, s, t])]
        rhs = ix.receipts.get((p, k, t), 0.0)
        if t > 0:
            pairs.append((-1.0, stock[p, k, t - 1]))
        else:
            rhs += initial.get((p, k), 0.0)
        return _eq(pairs, rhs)

    m.material_balance = pyo.Constraint(ix.plant_materials, m.T, rule=balance)
    capacity = d.supply.to_dict()
    keys = [(u, k, t) for (u, k), c in capacity.items() for t in ix.T if ix.out_of.get((u, k)) and np.isfinite(c)]
    m.supplier_capacity = pyo.Constraint(keys, rule=lambda _, u, k, t: _le(
        _departures(m, ix, u, k, t)[1], float(capacity[u, k])))


def define_outsourcing(m: pyo.ConcreteModel, ix: Indices) -> None:
    """Units ordered from partners in each period, within their capacity, shipped to hubs."""
    d = ix.data
    out = _var(m, "out", ix.partner_skus, m.T)
    skus = defaultdict(list)
    for x, s in ix.partner_skus:
        skus[x].append(s)
    m.partner_output = pyo.Constraint(ix.partner_skus, m.T, rule=lambda _, x, s, t: _eq(
        [(1.0, out[x, s, t])] + [(-c, v) for c, v in _departures(m, ix, x, s, t)[1]], 0.0))
    cap = d.partners["capacity_units_per_period"].to_dict()
    partners = [x for x in d.partners.index if skus[x] and np.isfinite(cap[x])]
    m.partner_capacity = pyo.Constraint(partners, m.T, rule=lambda _, x, t: _le(
        [(1.0, out[x, s, t]) for s in skus[x]], float(cap[x])))


def define_hubs(m: pyo.ConcreteModel, ix: Indices, elastic: bool) -> None:
    """What plants make goes to hubs; hub stock balances arrivals and departures."""
    d = ix.data
    reg, ot = m.vd["reg"], m.vd["ot"]
    makers = defaultdict(list)  # (plant, sku) -> lines
    for line, sku in ix.routes:
        makers[(ix.line_plant[line], sku)].append(line)
    m.plant_output = pyo.Constraint(ix.plant_skus, m.T, rule=lambda _, p, s, t: _eq(
        [pair for line in makers[(p, s)] for pair in ((1.0, reg[line, s, t]), (1.0, ot[line, s, t]))]
        + [(-c, v) for c, v in _departures(m, ix, p, s, t)[1]], 0.0))
    inv = _var(m, "inv", ix.hub_items, m.T)
    stock = d.hub_stock
    initial = stock["initial_units"].to_dict()

    def balance(_, h, s, t):
        # inv[t] - inv[t-1] - arrivals + departures = receipts (+ initial stock in the first period)
        out_constant, out_pairs = _departures(m, ix, h, s, t)
        pairs = [(1.0, inv[h, s, t])] + [(-c, v) for c, v in _arrivals(m, ix, h, s, t)] + out_pairs
        rhs = ix.receipts.get((h, s, t), 0.0) - out_constant
        if t > 0:
            pairs.append((-1.0, inv[h, s, t - 1]))
        else:
            rhs += initial[h, s]
        return _eq(pairs, rhs)

    m.hub_balance = pyo.Constraint(ix.hub_items, m.T, rule=balance)
    skus = defaultdict(list)
    for h, s in ix.hub_items:
        skus[h].append(s)
    capacity = d.hubs["storage_capacity_units"].to_dict()
    hubs = [h for h in d.hubs.index if skus[h]]
    excess = _var(m, "storage_excess", hubs, m.T, bounds=(0.0, None if elastic else 0.0))
    m.storage = pyo.Constraint(hubs, m.T, rule=lambda _, h, t: _le(
        [(1.0, inv[h, s, t]) for s in skus[h]] + [(-1.0, excess[h, t])], float(capacity[h])))
    safety = stock["safety_stock_units"].to_dict()
    guarded = [k for k in ix.hub_items if safety[k] > 0]
    below = _var(m, "below_safety", guarded, m.T)
    m.safety_floor = pyo.Constraint(guarded, m.T, rule=lambda _, h, s, t: _ge(
        [(1.0, inv[h, s, t]), (1.0, below[h, s, t])], float(safety[h, s])))
    ending = stock["ending_min_units"].to_dict()
    targets = [k for k in ix.hub_items if ending[k] > 0]
    short = _var(m, "ending_short", targets, bounds=(0.0, None if elastic else 0.0))
    m.ending_inventory = pyo.Constraint(targets, rule=lambda _, h, s: _ge(
        [(1.0, inv[h, s, ix.last]), (1.0, short[h, s])], float(ending[h, s])))


def define_markets(m: pyo.ConcreteModel, ix: Indices, elastic: bool) -> None:
    """Demand is delivered, backordered (backorder markets) or lost (lost-sales markets).

    Deliveries are not variables: they are what demand and backlog leave (see
    :func:`_delivered`), so a lost-sales market needs only the bound
    ``0 <= lost <= demand`` and a backorder market one row per period, ``delivered >= 0``.
    In a period where nothing can arrive (before the lane's lead time, or its departure
    period closed), nothing is delivered.
    """
    d = ix.data
    backorder = d.markets["backorder"].to_dict()
    owed = [k for k in ix.market_items if backorder[k[0]]]
    lose = [k for k in ix.market_items if not backorder[k[0]]]

    def unreachable(mk: str, s: str, t: int) -> bool:
        route = ix.market_lane.get((mk, s))
        return route is None or t < route[2] or (route[0], t - route[2]) in ix.closed

    def lost_bounds(_, mk, s, t):
        demand = ix.demand.get((mk, s, t), 0.0)
        return (demand, demand) if unreachable(mk, s, t) else (0.0, demand)

    backlog = _var(m, "backlog", owed, m.T)
    _var(m, "lost", lose, m.T, bounds=lost_bounds)

    def delivered(_, mk, s, t):
        constant, pairs = _delivered(m, ix, mk, s, t)
        return _eq(pairs, -constant) if unreachable(mk, s, t) else _ge(pairs, -constant)

    m.market_delivered = pyo.Constraint(owed, m.T, rule=delivered)
    cap = d.lanes["capacity_units_per_period"].astype(float).to_dict()
    by_lane = defaultdict(list)
    for (mk, s), (lane, _, lead) in ix.market_lane.items():
        if np.isfinite(cap[lane]):
            by_lane[lane].append((mk, s, lead))

    def lane_capacity(_, lane, t):
        parts = [_delivered(m, ix, mk, s, t + lead) for mk, s, lead in by_lane[lane] if t + lead <= ix.last]
        return _le([pair for _, pairs in parts for pair in pairs], cap[lane] - sum(c for c, _ in parts))

    m.market_lane_capacity = pyo.Constraint([(lane, t) for lane in by_lane for t in ix.T], rule=lane_capacity)
    cleared = owed if d.clear_backlog_at_end else []
    left = _var(m, "backlog_left", cleared, bounds=(0.0, None if elastic else 0.0))
    m.backlog_cleared = pyo.Constraint(cleared, rule=lambda _, mk, s: _le(
        [(1.0, backlog[mk, s, ix.last]), (-1.0, left[mk, s])], 0.0))


def _terms(pairs) -> Affine:
    """(coefficient, term) pairs as (constant, [(coefficient, variable)]); a term is a
    variable or an :data:`Affine` delivery from :func:`_delivered`."""
    constant, linear = 0.0, []
    for c, term in pairs:
        if isinstance(term, tuple):
            constant += c * term[0]
            linear.extend((c * k, v) for k, v in term[1])
        else:
            linear.append((c, term))
    return constant, linear


def define_costs(m: pyo.ConcreteModel, ix: Indices) -> None:
    """Cost terms per kind (:data:`COST_KINDS`) and the revenue, kept as :data:`Affine` so
    the objective is built once, and each term with what it is for (``m.keyed_terms``), so
    the plan reads its money back per item, entity and period (``Plan.terms``)."""
    d = ix.data
    v = m.vd
    lines, skus, stock = d.lines, d.skus, d.hub_stock
    material_cost = d.materials.to_dict()
    lane_cost = d.lanes["cost_per_unit"].to_dict()
    partner_cost = d.partner_skus.to_dict()
    wf = d.workforce
    hold = stock["holding_cost_per_unit_period"].to_dict()
    material_hold = d.material_holding.to_dict()
    backlog_cost = skus["backlog_cost_per_unit_period"].to_dict()
    lost_cost = skus["lost_sale_cost_per_unit"].to_dict()
    price = skus["price_per_unit"].to_dict()
    ratio = d.safety_shortfall_cost_ratio
    T = ix.T
    regular_rate = {r: ix.hpu[r] * float(lines.at[r[0], "cost_per_hour"]) for r in ix.routes}
    overtime_rate = {r: ix.hpu[r] * float(lines.at[r[0], "overtime_cost_per_hour"]) for r in ix.routes}
    position = {p: i for i, p in enumerate(d.periods)}
    material_factor = {(k, position[p]): float(f) for (k, p), f in d.material_cost_factor.items() if p in position}
    lane_factor = {(lane, position[p]): float(f) for (lane, p), f in d.lane_cost_factor.items() if p in position}
    price_factor = {(mk, s, position[p]): float(f) for (mk, s, p), f in d.price_factor.items() if p in position}

    def sale_price(k: tuple) -> float:
        """Price of a sale at (market, sku, period)."""
        return price[k[1]] * price_factor.get(k, 1.0)

    def lost_sale(k: tuple) -> float:
        """A lost sale costs its price (as sold there then) plus the shortage cost."""
        return lost_cost[k[1]] + price[k[1]] * (price_factor.get(k, 1.0) - 1.0)
    bom = defaultdict(list)
    for (sku, material), q in d.bom.items():
        bom[sku].append((material, float(q)))

    def unit_material(sku: str, t: int) -> float:
        """Material cost per unit of SKU in period t, through the BOM."""
        return sum(q * material_cost[k] * material_factor.get((k, t), 1.0) for k, q in bom[sku])

    def lane_rate(lane: str, t: int) -> float:
        return lane_cost[lane] * lane_factor.get((lane, t), 1.0)

    deliveries = [(mk, s, t, lane) for (mk, s), (lane, _, _) in ix.market_lane.items() for t in T]
    plant = ix.line_plant
    # (coefficient, term, (item, entity, period)) per cost kind: the item a SKU, a material or
    # "" (a plant's workforce); the entity the line, plant, partner, lane, hub or market
    keyed = {
        # materials are costed as they are used, like the twin does: stock already on hand or
        # on its way at the start costs the same as stock bought in the horizon
        "materials": [(unit_material(r[1], t), x, (r[1], plant[r[0]], t)) for r in ix.routes if bom[r[1]] for t in T
                      for x in (v["reg"][r + (t,)], v["ot"][r + (t,)])],
        "regular_time": [*((regular_rate[r], v["reg"][r + (t,)], (r[1], r[0], t)) for r in ix.routes for t in T),
                         *((float(wf.at[p, "cost_per_worker_period"]), v["workers"][p, t], ("", p, t))
                           for p in ix.workforce_plants for t in T)],
        "overtime": [(overtime_rate[r], v["ot"][r + (t,)], (r[1], r[0], t)) for r in ix.routes for t in T],
        "outsourcing": [(partner_cost[k], v["out"][k + (t,)], (k[1], k[0], t)) for k in ix.partner_skus for t in T],
        "transport": [*((lane_rate(lane, t), v["ship"][lane, item, t], (item, lane, t)) for lane, item in ix.arcs
                        for t in T if lane_cost[lane]),
                      *((lane_rate(lane, t), _delivered(m, ix, mk, s, t), (s, lane, t)) for mk, s, t, lane in deliveries
                        if lane_cost[lane])],
        "holding": [(hold[k], v["inv"][k + (t,)], (k[1], k[0], t)) for k in ix.hub_items for t in T if hold[k]],
        "material_holding": [(material_hold[k], v["material_stock"][k + (t,)], (k[1], k[0], t))
                             for k in ix.plant_materials for t in T if material_hold.get(k)],
        "safety_shortfall": [(ratio * backlog_cost[k[1]], x, (k[1], k[0], k[2])) for k, x in v["below_safety"].items()],
        "backlog": [(backlog_cost[k[1]], x, (k[1], k[0], k[2])) for k, x in v["backlog"].items()],
        # backlog still open at the end of the horizon is, for the plan, a lost sale
        "lost_sales": [*((lost_sale(k), x, (k[1], k[0], k[2])) for k, x in v["lost"].items()),
                       *((lost_sale(k), x, (k[1], k[0], k[2])) for k, x in v["backlog"].items() if k[2] == ix.last)],
        "hiring": [(float(wf.at[k[0], "hire_cost_per_worker"]), x, ("", k[0], k[1])) for k, x in v["hire"].items()],
        "layoffs": [(float(wf.at[k[0], "layoff_cost_per_worker"]), x, ("", k[0], k[1])) for k, x in v["layoff"].items()],
        "revenue": [(sale_price((mk, s, t)), _delivered(m, ix, mk, s, t), (s, mk, t)) for mk, s, t, _ in deliveries],
    }
    m.keyed_terms = keyed
    m.cost_terms = {kind: _terms((c, x) for c, x, _ in keyed[kind]) for kind in COST_KINDS}
    m.revenue_terms = _terms((c, x) for c, x, _ in keyed["revenue"])


def define_objective(m: pyo.ConcreteModel, ix: Indices, elastic: bool) -> None:
    """Minimise cost, or maximise margin; the elastic model minimises requirement slack only."""
    if elastic:
        slack = [*m.vd["storage_excess"].values(), *m.vd["ending_short"].values(), *m.vd["backlog_left"].values()]
        m.objective = pyo.Objective(expr=_expr(0.0, [(1.0, x) for x in slack]), sense=pyo.minimize)
        return
    kinds = [k for k in COST_KINDS if not (ix.data.objective == "margin" and k == "lost_sales")]
    constant = sum(m.cost_terms[k][0] for k in kinds)
    pairs = [p for k in kinds for p in m.cost_terms[k][1]]
    if ix.data.objective == "margin":
        revenue_constant, revenue_pairs = m.revenue_terms
        pairs = [(-c, x) for c, x in pairs] + revenue_pairs
        m.objective = pyo.Objective(expr=_expr(revenue_constant - constant, pairs), sense=pyo.maximize)
    else:
        m.objective = pyo.Objective(expr=_expr(constant, pairs), sense=pyo.minimize)
