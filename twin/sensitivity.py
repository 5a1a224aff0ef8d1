"""What a recommendation rests on: the key assumptions of a scenario's events, the runs
that move each one over its range (one at a time, the rest as written), and from them the
tornado of the margin and the break-even at which the recommended strategy stops being best.

An assumption is one number of one event (``twin.scenario.KEY_ASSUMPTIONS``: a
competitor's share loss, the price elasticity, a strategy's own share loss, a spike's
size, a closure's length). Its range is declared in the scenario (``ranges:`` on the event
or the strategy) or is ±50 % of its value, within what the field may be. A run at another
value is an ordinary run folder with the scenario's seed and replications, so its margin
is paired with the scenario's own (common random numbers): what moves is the assumption's
doing, not noise. A value that leaves a scenario's inputs as they were (the common share
loss under a strategy with its own) needs no run: its margin is the scenario's.

The break-even is where the recommended strategy's margin, linear between the runs, meets
another strategy's, walking from the assumption's value towards each end of its range, or,
where none does inside the range, where the straight line through the two farthest runs
says it would (within what the field may be); :func:`refinements` adds a run at each
value found, so the break-even reported rests on runs on both sides of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from twin.scenario import ASSUMPTION_BOUNDS, KEY_ASSUMPTIONS, STRATEGY_ASSUMPTIONS, CompetitorEntry, LoadedScenario

DEFAULT_SPREAD = 0.5  # a range not declared: the value ±50 %
# A break-even estimated beyond the farthest run is run this much farther from the value as
# written than the estimate: margins nearly straight put the estimate on the crossing, and
# noise on either side of it; a run just past it brackets the crossing between two runs.
OVERSHOOT = 1.1


@dataclass(frozen=True)
class Assumption:
    """One number of one event of a scenario, and the range it is moved over."""

    event: int              # its position in the scenario's events
    field: str              # the event's (or strategy's) field: share_loss_pct, elasticity, days, ...
    strategy: str | None    # a pricing strategy's own field, else None
    label: str              # "share loss", "Premium +5 %: share loss", "closure length"
    base: float
    low: float
    high: float

    @property
    def unit(self) -> str:
        return "%" if self.field.endswith("_pct") else (" days" if self.field.endswith("days") else "")

    def text(self, value: float) -> str:
        """``value`` as the report writes it: "12 %", "−1.8", "42 days"."""
        number = f"{value:.0f}" if ASSUMPTION_BOUNDS[self.field][2] else f"{value:.3g}"
        return f"{number.replace('-', '−')}{' %' if self.unit == '%' else self.unit}"

    def at(self, loaded: LoadedScenario, value: float) -> LoadedScenario:
        """The scenario with this assumption at ``value`` and every other as written."""
        events = list(loaded.scenario.events)
        ev = events[self.event]
        if self.strategy is not None:
            strategies = [s.model_copy(update={self.field: value}) if s.name == self.strategy else s
                          for s in ev.strategies]
            events[self.event] = ev.model_copy(update={"strategies": strategies})
        elif self.field == "days":
            events[self.event] = ev.model_copy(update={"days": int(value), "end": None})
        else:
            whole = ASSUMPTION_BOUNDS[self.field][2]
            events[self.event] = ev.model_copy(update={self.field: int(value) if whole else value})
        return loaded.updated(events=events, name=f"{loaded.scenario.name} | {self.label} {self.text(value)}")


def _range(field_name: str, base: float, declared: dict[str, tuple[float, float]]) -> tuple[float, float]:
    least, most, whole = ASSUMPTION_BOUNDS[field_name]
    if field_name in declared:
        return declared[field_name]
    low, high = sorted((base * (1 - DEFAULT_SPREAD), base * (1 + DEFAULT_SPREAD)))
    low, high = max(low, least), min(high, most)
    return (float(math.ceil(low)), float(math.floor(high))) if whole else (low, high)


def key_assumptions(loaded: LoadedScenario, skip: tuple = ()) -> list[Assumption]:
    """The key assumptions of a scenario's events (those in ``skip``, the baseline's own,
    left out), each with its range; a value of 0 has no ±50 % and is left out unless
    declared."""
    out = []
    for i, ev in enumerate(loaded.scenario.events):
        if ev in skip:
            continue
        for name, label in KEY_ASSUMPTIONS.get(ev.type, {}).items():
            base = ev.assumption(name)
            if base or name in ev.ranges:
                out.append(Assumption(i, name, None, label, base, *_range(name, base, ev.ranges)))
        if isinstance(ev, CompetitorEntry):
            for s in ev.strategies:
                for name, label in STRATEGY_ASSUMPTIONS.items():
                    base = getattr(s, name)
                    if base is not None and (base or name in s.ranges):
                        out.append(Assumption(i, name, s.name, f"{s.name}: {label}", base,
                                              *_range(name, base, s.ranges)))
    return [a for a in out if a.low < a.high]


def moves(loaded: LoadedScenario, assumption: Assumption, value: float) -> bool:
    """Whether the assumption at ``value`` changes what the plan or the twin meets: their
    timelines, compiled from the events (the common share loss does not move a strategy
    with its own)."""
    from twin.pipeline import timelines

    before, after = timelines(loaded), timelines(assumption.at(loaded, value))
    return any(not a.frame(before[0]).equals(b.frame(before[0])) for a, b in zip(before[1:], after[1:]))


@dataclass(frozen=True)
class Subject:
    """What the report recommends or warns of, and so tests: a choice between the
    strategies of one competitor entry (``best`` is recommended), or a risk (one scenario)."""

    kind: str                     # "choice" or "risk"
    group: str                    # the scenario file's name
    best: str                     # the recommended strategy's scenario, or the risk's
    members: tuple[str, ...]      # every strategy's scenario (the risk alone for a risk)


@dataclass(frozen=True)
class Point:
    """One run the sensitivity needs: ``of`` (a scenario) with ``assumption`` at ``value``.
    ``unchanged`` are the subject's other scenarios whose inputs that value leaves as they
    were (their margin there is their own)."""

    of: str
    assumption: Assumption
    value: float
    point: str                    # "low", "high" or "break-even"
    unchanged: tuple[str, ...] = ()

    @property
    def meta(self) -> dict:
        a = self.assumption
        return dict(of=self.of, assumption=a.label, event=a.event, field=a.field, strategy=a.strategy, unit=a.unit,
                    value=self.value, base=a.base, low=a.low, high=a.high, point=self.point,
                    unchanged=list(self.unchanged))


def _points(subject: Subject, loaded: dict[str, LoadedScenario], assumption: Assumption, value: float,
            point: str) -> list[Point]:
    moved = [m for m in subject.members if moves(loaded[m], assumption, value)]
    unchanged = tuple(m for m in subject.members if m not in moved)
    return [Point(m, assumption, value, point, unchanged) for m in moved]


def first_points(subjects: list[Subject], loaded: dict[str, LoadedScenario], skip: tuple = ()) -> list[Point]:
    """The runs at each end of every key assumption's range, for every scenario of each
    subject whose inputs the value changes. ``skip``: the baseline's own events."""
    out = []
    for subject in subjects:
        for a in key_assumptions(loaded[subject.best], skip):
            for value, point in ((a.low, "low"), (a.high, "high")):
                out += _points(subject, loaded, a, value, point)
    return out


@dataclass(frozen=True)
class BreakEven:
    """Where, moving ``assumption`` from its value towards one side, another strategy
    (``winner``) starts to earn more than the recommended one: ``value``, between two runs;
    None if it does not up to ``end``, the farthest value run on that side. ``estimate`` is
    then where the margins, extended in a straight line from the two farthest runs, would
    cross (None if they draw apart, or only beyond what the field may be)."""

    assumption: str
    side: str                     # "low" or "high"
    value: float | None
    winner: str | None
    end: float
    estimate: float | None = None


def break_evens(curves: dict[str, dict[float, float]], best: str, base: float,
                bounds: tuple[float, float] = (-math.inf, math.inf), assumption: str = "") -> list[BreakEven]:
    """Per side of ``base``: the first value at which another scenario's margin, linear
    between the values of ``curves`` (scenario -> value -> mean margin, every scenario at
    every value), reaches the recommended one's (``best``); where none does, the straight
    line's estimate within ``bounds``."""
    values = sorted(curves[best])
    gap = {other: {v: curves[best][v] - curves[other][v] for v in values} for other in curves if other != best}
    out = []
    for side in ("low", "high"):
        path = [v for v in values if (v <= base if side == "low" else v >= base)]
        path = path[::-1] if side == "low" else path
        found = None
        for v0, v1 in zip(path, path[1:]):
            crossings = [(v0 + (v1 - v0) * d[v0] / (d[v0] - d[v1]), other) for other, d in gap.items()
                         if d[v0] > 0 >= d[v1]]
            if crossings:
                found = min(crossings, key=lambda c: abs(c[0] - base))
                break
        estimate = None
        if found is None and len(path) > 1:
            v0, v1 = path[-2], path[-1]
            ahead = [v1 + (v1 - v0) * d[v1] / (d[v0] - d[v1]) for d in gap.values() if d[v0] > d[v1] > 0]
            ahead = [v for v in ahead if bounds[0] <= v <= bounds[1]]
            estimate = min(ahead, key=lambda v: abs(v - base)) if ahead else None
        out.append(BreakEven(assumption, side, found[0] if found else None, found[1] if found else None,
                             path[-1] if path else base, estimate))
    return out


def refinements(loaded: dict[str, LoadedScenario], found: list[tuple[Subject, Assumption, BreakEven]],
                done: set[tuple[str, str, float]]) -> list[Point]:
    """A run at each break-even found, or just past one estimated beyond the farthest run
    (:data:`OVERSHOOT`; rounded as the field is written), for the subject's scenarios it
    moves, unless one is there already (``done``: scenario, assumption, value)."""
    out = []
    for subject, a, b in found:
        if b.value is not None:
            value = b.value
        elif b.estimate is not None:
            least, most, _ = ASSUMPTION_BOUNDS[a.field]
            value = min(max(a.base + OVERSHOOT * (b.estimate - a.base), least), most)
        else:
            continue
        value = round(value) if ASSUMPTION_BOUNDS[a.field][2] else round(value, 2)
        if value != a.base:
            out += [p for p in _points(subject, loaded, a, value, "break-even")
                    if (p.of, a.label, value) not in done]
    return out
