"""A replication's time on this checkout against another revision, paired (run on demand).

Both revisions run the same replications of the same compiled inputs (the baseline's,
its plan made once by this checkout and handed to both as a pickle, so the revisions
must share ``SimInput``), each in its own
long-lived process, a few replications at a time in alternating order: the shared
machine's slow and fast minutes fall on both alike. A replication is what a worker does
for it, ``twin.montecarlo.run_batch``: simulate, KPIs, series and, where the revision has
it, the ledger. Reports the median seconds per replication of each and the median of the
paired ratios (this checkout / the other), with the machine.

    .venv/bin/python benchmarks/bench_paired.py --against HEAD~1
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_sim import ROOT, machine

# the worker each revision runs: replications a..b of seed 1, seconds per replication
WORKER = """
import pickle, sys, time
from twin.montecarlo import run_batch
inp = pickle.load(open(sys.argv[1], "rb"))
run_batch(inp, 1, [0])  # imports, compiled kernels
for line in sys.stdin:
    a, b = map(int, line.split())
    started = time.perf_counter()
    run_batch(inp, 1, list(range(a, b)))
    print((time.perf_counter() - started) / (b - a), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="HEAD", help="the git revision to compare with (default HEAD)")
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--rounds", type=int, default=16, help="pairs of timings")
    parser.add_argument("--reps", type=int, default=5, help="replications per timing")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()

    from twin.pipeline import prepare
    from twin.scenario import load_scenario

    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(other), args.against], cwd=ROOT, check=True)
        try:
            inputs = Path(tmp) / "inputs.pkl"
            inputs.write_bytes(pickle.dumps(prepare(load_scenario(args.scenario))[0]))
            procs = {name: subprocess.Popen([sys.executable, "-c", WORKER, str(inputs)], cwd=folder, text=True,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            env={**os.environ, "PYTHONPATH": str(folder)})
                     for name, folder in (("other", other), ("this", ROOT))}
            seconds: dict[str, list[float]] = {"other": [], "this": []}
            for r in range(args.rounds):
                for name in ("other", "this") if r % 2 == 0 else ("this", "other"):
                    procs[name].stdin.write(f"{args.reps * r} {args.reps * (r + 1)}\n")
                    procs[name].stdin.flush()
                    seconds[name].append(float(procs[name].stdout.readline()))
            for proc in procs.values():
                proc.stdin.close()
                proc.wait()
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=True)
    ratios = [t / o for t, o in zip(seconds["this"], seconds["other"])]
    figures = {"against": args.against, "seconds_per_replication_other": statistics.median(seconds["other"]),
               "seconds_per_replication_this": statistics.median(seconds["this"]),
               "paired_ratio_median": statistics.median(ratios), "paired_ratio_min": min(ratios),
               "paired_ratio_max": max(ratios), "pairs": len(ratios), **machine()}
    for key, value in figures.items():
        print(f"{key:34} {value:.4f}" if isinstance(value, float) else f"{key:34} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
