"""The scenario's events compiled once into plain tables over days: what the plan and the twin read.

A :class:`Timeline` holds, for every simulated day (warm-up included) and entity, what the
events make of it: a line's share of its hours, a lane closed to departures or to
arrivals, a supplier's extra days late, the multipliers on demand, price, material and
lane cost, and the competitors' entries. It knows nothing of YAML or pydantic: the twin
(``twin.sim``) and the capacity plan (``twin.planning``) take it as plain arrays, so an
event cannot mean one thing to the plan and another to the twin.

A scenario compiles two timelines: one of all its events (what happens: the twin runs
it) and one of the events known to the plan in advance (what the plan and the touchless
rules expect); :func:`compile_timeline` takes either list. Every array axis follows an
:class:`Axes` list of IDs.

Events are dispatched on their ``type``; each compiler below documents what its event
does to the tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twin.network import Network


@dataclass(frozen=True)
class Axes:
    """The order of every array axis, as lists of IDs.

    A hub's markets, and a plant's lines, sit next to each other (markets sorted by their
    hub's position, lines by their plant's; ties keep the tables' order), so the twin's
    daily loop works on array slices rather than on gathered copies.
    """

    skus: list[str]
    families: list[str]   # per SKU
    markets: list[str]
    hubs: list[str]
    lines: list[str]
    plants: list[str]
    materials: list[str]
    suppliers: list[str]
    partners: list[str]

    @classmethod
    def of(cls, net: Network) -> Axes:
        hubs, plants = list(net.hubs.index), list(net.plants.index)
        hub_order = {hub: i for i, hub in enumerate(hubs)}
        plant_order = {plant: i for i, plant in enumerate(plants)}
        return cls(
            skus=list(net.products.index), families=list(net.products["family"]),
            markets=sorted(net.markets.index, key=lambda m: hub_order[net.markets.at[m, "hub"]]),
            hubs=hubs, lines=sorted(net.lines.index, key=lambda line: plant_order[net.lines.at[line, "plant"]]),
            plants=plants, materials=list(net.materials.index), suppliers=list(net.suppliers.index),
            partners=list(net.partners.index))

    def at(self, axis: str) -> dict[str, int]:
        """Position of each ID along ``axis`` (``"skus"``, ``"lines"``, ...)."""
        return {k: i for i, k in enumerate(getattr(self, axis))}


@dataclass(frozen=True)
class PricingOption:
    """One pricing response to a competitor, as the touchless rules list it."""

    name: str
    price_change_pct: float
    volume_factor: float  # demand after the entry as a share of demand before, under this option


@dataclass(frozen=True)
class MarketEntry:
    """A competitor's entry: where, when, how much it takes, and our pricing options."""

    start_day: int          # simulated day it starts selling (warm-up included)
    where: str              # "M05, M06", or "all markets"
    share_loss_pct: float   # volume it takes at our current price
    options: tuple[PricingOption, ...]
    chosen: str             # the option this scenario variant runs
    days: np.ndarray        # (T,) bool: the days it competes
    market_mask: np.ndarray  # (M,) bool: the markets it entered
    sku_mask: np.ndarray    # (S,) bool: the SKUs it competes for


@dataclass(frozen=True)
class Timeline:
    """What the events make of every simulated day (warm-up included), as plain arrays.

    ``T`` is the number of simulated days from ``first_day``; ``L``, ``U``, ``K``, ``M``,
    ``S`` follow the :class:`Axes` lines, suppliers, materials, markets and SKUs; lanes
    are keyed by ID and only lanes an event touches have an entry. A multiplier of None
    means "1 everywhere".
    """

    first_day: dt.date
    days: int
    line_up: np.ndarray                      # (T, L) share of its hours a line has: 0 in an outage
    supplier_delay_days: np.ndarray          # (T, U) extra days a dispatch on that day leaves late
    supplier_delay_probability: np.ndarray   # (T, U) chance it does
    departures_closed: dict[str, np.ndarray] = field(default_factory=dict)  # lane -> (T,) bool: nothing leaves
    arrivals_closed: dict[str, np.ndarray] = field(default_factory=dict)    # lane -> (T,) bool: nothing lands
    lane_cost_factor: dict[str, np.ndarray] = field(default_factory=dict)   # lane -> (T,) cost multiplier
    material_cost_factor: np.ndarray | None = None  # (T, K) purchase price multiplier
    demand_factor: np.ndarray | None = None  # (T, M, S) multiplier on demand
    price_factor: np.ndarray | None = None   # (T, M, S) multiplier on list price
    entries: tuple[MarketEntry, ...] = ()

    def frame(self, axes: Axes) -> pd.DataFrame:
        """The timeline as a tidy table a planner can read: one row per entity, quantity and
        run of days with the same value other than the neutral one (1, or open).

        Columns: ``entity, quantity, start, end`` (the first day after), ``value``.
        """
        rows = []

        def runs(entity: str, quantity: str, values: np.ndarray, neutral: float) -> None:
            changes = np.flatnonzero(np.diff(np.r_[neutral, values, neutral]) != 0)
            for a, b in zip(changes[:-1], changes[1:]):
                if values[a] != neutral:
                    rows.append((entity, quantity, self.first_day + dt.timedelta(days=int(a)),
                                 self.first_day + dt.timedelta(days=int(b)), float(values[a])))

        for i, line in enumerate(axes.lines):
            runs(line, "line_up", self.line_up[:, i], 1.0)
        for i, supplier in enumerate(axes.suppliers):
            runs(supplier, "supplier_delay_days", self.supplier_delay_days[:, i], 0.0)
        for name, table in (("departures_closed", self.departures_closed), ("arrivals_closed", self.arrivals_closed),
                            ("lane_cost_factor", self.lane_cost_factor)):
            for lane in sorted(table):
                runs(lane, name, table[lane].astype(float), 0.0 if name.endswith("closed") else 1.0)
        if self.material_cost_factor is not None:
            for i, material in enumerate(axes.materials):
                runs(material, "material_cost_factor", self.material_cost_factor[:, i], 1.0)
        for name, cube in (("demand_factor", self.demand_factor), ("price_factor", self.price_factor)):
            if cube is None:
                continue
            for m, s in zip(*np.nonzero((cube != 1.0).any(axis=0))):
                runs(f"{axes.markets[m]}/{axes.skus[s]}", name, cube[:, m, s], 1.0)
        return pd.DataFrame(rows, columns=["entity", "quantity", "start", "end", "value"])


class _Builder:
    """The arrays of a timeline while its events are compiled into them."""

    def __init__(self, net: Network, axes: Axes, first_day: dt.date, days: int):
        self.net, self.axes, self.first_day, self.days = net, axes, first_day, days
        self.line_up = np.ones((days, len(axes.lines)))
        self.delay = np.zeros((days, len(axes.suppliers)))
        self.delay_probability = np.zeros((days, len(axes.suppliers)))
        self.departures_closed: dict[str, np.ndarray] = {}
        self.arrivals_closed: dict[str, np.ndarray] = {}
        self.lane_cost: dict[str, np.ndarray] = {}
        self.material_cost: np.ndarray | None = None
        self.demand: np.ndarray | None = None
        self.price: np.ndarray | None = None
        self.entries: list[MarketEntry] = []

    def window(self, ev: Any) -> slice:
        """The simulated days of an event, clipped to the run."""
        day = lambda date: min(max((date - self.first_day).days, 0), self.days)  # noqa: E731
        return slice(day(ev.start), day(ev.end_date))

    def close(self, kind: str, lanes: Iterable[str], days: slice) -> None:
        table = self.departures_closed if kind == "departures" else self.arrivals_closed
        for lane in lanes:
            table.setdefault(lane, np.zeros(self.days, bool))[days] = True

    def cells(self, ev: Any) -> tuple[slice, np.ndarray, np.ndarray]:
        """Days, markets and SKUs an event on demand acts on (empty lists: all)."""
        axes = self.axes
        markets = np.isin(axes.markets, ev.markets) if ev.markets else np.ones(len(axes.markets), bool)
        skus = np.isin(axes.families, ev.families) if ev.families else np.ones(len(axes.skus), bool)
        if getattr(ev, "skus", None):
            skus &= np.isin(axes.skus, ev.skus)
        return self.window(ev), markets, skus

    def scale(self, name: str, cells: tuple[slice, np.ndarray, np.ndarray], factor: float) -> None:
        cube = getattr(self, name)
        if cube is None:
            cube = np.ones((self.days, len(self.axes.markets), len(self.axes.skus)))
            setattr(self, name, cube)
        days, markets, skus = cells
        cube[np.ix_(np.arange(days.start, days.stop), np.flatnonzero(markets), np.flatnonzero(skus))] *= factor

    def timeline(self) -> Timeline:
        return Timeline(first_day=self.first_day, days=self.days, line_up=self.line_up,
                        supplier_delay_days=self.delay, supplier_delay_probability=self.delay_probability,
                        departures_closed=self.departures_closed, arrivals_closed=self.arrivals_closed,
                        lane_cost_factor=self.lane_cost, material_cost_factor=self.material_cost,
                        demand_factor=self.demand, price_factor=self.price, entries=tuple(self.entries))


def _line_outage(b: _Builder, ev: Any) -> None:
    """The line has none of its hours."""
    b.line_up[b.window(ev), b.axes.at("lines")[ev.line]] = 0.0


def _capacity_change(b: _Builder, ev: Any) -> None:
    """The line's regular and overtime hours scale by ``1 + change_pct / 100``."""
    b.line_up[b.window(ev), b.axes.at("lines")[ev.line]] *= 1 + ev.change_pct / 100


def _site_outage(b: _Builder, ev: Any) -> None:
    """A plant's lines have no hours; any other site sends and receives nothing."""
    days, lanes = b.window(ev), b.net.lanes
    if ev.site in b.net.plants.index:
        plant_lines = [i for i, line in enumerate(b.axes.lines) if b.net.lines.at[line, "plant"] == ev.site]
        b.line_up[days, plant_lines] = 0.0
        return
    b.close("departures", lanes.index[lanes["origin"] == ev.site], days)
    b.close("arrivals", lanes.index[lanes["destination"] == ev.site], days)


def _supplier_delay(b: _Builder, ev: Any) -> None:
    """The supplier's dispatches leave ``delay_days`` late, each with ``probability``."""
    u, days = b.axes.at("suppliers")[ev.supplier], b.window(ev)
    b.delay[days, u] = ev.delay_days
    b.delay_probability[days, u] = ev.probability


def _lane_closure(b: _Builder, ev: Any) -> None:
    """Nothing leaves on the lane."""
    b.close("departures", [ev.lane], b.window(ev))


def _port_closure(b: _Builder, ev: Any) -> None:
    """Nothing lands through the port: every lane ``via`` it is closed to arrivals."""
    lanes = b.net.lanes
    b.close("arrivals", lanes.index[lanes["via"] == ev.port], b.window(ev))


def _cost_change(b: _Builder, ev: Any) -> None:
    """A material's price, or a lane's cost per unit, scales by ``1 + change_pct / 100``."""
    days, factor = b.window(ev), 1 + ev.change_pct / 100
    if ev.material is not None:
        if b.material_cost is None:
            b.material_cost = np.ones((b.days, len(b.axes.materials)))
        b.material_cost[days, b.axes.at("materials")[ev.material]] *= factor
    else:
        b.lane_cost.setdefault(ev.lane, np.ones(b.days))[days] *= factor


def _demand_shock(b: _Builder, ev: Any) -> None:
    """Demand in the chosen markets, families and SKUs scales by ``1 + change_pct / 100``."""
    b.scale("demand", b.cells(ev), 1 + ev.change_pct / 100)


def _competitor_entry(b: _Builder, ev: Any) -> None:
    """Demand in the entered markets and families scales by the chosen strategy's volume
    factor, our price by its price factor, and the cost of delivering there by its
    ``delivery_cost_change_pct``; the entry is listed for the touchless rules."""
    cells = b.cells(ev)
    b.scale("demand", cells, ev.volume_factor)
    if ev.price_factor != 1.0:
        b.scale("price", cells, ev.price_factor)
    change = ev.chosen.delivery_cost_change_pct
    if change:
        lanes, serving = b.net.lanes, b.net.markets["hub"]
        entered = [b.axes.markets[m] for m in np.flatnonzero(cells[1])]
        delivery = lanes.index[lanes["destination"].isin(entered)
                               & (lanes["origin"] == lanes["destination"].map(serving))]
        for lane in delivery:
            b.lane_cost.setdefault(lane, np.ones(b.days))[cells[0]] *= 1 + change / 100
    days = np.zeros(b.days, bool)
    days[cells[0]] = True
    b.entries.append(MarketEntry(
        start_day=cells[0].start, where=", ".join(ev.markets) if ev.markets else "all markets",
        share_loss_pct=ev.share_loss_pct, chosen=ev.chosen.name,
        options=tuple(PricingOption(s.name, s.price_change_pct, ev.volume_under(s)) for s in ev.strategies),
        days=days, market_mask=cells[1], sku_mask=cells[2]))


COMPILERS: dict[str, Callable[[_Builder, Any], None]] = {
    "line_outage": _line_outage, "capacity_change": _capacity_change, "site_outage": _site_outage,
    "supplier_delay": _supplier_delay, "lane_closure": _lane_closure, "port_closure": _port_closure,
    "cost_change": _cost_change, "demand_shock": _demand_shock, "competitor_entry": _competitor_entry,
}


def compile_timeline(events: Iterable[Any], net: Network, axes: Axes, first_day: dt.date, days: int) -> Timeline:
    """Compile validated scenario events (``twin.scenario`` event models) into a :class:`Timeline`
    of ``days`` simulated days from ``first_day``. Events are applied in the order given;
    multipliers compose by multiplication, so the order does not change the result."""
    b = _Builder(net, axes, first_day, days)
    for ev in events:
        COMPILERS[ev.type](b, ev)
    return b.timeline()
