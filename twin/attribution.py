"""Exact attribution of a difference to the sources that make it: Shapley values.

A difference ``v(all sources) - v(no source)`` is split among the sources by each one's
Shapley value (Shapley 1953): its marginal effect ``v(S + i) - v(S)``, averaged over every
order in which the sources could be switched on,

    phi_i = sum over S not holding i of |S|! (n - |S| - 1)! / n! x (v(S + i) - v(S)),

so where sources interact (breakdowns hurt more when demand is random) no effect is
counted twice or lost, and the values add up to the difference exactly. ``v`` is any
function of a set of sources: here a KPI's mean over replications of the twin with those
sources random and the others at their expectation, under common random numbers; the
closed loop will split a plan's miss against actuals the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import combinations
from math import factorial


def coalitions(sources: Iterable[str]) -> list[frozenset[str]]:
    """Every subset of ``sources``, smallest first: the evaluations :func:`shapley` needs."""
    items = list(sources)
    return [frozenset(c) for r in range(len(items) + 1) for c in combinations(items, r)]


def shapley(sources: Iterable[str], value: Callable[[frozenset[str]], float]) -> dict[str, float]:
    """Each source's Shapley value of ``value(all) - value(none)``.

    ``value`` is called once per subset of ``sources`` (2^n calls; n is small here).
    The values sum to ``value(frozenset(sources)) - value(frozenset())`` up to float rounding.
    """
    items = list(sources)
    n = len(items)
    v = {s: float(value(s)) for s in coalitions(items)}
    out = {}
    for i in items:
        others = [s for s in items if s != i]
        out[i] = sum(factorial(len(c)) * factorial(n - len(c) - 1) / factorial(n) * (v[c | {i}] - v[c])
                     for c in coalitions(others))
    return out
