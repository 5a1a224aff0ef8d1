"""The SimPy twin: one process per long-lived actor, quantities as NumPy vectors over SKUs.

Clock and order of events
-------------------------
The clock counts days from the first simulated day (warm-up included). Within day ``t``
actors act in fixed phases, so same-day events have one documented order:

====================  ==========  ========================================================
phase                 time        who
====================  ==========  ========================================================
plan                  t + 0.1     (supply: plan, first day of each plan week) the weekly S&OP
                                  review releases the plan's production, outsourcing and transfers
rules                 t + 0.15    (first day of each horizon week) the touchless rules are checked
                                  and act (``twin.sim.rules``); every firing is logged
production            t + 0.2     plants put away arriving materials, their lines make from
                                  their queues, on day 0 of each week they order materials,
                                  and they ship the day's output, one shipment per hub
demand                t + 0.4     hubs put away arriving stock, then their markets order;
                                  stock serves backorders first, then new orders
review                t + 0.6     hubs order by their policies (on review days)
dispatch              t + 0.7     suppliers (weekly) and partners (daily) ship what they owe
record                t + 0.9     end-of-day inventory and backlog are written down
====================  ==========  ========================================================

Receipts are put away at the start of the receiving actor's first step of the day, so
everything that arrives on day ``t`` is usable on day ``t`` and nothing that acts earlier
in the day reads the receiving stock.

Executing a plan (``supply: plan``): from the horizon start, lines get the plan's weekly
production in their queues (for the hubs the plan ships it to) and work overtime only
for what their regular hours left in the week cannot finish; partners get its
outsourcing; hubs send its transfers. At the horizon's start the plan takes over the lines'
schedule (warm-up work not yet made is dropped: the plan starts from the warmed state,
``twin.agreement.warmed_state``). The hubs' policies then absorb what randomness
changes: each review measures the hub's inventory position
against the position the plan expects for that day (the starting stock the plan assumed,
plus the plan's releases, less the demand the plan expects it to serve, spread evenly
over each week) and runs its policy on that difference, as if the plan's position were
the policy's top level (S, or r + Q): a hub behind plan orders from its usual source;
a hub ahead of plan takes queued line work for itself off the schedule (partner
orders stand: they are purchase orders). With demand exactly as
forecast the twin follows the plan; warm-up weeks run on the policies alone.

The sums inside the busiest steps (a plant's production, a hub's demand and its review)
are compiled loops in ``twin.sim.kernels``; the processes here own the clock, the order
of events and every random draw.

A shipment is not a process: it is added to its destination's inbound calendar on the
day it will arrive, so a year of shipments costs no SimPy events (DESIGN.md §4: per-order
processes are the wrong grain). Each lane's transit time is drawn once per departure day
(whole days, at least one): everything leaving on a lane the same day travels together.

Production in policy mode: a hub's order for a SKU joins the queue of the plant line
that makes it fastest; a line works its queue with its regular hours less breakdown
repair time, spread over the queued SKUs in proportion to their outstanding hours, and
adds overtime (up to its cap) while the queue holds more than a week of regular hours.
Materials limit production through the bill of materials; when a plant's lines together
need more of a material than it holds, each line using it is cut back in the same
proportion. A plant steps its lines together in one call; each line keeps its own queue,
hours and breakdown process.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from itertools import count

import numpy as np
import simpy

from twin.sim import kernels
from twin.sim.demand import apply_events, draw_demand
from twin.sim.inputs import SOURCE_HUB, SOURCE_PARTNER, SOURCE_PLANT, Lane, SimInput
from twin.sim.kernels import EPS
from twin.sim.rules import RuleBook

PLAN, RULES, PRODUCTION, DEMAND, REVIEW, DISPATCH, RECORD = 0.1, 0.15, 0.2, 0.4, 0.6, 0.7, 0.9


@dataclass
class Replication:
    """Everything one replication recorded, as arrays over simulated days (warm-up included)."""

    inp: SimInput
    demand: np.ndarray          # (T, M, S) units ordered
    filled: np.ndarray          # (T, M, S) units served from stock on the day ordered
    shipped: np.ndarray         # (T, M, S) units delivered (new demand and backorders)
    lost: np.ndarray            # (T, M, S) units lost (lost-sales markets)
    backlog: np.ndarray         # (T, M, S) backorders open at the end of the day
    backlog_end: np.ndarray     # (M, S) backorders open at the end of the run
    inventory: np.ndarray       # (T, H, S) on hand at the end of the day
    in_transit: np.ndarray      # (T, H) finished units on lanes to each hub at the end of the day
    line_backlog: np.ndarray    # (T, L) units ordered from each line and not yet made, at the end of the day
    regular_hours: np.ndarray   # (T, L) regular hours worked
    overtime_hours: np.ndarray  # (T, L) overtime hours worked
    available_hours: np.ndarray  # (T, L) regular hours the line could work (after outages and repairs)
    downtime_hours: np.ndarray  # (T, L) regular hours lost to breakdowns
    produced: np.ndarray        # (T, L) units made per line
    produced_sku: np.ndarray    # (T, S) units made per SKU (all lines)
    material_cost: np.ndarray   # (T,) materials consumed, at cost
    transport_cost: np.ndarray  # (T,) all lanes
    outsourcing_cost: np.ndarray  # (T, X) per partner
    purchases: np.ndarray       # (T, U) value of the materials each supplier dispatched
    material_on_hand: np.ndarray  # (T, P, K) materials at the plants at the end of the day
    outsourced: np.ndarray      # (T, S) units partners dispatched
    # the ledger's detail, summed over the measured days (twin.finance.ledger)
    booked: np.ndarray          # (L, S, kernels.BOOKED) units made, regular and overtime hours, materials at cost
    outsourcing_booked: np.ndarray  # (X, S) outsourcing cost
    lane_booked: dict[str, np.ndarray]  # finished-goods lane -> (S,) transport cost
    material_freight: np.ndarray  # (P, K) transport cost of materials to plants
    delivery_cost: np.ndarray   # (T, M) transport cost per unit delivered to each market
    lane_departures: dict[str, np.ndarray]  # lane -> (T,) units leaving each day (hub-to-market lanes excepted)
    initial_units: float        # finished goods on hand at the start
    price_factor: np.ndarray | None  # (T, M, S) multiplier on list price (a pricing strategy), None: 1
    decisions: list[dict]       # the decision log: one dict per rule firing (twin.sim.rules.DECISION_COLUMNS)


def _within(owed: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """(P, K) units owed to plants, cut back in proportion where a material's total exceeds
    its ``capacity`` (K,)."""
    total = owed.sum(axis=0)
    share = np.divide(np.minimum(total, capacity), total, out=np.zeros_like(total), where=total > 0)
    return owed * share


class Twin:
    """One replication of a network under a scenario.

    Parameters
    ----------
    inp : SimInput
        Compiled network arrays, timelines, demand model, rules and plan (shared by
        replications, never modified).
    rng : numpy.random.Generator
        The replication's only source of randomness.
    """

    def __init__(self, inp: SimInput, rng: np.random.Generator):
        self.inp, self.rng = inp, rng
        T, H, S, M, L = inp.days, len(inp.hubs), len(inp.skus), len(inp.markets), len(inp.lines)
        P, K = len(inp.plants), len(inp.materials)
        self.env = simpy.Environment()
        events = inp.timeline
        self.demand = apply_events(draw_demand(inp, rng), inp, rng)
        self.price_factor = events.price_factor
        pad = T + 400  # room for arrivals scheduled past the end; transit longer than that is clipped
        self.onhand = inp.initial.astype(float).copy()
        self.on_order = np.zeros((H, S))
        self.backlog = np.zeros((M, S))
        self.hub_inbound = np.zeros((pad, H, S))
        self.to_hub = np.zeros(H)  # finished units on their way to each hub
        self.line_queue = np.zeros((L, H, S))
        self.repair_hours_due = np.zeros(L)
        self.material = inp.material_initial.copy()
        self.material_on_order = np.zeros((P, K))
        self.plant_inbound = np.zeros((pad, P, K))
        material_lanes = {lane.lane for lane in inp.material_lane.values()}
        self.routes = {lane.lane: _Route.of(lane, inp, lane.sample_days(rng, T), pad, lane.lane in material_lanes)
                       for lane in self._lanes_used()}
        # (T, M): 0.0 where a closed hub-to-market lane delivers nothing that day; cost per unit delivered
        self.market_open = np.ones((T, M))
        self.market_lane_cost = np.tile(inp.hub_market_lane_cost, (T, 1))
        for m, lane in enumerate(inp.market_lane):
            if lane in events.departures_closed:
                self.market_open[events.departures_closed[lane], m] = 0.0
            if lane in events.lane_cost_factor:
                self.market_lane_cost[:, m] *= events.lane_cost_factor[lane]
        self.supplier_owed = np.zeros((len(inp.suppliers), P, K))
        self.partner_owed = np.zeros((len(inp.partners), H, S))
        self.plan = inp.plan if inp.supply == "plan" else None
        if inp.supply == "plan" and inp.plan is None:
            raise ValueError("supply: plan needs a plan in the inputs: use twin.pipeline.prepare()")
        if self.plan is not None:
            # (W, H, S) the plan's inventory position at each week's start, before its demand
            self.planned_start = (self.plan.start_position + np.cumsum(self.plan.release, axis=0)
                                  - (np.cumsum(self.plan.consumption, axis=0) - self.plan.consumption))
        self.hours_per_unit = np.where(np.isfinite(inp.hours_per_unit), inp.hours_per_unit, 0.0)
        self.partner_cost = np.where(np.isfinite(inp.partner_cost), inp.partner_cost, 0.0)
        self.extra_overtime = np.zeros((T, L))  # overtime hours per day a rule approved beyond the lines' caps
        self.supplier_late_seen = np.zeros(len(inp.suppliers))  # days late of each supplier's latest dispatch
        self.rules = RuleBook(inp) if inp.rules else None
        # records
        self.filled = np.zeros((T, M, S))
        self.shipped = np.zeros((T, M, S))
        self.lost = np.zeros((T, M, S))
        self.backlog_daily = np.zeros((T, M, S))
        self.inventory = np.zeros((T, H, S))
        self.in_transit = np.zeros((T, H))
        self.line_backlog = np.zeros((T, L))
        self.regular_hours = np.zeros((T, L))
        self.overtime_hours = np.zeros((T, L))
        self.available_hours = np.zeros((T, L))
        self.downtime_hours = np.zeros((T, L))
        self.produced = np.zeros((T, L))
        self.produced_sku = np.zeros((T, S))
        self.material_cost = np.zeros(T)
        self.transport_cost = np.zeros(T)
        self.outsourcing_cost = np.zeros((T, len(inp.partners)))
        self.purchases = np.zeros((T, len(inp.suppliers)))
        self.material_on_hand = np.zeros((T, P, K))
        self.outsourced = np.zeros((T, S))
        # the ledger's detail: warm-up days book into the *_warmup twins, then dropped
        self.booked = np.zeros((L, S, kernels.BOOKED))
        self.booked_warmup = np.zeros_like(self.booked)
        self.outsourcing_booked = np.zeros((len(inp.partners), S))
        self.material_freight = np.zeros((P, K))

        self._prime_material_pipeline()
        env = self.env
        for h in range(H):
            env.process(self._hub(h))
        for line in range(L):
            if np.isfinite(inp.mtbf_hours[line]) and inp.regular_hours_per_day[line] > 0:
                env.process(self._breakdowns(line))
        for p in range(P):
            env.process(self._plant(p))
        for u in range(len(inp.suppliers)):
            if (inp.material_supplier == u).any():
                env.process(self._supplier(u))
        for x in range(len(inp.partners)):
            sourced = ((inp.source_kind == SOURCE_PARTNER) & (inp.source_index == x)).any()
            if sourced or (self.plan is not None and self.plan.outsource[:, x].any()):
                env.process(self._partner(x))
        if self.plan is not None:
            env.process(self._planner())
        if self.rules is not None:
            env.process(self._reviewer())
        env.process(self._recorder())

    # --- running ------------------------------------------------------------------------

    def run(self) -> Replication:
        """Simulate every day and return what was recorded."""
        inp = self.inp
        # Few long-lived objects, many short-lived arrays: the default thresholds make the
        # collector scan needlessly often (DESIGN.md §4 measured ~8 %).
        threshold = gc.get_threshold()
        gc.set_threshold(100_000, 50, 50)
        try:
            self.env.run(until=inp.days)
        finally:
            gc.set_threshold(*threshold)
        return Replication(
            inp=inp, demand=self.demand, filled=self.filled, shipped=self.shipped, lost=self.lost,
            backlog=self.backlog_daily, backlog_end=self.backlog.copy(), inventory=self.inventory,
            in_transit=self.in_transit, line_backlog=self.line_backlog,
            regular_hours=self.regular_hours, overtime_hours=self.overtime_hours,
            available_hours=self.available_hours, downtime_hours=self.downtime_hours, produced=self.produced,
            produced_sku=self.produced_sku,
            material_cost=self.material_cost, transport_cost=self.transport_cost,
            outsourcing_cost=self.outsourcing_cost, outsourced=self.outsourced, purchases=self.purchases,
            material_on_hand=self.material_on_hand,
            booked=self.booked, outsourcing_booked=self.outsourcing_booked,
            lane_booked={lane: route.booked for lane, route in self.routes.items() if route.booked is not None},
            material_freight=self.material_freight, delivery_cost=self.market_lane_cost,
            lane_departures={lane: route.departures for lane, route in self.routes.items()},
            initial_units=float(inp.initial.sum()),
            price_factor=self.price_factor, decisions=self.rules.log if self.rules is not None else [],
        )

    def _at(self, day: int, phase: float) -> simpy.Timeout:
        """Wait until ``phase`` of ``day``. Absolute times, so phase offsets never add up to
        a float just short of the next day."""
        return self.env.timeout(max(0.0, day + phase - self.env.now))

    def _lanes_used(self) -> list[Lane]:
        inp = self.inp
        return [*inp.plant_hub_lane.values(), *inp.partner_hub_lane.values(), *inp.hub_hub_lane.values(),
                *inp.material_lane.values()]

    def _ship(self, lane: Lane, t: int, arrivals: np.ndarray, index: tuple, qty: np.ndarray | float,
              delay_days: int = 0) -> None:
        """Commit ``qty`` to ``lane`` on day ``t``; it leaves after ``delay_days`` (or when the
        lane reopens) and lands in ``arrivals[arrival day][index]``. Transport is costed on
        the day it is committed, and booked per SKU to the lane (finished goods: ``index`` is
        (hub,) or (hub, SKUs)) or per plant and material (``index`` (plant, material))."""
        route = self.routes[lane.lane]
        leave = route.leave[min(t + delay_days, len(route.leave) - 1)]
        arrivals[(route.arrive[leave],) + index] += qty
        units = float(qty.sum()) if isinstance(qty, np.ndarray) else float(qty)
        route.departures[min(leave, len(route.departures) - 1)] += units
        rate = route.cost_per_unit[t]
        self.transport_cost[t] += rate * units
        if arrivals is self.hub_inbound:
            self.to_hub[index[0]] += units
            if t >= self.inp.warmup_days and rate:
                route.booked[index[1] if len(index) > 1 else slice(None)] += rate * qty
        elif t >= self.inp.warmup_days:
            self.material_freight[index] += rate * units

    # --- actors ---------------------------------------------------------------------------

    def _hub(self, h: int):
        """Daily: put away receipts, then serve the hub's markets; every ``review_period_days``
        a replenishment review (``kernels.review``)."""
        inp, plan = self.inp, self.plan
        review_every = int(inp.review_days[h])
        markets = inp.hub_markets[h]
        serves_markets = markets.stop > markets.start
        kind, index = inp.source_kind[h], inp.source_index[h]
        source_line = np.where(kind == SOURCE_PLANT, index, -1)
        by_partner = [(x, np.flatnonzero((kind == SOURCE_PARTNER) & (index == x))) for x in range(len(inp.partners))]
        by_partner = [(x, s) for x, s in by_partner if len(s)]
        by_hub = [(g, np.flatnonzero((kind == SOURCE_HUB) & (index == g))) for g in range(len(inp.hubs))]
        by_hub = [(g, s) for g, s in by_hub if len(s)]
        order = np.zeros(len(inp.skus))
        for t in count():
            yield self._at(t, DEMAND)
            arriving = self.hub_inbound[t, h]
            if arriving.any():
                self.onhand[h] += arriving
                self.on_order[h] -= arriving
                self.to_hub[h] -= arriving.sum()
            if serves_markets:
                self._serve(h, t, markets)
            if t % review_every == 0:  # wake for the review only on review days
                yield self._at(t, REVIEW)
                planned = self._planned_position(h, t) if plan is not None and t >= plan.first_day else None
                if kernels.review(self.onhand[h], self.on_order[h], self.backlog[markets], self.line_queue[:, h, :],
                                  inp.policy[h], inp.reorder_point[h], inp.order_up_to[h], inp.order_qty[h],
                                  source_line, planned, order):
                    self._place_elsewhere(h, t, order, by_partner, by_hub)

    def _planned_position(self, h: int, t: int) -> np.ndarray:
        """The inventory position the plan expects hub ``h`` to have after day ``t``'s demand."""
        week, day = divmod(t - self.plan.first_day, 7)
        return self.planned_start[week, h] - self.plan.consumption[week, h] * ((day + 1) / 7)

    def _planner(self):
        """The weekly S&OP review: release each plan week's work at its start. At the
        horizon's start the plan takes over the lines' schedule: what the hubs' policies
        queued during the warm-up and the lines have not made is dropped (the plan, made
        from the warmed state, schedules what is needed; partner orders stand)."""
        plan, inp = self.plan, self.inp
        for w in range(plan.weeks):
            t = plan.first_day + 7 * w
            yield self._at(t, PLAN)
            if w == 0:
                self.on_order -= self.line_queue.sum(axis=0)
                self.line_queue[:] = 0.0
            self.line_queue += plan.make[w]
            self.partner_owed += plan.outsource[w]
            self.on_order += plan.make[w].sum(axis=0) + plan.outsource[w].sum(axis=0)
            for g, h in zip(*np.nonzero(plan.transfer[w].any(axis=2))):
                take = np.minimum(plan.transfer[w, g, h], self.onhand[g])
                self.onhand[g] -= take
                self.on_order[h] += take
                self._ship(inp.hub_hub_lane[(g, h)], t, self.hub_inbound, (h,), take)

    def _reviewer(self):
        """The touchless rules, checked on the first day of every horizon week."""
        for t in range(self.inp.warmup_days, self.inp.days, 7):
            yield self._at(t, RULES)
            self.rules.review(self, t)

    def _place_elsewhere(self, h: int, t: int, order: np.ndarray, by_partner, by_hub) -> None:
        """Order the SKUs that partners or other hubs supply to hub ``h``."""
        for x, s in by_partner:
            self.partner_owed[x, h, s] += order[s]
            self.on_order[h, s] += order[s]
        for g, s in by_hub:  # another hub ships what it has now; the rest is not ordered
            take = np.minimum(order[s], self.onhand[g, s])
            if take.any():
                self.onhand[g, s] -= take
                self.on_order[h, s] += take
                self._ship(self.inp.hub_hub_lane[(g, h)], t, self.hub_inbound, (h, s), take)

    def _serve(self, h: int, t: int, mk: slice) -> None:
        """Day ``t``'s demand at the markets ``mk`` of hub ``h`` (``kernels.serve``)."""
        self.transport_cost[t] += kernels.serve(
            self.demand[t, mk], self.backlog[mk], self.market_open[t, mk], self.onhand[h], self.inp.backorder[mk],
            self.market_lane_cost[t, mk], self.filled[t, mk], self.shipped[t, mk], self.lost[t, mk])

    def _produce(self, p: int, t: int) -> np.ndarray | None:
        """Day ``t``'s production on plant ``p``'s lines (``kernels.produce``).

        Returns the units made for each hub, shape (H, S), or None when no line worked."""
        inp = self.inp
        lines = inp.plant_lines[p]
        plan = self.plan
        plan_days_left = 7 - (t - plan.first_day) % 7 if plan is not None and t >= plan.first_day else 0
        price = self._material_price(t)
        made = np.empty(self.line_queue.shape[1:])
        cost, worked = kernels.produce(
            self.line_queue[lines], self.repair_hours_due[lines], inp.regular_hours_per_day[lines],
            inp.timeline.line_up[t, lines], inp.overtime_hours_per_day[lines], self.extra_overtime[t, lines],
            self.hours_per_unit[lines], inp.bom, self.material[p], price, plan_days_left,
            self.available_hours[t, lines], self.downtime_hours[t, lines], self.regular_hours[t, lines],
            self.overtime_hours[t, lines], self.produced[t, lines], made,
            self.booked[lines] if t >= inp.warmup_days else self.booked_warmup[lines])
        if not worked:
            return None
        self.material_cost[t] += cost
        self.produced_sku[t] += made.sum(axis=0)
        return made

    def _material_price(self, t: int) -> np.ndarray:
        """(K,) each material's purchase price on day ``t`` (a ``material_cost`` event's change included)."""
        factor = self.inp.timeline.material_cost_factor
        return self.inp.material_cost * (factor[t] if factor is not None else 1.0)

    def _breakdowns(self, line: int):
        """Breakdowns every Exp(MTBF) operating hours; each owes Exp(MTTR) hours of repair."""
        inp, env, rng = self.inp, self.env, self.rng
        hours_per_day = inp.regular_hours_per_day[line]
        while True:
            yield env.timeout(rng.exponential(inp.mtbf_hours[line]) / hours_per_day)
            self.repair_hours_due[line] += rng.exponential(inp.mttr_hours[line]) if inp.mttr_hours[line] > 0 else 0.0

    def _plant(self, p: int):
        """Daily: put away material receipts, run the lines, order materials up to target on
        the first day of each week, and ship the day's output to the hubs.

        One step does it all: nothing else in the day reads or changes the plant's materials
        or output, and what leaves at production time lands on the same day as what would
        leave at dispatch time.
        """
        inp = self.inp
        plan = self.plan
        supplier = inp.material_supplier[p]
        lanes = {h: lane for (q, h), lane in inp.plant_hub_lane.items() if q == p}
        for t in count():
            yield self._at(t, PRODUCTION)
            arriving = self.plant_inbound[t, p]
            if arriving.any():
                self.material[p] += arriving
                self.material_on_order[p] -= arriving
            made = self._produce(p, t)
            if t % 7 == 0:
                target = (plan.material_position[(t - plan.first_day) // 7, p]
                          if plan is not None and plan.first_day <= t < plan.first_day + 7 * plan.weeks
                          else inp.material_target[p])
                order = np.maximum(target - self.material[p] - self.material_on_order[p], 0.0)
                order[supplier < 0] = 0.0
                for k in np.flatnonzero(order > 0):
                    self.supplier_owed[supplier[k], p, k] += order[k]
                self.material_on_order[p] += order
            if made is not None:
                for h in np.flatnonzero(made.any(axis=1)):
                    self._ship(lanes[h], t, self.hub_inbound, (h,), made[h])

    def _supplier(self, u: int):
        """Weekly: ship what is owed within capacity, shared across plants; late with 1 - reliability,
        and later still inside a ``supplier_delay`` event.

        Under a plan, what the plan has the supplier dispatch to each plant that week goes
        first and the rest of the capacity is shared: a plant ordering beyond the plan (its
        own cover) does not take the capacity the plan gave another plant."""
        inp, rng = self.inp, self.rng
        capacity = inp.supplier_capacity[u]
        plan = self.plan
        delay_days, delay_probability = inp.timeline.supplier_delay_days, inp.timeline.supplier_delay_probability
        for t in count(step=7):
            yield self._at(t, DISPATCH)
            owed = self.supplier_owed[u]  # (P, K)
            if owed.any():
                week = (t - plan.first_day) // 7 if plan is not None else -1
                planned = plan is not None and 0 <= week < plan.weeks
                sent = _within(np.minimum(owed, plan.purchase[week]), capacity) if planned else np.zeros_like(owed)
                sent += _within(owed - sent, np.maximum(capacity - sent.sum(axis=0), 0.0))
                self.supplier_owed[u] = owed - sent
                self.purchases[t, u] = float((sent.sum(axis=0) * self._material_price(t)).sum())
                late = inp.supplier_late_days[u] if rng.random() > inp.supplier_reliability[u] else 0.0
                if delay_days[t, u] and rng.random() < delay_probability[t, u]:
                    late += delay_days[t, u]  # a supplier_delay event
                self.supplier_late_seen[u] = late
                for p, k in zip(*np.nonzero(sent > EPS)):
                    self._ship(inp.material_lane[(p, k)], t, self.plant_inbound, (p, k), sent[p, k], int(late))

    def _partner(self, x: int):
        """Daily: dispatch owed units within capacity; they reach the hub after lead time plus transit."""
        inp = self.inp
        per_day, lead = inp.partner_capacity_per_day[x], int(round(inp.partner_lead_days[x]))
        for t in count():
            yield self._at(t, DISPATCH)
            owed = self.partner_owed[x]
            total = owed.sum()
            if total > EPS:
                sent = owed * min(1.0, per_day / total)
                self.partner_owed[x] = owed - sent
                cost = sent.sum(axis=0) * self.partner_cost[x]
                self.outsourcing_cost[t, x] += float(cost.sum())
                if t >= inp.warmup_days:
                    self.outsourcing_booked[x] += cost
                self.outsourced[t] += sent.sum(axis=0)
                for h in np.flatnonzero(sent.sum(axis=1) > EPS):
                    self._ship(inp.partner_hub_lane[(x, h)], t, self.hub_inbound, (h,), sent[h], lead)

    def _recorder(self):
        for t in count():
            yield self._at(t, RECORD)
            self.inventory[t] = self.onhand
            self.material_on_hand[t] = self.material
            self.in_transit[t] = self.to_hub
            self.line_backlog[t] = self.line_queue.sum(axis=(1, 2))
            self.backlog_daily[t] = self.backlog

    def _prime_material_pipeline(self) -> None:
        """Start in steady state: a week's use of each material already on its way, every week
        of transit (held at sea, like any shipment, while its port is shut)."""
        inp = self.inp
        for (p, k), lane in inp.material_lane.items():
            weekly = inp.material_usage_per_day[p, k] * 7
            opens = _next_open(inp.timeline.arrivals_closed.get(lane.lane), len(self.plant_inbound))
            for arrive in range(7, int(lane.lead_time_days) + 7, 7):
                self.plant_inbound[opens[arrive], p, k] += weekly
                self.material_on_order[p, k] += weekly


@dataclass
class _Route:
    """A lane as one replication runs it: when what is committed leaves, and when it lands."""

    leave: np.ndarray          # (pad,) the day a shipment committed for day d leaves (a closed lane: when it reopens)
    arrive: np.ndarray         # (pad,) the day a shipment leaving on day d lands (its port shut: when it reopens)
    cost_per_unit: np.ndarray  # (T,) transport cost per unit committed on each day
    departures: np.ndarray     # (T,) units that left on each day (recorded as the run goes)
    booked: np.ndarray | None  # (S,) transport cost per SKU on the measured days; None on a materials lane

    @classmethod
    def of(cls, lane: Lane, inp: SimInput, transit_days: np.ndarray, pad: int, materials: bool) -> _Route:
        """``transit_days`` (T,): whole days in transit for each departure day; the last one
        serves departures past the end. Arrivals past ``pad`` land on its last day.
        ``materials``: the lane carries materials to a plant."""
        T, events = len(transit_days), inp.timeline
        leave = _next_open(events.departures_closed.get(lane.lane), pad)
        landing = np.arange(pad) + transit_days[np.minimum(np.arange(pad), T - 1)]
        arrive = _next_open(events.arrivals_closed.get(lane.lane), int(landing.max()) + 1)[landing]
        factor = events.lane_cost_factor.get(lane.lane)
        return cls(leave=leave, arrive=np.minimum(arrive, pad - 1),
                   cost_per_unit=lane.cost_per_unit * (factor if factor is not None else np.ones(T)),
                   departures=np.zeros(T), booked=None if materials else np.zeros(len(inp.skus)))


def _next_open(closed: np.ndarray | None, days: int) -> np.ndarray:
    """(days,) for each day the first day from it on that is not ``closed`` (days past
    ``closed`` are open; a closure running to its end opens the day after)."""
    first_open = np.arange(days)
    if closed is not None and closed.any():
        T = len(closed)
        open_from = np.where(closed, T, np.arange(T))
        first_open[:T] = np.minimum.accumulate(open_from[::-1])[::-1]
    return first_open


def simulate(inp: SimInput, rng: np.random.Generator) -> Replication:
    """Run one replication. All randomness comes from ``rng``."""
    return Twin(inp, rng).run()
