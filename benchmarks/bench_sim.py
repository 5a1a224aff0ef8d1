"""Speed of the twin on the reference network (run on demand: `make bench`).

Reports, with the machine it ran on:
- seconds per simulated year on one core (median and fastest of 30 replications after one
  warm-up; the fastest is the figure least disturbed by other load on a shared machine),
- SimPy events per second of that run,
- replications per second through `twin.montecarlo.run` (KPIs and series included) on 1
  and on all local cores, and the projected time of 1,000 replications.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import simpy

from twin.montecarlo import LocalExecutor, replication_rng, run
from twin.pipeline import prepare
from twin.scenario import load_scenario
from twin.sim import Twin

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return dict(cpu=cpu, cores=str(os.cpu_count()), python=platform.python_version(), numpy=np.__version__,
                simpy=simpy.__version__, system=platform.platform())


def one_core(loaded, inp, reps: int) -> dict[str, float]:
    Twin(inp, replication_rng(0, 0)).run()  # warm-up: imports, caches
    seconds = []
    for i in range(reps):
        started = time.perf_counter()
        Twin(inp, replication_rng(1, i)).run()
        seconds.append(time.perf_counter() - started)
    # events counted in a separate pass: stepping by hand is slower than env.run
    twin, events = Twin(inp, replication_rng(1, 0)), 0
    while twin.env.peek() < inp.days:
        twin.env.step()
        events += 1
    years = inp.days / 365.0
    per_year = statistics.median(seconds) / years
    return dict(seconds_per_simulated_year=per_year, fastest_seconds_per_simulated_year=min(seconds) / years,
                events_per_simulated_year=events / years, events_per_second=events / years / per_year)


def throughput(loaded, inp, reps: int, workers: int) -> float:
    started = time.perf_counter()
    run(inp, reps, 3, LocalExecutor(workers))
    return reps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--policy", action="store_true", help="simulate with supply: policy instead of the plan")
    parser.add_argument("--reps", type=int, default=200, help="replications for the throughput runs")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    loaded = load_scenario(args.scenario)
    if args.policy:
        loaded = loaded.updated(supply="policy")
    inp, _ = prepare(loaded)  # the plan is made once, outside the timings
    result = dict(machine=machine(), scenario=loaded.scenario.name, supply=loaded.scenario.supply,
                  **one_core(loaded, inp, 30))
    cores = os.cpu_count() or 1
    result["replications_per_second_1_worker"] = throughput(loaded, inp, max(20, args.reps // 4), 1)
    result[f"replications_per_second_{cores}_workers"] = rate = throughput(loaded, inp, args.reps, cores)
    result["projected_seconds_1000_replications"] = 1000 / rate
    for k, v in result.items():
        print(f"{k:40s} {v:.4g}" if isinstance(v, float) else f"{k:40s} {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
