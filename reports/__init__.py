"""Comparative reports from tidy result tables. Knows nothing of SimPy or Pyomo."""
