"""The capacity-allocation LP: plain tables in (:class:`PlanData`), a :class:`Plan` out.

Build (:mod:`optimizer.model`), solve (:mod:`optimizer.solve`, HiGHS), read back
(:mod:`optimizer.plan`). This package knows no SimPy and no YAML.
"""

from optimizer.data import PlanData
from optimizer.plan import Plan, PlanTimeLimitWarning, bottlenecks, make_plan
from optimizer.solve import PlanError, PlanInfeasible, SolverOptions

__all__ = ["Plan", "PlanData", "PlanError", "PlanInfeasible", "PlanTimeLimitWarning", "SolverOptions", "bottlenecks",
           "make_plan"]
