"""The ``twin`` command. Each subcommand is one call into the Python API."""

from __future__ import annotations

import argparse
import os
import sys
import time
from importlib.metadata import version
from pathlib import Path

from twin.errors import InputError

EXIT_BAD_INPUT = 2

DESCRIPTION = """\
sop-twin: a digital twin of a manufacturing supply chain for S&OP.

  twin validate scenarios/*.yaml             check scenario files and their networks
  twin run scenarios/baseline.yaml --out out  simulate replications, write KPIs with 95% intervals
"""


def _validate(args: argparse.Namespace) -> int:
    from twin.scenario import validate_files

    bad = 0
    for file, problems in validate_files(args.files).items():
        if problems:
            bad += 1
            print(f"{file}: {len(problems)} problem(s)")
            for p in problems:
                print(f"  {p}")
        else:
            print(f"{file}: OK")
    return 1 if bad else 0


def _run(args: argparse.Namespace) -> int:
    from reports.summary import headline_table, line_table
    from twin.montecarlo import run
    from twin.results import write_run
    from twin.scenario import load_scenario

    loaded = load_scenario(args.scenario)
    mc = loaded.scenario.montecarlo
    n, seed = args.replications or mc.replications, mc.seed if args.seed is None else args.seed
    workers = args.workers or os.cpu_count() or 1
    progress = not args.quiet and sys.stderr.isatty()
    started = time.perf_counter()
    result = run(loaded, n, seed, workers, progress=progress)
    seconds = time.perf_counter() - started
    out = Path(args.out or Path("out") / Path(args.scenario).stem)
    meta = dict(scenario=loaded.scenario.name, scenario_file=str(args.scenario), replications=n, seed=seed,
                workers=workers, seconds=round(seconds, 3), sop_twin=version("sop-twin"))
    summary = write_run(out, result, meta)
    if not args.quiet:
        table = headline_table(summary).drop(columns="scenario")
        print(f"{loaded.scenario.name}: {n} replications, seed {seed}, {seconds:.1f} s on {workers} worker(s)\n")
        print(table.to_string(index=False))
        print("\nLines, busiest first (utilisation = hours worked / regular hours available):\n")
        print(line_table(summary).drop(columns="scenario").to_string(index=False))
        print(f"\nResults in {out}/ (kpis.csv, summary.csv, results/*.parquet)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twin", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('sop-twin')}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check scenario files and the networks they name",
                       description="Check scenario files: schema, extends chain, network tables and IDs. "
                                   "Lists every problem with its file and place; exits 1 if any file is bad.")
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    p.set_defaults(func=_validate)

    p = sub.add_parser("run", help="simulate replications of a scenario and write its KPIs",
                       description="Simulate replications of one scenario on local worker processes, print "
                                   "the headline KPIs with 95%% confidence intervals and write tidy results "
                                   "(kpis.csv, summary.csv, Parquet) to the output folder.")
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    p.add_argument("-n", "--replications", type=int, metavar="REPS",
                   help="replications (default: the scenario's montecarlo.replications)")
    p.add_argument("--seed", type=int, metavar="S", help="seed (default: the scenario's montecarlo.seed)")
    p.add_argument("--workers", type=int, metavar="W", help="worker processes (default: all cores)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: out/<scenario file name>)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no table")
    p.set_defaults(func=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("replications", "workers"):
        if getattr(args, name, None) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    try:
        return args.func(args)
    except InputError as exc:
        print(f"twin {args.command}: the input has {len(exc.problems)} problem(s):", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("twin: interrupted; no partial output was left looking complete", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line for the user, the traceback on request
        if args.debug:
            raise
        print(f"twin {args.command}: internal error: {type(exc).__name__}: {exc} "
              "(run with --debug for the traceback and please report it)", file=sys.stderr)
        return 70


def console() -> None:
    """Entry point of the ``twin`` console script."""
    sys.exit(main())
