"""Monte Carlo: many replications of one scenario, on local worker processes.

Replication ``i`` of a run with seed ``s`` draws from ``SeedSequence(s, spawn_key=(i,))``,
which is exactly the ``i``-th child of ``SeedSequence(s).spawn(n)``: the same numbers
whichever worker, worker count or batch ran it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from twin.scenario import LoadedScenario, Scenario
from twin.sim import SimInput, compile_inputs, replication_kpis, replication_series, simulate
from twin.sim.rules import DECISION_COLUMNS


def replication_rng(seed: int, replication: int) -> np.random.Generator:
    """The generator of replication ``replication`` under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication,)))


@dataclass(frozen=True)
class RunResult:
    """Tidy results of a run: one row per replication x KPI, daily series per hub, and the
    decision log of the touchless rules."""

    kpis: pd.DataFrame       # scenario, replication, kpi, scope, entity, value
    series: pd.DataFrame     # scenario, replication, day, entity, metric, value
    decisions: pd.DataFrame  # scenario, replication, then twin.sim.rules.DECISION_COLUMNS


def run_batch(inp: SimInput, scenario: Scenario, seed: int, replications: list[int]) -> RunResult:
    """Run the given replications in this process."""
    kpis, series, decisions = [], [], []
    for i in replications:
        rep = simulate(inp, scenario, replication_rng(seed, i))
        k, s = replication_kpis(rep), replication_series(rep)
        for frame in (k, s):
            frame.insert(0, "replication", i)
        kpis.append(k)
        series.append(s)
        decisions += [{"replication": i, **row} for row in rep.decisions]
    return RunResult(pd.concat(kpis, ignore_index=True), pd.concat(series, ignore_index=True),
                     pd.DataFrame(decisions, columns=["replication", *DECISION_COLUMNS]))


_WORKER: dict[str, object] = {}


def _init_worker(inp: SimInput, scenario: Scenario) -> None:
    _WORKER["inp"] = inp
    _WORKER["scenario"] = scenario


def _worker_batch(seed: int, replications: list[int]) -> RunResult:
    return run_batch(_WORKER["inp"], _WORKER["scenario"], seed, replications)  # type: ignore[arg-type]


def batches(replications: int, workers: int, most: int = 25) -> list[list[int]]:
    """Split ``range(replications)`` into tasks: about four per worker, at most ``most`` each."""
    size = max(1, min(most, -(-replications // (4 * workers))))
    return [list(range(a, min(a + size, replications))) for a in range(0, replications, size)]


def run(loaded: LoadedScenario, replications: int | None = None, seed: int | None = None,
        workers: int | None = None, progress: bool = False, inp: SimInput | None = None) -> RunResult:
    """Run replications of a scenario.

    Parameters
    ----------
    loaded : LoadedScenario
        From :func:`twin.scenario.load_scenario`.
    replications, seed : int, optional
        Default to the scenario's ``montecarlo`` settings.
    workers : int, optional
        Local worker processes; default all cores. ``1`` runs in this process.
    progress : bool
        Show a progress bar.
    inp : SimInput, optional
        Compiled inputs; default :func:`~twin.sim.compile_inputs` of ``loaded``. A
        ``supply: plan`` scenario needs inputs with its plan attached
        (:func:`twin.planning.prepare`).
    """
    sc = loaded.scenario
    n = replications if replications is not None else sc.montecarlo.replications
    seed = seed if seed is not None else sc.montecarlo.seed
    workers = max(1, workers or os.cpu_count() or 1)
    inp = inp if inp is not None else compile_inputs(loaded)
    if sc.supply == "plan" and inp.plan is None:
        raise ValueError(f"scenario {sc.name!r} has supply: plan; pass inputs from twin.planning.prepare()")
    parts = list(_execute(inp, sc, n, seed, workers, progress))
    tables = []
    for name in ("kpis", "series", "decisions"):
        frames = [getattr(p, name) for p in parts]
        # an empty decision log has no column types to concatenate
        table = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
        table.insert(0, "scenario", sc.name)
        # batches finish in any order; a stable sort by replication gives the same table every time
        tables.append(table.sort_values("replication", kind="stable", ignore_index=True))
    return RunResult(*tables)


def _execute(inp: SimInput, scenario: Scenario, n: int, seed: int, workers: int,
             progress: bool) -> Iterator[RunResult]:
    bar = tqdm(total=n, unit="rep", desc=scenario.name, disable=not progress, leave=False)
    with bar:
        if workers == 1:
            for batch in batches(n, 1):
                yield run_batch(inp, scenario, seed, batch)
                bar.update(len(batch))
            return
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(inp, scenario)) as pool:
            futures = {pool.submit(_worker_batch, seed, b): len(b) for b in batches(n, workers)}
            for fut in as_completed(futures):
                yield fut.result()
                bar.update(futures[fut])
