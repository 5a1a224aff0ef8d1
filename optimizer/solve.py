"""Solve a Pyomo model with HiGHS and hand back values, duals and an explicit status.

Two routes from Pyomo to HiGHS, both reading back the same :class:`Solution`:

``standard_form`` (the default)
    Pyomo's own LP compiler (``pyomo.repn.plugins.standard_form``) turns the model into
    sparse matrices, which go to HiGHS through ``highspy`` in one call. This is the
    fastest route measured on this project (``benchmarks/bench_plan.py``,
    ``benchmarks/README.md``): Pyomo's persistent HiGHS interface passes the model row by
    row and cost several times the solve time on the reference plan.
``pyomo``
    Pyomo's HiGHS interface (``pyomo.contrib.solver``), kept as the cross-check: a test
    solves textbook instances both ways and compares objective, values and duals.

A dual here is the *shadow value* of a constraint: how much the objective improves
(cost falls, or margin rises) per unit its right-hand side is relaxed. A binding line-
hours constraint therefore has a positive shadow value: what one more hour is worth.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import highspy
import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

_STATUS = highspy.HighsModelStatus


@dataclass(frozen=True)
class SolverOptions:
    """How HiGHS solves the plan.

    Parameters
    ----------
    time_limit_seconds : float
        Wall-clock limit; when reached, the best plan found is returned with a warning.
    threads : int, optional
        HiGHS threads (default: HiGHS decides).
    gap : float
        Relative optimality gap at which a MIP stops (only with an integer workforce).
    algorithm : {"auto", "simplex", "ipm"}
        HiGHS LP algorithm; ``auto`` lets HiGHS choose.
    route : {"standard_form", "pyomo"}
        How the model reaches HiGHS (module docstring).
    """

    time_limit_seconds: float = 60.0
    threads: int | None = None
    gap: float = 1e-4
    algorithm: Literal["auto", "simplex", "ipm"] = "auto"
    route: Literal["standard_form", "pyomo"] = "standard_form"


class PlanError(Exception):
    """The plan could not be made; the message says why, in planning terms."""


class PlanInfeasible(PlanError):
    """No plan meets every requirement. ``requirements`` lists the ones that cannot be met."""

    SHOWN = 12  # the message lists this many; ``requirements`` holds them all

    def __init__(self, requirements: list[str]):
        self.requirements = requirements
        lines = [f"  - {r}" for r in requirements[:self.SHOWN]]
        if len(requirements) > self.SHOWN:
            lines.append(f"  … and {len(requirements) - self.SHOWN} more of the same kinds")
        super().__init__("no plan meets every requirement:\n" + "\n".join(lines))


@dataclass
class Solution:
    """What HiGHS returned, keyed by Pyomo component data."""

    status: Literal["optimal", "time_limit"]
    objective: float
    values: dict[int, float]      # id(VarData) -> value
    shadow: dict[int, float]      # id(ConstraintData) -> shadow value (module docstring)
    size: dict[str, int]          # rows, columns, nonzeros
    seconds: dict[str, float]     # to_solver, solve
    warnings: list[str] = field(default_factory=list)

    def var(self, component: pyo.Var) -> pd.Series:
        """Values of an indexed variable, indexed like it (variables HiGHS never saw are 0)."""
        return _series(component, self.values)

    def dual(self, component: pyo.Constraint) -> pd.Series:
        """Shadow values of an indexed constraint, indexed like it."""
        return _series(component, self.shadow)


def _series(component, by_id: dict[int, float]) -> pd.Series:
    keys = list(component.keys())
    values = np.fromiter((by_id.get(id(component[k]), 0.0) for k in keys), float, len(keys))
    values[np.abs(values) < 1e-9] = 0.0  # solver dust, so tables show 0 rather than -0.000
    if keys and isinstance(keys[0], tuple):
        return pd.Series(values, index=pd.MultiIndex.from_tuples(keys))
    return pd.Series(values, index=pd.Index(keys, dtype=object))  # also the empty case


def solve(model: pyo.ConcreteModel, options: SolverOptions = SolverOptions()) -> tuple[str, Solution | None]:
    """Solve ``model``; return (HiGHS status name, solution or None when there is none).

    The caller must look at the status: ``optimal``, ``time_limit`` (a feasible plan, not
    proven optimal), ``infeasible``, ``unbounded`` or a solver failure.
    """
    if options.route == "pyomo":
        return _solve_pyomo(model, options)
    return _solve_standard_form(model, options)


@contextmanager
def _no_banner() -> Iterator[None]:
    """The process's standard output (file descriptor 1) sent to the null device: HiGHS
    prints its banner from C++ when a process makes its first solver, before any option
    can turn it off, and it is noise in a planner's output (``twin ... -q`` prints nothing
    but errors)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _highs(options: SolverOptions) -> highspy.Highs:
    with _no_banner():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(options.time_limit_seconds))
    h.setOptionValue("mip_rel_gap", float(options.gap))
    h.setOptionValue("solver", {"auto": "choose"}.get(options.algorithm, options.algorithm))
    if options.threads:
        h.setOptionValue("threads", int(options.threads))
    return h


def _status_name(status) -> str:
    return {_STATUS.kOptimal: "optimal", _STATUS.kTimeLimit: "time_limit", _STATUS.kIterationLimit: "time_limit",
            _STATUS.kInfeasible: "infeasible", _STATUS.kUnbounded: "unbounded",
            _STATUS.kUnboundedOrInfeasible: "infeasible_or_unbounded"}.get(status, f"solver_error:{status.name}")


def _solve_standard_form(model: pyo.ConcreteModel, options: SolverOptions) -> tuple[str, Solution | None]:
    started = time.perf_counter()
    info = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=pyo.minimize)
    columns, rows = info.columns, info.rows
    n, m_rows = len(columns), len(rows)
    A = info.A.tocsc()
    lower = np.array([-np.inf if v.lb is None else v.lb for v in columns], float)
    upper = np.array([np.inf if v.ub is None else v.ub for v in columns], float)
    rhs = np.asarray(info.rhs, float)
    kind = np.fromiter((r.bound_type for r in rows), np.int64, m_rows)
    row_lower = np.where(kind == 1, -np.inf, rhs)   # 1: body <= rhs, -1: body >= rhs, 0: equality
    row_upper = np.where(kind == -1, np.inf, rhs)
    cost = np.asarray(info.c.todense(), float).ravel() if info.c.shape[0] else np.zeros(n)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m_rows
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.offset_ = float(info.c_offset[0]) if len(info.c_offset) else 0.0
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    integer = np.array([v.is_integer() for v in columns], bool)
    if integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
    h = _highs(options)
    h.passModel(lp)
    to_solver = time.perf_counter() - started
    started = time.perf_counter()
    h.run()
    status = _status_name(h.getModelStatus())
    # Dual simplex can lose its factorisation on a degenerate plan (seen on a six-week port
    # closure: "Increasing Markowitz threshold", then a solve error), and presolve can leave
    # a reduced LP that neither simplex nor the interior point method solves (seen on a
    # competitor entry at 6 % share loss, a point of the sensitivity runs): the same LP
    # without presolve, or by the interior point method with crossover, solves.
    retries = [{"presolve": "off"}] + ([{"presolve": "choose", "solver": "ipm"}] if options.algorithm != "ipm" else [])
    for retry in retries:
        if not status.startswith("solver_error"):
            break
        h.clearSolver()
        for key, value in retry.items():
            h.setOptionValue(key, value)
        h.run()
        status = _status_name(h.getModelStatus())
    solve_seconds = time.perf_counter() - started
    size = dict(rows=m_rows, columns=n, nonzeros=int(A.nnz))
    info_h = h.getInfo()
    if status not in ("optimal", "time_limit") or info_h.primal_solution_status != 2:  # 2: feasible
        return status, None
    sol = h.getSolution()
    sense = 1.0 if model_sense(model) == pyo.minimize else -1.0
    values = dict(zip(map(id, columns), sol.col_value))
    shadow = {}
    if sol.dual_valid:
        row_dual = np.asarray(sol.row_dual)
        shadow = {id(r.constraint): -row_dual[i] for i, r in enumerate(rows)}
    solution = Solution(status=status, objective=sense * info_h.objective_function_value, values=values,
                        shadow=shadow, size=size, seconds=dict(to_solver=to_solver, solve=solve_seconds))
    return status, solution


def _solve_pyomo(model: pyo.ConcreteModel, options: SolverOptions) -> tuple[str, Solution | None]:
    from pyomo.contrib.solver.common.results import SolutionStatus
    from pyomo.contrib.solver.solvers.highs import Highs

    solver = Highs()
    config = dict(load_solutions=False, raise_exception_on_nonoptimal_result=False,
                  time_limit=options.time_limit_seconds,
                  solver_options=dict(mip_rel_gap=options.gap,
                                      solver={"auto": "choose"}.get(options.algorithm, options.algorithm)))
    if options.threads:
        config["threads"] = options.threads
    started = time.perf_counter()
    result = solver.solve(model, **config)
    seconds = time.perf_counter() - started
    name = result.termination_condition.name
    status = {"convergenceCriteriaSatisfied": "optimal", "maxTimeLimit": "time_limit",
              "provenInfeasible": "infeasible", "unbounded": "unbounded",
              "infeasibleOrUnbounded": "infeasible_or_unbounded"}.get(name, f"solver_error:{name}")
    if status not in ("optimal", "time_limit") or result.solution_status not in (
            SolutionStatus.optimal, SolutionStatus.feasible):
        return status, None
    primal = result.solution_loader.get_vars()
    sense = 1.0 if model_sense(model) == pyo.minimize else -1.0
    duals = result.solution_loader.get_duals() if status == "optimal" else {}
    h = solver._solver_model  # the highspy object, for the model size only
    size = dict(rows=h.getNumRow(), columns=h.getNumCol(), nonzeros=h.getNumNz())
    solve_seconds = float(result.timing_info.highs_time)
    return status, Solution(status=status, objective=float(result.incumbent_objective),
                            values={id(v): x for v, x in primal.items()},
                            shadow={id(c): -sense * y for c, y in duals.items()},
                            size=size, seconds=dict(to_solver=seconds - solve_seconds, solve=solve_seconds))


def model_sense(model: pyo.ConcreteModel):
    """The sense of the model's one active objective."""
    objective = next(model.component_data_objects(pyo.Objective, active=True))
    return objective.sense
