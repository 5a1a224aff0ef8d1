"""Scenario files: one YAML file per scenario, validated strictly where it enters.

The whole schema is in this module. Unknown keys fail; every error names the file, the
YAML path, the bad value and what would be valid. A scenario may ``extends:`` another
(its path relative to the extending file, ``.yaml`` optional): mappings merge key by key,
the extending file wins, and lists (``events``) are replaced whole. ``network:`` paths are
relative to the file that writes them. Each file may say which version of the schema it
is written for (``schema_version:``, not inherited; default :data:`SCHEMA_VERSION`): one
written for an earlier version loads if nothing it uses has changed, else its errors end
with what changed since (:data:`SCHEMA_CHANGES`).

A minimal scenario::

    schema_version: 2
    name: Baseline
    network: reference
    horizon: {start: 2027-01-04, weeks: 52}
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from twin.demand.methods import METHODS
from twin.errors import InputError, Problem, choices
from twin.network import Network, load_network

Scalar = Union[str, int, float, bool, None]
MOST_REPLICATIONS = 1_000_000  # per run: beyond it the KPI tables alone outgrow a machine's memory
MOST_VARIANTS = 50  # scenario variants of one file (pricing strategies multiply): each is a run of its own
SCHEMA_VERSION = 2  # the scenario schema this sop-twin reads; a file says which it is written for
SCHEMA_CHANGES = {  # version -> what a file written for the version before must change
    2: "touchless rules (`policies:`) lost `window_weeks` and `min_z`: the spike detector (`spike_detector:`) "
       "finds spikes and a rule's `confidence` sizes them; delete both keys",
}
# the days a horizon, its warm-up and its history may span: pandas' timestamps end in 2262,
# and lead times, forecasts and the fiscal calendar reach past the horizon
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Horizon(_Strict):
    """The weeks the scenario plans and simulates."""

    start: dt.date = Field(description="Monday the horizon begins, YYYY-MM-DD")
    weeks: int = Field(gt=0, le=260, description="length of the horizon in weeks")
    warmup_weeks: int = Field(0, ge=0, le=104, description="weeks simulated before `start` and not counted in KPIs")

    @field_validator("start")
    @classmethod
    def _monday(cls, v: dt.date) -> dt.date:
        if v.weekday() != 0:
            raise ValueError(f"must be a Monday (weeks start on Mondays); {v} is a {v:%A}")
        return v

    @model_validator(mode="after")
    def _on_the_calendar(self) -> Horizon:
        if self.start < FIRST_DAY + dt.timedelta(weeks=self.warmup_weeks):
            raise ValueError(f"the warm-up would begin before {FIRST_DAY}: start the horizon later or shorten "
                             "warmup_weeks (a horizon and its warm-up lie between "
                             f"{FIRST_DAY} and {LAST_DAY})")
        if self.start > LAST_DAY - dt.timedelta(weeks=self.weeks):
            raise ValueError(f"the horizon would end after {LAST_DAY}: start it earlier or make it shorter (a "
                             f"horizon and its warm-up lie between {FIRST_DAY} and {LAST_DAY})")
        return self

    @property
    def days(self) -> int:
        return 7 * self.weeks

    @property
    def end(self) -> dt.date:
        """The first day after the horizon."""
        return self.start + dt.timedelta(weeks=self.weeks)


class Demand(_Strict):
    """How daily demand per market x SKU is drawn in the simulation and planned for.

    ``forecast`` (the default): each week's demand is the forecast of the method chosen
    for the SKU's family (``twin forecast``) plus an error drawn from that series' own
    backtest errors, so Monte Carlo sees the forecast's real uncertainty; weeks still in
    the history (warm-up) are the history. The plan plans for the forecast.
    ``empirical`` resamples whole weeks of the history's last ``history_weeks`` weeks (per
    market x SKU). ``poisson``, ``normal`` and ``negative_binomial`` draw each day around
    the mean per day of that window. In every model a week's units are spread over its
    days at random.
    """

    model: Literal["forecast", "empirical", "poisson", "normal", "negative_binomial"] = Field(
        "forecast", description="demand distribution")
    history_weeks: int = Field(52, ge=1, le=520, description="weeks of history, before the horizon, to draw from")
    cv: float = Field(0.5, gt=0, description="coefficient of variation of daily demand (normal)")
    dispersion: float = Field(2.0, gt=0, description="size k of the negative binomial: variance = mean + mean^2/k")
    scale: float = Field(1.0, gt=0, description="multiplier on all demand (0 would leave every service KPI "
                                                "undefined)")
    history: Path | None = Field(None, description="a reconciled layer folder (`twin reconcile`), relative to the "
                                                   "scenario file: its demand replaces the network's "
                                                   "demand_history.csv")


class MonteCarlo(_Strict):
    replications: int = Field(30, ge=1, le=MOST_REPLICATIONS, description="replications per run")
    seed: int = Field(2026, ge=0, description="seed of numpy's SeedSequence; replication i uses its i-th child")


class Planning(_Strict):
    """How the capacity plan (the LP) is made. Command-line options override the solver keys."""

    objective: Literal["cost", "margin"] = Field(
        "cost", description="minimise total cost, or maximise margin (revenue less cost)")
    ending_inventory: Literal["initial", "none"] = Field(
        "initial", description="each hub ends the horizon with at least its starting stock (`initial`), or no target")
    clear_backlog_at_end: bool = Field(False, description="backorders must all be delivered by the last week")
    integer_workforce: bool = Field(False, description="hire and lay off whole workers (a MIP; slower)")
    time_limit_seconds: float = Field(60.0, gt=0, description="HiGHS wall-clock limit; the best plan found is kept")
    threads: int | None = Field(None, ge=1, description="HiGHS threads (default: HiGHS decides)")
    gap: float = Field(1e-4, ge=0, lt=1, description="relative optimality gap at which a MIP stops")
    algorithm: Literal["auto", "simplex", "ipm"] = Field("auto", description="HiGHS LP algorithm")


ForecastMethod = Literal[METHODS]  # the names twin.demand.methods knows


class Forecasting(_Strict):
    """How ``twin forecast`` backtests and chooses a method per product family."""

    methods: dict[str, ForecastMethod] = Field(
        default_factory=dict, description="{family: method} fixed by the scenario; other families are chosen "
                                          "by backtest")
    backtest_windows: int = Field(4, ge=2, le=52, description="rolling forecast origins; the last one scores")
    window_weeks: int = Field(13, ge=1, le=52, description="weeks each backtest forecast covers")
    refit_final: bool = Field(False, description="refit ETS and MSTL on the whole history for the final forecast "
                                                 "(slower); otherwise their fit at the last backtest origin is "
                                                 "carried forward over the last window")
    adjustments: Path | None = Field(None, description="the planner's adjustment log (CSV, relative to the scenario "
                                                       "file; twin.demand.adjustments): accepted rows change the "
                                                       "forecast the plan reads, and the holdout's forecast value "
                                                       "added measures them. Without it, the log of the reconciled "
                                                       "layer demand.history names, if it has one")


def slug(text: str) -> str:
    """A folder name from a strategy name: 'Match at -8 %' -> 'match-at-8' (the run folder of
    each pricing strategy of a competitor entry)."""
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split()) or "variant"


# Whether the plan knows of an event in advance when the scenario does not say: a what-if
# closure, an outage or a competitor's entry is planned for; a demand shock is a surprise
# the twin meets and the touchless rules must catch.
KNOWN_TO_PLAN_BY_DEFAULT = {"demand_shock": False}


# The numbers of each event type a recommendation rests on: ``twin.sensitivity`` moves
# each over its range (``ranges:``, else ±50 %) for the tornado chart and the break-even.
KEY_ASSUMPTIONS: dict[str, dict[str, str]] = {
    "competitor_entry": {"share_loss_pct": "share loss", "elasticity": "price elasticity"},
    "demand_shock": {"change_pct": "demand change"},
    "port_closure": {"days": "closure length"},
    "lane_closure": {"days": "closure length"},
    "line_outage": {"days": "outage length"},
    "site_outage": {"days": "outage length"},
    "supplier_delay": {"delay_days": "delay"},
    "capacity_change": {"change_pct": "capacity change"},
    "cost_change": {"change_pct": "cost change"},
}
STRATEGY_ASSUMPTIONS = {"share_loss_pct": "share loss"}  # a pricing strategy's own, where it sets one
# field -> the least and most a moved assumption may be, and whether it is whole
ASSUMPTION_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "share_loss_pct": (0, 99, False), "elasticity": (-10, 0, False), "change_pct": (-99, 1000, False),
    "days": (1, 3650, True), "delay_days": (1, 365, True)}
RANGES_DESCRIPTION = ("the least and most each key assumption may be, for the tornado chart and the break-even, e.g. "
                      "{share_loss_pct: [6, 20]} (default: ±50 % of its value)")


def _check_ranges(ranges: dict[str, tuple[float, float]], values: dict[str, float], allowed: dict[str, str]) -> None:
    """A declared range names a key assumption and holds its value, inside what it may be."""
    for name, (low, high) in ranges.items():
        if name not in allowed:
            raise ValueError(f"ranges: {name!r} is not a key assumption here; give one of {sorted(allowed)}")
        least, most, _ = ASSUMPTION_BOUNDS[name]
        if not least <= low <= values[name] <= high <= most:
            raise ValueError(f"ranges.{name}: [{low:g}, {high:g}] must hold its value {values[name]:g}, from "
                             f"{low:g} up, within {least:g} to {most:g}")


class _Event(_Strict):
    known_to_plan: bool | None = Field(
        None, description="the capacity plan knows of the event in advance and plans for it (default: true for "
                          "every event type but demand_shock, a surprise); the twin always meets it")
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict, description=RANGES_DESCRIPTION)

    @property
    def plan_knows(self) -> bool:
        if self.known_to_plan is not None:
            return self.known_to_plan
        return KNOWN_TO_PLAN_BY_DEFAULT.get(self.type, True)

    def assumption(self, name: str) -> float:
        """The value of one of the event's key assumptions (a window's ``days`` however given)."""
        if name == "days":
            given = self.days is not None or self.end is not None  # else _Window says what to give
            return float((self.end_date - self.start).days) if given else math.nan
        return float(getattr(self, name))

    @model_validator(mode="after")
    def _ranges_hold_values(self):
        allowed = KEY_ASSUMPTIONS.get(self.type, {})
        _check_ranges(self.ranges, {n: self.assumption(n) for n in self.ranges if n in allowed}, allowed)
        return self


class _Window(_Event):
    start: dt.date = Field(description="first day of the event")
    days: int | None = Field(None, gt=0, description="duration in days (or give `end`)")
    end: dt.date | None = Field(None, description="first day after the event (or give `days`)")

    @model_validator(mode="after")
    def _one_duration(self):
        if (self.days is None) == (self.end is None):
            raise ValueError("give exactly one of `days` or `end`")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"`end` ({self.end}) must be after `start` ({self.start})")
        return self

    @property
    def end_date(self) -> dt.date:
        return self.end if self.end is not None else self.start + dt.timedelta(days=self.days)


class DemandShock(_Window):
    """Demand changes by ``change_pct`` percent in the chosen markets, families and SKUs."""

    type: Literal["demand_shock"]
    change_pct: float = Field(gt=-100, description="percent change in demand, e.g. 4 or -20")
    markets: list[str] = Field(default_factory=list, description="market IDs (empty: all)")
    families: list[str] = Field(default_factory=list, description="product families (empty: all)")
    skus: list[str] = Field(default_factory=list, description="SKU IDs (empty: all)")


class LineOutage(_Window):
    """A line produces nothing from ``start`` for its duration."""

    type: Literal["line_outage"]
    line: str = Field(description="line ID")


class LaneClosure(_Window):
    """Nothing leaves on the lane from ``start`` for its duration; what is already on its
    way arrives as planned. Closing a hub-to-market lane stops deliveries to the market."""

    type: Literal["lane_closure"]
    lane: str = Field(description="lane ID")


class PortClosure(_Window):
    """The port receives nothing from ``start`` for its duration: shipments on every lane
    ``via`` it that would arrive meanwhile wait at sea and land when it reopens."""

    type: Literal["port_closure"]
    port: str = Field(description="port ID")


class CapacityChange(_Window):
    """A line's regular and overtime hours change by ``change_pct`` percent for the window
    (a shift added, a crew lost)."""

    type: Literal["capacity_change"]
    line: str = Field(description="line ID")
    change_pct: float = Field(ge=-100, description="percent change in the line's hours, e.g. 25 or -40")


class SupplierDelay(_Window):
    """Shipments a supplier dispatches in the window leave ``delay_days`` late, each with
    ``probability`` (1: every one)."""

    type: Literal["supplier_delay"]
    supplier: str = Field(description="supplier ID")
    delay_days: int = Field(gt=0, le=365, description="extra days before a shipment leaves")
    probability: float = Field(1.0, gt=0, le=1, description="chance that a shipment in the window is delayed")


class SiteOutage(_Window):
    """A site stops for the window: a plant's lines make nothing; a supplier or partner
    ships nothing (what it owes waits); a hub neither receives (shipments wait at its
    gate) nor ships to its markets or other hubs."""

    type: Literal["site_outage"]
    site: str = Field(description="plant, hub, supplier or partner ID")


class CostChange(_Window):
    """A material's purchase price, or a lane's cost per unit, changes by ``change_pct``
    percent for the window (a tariff, a fuel surcharge)."""

    type: Literal["cost_change"]
    material: str | None = Field(None, description="material ID (or give `lane`)")
    lane: str | None = Field(None, description="lane ID (or give `material`)")
    change_pct: float = Field(gt=-100, description="percent change in the cost, e.g. 25 or -10")

    @model_validator(mode="after")
    def _one_target(self):
        if (self.material is None) == (self.lane is None):
            raise ValueError("give exactly one of `material` or `lane`")
        return self


class PricingStrategy(_Strict):
    """One pricing response to a competitor: a scenario variant of its own."""

    name: str = Field(min_length=1, description="short name shown in reports, e.g. 'Match at -8 %'")
    price_change_pct: float = Field(0.0, gt=-100, description="our price change in the entered markets, in %")
    share_loss_pct: float | None = Field(
        None, ge=0, lt=100, description="share lost under this strategy (default: the event's); a premium "
                                        "with better service may keep more")
    delivery_cost_change_pct: float = Field(
        0.0, gt=-100, description="change in the cost of delivering to the entered markets, in % (better "
                                  "service, e.g. express delivery, costs more)")
    description: str = Field("", description="what the strategy means for customers")
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict, description=RANGES_DESCRIPTION)

    @model_validator(mode="after")
    def _ranges_hold_values(self):
        if "share_loss_pct" in self.ranges and self.share_loss_pct is None:
            raise ValueError("ranges.share_loss_pct: the strategy has no share_loss_pct of its own (it takes the "
                             "event's): give one, or move the range to the event")
        _check_ranges(self.ranges, {n: getattr(self, n) for n in self.ranges if n in STRATEGY_ASSUMPTIONS},
                      STRATEGY_ASSUMPTIONS)
        return self


class CompetitorEntry(_Event):
    """A competitor enters the chosen markets on ``start`` and stays (or until ``end``).

    Demand there becomes ``(1 - share_loss) x (1 + price_change) ^ elasticity`` of what it
    was (a constant-elasticity demand curve after the share loss), and our price becomes
    ``(1 + price_change)`` of list. Each pricing strategy is a scenario variant of its own
    (:func:`variants`); ``strategy`` names the one a variant runs (default: the first).
    """

    type: Literal["competitor_entry"]
    start: dt.date = Field(description="first day the competitor sells")
    end: dt.date | None = Field(None, description="first day after it leaves (default: it stays)")
    markets: list[str] = Field(default_factory=list, description="market IDs entered (empty: all)")
    families: list[str] = Field(default_factory=list, description="product families it competes in (empty: all)")
    share_loss_pct: float = Field(ge=0, lt=100, description="percent of our volume it takes at our current price")
    elasticity: float = Field(le=0, description="price elasticity of demand, e.g. -1.8: 1 % cheaper sells 1.8 % more")
    strategies: list[PricingStrategy] = Field(min_length=1, description="our pricing responses, one variant each")
    strategy: str | None = Field(None, description="the strategy this scenario runs (default: the first)")

    @model_validator(mode="after")
    def _known_strategy(self):
        names = [s.name for s in self.strategies]
        if len(set(names)) < len(names):
            raise ValueError(f"strategy names must differ: {names}")
        folders = [slug(n) for n in names]
        if len(set(folders)) < len(folders):
            same = [n for n, f in zip(names, folders) if folders.count(f) > 1]
            raise ValueError(f"strategies {same} would share one run folder ({slug(same[0])!r}): name them so that "
                             "they differ in letters or digits, not only in punctuation")
        if self.strategy is not None and self.strategy not in names:
            raise ValueError(f"strategy {self.strategy!r} is not one of the strategies: {names}")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"`end` ({self.end}) must be after `start` ({self.start})")
        return self

    @property
    def end_date(self) -> dt.date:
        return self.end if self.end is not None else dt.date.max

    @property
    def chosen(self) -> PricingStrategy:
        return next((s for s in self.strategies if s.name == self.strategy), self.strategies[0])

    @property
    def volume_factor(self) -> float:
        """Demand after entry as a share of demand before, under the chosen strategy."""
        return self.volume_under(self.chosen)

    def volume_under(self, s: PricingStrategy) -> float:
        """Demand after entry as a share of demand before, under strategy ``s``."""
        share = self.share_loss_pct if s.share_loss_pct is None else s.share_loss_pct
        return (1 - share / 100) * (1 + s.price_change_pct / 100) ** self.elasticity

    @property
    def price_factor(self) -> float:
        return 1 + self.chosen.price_change_pct / 100


EVENT_MODELS = (DemandShock, LineOutage, LaneClosure, PortClosure, CapacityChange, SupplierDelay, SiteOutage,
                CostChange, CompetitorEntry)
EVENT_TYPES = tuple(m.model_fields["type"].annotation.__args__[0] for m in EVENT_MODELS)
Event = Annotated[Union[EVENT_MODELS], Field(discriminator="type")]


# --- touchless rules -----------------------------------------------------------------------

TRIGGERS = {
    "demand_spike": "when the spike detector signals a family's demand running away from expected: the percent "
                    "above (below: negative) expected one can be `confidence` % sure of",
    "supplier_delay": "days late of a supplier's latest dispatch (its usual lateness and any supplier_delay)",
    "competitor_entry": "percent of volume a competitor entering takes, in the week it enters",
}
# action -> the triggers it can answer (escalate answers any)
ACTIONS = {
    "approve_overtime": ("demand_spike",),
    "reroute_stock": ("supplier_delay",),
    "prepare_pricing_options": ("competitor_entry",),
    "escalate": tuple(TRIGGERS),
}
DEFAULT_OWNER = {"approve_overtime": "Plant manager", "reroute_stock": "Supply planner",
                 "prepare_pricing_options": "Commercial director", "escalate": "S&OP executive"}
DEFAULT_DUE_DAYS = {"auto": 0, "review": 7, "decide": 14}


class Rule(_Strict):
    """A touchless S&OP rule, checked at every weekly review of the simulation.

    It fires when its trigger's value is above ``above`` and below ``below`` (each
    optional, both strict). ``auto`` and ``review`` rules do their action (a person
    reviews the cost of a ``review`` one); ``decide`` rules do nothing but prepare the
    options for an executive. Every firing is a row of the decision log. After firing for
    a family, supplier or competitor, a rule rests ``duration_weeks`` for it.
    """

    name: str = Field(min_length=1, description="what the rule is called in the decision log")
    trigger: Literal[tuple(TRIGGERS)] = Field(description="what is measured at the weekly review")
    above: float | None = Field(None, description="fires when the trigger's value is above this")
    below: float | None = Field(None, description="... and below this")
    action: Literal[tuple(ACTIONS)] = Field(description="what is done (auto, review) or prepared (decide)")
    mode: Literal["auto", "review", "decide"] = Field(
        description="auto: done, notification only; review: done, a person reviews the cost; decide: not "
                    "done, options prepared for an executive")
    owner: str | None = Field(None, description="who owns the decision (default: by action)")
    due_days: int | None = Field(None, ge=0, description="days to act (default: auto 0, review 7, decide 14)")
    confidence: float = Field(90.0, ge=0, lt=100, description="demand_spike: how sure (%) the rule must be of the "
                                                             "spike's size; 0 acts on the estimate itself")
    overtime_hours_per_day: float = Field(8.0, gt=0, le=24, description="approve_overtime: extra hours a line may "
                                                                        "work per day")
    donor_cover_days: float = Field(14.0, ge=0, description="reroute_stock: days of its own forecast demand a "
                                                            "donor hub keeps")
    duration_weeks: int = Field(4, ge=1, le=52, description="how long an approval lasts, and the rule rests")

    @model_validator(mode="before")
    @classmethod
    def _removed_fields(cls, data: Any) -> Any:
        gone = [f for f in ("window_weeks", "min_z") if isinstance(data, dict) and f in data]
        if gone:
            raise ValueError(f"{' and '.join(f'`{f}`' for f in gone)} no longer exist{'s' * (len(gone) == 1)}: demand spikes are found by the "
                             "spike detector (the scenario's `spike_detector:` sets its false-alarm rate) and sized "
                             "with the rule's `confidence`; delete them")
        return data

    @model_validator(mode="after")
    def _consistent(self):
        if self.above is None and self.below is None:
            raise ValueError("give a threshold: `above`, `below` or both")
        if self.above is not None and self.below is not None and self.above >= self.below:
            raise ValueError(f"`above` ({self.above}) must be less than `below` ({self.below})")
        if self.trigger not in ACTIONS[self.action]:
            raise ValueError(f"action {self.action!r} cannot answer trigger {self.trigger!r}; for "
                             f"{self.trigger!r} use one of {[a for a, t in ACTIONS.items() if self.trigger in t]}")
        return self

    @property
    def owner_name(self) -> str:
        return self.owner or DEFAULT_OWNER[self.action]

    @property
    def due(self) -> int:
        return self.due_days if self.due_days is not None else DEFAULT_DUE_DAYS[self.mode]


class SpikeDetector(_Strict):
    """How the weekly review tells a demand spike from noise (``twin.sim.spikes``): a CUSUM
    per family on the weekly forecast errors, its thresholds set from the demand model's own
    draws so that, in a year without spikes, it signals for a family in `false_alarm_pct` %
    of years (rises and drops each)."""

    false_alarm_pct: float = Field(2.5, gt=0, le=50, description="percent of spike-free years in which a family's "
                                                                  "rise (and, apart, its drop) is signalled")
    tuned_to_sd: float = Field(1.0, gt=0, le=10, description="the shift, in weekly noise standard deviations, "
                                                             "found fastest")


# The S&OP playbook: what a scenario gets when it says nothing under `policies:`.
# A spike answered with overtime must be more than 1 % and not surely over 5 %; it goes to
# an executive when one can be 90 % sure it is over 5 %.
DEFAULT_POLICIES = (
    Rule(name="Demand spike under 5 %: approve overtime", trigger="demand_spike", above=1, below=5,
         action="approve_overtime", mode="auto"),
    Rule(name="Demand spike over 5 %: executive decision", trigger="demand_spike", above=5,
         action="escalate", mode="decide"),
    Rule(name="Supplier over a week late: reroute stock", trigger="supplier_delay", above=7,
         action="reroute_stock", mode="review"),
    Rule(name="Competitor entry: choose a pricing strategy", trigger="competitor_entry", above=0,
         action="prepare_pricing_options", mode="decide"),
)


class Scenario(_Strict):
    """A validated scenario file."""

    name: str = Field(min_length=1, description="short name shown in reports")
    description: str = Field("", description="what the scenario asks")
    network: Path = Field(description="folder of network CSV tables, relative to the scenario file")
    horizon: Horizon
    demand: Demand = Field(default_factory=Demand)
    supply: Literal["plan", "policy"] = Field(
        "plan", description="what drives production: `plan` (the capacity plan, corrected by the hubs' "
                            "inventory policies) or `policy` (the hubs' policies alone pull from plants)")
    planning: Planning = Field(default_factory=Planning)
    forecasting: Forecasting = Field(default_factory=Forecasting)
    events: list[Event] = Field(default_factory=list, description="disruptions, each with a start and a duration")
    overrides: dict[str, dict[str, dict[str, Scalar]]] = Field(
        default_factory=dict, description="patches to network rows: {table: {row ID: {column: value}}}")
    policies: list[Rule] = Field(default_factory=lambda: list(DEFAULT_POLICIES),
                                 description="touchless rules (default: the S&OP playbook; [] for none)")
    spike_detector: SpikeDetector = Field(default_factory=SpikeDetector)
    montecarlo: MonteCarlo = Field(default_factory=MonteCarlo)


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario with its network, ready to simulate."""

    scenario: Scenario
    network: Network
    file: str
    adjustments: pd.DataFrame | None = None  # forecasting.adjustments, read and checked

    def updated(self, **fields: Any) -> LoadedScenario:
        """The same scenario with top-level fields replaced (``supply="policy"``, say); the
        network is shared, not reloaded."""
        return LoadedScenario(self.scenario.model_copy(update=fields), self.network, self.file, self.adjustments)


def variants(loaded: LoadedScenario, most: int = MOST_VARIANTS) -> list[LoadedScenario]:
    """One scenario per combination of pricing strategies of its ``competitor_entry`` events
    (the scenario itself when it has none or one), each named after its strategies.

    Raises
    ------
    InputError
        When they would be more than ``most`` (each is a run of its own: two entries of 50
        strategies would be 2,500 runs), saying how many and how to raise the cap.
    """
    entries = [(i, ev) for i, ev in enumerate(loaded.scenario.events)
               if isinstance(ev, CompetitorEntry) and ev.strategy is None and len(ev.strategies) > 1]
    if not entries:
        return [loaded]
    count = math.prod(len(ev.strategies) for _, ev in entries)
    if count > most:
        raise InputError([Problem(loaded.file, ", ".join(f"events[{i}].strategies" for i, _ in entries),
                                  f"{count:,} scenario variants ({' x '.join(str(len(ev.strategies)) for _, ev in entries)}"
                                  f" pricing strategies), more than {most:,}: each is a run of its own; give fewer "
                                  f"strategies, or raise the cap with --max-variants {count}")])
    out = []
    for combo in itertools.product(*(ev.strategies for _, ev in entries)):
        events = list(loaded.scenario.events)
        for (i, ev), strategy in zip(entries, combo):
            events[i] = ev.model_copy(update={"strategy": strategy.name})
        name = f"{loaded.scenario.name}: {' + '.join(s.name for s in combo)}"
        out.append(loaded.updated(name=name, events=events))
    return out


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read, merge (``extends:``), validate a scenario file and load its network.

    Raises
    ------
    InputError
        With every problem located by file and YAML path.
    """
    path = Path(path)
    versions: dict[str, int] = {}
    data = _read_chain(path, (), versions)
    file = str(path)
    problems: list[Problem] = []
    try:
        scenario: Scenario | None = Scenario.model_validate(data)
        parts = _Parts(scenario.horizon, list(enumerate(scenario.events)), scenario.forecasting, scenario.demand)
    except ValidationError as exc:
        problems += [_problem(file, e, data) for e in exc.errors()]
        scenario, parts = None, _valid_parts(data)
    # one pass: the network, the overrides and the IDs are checked whatever the schema found
    network = _network_for_checks(data, file, problems)
    if network is not None and parts.demand is not None and parts.demand.history is not None:
        network = _with_layer_history(network, parts.demand.history, file, problems)
    if network is not None:
        problems += _check_against_network(parts, network, file)
    adjustments = None
    if network is not None and parts.horizon is not None and parts.forecasting is not None:
        layer = parts.demand.history if parts.demand is not None else None
        adjustments = adjustment_log(parts.forecasting.adjustments, layer, network, parts.horizon.end,
                                     parts.forecasting.window_weeks, problems)
    if problems:
        raise InputError(problems + _since(versions))
    assert scenario is not None and network is not None  # no problem: both were made
    return LoadedScenario(scenario, network, file, adjustments)


def adjustment_log(path: Path | None, layer: Path | None, net: Network, horizon_end: dt.date, window: int,
                   problems: list[Problem]) -> pd.DataFrame | None:
    """The adjustment log of a forecast: the CSV at ``path``, else the reconciled layer's
    (``layer``, the scenario's ``demand.history``), if it has rows; checked against the
    network's demand history and the days its forecast covers
    (:func:`twin.demand.adjustments.check_adjustments`). None without one."""
    from twin.data.layer import ADJUSTMENTS_FILE, layer_adjustments
    from twin.demand.adjustments import adjustable_days, check_adjustments, read_adjustments

    series = net.demand_history.index.droplevel("week").unique()
    days = adjustable_days(net.demand_history, horizon_end, window)
    if path is not None:
        return read_adjustments(path, series, days, problems)
    log = layer_adjustments(layer) if layer is not None else None
    if log is None or log.empty:
        return None
    return check_adjustments(log, f"{layer} ({ADJUSTMENTS_FILE})", series, days, problems)


def _with_layer_history(net: Network, layer: Path, file: str, problems: list[Problem]) -> Network | None:
    """``net`` with the demand history of the reconciled layer ``layer`` in place of its
    CSV's; None, with the problems, when the layer is missing or names SKUs or markets the
    network does not have."""
    from dataclasses import replace

    from twin.data.layer import LayerMissing, demand_history

    try:
        history = demand_history(layer)
    except LayerMissing as exc:
        problems.append(Problem(file, "demand.history", f"{str(layer)!r}: {exc}"))
        return None
    found = []
    for column, table in (("sku", net.products), ("market", net.markets)):
        unknown = sorted(set(history.index.get_level_values(column)) - set(table.index))
        if unknown:
            found.append(Problem(file, "demand.history", f"the layer {str(layer)!r} has demand for {column}(s) "
                                                         f"{unknown[:5]} the network does not have: reconcile the "
                                                         f"extracts against this network ({choices(table.index)})"))
    problems += found
    return None if found else replace(net, demand_history=history)


def _since(versions: dict[str, int]) -> list[Problem]:
    """For each file of a chain written for an earlier schema: what changed since, so that a
    file that no longer loads says what to change."""
    return [Problem(f, "schema_version", f"{v}: the file is written for schema {v}, this sop-twin reads schema "
                                         f"{SCHEMA_VERSION}; since then: " + "; ".join(
                                             f"({n}) {SCHEMA_CHANGES[n]}" for n in range(v + 1, SCHEMA_VERSION + 1))
                    + f"; then set schema_version: {SCHEMA_VERSION}")
            for f, v in versions.items() if v < SCHEMA_VERSION]


@dataclass(frozen=True)
class _Parts:
    """The parts of a scenario the network checks read, each None (events: left out) where
    the schema refused it."""

    horizon: Horizon | None
    events: list[tuple[int, Any]]  # (index in the file, event)
    forecasting: Forecasting | None
    demand: Demand | None


def _valid_parts(data: dict[str, Any]) -> _Parts:
    """The parts of a scenario the schema refused as a whole that are valid on their own, so
    that one pass also checks their IDs and dates against the network."""

    def valid(model: Any, value: Any) -> Any:
        try:
            return TypeAdapter(model).validate_python(value)
        except ValidationError:
            return None

    events = data.get("events")
    return _Parts(horizon=valid(Horizon, data.get("horizon")),
                  events=[(i, ev) for i, raw in enumerate(events if isinstance(events, list) else [])
                          if (ev := valid(Event, raw)) is not None],
                  forecasting=valid(Forecasting, data.get("forecasting", {})),
                  demand=valid(Demand, data.get("demand", {})))


def _network_for_checks(data: dict[str, Any], file: str, problems: list[Problem]) -> Network | None:
    """The scenario's network with its overrides, its problems added to ``problems``. With
    bad overrides the IDs are still checked, against the network as shipped (overrides patch
    rows, they never add any); None when there is no network to check against."""
    folder, overrides = data.get("network"), data.get("overrides")
    if not isinstance(folder, str):
        return None  # missing or not a path: the schema said so
    if not Path(folder).is_dir():
        problems.append(Problem(file, "network", f"{folder!r}: network folder not found"))
        return None
    if not isinstance(overrides, dict) or not all(isinstance(rows, dict) and all(isinstance(cells, dict)
                                                                                 for cells in rows.values())
                                                  for rows in overrides.values()):
        overrides = None  # not {table: {row: {column: value}}}: the schema said so
    try:
        return load_network(folder, overrides, overrides_file=file)
    except InputError as exc:
        problems += exc.problems
    if not overrides:
        return None
    try:
        return load_network(folder)
    except InputError:
        return None  # the network's own problems are listed already


def validate_files(paths: list[str | Path], most_variants: int = MOST_VARIANTS) -> dict[str, list[Problem]]:
    """Problems per file (an empty list for a good file), more scenario variants than
    ``most_variants`` included. Never raises on bad input."""
    out: dict[str, list[Problem]] = {}
    for p in paths:
        try:
            variants(load_scenario(p), most_variants)
            out[str(p)] = []
        except InputError as exc:
            out[str(p)] = exc.problems
    return out


# --- reading ---------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML as the schema reads it: dates stay text for the schema to check with their
    place (an unquoted 2027-02-30 is a located error there, not a crash in the reader)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _read_chain(path: Path, seen: tuple[Path, ...], versions: dict[str, int]) -> dict[str, Any]:
    """The file's data merged over the files it extends; each file's own ``schema_version``
    (not inherited: each file is written for one) goes into ``versions``."""
    file = str(path)
    if not path.is_file():
        raise InputError([Problem(file, "", "scenario file not found")])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError([Problem(file, "", "not a UTF-8 text file; a scenario is YAML text")]) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: no Python objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError([Problem(file, where, f"not valid YAML: {reason}")]) from None
    if data is None:
        raise InputError([Problem(file, "", "empty file; a scenario needs at least `name`, `network` and `horizon`")])
    if not isinstance(data, dict):
        raise InputError([Problem(file, "", f"a scenario is a mapping of keys, not a {type(data).__name__}")])
    versions[file] = _schema_version(file, data.pop("schema_version", SCHEMA_VERSION))
    if isinstance(data.get("network"), str):
        data["network"] = str((path.parent / data["network"]).resolve())
    if isinstance(data.get("demand"), dict) and isinstance(data["demand"].get("history"), str):
        data["demand"] = {**data["demand"], "history": str((path.parent / data["demand"]["history"]).resolve())}
    if isinstance(data.get("forecasting"), dict) and isinstance(data["forecasting"].get("adjustments"), str):
        data["forecasting"] = {**data["forecasting"],
                               "adjustments": str((path.parent / data["forecasting"]["adjustments"]).resolve())}
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise InputError([Problem(file, "extends", f"{parent!r}: must be the path of another scenario file")])
    parent_path = (path.parent / parent)
    if not parent_path.exists() and parent_path.suffix == "":
        parent_path = parent_path.with_suffix(".yaml")
    chain = seen + (path.resolve(),)
    if parent_path.resolve() in chain:
        loop = " -> ".join(p.name for p in chain + (parent_path.resolve(),))
        raise InputError([Problem(file, "extends", f"{parent!r}: scenarios extend each other in a cycle: {loop}")])
    if not parent_path.is_file():
        raise InputError([Problem(file, "extends", f"{parent!r}: no such scenario file ({parent_path})")])
    return _merge(_read_chain(parent_path, chain, versions), data)


def _schema_version(file: str, v: Any) -> int:
    """The schema version a file says it is written for; one this sop-twin cannot read stops
    here, before the schema's errors that would follow from it."""
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise InputError([Problem(file, "schema_version", f"{v!r}: a whole number from 1 to {SCHEMA_VERSION}, the "
                                                          "scenario schema the file is written for")])
    if v > SCHEMA_VERSION:
        raise InputError([Problem(file, "schema_version", f"{v}: the file is written for a newer sop-twin (schema "
                                                          f"{v}); this one reads schema 1 to {SCHEMA_VERSION}: "
                                                          "upgrade sop-twin")])
    return v


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in patch.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _yaml_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(file: str, error: dict[str, Any], data: dict[str, Any]) -> Problem:
    # Discriminated unions add the tag to the location: drop it so the path is the YAML path.
    loc = tuple(p for p in error["loc"] if p not in EVENT_TYPES)
    where = _yaml_path(loc)
    if error["type"] == "extra_forbidden":
        return Problem(file, where, f"unknown key; {choices(_fields_at(loc[:-1], data))}")
    if error["type"] == "missing":
        return Problem(file, where, "missing; this key is required")
    if error["type"] == "union_tag_invalid" or error["type"] == "union_tag_not_found":
        tag = error.get("input", {}).get("type") if isinstance(error.get("input"), dict) else error.get("input")
        said = "missing `type`" if tag is None else f"{tag!r}: unknown event type"
        return Problem(file, where, f"{said}; {choices(EVENT_TYPES)}")
    value = error.get("input")
    shown = f"{value!r}: " if not isinstance(value, dict) else ""
    msg = error["msg"].removeprefix("Value error, ")
    return Problem(file, where, f"{shown}{msg}")


def _fields_at(loc: tuple, data: dict[str, Any]) -> list[str]:
    """Valid keys of the model found at ``loc`` in the scenario."""
    model: type[BaseModel] = Scenario
    node: Any = data
    annotation: Any = None
    for part in loc:
        if isinstance(part, int):  # an item of a list: its model follows the item (an event's type)
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            annotation = model.model_fields[part].annotation
            node = node.get(part) if isinstance(node, dict) else None
        model = _model_in(annotation, node)
    extra = {"extends", "schema_version"} if model is Scenario else set()
    return sorted(set(model.model_fields) | extra)


def _model_in(annotation: Any, node: Any) -> type[BaseModel]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) + getattr(annotation, "__metadata__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            if isinstance(node, dict) and "type" in arg.model_fields:
                tag = arg.model_fields["type"].annotation.__args__[0]
                if node.get("type") != tag:
                    continue
            return arg
        found = _model_in(arg, node) if hasattr(arg, "__args__") else None
        if found is not None:
            return found
    return None  # type: ignore[return-value]


def backtest_history_problems(f: Forecasting, net: Network, file: str) -> list[Problem]:
    """Every demand series must be longer than the backtest's windows (``backtest_windows``
    origins, ``window_weeks`` apart, each forecasting ``window_weeks``): a shorter one leaves
    no week to fit on before the first origin."""
    need = f.backtest_windows * f.window_weeks + 1
    lengths = net.demand_history.groupby(level=["sku", "market"]).size()
    short = lengths[lengths < need]
    if short.empty:
        return []
    named = ", ".join(f"{sku}/{market} ({n})" for (sku, market), n in short.head(5).items())
    more = f" and {len(short) - 5} more" if len(short) > 5 else ""
    return [Problem(file, "forecasting.backtest_windows",
                    f"{f.backtest_windows} windows of {f.window_weeks} weeks need at least {need} weeks of history per "
                    f"series; {len(short)} series have fewer (weeks): {named}{more}; ask for fewer or shorter "
                    "windows (forecasting.backtest_windows, forecasting.window_weeks), or choose another demand "
                    "model")]


def _check_against_network(s: _Parts, net: Network, file: str) -> list[Problem]:
    """IDs the scenario names must exist in its network, its events' dates in its days and its
    history long enough for its demand model; a part the schema refused is not checked."""
    problems: list[Problem] = []
    families = set(net.products["family"])
    if s.horizon is not None:
        first = s.horizon.start - dt.timedelta(weeks=s.horizon.warmup_weeks)
        last = s.horizon.start + dt.timedelta(weeks=s.horizon.weeks)
    for i, ev in s.events:
        where = f"events[{i}]"
        if s.horizon is not None and not first <= ev.start < last:
            problems.append(Problem(file, f"{where}.start", f"{ev.start}: outside the simulated days "
                                    f"{first} to {last - dt.timedelta(days=1)}"))
        if isinstance(ev, (LineOutage, CapacityChange)) and ev.line not in net.lines.index:
            problems.append(Problem(file, f"{where}.line", f"{ev.line!r}: unknown line; {choices(net.lines.index)}"))
        if isinstance(ev, SiteOutage):
            sites = [i for t in ("plants", "hubs", "suppliers", "partners") for i in net.table(t).index]
            if ev.site not in sites:
                problems.append(Problem(file, f"{where}.site", f"{ev.site!r}: not a plant, hub, supplier or "
                                        f"partner; {choices(sites)}"))
        if isinstance(ev, SupplierDelay) and ev.supplier not in net.suppliers.index:
            problems.append(Problem(file, f"{where}.supplier", f"{ev.supplier!r}: unknown supplier; "
                                    f"{choices(net.suppliers.index)}"))
        if isinstance(ev, CostChange) and ev.material is not None and ev.material not in net.materials.index:
            problems.append(Problem(file, f"{where}.material", f"{ev.material!r}: unknown material; "
                                    f"{choices(net.materials.index)}"))
        if isinstance(ev, (LaneClosure, CostChange)) and ev.lane is not None and ev.lane not in net.lanes.index:
            problems.append(Problem(file, f"{where}.lane", f"{ev.lane!r}: unknown lane; {choices(net.lanes.index)}"))
        if isinstance(ev, PortClosure):
            if ev.port not in net.ports.index:
                problems.append(Problem(file, f"{where}.port", f"{ev.port!r}: unknown port; "
                                        f"{choices(net.ports.index)}"))
            elif not (net.lanes["via"] == ev.port).any():
                problems.append(Problem(file, f"{where}.port", f"{ev.port!r}: no lane passes through it; "
                                        f"ports with lanes: {sorted(set(net.lanes['via'].dropna()))}"))
        if isinstance(ev, (DemandShock, CompetitorEntry)):
            keys = (("markets", net.markets.index), ("families", families), ("skus", net.products.index))
            for key, valid in keys[:2] if isinstance(ev, CompetitorEntry) else keys:
                for j, v in enumerate(getattr(ev, key)):
                    if v not in set(valid):
                        problems.append(Problem(file, f"{where}.{key}[{j}]", f"{v!r}: unknown; {choices(valid)}"))
    for family in s.forecasting.methods if s.forecasting is not None else ():
        if family not in families:
            problems.append(Problem(file, f"forecasting.methods.{family}", f"{family!r}: unknown family; "
                                    f"{choices(sorted(families))}"))
    if s.demand is None:
        return problems
    if s.demand.model == "forecast" and s.forecasting is not None:
        problems += backtest_history_problems(s.forecasting, net, file)
    if s.horizon is None:
        return problems
    weeks = net.demand_history.index.get_level_values("week")
    history_end = weeks.max().date()
    if s.demand.model == "forecast" and s.horizon.start <= history_end:
        problems.append(Problem(file, "demand.model", f"'forecast' forecasts from the week after the last week "
                                f"of history ({history_end}); start the horizon after it, or choose `empirical`"))
    # every model draws from (or, for the warm-up, replays) the weeks before the first simulated day
    first_day = s.horizon.start - dt.timedelta(weeks=s.horizon.warmup_weeks)
    before = weeks[weeks < dt.datetime.combine(first_day, dt.time())].unique()
    if len(before) < s.demand.history_weeks:
        problems.append(Problem(file, "demand.history_weeks",
                                f"{s.demand.history_weeks}: the network has only {len(before)} weeks of history "
                                f"before the first simulated day {first_day} (horizon.start {s.horizon.start} "
                                f"less {s.horizon.warmup_weeks} warm-up weeks): ask for fewer weeks, or shorten "
                                "the warm-up"))
    return problems
