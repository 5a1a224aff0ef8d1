"""Monte Carlo throughput and memory on the reference scenario (run on demand: `make bench-mc`).

Reports, with the machine it ran on:
- replications per second of the baseline (its plan made once, outside the timings) on 1
  and 2 local worker processes and on a 2-worker Dask LocalCluster, each through
  ``twin.results.run_to_folder`` (batches written to Parquet as they finish, as `twin run`
  does), and the speed-up of 2 workers over 1; each executor runs twice: first fresh (a
  Dask cluster's workers start, import the project and load the compiled kernels inside
  the timing, as in one `twin run --cluster local`), then again on the same executor
  (``*_again``: a cluster that is already running);
- the scheduling overhead per replication: wall time less the in-process compute time
  shared over the workers, per replication;
- with ``--memory N``: the peak resident memory of the parent and of the largest worker
  over a run of N replications (``twin run`` as a user runs it).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_sim import ROOT, machine

from twin.montecarlo import DaskExecutor, LocalExecutor, run_batch
from twin.pipeline import prepare
from twin.results import RunFolder, run_to_folder
from twin.scenario import load_scenario


def timed(inp, reps: int, executor) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = RunFolder(Path(tmp) / "run", {"bench": True})
        started = time.perf_counter()
        run_to_folder(inp, folder, reps, 3, executor)
        return time.perf_counter() - started


def memory(scenario: str, reps: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "twin", "run", scenario, "-n", str(reps), "--workers", "2", "-q",
                        "--out", str(Path(tmp) / "run")], check=True)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # MiB, the largest child process
    return {f"memory_run_{reps}_replications_seconds": seconds, "memory_peak_largest_process_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--reps", type=int, default=1000, help="replications per timed run")
    parser.add_argument("--memory", type=int, metavar="N", help="also measure peak memory of an N-replication run")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    loaded = load_scenario(args.scenario)
    inp, _ = prepare(loaded)
    out: dict = dict(machine=machine(), scenario=loaded.scenario.name, replications=args.reps)
    run_batch(inp, 3, [0])  # warm-up: the twin's compiled kernels load on first use
    started = time.perf_counter()
    run_batch(inp, 3, list(range(20)))
    compute = (time.perf_counter() - started) / 20  # seconds per replication, in-process
    out["compute_seconds_per_replication"] = compute
    for name, make in (("local_1", lambda: LocalExecutor(1)), ("local_2", lambda: LocalExecutor(2)),
                       ("dask_local_2", lambda: DaskExecutor("local", 2))):
        executor = make()
        try:
            seconds = timed(inp, args.reps, executor)
            again = timed(inp, args.reps, executor)
        finally:
            executor.close()
        out[f"{name}_replications_per_second"] = args.reps / seconds
        overhead = seconds - compute * args.reps / executor.workers
        out[f"{name}_overhead_ms_per_replication"] = 1000 * overhead / args.reps
        out[f"{name}_again_replications_per_second"] = args.reps / again
    out["speedup_2_over_1"] = out["local_2_replications_per_second"] / out["local_1_replications_per_second"]
    out["dask_vs_local_2"] = out["dask_local_2_replications_per_second"] / out["local_2_replications_per_second"]
    out["dask_vs_local_2_again"] = (out["dask_local_2_again_replications_per_second"]
                                    / out["local_2_again_replications_per_second"])
    if args.memory:
        out.update(memory(args.scenario, args.memory))
    for k, v in out.items():
        print(f"{k:45s} {v:.4g}" if isinstance(v, float) else f"{k:45s} {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
