"""Touchless S&OP rules inside the twin, and the decision log they write.

At every weekly review (the first day of each horizon week) each rule of the scenario's
``policies:`` measures its trigger per family, supplier or competitor and fires where the
value lies between its thresholds. ``auto`` and ``review`` rules act at once; ``decide``
rules only prepare the options. Every firing is one row of the decision log.

Triggers, as measured at the review on day ``t``:

demand_spike
    Per family, only where the spike detector signals (:mod:`twin.sim.spikes`: a CUSUM of
    the weekly errors against expected, calibrated to a false-alarm rate per family): the
    spike's size one can be the rule's ``confidence`` % sure of, in percent of expected
    (negative for a drop). Expected is the demand model's mean
    (:func:`~twin.sim.demand.mean_demand`: the forecast corrected by the mean of its
    backtest errors) times the demand factor of the events the plan knows of (a
    competitor's share loss and our pricing response, a demand shock marked
    ``known_to_plan``); the other demand shocks are surprises, so they show as spikes or
    drops, and a forecast's known bias does not. Once a rule answers a family's spike, the
    detector forgets the family's evidence and rests for the rule's ``duration_weeks``: an
    answered spike is not a new one.
supplier_delay
    Per supplier: days late of its dispatch since the last review (its usual lateness,
    drawn from its reliability, plus any ``supplier_delay`` event).
competitor_entry
    Per ``competitor_entry`` event, at the first review on or after it starts: the
    percent of volume it takes at our current price.

Actions, each logged with two amounts: ``action_cost``, what the action costs (as done, or
as proposed when a person decides; 0 for an action that does nothing), and
``revenue_at_stake``, the revenue at stake if the trigger is not answered (NaN where not
estimated):

approve_overtime
    The lines that make the family may work ``overtime_hours_per_day`` more overtime for
    ``duration_weeks`` (an extra shift). Cost: the spike's extra units over that time, at
    the hours per unit of the fastest line and the lines' mean overtime rate. At stake: the
    revenue of those extra units.
reroute_stock
    For each SKU made with the late supplier's materials, the hubs that get it from such
    a plant are brought up towards the network's cover of it (units on hand / expected
    demand per day, over those hubs), by at most ``delay days`` of their expected demand,
    from hubs over a hub-to-hub lane that hold more: a donor keeps at least that cover
    and ``donor_cover_days`` of its own demand (a hub that gets the SKU elsewhere keeps
    only the latter). Nothing moves when stock is already spread evenly. Cost: transport
    of the units moved.
prepare_pricing_options
    Nothing is done; the row lists the pricing strategies, each of which is a scenario
    variant to compare. At stake: share lost x the revenue expected before the entry in
    the markets entered, to the end of the horizon.
escalate
    Nothing is done; an executive decides. At stake: for a demand spike, the revenue of
    the extra units over ``duration_weeks`` should the spike last; for a competitor, as
    above.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twin.sim.demand import mean_demand
from twin.sim.inputs import SOURCE_PLANT, SimInput
from twin.sim.spikes import Signal, SpikeDetector, families
from twin.timeline import MarketEntry

if TYPE_CHECKING:
    from twin.sim.model import Twin

DECISION_COLUMNS = ["date", "rule", "trigger", "entity", "value", "threshold", "action", "mode", "done", "owner",
                    "due", "action_cost", "revenue_at_stake", "detail"]


@dataclass(frozen=True)
class Rule:
    """A touchless rule as the twin checks it (``twin.scenario.Rule`` documents each field;
    ``owner`` and ``due_days`` are resolved from the defaults by action and mode)."""

    name: str
    trigger: str
    action: str
    mode: str
    owner: str
    due_days: int
    above: float | None = None
    below: float | None = None
    confidence: float = 90.0
    overtime_hours_per_day: float = 8.0
    donor_cover_days: float = 14.0
    duration_weeks: int = 4

    def fires(self, value: float) -> bool:
        """Whether a trigger's value lies strictly between the thresholds given."""
        return (self.above is None or value > self.above) and (self.below is None or value < self.below)


class RuleBook:
    """The scenario's rules, with what they measure against compiled once per replication."""

    def __init__(self, inp: SimInput):
        self.inp, self.rules = inp, list(inp.rules)
        self.first_date = inp.start - dt.timedelta(days=inp.warmup_days)
        self.rest_until: dict[tuple[int, str], int] = {}
        self.log: list[dict] = []
        # what the demand plan expects: the model's mean times the events the plan knows of
        self.mean = mean_demand(inp)  # (T, M, S), before any event
        known = inp.known.demand_factor
        self.expected = self.mean * known if known is not None else self.mean
        self.detector = None
        if any(r.trigger == "demand_spike" for r in self.rules):
            if inp.spike_detector is None:
                raise ValueError("demand_spike rules need the calibrated spike detector: use "
                                 "twin.pipeline.sim_inputs()")
            self.detector = SpikeDetector(inp, self.expected, inp.spike_detector)
        self.signals: list[Signal] = []
        names, onehot = families(inp)
        makes = np.isfinite(inp.hours_per_unit)  # (L, S)
        self.family_lines = {f: np.flatnonzero(makes[:, onehot[:, i] > 0].any(axis=1)) for i, f in enumerate(names)}
        self.fastest_hours = np.where(makes, inp.hours_per_unit, np.inf).min(axis=0)  # (S,)
        self.entries = inp.timeline.entries

    def review(self, twin: Twin, t: int) -> None:
        """Check every rule at the weekly review of day ``t``; fire and log where due."""
        self.signals = self.detector.update(twin.demand, t) if self.detector is not None else []
        answered: dict[str, int] = {}  # family -> day its spike's detector rests until
        for i, rule in enumerate(self.rules):
            for entity, value, context in self._measure(twin, rule, t):
                if not rule.fires(value) or self.rest_until.get((i, entity), -1) > t:
                    continue
                self.rest_until[(i, entity)] = t + 7 * rule.duration_weeks
                if rule.trigger == "demand_spike":
                    answered[entity] = max(answered.get(entity, t), t + 7 * rule.duration_weeks)
                done = rule.mode != "decide"
                cost, at_stake, detail = self._act(twin, rule, t, entity, value, context, done)
                date = self.first_date + dt.timedelta(days=t)
                self.log.append(dict(
                    date=date, rule=rule.name, trigger=rule.trigger, entity=entity, value=round(value, 3),
                    threshold=_threshold(rule), action=rule.action, mode=rule.mode, done=done, owner=rule.owner,
                    due=date + dt.timedelta(days=rule.due_days), action_cost=cost, revenue_at_stake=at_stake,
                    detail=detail))
        for family, until in answered.items():
            self.detector.rest(family, until)
        twin.supplier_late_seen[:] = 0.0  # each dispatch is reviewed once

    # --- triggers -----------------------------------------------------------------------

    def _measure(self, twin: Twin, rule: Rule, t: int) -> list[tuple[str, float, dict]]:
        if rule.trigger == "demand_spike":
            return [(s.family, s.sure_pct(rule.confidence), dict(signal=s)) for s in self.signals]
        if rule.trigger == "supplier_delay":
            return [(self.inp.suppliers[u], float(late), dict(supplier=u))
                    for u, late in enumerate(twin.supplier_late_seen) if late > 0]
        return [(f"competitor in {e.where}", e.share_loss_pct, dict(entry=e)) for e in self.entries
                if e.start_day <= t < e.start_day + 7]

    # --- actions ------------------------------------------------------------------------

    def _act(self, twin: Twin, rule: Rule, t: int, entity: str, value: float, context: dict,
             done: bool) -> tuple[float, float, str]:
        """Do the rule's action (when ``done``); return what it costs, the revenue at stake
        and a sentence."""
        inp = self.inp
        if rule.trigger == "demand_spike":
            signal: Signal = context["signal"]
            days = 7 * rule.duration_weeks
            extra = np.maximum(signal.extra, 0.0) / (7 * signal.weeks) * days  # units should the spike last
            at_stake = float(extra @ inp.price)
            since = self.first_date + dt.timedelta(days=signal.since_day)
            seen = (f"{entity} demand {signal.change_pct:+.1f} % against expected over the {signal.weeks} "
                    f"week{'s' if signal.weeks > 1 else ''} from {since:%d %b %Y}; {rule.confidence:g} % sure of "
                    f"{value:+.1f} %")
        if rule.action == "approve_overtime":
            lines = self.family_lines[entity]
            if done:  # (lines are picked by index: a copy, so assign back)
                window = twin.extra_overtime[t:t + days, lines]
                twin.extra_overtime[t:t + days, lines] = np.maximum(window, rule.overtime_hours_per_day)
            hours = float(np.minimum((extra * np.where(np.isfinite(self.fastest_hours), self.fastest_hours,
                                                       0.0)).sum(),
                                     rule.overtime_hours_per_day * days * len(lines)))
            cost = hours * float(inp.overtime_cost_per_hour[lines].mean())
            names = ", ".join(inp.lines[line] for line in lines)
            return cost, at_stake, (f"{seen}. {'Approved' if done else 'Proposed'}: {rule.overtime_hours_per_day:g} "
                                    f"h/day more overtime on {names} for {rule.duration_weeks} weeks; about "
                                    f"{hours:,.0f} h expected")
        if rule.action == "reroute_stock":
            moved, cost, moves = self._reroute(twin, t, context["supplier"], value, rule.donor_cover_days, done)
            what = "Moved" if done else "Could move"
            if not moved:
                return 0.0, float("nan"), "No other hub has stock to spare for the hubs that depend on this supplier"
            return cost, float("nan"), f"{what} {moved:,.0f} units between hubs: " + "; ".join(moves)
        if rule.action == "prepare_pricing_options":
            entry: MarketEntry = context["entry"]
            options = "; ".join(f"{o.name} (price {o.price_change_pct:+g} %, volume x{o.volume_factor:.2f})"
                                for o in entry.options)
            return 0.0, self._revenue_at_stake(entry), (
                f"Options for an executive, each a scenario variant: {options}. This run: {entry.chosen}")
        # escalate: nothing is done, so nothing is spent
        if rule.trigger == "demand_spike":
            return 0.0, at_stake, f"Executive decision: {seen}"
        if rule.trigger == "competitor_entry":
            return 0.0, self._revenue_at_stake(context["entry"]), f"Executive decision: {entity} takes {value:g} %"
        return 0.0, float("nan"), f"Executive decision: {rule.trigger} on {entity} at {value:g}"

    def _reroute(self, twin: Twin, t: int, u: int, delay_days: float, donor_cover_days: float,
                 done: bool) -> tuple[float, float, list[str]]:
        """Even out the cover of the SKUs a late supplier's materials go into (module docstring)."""
        inp = self.inp
        exposed = self._exposed(u)  # (H, S)
        daily = self.expected[t:t + 28].mean(axis=0) if t < inp.days else self.expected[-1]  # (M, S)
        hub_daily = np.zeros((len(inp.hubs), len(inp.skus)))
        np.add.at(hub_daily, inp.market_hub, daily)
        # the network's cover of each exposed SKU, in days of expected demand: hubs below it
        # are brought up towards it (at most the delay's worth), hubs above it give
        cover = np.divide((twin.onhand * exposed).sum(axis=0), (hub_daily * exposed).sum(axis=0),
                          out=np.zeros(len(inp.skus)), where=(hub_daily * exposed).sum(axis=0) > 0)
        need = np.where(exposed, np.minimum(np.maximum(cover * hub_daily - twin.onhand, 0.0), hub_daily * delay_days),
                        0.0)
        keep = hub_daily * np.maximum(donor_cover_days, np.where(exposed, cover, 0.0))
        spare = np.maximum(twin.onhand - keep, 0.0)
        moved = cost = 0.0
        moves = []
        for (g, h), lane in inp.hub_hub_lane.items():
            take = np.floor(np.minimum(need[h], spare[g]))
            if not take.any():
                continue
            need[h] -= take
            spare[g] -= take
            if done:
                twin.onhand[g] -= take
                twin.on_order[h] += take
                twin._ship(lane, t, twin.hub_inbound, (h,), take)
            units = float(take.sum())
            moved += units
            cost += units * lane.cost_per_unit
            moves.append(f"{units:,.0f} from {inp.hubs[g]} to {inp.hubs[h]}")
        return moved, cost, moves

    def _exposed(self, u: int) -> np.ndarray:
        """(H, S) True where a hub gets the SKU from a plant that uses supplier ``u``'s materials in it."""
        inp = self.inp
        uses = inp.bom @ (inp.material_supplier == u).T > 0  # (S, P): the SKU made at the plant needs u
        from_plant = inp.source_kind == SOURCE_PLANT
        plant = inp.line_plant[np.where(from_plant, inp.source_index, 0)]  # (H, S)
        return from_plant & uses[np.arange(len(inp.skus))[None, :], plant]

    def _revenue_at_stake(self, entry: MarketEntry) -> float:
        m, s = entry.market_mask, entry.sku_mask
        units = self.mean[entry.days].sum(axis=0)[np.ix_(m, s)].sum(axis=0)
        return float(units @ self.inp.price[s]) * entry.share_loss_pct / 100


def _threshold(rule: Rule) -> str:
    parts = [f"> {rule.above:g}" if rule.above is not None else "", f"< {rule.below:g}" if rule.below is not None
             else ""]
    return " and ".join(p for p in parts if p)
