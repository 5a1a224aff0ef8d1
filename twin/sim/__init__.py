"""The SimPy twin. :func:`simulate` runs one replication of a compiled scenario."""

from twin.sim.inputs import SimInput, compile_inputs
from twin.sim.kpis import replication_kpis, replication_series
from twin.sim.model import Replication, Twin, simulate

__all__ = ["Replication", "SimInput", "Twin", "compile_inputs", "replication_kpis", "replication_series", "simulate"]
