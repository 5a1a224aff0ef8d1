"""sop-twin: a discrete-event digital twin of a manufacturing supply chain for S&OP.

The public API is small and table-first:

- :func:`twin.network.load_network` reads a folder of CSV tables into a :class:`~twin.network.Network`.
- :func:`twin.scenario.load_scenario` reads and validates a YAML scenario file.
- :func:`twin.sim.simulate` runs one replication; :func:`twin.montecarlo.run` runs many.
"""

__version__ = "0.1.0"
