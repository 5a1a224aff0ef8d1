"""Monte Carlo: many replications of one scenario, on local worker processes (the default)
or on a Dask cluster.

Replication ``i`` of a run with seed ``s`` draws from ``SeedSequence(s, spawn_key=(i,))``,
which is exactly the ``i``-th child of ``SeedSequence(s).spawn(n)``: the same numbers
whichever executor, worker count or batch ran it, so its KPIs are bit-identical.

Replications travel in batches (:func:`batches`): few enough tasks that scheduling costs
little per replication, enough that every worker stays busy and the progress bar moves.
An executor only maps :func:`run_batch` over batches; nothing in the twin knows which
one ran it. A replication that raises is reported with its seed (:class:`ReplicationFailed`)
after the others have run; a local worker that dies has its batches run again on a new
pool, a Dask worker's by Dask (``retries``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
from tqdm import tqdm

from twin.errors import InputError, Problem
from twin.finance.cash import cash_book, cash_kpis, cash_series
from twin.finance.ledger import margin_kpis, replication_ledger
from twin.sim import SimInput, replication_kpis, replication_series, simulate
from twin.sim.rules import DECISION_COLUMNS

RETRIES = 2  # times a batch is run again after its worker died
# A LocalCluster's workers run one run's batches and exit, so Dask's housekeeping for
# long-lived shared workers only costs compute time here (benchmarks/README.md): the
# statistical profiler samples the running task's stack every 10 ms, monitors poll several
# times a second, and MALLOC_TRIM_THRESHOLD_=65536 hands freed memory back to the system
# at once. The README shows the same settings for the workers of a cluster of your own.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,  # None: glibc's own default
}


def replication_rng(seed: int, replication: int) -> np.random.Generator:
    """The generator of replication ``replication`` under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication,)))


@dataclass(frozen=True)
class RunResult:
    """Tidy results of replications: one row per replication x KPI, daily series per hub,
    the decision log of the touchless rules, the ledger, and the replications that raised."""

    kpis: pd.DataFrame       # [scenario,] replication, kpi, scope, entity, value
    series: pd.DataFrame     # [scenario,] replication, day, entity, metric, value
    decisions: pd.DataFrame  # [scenario,] replication, then twin.sim.rules.DECISION_COLUMNS
    ledger: pd.DataFrame     # [scenario,] replication, account, sku, entity, amount (twin.finance.ledger)
    failures: list[dict] = field(default_factory=list)  # replication, seed, error

    @property
    def replications(self) -> list[int]:
        return sorted(set(self.kpis["replication"]))


class ReplicationFailed(RuntimeError):
    """Replications raised; the others ran. Each failure names its replication and seed,
    which reproduce it alone: ``simulate(inp, replication_rng(seed, i))``."""

    def __init__(self, failures: list[dict]):
        self.failures = sorted(failures, key=lambda f: f["replication"])
        shown = "; ".join(f"replication {f['replication']} (seed {f['seed']}): {f['error']}"
                          for f in self.failures[:5])
        more = f"; and {len(self.failures) - 5} more" if len(self.failures) > 5 else ""
        super().__init__(f"{len(self.failures)} replication(s) raised: {shown}{more}")


def run_batch(inp: SimInput, seed: int, replications: list[int]) -> RunResult:
    """Run the given replications in this process. One that raises is recorded, not fatal."""
    kpis, series, decisions, ledgers, failures = [], [], [], [], []
    for i in replications:
        try:
            rep = simulate(inp, replication_rng(seed, i))
            ledger, book = replication_ledger(rep), cash_book(rep)
            k = pd.concat([replication_kpis(rep), margin_kpis(ledger, rep), cash_kpis(rep, book)], ignore_index=True)
            s = pd.concat([replication_series(rep), cash_series(rep, book)], ignore_index=True)
        except Exception as exc:  # reported with its seed by the caller; the batch goes on
            failures.append({"replication": i, "seed": seed, "error": f"{type(exc).__name__}: {exc}"})
            continue
        for frame in (k, s, ledger):
            frame.insert(0, "replication", i)
        kpis.append(k)
        series.append(s)
        ledgers.append(ledger)
        decisions += [{"replication": i, **row} for row in rep.decisions]
    empty = pd.DataFrame(columns=["replication"])
    return RunResult(pd.concat(kpis, ignore_index=True) if kpis else empty,
                     pd.concat(series, ignore_index=True) if series else empty,
                     pd.DataFrame(decisions, columns=["replication", *DECISION_COLUMNS]),
                     pd.concat(ledgers, ignore_index=True) if ledgers else empty, failures)


def batches(replications: list[int] | int, workers: int, most: int = 25) -> list[list[int]]:
    """Split replications into tasks: about four per worker, at most ``most`` each."""
    reps = list(range(replications)) if isinstance(replications, int) else sorted(replications)
    size = max(1, min(most, -(-len(reps) // (4 * workers))))
    return [reps[a:a + size] for a in range(0, len(reps), size)]


class Executor(Protocol):
    """Runs :func:`run_batch` over batches and yields each batch's result as it finishes."""

    workers: int
    where: str  # what a run's record says ran it

    def map(self, inp: SimInput, seed: int, tasks: list[list[int]]) -> Iterator[RunResult]:
        ...

    def close(self) -> None:
        ...


_WORKER: dict[str, object] = {}


def _init_worker(inp: SimInput, parent: int) -> None:
    _WORKER["inp"] = inp
    threading.Thread(target=_die_with, args=(parent,), daemon=True, name="die-with-parent").start()


def _die_with(parent: int) -> None:
    """End this worker once its parent is gone. A pool's workers wait on a pipe the parent
    holds open; killed with SIGKILL, the parent never closes it, and the workers (hundreds
    of MB each) would wait for good. An orphan is adopted by another process, which changes
    its parent's pid: checked every half second."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _worker_batch(seed: int, replications: list[int]) -> RunResult:
    return run_batch(_WORKER["inp"], seed, replications)  # type: ignore[arg-type]


class LocalExecutor:
    """Worker processes on this machine (``workers=1``: this process, no pool). The inputs
    are sent to each worker once, when it starts."""

    where = "local process(es)"

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map(self, inp: SimInput, seed: int, tasks: list[list[int]]) -> Iterator[RunResult]:
        if self.workers == 1:
            for task in tasks:
                yield run_batch(inp, seed, task)
            return
        pending = {i: task for i, task in enumerate(tasks)}
        deaths = dict.fromkeys(pending, 0)
        while pending:
            pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_init_worker,
                                       initargs=(inp, os.getpid()))
            try:
                futures = {pool.submit(_worker_batch, seed, task): i for i, task in pending.items()}
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = futures.pop(fut)
                        result = fut.result()  # BrokenProcessPool if a worker died
                        del pending[i]
                        yield result
            except BrokenProcessPool:
                # a worker died (killed, out of memory): every unfinished batch runs again on a new pool
                for i in pending:
                    deaths[i] += 1
                    if deaths[i] > RETRIES:
                        task = pending[i]
                        raise RuntimeError(f"a worker process died {deaths[i]} times running replications "
                                           f"{task[0]}-{task[-1]} of seed {seed}; giving up") from None
            finally:
                pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        pass


class DaskExecutor:
    """A Dask cluster: ``address`` of a running scheduler (``tcp://host:8786``), or
    ``"local"`` for a :class:`distributed.LocalCluster` of ``workers`` single-threaded
    worker processes on this machine. The inputs are scattered to every worker once.
    Workers need sop-twin installed (the same version). Needs ``pip install sop-twin[cluster]``."""

    def __init__(self, address: str, workers: int | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise InputError([Problem("--cluster", address, "needs Dask: pip install 'sop-twin[cluster]'")]) from None
        self.cluster = None
        self.where = f"Dask cluster {address}"
        if address == "local":
            import dask

            n = max(1, workers or os.cpu_count() or 1)
            with dask.config.set(LOCAL_CLUSTER_CONFIG):
                self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                            dashboard_address=None)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(address, timeout=30)
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError([Problem("--cluster", address, f"no Dask scheduler answered there ({exc}); give "
                                          "tcp://host:8786 of a running scheduler, or `local`")]) from None
        self.workers = max(1, len(self.client.scheduler_info()["workers"]))

    def map(self, inp: SimInput, seed: int, tasks: list[list[int]]) -> Iterator[RunResult]:
        from distributed import as_completed

        # hash=False: keys of this run's own; a content hash would give the same inputs scattered
        # again the key the last run's release is still taking off the workers ("lost dependencies")
        [shared_inp] = self.client.scatter([inp], broadcast=True, hash=False)
        futures = [self.client.submit(run_batch, shared_inp, seed, task, retries=RETRIES, pure=False)
                   for task in tasks]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def executor_for(workers: int | None = None, cluster: str | None = None) -> Executor:
    """The executor the command line asks for: a Dask cluster, else local processes."""
    return DaskExecutor(cluster, workers) if cluster else LocalExecutor(workers)


def simulate_batches(inp: SimInput, seed: int, replications: list[int], executor: Executor,
                     progress: bool = False, most: int = 25) -> Iterator[RunResult]:
    """Run ``replications`` through ``executor`` in batches; yield each batch's result as it
    finishes (any order), with a progress bar if asked."""
    tasks = batches(replications, executor.workers, most)
    bar = tqdm(total=len(replications), unit="rep", desc=inp.name, disable=not progress, leave=False,
               smoothing=0.1)
    with bar:
        for result in executor.map(inp, seed, tasks):
            bar.update(len(result.replications) + len(result.failures))
            yield result


def run(inp: SimInput, replications: int, seed: int, executor: Executor | None = None,
        progress: bool = False) -> RunResult:
    """Run replications of compiled inputs and keep the results in memory (for a few hundred;
    ``twin.results.run_to_folder`` streams any number to disk).

    Parameters
    ----------
    inp : SimInput
        Compiled inputs, with the plan attached for ``supply: plan`` (``twin.pipeline.prepare``).
    replications, seed : int
        Replications ``0 .. replications - 1`` of ``seed``.
    executor : Executor, optional
        Where to run (default :class:`LocalExecutor` on all cores).
    progress : bool
        Show a progress bar.

    Raises
    ------
    ReplicationFailed
        If any replication raised (after all the others ran).
    """
    parts = list(simulate_batches(inp, seed, list(range(replications)), executor or LocalExecutor(), progress))
    failures = [f for p in parts for f in p.failures]
    if failures:
        raise ReplicationFailed(failures)
    return combine(parts, inp.name)


def combine(parts: list[RunResult], scenario: str) -> RunResult:
    """One result from batch results, sorted by replication, with the scenario's name."""
    tables = []
    for name in ("kpis", "series", "decisions", "ledger"):
        frames = [getattr(p, name) for p in parts]
        # an empty frame (no decision fired) has no column types to concatenate
        table = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
        table.insert(0, "scenario", scenario)
        # batches finish in any order; a stable sort by replication gives the same table every time
        tables.append(table.sort_values("replication", kind="stable", ignore_index=True))
    return RunResult(*tables)
